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


async def seen_in_guild(conn: asyncpg.Connection, user_id: int, guild_id: int) -> None:
    await queries().seen_in_guild(conn, user_id=user_id, guild_id=guild_id)


async def server_rating(conn: asyncpg.Connection, movie_id: int, guild_id: int) -> asyncpg.Record:
    return await queries().server_rating(conn, movie_id=movie_id, guild_id=guild_id)


async def member_feedback_on(conn: asyncpg.Connection, user_id: int, movie_id: int) -> asyncpg.Record | None:
    return await queries().member_feedback_on(conn, user_id=user_id, movie_id=movie_id)


async def on_watchlist(conn: asyncpg.Connection, user_id: int, movie_id: int) -> bool:
    return bool(await queries().on_watchlist(conn, user_id=user_id, movie_id=movie_id))
