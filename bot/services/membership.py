"""Which servers a member uses CineSync in (`member_guilds`): a server's figures count only its members."""
from __future__ import annotations

import asyncio
import logging

from bot.db.pool import Database
from bot.repositories import diary as repo

log = logging.getLogger(__name__)


class MembershipService:
    """Records that a member uses CineSync in a server, once per process and hour per (member, server).

    In the background, so no command waits for it; `/forget_me` settles the member's pending notes
    first, so a note can never land after their data is deleted."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._recent: dict[tuple[int, int], float] = {}
        self._pending: dict[int, set[asyncio.Task[None]]] = {}

    def note(self, user_id: int, guild_id: int, now: float) -> None:
        key = (user_id, guild_id)
        if now - self._recent.get(key, -1e9) < 3600:
            return
        self._recent[key] = now
        if len(self._recent) > 100_000:
            self._recent.clear()
        task = asyncio.get_running_loop().create_task(self._write(user_id, guild_id), name=f"cinesync-note-{user_id}")
        self._pending.setdefault(user_id, set()).add(task)
        task.add_done_callback(lambda t: self._pending.get(user_id, set()).discard(t))

    async def _write(self, user_id: int, guild_id: int) -> None:
        try:
            async with self.db.transaction() as conn:
                await repo.seen_in_guild(conn, user_id, guild_id)
        except Exception as exc:  # a missed note only narrows a server's figures for a while
            self._recent.pop((user_id, guild_id), None)
            log.warning("could not record a member's server (%s)", exc.__class__.__name__)

    async def settle(self, user_id: int) -> None:
        """Wait for this member's notes in flight, and forget that they were written (before /forget_me)."""
        pending = list(self._pending.pop(user_id, ()))
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        for key in [k for k in self._recent if k[0] == user_id]:
            self._recent.pop(key, None)
