"""Small LRUs of hot member state, per process.

`StateCache`, for the read path: a member's feedback and taste vector as recommendations use them.
Entries are dropped when this process writes the member's row; other processes' writes are caught
because an entry is only used while its row version still matches (one indexed lookup instead of
re-reading the member's whole history).

`WrittenStates`, for the write path: the member's state row as this process last wrote it and their
current feedback on the films it wrote. A feedback planned from it needs no read first: the write
statement checks that the plan still holds and, when it does not, returns what the plan needs instead
(`bot/services/feedback.py`). So an entry that another process made stale costs a round trip, never
a wrong write.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

# a state row is about 3 KB (the 256-d solver state and unit vector): 20,000 members, about 60 MB
WRITTEN_CAPACITY = 20_000


class StateCache:
    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[int, tuple[int, Any]] = OrderedDict()
        self.hits = self.misses = 0
        self.written = WrittenStates()

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
        """The member's row changed: the read path's entry goes (the write path's is kept current by its writer)."""
        self._entries.pop(user_id, None)

    def drop(self, user_id: int) -> None:
        """Everything this process holds about the member (/forget_me, or a write it cannot follow)."""
        self._entries.pop(user_id, None)
        self.written.drop(user_id)


@dataclass
class WrittenState:
    row: dict[str, Any]  # user_embeddings' columns as written: embedding, solver_state, counts, version, model_version
    current: dict[int, tuple[str, float | None]] = field(default_factory=dict)  # movie id -> (kind, stars) written here


class WrittenStates:
    def __init__(self, capacity: int = WRITTEN_CAPACITY) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[int, WrittenState] = OrderedDict()

    def get(self, user_id: int) -> WrittenState | None:
        entry = self._entries.get(user_id)
        if entry is not None:
            self._entries.move_to_end(user_id)
        return entry

    def remember(self, user_id: int, row: dict[str, Any], movie_id: int,
                 current: tuple[str, float | None] | None) -> None:
        """The member's row after this process wrote ``current`` (None: withdrawn) on the movie. The films
        remembered before are kept only while every version between was written here."""
        entry = self._entries.get(user_id)
        if entry is None or row["version"] != entry.row["version"] + 1:  # others wrote between: start afresh
            entry = WrittenState(row)
        else:
            entry.row = row
        if current is None:
            entry.current.pop(movie_id, None)
        else:
            entry.current[movie_id] = current
        self._entries[user_id] = entry
        self._entries.move_to_end(user_id)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def drop(self, user_id: int) -> None:
        self._entries.pop(user_id, None)
