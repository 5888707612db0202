"""`/my_stats`: the member's taste profile, refreshed on demand when they rated since the last analysis."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.db.pool import Database
from bot.repositories import feedback as feedback_repo
from bot.repositories import learner as learner_repo
from bot.services.learner import learn_preferences
from engine.trainer import MIN_PERSONAL_RATINGS


@dataclass
class TasteProfile:
    user_id: int
    rating_count: int
    patterns: dict[str, Any] | None
    computed_at: datetime | None

    @property
    def ratings_needed(self) -> int:
        return max(0, MIN_PERSONAL_RATINGS - self.rating_count)


class StatsService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def profile(self, user_id: int) -> TasteProfile:
        async with self.db.acquire() as conn:
            feedback = await feedback_repo.user_feedback(conn, user_id)
            stored = await learner_repo.user_preferences(conn, user_id)
        rating_count = sum(1 for r in feedback if r["rating"] is not None)
        if rating_count < MIN_PERSONAL_RATINGS:
            return TasteProfile(user_id, rating_count, None, None)
        newest = max(r["updated_at"] for r in feedback)
        if stored is None or stored["computed_at"] < newest:
            # one user's analysis takes milliseconds: do it now rather than show a stale profile
            await learn_preferences(self.db, only=[user_id])
            async with self.db.acquire() as conn:
                stored = await learner_repo.user_preferences(conn, user_id)
        assert stored is not None
        return TasteProfile(user_id, rating_count, stored["patterns"], stored["computed_at"])
