"""The quick rating flow: one popular, varied movie at a time that the member has not rated yet."""
from __future__ import annotations

import math
import random
from typing import Any, Sequence

from bot.db.pool import Database
from bot.repositories import members as repo

POOL = 150  # most-rated unrated movies to choose from


class QuickRatingService:
    def __init__(self, db: Database, rng: random.Random | None = None) -> None:
        self.db = db
        self.rng = rng or random.Random()

    async def next_movie(self, user_id: int, skip: Sequence[int] = (), recent_genres: Sequence[str] = ()) -> dict[str, Any] | None:
        """A movie to rate next, or None when the member has rated every movie anyone rated.

        Popular first (most members can rate it), varied: a movie sharing a genre with the last
        ones shown is less likely, and the pick is random among the most popular so two members
        do not see the same sequence.
        """
        async with self.db.acquire() as conn:
            rows = await repo.quick_rating_candidates(conn, user_id, list(skip), POOL)
        if not rows:
            return None
        recent = set(recent_genres)
        weights = []
        for rank, row in enumerate(rows):
            overlap = len(recent & set(row["genres"])) / max(1, len(row["genres"]))
            weights.append(math.exp(-rank / 30.0) * (1.0 - 0.8 * overlap))
        pick = self.rng.choices(rows, weights=weights, k=1)[0]
        return dict(pick)
