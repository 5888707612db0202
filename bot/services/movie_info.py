"""`/movie title`: one film's card, with what this member and this server think of it.

A server's figures count only its own members (`member_guilds`, recorded when members use
CineSync there), never every CineSync user.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from bot.db.pool import Database
from bot.repositories import diary as repo
from bot.services.errors import UnknownMovie
from bot.services.recommendations import RecommendationService
from bot.services.runtime import EngineRuntime

log = logging.getLogger(__name__)


@dataclass
class MovieInfo:
    movie: dict[str, Any]
    kind: str | None  # what the member said about it, if anything
    rating: float | None
    on_watchlist: bool
    server_mean: float | None
    server_count: int
    match: float | None  # calibrated chance of 4 stars or more

    @property
    def imdb_url(self) -> str | None:
        imdb = self.movie.get("imdb_id")
        return f"https://www.imdb.com/title/{imdb}/" if imdb else None

    @property
    def tmdb_url(self) -> str | None:
        tmdb = self.movie.get("tmdb_id")
        return f"https://www.themoviedb.org/movie/{tmdb}" if tmdb else None


class MovieInfoService:
    def __init__(self, db: Database, runtime: EngineRuntime, recommendations: RecommendationService) -> None:
        self.db, self.runtime, self.recommendations = db, runtime, recommendations

    async def info(self, user_id: int, movie_id: int, guild_id: int | None) -> MovieInfo:
        movie = self.runtime.movies.get(movie_id)
        if movie is None:
            raise UnknownMovie(f"there is no movie with id {movie_id} in the catalog; search for it by title")
        async with self.db.acquire() as conn:
            said = await repo.member_feedback_on(conn, user_id, movie_id)
            listed = await repo.on_watchlist(conn, user_id, movie_id)
            server = await repo.server_rating(conn, movie_id, guild_id) if guild_id is not None else None
        match = await self.recommendations.match(user_id, movie_id) if said is None else None
        return MovieInfo(movie, said["kind"] if said else None, said["rating"] if said else None, listed,
                         server["mean"] if server and server["n"] else None, int(server["n"]) if server else 0, match)


class MembershipService:
    """Records that a member uses CineSync in a server, once per process and hour per (member, server).

    In the background, so no command waits for it; `/forget_me` settles the member's pending notes
    first, so a note can never land after their data is deleted."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._recent: dict[tuple[int, int], float] = {}
        self._pending: dict[int, set[asyncio.Task[None]]] = {}

    def note(self, user_id: int, guild_id: int, now: float) -> None:
        key = (user_id, guild_id)
        if now - self._recent.get(key, -1e9) < 3600:
            return
        self._recent[key] = now
        if len(self._recent) > 100_000:
            self._recent.clear()
        task = asyncio.get_running_loop().create_task(self._write(user_id, guild_id), name=f"cinesync-note-{user_id}")
        self._pending.setdefault(user_id, set()).add(task)
        task.add_done_callback(lambda t: self._pending.get(user_id, set()).discard(t))

    async def _write(self, user_id: int, guild_id: int) -> None:
        try:
            async with self.db.transaction() as conn:
                await repo.seen_in_guild(conn, user_id, guild_id)
        except Exception as exc:  # a missed note only narrows a server's figures for a while
            self._recent.pop((user_id, guild_id), None)
            log.warning("could not record a member's server (%s)", exc.__class__.__name__)

    async def settle(self, user_id: int) -> None:
        """Wait for this member's notes in flight, and forget that they were written (before /forget_me)."""
        pending = list(self._pending.pop(user_id, ()))
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        for key in [k for k in self._recent if k[0] == user_id]:
            self._recent.pop(key, None)
