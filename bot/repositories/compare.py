"""Who in a server can be compared."""
from __future__ import annotations

import asyncpg

from bot.db.queries import queries


async def comparable_members(conn: asyncpg.Connection, guild_id: int, user_ids: list[int]) -> dict[int, bool]:
    """member -> allows comparisons, for those of ``user_ids`` who rated films and use CineSync in this server."""
    return {r["user_id"]: r["compare_enabled"]
            for r in await queries().comparable_members(conn, guild_id=guild_id, user_ids=user_ids)}


async def set_compare(conn: asyncpg.Connection, user_id: int, enabled: bool) -> None:
    await queries().set_compare(conn, user_id=user_id, enabled=enabled)
