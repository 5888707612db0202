"""Recording feedback: `/rate`, buttons, DM reactions, the shell and imports of one rating.

A feedback on the common path takes one round trip: it is planned (the online update worked out) from
what this process remembers of the member, the state row it last wrote for them and their feedback on
the films it wrote (`bot/services/state_cache.py`), or as a new member's first when it remembers
nothing; then one statement, its own transaction, appends the event, writes the current rating and
stores the new state only if the plan still holds (the state is still that version, the film's current
feedback still what the plan assumed). When it does not (another process wrote, a film rated before
this process remembered the member), the same statement returns what a new plan needs, read in its own
snapshot, and the plan is written once more: two round trips. Otherwise (a state from another model to
re-base, a member with imported ratings but no state row, a write that came between again, a dedupe
key that arrived meanwhile) the feedback goes the locked way: one transaction that locks the member's
state row (concurrent feedback for a member serialises there), then the same statement. Fewer round
trips because each costs wake-ups of our process and of a database backend, which on a mostly idle
machine weigh about as much as the statements (README, "Thirteenth session"). The reply is sent only
after the commit, so a member is never told a rating was saved when it was not; and the write carries
the request's deadline, so a statement held up on the way cannot save what the member was already
told was not saved.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import asyncpg
import numpy as np

from bot.db.pool import Database, DatabaseUnavailable, as_array
from bot.repositories import feedback as repo
from bot.services.errors import SlowDown, NotSaved, UnknownMovie, UserError
from bot.services.member_index import MemberIndexRefresher
from bot.services.runtime import EngineRuntime
from bot.services.state_cache import StateCache
from bot.services.member_state import replay_feedback
from engine.feedback import KINDS, WORD_STAR_RANGE, WORD_STARS, stars_for
from engine.trainer import NonFiniteUpdate, UserState, unit

log = logging.getLogger(__name__)
_UNREAD = object()  # `_apply` reads the member's current feedback itself
SOURCES = ("slash", "button", "dm_reaction", "import", "shell", "api")
# the state row a member without one starts from (as `lock_user_state` creates it: a unit placeholder)
NEW_MEMBER: dict[str, Any] = {"embedding": np.eye(1, 256, dtype=np.float32)[0], "solver_state": None, "rating_count": 0,
                              "feedback_count": 0, "version": 0, "model_version": None}


@dataclass
class _Write:
    """What one feedback writes, worked out from the member's state row (no database)."""
    params: dict[str, Any]  # `repo.write_feedback`'s
    loved: bool | None  # the member's "loved" mark on the film when it changes (other processes' snapshots follow), or None
    result: "FeedbackResult"
    row: dict[str, Any]  # the state row as it will be


@dataclass
class FeedbackResult:
    user_id: int
    movie_id: int
    title: str
    kind: str | None
    rating: float | None
    previous_kind: str | None
    previous_rating: float | None
    rating_count: int
    duplicate: bool = False
    embedding_shift: float = 0.0  # 1 - cos(old taste vector, new)
    embedding_updated: bool = True


def parse_rating(value: str) -> tuple[str, float | None]:
    """'4.5' -> ('rating', 4.5); 'love' -> ('love', 5.0); raises UserError otherwise."""
    text = str(value).strip().lower()
    if text in WORD_STARS:
        return text, WORD_STARS[text]
    if text in ("not_interested", "seen"):
        return text, None
    try:
        stars = float(text)
    except ValueError:
        raise UserError(f"'{value}' is not a rating: use 0.5 to 5 stars in half steps, or love, like, meh, dislike, hate") from None
    if not 0.5 <= stars <= 5.0 or stars * 2 != int(stars * 2):
        raise UserError(f"{value} stars is not a rating: use 0.5 to 5 in half steps")
    return "rating", stars


UNLIMITED_SOURCES = ("import", "api")  # operators' bulk paths; every member-facing path is limited


class FeedbackLimiter:
    """One per-member limit over every feedback path (slash commands, buttons, DM reactions): a moving
    window from the `limits` library, per process. ``spec`` like "15/10 seconds"; empty: no limit."""

    def __init__(self, spec: str | None) -> None:
        from limits import parse, storage, strategies

        self.item = parse(spec) if spec else None
        self.window = strategies.MovingWindowRateLimiter(storage.MemoryStorage())

    def allow(self, user_id: int) -> bool:
        return self.item is None or self.window.hit(self.item, "feedback", str(user_id))


class FeedbackService:
    def __init__(self, db: Database, runtime: EngineRuntime, cache: StateCache | None = None,
                 limiter: FeedbackLimiter | None = None, member_index: MemberIndexRefresher | None = None) -> None:
        self.db, self.runtime = db, runtime
        self.cache = cache or StateCache()
        self.limiter = limiter or FeedbackLimiter(None)
        self.member_index = member_index or MemberIndexRefresher(db)

    def _state_from_row(self, row: asyncpg.Record) -> UserState | None:
        if row["solver_state"] is None or row["model_version"] != self.runtime.version:
            return None
        return UserState.from_bytes(row["solver_state"], row["rating_count"], row["feedback_count"], row["version"])

    async def _rebase(self, conn: asyncpg.Connection, user_id: int) -> UserState:
        """The user's state recomputed from their current feedback (new user, or a model change)."""
        assert self.runtime.trainer is not None
        return replay_feedback(self.runtime.trainer, self.runtime.catalog.items, await repo.user_feedback(conn, user_id))

    async def record(self, user_id: int, movie_id: int, kind: str | None, rating: float | None, source: str,
                     dedupe_key: str | None = None, *, unless_same: bool = False,
                     withdraw_kind: str | None = None) -> FeedbackResult:
        """Store one feedback (``kind`` None withdraws the user's feedback on the movie).

        ``unless_same``: nothing is written when the member's current feedback is already this
        one (a re-sent reaction event). ``withdraw_kind``: withdraw only if the current feedback
        is of that kind (removing a 👍 must not delete the ❤️ given after it).
        """
        rating = self._checked(kind, rating, source)
        movie = self.runtime.movies.get(movie_id)
        if movie is None:
            raise UnknownMovie(f"there is no movie with id {movie_id} in the catalog; search for it by title")
        if source not in UNLIMITED_SOURCES and not self.limiter.allow(user_id):
            raise SlowDown(f"You're going faster than CineSync can follow: your feedback on {movie['title']} was "
                           "not saved. Wait a few seconds, then try again.")
        try:
            return await self._record(user_id, movie_id, movie["title"], kind, rating, source, dedupe_key,
                                      unless_same, withdraw_kind)
        except (DatabaseUnavailable, asyncpg.PostgresConnectionError, OSError, asyncpg.InterfaceError) as exc:
            raise NotSaved(f"your feedback on {movie['title']} was not saved (database unavailable); please try again") from exc

    @staticmethod
    def _checked(kind: str | None, rating: float | None, source: str) -> float | None:
        """The stars to store for this feedback; UserError for anything contradictory or out of range."""
        if kind is not None and kind not in KINDS:
            raise UserError(f"unknown feedback kind {kind!r}")
        if source not in SOURCES:
            raise UserError(f"unknown feedback source {source!r}")
        if rating is not None and (isinstance(rating, bool) or not isinstance(rating, (int, float))
                                   or not math.isfinite(rating)):
            raise UserError(f"{rating!r} is not a rating: use a number of stars, 0.5 to 5 in half steps")
        if kind in ("not_interested", "seen") and rating is not None:
            raise UserError(f"'{kind}' carries no stars; rate the movie instead")
        if kind == "rating" and rating is None:
            raise UserError("a rating needs its stars: 0.5 to 5 in half steps")
        if kind in WORD_STAR_RANGE and rating is not None:
            low, high = WORD_STAR_RANGE[kind]
            if not low <= rating <= high:
                raise UserError(f"'{kind}' with {rating:g} stars contradicts itself: {kind} means {low:g} to {high:g} stars")
        if kind is not None and kind not in ("not_interested", "seen"):
            rating = stars_for(kind, rating)
            if rating is None or not 0.5 <= rating <= 5.0 or rating * 2 != int(rating * 2):
                raise UserError(f"{rating} is not a rating: use 0.5 to 5 stars in half steps")
        else:
            rating = None
        return rating

    async def record_batch(self, user_id: int, items: list[tuple[int, str | None, float | None]], source: str,
                           also: Callable[[asyncpg.Connection], Awaitable[None]] | None = None) -> list[FeedbackResult]:
        """Many feedbacks of one member in one transaction (an imported history, or its undo), each applied
        as an online update exactly as `record` would (so the taste vector equals a refit). A feedback the
        member already gave is left as it is. ``also`` runs in the same transaction before it commits."""
        checked = []
        for movie_id, kind, rating in items:
            if movie_id not in self.runtime.movies:
                raise UnknownMovie(f"there is no movie with id {movie_id} in the catalog; search for it by title")
            checked.append((movie_id, kind, self._checked(kind, rating, source)))
        results = []
        try:
            async with self.db.transaction() as conn:
                row = dict(await repo.lock_user_state(conn, user_id))
                for movie_id, kind, rating in checked:
                    result, row = await self._apply(conn, row, user_id, movie_id, self.runtime.movies[movie_id]["title"],
                                                    kind, rating, source, None, True, None)
                    results.append(result)
                if also is not None:
                    await also(conn)
        except (DatabaseUnavailable, asyncpg.PostgresConnectionError, OSError, asyncpg.InterfaceError) as exc:
            raise NotSaved(f"your {len(items)} feedbacks were not saved (database unavailable); nothing changed") from exc
        self.cache.drop(user_id)  # the batch's films are not remembered one by one
        self.member_index.poke()
        for result in results:
            if not result.duplicate:
                self.on_feedback(user_id, self.runtime.catalog.items.get(result.movie_id), result.kind, result.rating,
                                 result.previous_rating)
        return results

    async def _record(self, user_id: int, movie_id: int, title: str, kind: str | None, rating: float | None,
                      source: str, dedupe_key: str | None, unless_same: bool = False,
                      withdraw_kind: str | None = None) -> FeedbackResult:
        async with self.db.acquire() as conn:
            result = await self._write_unlocked(conn, user_id, movie_id, title, kind, rating, source, dedupe_key,
                                                unless_same, withdraw_kind)
            if result is None:
                async with conn.transaction():
                    locked, previous = await repo.lock_state_and_rating(conn, user_id, movie_id)
                    result, row = await self._apply(conn, dict(locked), user_id, movie_id, title, kind, rating,
                                                    source, dedupe_key, unless_same, withdraw_kind, previous)
                if not result.duplicate:
                    self.cache.written.remember(user_id, row, movie_id, (kind, rating) if kind else None)
        if not result.duplicate:
            self.cache.invalidate(user_id)
            self.member_index.poke()
            self.on_feedback(user_id, self.runtime.catalog.items.get(movie_id), kind, rating, result.previous_rating)
        return result

    async def _write_unlocked(self, conn: asyncpg.Connection, user_id: int, movie_id: int, title: str,
                              kind: str | None, rating: float | None, source: str, dedupe_key: str | None,
                              unless_same: bool, withdraw_kind: str | None) -> FeedbackResult | None:
        """The common path, without a lock: planned from what this process remembers of the member (its
        last write of their state, or none for a member it never wrote: then as a new member), written by
        one statement that writes only if the plan still holds and otherwise returns what a new plan needs,
        which is tried once more. One round trip when the memory holds, two when not; None when it cannot
        say (the caller then takes the locked path): a state to re-base, a member with feedback but no
        state row, or a state that changed again between the two tries."""
        read: Any = self._recalled(user_id, movie_id)
        guessed, deadline = True, self._deadline()
        for _try in range(2):
            new_member = read["user_id"] is None
            if new_member and read["has_feedback"]:
                return None
            row = NEW_MEMBER if new_member else read
            previous = (read["current_kind"], read["current_rating"]) if read["current_kind"] is not None else None
            if read["repeated"] or self._unchanged(kind, rating, previous, unless_same, withdraw_kind):
                if not guessed:
                    return self._duplicate(row, user_id, movie_id, title, kind, rating, previous)
                # "nothing to write" is never answered from memory: read what is stored
                read, guessed = await repo.state_and_rating(conn, user_id, movie_id, dedupe_key), False
                continue
            item = self.runtime.catalog.items.get(movie_id)
            state = None
            if self.runtime.trainer is not None and item is not None:
                state = self._state_from_row(row) if not new_member else UserState.empty(self.runtime.trainer.dim)
                if state is None:
                    return None
            write = self._plan(row, state, item, user_id, movie_id, title, kind, rating, source, dedupe_key, previous)
            try:
                written = await repo.write_feedback(conn, read_version=None if new_member else row["version"],
                                                    previous=previous, loved=write.loved, deadline=deadline,
                                                    **write.params)
            except asyncpg.UniqueViolationError:  # the dedupe key arrived meanwhile: nothing was written
                return None
            if written["late"]:
                raise DatabaseUnavailable("the database took the statement only after the command timeout; nothing was written")
            if written["event_id"] is not None:
                self.cache.written.remember(user_id, write.row, movie_id, (kind, rating) if kind else None)
                return write.result
            if not guessed:
                return None
            read, guessed = written, False  # plan again from what the statement read
        return None

    def _deadline(self) -> datetime | None:
        """When the write must have begun: the request stops waiting after the command timeout and then
        tells the member their feedback was not saved. A second short of it, as clocks differ a little."""
        timeout = self.db.command_timeout
        if timeout is None:
            return None
        return datetime.now(timezone.utc) + timedelta(seconds=max(timeout - min(1.0, timeout / 4), 0.0))

    def _recalled(self, user_id: int, movie_id: int) -> dict[str, Any]:
        """The member as this process last wrote them, in `state_and_rating`'s shape (a member it never
        wrote: as a new member); a film it did not write for them: assumed unrated (the write checks)."""
        entry = self.cache.written.get(user_id)
        if entry is None or entry.row["model_version"] != self.runtime.version:
            return {"user_id": None, "has_feedback": False, "current_kind": None, "current_rating": None,
                    "repeated": False}
        kind, stars = entry.current.get(movie_id, (None, None))
        return dict(entry.row, user_id=user_id, has_feedback=None, current_kind=kind, current_rating=stars,
                    repeated=False)

    async def _apply(self, conn: asyncpg.Connection, row: dict[str, Any], user_id: int, movie_id: int, title: str,
                     kind: str | None, rating: float | None, source: str, dedupe_key: str | None,
                     unless_same: bool = False, withdraw_kind: str | None = None,
                     previous: tuple[str, float | None] | None | object = _UNREAD) -> tuple[FeedbackResult, dict[str, Any]]:
        """One feedback inside the caller's transaction, the member's state row locked and given as ``row``;
        returns the result and the row as it now is. ``previous``: the member's current feedback on the
        movie when the caller read it with the lock (None: none), else read here."""
        if previous is _UNREAD:
            current = await repo.current_rating(conn, user_id, movie_id)
            previous = (current["kind"], current["rating"]) if current else None
        assert previous is None or isinstance(previous, tuple)
        if self._unchanged(kind, rating, previous, unless_same, withdraw_kind):  # withdrawing what was not said, or repeating what was
            return self._duplicate(row, user_id, movie_id, title, kind, rating, previous), row
        item = self.runtime.catalog.items.get(movie_id)
        state = None
        if self.runtime.trainer is not None and item is not None:
            state = self._state_from_row(row)
            if state is None:  # new user, or state from another model: rebuild from current feedback first
                state = await self._rebase(conn, user_id)
        write = self._plan(row, state, item, user_id, movie_id, title, kind, rating, source, dedupe_key, previous)
        written = await repo.write_feedback(conn, read_version=row["version"], previous=previous, loved=write.loved,
                                            **write.params)
        if written["event_id"] is None:
            # under the lock only a repeated event (gateway re-send, double click) writes nothing
            return self._duplicate(row, user_id, movie_id, title, kind, rating, previous), row
        return write.result, write.row

    @staticmethod
    def _unchanged(kind: str | None, rating: float | None, previous: tuple[str, float | None] | None,
                   unless_same: bool, withdraw_kind: str | None) -> bool:
        prev_kind, prev_rating = previous if previous else (None, None)
        return ((kind is None and (previous is None or (withdraw_kind is not None and prev_kind != withdraw_kind)))
                or (unless_same and kind == prev_kind and rating == prev_rating))

    @staticmethod
    def _duplicate(row: Any, user_id: int, movie_id: int, title: str, kind: str | None, rating: float | None,
                   previous: tuple[str, float | None] | None) -> FeedbackResult:
        prev_kind, prev_rating = previous if previous else (None, None)
        return FeedbackResult(user_id, movie_id, title, kind, rating, prev_kind, prev_rating, row["rating_count"],
                              duplicate=True)

    def _plan(self, row: dict[str, Any], state: UserState | None, item: int | None, user_id: int, movie_id: int,
              title: str, kind: str | None, rating: float | None, source: str, dedupe_key: str | None,
              previous: tuple[str, float | None] | None) -> _Write:
        """The event, current rating and new state one feedback writes over the member's state ``row``
        (``state``: its online-update state, None without a personal model or for a film it does not know)."""
        prev_kind, prev_rating = previous if previous else (None, None)
        rating_count = row["rating_count"] + int(rating is not None) - int(prev_rating is not None)
        feedback_count = row["feedback_count"] + 1
        embedding, solver_state, model_version = as_array(row["embedding"]), row["solver_state"], row["model_version"]
        shift, updated = 0.0, False
        if state is not None:
            assert self.runtime.trainer is not None and item is not None
            try:
                new_state = self.runtime.trainer.apply_feedback(state, item, kind, rating, prev_kind, prev_rating)
                if np.any(state.vector) and np.any(new_state.vector):
                    shift = 1.0 - float(unit(state.vector) @ unit(new_state.vector))
                embedding, solver_state, model_version = unit(new_state.vector), new_state.to_bytes(), self.runtime.version
                rating_count, feedback_count, updated = new_state.ratings, new_state.feedback, True
            except NonFiniteUpdate:
                log.warning("non-finite update for user %s on movie %s refused; previous vector kept", user_id, movie_id)
        params = dict(user_id=user_id, movie_id=movie_id, action="set" if kind else "withdraw", rating=rating,
                      kind=kind or prev_kind, source=source, dedupe_key=dedupe_key, embedding=embedding,
                      solver_state=solver_state, rating_count=rating_count, feedback_count=feedback_count,
                      version=row["version"] + 1, model_version=model_version)
        was_loved, loved = prev_rating is not None and prev_rating >= 4.0, rating is not None and rating >= 4.0
        result = FeedbackResult(user_id, movie_id, title, kind, rating, prev_kind, prev_rating, rating_count,
                                embedding_shift=shift, embedding_updated=updated)
        new_row = dict(row, embedding=embedding, solver_state=solver_state, rating_count=rating_count,
                       feedback_count=feedback_count, version=row["version"] + 1, model_version=model_version)
        return _Write(params, loved if loved != was_loved else None, result, new_row)

    def on_feedback(self, user_id: int, item: int | None, kind: str | None, rating: float | None,
                    previous_rating: float | None) -> None:
        """Keep the in-memory 'what each user loved' snapshot current for the collaborative signal."""
        if item is None:
            return
        loved = self.runtime.loved
        current = loved.get(user_id, set())
        if rating is not None and rating >= 4.0:
            current.add(item)
        else:
            current.discard(item)
        loved[user_id] = current
