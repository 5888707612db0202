"""Keeps the similar-member index current after the reply, not inside each rating.

Why: inserting a taste vector into the HNSW graph cost 2-5 ms of every rating's transaction
(migration 0015). A rating now only queues its member; this refresher, poked after the commit,
copies queued members' current vectors into the index in batches on the process's event loop.
Under load the queue fills while a batch runs, so several ratings of one member cost one index
insert. Search results lag a rating by DELAY plus the time a batch takes. The queue
lives in the database: whatever one process leaves queued (a crash) the next refresh of any
process applies.
"""
from __future__ import annotations

import asyncio
import logging

import asyncpg
from tqdm import tqdm

from bot.db.pool import Database
from bot.repositories import member_index as repo
from bot.repositories.models import hold_member_writes

log = logging.getLogger(__name__)

BATCH = 500  # queued entries per transaction: short enough never to hold a forget waiting long
# Vacuum once the refreshes since the last one reach this share of the index (at least VACUUM_MIN):
# every refresh leaves a dead row version in the HNSW graph, and a scan returns at most
# hnsw.ef_search entries, dead ones included. Measured on 4,000 members (tests/test_member_index.py):
# with 0014's graph (m 16): after a third of them were refreshed three times without a vacuum, 21 of 40 searches came back
# short of 100 and recall fell to 0.953; a vacuum brought it back to 0.993. Autovacuum alone waits
# for a fifth of the table and a minute's nap.
VACUUM_SHARE, VACUUM_MIN = 0.2, 1000
# Seconds a refresh waits after a poke: a member rating in quick succession costs one insert, and the
# insert does not land among their ratings. At 0.25 s, 300 back-to-back ratings on MovieLens 1M had a
# p99 of 1.9-5.4 ms over nine runs, the slow ones mostly overlapping a refresh; at 1 s, 1.9-3.6 ms over
# six (renicing the refresh's backend did not help: 2.2-6.1 ms over 15). Neighbours a second old change
# no answer. Under steady load from many members refreshes still overlap ratings (see README, "Scale").
DELAY = 1.0
# A retrain that rewrote at least this many members, and at least half the index, builds a new index
# in bulk rather than inserting each member into the live graph (one by one: 590 falling to 99
# members/s as a 330,000-member graph grew; in bulk ~1,700 members/s on 20,000).
REBUILD_MIN = 5000
RETRAIN_BATCH = 5000  # queued members per refresh statement when a retrain inserts one by one
BUILD_BYTES_PER_MEMBER = 4096  # a 256-d vector and its graph neighbours with room to spare


async def apply_retrain(conn: asyncpg.Connection, model_version: str, written: int, progress: bool = False,
                        rebuild_min: int | None = None) -> str:
    """Inside a retrain's transaction (so searches never mix two models' bases): the index brought to
    the states it wrote. Returns how: "rebuilt" (in bulk, swapped in) or "refreshed" (one by one)."""
    indexed = await repo.indexed_members(conn)
    if written >= max(REBUILD_MIN if rebuild_min is None else rebuild_min, indexed // 2):
        megabytes = 64 + max(written, indexed) * BUILD_BYTES_PER_MEMBER // 2**20
        with tqdm(total=1, desc=f"similar-member index: building for {written:,} members", unit=" index",
                  disable=not progress, leave=False) as bar:
            await repo.rebuild(conn, model_version, megabytes)
            bar.update(1)
        return "rebuilt"
    with tqdm(total=written, desc="similar-member index", unit=" members", disable=not progress, leave=False) as bar:
        while taken := await repo.refresh(conn, RETRAIN_BATCH):
            bar.update(taken)
    return "refreshed"


class MemberIndexRefresher:
    def __init__(self, db: Database, batch: int = BATCH, delay: float = DELAY) -> None:
        self.db, self.batch, self.delay = db, batch, delay
        self._task: asyncio.Task[int] | None = None
        self._again = False
        self._since_vacuum = 0
        self._vacuum: asyncio.Task[None] | None = None

    def _running(self) -> asyncio.Task[int] | None:
        """The refresh running on this event loop, if any."""
        task = self._task
        if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
            return None
        return task

    def poke(self) -> None:
        """After a commit that queued members: refresh in the background (one refresh at a time)."""
        if self._running() is not None:
            self._again = True  # the running refresh takes another pass for what was queued meanwhile
            return
        self._task = asyncio.get_running_loop().create_task(self._run(), name="member-index-refresh")

    async def _run(self) -> int:
        applied = 0
        await asyncio.sleep(self.delay)
        while True:
            self._again = False
            try:
                applied += await self.drain()
            except Exception:  # noqa: BLE001 - a failed refresh leaves the queue for the next one
                log.exception("refreshing the similar-member index failed; its queue is kept for the next refresh")
                return applied
            if not self._again:
                return applied

    async def drain(self) -> int:
        """Apply everything queued now, one short transaction per batch; entries applied."""
        applied = 0
        while True:
            async with self.db.transaction() as conn:
                await hold_member_writes(conn)  # a /forget_me in progress finishes first: never brought back
                taken = await repo.refresh(conn, self.batch)
            applied += taken
            if taken < self.batch:
                break
        self._since_vacuum += applied
        if self._since_vacuum >= VACUUM_MIN and (self._vacuum is None or self._vacuum.done()):
            async with self.db.acquire() as conn:
                due = self._since_vacuum >= VACUUM_SHARE * await repo.indexed_members(conn)
            if due:
                self._since_vacuum = 0
                self._vacuum = asyncio.get_running_loop().create_task(self._vacuum_index(), name="member-index-vacuum")
        return applied

    async def _vacuum_index(self) -> None:
        """On a connection without timeouts, beside the refreshes (a VACUUM blocks no reads or writes):
        under load an HNSW vacuum ran past a pooled connection's 30 s command timeout."""
        try:
            async with self.db.dedicated() as conn:
                await repo.vacuum(conn)
        except Exception:  # noqa: BLE001 - autovacuum still runs; the next threshold tries again
            log.exception("vacuuming the similar-member index failed")

    async def flush(self) -> int:
        """Wait for the running refresh, then apply what is left (tests, shutdown, benchmarks)."""
        running = self._running()
        if running is not None:
            await asyncio.wait([running])
        applied = await self.drain()
        if self._vacuum is not None and not self._vacuum.done() and self._vacuum.get_loop() is asyncio.get_running_loop():
            await asyncio.wait([self._vacuum])
        return applied
