"""Movie nights, their members and votes."""
from __future__ import annotations

from datetime import datetime

import asyncpg

from bot.db.queries import queries


async def create_night(conn: asyncpg.Connection, guild_id: int, deadline: datetime, options: list[int],
                       chances: dict[int, list[float]], fairness: dict[int, float]) -> int:
    """``chances``: member -> their chance of 4 stars or more for each option (in ``options`` order)."""
    night_id = await queries().create_night(conn, guild_id=guild_id, deadline=deadline, options=options)
    await queries().add_night_members(conn, rows=[{"night_id": night_id, "user_id": u, "chances": c,
                                                   "fairness": fairness.get(u, 1.0)} for u, c in chances.items()])
    return night_id


async def set_message(conn: asyncpg.Connection, night_id: int, channel_id: int, message_id: int) -> None:
    await queries().set_night_message(conn, night_id=night_id, channel_id=channel_id, message_id=message_id)


async def member_rows(conn: asyncpg.Connection, night_id: int) -> list[asyncpg.Record]:
    return await queries().night_members(conn, night_id=night_id)


async def due_nights(conn: asyncpg.Connection, now: datetime) -> list[int]:
    return [r["night_id"] for r in await queries().due_nights(conn, now=now)]


async def posted_nights(conn: asyncpg.Connection, since: datetime) -> list[int]:
    return [r["night_id"] for r in await queries().posted_nights(conn, since=since)]


async def night(conn: asyncpg.Connection, night_id: int) -> asyncpg.Record | None:
    return await queries().night(conn, night_id=night_id)


async def night_members(conn: asyncpg.Connection, night_id: int) -> list[int]:
    return [r["user_id"] for r in await queries().night_members(conn, night_id=night_id)]


async def cast_vote(conn: asyncpg.Connection, night_id: int, user_id: int, movie_id: int) -> None:
    await queries().cast_vote(conn, night_id=night_id, user_id=user_id, movie_id=movie_id)


async def night_votes(conn: asyncpg.Connection, night_id: int) -> dict[int, int]:
    return {r["user_id"]: r["movie_id"] for r in await queries().night_votes(conn, night_id=night_id)}


async def close_night(conn: asyncpg.Connection, night_id: int, winner: int | None, satisfaction: dict[int, float]) -> bool:
    """False when it was already closed (a vote and the deadline at once)."""
    if await queries().close_night(conn, night_id=night_id, winner=winner) is None:
        return False
    if satisfaction:
        await queries().set_satisfaction(conn, rows=[{"night_id": night_id, "user_id": u, "satisfaction": s}
                                                     for u, s in satisfaction.items()])
    return True


async def last_satisfaction(conn: asyncpg.Connection, guild_id: int, user_ids: list[int]) -> dict[int, float]:
    return {r["user_id"]: float(r["satisfaction"])
            for r in await queries().last_satisfaction(conn, guild_id=guild_id, user_ids=user_ids)}
