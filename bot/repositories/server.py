"""A server's flavour: its members' recent loves, and its settings."""
from __future__ import annotations

import asyncpg

from bot.db.queries import queries

DEFAULT_WEIGHT = 0.2  # as the column's default


async def server_loved(conn: asyncpg.Connection, guild_id: int, days: int = 30) -> list[asyncpg.Record]:
    return await queries().server_loved(conn, guild_id=guild_id, days=days)


async def server_weight(conn: asyncpg.Connection, guild_id: int) -> float:
    value = await queries().server_weight(conn, guild_id=guild_id)
    return DEFAULT_WEIGHT if value is None else float(value)


async def set_server_weight(conn: asyncpg.Connection, guild_id: int, weight: float) -> None:
    await queries().set_server_weight(conn, guild_id=guild_id, weight=weight)
