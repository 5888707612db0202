"""Per-user data deletion."""
from __future__ import annotations

import asyncpg

from bot.db.queries import queries


async def forget_user(conn: asyncpg.Connection, user_id: int) -> dict[str, int]:
    """Rows deleted per table, for every table with a user_id column. In the caller's transaction, it
    first shuts out background jobs' writes and the member's concurrent feedback (see migration 0006),
    and tells every process to drop the member from memory on commit."""
    await queries().exclude_member_writes(conn)
    await queries().lock_member_state(conn, user_id=user_id)
    await queries().announce_forget(conn, user_id=user_id)
    return {table: int(n) for table, n in (await queries().forget_user(conn, user_id=user_id)).items()}


async def export_user(conn: asyncpg.Connection, user_id: int) -> dict[str, list[dict]]:
    """Every row about the member, per table."""
    return await queries().export_user(conn, user_id=user_id)


async def member_tables(conn: asyncpg.Connection) -> list[str]:
    return [r["table_name"] for r in await queries().member_tables(conn)]
