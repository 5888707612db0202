"""Quick rating candidates, the DM message map, digest settings, status counts and data export."""
from __future__ import annotations

from typing import Any

import asyncpg

from bot.db.queries import queries


async def quick_rating_candidates(conn: asyncpg.Connection, user_id: int, skip: list[int], limit: int) -> list[asyncpg.Record]:
    return await queries().quick_rating_candidates(conn, user_id=user_id, skip=skip, limit_n=limit)


async def remember_dm(conn: asyncpg.Connection, message_id: int, channel_id: int, user_id: int, movie_id: int) -> None:
    await queries().remember_dm(conn, message_id=message_id, channel_id=channel_id, user_id=user_id, movie_id=movie_id)


async def dm_message(conn: asyncpg.Connection, user_id: int, message_id: int) -> asyncpg.Record | None:
    return await queries().dm_message(conn, user_id=user_id, message_id=message_id)


async def set_digest(conn: asyncpg.Connection, user_id: int, enabled: bool) -> None:
    await queries().set_digest(conn, user_id=user_id, enabled=enabled)


async def digest_users(conn: asyncpg.Connection) -> list[int]:
    return [r["user_id"] for r in await queries().digest_users(conn)]


async def user_settings(conn: asyncpg.Connection, user_id: int) -> asyncpg.Record | None:
    return await queries().user_settings(conn, user_id=user_id)


async def status_counts(conn: asyncpg.Connection) -> dict[str, Any]:
    return dict(await queries().status_counts(conn))


async def rows_about_user(conn: asyncpg.Connection, user_id: int) -> int:
    return int(await queries().rows_about_user(conn, user_id=user_id))
