"""Several bot processes on one database agree: the model they serve and what each member loved.

Each process keeps a dedicated connection that LISTENs on two channels, written by transactions
when they commit: ``cinesync_model`` (a retrain registered a model, in any process or by
`cinesync train`) and ``cinesync_loved`` ("user movie 1|0" when a rating crosses 4 stars, "user
forget" after /forget_me). Notifications are lost while a connection is down, so polling is the
safety net: every ``poll_seconds`` the process compares the newest registered model with the one
it serves, and every ``LOVED_REFRESH_POLLS`` polls it re-reads the loved snapshot whole.
"""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import asyncpg

from bot.services.runtime import read_loved

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)
MODEL_CHANNEL, LOVED_CHANNEL = "cinesync_model", "cinesync_loved"
LOVED_REFRESH_POLLS = 10


def apply_loved(loved: dict[int, set[int]], index: Any, payload: str) -> None:
    """One ``cinesync_loved`` payload applied to a snapshot (idempotent, so a process's own are harmless)."""
    parts = payload.split()
    if len(parts) == 2 and parts[1] == "forget":
        loved.pop(int(parts[0]), None)
        return
    if len(parts) != 3:
        log.warning("ignoring malformed %s payload %r", LOVED_CHANNEL, payload)
        return
    user, item = int(parts[0]), index.get(int(parts[1]))
    if item is None:
        return
    if parts[2] == "1":
        loved.setdefault(user, set()).add(int(item))
    else:
        loved.get(user, set()).discard(int(item))


class ProcessSync:
    def __init__(self, app: "App", poll_seconds: float) -> None:
        self.app, self.poll_seconds = app, poll_seconds
        self.listener: asyncpg.Connection | None = None
        self.polls = 0
        self._task: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[Any]] = set()
        self._heard_while_reading: list[str] | None = None  # loved payloads heard during a refresh's read

    async def start(self) -> None:
        await self._listen()
        self._task = asyncio.create_task(self._poll_forever(), name="cinesync-sync")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        for task in list(self._pending):
            task.cancel()
        if self.listener is not None and not self.listener.is_closed():
            await self.listener.close()

    async def _listen(self) -> None:
        try:
            conn = await asyncpg.connect(self.app.db.dsn)
            await conn.add_listener(MODEL_CHANNEL, self._on_notify)
            await conn.add_listener(LOVED_CHANNEL, self._on_notify)
            self.listener = conn
        except (OSError, asyncpg.PostgresError, asyncio.TimeoutError) as exc:
            log.warning("cannot listen for other processes' changes (%s); polling every %.0f s instead", exc,
                        self.poll_seconds)

    def _on_notify(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        if channel == LOVED_CHANNEL:
            apply_loved(self.app.runtime.loved, self.app.runtime.catalog.items, payload)
            if self._heard_while_reading is not None:
                self._heard_while_reading.append(payload)
            parts = payload.split()
            if len(parts) == 2 and parts[1] == "forget":
                self.app.services.member_search.forget(int(parts[0]))
                self.app.services.feedback.cache.drop(int(parts[0]))
        elif channel == MODEL_CHANNEL:
            task = asyncio.create_task(self._sync_model(f"notified of model {payload}"), name="cinesync-sync-model")
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _sync_model(self, why: str) -> None:
        try:
            if await self.app.sync_model():
                log.info("%s: now serving %s", why, self.app.runtime.version)
        except Exception:  # the next poll tries again
            log.exception("could not load the newest model (%s)", why)

    async def poll_once(self) -> None:
        """The safety net: reconnect the listener, load a model we missed, refresh the loved snapshot."""
        self.polls += 1
        if self.listener is None or self.listener.is_closed():
            await self._listen()
        await self._sync_model("polling found a newer model")
        if self.polls % LOVED_REFRESH_POLLS == 0:
            await self.refresh_loved()

    async def refresh_loved(self) -> None:
        """The loved snapshot re-read whole (off the loop's back: in chunks, indexed in a thread). A change
        heard while reading may be missing from what was read, so those are applied again on top, in the
        order heard (each payload is a state, not a toggle, so one already in the read changes nothing)."""
        runtime = self.app.runtime
        self._heard_while_reading = []
        try:
            async with self.app.db.acquire() as conn:
                fresh = await read_loved(conn, runtime.catalog.items)
            for payload in self._heard_while_reading:
                apply_loved(fresh, runtime.catalog.items, payload)
        finally:
            heard, self._heard_while_reading = self._heard_while_reading, None
        runtime.loved.clear()  # the same dict the services hold
        runtime.loved.update(fresh)
        log.debug("loved snapshot re-read: %d members, %d changes heard meanwhile", len(fresh), len(heard))

    async def _poll_forever(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            try:
                await self.poll_once()
            except Exception:  # never let the safety net die
                log.exception("sync poll failed; trying again in %.0f s", self.poll_seconds)
