"""The PreferenceLearner job: snapshot the users whose feedback changed, analyse off the loop, store.

It also refits those users' signal weights (`bot/services/user_weights.py`): the job is the
only writer of `user_model_weights`.

Incremental: only users with feedback newer than their last ``computed_at``. Writes never bring
back a member forgotten during the run (see the SQL of save_preferences). The snapshot
time becomes the new ``computed_at``, so feedback arriving during a run is picked up by
the next one. The pandas work runs off the loop (a bulk run: in a process of its own, see
`learner_worker`) so the bot keeps answering.
"""
from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, AsyncIterator

import asyncpg
import numpy as np
import pandas as pd
from tqdm import tqdm

from bot.db.pool import Database, as_array
from bot.repositories.models import hold_member_writes
from bot.repositories.models import save_many_user_weights as save_weights
from bot.repositories.models import taste_vectors
from engine.data import History
from engine.ranker import known_to_model

if TYPE_CHECKING:
    from bot.services.runtime import EngineRuntime
    from bot.services.user_weights import SnapshotEngine
from bot.repositories import learner as repo
from bot.services.learner_worker import Analyst, analyst
from engine.preferences import Population

JOB_NAME = "preference_learner"
BATCH = 2000  # users per snapshot: the whole shared dataset is one batch
FEW_USERS = 20  # up to this many users (/my_stats on demand) is a request's work, not a bulk run


@dataclass
class LearnReport:
    users: int
    ratings: int
    seconds: float
    weights_seconds: float = 0.0  # of `seconds`, the time refitting per-user signal weights took (the analysis runs beside it)
    weights_written: int = 0

    @property
    def ms_per_user(self) -> float:
        return 1000.0 * self.seconds / self.users if self.users else 0.0


async def learn_preferences(db: Database, everyone: bool = False, runtime: "EngineRuntime | None" = None,
                            only: list[int] | None = None, progress: bool = False) -> LearnReport:
    """Analyse stale users (all with ``everyone``, or just ``only``); refit their weights when given a runtime."""
    started = time.perf_counter()
    bulk = only is None or len(only) > FEW_USERS
    async with _snapshot_reader(db, bulk) as reader:
        snapshot_at = await repo.database_now(reader)  # the database's clock, which stamps the ratings
        users = list(only) if only is not None else await repo.stale_users(reader, everyone)
        if not users:
            return LearnReport(0, 0, time.perf_counter() - started)
        population = await _population(reader, bulk, snapshot_at)
        # a few users (/my_stats on demand) need only the movies they rated, not the whole catalog
        catalog_rows = await (repo.learner_catalog(reader) if bulk else repo.learner_catalog_of_users(reader, users))
        movies = await asyncio.to_thread(_catalog_frame, catalog_rows)
        weights_seconds = 0.0
        snapshot = None  # every member's taste vector and loved films, read and indexed once per run
        if runtime is not None and runtime.trainer is not None:
            clock = time.perf_counter()
            snapshot = await _snapshot_engine(reader, runtime)
            weights_seconds += time.perf_counter() - clock
        chunks = [users[start : start + BATCH] for start in range(0, len(users), BATCH)]
        bar = tqdm(total=len(users), desc="PreferenceLearner", unit=" members", disable=not progress, leave=False)
        async with analyst(movies, population, separate=bulk) as analyse_batch:
            total, refit_seconds, written = await _run_batches(
                db, reader, chunks, analyse_batch, runtime, snapshot, snapshot_at, bar)
    weights_seconds += refit_seconds
    return LearnReport(len(users), int(total), time.perf_counter() - started, weights_seconds, written)


async def _run_batches(db: Database, reader: asyncpg.Connection, chunks: list[list[int]], analyse_batch: Analyst,
                       runtime: "EngineRuntime | None", snapshot: "SnapshotEngine | None", snapshot_at: datetime,
                       bar: tqdm) -> tuple[float, float, int]:
    """Each batch read (the next one while this one is worked on), analysed, refitted and stored;
    (ratings read, seconds refitting weights, weights written)."""
    total = refit_seconds = 0.0
    written = 0
    # The next batch's ratings are read while this one is worked on: the read is the loop's own
    # work (asyncpg decoding rows), the analysis and the refit run elsewhere, so they overlap.
    pending = asyncio.ensure_future(_feedback(reader, chunks[0]))
    try:
        for number, chunk in enumerate(chunks):
            frame = await pending
            if number + 1 < len(chunks):
                pending = asyncio.ensure_future(_feedback(reader, chunks[number + 1]))
            total += int(frame["rating"].notna().sum())
            # the analysis (a process of its own in a bulk run) beside the weights' refit (a thread)
            profiles, (weights, spent) = await asyncio.gather(analyse_batch(frame),
                                                              _timed_weights(runtime, snapshot, frame))
            refit_seconds += spent
            written += len(weights)
            records = [{"user_id": user, "patterns": profile, "ratings_used": profile["activity"]["ratings"],
                        "computed_at": snapshot_at} for user, profile in profiles.items()]
            async with db.transaction() as conn:  # short writes through the pool, like a request's
                await hold_member_writes(conn)  # a /forget_me waits for this write, and members it forgot are skipped
                await repo.save_preferences(conn, records)
                if weights:
                    await save_weights(conn, [dict(w, read_at=snapshot_at) for w in weights])
            bar.update(len(chunk))
    finally:
        pending.cancel()  # after a failed batch the read ahead ends before its connection is released
        with suppress(asyncio.CancelledError, Exception):  # its rows or error are moot: the failure propagates
            await pending
        bar.close()
    return total, refit_seconds, written


@asynccontextmanager
async def _snapshot_reader(db: Database, bulk: bool) -> AsyncIterator[asyncpg.Connection]:
    """Where a run reads its snapshot. A bulk run reads every member's ratings and taste vectors (tens
    of seconds at 30 million ratings, past a request's 30 s command timeout): a connection of its own
    without timeouts. A few members' analysis (/my_stats) is a request's work: a pooled connection."""
    if bulk:
        async with db.dedicated() as conn:
            yield conn
    else:
        async with db.acquire() as conn:
            yield conn


async def _population(conn: asyncpg.Connection, bulk: bool, snapshot_at: datetime) -> Population:
    """A bulk run measures the population and keeps it; a few members' analysis reads what was kept (the
    measure aggregates every rating: 0.3 s at a million). On a database no bulk run has seen yet the
    first such analysis measures and keeps it too, or every /my_stats would pay the aggregate until
    the learner's first run (seen in `cinesync simulate`: the stats p99 at 290 ms once members passed
    five ratings). A bulk run's newer measure still replaces it (the save keeps the newest)."""
    row = None if bulk else await repo.stored_rating_population(conn)
    if row is None:
        row = await repo.rating_population(conn)
        await repo.save_rating_population(conn, row, snapshot_at)
    return Population(row["global_mean"] or 3.5, row["user_mean_mean"] or 3.5, row["user_mean_sd"] or 0.5)


def _catalog_frame(rows: list) -> pd.DataFrame:
    return pd.DataFrame([dict(r) for r in rows], columns=["movie_id", "genres", "directors", "cast", "year"]).set_index("movie_id")


async def _feedback(reader: asyncpg.Connection, users: list[int]) -> pd.DataFrame:
    return await asyncio.to_thread(_feedback_frame, await repo.feedback_of_users(reader, users))


def _feedback_frame(rows: list) -> pd.DataFrame:
    frame = pd.DataFrame.from_records([tuple(r) for r in rows], columns=["user_id", "movie_id", "rating", "kind", "rated_at"])
    frame["rating"] = frame["rating"].astype(float)
    return frame


async def _snapshot_engine(conn: asyncpg.Connection, runtime: "EngineRuntime") -> "SnapshotEngine":
    """Every member's taste vector (nearest members are searched among these) and loved films, read
    and indexed once per run rather than once per batch of 2,000 members: rebuilt per batch, the
    members x films matrix of loved films cost a run time growing with members squared."""
    from bot.services.user_weights import SnapshotEngine

    rows = await taste_vectors(conn)
    users = [r["user_id"] for r in rows]
    vectors = np.stack([as_array(r["embedding"]) for r in rows]) if rows else np.zeros((0, runtime.dim), np.float32)
    known = {r["user_id"] for r in rows if known_to_model(r["trained_ratings"], r["rating_count"])}
    return await asyncio.to_thread(SnapshotEngine, runtime, users, vectors, known)


async def _timed_weights(runtime: "EngineRuntime | None", snapshot: "SnapshotEngine | None",
                         frame: pd.DataFrame) -> tuple[list[dict], float]:
    """The batch's refitted weights (none without a runtime to fit them with) and the seconds it took."""
    if runtime is None or snapshot is None:
        return [], 0.0
    clock = time.perf_counter()
    weights = await _user_weights(runtime, snapshot, frame)
    return weights, time.perf_counter() - clock


async def _user_weights(runtime: "EngineRuntime", engine: "SnapshotEngine", frame: pd.DataFrame) -> list[dict]:
    from bot.services.user_weights import fit_user_weights

    index = runtime.catalog.items
    histories = {}
    for user, group in frame.sort_values("rated_at", kind="stable").groupby("user_id"):
        positions = index.positions(group["movie_id"].to_numpy())
        keep = positions >= 0
        histories[int(user)] = History(positions[keep], group["rating"].to_numpy(dtype=float)[keep],
                                       tuple(group["kind"].to_numpy()[keep]))
    return await asyncio.to_thread(fit_user_weights, engine, histories)
