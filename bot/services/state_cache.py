"""A small LRU of hot user state (feedback and taste vector) for the read path.

Entries are dropped when this process writes the user's row; other processes' writes are
caught because an entry is only used while its row version still matches (one indexed
lookup instead of re-reading the user's whole history).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any


class StateCache:
    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[int, tuple[int, Any]] = OrderedDict()
        self.hits = self.misses = 0

    def get(self, user_id: int, version: int) -> Any | None:
        entry = self._entries.get(user_id)
        if entry is None or entry[0] != version:
            self.misses += 1
            return None
        self._entries.move_to_end(user_id)
        self.hits += 1
        return entry[1]

    def put(self, user_id: int, version: int, value: Any) -> None:
        self._entries[user_id] = (version, value)
        self._entries.move_to_end(user_id)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def invalidate(self, user_id: int) -> None:
        self._entries.pop(user_id, None)
