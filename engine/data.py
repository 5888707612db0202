"""Ratings as index-based arrays: the common currency of models, peers and evaluation."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from engine.feedback import POSITIVE_THRESHOLD


@dataclass(frozen=True)
class History:
    """One user's feedback in the order given: item indices and stars (NaN for starless kinds)."""

    items: np.ndarray
    ratings: np.ndarray
    kinds: tuple[str, ...] | None = None  # None means every entry is a plain star rating

    def __len__(self) -> int:
        return len(self.items)

    def prefix(self, k: int) -> "History":
        return History(self.items[:k], self.ratings[:k], None if self.kinds is None else self.kinds[:k])

    def positives(self) -> np.ndarray:
        return self.items[self.ratings >= POSITIVE_THRESHOLD]


class ItemIndex:
    """Movie id <-> dense column index."""

    def __init__(self, movie_ids: np.ndarray) -> None:
        self.movie_ids = np.asarray(movie_ids, dtype=np.int64)
        self._position = {int(m): i for i, m in enumerate(self.movie_ids)}
        # for `positions`: one sorted search in C instead of a dict lookup per id in Python (2M ids:
        # 0.22 s against 0.33 s, an experiment script; most of the loved snapshot's cost was per row)
        self._order = np.array([self._position[int(m)] for m in np.unique(self.movie_ids)], dtype=np.int64)
        self._sorted = self.movie_ids[self._order] if len(self._order) else self.movie_ids[:0]

    def __len__(self) -> int:
        return len(self.movie_ids)

    def get(self, movie_id: int) -> int | None:
        return self._position.get(int(movie_id))

    def positions(self, movie_ids: np.ndarray) -> np.ndarray:
        """Each id's column (-1 for ids not in the index), as `get` would give one by one."""
        ids = np.asarray(movie_ids).astype(np.int64, copy=False).reshape(-1)
        if not len(ids) or not len(self._sorted):
            return np.full(len(ids), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self._sorted, ids), len(self._sorted) - 1)
        return np.where(self._sorted[at] == ids, self._order[at], -1).astype(np.int64, copy=False)


def histories_from_frame(ratings: pd.DataFrame, items: ItemIndex) -> dict[int, History]:
    """Group a (user_id, movie_id, rating[, rated_at]) frame into per-user histories in time order."""
    frame = ratings.assign(col=items.positions(ratings["movie_id"].to_numpy()))
    frame = frame[frame["col"] >= 0]
    if "rated_at" in frame:
        frame = frame.sort_values(["user_id", "rated_at"], kind="stable")
    out: dict[int, History] = {}
    for user, group in frame.groupby("user_id", sort=True):
        out[int(user)] = History(group["col"].to_numpy(np.int64), group["rating"].to_numpy(np.float64))
    return out


PEER_INPUTS = ("positives", "rated", "weighted")


def interaction_matrix(histories: "list[History] | tuple[History, ...]", n_items: int, kind: str) -> sparse.csr_matrix:
    """Users x items CSR matrix of what a peer is fed, a setting tuned like its other constants:

    positives  1 for every rating of 4 stars or more;
    rated      1 for every rated (or otherwise acted-on) movie, whatever the stars;
    weighted   every rated movie, weighted by its stars / 5 (confidence grows with liking).
    """
    if kind == "positives":
        return binary_matrix([h.positives() for h in histories], n_items)
    if kind == "rated":
        return binary_matrix([h.items for h in histories], n_items)
    if kind == "weighted":
        indptr = np.cumsum([0] + [len(h) for h in histories])
        indices = np.concatenate([h.items for h in histories]) if histories else np.empty(0, dtype=np.int64)
        stars = np.concatenate([h.ratings for h in histories]) if histories else np.empty(0)
        data = np.where(np.isnan(stars), 0.5, stars / 5.0).astype(np.float32)
        matrix = sparse.csr_matrix((data, indices, indptr), shape=(len(histories), n_items))
        matrix.sum_duplicates()  # a re-rated movie appears once, its weights summed; cap at 1
        matrix.data = np.minimum(matrix.data, 1.0)
        return matrix
    raise ValueError(f"unknown peer input {kind!r}; expected one of {', '.join(PEER_INPUTS)}")


def binary_matrix(rows: list[np.ndarray], n_items: int) -> sparse.csr_matrix:
    """Users x items CSR matrix with a 1 for every listed item."""
    indptr = np.cumsum([0] + [len(r) for r in rows])
    indices = np.concatenate(rows) if rows else np.empty(0, dtype=np.int64)
    data = np.ones(len(indices), dtype=np.float32)
    matrix = sparse.csr_matrix((data, indices, indptr), shape=(len(rows), n_items))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix
