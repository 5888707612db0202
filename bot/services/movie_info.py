"""`/movie title`: one film's card, with what this member and this server think of it.

A server's figures count only its own members (`member_guilds`, recorded when members use
CineSync there), never every CineSync user.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.db.pool import Database
from bot.repositories import diary as repo
from bot.services.errors import UnknownMovie
from bot.services.recommendations import RecommendationService
from bot.services.runtime import EngineRuntime



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
