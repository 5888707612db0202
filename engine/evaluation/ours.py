"""Our engine behind the common scorer contract, for the evaluation.

`fit` learns the bucket weights on validation queries cut from the training histories,
then fits the engine on all of them. `score` replays each history one feedback at a time
through `PersonalizedTrainer.apply_feedback`, the path `/rate` uses, and ranks.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from engine.data import History
from engine.engine import FittedEngine, fit_engine
from engine.snapshot import Catalog
from engine.training import TrainConfig
from engine.weights import learn_bucket_weights, validation_queries


class OursScorer:
    name = "ours"

    def __init__(self, catalog: Catalog, config: TrainConfig = TrainConfig(), blend: float = 0.6,
                 diversity: float = 0.0, progress: bool = False) -> None:
        self.catalog, self.config, self.blend, self.diversity, self.progress = catalog, config, blend, diversity, progress
        self.weights: dict[str, dict[str, float]] = {}

    def _fit(self, histories: list[History], weights: dict[str, dict[str, float]] | None = None) -> FittedEngine:
        return fit_engine(histories, self.catalog, self.config, weights, self.blend, self.diversity)

    def fit(self, histories: Sequence[History], n_items: int) -> "OursScorer":
        as_dict = {i: h for i, h in enumerate(histories)}
        queries = validation_queries(as_dict, n_items, self._fit, progress=self.progress)
        self.weights = learn_bucket_weights(queries, progress=self.progress)
        self.engine = self._fit(list(histories), self.weights)
        self.trainable = np.zeros(n_items, dtype=bool)
        for history in histories:
            self.trainable[history.items] = True
        return self

    def score(self, histories: Sequence[History]) -> np.ndarray:
        out = np.empty((len(histories), len(self.catalog)), dtype=np.float64)
        for row, history in enumerate(histories):
            candidates = self.trainable.copy()
            candidates[history.items] = False
            out[row] = self.engine.score(history, candidates)
        return out
