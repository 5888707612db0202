"""Per-user signal weights, learned by the PreferenceLearner job and nowhere else.

Why here: a user's weights depend on how well each signal predicted that user's recent
positives, which needs the other users' taste vectors (a snapshot) and is too slow for the
rating path. The online trainer never touches `user_model_weights`; this job is the one
writer, and the ranker only reads them (`RecommendationService`).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from engine.data import History, binary_matrix
from engine.signals import Neighbours
from engine.trainer import UserState, unit
from engine.engine import batch_state, feedback_from_history
from engine.weights import learn_user_weights

from bot.services.runtime import EngineRuntime


class SnapshotEngine:
    """The engine interface `learn_user_weights` needs, over a snapshot of every user's taste vector."""

    def __init__(self, runtime: EngineRuntime, users: list[int], vectors: np.ndarray) -> None:
        assert runtime.trainer is not None
        self.catalog, self.ranker, self.trainer = runtime.catalog, runtime.ranker, runtime.trainer
        self.row = {u: i for i, u in enumerate(users)}
        self.vectors = vectors
        self.loved = binary_matrix([np.fromiter(runtime.loved.get(u, ()), dtype=np.int64) for u in users], len(runtime.catalog))

    def user_feedback(self, history: History) -> Any:
        return feedback_from_history(history, self.trainer, batch_state(self.trainer, history))

    def neighbours(self, state: UserState | None, exclude: int | None = None) -> Neighbours | None:
        """Everyone else in the snapshot; never ``exclude``'s own row (their held-out positives are in it)."""
        if state is None or not np.any(state.vector) or len(self.vectors) == 0:
            return None
        similarity = self.vectors @ unit(state.vector)
        if exclude in self.row:
            similarity[self.row[exclude]] = -1.0
        return Neighbours(similarity.astype(np.float64), self.loved)


def fit_user_weights(engine: SnapshotEngine, histories: dict[int, History]) -> list[dict[str, Any]]:
    learned = learn_user_weights(engine, histories, engine.ranker.weights_for)
    return [{"user_id": user, "weights": weights, "fitted_on": int(np.count_nonzero(~np.isnan(histories[user].ratings)))}
            for user, (weights, _targets) in learned.items()]
