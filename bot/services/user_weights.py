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
from engine.trainer import UserState
from engine.engine import batch_state, feedback_from_history, nearest_members
from engine.weights import learn_user_weights

from bot.services.runtime import EngineRuntime


class SnapshotEngine:
    """The engine interface `learn_user_weights` needs, over a snapshot of every user's taste vector."""

    def __init__(self, runtime: EngineRuntime, users: list[int], vectors: np.ndarray,
                 known: set[int] | None = None) -> None:
        """``known``: the members the serving model was trained on (`engine.ranker.known_to_model`)."""
        assert runtime.trainer is not None
        self.catalog, self.ranker, self.trainer = runtime.catalog, runtime.ranker, runtime.trainer
        self.known = known if known is not None else set()
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
        return nearest_members(states, [self.row.get(e) if e is not None else None for e in excludes],
                               self.vectors, self.loved)


def fit_user_weights(engine: SnapshotEngine, histories: dict[int, History]) -> list[dict[str, Any]]:
    ranker = engine.ranker
    learned = learn_user_weights(engine, histories, lambda n, known: ranker.weights_for(n, known=known),
                                 engine.known.__contains__)
    return [{"user_id": user, "weights": weights, "fitted_on": int(np.count_nonzero(~np.isnan(histories[user].ratings)))}
            for user, (weights, _targets) in learned.items()]
