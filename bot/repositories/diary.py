"""A member's diary (what they said about films) and watchlist."""
from __future__ import annotations

import asyncpg

from bot.db.queries import queries


async def diary_page(conn: asyncpg.Connection, user_id: int, min_stars: float | None, max_stars: float | None,
                     genre: str | None, limit: int, offset: int) -> list[asyncpg.Record]:
    return await queries().diary_page(conn, user_id=user_id, min_stars=min_stars, max_stars=max_stars, genre=genre,
                                      limit_n=limit, offset_n=offset)


async def add_to_watchlist(conn: asyncpg.Connection, user_id: int, movie_id: int) -> bool:
    """True when added, False when it was already there."""
    return bool(await queries().add_to_watchlist(conn, user_id=user_id, movie_id=movie_id))


async def remove_from_watchlist(conn: asyncpg.Connection, user_id: int, movie_id: int) -> bool:
    return bool(await queries().remove_from_watchlist(conn, user_id=user_id, movie_id=movie_id))


async def watchlist(conn: asyncpg.Connection, user_id: int) -> list[asyncpg.Record]:
    return await queries().watchlist(conn, user_id=user_id)
