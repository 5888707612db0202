"""What the database's storage costs, apart from our own work (for `cinesync bench`)."""
from __future__ import annotations

import asyncpg

from bot.db.queries import queries


async def durable_empty_commit(conn: asyncpg.Connection) -> None:
    """One transaction that writes one small WAL record (no table row) and waits for its commit to be durable."""
    async with conn.transaction():
        await queries().write_probe_record(conn)


async def synchronous_commit(conn: asyncpg.Connection) -> str:
    return await queries().synchronous_commit(conn)
