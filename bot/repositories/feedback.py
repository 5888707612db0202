"""Feedback rows: the current rating per (user, movie), the event log, and the user's state row."""
from __future__ import annotations

import asyncpg
import numpy as np

from bot.db.queries import queries


async def lock_user_state(conn: asyncpg.Connection, user_id: int) -> asyncpg.Record:
    """The user's state row, created if missing and locked until the transaction ends."""
    return await queries().lock_user_state(conn, user_id=user_id)


async def current_rating(conn: asyncpg.Connection, user_id: int, movie_id: int) -> asyncpg.Record | None:
    return await queries().current_rating(conn, user_id=user_id, movie_id=movie_id)


async def write_feedback(conn: asyncpg.Connection, *, user_id: int, movie_id: int, action: str, rating: float | None,
                         kind: str, source: str, dedupe_key: str | None, embedding: np.ndarray, solver_state: bytes | None,
                         rating_count: int, feedback_count: int, version: int, model_version: str | None) -> int | None:
    """Event + current rating + state in one statement; None (and nothing written) for a replayed event."""
    return await queries().write_feedback(
        conn, user_id=user_id, movie_id=movie_id, action=action, rating=rating, kind=kind, source=source,
        dedupe_key=dedupe_key, embedding=embedding, solver_state=solver_state, rating_count=rating_count,
        feedback_count=feedback_count, version=version, model_version=model_version)


async def user_feedback(conn: asyncpg.Connection, user_id: int) -> list[asyncpg.Record]:
    return await queries().user_feedback(conn, user_id=user_id)


async def user_state(conn: asyncpg.Connection, user_id: int) -> asyncpg.Record | None:
    return await queries().user_state(conn, user_id=user_id)


async def all_feedback(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await queries().all_feedback(conn)


async def announce_loved(conn: asyncpg.Connection, user_id: int, movie_id: int, loved: bool) -> None:
    """Inside the feedback's transaction: delivered to every listening process on commit."""
    await queries().announce_loved(conn, user_id=user_id, movie_id=movie_id, loved=loved)
