"""EASE (Steck, 2019) in closed form.

B = I - P / diag(P) with P = (X'X + lambda I)^-1. The input X is a tuned setting
(`engine.data.interaction_matrix`): positives only, or every rated movie. The smaller of the
two Gram matrices is inverted: items x items when there are fewer items than users, else
users x users by the Woodbury identity (M = (lambda I + XX')^-1, x P = (x - (x X') M X) / lambda,
diag(P) = (1 - colsum(X * MX)) / lambda). Either way scoring a new user is exact fold-in.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from engine.data import History, interaction_matrix
from engine.peers.popularity import PopularityPeer


class EASEPeer:
    name = "ease"

    def __init__(self, lam: float = 200.0, input: str = "positives") -> None:
        self.lam, self.input = lam, input

    def fit(self, histories: Sequence[History], n_items: int) -> "EASEPeer":
        self.n_items = n_items
        self.popularity = PopularityPeer().fit(histories, n_items)
        x = interaction_matrix(list(histories), n_items, self.input).toarray().astype(np.float64)
        if n_items <= len(histories):
            p = np.linalg.inv(x.T @ x + self.lam * np.eye(n_items))
            self.B: np.ndarray | None = -p / np.diag(p)
            np.fill_diagonal(self.B, 0.0)
        else:
            self.B = None
            self.X = x
            self.MX = np.linalg.inv(self.lam * np.eye(len(x)) + x @ x.T) @ x
            self.diag_p = (1.0 - np.einsum("ui,ui->i", x, self.MX)) / self.lam
        return self

    def score(self, histories: Sequence[History]) -> np.ndarray:
        x = interaction_matrix(list(histories), self.n_items, self.input).toarray().astype(np.float64)
        if self.B is not None:
            scores = x @ self.B
        else:
            xp = (x - (x @ self.X.T) @ self.MX) / self.lam
            scores = x - xp / self.diag_p
        empty = x.sum(axis=1) == 0
        if empty.any():
            scores[empty] = self.popularity.scores
        return scores
