"""Per-user data deletion."""
from __future__ import annotations

import asyncpg

from bot.db.queries import queries


async def forget_user(conn: asyncpg.Connection, user_id: int) -> dict[str, int]:
    return dict(await queries().forget_user(conn, user_id=user_id))
