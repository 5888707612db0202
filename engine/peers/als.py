"""ALS for implicit feedback from the `implicit` library; new users folded in with recalculate_user.

What it is fed (`engine.data.interaction_matrix`: positives, every rated movie, or every rated
movie with star-weighted confidence) is tuned with its factors, regularisation and alpha."""
from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np

from engine.data import History, interaction_matrix
from engine.peers.popularity import PopularityPeer


class ALSPeer:
    name = "als"

    def __init__(self, factors: int = 64, regularization: float = 0.1, alpha: float = 10.0,
                 iterations: int = 15, seed: int = 0, input: str = "positives") -> None:
        self.factors, self.regularization, self.alpha = factors, regularization, alpha
        self.iterations, self.seed, self.input = iterations, seed, input

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
            self.model.fit(interaction_matrix(list(histories), n_items, self.input), show_progress=False)
        return self

    def score(self, histories: Sequence[History]) -> np.ndarray:
        rows = interaction_matrix(list(histories), self.n_items, self.input)
        factors = self.model.recalculate_user(np.arange(len(histories)), rows)
        scores = factors @ self.model.item_factors.T
        empty = np.asarray(rows.sum(axis=1)).ravel() == 0
        if empty.any():
            scores[empty] = self.popularity.scores
        return scores
