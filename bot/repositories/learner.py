"""PreferenceLearner snapshot and results, and periodic job bookkeeping."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from bot.db.queries import queries


async def database_now(conn: asyncpg.Connection) -> datetime:
    return await queries().database_now(conn)


async def stale_users(conn: asyncpg.Connection, everyone: bool = False) -> list[int]:
    rows = await (queries().all_rating_users(conn) if everyone else queries().stale_users(conn))
    return [r["user_id"] for r in rows]


async def feedback_of_users(conn: asyncpg.Connection, user_ids: list[int]) -> list[asyncpg.Record]:
    return await queries().feedback_of_users(conn, user_ids=user_ids)


async def rating_population(conn: asyncpg.Connection) -> asyncpg.Record:
    return await queries().rating_population(conn)


async def stored_rating_population(conn: asyncpg.Connection) -> asyncpg.Record | None:
    return await queries().stored_rating_population(conn)


async def save_rating_population(conn: asyncpg.Connection, population: asyncpg.Record, computed_at: datetime) -> None:
    await queries().save_rating_population(conn, global_mean=population["global_mean"],
                                           user_mean_mean=population["user_mean_mean"],
                                           user_mean_sd=population["user_mean_sd"], computed_at=computed_at)


async def learner_catalog(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await queries().learner_catalog(conn)


async def learner_catalog_of_users(conn: asyncpg.Connection, user_ids: list[int]) -> list[asyncpg.Record]:
    return await queries().learner_catalog_of_users(conn, user_ids=user_ids)


async def save_preferences(conn: asyncpg.Connection, rows: list[dict[str, Any]]) -> None:
    await queries().save_preferences(conn, rows=rows)


async def user_preferences(conn: asyncpg.Connection, user_id: int) -> asyncpg.Record | None:
    return await queries().user_preferences(conn, user_id=user_id)


async def claim_period(conn: asyncpg.Connection, job: str, period_start: datetime) -> int | None:
    return await queries().claim_period(conn, job=job, period_start=period_start)


async def start_run(conn: asyncpg.Connection, job: str) -> int:
    return await queries().start_run(conn, job=job)


async def finish_run(conn: asyncpg.Connection, run_id: int, status: str, items: int, detail: str | None) -> None:
    await queries().finish_run(conn, run_id=run_id, status=status, items=items, detail=detail)


async def last_run(conn: asyncpg.Connection, job: str) -> asyncpg.Record | None:
    return await queries().last_run(conn, job=job)
