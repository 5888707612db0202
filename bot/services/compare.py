"""`/compare member`: how two members of one server match, the films both loved, where they differ,
and one film both would likely enjoy. Only members who use CineSync in that server and rated films
can be compared, and a member can opt out (`/privacy compare off`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.db.pool import Database, as_array
from bot.repositories import compare as repo
from bot.repositories import feedback as feedback_repo
from bot.services.errors import UserError
from bot.services.recommendations import RecommendationService
from bot.services.runtime import EngineRuntime
from engine.compare import TasteMatch, group_pick, taste_match


@dataclass
class Comparison:
    match: TasteMatch
    both_loved: list[dict[str, Any]]
    disagreements: list[tuple[dict[str, Any], float, float]]  # (film, your stars, their stars)
    pick: dict[str, Any] | None
    pick_chances: tuple[float, float] | None


class CompareService:
    def __init__(self, db: Database, runtime: EngineRuntime, recommendations: RecommendationService) -> None:
        self.db, self.runtime, self.recommendations = db, runtime, recommendations

    async def set_allowed(self, user_id: int, allowed: bool) -> None:
        async with self.db.transaction() as conn:
            await repo.set_compare(conn, user_id, allowed)

    async def compare(self, user_id: int, other_id: int, guild_id: int | None) -> Comparison:
        if guild_id is None:
            raise UserError("/compare works in a server: it compares you with another member of it")
        if other_id == user_id:
            raise UserError("pick another member: you match yourself 100%")
        async with self.db.acquire() as conn:
            allowed = await repo.comparable_members(conn, guild_id, [user_id, other_id])
            if user_id not in allowed:
                raise UserError("rate a few films here first (`/rate`), then compare")
            if other_id not in allowed:
                raise UserError("that member has not rated films with CineSync in this server, so there is nothing to compare yet")
            if not allowed[other_id]:
                raise UserError("that member keeps their taste private (`/privacy compare off`)")
            if not allowed[user_id]:
                raise UserError("you turned comparisons off; `/privacy compare on` to compare again")
            feedback = {u: await feedback_repo.user_feedback(conn, u) for u in (user_id, other_id)}
            states = {u: await feedback_repo.user_state(conn, u) for u in (user_id, other_id)}
        index = self.runtime.catalog.items
        stars = {u: {int(index.get(r["movie_id"])): float(r["rating"]) for r in rows
                     if r["rating"] is not None and index.get(r["movie_id"]) is not None}
                 for u, rows in feedback.items()}
        vectors = {u: (as_array(s["embedding"]) if s is not None and s["model_version"] == self.runtime.version
                       and s["rating_count"] > 0 else None) for u, s in states.items()}
        match = taste_match(vectors[user_id], vectors[other_id], stars[user_id], stars[other_id])
        film = self._film
        pick = chances = None
        wanted = [await self.recommendations.match_vector(u) for u in (user_id, other_id)]
        if all(w is not None for w in wanted):
            said = {int(index.get(r["movie_id"])) for rows in feedback.values() for r in rows if index.get(r["movie_id"]) is not None}
            candidates = np.ones(len(self.runtime.catalog), dtype=bool)
            candidates[list(said)] = False
            matches = np.stack(wanted)  # type: ignore[arg-type]
            chosen = group_pick(matches, candidates)
            if chosen:
                pick, chances = film(chosen[0]), (float(matches[0, chosen[0]]), float(matches[1, chosen[0]]))
        return Comparison(match, [film(i) for i in match.both_loved[:5]],
                          [(film(i), a, b) for i, a, b in match.disagreements[:5]], pick, chances)

    def _film(self, index: int) -> dict[str, Any]:
        return self.runtime.movies[int(self.runtime.catalog.items.movie_ids[index])]
