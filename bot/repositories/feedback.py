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


async def log_event(conn: asyncpg.Connection, user_id: int, movie_id: int, action: str, rating: float | None,
                    kind: str, source: str, dedupe_key: str | None) -> int | None:
    return await queries().log_event(conn, user_id=user_id, movie_id=movie_id, action=action, rating=rating,
                                     kind=kind, source=source, dedupe_key=dedupe_key)


async def upsert_rating(conn: asyncpg.Connection, user_id: int, movie_id: int, rating: float | None, kind: str, source: str) -> None:
    await queries().upsert_rating(conn, user_id=user_id, movie_id=movie_id, rating=rating, kind=kind, source=source)


async def delete_rating(conn: asyncpg.Connection, user_id: int, movie_id: int) -> None:
    await queries().delete_rating(conn, user_id=user_id, movie_id=movie_id)


async def save_user_state(conn: asyncpg.Connection, user_id: int, embedding: np.ndarray, solver_state: bytes,
                          rating_count: int, feedback_count: int, version: int, model_version: str | None) -> None:
    await queries().save_user_state(conn, user_id=user_id, embedding=embedding, solver_state=solver_state,
                                    rating_count=rating_count, feedback_count=feedback_count, version=version,
                                    model_version=model_version)


async def user_feedback(conn: asyncpg.Connection, user_id: int) -> list[asyncpg.Record]:
    return await queries().user_feedback(conn, user_id=user_id)


async def user_state(conn: asyncpg.Connection, user_id: int) -> asyncpg.Record | None:
    return await queries().user_state(conn, user_id=user_id)


async def all_feedback(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await queries().all_feedback(conn)
