"""The contract every scorer (ours and the peers) follows.

A scorer is fitted on training histories and scores the whole item space for any
histories, including users it never saw (fold-in). Higher is better; the caller masks
candidates. Keeping one contract lets one test mixin and one evaluation drive them all.
"""
from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np

from engine.data import History


class Scorer(Protocol):
    name: str

    def fit(self, histories: Sequence[History], n_items: int) -> "Scorer":
        ...

    def score(self, histories: Sequence[History]) -> np.ndarray:
        """(len(histories), n_items) scores."""
        ...


def positive_counts(histories: Sequence[History], n_items: int) -> np.ndarray:
    counts = np.zeros(n_items, dtype=np.float64)
    for history in histories:
        np.add.at(counts, history.positives(), 1.0)
    return counts
