"""The engine as one object: catalog + base model + trainer + ranker, fitted from histories.

Used by the evaluation and by `cinesync train`; the bot builds the same pieces from the
database. Collaborative neighbours here are found in memory (numpy cosine over the
training users' taste vectors), the same similarity pgvector computes in the bot.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from engine.data import History, binary_matrix
from engine.feedback import signals, stars_for
from engine.ranker import HybridRanker, UserFeedback
from engine.retrieval import largest
from engine.signals import Neighbours

NEIGHBOURS = 100  # similar members the collaborative signal reads (the bot's pgvector query uses the same)
from engine.snapshot import Catalog, ModelArrays
from engine.trainer import PersonalizedTrainer, UserState, unit
from engine.training import TrainConfig, fit_taste_model


BATCH_USERS = 64  # users whose signals and neighbours come from one batch of matrix products


def top_rows(scores: np.ndarray, cap: int) -> np.ndarray:
    """Indices of the ``cap`` largest finite scores, best first, ties in index order: what a stable sort
    of the whole row gives, from a partition (linear) and a sort of the few at or above the cap-th
    score. Why: a full sort of 330,000 members per member was most of the learner's time at that size."""
    finite = np.isfinite(scores)
    if len(scores) > cap:
        masked = np.where(finite, scores, -np.inf)
        threshold = masked[largest(masked, cap)].min()  # the cap-th largest
        chosen = np.flatnonzero(finite & (scores >= threshold))
    else:
        chosen = np.flatnonzero(finite)
    return chosen[np.argsort(-scores[chosen], kind="stable")][:cap]


TIE_ROOM = 32  # scores past the cap each row's topk keeps, so a group tied at the cut is seen whole


def top_rows_many(scores: np.ndarray, cap: int) -> list[np.ndarray]:
    """`top_rows` of every row of a block (the same indices in the same order), from one `torch.topk`
    over the block. The topk keeps ``TIE_ROOM`` more than the cap, so ties at the cut (members with
    identical tastes) are ordered by index as the stable sort has them; a row whose tie runs past
    that, or with too few finite scores, goes through `top_rows`. Why: a partition of each row of
    60,000 members was a quarter of the learner's weights refit."""
    if scores.ndim != 2 or cap <= 0 or scores.shape[1] <= cap:
        return [top_rows(row, cap) for row in scores]
    wide = min(cap + TIE_ROOM, scores.shape[1])
    values, index = (t.numpy() for t in torch.topk(torch.from_numpy(np.ascontiguousarray(scores)), wide, dim=1))
    order = np.argsort(index, axis=1)  # then a stable sort by score: ties in index order
    index, values = np.take_along_axis(index, order, axis=1), np.take_along_axis(values, order, axis=1)
    order = np.argsort(-values, axis=1, kind="stable")
    index, values = np.take_along_axis(index, order, axis=1), np.take_along_axis(values, order, axis=1)
    whole = values[:, cap - 1] > values[:, -1] if wide < scores.shape[1] else np.ones(len(scores), dtype=bool)
    exact = np.isfinite(values[:, :cap]).all(axis=1) & whole
    return [index[row, :cap] if exact[row] else top_rows(scores[row], cap) for row in range(len(scores))]


def nearest_members(states: Sequence[UserState | None], excludes: Sequence[int | None], pool: np.ndarray,
                    loved: object, cap: int = NEIGHBOURS) -> list[Neighbours | None]:
    """Each state's ``cap`` most similar rows of ``pool`` (unit taste vectors; ``loved``: their positives,
    a CSR matrix), never row ``excludes[i]``, from one matrix product for all the states. A state with
    no feedback or a zero vector has none (None)."""
    out: list[Neighbours | None] = [None] * len(states)
    wanted = [i for i, s in enumerate(states) if s is not None and s.feedback and np.any(s.vector)]
    if not wanted or len(pool) == 0:
        return out
    similarity = np.stack([unit(states[i].vector) for i in wanted]) @ pool.T  # type: ignore[union-attr]
    for row, i in enumerate(wanted):
        exclude = excludes[i]
        if exclude is not None and 0 <= exclude < similarity.shape[1]:
            similarity[row, exclude] = -np.inf
    for row, (i, top) in enumerate(zip(wanted, top_rows_many(similarity, cap))):
        out[i] = Neighbours(similarity[row, top].astype(np.float64), loved[top])  # type: ignore[index]
    return out


def popularity_prior(histories: Sequence[History], n_items: int) -> np.ndarray:
    """Positives per item, ties broken by any interaction (the popularity peer's order)."""
    positives = np.zeros(n_items)
    anything = np.zeros(n_items)
    for history in histories:
        np.add.at(positives, history.positives(), 1.0)
        np.add.at(anything, history.items, 1.0)
    return positives + anything / (anything.max() + 1.0) if len(histories) else positives


def feedback_from_history(history: History, trainer: PersonalizedTrainer, state: UserState | None,
                          known: bool = False) -> UserFeedback:
    kinds = history.kinds or ("rating",) * len(history)
    seen, valence = signals(kinds, np.asarray(history.ratings, dtype=np.float64))
    return UserFeedback(
        items=np.asarray(history.items, dtype=np.int64),
        seen=seen,
        valence=valence,
        stars=np.asarray(history.ratings, dtype=np.float64),
        state=state,
        known=known,
    )


def replay(trainer: PersonalizedTrainer, history: History) -> UserState:
    """Feed a history one feedback at a time through the online update path."""
    state = UserState.empty(trainer.dim)
    kinds = history.kinds or ("rating",) * len(history)
    latest: dict[int, tuple[str, float | None]] = {}
    for item, rating, kind in zip(history.items, history.ratings, kinds):
        stars = None if np.isnan(rating) else float(rating)
        previous = latest.get(int(item))
        state = trainer.apply_feedback(state, int(item), kind, stars, *(previous or (None, None)))
        latest[int(item)] = (kind, stars)
    return state


def batch_state(trainer: PersonalizedTrainer, history: History) -> UserState:
    """The state `replay` reaches, in one vectorised refit (the latest feedback per item wins)."""
    kinds = history.kinds or ("rating",) * len(history)
    latest: dict[int, tuple[str, float]] = {}
    for item, rating, kind in zip(history.items.tolist(), history.ratings.tolist(), kinds):
        latest[item] = (kind, rating)
    ratings = np.fromiter((r for _k, r in latest.values()), dtype=np.float64, count=len(latest))
    seen, valence = signals([k for k, _r in latest.values()], ratings)
    n_stars = sum(stars_for(k, None if r != r else r) is not None for k, r in latest.values())
    state = trainer.refit_arrays(np.fromiter(latest, dtype=np.int64, count=len(latest)), seen, valence, n_stars)
    return UserState(state.vector, state.ratings, len(history), len(history))


@dataclass
class FittedEngine:
    catalog: Catalog
    model: ModelArrays
    trainer: PersonalizedTrainer
    ranker: HybridRanker
    pool_vectors: np.ndarray  # unit taste vectors of the training users (collaborative pool)
    pool_loved: object  # CSR users x items of their positives

    def neighbours(self, state: UserState | None, exclude: int | None = None, cap: int = NEIGHBOURS) -> Neighbours | None:
        """The `cap` most similar training users (the bot asks pgvector for the same), never the user
        themself (``exclude``: their row in the pool)."""
        return self.neighbours_many([state], [exclude], cap)[0]

    def neighbours_many(self, states: Sequence[UserState | None], excludes: Sequence[int | None],
                        cap: int = NEIGHBOURS) -> list[Neighbours | None]:
        """`neighbours` of each state, from one matrix product over the pool for them all."""
        return nearest_members(states, excludes, self.pool_vectors, self.pool_loved, cap)

    def user_feedback(self, history: History, known: bool = False) -> UserFeedback:
        """``known``: the history is one the engine was fitted on (see `UserFeedback.known`)."""
        return feedback_from_history(history, self.trainer, batch_state(self.trainer, history), known)

    def score(self, history: History, candidates: np.ndarray) -> np.ndarray:
        user = self.user_feedback(history)
        return self.ranker.scores(user, self.neighbours(user.state), candidates)  # type: ignore[arg-type]


def fit_engine(histories: Sequence[History], catalog: Catalog, config: TrainConfig = TrainConfig(),
               weights: dict[str, dict[str, float]] | None = None, blend: float = 0.6, diversity: float = 0.0,
               progress: bool = False, calibration: float = 0.0) -> FittedEngine:
    n_items = len(catalog)
    module = fit_taste_model(histories, n_items, config, progress=progress)
    p_seen, p_val, q = module.arrays()
    model = ModelArrays(p_seen, p_val, q, popularity_prior(histories, n_items), weights or {})
    trainer = PersonalizedTrainer(p_seen, p_val)
    ranker = HybridRanker(catalog, model, blend=blend, diversity=diversity, calibration=calibration)
    states = [batch_state(trainer, h) for h in histories]  # = replay, vectorised (tests/test_trainer.py)
    pool = np.stack([unit(s.vector) for s in states]) if states else np.zeros((0, config.dim), dtype=np.float32)
    loved = binary_matrix([h.positives() for h in histories], n_items)
    return FittedEngine(catalog, model, trainer, ranker, pool, loved)
