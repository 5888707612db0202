"""Learning the ranker's signal weights from how well each signal predicts held-out ratings.

Default weights, one set per rating-count bucket, are fitted when the base model is trained:
validation queries are cut from the training data only (new-user prefixes of held-out users,
and held-out positives of the rest), each signal is computed once per query, and the
weights are found by coordinate ascent on NDCG@10.

A user's own weights (stored in `user_model_weights`) come from the same procedure on that
user's own history: their most recent positives are held out, the signals computed from
what came before, and the bucket defaults adjusted towards the signals that ranked those
positives best, shrunk by how much evidence there is.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from tqdm import tqdm

from engine.data import History
from engine.evaluation.metrics import ndcg_at, top_k
from engine.evaluation.protocols import cold_split, warm_split
from engine.ranker import BUCKETS, DEFAULT_WEIGHTS, WEIGHT_KEYS, bucket
from engine.signals import zscore

GRID = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0)
COLD_PREFIXES = (1, 2, 3, 4, 5, 7, 10, 15, 20)
MAX_WARM_QUERIES = 400


@dataclass
class Query:
    n_ratings: int
    signals: np.ndarray  # signals x candidates (z-scored, float32)
    targets: np.ndarray  # positions of the targets among the candidates


def _signal_stack(raw: dict[str, np.ndarray], candidates: np.ndarray, blend: float) -> np.ndarray:
    """Rows in WEIGHT_KEYS order; 'model' is the blend of personal and base."""
    rows = []
    for key in WEIGHT_KEYS:
        if key == "model":
            values = blend * zscore(raw["personal"], candidates) + (1 - blend) * zscore(raw["base"], candidates)
        elif key in raw:
            values = zscore(raw[key], candidates)
        else:
            values = np.zeros(len(candidates))
        rows.append(values[candidates])
    return np.asarray(rows, dtype=np.float32)


def make_query(engine, history: History, targets: np.ndarray, candidates: np.ndarray) -> Query | None:  # type: ignore[no-untyped-def]
    if len(targets) == 0 or len(history) == 0:
        return None
    user = engine.user_feedback(history)
    raw = engine.ranker.signal_matrix(user, engine.neighbours(user.state))
    positions = np.flatnonzero(candidates)
    target_positions = np.flatnonzero(np.isin(positions, targets))
    return Query(user.n_ratings, _signal_stack(raw, candidates, engine.ranker.blend), target_positions)


def mean_ndcg(queries: Sequence[Query], weights: np.ndarray) -> float:
    values = []
    for query in queries:
        scores = weights @ query.signals
        ranked = top_k(scores, np.ones(len(scores), dtype=bool), 10)
        values.append(ndcg_at(ranked, query.targets, 10))
    return float(np.mean(values)) if values else 0.0


def coordinate_ascent(queries: Sequence[Query], start: dict[str, float], passes: int = 2) -> dict[str, float]:
    weights = np.array([start[k] for k in WEIGHT_KEYS], dtype=np.float32)
    best = mean_ndcg(queries, weights)
    for _ in range(passes):
        improved = False
        for j in range(len(WEIGHT_KEYS)):
            for value in GRID:
                if value == weights[j]:
                    continue
                trial = weights.copy()
                trial[j] = value
                if not trial.any():
                    continue
                score = mean_ndcg(queries, trial)
                if score > best + 1e-6:
                    best, weights, improved = score, trial, True
        if not improved:
            break
    return {k: float(w) for k, w in zip(WEIGHT_KEYS, weights)}


def validation_queries(histories: dict[int, History], n_items: int, fit: Callable[[list[History]], object],
                       progress: bool = False) -> list[Query]:
    """Cold-start prefixes of held-out users plus warm held-out positives, all from training data."""
    queries: list[Query] = []
    cold = cold_split(histories, n_items, seed=1)
    engine = fit(list(cold.train.values()))
    trainable = cold.trainable
    for user in tqdm(list(cold.new_users), desc="validation (new users)", disable=not progress, leave=False):
        targets = cold.targets(user)
        candidates = trainable.copy()
        candidates[cold.new_users[user].items] = False
        candidates[targets] = trainable[targets]
        for k in COLD_PREFIXES:
            query = make_query(engine, cold.new_users[user].prefix(k), targets, candidates)
            if query:
                queries.append(query)
    warm = warm_split(cold.train, n_items, seed=1)
    engine = fit(list(warm.train.values()))
    trainable = warm.trainable
    users = sorted(warm.test)
    rng = np.random.default_rng(1)
    if len(users) > MAX_WARM_QUERIES:
        users = sorted(rng.choice(users, MAX_WARM_QUERIES, replace=False).tolist())
    for user in tqdm(users, desc="validation (known users)", disable=not progress, leave=False):
        candidates = trainable.copy()
        candidates[warm.train[user].items] = False
        query = make_query(engine, warm.train[user], warm.test[user], candidates)
        if query:
            queries.append(query)
    return queries


def learn_bucket_weights(queries: Sequence[Query], progress: bool = False) -> dict[str, dict[str, float]]:
    table: dict[str, dict[str, float]] = {}
    for _low, name in tqdm(BUCKETS[1:], desc="learning signal weights", disable=not progress, leave=False):
        chosen = [q for q in queries if bucket(q.n_ratings) == name]
        table[name] = coordinate_ascent(chosen, DEFAULT_WEIGHTS) if len(chosen) >= 20 else dict(DEFAULT_WEIGHTS)
    return table


def _ndcg_per_row(signals: np.ndarray, targets: np.ndarray, k: int = 10) -> np.ndarray:
    """NDCG@k of ranking by each row of ``signals`` on its own (one argpartition for all rows)."""
    k = min(k, signals.shape[1])
    if k == 0 or len(targets) == 0:
        return np.zeros(len(signals))
    part = np.argpartition(-signals, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(signals, part, axis=1), axis=1, kind="stable")
    ranked = np.take_along_axis(part, order, axis=1)
    return np.array([ndcg_at(row, targets, k) for row in ranked])


def learn_user_weights(engine, history: History, defaults: dict[str, float], holdout: float = 0.2,  # type: ignore[no-untyped-def]
                       prior_strength: float = 20.0) -> tuple[dict[str, float], int] | None:
    """A user's own weights: defaults moved towards the signals that best ranked their recent positives."""
    positives = np.flatnonzero(history.ratings >= 4.0)
    if len(positives) < 5:
        return None
    cut = positives[-max(2, round(holdout * len(positives)))]
    past = history.prefix(int(cut))
    future = History(history.items[cut:], history.ratings[cut:])
    targets = future.positives()
    candidates = np.ones(len(engine.catalog), dtype=bool)
    candidates[history.items] = False
    candidates[targets] = True
    query = make_query(engine, past, targets, candidates)
    if query is None:
        return None
    per_signal = _ndcg_per_row(query.signals, query.targets)
    base = np.array([defaults[k] for k in WEIGHT_KEYS])
    if per_signal.sum() == 0:
        return dict(defaults), len(targets)
    evidence = len(targets) / (len(targets) + prior_strength)
    share = per_signal / per_signal.sum()
    scale = base.sum() if base.sum() > 0 else 1.0
    mixed = (1 - evidence) * base + evidence * share * scale
    return {k: float(round(w, 4)) for k, w in zip(WEIGHT_KEYS, mixed)}, len(targets)
