"""Bulk catalog writes: COPY into session staging tables, then set-based upserts."""
from __future__ import annotations

import json

from typing import Any

import asyncpg
import pandas as pd

from bot.catalog.readers import MOVIE_COLUMNS
from bot.db.queries import queries

_INT_COLUMNS = {"movie_id", "year", "runtime_minutes", "tmdb_id", "popularity_count", "tmdb_votes"}
_FLOAT_COLUMNS = {"imdb_score", "popularity_mean", "tmdb_score"}


def _movie_records(movies: pd.DataFrame, lines: list[int]) -> list[tuple[Any, ...]]:
    def cell(column: str, value: Any) -> Any:
        if value is None:
            return None
        if column == "field_sources":
            return json.dumps(value, sort_keys=True)
        return int(value) if column in _INT_COLUMNS else (float(value) if column in _FLOAT_COLUMNS else value)

    return [
        (line, *(cell(c, v) for c, v in zip(MOVIE_COLUMNS, row)))
        for line, row in zip(lines, movies[MOVIE_COLUMNS].itertuples(index=False, name=None))
    ]


async def stage_movies(conn: asyncpg.Connection, movies: pd.DataFrame) -> None:
    """COPY canonical movies (with their source `line`) into the session's staging table."""
    await queries().create_movie_stage(conn)
    lines = [int(v) for v in movies["line"]] if "line" in movies else list(range(1, len(movies) + 1))
    await conn.copy_records_to_table("movie_stage", records=_movie_records(movies, lines), columns=["line", *MOVIE_COLUMNS])


async def resolve_stage_ids(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Give every staged movie an id; drop and return rows whose IMDb id another movie holds."""
    q = queries()
    await q.stage_match_by_imdb(conn)
    await q.stage_assign_new_ids(conn)
    conflicts = await q.stage_imdb_conflicts(conn)
    if conflicts:
        await q.stage_drop_imdb_conflicts(conn)
    return conflicts


async def upsert_movies(conn: asyncpg.Connection) -> int:
    return await queries().upsert_movies_from_stage(conn)


async def create_rating_stage(conn: asyncpg.Connection) -> None:
    await queries().create_rating_stage(conn)


async def stage_ratings(conn: asyncpg.Connection, ratings: pd.DataFrame) -> None:
    """COPY one block of ratings into the session's stage (`create_rating_stage` first)."""
    records = zip(
        ratings["user_id"].tolist(), ratings["movie_id"].tolist(), ratings["rating"].tolist(),
        ratings["rated_at"].dt.to_pydatetime().tolist(),
    )
    await conn.copy_records_to_table("rating_stage", records=records, columns=["user_id", "movie_id", "rating", "rated_at"])


async def analyze_rating_stage(conn: asyncpg.Connection) -> None:
    await queries().analyze_rating_stage(conn)


async def analyze_ratings(conn: asyncpg.Connection) -> None:
    await queries().analyze_ratings(conn)


async def known_movie_ids(conn: asyncpg.Connection, movie_ids: list[int]) -> set[int]:
    return {r["movie_id"] for r in await queries().known_movie_ids(conn, movie_ids=movie_ids)}


async def upsert_ratings(conn: asyncpg.Connection) -> tuple[int, int]:
    """(current ratings written, events logged) from the staged ratings."""
    q = queries()
    return await q.upsert_ratings_from_stage(conn), await q.log_imported_events(conn)


async def refresh_movie_stats(conn: asyncpg.Connection) -> None:
    await queries().refresh_movie_stats(conn)


async def catalog_summary(conn: asyncpg.Connection) -> dict[str, int]:
    return dict(await queries().catalog_summary(conn))


async def movie_count(conn: asyncpg.Connection) -> int:
    return await queries().movie_count(conn)


async def search_index_rows(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await queries().search_index_rows(conn)


async def movie_id_of(conn: asyncpg.Connection, imdb_id: str | None, title: str, year: int | None) -> int | None:
    return await queries().movie_id_of(conn, imdb_id=imdb_id, title=title, year=year)
