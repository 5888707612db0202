"""Imported histories: what each film was before, the watchlist part, and the undo log."""
from __future__ import annotations

from typing import Any

import asyncpg

from bot.db.queries import queries


async def feedback_on_movies(conn: asyncpg.Connection, user_id: int, movie_ids: list[int]) -> dict[int, tuple[str, float | None]]:
    return {r["movie_id"]: (r["kind"], r["rating"])
            for r in await queries().feedback_on_movies(conn, user_id=user_id, movie_ids=movie_ids)}


async def watchlisted_among(conn: asyncpg.Connection, user_id: int, movie_ids: list[int]) -> set[int]:
    return {r["movie_id"] for r in await queries().watchlisted_among(conn, user_id=user_id, movie_ids=movie_ids)}


async def add_many_to_watchlist(conn: asyncpg.Connection, user_id: int, movie_ids: list[int]) -> int:
    return int(await queries().add_many_to_watchlist(conn, user_id=user_id, movie_ids=movie_ids))


async def remove_many_from_watchlist(conn: asyncpg.Connection, user_id: int, movie_ids: list[int]) -> None:
    await queries().remove_many_from_watchlist(conn, user_id=user_id, movie_ids=movie_ids)


async def log_history_import(conn: asyncpg.Connection, user_id: int, source: str, previous: list[dict[str, Any]]) -> int:
    return await queries().log_history_import(conn, user_id=user_id, source=source, previous=previous)


async def last_history_import(conn: asyncpg.Connection, user_id: int) -> asyncpg.Record | None:
    return await queries().last_history_import(conn, user_id=user_id)


async def mark_import_undone(conn: asyncpg.Connection, user_id: int, import_id: int) -> None:
    await queries().mark_import_undone(conn, user_id=user_id, import_id=import_id)
