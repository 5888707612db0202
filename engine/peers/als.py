"""ALS for implicit feedback from the `implicit` library; new users folded in with recalculate_user."""
from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np

from engine.data import History, binary_matrix
from engine.peers.popularity import PopularityPeer


class ALSPeer:
    name = "als"

    def __init__(self, factors: int = 64, regularization: float = 0.1, alpha: float = 10.0,
                 iterations: int = 15, seed: int = 0) -> None:
        self.factors, self.regularization, self.alpha = factors, regularization, alpha
        self.iterations, self.seed = iterations, seed

    def fit(self, histories: Sequence[History], n_items: int) -> "ALSPeer":
        from implicit.als import AlternatingLeastSquares

        self.n_items = n_items
        self.popularity = PopularityPeer().fit(histories, n_items)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model = AlternatingLeastSquares(
                factors=self.factors, regularization=self.regularization, alpha=self.alpha,
                iterations=self.iterations, random_state=self.seed, use_gpu=False,
            )
            self.model.fit(binary_matrix([h.positives() for h in histories], n_items), show_progress=False)
        return self

    def score(self, histories: Sequence[History]) -> np.ndarray:
        rows = binary_matrix([h.positives() for h in histories], self.n_items)
        factors = self.model.recalculate_user(np.arange(len(histories)), rows)
        scores = factors @ self.model.item_factors.T
        empty = np.asarray(rows.sum(axis=1)).ravel() == 0
        if empty.any():
            scores[empty] = self.popularity.scores
        return scores
