"""Similar-member search from an in-process copy of the index, kept in step with PostgreSQL.

member_index (kept by `bot/services/member_index.py`) stays the one truth every process shares; this
process mirrors it into an HNSW graph in memory (`engine/member_neighbours.py`): about two milliseconds a
search at 330,000 members against pgvector's 5-6 ms. Until the mirror is built (tens of seconds at
that size, in a worker thread) and whenever it cannot be trusted (a retrain swapped in a rebuilt
index, a failed read), searches go to pgvector as before.

Staying in step, every POLL_SECONDS: read the rows written since the last horizon (migration 0017) and
apply them; every RECONCILE_POLLS polls, drop members no longer indexed (fewer than five ratings).
A /forget_me drops its member at once here and, through the `cinesync_loved` notification, in every
other process; a read that began before the forget arrived never puts them back.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import numpy as np

from bot.db.pool import Database
from bot.repositories import member_index as repo
from engine.member_neighbours import MemberNeighbours

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0  # a refreshed vector is searchable here this long after the refresh, at most
RECONCILE_POLLS = 60
TASTE_DIM = 256  # member_index.embedding is vector(256)
FULL_RELOAD = 20_000  # more changed rows than this at once (a retrain rewrote members): rebuild whole
UPDATE_SLICE = 8  # rows inserted into the graph between yields to the event loop (~1 ms each)


class MemberSearch:
    def __init__(self, db: Database, in_memory: bool = True, poll_seconds: float = POLL_SECONDS) -> None:
        self.db, self.in_memory, self.poll_seconds = db, in_memory, poll_seconds
        self.index: MemberNeighbours | None = None  # None: searches go to pgvector
        self._generation: int | None = None
        self._horizon: str | None = None
        self._forgotten: dict[int, float] = {}  # member -> when this process learnt of their /forget_me
        self._polls = 0
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    @property
    def backend(self) -> str:
        return "in-process HNSW" if self.index is not None else "pgvector HNSW"

    async def similar(self, conn: Any, user_id: int, embedding: np.ndarray, limit: int) -> list[tuple[int, float]]:
        """(member id, cosine similarity) of the ``limit`` members nearest ``embedding``, the asker left out."""
        index = self.index
        if index is not None:
            try:
                ids, similarity = index.search(embedding, limit, exclude=user_id)
                return list(zip(ids.tolist(), similarity.tolist()))
            except RuntimeError:  # hnswlib could not fill the list (most of the graph deleted): ask PostgreSQL
                log.warning("the in-process member index could not answer; searching pgvector's index")
        rows = await repo.similar_users(conn, user_id, embedding, limit)
        if len(rows) < limit:  # short: too few members, or pgvector's graph lost its way; a scan tells which
            exact = await repo.similar_users_exact(conn, user_id, embedding, limit)
            if len(exact) > len(rows):
                log.warning("pgvector's index answered %d of %d similar members for member %s (the scan found %d); "
                            "answered from the scan", len(rows), limit, user_id, len(exact))
                rows = exact
        return [(int(r["user_id"]), float(r["similarity"])) for r in rows]

    def start(self) -> None:
        """Build the mirror and keep it in step, in the background (no-op when searching pgvector only)."""
        if self.in_memory and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="member-search")

    async def wait_ready(self, timeout: float | None = None) -> bool:
        """Until the mirror serves searches (benchmarks, tests); False if it did not within ``timeout``."""
        if not self.in_memory:
            return False
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def disagreements(self, user_ids: list[int]) -> int:
        """Of these members, how many the in-process copy shows otherwise than member_index holds them now
        (missing, a different vector, or present though not indexed), after one more poll; -1: no copy."""
        if self.index is None:
            return -1
        await self.poll_once()
        index = self.index
        if index is None:
            return -1
        async with self.db.acquire() as conn:
            ids, vectors = await repo.vectors_of(conn, user_ids)
        held = {int(member): vector for member, vector in zip(ids.tolist(), vectors)}
        return sum((member in held) != (member in index) or (member in held and not index.holds(member, held[member]))
                   for member in map(int, user_ids))

    def forget(self, user_id: int) -> None:
        """After a /forget_me committed (here or, notified, in another process)."""
        self._forgotten[int(user_id)] = time.monotonic()
        if self.index is not None:
            self.index.remove([user_id])

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                if self.index is None:
                    await self.load()
                else:
                    await self.poll_once()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - pgvector answers meanwhile; a later poll loads it again
                failures += 1
                log.exception("the in-process member index fell behind; searching pgvector's index until it is rebuilt")
                self._drop()
            await asyncio.sleep(min(self.poll_seconds * 2 ** failures, 60.0))  # a database down is not asked every second

    def _drop(self) -> None:
        self.index, self._horizon, self._generation = None, None, None
        self._ready.clear()

    async def load(self) -> None:
        """The whole index read in one snapshot and built in a worker thread; searches go to pgvector until then."""
        started = time.monotonic()
        async with self.db.dedicated() as conn:  # hundreds of MB at 330,000 members: past a request's timeout
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                generation = await repo.generation(conn)
                horizon = await repo.horizon(conn)
                ids, vectors = await repo.all_vectors(conn)
        read = time.monotonic() - started
        index = await asyncio.to_thread(_build, ids, vectors)
        self._apply_forgets(index, started)
        self.index, self._generation, self._horizon = index, generation, horizon
        self._ready.set()
        log.info("similar-member search in memory: %s members (read %.1f s, built %.1f s)", f"{len(index):,}", read,
                 time.monotonic() - started - read)

    async def poll_once(self) -> None:
        """Apply what changed since the last read; a rebuilt index table (or a retrain's mass rewrite) is loaded whole."""
        index = self.index
        if index is None:
            return await self.load()
        started = time.monotonic()
        self._polls += 1
        async with self.db.acquire() as conn:
            if await repo.generation(conn) != self._generation:
                self._drop()
                return await self.load()
            horizon = await repo.horizon(conn)  # before the read: what commits after it is read next time
            ids, vectors = await repo.changes_since(conn, self._horizon or horizon)
            present = await repo.member_ids(conn) if self._polls % RECONCILE_POLLS == 0 else None
        if len(ids) > FULL_RELOAD:
            self._drop()
            return await self.load()
        for start in range(0, len(ids), UPDATE_SLICE):
            chunk, rows = ids[start : start + UPDATE_SLICE], vectors[start : start + UPDATE_SLICE]
            # a member forgotten since this read began (a forget can land between slices) is not put back
            keep = np.array([self._forgotten.get(int(m), -1.0) < started for m in chunk], dtype=bool)
            index.upsert(chunk[keep], rows[keep])
            await asyncio.sleep(0)  # a search waits at most one slice
        if present is not None:
            index.remove(index.members() - present)
        self._apply_forgets(index, started)
        self._horizon = horizon
        self._prune_forgets(started)

    def _apply_forgets(self, index: MemberNeighbours, read_started: float) -> None:
        """A read begun before a forget arrived may hold the member's row: drop them again."""
        index.remove([member for member, at in self._forgotten.items() if at >= read_started])

    def _prune_forgets(self, read_started: float) -> None:
        """Forgets older than a completed read are in every later read's snapshot already."""
        self._forgotten = {m: at for m, at in self._forgotten.items() if at >= read_started}


def _build(ids: np.ndarray, vectors: np.ndarray) -> MemberNeighbours:
    return MemberNeighbours.build(ids, vectors) if len(ids) else MemberNeighbours(TASTE_DIM)
