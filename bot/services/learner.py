"""The PreferenceLearner job: snapshot the users whose feedback changed, analyse off the loop, store.

It also refits those users' signal weights (`bot/services/user_weights.py`): the job is the
only writer of `user_model_weights`.

Incremental: only users with feedback newer than their last ``computed_at``. Writes never bring
back a member forgotten during the run (see the SQL of save_preferences). The snapshot
time becomes the new ``computed_at``, so feedback arriving during a run is picked up by
the next one. The pandas work runs in a worker thread so the bot keeps answering.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import pandas as pd

from typing import TYPE_CHECKING

import numpy as np

from bot.db.pool import Database, as_array
from bot.repositories.models import hold_member_writes
from bot.repositories.models import save_many_user_weights as save_weights
from bot.repositories.models import taste_vectors
from engine.data import History

if TYPE_CHECKING:
    from bot.services.runtime import EngineRuntime
from bot.repositories import learner as repo
from engine.preferences import Population, analyse

JOB_NAME = "preference_learner"
BATCH = 2000  # users per snapshot: the whole shared dataset is one batch


@dataclass
class LearnReport:
    users: int
    ratings: int
    seconds: float
    weights_seconds: float = 0.0  # part of `seconds` spent refitting per-user signal weights
    weights_written: int = 0

    @property
    def ms_per_user(self) -> float:
        return 1000.0 * self.seconds / self.users if self.users else 0.0


async def learn_preferences(db: Database, everyone: bool = False, runtime: "EngineRuntime | None" = None,
                            only: list[int] | None = None) -> LearnReport:
    """Analyse stale users (all with ``everyone``, or just ``only``); refit their weights when given a runtime."""
    started = time.perf_counter()
    async with db.acquire() as conn:
        snapshot_at = await repo.database_now(conn)  # the database's clock, which stamps the ratings
        users = list(only) if only is not None else await repo.stale_users(conn, everyone)
        if not users:
            return LearnReport(0, 0, time.perf_counter() - started)
        population_row = await repo.rating_population(conn)
        # a few users (/my_stats on demand) need only the movies they rated, not the whole catalog
        catalog_rows = await (repo.learner_catalog_of_users(conn, users) if len(users) <= 20 else repo.learner_catalog(conn))
    population = Population(population_row["global_mean"] or 3.5, population_row["user_mean_mean"] or 3.5,
                            population_row["user_mean_sd"] or 0.5)
    movies = await asyncio.to_thread(_catalog_frame, catalog_rows)
    total = weights_seconds = 0.0
    written = 0
    neighbours: tuple[list[int], np.ndarray] | None = None  # every member's taste vector, read once per run
    for start in range(0, len(users), BATCH):
        chunk = users[start : start + BATCH]
        async with db.acquire() as conn:
            rows = await repo.feedback_of_users(conn, chunk)
        frame = await asyncio.to_thread(_feedback_frame, rows)
        total += int(frame["rating"].notna().sum())
        profiles = await asyncio.to_thread(analyse, frame, movies, population)
        records = [{"user_id": user, "patterns": profile, "ratings_used": profile["activity"]["ratings"],
                    "computed_at": snapshot_at} for user, profile in profiles.items()]
        weights = []
        if runtime is not None and runtime.trainer is not None:
            clock = time.perf_counter()
            if neighbours is None:
                neighbours = await _taste_vectors(db, runtime.dim)
            weights = await _user_weights(runtime, frame, *neighbours)
            weights_seconds += time.perf_counter() - clock
            written += len(weights)
        async with db.transaction() as conn:
            await hold_member_writes(conn)  # a /forget_me waits for this write, and members it forgot are skipped
            await repo.save_preferences(conn, records)
            if weights:
                await save_weights(conn, [dict(w, read_at=snapshot_at) for w in weights])
    return LearnReport(len(users), int(total), time.perf_counter() - started, weights_seconds, written)


def _catalog_frame(rows: list) -> pd.DataFrame:
    return pd.DataFrame([dict(r) for r in rows], columns=["movie_id", "genres", "directors", "cast", "year"]).set_index("movie_id")


def _feedback_frame(rows: list) -> pd.DataFrame:
    frame = pd.DataFrame.from_records([tuple(r) for r in rows], columns=["user_id", "movie_id", "rating", "kind", "rated_at"])
    frame["rating"] = frame["rating"].astype(float)
    return frame


async def _taste_vectors(db: Database, dim: int) -> tuple[list[int], np.ndarray]:
    """Every member's taste vector (nearest members are searched among these), read once per run rather
    than once per batch of 2,000 members: each read is every member's 256 floats."""
    async with db.acquire() as conn:
        rows = await taste_vectors(conn)
    users = [r["user_id"] for r in rows]
    vectors = np.stack([as_array(r["embedding"]) for r in rows]) if rows else np.zeros((0, dim), np.float32)
    return users, vectors


async def _user_weights(runtime: "EngineRuntime", frame: pd.DataFrame, users: list[int],
                        vectors: np.ndarray) -> list[dict]:
    from bot.services.user_weights import SnapshotEngine, fit_user_weights

    index = runtime.catalog.items
    histories = {}
    for user, group in frame.sort_values("rated_at", kind="stable").groupby("user_id"):
        positions = index.positions(group["movie_id"].to_numpy())
        keep = positions >= 0
        histories[int(user)] = History(positions[keep], group["rating"].to_numpy(dtype=float)[keep],
                                       tuple(group["kind"].to_numpy()[keep]))
    engine = SnapshotEngine(runtime, users, vectors)
    return await asyncio.to_thread(fit_user_weights, engine, histories)
