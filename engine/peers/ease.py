"""EASE (Steck, 2019) in closed form, on binary positives.

B = I - P / diag(P) with P = (X'X + lambda I)^-1. With few users and many items the
Woodbury identity gives everything needed from a users x users inverse M = (lambda I + XX')^-1:
x P = (x - (x X') M X) / lambda and diag(P) = (1 - colsum(X * MX)) / lambda, so no
items x items matrix is ever formed and scoring a new user is exact fold-in.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from engine.data import History, binary_matrix
from engine.peers.popularity import PopularityPeer


class EASEPeer:
    name = "ease"

    def __init__(self, lam: float = 200.0) -> None:
        self.lam = lam

    def fit(self, histories: Sequence[History], n_items: int) -> "EASEPeer":
        self.n_items = n_items
        self.popularity = PopularityPeer().fit(histories, n_items)
        self.X = binary_matrix([h.positives() for h in histories], n_items).toarray().astype(np.float64)
        gram_users = self.X @ self.X.T
        self.M = np.linalg.inv(self.lam * np.eye(len(gram_users)) + gram_users)
        self.MX = self.M @ self.X
        self.diag_p = (1.0 - np.einsum("ui,ui->i", self.X, self.MX)) / self.lam
        return self

    def score(self, histories: Sequence[History]) -> np.ndarray:
        x = binary_matrix([h.positives() for h in histories], self.n_items).toarray().astype(np.float64)
        xp = (x - (x @ self.X.T) @ self.MX) / self.lam
        scores = x - xp / self.diag_p
        empty = x.sum(axis=1) == 0
        if empty.any():
            scores[empty] = self.popularity.scores
        return scores
