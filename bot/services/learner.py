"""The PreferenceLearner job: snapshot the users whose feedback changed, analyse off the loop, store.

Incremental: only users with feedback newer than their last ``computed_at``. The snapshot
time becomes the new ``computed_at``, so feedback arriving during a run is picked up by
the next one. The pandas work runs in a worker thread so the bot keeps answering.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import pandas as pd

from bot.db.pool import Database
from bot.repositories import learner as repo
from engine.preferences import Population, analyse

JOB_NAME = "preference_learner"
BATCH = 500


@dataclass
class LearnReport:
    users: int
    ratings: int
    seconds: float

    @property
    def ms_per_user(self) -> float:
        return 1000.0 * self.seconds / self.users if self.users else 0.0


async def learn_preferences(db: Database, everyone: bool = False) -> LearnReport:
    started = time.perf_counter()
    snapshot_at = datetime.now(timezone.utc)
    async with db.acquire() as conn:
        users = await repo.stale_users(conn, everyone)
        if not users:
            return LearnReport(0, 0, time.perf_counter() - started)
        population_row = await repo.rating_population(conn)
        catalog = pd.DataFrame([dict(r) for r in await repo.learner_catalog(conn)])
    population = Population(population_row["global_mean"] or 3.5, population_row["user_mean_mean"] or 3.5,
                            population_row["user_mean_sd"] or 0.5)
    movies = catalog.set_index("movie_id")
    total = 0
    for start in range(0, len(users), BATCH):
        chunk = users[start : start + BATCH]
        async with db.acquire() as conn:
            rows = await repo.feedback_of_users(conn, chunk)
        frame = pd.DataFrame([dict(r) for r in rows], columns=["user_id", "movie_id", "rating", "kind", "rated_at"])
        frame["rating"] = frame["rating"].astype(float)
        total += int(frame["rating"].notna().sum())
        profiles = await asyncio.to_thread(analyse, frame, movies, population)
        records = [{"user_id": user, "patterns": profile, "ratings_used": profile["activity"]["ratings"],
                    "computed_at": snapshot_at} for user, profile in profiles.items()]
        async with db.transaction() as conn:
            await repo.save_preferences(conn, records)
    return LearnReport(len(users), total, time.perf_counter() - started)
