"""`/movienight`: a group pick for members of one server, votes until a deadline, a winner, then "we
watched it" (marked seen for those who came, each asked for a rating by DM).

Candidates come from each member's own ranking; no film any member would likely rate under 3 stars is
offered, nor one any member has little chance of enjoying (engine.compare); the group score is the least
happy member's chance of liking the film, and a member who liked the last winner less than the others
counts more this time (fairness).

Everything about a night is in the database (options, each member's chances, votes, where its message
is), so its deadline closes it from any process, after a restart too (`due`, `load`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from bot.db.pool import Database
from bot.repositories import diary as diary_repo
from bot.repositories import feedback as feedback_repo
from bot.repositories import movienight as repo
from bot.services.errors import UserError
from bot.services.feedback import FeedbackService
from bot.services.recommendations import RecommendationService
from bot.services.runtime import EngineRuntime
from engine.compare import fairness_weights, group_scores, night_options

MIN_MEMBERS, MAX_MEMBERS = 2, 8


@dataclass
class NightOption:
    movie: dict[str, Any]
    chances: dict[int, float]  # member -> chance of rating it 4 stars or more


@dataclass
class Night:
    night_id: int
    members: list[int]
    options: list[NightOption]
    deadline: datetime
    fairness: dict[int, float]
    winner: int | None = None
    closed: bool = False
    channel_id: int | None = None
    message_id: int | None = None

    def chances_of(self, movie_id: int) -> dict[int, float]:
        return next((o.chances for o in self.options if o.movie["movie_id"] == movie_id), {})


@dataclass
class Tally:
    votes: dict[int, int]  # member -> movie voted for
    all_voted: bool


class MovieNightService:
    def __init__(self, db: Database, runtime: EngineRuntime, recommendations: RecommendationService,
                 feedback: FeedbackService) -> None:
        self.db, self.runtime, self.recommendations, self.feedback = db, runtime, recommendations, feedback

    async def propose(self, guild_id: int | None, members: list[int], count: int = 3, minutes: float = 30.0) -> Night:
        if guild_id is None:
            raise UserError("a movie night is for members of a server: use /movienight there")
        members = list(dict.fromkeys(members))
        if not MIN_MEMBERS <= len(members) <= MAX_MEMBERS:
            raise UserError(f"a movie night needs {MIN_MEMBERS} to {MAX_MEMBERS} members (mention them, or join a voice channel)")
        if isinstance(count, bool) or not 3 <= count <= 5:
            raise UserError("offer 3 to 5 films")
        if not 0 < minutes <= 24 * 60:
            raise UserError("the vote lasts from a few seconds to 24 hours")
        wanted = [await self.recommendations.chances(m) for m in members]
        missing = [m for m, w in zip(members, wanted) if w is None]
        if missing:
            raise UserError(f"{', '.join(f'<@{m}>' for m in missing)} need{'s' if len(missing) == 1 else ''} 5 ratings "
                            "first (`/rate`), so the pick can take their taste into account")
        index = self.runtime.catalog.items
        candidates = np.ones(len(self.runtime.catalog), dtype=bool)
        async with self.db.acquire() as conn:
            for m in members:  # nothing anyone already rated, saw or turned down
                said = index.positions(np.array([r["movie_id"] for r in await feedback_repo.user_feedback(conn, m)],
                                                dtype=np.int64))
                candidates[said[said >= 0]] = False
            last = await repo.last_satisfaction(conn, guild_id, members)
        fairness = fairness_weights([last.get(m) for m in members])
        matches = np.stack([w[0] for w in wanted])  # type: ignore[index]
        dislikes = [w[1] for w in wanted]  # type: ignore[index]
        chosen = night_options(matches, candidates, count, fairness,
                               dislikes=None if any(d is None for d in dislikes) else np.stack(dislikes))  # type: ignore[arg-type]
        if not chosen:
            raise UserError("no film suits everyone this time: try fewer members, or rate a few more films")
        deadline = datetime.now(timezone.utc) + timedelta(minutes=minutes)
        movie_ids = [int(index.movie_ids[i]) for i in chosen]
        weights = {m: float(w) for m, w in zip(members, fairness)}
        async with self.db.transaction() as conn:
            night_id = await repo.create_night(conn, guild_id, deadline, movie_ids,
                                               {m: [float(matches[k, i]) for i in chosen] for k, m in enumerate(members)},
                                               weights)
        options = [NightOption(self.runtime.movies[mid], {m: float(matches[k, i]) for k, m in enumerate(members)})
                   for mid, i in zip(movie_ids, chosen)]
        return Night(night_id, members, options, deadline, weights)

    async def posted(self, night_id: int, channel_id: int, message_id: int) -> None:
        """Where the night's vote message is, so that any process can close it at the deadline."""
        async with self.db.transaction() as conn:
            await repo.set_message(conn, night_id, channel_id, message_id)

    async def load(self, night_id: int) -> Night | None:
        """The night as stored (None if gone); options no longer in the catalog are left out."""
        async with self.db.acquire() as conn:
            night = await repo.night(conn, night_id)
            members = await repo.member_rows(conn, night_id) if night is not None else []
        if night is None:
            return None
        options = [NightOption(self.runtime.movies[mid], {r["user_id"]: float(r["chances"][k]) if r["chances"] else 0.5
                                                          for r in members})
                   for k, mid in enumerate(night["options"]) if mid in self.runtime.movies]
        return Night(night_id, [r["user_id"] for r in members], options, night["deadline"],
                     {r["user_id"]: float(r["fairness"] or 1.0) for r in members}, night["winner"],
                     night["closed_at"] is not None, night["channel_id"], night["message_id"])

    async def due(self) -> list[int]:
        """Open nights whose vote has ended (by the database's clock, which every process shares)."""
        async with self.db.acquire() as conn:
            return await repo.due_nights(conn, await conn.fetchval("SELECT now()"))

    async def posted_nights(self, within: timedelta = timedelta(hours=24)) -> list[Night]:
        """Nights whose message still has live buttons: open ones, and winners of the last ``within``
        (their "We watched it")."""
        async with self.db.acquire() as conn:
            ids = await repo.posted_nights(conn, await conn.fetchval("SELECT now()") - within)
        return [n for n in [await self.load(i) for i in ids] if n is not None and n.members]

    async def vote(self, night_id: int, user_id: int, movie_id: int) -> Tally:
        async with self.db.transaction() as conn:
            night = await repo.night(conn, night_id)
            if night is None:
                raise UserError("this movie night is gone")
            if night["closed_at"] is not None:
                raise UserError("voting has closed for this movie night")
            members = await repo.night_members(conn, night_id)
            if user_id not in members:
                raise UserError("only the members invited to this movie night can vote")
            if movie_id not in night["options"]:
                raise UserError("that film is not one of tonight's options")
            await repo.cast_vote(conn, night_id, user_id, movie_id)
            votes = await repo.night_votes(conn, night_id)
        return Tally(votes, set(votes) >= set(members))

    async def close(self, night_id: int) -> tuple[dict[str, Any], dict[int, int]] | None:
        """(winner, votes): most votes wins, a tie goes to the better group pick. None if already closed."""
        async with self.db.transaction() as conn:
            night = await repo.night(conn, night_id)
            if night is None or night["closed_at"] is not None:
                return None
            stored = {r["user_id"]: r["chances"] for r in await repo.member_rows(conn, night_id)}
            members = sorted(stored)
            votes = await repo.night_votes(conn, night_id)
            if not members:  # everyone invited has since deleted their data: nothing to announce
                await repo.close_night(conn, night_id, None, {})
                return None
            chances = {m: {u: float(stored[u][k]) if stored.get(u) else 0.5 for u in members}
                       for k, m in enumerate(night["options"])}
            counts = {m: sum(v == m for v in votes.values()) for m in night["options"]}
            scores = {m: float(group_scores(np.array([[chances[m].get(u, 0.5)] for u in members]))[0])
                      for m in night["options"]}
            winner = max(night["options"], key=lambda m: (counts[m], scores[m]))
            satisfaction = {u: chances[winner].get(u, 0.5) for u in members}
            if not await repo.close_night(conn, night_id, winner, satisfaction):
                return None
        return self.runtime.movies[winner], votes

    async def mark_watched(self, night_id: int, attendees: list[int]) -> list[int]:
        """Marks the winner seen for each attendee who has not rated it; the members to ask for a rating."""
        async with self.db.acquire() as conn:
            night = await repo.night(conn, night_id)
            members = await repo.night_members(conn, night_id)
        if night is None or night["winner"] is None:
            raise UserError("this movie night has no winner yet")
        asked = []
        for user in [a for a in attendees if a in members]:
            async with self.db.acquire() as conn:
                said = await diary_repo.member_feedback_on(conn, user, night["winner"])
            if said is None or said["rating"] is None:  # a rating given already is never overwritten by "seen"
                if said is None:
                    await self.feedback.record(user, night["winner"], "seen", None, "api")
                asked.append(user)
        return asked
