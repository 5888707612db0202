"""A member's diary (/my_ratings: what they said about which film, newest first) and watchlist.

Changing or removing a diary entry goes through the feedback service like any rating, so the
taste vector follows exactly (a removal subtracts the film's contribution, as a re-rating replaces it).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.db.pool import Database
from bot.repositories import diary as repo
from bot.services.errors import UnknownMovie, UserError
from bot.services.genres import genre_named
from bot.services.runtime import EngineRuntime

PAGE_SIZE = 10


@dataclass
class DiaryEntry:
    movie: dict[str, Any]
    kind: str
    rating: float | None
    updated_at: datetime


@dataclass
class DiaryPage:
    entries: list[DiaryEntry]
    page: int  # 0-based
    pages: int
    total: int
    stars: float | None = None
    genre: str | None = None


def star_range(stars: float | None) -> tuple[float | None, float | None]:
    """A star filter: "4" keeps 4 and 4.5."""
    if stars is None:
        return None, None
    if isinstance(stars, bool) or not 0.5 <= stars <= 5.0 or stars * 2 != int(stars * 2):
        raise UserError(f"{stars} is not a star rating: use 0.5 to 5 in half steps")
    return float(stars), float(stars) + (0.0 if stars == 5.0 or stars % 1 else 0.5)


class DiaryService:
    def __init__(self, db: Database, runtime: EngineRuntime) -> None:
        self.db, self.runtime = db, runtime

    async def page(self, user_id: int, page: int = 0, stars: float | None = None, genre: str | None = None) -> DiaryPage:
        if isinstance(page, bool) or not isinstance(page, int) or page < 0:
            raise UserError(f"page {page!r} does not exist")
        low, high = star_range(stars)
        genre = genre_named(self.runtime.catalog.genre_names, genre) if genre else None
        async with self.db.acquire() as conn:
            rows = await repo.diary_page(conn, user_id, low, high, genre, PAGE_SIZE, page * PAGE_SIZE)
            if not rows and page > 0:  # past the end (an entry was removed): the last page instead
                first = await repo.diary_page(conn, user_id, low, high, genre, 1, 0)
                total = first[0]["total"] if first else 0
                page = max(0, (total - 1) // PAGE_SIZE)
                rows = await repo.diary_page(conn, user_id, low, high, genre, PAGE_SIZE, page * PAGE_SIZE)
        total = rows[0]["total"] if rows else 0
        entries = [DiaryEntry(self.runtime.movies[r["movie_id"]], r["kind"], r["rating"], r["updated_at"])
                   for r in rows if r["movie_id"] in self.runtime.movies]
        return DiaryPage(entries, page, max(1, -(-total // PAGE_SIZE)), total, stars, genre)


class WatchlistService:
    def __init__(self, db: Database, runtime: EngineRuntime) -> None:
        self.db, self.runtime = db, runtime

    def _movie(self, movie_id: int) -> dict[str, Any]:
        movie = self.runtime.movies.get(movie_id)
        if movie is None:
            raise UnknownMovie(f"there is no movie with id {movie_id} in the catalog; search for it by title")
        return movie

    async def add(self, user_id: int, movie_id: int) -> bool:
        """True when added; False when it was already on the list."""
        self._movie(movie_id)
        async with self.db.transaction() as conn:
            return await repo.add_to_watchlist(conn, user_id, movie_id)

    async def remove(self, user_id: int, movie_id: int) -> bool:
        self._movie(movie_id)
        async with self.db.transaction() as conn:
            return await repo.remove_from_watchlist(conn, user_id, movie_id)

    async def movies(self, user_id: int) -> list[dict[str, Any]]:
        async with self.db.acquire() as conn:
            rows = await repo.watchlist(conn, user_id)
        return [self.runtime.movies[r["movie_id"]] for r in rows if r["movie_id"] in self.runtime.movies]
