"""PersonalizedTrainer: one 256-d taste vector per user, updated online after every feedback.

The state is the exact sum of the contributions of the user's current feedback to the base
model's encoder (see `engine.model`), so

* an update costs one 256-d add; re-rating subtracts the old contribution and adds the new,
  so a movie's effect is replaced, never added twice;
* the online state equals a batch refit from the user's current feedback, in any order,
  which is also why two processes serialised by a row lock end equal to a serial replay;
* love/hate carry 1.5x the valence of like/dislike; a middling 3 stars carries no valence;
  "not interested" is a negative valence without a watch (see `engine.feedback`).

The stored embedding is the unit-normalised state; a non-finite result is refused and the
previous state kept. Modes: ``private`` (only the user's state changes), ``global`` (the
shared popularity prior is nudged too) and ``none`` (inference only).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from engine.feedback import Signal, signal, stars_for

MODES = ("private", "global", "none")
MIN_PERSONAL_RATINGS = 5


class NonFiniteUpdate(ValueError):
    """An update would have produced NaN or infinite values; the previous state is kept."""


@dataclass(frozen=True)
class UserState:
    vector: np.ndarray  # float64, unnormalised sum of contributions
    ratings: int = 0  # star-bearing feedback currently held
    feedback: int = 0  # every feedback event applied
    version: int = 0

    @classmethod
    def empty(cls, dim: int) -> "UserState":
        return cls(np.zeros(dim, dtype=np.float64))

    def to_bytes(self) -> bytes:
        return np.asarray(self.vector, dtype="<f8").tobytes()

    @classmethod
    def from_bytes(cls, raw: bytes, ratings: int, feedback: int, version: int) -> "UserState":
        return cls(np.frombuffer(raw, dtype="<f8").copy(), ratings, feedback, version)

    @property
    def personalized(self) -> bool:
        return self.ratings >= MIN_PERSONAL_RATINGS


def unit(vector: np.ndarray) -> np.ndarray:
    """Unit-normalised float32 copy; the zero state maps to the first basis vector."""
    norm = float(np.linalg.norm(vector))
    if norm == 0.0:
        out = np.zeros(len(vector), dtype=np.float32)
        out[0] = 1.0
        return out
    return (vector / norm).astype(np.float32)


class PersonalizedTrainer:
    def __init__(self, p_seen: np.ndarray, p_val: np.ndarray, mode: str = "private",
                 popularity: np.ndarray | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"trainer mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.p_seen, self.p_val, self.mode = p_seen, p_val, mode
        self.popularity = popularity

    @property
    def dim(self) -> int:
        return int(self.p_seen.shape[1])

    def contribution(self, item: int, sig: Signal | None) -> np.ndarray:
        if sig is None:
            return np.zeros(self.dim, dtype=np.float64)
        return sig.seen * self.p_seen[item].astype(np.float64) + sig.valence * self.p_val[item].astype(np.float64)

    def apply(self, state: UserState, item: int, new: Signal | None, old: Signal | None = None,
              *, new_has_stars: bool = False, old_had_stars: bool = False) -> UserState:
        """State after the user's feedback on ``item`` changed from ``old`` to ``new`` (None = nothing)."""
        if self.mode == "none":
            return replace(state, feedback=state.feedback + 1)
        vector = state.vector + self.contribution(item, new) - self.contribution(item, old)
        if not np.all(np.isfinite(vector)):
            raise NonFiniteUpdate(f"update for item {item} produced non-finite values")
        if self.mode == "global" and self.popularity is not None:
            self.popularity[item] += float(new_has_stars and new is not None and new.valence > 0) - float(
                old_had_stars and old is not None and old.valence > 0)
        return UserState(vector, state.ratings + int(new_has_stars) - int(old_had_stars), state.feedback + 1, state.version + 1)

    def refit(self, items: np.ndarray, signals: list[Signal], stars: list[bool]) -> UserState:
        """Batch state from scratch (one entry per item): what the online updates must equal."""
        return self.refit_arrays(items, np.array([s.seen for s in signals]), np.array([s.valence for s in signals]),
                                 int(sum(stars)))

    def refit_arrays(self, items: np.ndarray, seen: np.ndarray, valence: np.ndarray, n_stars: int) -> UserState:
        """`refit` on (seen, valence) arrays, for batch jobs that computed them vectorised."""
        items = np.asarray(items, dtype=np.int64)
        if len(items) == 0:
            return UserState.empty(self.dim)
        vector = seen @ self.p_seen[items].astype(np.float64) + valence @ self.p_val[items].astype(np.float64)
        return UserState(vector, n_stars, len(items), len(items))

    def apply_feedback(self, state: UserState, item: int, kind: str | None, rating: float | None,
                       previous_kind: str | None = None, previous_rating: float | None = None) -> UserState:
        """The one online update path (used by /rate, buttons, DM reactions and the evaluation).

        ``kind`` None withdraws the user's feedback on the item; ``previous_*`` is what the
        user had said about it before (None if nothing), whose effect is replaced.
        """
        new = signal(kind, rating) if kind is not None else None
        old = signal(previous_kind, previous_rating) if previous_kind is not None else None
        return self.apply(
            state, item, new, old,
            new_has_stars=kind is not None and stars_for(kind, rating) is not None,
            old_had_stars=previous_kind is not None and stars_for(previous_kind, previous_rating) is not None,
        )
