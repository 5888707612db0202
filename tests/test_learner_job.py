"""The PreferenceLearner job: incremental runs, exactly once per period, takeover, surviving errors."""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from typing import AsyncIterator

import asyncpg
import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.repositories import learner as learner_repo
from bot.repositories.privacy import forget_user
from bot.services.learner import learn_preferences
from bot.services.periodic import LockedPeriodicJob

PERIOD = timedelta(seconds=1)


async def _runs(dsn: str, job: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch("SELECT period_start, status FROM job_runs WHERE job = $1 ORDER BY run_id", job)
    finally:
        await conn.close()


async def test_learner_is_incremental(small_app) -> None:  # type: ignore[no-untyped-def]
    first = await learn_preferences(small_app.db, everyone=True, runtime=small_app.runtime)
    assert first.users >= 600 and first.weights_written >= 500
    async with small_app.db.acquire() as conn:
        stored = await conn.fetchrow("SELECT weights, fitted_on FROM user_model_weights WHERE user_id = 1")
    from engine.ranker import WEIGHT_KEYS

    assert set(stored["weights"]) == set(WEIGHT_KEYS) and stored["fitted_on"] > 0
    used = await small_app.recommendations.recommend(1, 5)
    assert used.weights == pytest.approx(stored["weights"])  # the ranker reads what the job wrote
    assert (await learn_preferences(small_app.db)).users == 0  # nothing new
    user = 800_000_000_000_000_001
    for movie, stars in ((6, 5.0), (47, 4.5), (50, 4.0), (110, 2.0), (1, 3.0)):
        await small_app.feedback.record(user, movie, "rating", stars, "slash")
    again = await learn_preferences(small_app.db)
    assert again.users == 1
    async with small_app.db.acquire() as conn:
        row = await conn.fetchrow("SELECT patterns, ratings_used FROM user_preferences WHERE user_id = $1", user)
    assert row["ratings_used"] == 5 and row["patterns"]["activity"]["ratings"] == 5


@pytest.fixture
async def migrated_dsn(empty_dsn: str) -> str:
    from bot.db.migrate import migrate

    conn = await asyncpg.connect(empty_dsn)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return empty_dsn


async def test_three_schedulers_run_once_per_period(migrated_dsn: str) -> None:
    empty_dsn = migrated_dsn
    calls: list[int] = []

    async def work() -> int:
        calls.append(1)
        await asyncio.sleep(0.2)
        return 1

    schedulers = []
    for _ in range(3):
        scheduler = AsyncIOScheduler()
        LockedPeriodicJob("test_job", empty_dsn, PERIOD, work).schedule(scheduler)
        scheduler.start()
        schedulers.append(scheduler)
    await asyncio.sleep(4.3)
    for scheduler in schedulers:
        scheduler.shutdown(wait=False)
    await asyncio.sleep(0.5)
    runs = await _runs(empty_dsn, "test_job")
    periods = [r["period_start"] for r in runs]
    assert len(periods) == len(set(periods)) >= 3  # one row per period, never two
    assert len(calls) == len(periods) and all(r["status"] == "ok" for r in runs)


async def test_killing_the_holder_lets_another_take_over(migrated_dsn: str) -> None:
    empty_dsn = migrated_dsn
    conn = await asyncpg.connect(empty_dsn)
    started = asyncio.Event()

    async def slow() -> int:
        started.set()
        await asyncio.sleep(1.0)
        return 1

    async def quick() -> int:
        return 1

    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    holder = LockedPeriodicJob("takeover", empty_dsn, PERIOD, slow)
    others = [LockedPeriodicJob("takeover", empty_dsn, PERIOD, quick) for _ in range(2)]
    running = asyncio.create_task(holder.run_period(now))
    await started.wait()
    assert [await o.run_period(now) for o in others] == ["locked", "locked"]
    pid = await conn.fetchval("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted LIMIT 1")
    await conn.execute("SELECT pg_terminate_backend($1)", pid)
    assert await running == "failed"  # it lost its connection: the run cannot be recorded as done
    later = now + PERIOD
    outcomes = [await o.run_period(later) for o in others]
    assert sorted(outcomes) == ["claimed", "ran"]
    await conn.close()


async def test_a_database_error_does_not_stop_later_runs(migrated_dsn: str) -> None:
    empty_dsn = migrated_dsn
    attempts: list[int] = []

    async def flaky() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise asyncpg.PostgresError("simulated failure")
        return 3

    job = LockedPeriodicJob("flaky", empty_dsn, PERIOD, flaky)
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert await job.run_period(now) == "failed"
    assert await job.run_period(now + PERIOD) == "ran"
    broken = LockedPeriodicJob("flaky", "postgresql://nobody@127.0.0.1:1/none", PERIOD, flaky)
    assert await broken.run_period(now + 2 * PERIOD) == "failed"  # unreachable database: logged, no exception
    statuses = [r["status"] for r in await _runs(empty_dsn, "flaky")]
    assert statuses == ["failed", "ok"]


@asynccontextmanager
async def _member_with_five_ratings(app, user: int) -> AsyncIterator[int]:  # type: ignore[no-untyped-def]
    """A member with five ratings (mean 3.7), forgotten afterwards."""
    try:
        for movie, stars in ((6, 5.0), (47, 4.5), (50, 4.0), (110, 2.0), (1, 3.0)):
            await app.feedback.record(user, movie, "rating", stars, "slash")
        yield user
    finally:
        async with app.db.transaction() as conn:
            await forget_user(conn, user)


async def _assert_kept_is_measured_now(app) -> None:  # type: ignore[no-untyped-def]
    """The population kept in the database equals a fresh aggregate of every rating."""
    async with app.db.acquire() as conn:
        kept = await learner_repo.stored_rating_population(conn)
        live = await learner_repo.rating_population(conn)
    assert kept is not None
    for key in ("global_mean", "user_mean_mean", "user_mean_sd"):
        assert kept[key] == pytest.approx(live[key])


async def test_one_members_analysis_judges_against_the_population_the_last_bulk_run_kept(small_app) -> None:  # type: ignore[no-untyped-def]
    """/my_stats analyses one member on request: it must not aggregate every rating (seconds at 30M ratings)."""
    await learn_preferences(small_app.db, everyone=True)
    await _assert_kept_is_measured_now(small_app)
    # distinctive kept figures: a member analysed alone is judged against them, not a fresh aggregate
    async with small_app.db.acquire() as conn:
        await conn.execute("UPDATE rating_population SET global_mean = 1.25, user_mean_mean = 2.0, user_mean_sd = 0.25")
    async with _member_with_five_ratings(small_app, 800_000_000_000_000_002) as user:
        assert (await learn_preferences(small_app.db, only=[user])).users == 1
        async with small_app.db.acquire() as conn:
            behaviour = (await learner_repo.user_preferences(conn, user))["patterns"]["behaviour"]
        assert behaviour["global_mean"] == 1.25
        assert behaviour["z"] == pytest.approx(round((3.7 - 2.0) / 0.25, 2))
    # the next bulk run measures again and replaces what was kept
    await learn_preferences(small_app.db, everyone=True)
    await _assert_kept_is_measured_now(small_app)


async def test_the_first_members_analysis_on_a_new_database_keeps_the_population_it_measured(small_app) -> None:  # type: ignore[no-untyped-def]
    """Before any bulk run, one member's analysis must measure the population; it keeps it, so the next
    /my_stats reads it rather than aggregating every rating again."""
    async with small_app.db.acquire() as conn:
        await conn.execute("DELETE FROM rating_population")
    async with _member_with_five_ratings(small_app, 800_000_000_000_000_003) as user:
        assert (await learn_preferences(small_app.db, only=[user])).users == 1
        await _assert_kept_is_measured_now(small_app)
