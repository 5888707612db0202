"""A member's taste state rebuilt from their current feedback: for a new member, and for one whose
stored state belongs to another model (a retrain ran; feedback given during it kept the old basis)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from engine.data import History, ItemIndex
from engine.engine import replay
from engine.trainer import PersonalizedTrainer, UserState


def replay_feedback(trainer: PersonalizedTrainer, index: ItemIndex, rows: Sequence[Any]) -> UserState:
    """The state a batch refit gives for these feedback rows (oldest first); movies not in the catalog are skipped."""
    known = [r for r in rows if index.get(r["movie_id"]) is not None]
    history = History(np.array([index.get(r["movie_id"]) for r in known], dtype=np.int64),
                      np.array([np.nan if r["rating"] is None else r["rating"] for r in known], dtype=np.float64),
                      tuple(r["kind"] for r in known))
    return replay(trainer, history)
