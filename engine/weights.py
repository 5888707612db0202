"""Learning the ranker's signal weights from how well each signal predicts held-out ratings.

Default weights, one set per rating-count bucket, are fitted when the base model is trained:
validation queries are cut from the training data only (new-user prefixes of held-out users,
and held-out positives of the rest), each signal is computed once per query, and the
weights are found by coordinate ascent on NDCG@10. Members the model was fitted on (known
members: `ranker.KNOWN` buckets) get a table learned from their kind of query alone, the
held-out positives: pooled with new members' prefixes, the prefixes set the weights for known
members with few ratings too (the model's weight fell to 0 in buckets 1-19) and known members'
lists lost 2-3% NDCG@10 on validation splits (README). Members who joined since the model was
trained keep the table learned from every query.

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
from engine.engine import BATCH_USERS
from engine.metrics import DISCOUNT
from engine.splits import cold_split, warm_split
from engine.ranker import BUCKETS, DEFAULT_WEIGHTS, WEIGHT_KEYS, bucket, weight_key
from engine.signals import scaled, zscore

GRID = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0)
COLD_PREFIXES = (1, 2, 3, 4, 5, 7, 10, 15, 20)
# known members whose held-out positives become queries (a sample past that: time). 1,500 over 400: validation
# NDCG@10 as served 0.2368 -> 0.2394 (MovieLens 1M, first 1,500 users) and 0.2105 -> 0.2121 (latest-small), on
# validation splits cut from the warm protocol's training data
MAX_WARM_QUERIES = 1500
MAX_COLD_USERS = 400  # held-out new users whose prefixes become queries (a sample past that: time)


@dataclass
class Query:
    n_ratings: int
    signals: np.ndarray  # signals x candidates (z-scored, float32)
    targets: np.ndarray  # positions of the targets among the candidates
    known: bool = False  # a member the engine was fitted on (held-out positives), else a new member's prefix


def _signal_stack(raw: dict[str, np.ndarray], candidates: np.ndarray, blend: float) -> np.ndarray:
    """Rows in WEIGHT_KEYS order; 'model' is the blend of personal and base."""
    rows = []
    for key in WEIGHT_KEYS:
        if key == "model":
            values = blend * zscore(raw["personal"], candidates) + (1 - blend) * zscore(raw["base"], candidates)
        elif key in raw:
            values = scaled(key, raw[key], candidates)
        else:
            values = np.zeros(len(candidates))
        rows.append(values[candidates])
    return np.asarray(rows, dtype=np.float32)


def make_queries(engine, cases: Sequence[tuple[History, np.ndarray, np.ndarray]],  # type: ignore[no-untyped-def]
                 desc: str = "validation queries", progress: bool = False, known: bool = False) -> list[Query]:
    """One query per (history, targets, candidates) case that has both (others are left out), its
    signals computed a block of cases at a time. ``known``: the histories are ones ``engine`` was fitted on."""
    cases = [case for case in cases if len(case[1]) and len(case[0])]
    queries: list[Query] = []
    for start in tqdm(range(0, len(cases), BATCH_USERS), desc=desc, unit="block", disable=not progress, leave=False):
        block = cases[start : start + BATCH_USERS]
        users = [engine.user_feedback(history, known) for history, _t, _c in block]
        neighbours = engine.neighbours_many([u.state for u in users], [None] * len(users))
        for user, raw, (_h, targets, candidates) in zip(users, engine.ranker.signal_matrices(users, neighbours), block):
            positions = np.flatnonzero(candidates)
            target_positions = np.flatnonzero(np.isin(positions, targets))
            queries.append(Query(user.n_ratings, _signal_stack(raw, candidates, engine.ranker.blend), target_positions,
                                 known))
    return queries


class StackedQueries:
    """Queries padded into blocks of one array each, so a weight vector's mean NDCG@10 over all of
    them is a few array operations per block instead of a Python loop over queries (the weight
    search evaluates ~100 weight vectors)."""

    BLOCK = 256

    def __init__(self, queries: Sequence[Query], k: int = 10) -> None:
        self.k, self.count = k, len(queries)
        self.blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        for start in range(0, len(queries), self.BLOCK):
            chunk = queries[start:start + self.BLOCK]
            width = max(q.signals.shape[1] for q in chunk)
            signals = np.zeros((len(chunk), len(WEIGHT_KEYS), width), dtype=np.float32)
            pad = np.ones((len(chunk), width), dtype=bool)
            relevant = np.zeros((len(chunk), width), dtype=bool)
            for row, query in enumerate(chunk):
                signals[row, :, :query.signals.shape[1]] = query.signals
                pad[row, :query.signals.shape[1]] = False
                relevant[row, query.targets] = True
            ideal = np.array([DISCOUNT[:min(k, len(q.targets))].sum() for q in chunk])
            self.blocks.append((signals, pad, relevant, ideal))

    def ndcg(self, weights: np.ndarray) -> float:
        if not self.count:
            return 0.0
        total = 0.0
        for signals, pad, relevant, ideal in self.blocks:
            scores = np.einsum("s,qsc->qc", weights.astype(np.float32), signals)
            scores[pad] = -np.inf
            k = min(self.k, scores.shape[1])
            part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
            order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
            ranked = np.take_along_axis(part, order, axis=1)
            hits = np.take_along_axis(relevant, ranked, axis=1) & ~np.take_along_axis(pad, ranked, axis=1)
            dcg = (hits * DISCOUNT[:k]).sum(1)
            total += float(np.where(ideal > 0, dcg / np.where(ideal > 0, ideal, 1.0), 0.0).sum())
        return total / self.count


def mean_ndcg(queries: Sequence[Query], weights: np.ndarray) -> float:
    return StackedQueries(queries).ndcg(weights)


def coordinate_ascent(queries: Sequence[Query], start: dict[str, float], passes: int = 2) -> dict[str, float]:
    weights = np.array([start[k] for k in WEIGHT_KEYS], dtype=np.float32)
    stacked = StackedQueries(queries)
    best = stacked.ndcg(weights)
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
                score = stacked.ndcg(trial)
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
    new_users = sorted(cold.new_users)
    if len(new_users) > MAX_COLD_USERS:
        new_users = sorted(np.random.default_rng(1).choice(new_users, MAX_COLD_USERS, replace=False).tolist())
    cases = []
    for user in new_users:
        targets = cold.targets(user)
        candidates = trainable.copy()
        candidates[cold.new_users[user].items] = False
        candidates[targets] = trainable[targets]
        cases.extend((cold.new_users[user].prefix(k), targets, candidates) for k in COLD_PREFIXES)
    queries.extend(make_queries(engine, cases, "validation (new users)", progress))
    warm = warm_split(cold.train, n_items, seed=1)
    engine = fit([warm.train[u] for u in sorted(warm.train)])
    trainable = warm.trainable
    users = sorted(warm.test)
    rng = np.random.default_rng(1)
    if len(users) > MAX_WARM_QUERIES:
        users = sorted(rng.choice(users, MAX_WARM_QUERIES, replace=False).tolist())
    cases = []
    for user in users:
        candidates = trainable.copy()
        candidates[warm.train[user].items] = False
        cases.append((warm.train[user], warm.test[user], candidates))
    queries.extend(make_queries(engine, cases, "validation (known users)", progress, known=True))
    return queries


MIN_QUERIES = 20  # a bucket with fewer queries takes the new members' weights for it, else the defaults


def learn_bucket_weights(queries: Sequence[Query], progress: bool = False) -> dict[str, dict[str, float]]:
    """{weight_key: weights} for every bucket past "0": for known members from their own queries alone,
    for new members from every query of the bucket (as before the split: learned from new members'
    prefixes alone, the model's weight fell so low that films nobody has rated yet, which only the
    model's predicted rows and the content signal can reach, left new members' lists). A known bucket
    with too few known members' queries takes the new members' weights."""
    learned: dict[tuple[str, bool], dict[str, float]] = {}
    with tqdm(total=2 * (len(BUCKETS) - 1), desc="learning signal weights", disable=not progress, leave=False) as bar:
        for known in (False, True):
            for _low, name in BUCKETS[1:]:
                chosen = [q for q in queries if bucket(q.n_ratings) == name and (q.known or not known)]
                if len(chosen) >= MIN_QUERIES:
                    learned[(name, known)] = coordinate_ascent(chosen, DEFAULT_WEIGHTS)
                bar.update(1)
    table: dict[str, dict[str, float]] = {}
    for known in (False, True):
        for low, name in BUCKETS[1:]:
            found = learned.get((name, known)) or learned.get((name, False)) or DEFAULT_WEIGHTS
            table[weight_key(low, known)] = dict(found)
    return table


def _ndcg_per_row(signals: np.ndarray, targets: np.ndarray, k: int = 10) -> np.ndarray:
    """NDCG@k of ranking by each row of ``signals`` on its own (one argpartition for all rows);
    ``targets``: distinct column positions."""
    k = min(k, signals.shape[1])
    if k == 0 or len(targets) == 0:
        return np.zeros(len(signals))
    part = np.argpartition(-signals, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(signals, part, axis=1), axis=1, kind="stable")
    ranked = np.take_along_axis(part, order, axis=1)
    relevant = np.zeros(signals.shape[1], dtype=bool)
    relevant[targets] = True
    return (relevant[ranked] * DISCOUNT[:k]).sum(axis=1) / DISCOUNT[:min(k, len(targets))].sum()


def _holdout(history: History, n_items: int, holdout: float) -> tuple[History, np.ndarray, np.ndarray] | None:
    """(past, targets, candidates): the user's most recent positives held out from what came before."""
    positives = np.flatnonzero(history.ratings >= 4.0)
    if len(positives) < 5:
        return None
    cut = positives[-max(2, round(holdout * len(positives)))]
    targets = History(history.items[cut:], history.ratings[cut:]).positives()
    candidates = np.ones(n_items, dtype=bool)
    candidates[history.items] = False
    candidates[targets] = True
    return history.prefix(int(cut)), targets, candidates


def _mix(per_signal: np.ndarray, defaults: dict[str, float], n_targets: int, prior_strength: float) -> dict[str, float]:
    """Defaults moved towards the signals that ranked the held-out positives best, by the evidence."""
    base = np.array([defaults[k] for k in WEIGHT_KEYS])
    if per_signal.sum() == 0:
        return dict(defaults)
    evidence = n_targets / (n_targets + prior_strength)
    share = per_signal / per_signal.sum()
    scale = base.sum() if base.sum() > 0 else 1.0
    mixed = (1 - evidence) * base + evidence * share * scale
    return {k: float(round(w, 4)) for k, w in zip(WEIGHT_KEYS, mixed)}


Prior = Callable[[int, bool], dict[str, float]]  # (rating count, known to the model) -> the weights to start from


def learn_user_weights(engine, histories: dict[int, History], defaults: Prior,  # type: ignore[no-untyped-def]
                       known: Callable[[int], bool] = lambda user: True, holdout: float = 0.2,
                       prior_strength: float = 20.0, block: int = BATCH_USERS) -> dict[int, tuple[dict[str, float], int]]:
    """Each user's own weights, {user: (weights, held-out positives)}; users with under 5 positives are left out.

    ``engine`` gives `user_feedback(history)`, `neighbours(state, exclude=user)` and a `ranker`;
    the signals of a block of users come from one batch of matrix products. ``defaults(n_ratings,
    known)`` is the prior a user's weights move from; ``known(user)``: whether the model was trained on them.
    """
    cases = [(user, case) for user, history in histories.items()
             if (case := _holdout(history, len(engine.catalog), holdout)) is not None and len(case[0])]
    learned: dict[int, tuple[dict[str, float], int]] = {}
    for start in range(0, len(cases), block):
        chunk = cases[start : start + block]
        users = [engine.user_feedback(past) for _user, (past, _t, _c) in chunk]
        neighbours = engine.neighbours_many([fb.state for fb in users], [user for user, _case in chunk])
        raw = engine.ranker.signal_batch(users, neighbours)
        for row, (user, (_past, targets, candidates)) in enumerate(chunk):
            stack = _signal_stack({name: values[row] for name, values in raw.items()}, candidates, engine.ranker.blend)
            # the targets' positions among the candidates (every target is one): a running count, not a search
            positions = (np.cumsum(candidates) - 1)[np.unique(targets)]
            n_ratings = int(np.count_nonzero(~np.isnan(histories[user].ratings)))
            learned[user] = (_mix(_ndcg_per_row(stack, positions), defaults(n_ratings, known(user)), len(targets),
                                  prior_strength), len(targets))
    return learned
