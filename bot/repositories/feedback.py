"""Feedback rows: the current rating per (user, movie), the event log, and the user's state row."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg
import numpy as np

from bot.db.queries import queries


async def lock_user_state(conn: asyncpg.Connection, user_id: int) -> asyncpg.Record:
    """The user's state row, created if missing and locked until the transaction ends."""
    return await queries().lock_user_state(conn, user_id=user_id)


async def lock_state_and_rating(conn: asyncpg.Connection, user_id: int,
                                movie_id: int) -> tuple[asyncpg.Record, tuple[str, float | None] | None]:
    """(the user's state row, locked until the transaction ends; their current (kind, stars) on the movie,
    or None). An existing member costs one round trip and writes nothing; a new one gets their row first."""
    row = await queries().lock_existing_state(conn, user_id=user_id, movie_id=movie_id)
    if row is None:
        row, current = await lock_user_state(conn, user_id), await current_rating(conn, user_id, movie_id)
        return row, ((current["kind"], current["rating"]) if current else None)
    return row, ((row["current_kind"], row["current_rating"]) if row["current_kind"] is not None else None)


async def state_and_rating(conn: asyncpg.Connection, user_id: int, movie_id: int,
                           dedupe_key: str | None) -> asyncpg.Record:
    """The member's state row (not locked; its columns None for a member without one), their current
    feedback on the movie (``current_kind``, ``current_rating``), whether ``dedupe_key`` was seen
    (``repeated``) and, for a member without a state row only, whether they have any feedback
    (``has_feedback``; None otherwise)."""
    row = await queries().state_and_rating(conn, user_id=user_id, movie_id=movie_id, dedupe_key=dedupe_key)
    assert row is not None  # the query selects from one row of its own
    return row


async def current_rating(conn: asyncpg.Connection, user_id: int, movie_id: int) -> asyncpg.Record | None:
    return await queries().current_rating(conn, user_id=user_id, movie_id=movie_id)


async def write_feedback(conn: asyncpg.Connection, *, user_id: int, movie_id: int, action: str, rating: float | None,
                         kind: str, source: str, dedupe_key: str | None, embedding: np.ndarray, solver_state: bytes | None,
                         rating_count: int, feedback_count: int, version: int, model_version: str | None,
                         read_version: int | None, previous: tuple[str, float | None] | None,
                         loved: bool | None, deadline: datetime | None = None) -> asyncpg.Record:
    """Event, current rating, new state (``version``) and, when ``loved`` is not None, the "loved" mark
    announced to every listening process on commit, in one statement, written only while the plan holds:
    the state is still ``read_version`` (None: no state row and no feedback yet), the member's current
    (kind, stars) on the movie is still ``previous`` (None: none) and the dedupe key is unseen.
    ``event_id`` is None when nothing was written; the row then also holds what `state_and_rating`
    returns, read in the same snapshot (``embedding`` and ``solver_state`` only then). Nothing is
    written once ``deadline`` has passed by the database's clock (``late``). Outside a
    transaction the statement commits by itself; a dedupe key inserted by another writer between its
    check and its insert raises asyncpg.UniqueViolationError, nothing written."""
    previous_kind, previous_rating = previous if previous is not None else (None, None)
    row = await queries().write_feedback(
        conn, user_id=user_id, movie_id=movie_id, action=action, rating=rating, kind=kind, source=source,
        dedupe_key=dedupe_key, embedding=embedding, solver_state=solver_state, rating_count=rating_count,
        feedback_count=feedback_count, version=version, model_version=model_version, read_version=read_version,
        previous_kind=previous_kind, previous_rating=previous_rating, loved=loved, deadline=deadline)
    assert row is not None  # the statement selects from one row of its own
    return row


async def user_feedback(conn: asyncpg.Connection, user_id: int) -> list[asyncpg.Record]:
    return await queries().user_feedback(conn, user_id=user_id)


async def user_state(conn: asyncpg.Connection, user_id: int) -> asyncpg.Record | None:
    return await queries().user_state(conn, user_id=user_id)


async def all_feedback(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await queries().all_feedback(conn)


@dataclass
class FeedbackColumns:
    """Every current feedback as column arrays, grouped by member in time order (what training reads)."""
    user_ids: np.ndarray  # int64
    movie_ids: np.ndarray  # int64
    ratings: np.ndarray  # float64, NaN for starless feedback
    kinds: np.ndarray  # int8 codes into ``kind_names``
    kind_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.user_ids)


async def feedback_columns(conn: asyncpg.Connection, chunk: int = 200_000, progress=None) -> FeedbackColumns:  # type: ignore[no-untyped-def]
    """`all_feedback` read through a server-side cursor ``chunk`` rows at a time into column arrays:
    ~30 bytes a rating instead of a Python record each (30M ratings: ~1 GB, not ~10 GB). Must run
    inside a transaction (the caller's snapshot). ``progress``: a tqdm bar advanced by rows read."""
    names: dict[str, int] = {}
    parts: list[tuple[np.ndarray, ...]] = []
    cursor = await conn.cursor(queries().all_feedback.sql)
    while rows := await cursor.fetch(chunk):
        parts.append((
            np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)),
            np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows)),
            np.fromiter((np.nan if r[2] is None else r[2] for r in rows), dtype=np.float64, count=len(rows)),
            np.fromiter((names.setdefault(r[3], len(names)) for r in rows), dtype=np.int8, count=len(rows)),
        ))
        if progress is not None:
            progress.update(len(rows))
    columns = [np.concatenate([p[i] for p in parts]) if parts else np.empty(0, dtype=d)
               for i, d in enumerate((np.int64, np.int64, np.float64, np.int8))]
    return FeedbackColumns(*columns, kind_names=tuple(names))
