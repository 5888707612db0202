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
from engine.engine import NEIGHBOURS, batch_state, feedback_from_history
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
        return self.neighbours_many([state], [exclude])[0]

    def neighbours_many(self, states: list[UserState | None], excludes: list[int | None]) -> list[Neighbours | None]:
        """Each state's ``NEIGHBOURS`` most similar members of the snapshot, as serving reads them from the
        HNSW index (never the member's own row: their held-out positives are in it), from one matrix
        product per block: the job compares a member with their neighbours, not with everyone."""
        wanted = [i for i, s in enumerate(states) if s is not None and np.any(s.vector)]
        out: list[Neighbours | None] = [None] * len(states)
        if not wanted or len(self.vectors) == 0:
            return out
        queries = np.stack([unit(states[i].vector) for i in wanted])  # type: ignore[union-attr]
        similarity = queries @ self.vectors.T
        for row, i in enumerate(wanted):
            if excludes[i] in self.row:
                similarity[row, self.row[excludes[i]]] = -np.inf
        cap = min(NEIGHBOURS, similarity.shape[1])
        top = np.argpartition(-similarity, cap - 1, axis=1)[:, :cap]
        for row, i in enumerate(wanted):
            chosen = top[row][np.isfinite(similarity[row, top[row]])]
            chosen = chosen[np.argsort(-similarity[row, chosen], kind="stable")]
            out[i] = Neighbours(similarity[row, chosen].astype(np.float64), self.loved[chosen])
        return out


def fit_user_weights(engine: SnapshotEngine, histories: dict[int, History]) -> list[dict[str, Any]]:
    learned = learn_user_weights(engine, histories, engine.ranker.weights_for)
    return [{"user_id": user, "weights": weights, "fitted_on": int(np.count_nonzero(~np.isnan(histories[user].ratings)))}
            for user, (weights, _targets) in learned.items()]
