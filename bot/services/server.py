"""A server's flavour: "popular in this server" as a signal its admins weigh (0 to 1), and its top films.

The signal is what the server's own members (those who use CineSync there) rated 4 stars or more in
the last 30 days, as a log count scaled so the most loved film gets the full weight, added to each
member's scores in standard deviations of them. Cached per server for a minute: lists stay fast and still follow the server.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.db.pool import Database
from bot.repositories import server as repo
from bot.services.errors import UserError
from bot.services.runtime import EngineRuntime

CACHE_SECONDS = 60.0
SIGNAL_SCALE = 2.0  # at weight 1 the server's favourite gains this many standard deviations of a member's scores


@dataclass
class ServerTop:
    films: list[tuple[dict[str, Any], int, float]]  # (film, members who loved it, their mean stars)
    weight: float


class ServerService:
    def __init__(self, db: Database, runtime: EngineRuntime) -> None:
        self.db, self.runtime = db, runtime
        self._cache: dict[int, tuple[float, float, np.ndarray | None]] = {}

    async def set_weight(self, guild_id: int, weight: float) -> None:
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) \
                or not 0.0 <= weight <= 1.0:
            raise UserError(f"{weight!r} is not a weight: use 0 (off) to 1")
        async with self.db.transaction() as conn:
            await repo.set_server_weight(conn, guild_id, float(weight))
        self._cache.pop(guild_id, None)

    async def top(self, guild_id: int, count: int = 10) -> ServerTop:
        async with self.db.acquire() as conn:
            rows = await repo.server_loved(conn, guild_id)
            weight = await repo.server_weight(conn, guild_id)
        films = [(self.runtime.movies[r["movie_id"]], int(r["loved"]), float(r["mean"]))
                 for r in rows if r["movie_id"] in self.runtime.movies][:count]
        return ServerTop(films, weight)

    async def boost(self, guild_id: int | None) -> np.ndarray | None:
        """The server's signal times its weight, one value per catalog film (None: nothing to add)."""
        if guild_id is None:
            return None
        cached = self._cache.get(guild_id)
        if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[2]
        async with self.db.acquire() as conn:
            weight = await repo.server_weight(conn, guild_id)
            rows = await repo.server_loved(conn, guild_id) if weight > 0 else []
        signal = None
        if rows:
            counts = np.zeros(len(self.runtime.catalog))
            positions = self.runtime.catalog.items.positions(np.array([r["movie_id"] for r in rows], dtype=np.int64))
            keep = positions >= 0
            counts[positions[keep]] = np.array([r["loved"] for r in rows], dtype=np.float64)[keep]
            values = np.log1p(counts)
            if values.max() > 0:  # the most loved film gets the full weight, the others by their log count
                signal = weight * SIGNAL_SCALE * values / values.max()
        self._cache[guild_id] = (time.monotonic(), weight, signal)
        return signal
