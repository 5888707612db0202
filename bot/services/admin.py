"""`/admin status` and friends: what an operator needs to know, and the jobs they may start."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.db.migrate import status as migration_status
from bot.db.pool import Database
from bot.repositories import learner as learner_repo
from bot.repositories import members as repo


@dataclass
class Status:
    counts: dict[str, Any]
    model_version: str | None
    last_learner_run: dict[str, Any] | None
    pending_migrations: list[str]


async def read_status(db: Database, model_version: str | None) -> Status:
    from bot.services.learner import JOB_NAME

    async with db.acquire() as conn:
        counts = await repo.status_counts(conn)
        last = await learner_repo.last_run(conn, JOB_NAME)
        pending = [m.filename for m in (await migration_status(conn)).pending]
    return Status(counts, model_version, dict(last) if last else None, pending)


async def retrain_running(db: Database) -> bool:
    """A retrain holds its advisory lock somewhere on this database (any process, or `cinesync train`)."""
    from bot.services.jobs import RETRAIN_JOB
    from bot.services.periodic import job_running

    return await job_running(db.dsn, RETRAIN_JOB)
