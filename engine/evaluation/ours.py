"""Our engine behind the common scorer contract, configured as it is served.

`fit` chooses the model's constants and the bucket weights on validation splits cut from
the training histories (never from test users), fits the engine on all of them, and learns
each training user's own signal weights as the PreferenceLearner does. `score` replays each
history one feedback at a time through `PersonalizedTrainer.apply_feedback` (the path
`/rate` uses) and asks `HybridRanker.rank` (the call `/my_recommendations` makes, with
diversity, the neighbour cap, per-user weights and the match-% filter and order) for the
list; the scores returned put that list first, in its order.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from engine.data import History
from engine.calibration_fit import fit_calibrator, rating_stats
from engine.engine import FittedEngine, fit_engine
from engine.snapshot import Catalog
from engine.training import TrainConfig, choose_config
from engine.weights import learn_bucket_weights, learn_user_weights, validation_queries

SHOWN = 10  # `/my_recommendations`' default count
LIST_LENGTH = 20  # long enough for Recall@20


class OursScorer:
    name = "ours"

    def __init__(self, catalog: Catalog, config: TrainConfig | None = None, blend: float = 0.6,
                 diversity: float = 0.0, progress: bool = False, user_weights: bool = True,
                 list_calibration: float = 0.0) -> None:
        """`config` None chooses the model's constants on a validation split; `user_weights` learns
        per-user signal weights for the users it is fitted on, as the PreferenceLearner does."""
        self.catalog, self.config, self.blend, self.diversity, self.progress = catalog, config, blend, diversity, progress
        self.learn_users, self.list_calibration = user_weights, list_calibration
        self.weights: dict[str, dict[str, float]] = {}
        self.tried: dict[str, float] = {}

    def _fit(self, histories: list[History], weights: dict[str, dict[str, float]] | None = None) -> FittedEngine:
        assert self.config is not None
        return fit_engine(histories, self.catalog, self.config, weights, self.blend, self.diversity,
                          calibration=self.list_calibration)

    def fit(self, histories: Sequence[History], n_items: int) -> "OursScorer":
        as_dict = {i: h for i, h in enumerate(histories)}
        if self.config is None:
            self.config, self.tried = choose_config(as_dict, n_items, progress=self.progress)
        # the match % calibrator, fitted as training fits it: the served list is filtered and ordered by it,
        # and the signal weights are learned on lists in that order
        calibrator, dislike, _figures = fit_calibrator(as_dict, self.catalog, self.config)
        queries = validation_queries(as_dict, n_items, self._fit, progress=self.progress, calibrator=calibrator)
        self.weights = learn_bucket_weights(queries, progress=self.progress)
        self.engine = self._fit(list(histories), self.weights)
        model = self.engine.model
        model.calibrator, model.dislike_calibrator = calibrator, dislike
        model.global_mean, model.item_means = rating_stats(as_dict, n_items)
        self.trainable = np.zeros(n_items, dtype=bool)
        for history in histories:
            self.trainable[history.items] = True
        # the pool row of each training history, and its own weights (what the learner stores)
        self.row_of = {id(h): i for i, h in enumerate(histories)}
        self.user_weights: dict[int, dict[str, float]] = {}
        if self.learn_users:
            ranker = self.engine.ranker
            learned = learn_user_weights(self.engine, as_dict, lambda n, known: ranker.weights_for(n, known=known))
            self.user_weights = {row: w for row, (w, _n) in learned.items()}
        return self

    def chosen(self) -> dict[str, Any]:
        assert self.config is not None
        return {"base_model": self.config.as_dict(), "validation_ndcg_by_constants": self.tried,
                "signal_weights": self.weights, "users_with_own_weights": len(self.user_weights),
                "diversity": self.diversity, "list_calibration": self.list_calibration, "blend_personal": self.blend}

    def rank(self, history: History, k: int = LIST_LENGTH) -> list[int]:
        """The served list for one history (item indices, best first)."""
        row = self.row_of.get(id(history))
        user = self.engine.user_feedback(history, known=row is not None)  # a history it was fitted on
        neighbours = self.engine.neighbours(user.state, exclude=row)
        ranking = self.engine.ranker.rank(user, neighbours, k, allowed=self.trainable,
                                          user_weights=self.user_weights.get(row) if row is not None else None)
        return [r.index for r in ranking.items]

    def score(self, histories: Sequence[History]) -> np.ndarray:
        """The default `/my_recommendations` list (10, in match order) first, then what a list of 20 adds."""
        out = np.full((len(histories), len(self.catalog)), -1e9, dtype=np.float64)
        for row, history in enumerate(histories):
            first = self.rank(history, SHOWN)
            shown = set(first)
            chosen = first + [i for i in self.rank(history, LIST_LENGTH) if i not in shown]
            out[row, chosen] = np.arange(len(chosen), 0, -1, dtype=np.float64)
        return out
