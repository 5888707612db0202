"""Periodic jobs that run exactly once per period across every bot process on one database.

Each run opens a dedicated connection (a pooled one would drop its advisory lock when
returned to the pool), takes a non-blocking advisory lock, then claims the period in
``job_runs`` (unique per job and period). A process that cannot lock or claim skips the
period. If the holder's connection dies, its lock goes with it and the next period is
free for another process. Errors are logged and recorded; the schedule carries on.
"""
from __future__ import annotations

import hashlib
import logging
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from typing import AsyncIterator, Awaitable, Callable

import asyncpg

from bot.repositories import learner as repo

log = logging.getLogger(__name__)


def lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"cinesync.job.{name}".encode()).digest()[:8], "big") & 0x7FFFFFFFFFFFFFFF


class JobBusy(RuntimeError):
    """The job already runs somewhere on this database (another process, or an operator's command)."""


@asynccontextmanager
async def exclusive_job(dsn: str, name: str, busy_message: str) -> AsyncIterator[asyncpg.Connection]:
    """Hold job ``name``'s advisory lock for the duration, on a dedicated connection (the guard every
    process and every `cinesync` command on this database sees); raise JobBusy if it is held."""
    conn = await asyncpg.connect(dsn)
    try:
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", lock_key(name)):
            raise JobBusy(busy_message)
        yield conn
    finally:
        await conn.close()  # releases the lock


async def job_running(dsn: str, name: str) -> bool:
    """Whether some session holds job ``name``'s lock right now (a quick answer before starting one)."""
    conn = await asyncpg.connect(dsn)
    try:
        return bool(await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
            "AND ((classid::bigint << 32) | objid::bigint) = $1 AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database()))", lock_key(name)))
    finally:
        await conn.close()


class LockedPeriodicJob:
    def __init__(self, name: str, dsn: str, interval: timedelta, work: Callable[[], Awaitable[int]]) -> None:
        self.name, self.dsn, self.interval, self.work = name, dsn, interval, work
        self.key = lock_key(name)
        self.connection: asyncpg.Connection | None = None  # the dedicated connection while a run holds the lock

    def period_start(self, now: datetime | None = None) -> datetime:
        now = now or datetime.now(timezone.utc)
        seconds = self.interval.total_seconds()
        return datetime.fromtimestamp((now.timestamp() // seconds) * seconds, tz=timezone.utc)

    async def run_period(self, now: datetime | None = None, *, claim: bool = True) -> str:
        """'ran', 'locked' (another process runs), 'claimed' (period done elsewhere) or 'failed'."""
        try:
            conn = await asyncpg.connect(self.dsn)
        except (OSError, asyncpg.PostgresError) as exc:
            log.error("%s: cannot reach the database (%s); will try next period", self.name, exc)
            return "failed"
        run_id = None
        try:
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.key):
                return "locked"
            self.connection = conn
            run_id = await (repo.claim_period(conn, self.name, self.period_start(now)) if claim else repo.start_run(conn, self.name))
            if run_id is None:
                return "claimed"
            items = await self.work()
            await repo.finish_run(conn, run_id, "ok", items, None)
            return "ran"
        except Exception as exc:  # one failed run must not stop the schedule
            log.exception("%s: run failed", self.name)
            if run_id is not None and not conn.is_closed():
                try:
                    await repo.finish_run(conn, run_id, "failed", 0, f"{exc.__class__.__name__}: {exc}"[:500])
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                    pass
            return "failed"
        finally:
            self.connection = None
            if not conn.is_closed():
                await conn.close()  # closing releases the advisory lock

    def schedule(self, scheduler) -> None:  # type: ignore[no-untyped-def]
        """Add to an APScheduler AsyncIOScheduler: one instance at a time, missed runs coalesced."""
        from apscheduler.triggers.interval import IntervalTrigger

        scheduler.add_job(self.run_period, IntervalTrigger(seconds=self.interval.total_seconds()), id=self.name,
                          max_instances=1, coalesce=True, misfire_grace_time=int(self.interval.total_seconds()),
                          replace_existing=True)
