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

Known members' queries are scored on lists as they are shown: through the match filter and in match
order (`ranker.match_order`), from each candidate's match % (weight-free, computed once per query). Scored
on the weighted sum's plain order instead, the weights chose lists that match order then reshuffled:
on validation splits served lists lost 0.007 NDCG@10 to the reorder (latest-small) and a model weight
forced to 2 beat the learned one on both data sets (README, ninth session).

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

from engine.calibration_fit import rating_stats
from engine.data import History
from engine.engine import BATCH_USERS
from engine.metrics import DISCOUNT
from engine.splits import cold_split, warm_split
from engine.ranker import BUCKETS, DEFAULT_WEIGHTS, WEIGHT_KEYS, bucket, match_filter, match_order_many, weight_key
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
    match: np.ndarray | None = None  # each candidate's match % (float32), when the engine has a calibrator
    shown: np.ndarray | None = None  # candidates the match filter lets into a list (bool), when it applies


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


Case = tuple[History, np.ndarray, np.ndarray, "int | None"]  # (history, targets, candidates, its pool row or None)


def make_queries(engine, cases: Sequence[Case], desc: str = "validation queries",  # type: ignore[no-untyped-def]
                 progress: bool = False, known: bool = False) -> list[Query]:
    """One query per (history, targets, candidates, pool row) case that has both (others are left out), its
    signals computed a block of cases at a time. ``known``: the histories are ones ``engine`` was fitted on,
    each left out of its own neighbours (its pool row) as a served member is. With a calibrator in
    ``engine.model`` each query keeps its candidates' match %, so the weights are learned on lists as
    they are shown (filtered and ordered by match)."""
    cases = [case for case in cases if len(case[1]) and len(case[0])]
    queries: list[Query] = []
    ranker = engine.ranker
    for start in tqdm(range(0, len(cases), BATCH_USERS), desc=desc, unit="block", disable=not progress, leave=False):
        block = cases[start : start + BATCH_USERS]
        users = [engine.user_feedback(history, known) for history, *_rest in block]
        neighbours = engine.neighbours_many([u.state for u in users], [row for *_rest, row in block])
        for user, raw, (_h, targets, candidates, _row) in zip(users, ranker.signal_matrices(users, neighbours), block):
            positions = np.flatnonzero(candidates)
            target_positions = np.flatnonzero(np.isin(positions, targets))
            match = ranker.match_all(raw, user)
            match = None if match is None else np.nan_to_num(match[positions], nan=0.0).astype(np.float32)
            queries.append(Query(user.n_ratings, _signal_stack(raw, candidates, ranker.blend), target_positions,
                                 known, match, None if match is None else match_filter(match)))
    return queries


class StackedQueries:
    """Queries padded into blocks of one array each, so a weight vector's mean NDCG@10 over all of
    them is a few array operations per block instead of a Python loop over queries (the weight
    search evaluates ~100 weight vectors)."""

    BLOCK = 256

    def __init__(self, queries: Sequence[Query], k: int = 10, as_shown: bool = True) -> None:
        """``as_shown``: lists through the match filter and in match order where the queries carry match %;
        otherwise in the weighted sum's own order."""
        self.k, self.count = k, len(queries)
        self.blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        for start in range(0, len(queries), self.BLOCK):
            chunk = queries[start:start + self.BLOCK]
            width = max(q.signals.shape[1] for q in chunk)
            signals = np.zeros((len(chunk), len(WEIGHT_KEYS), width), dtype=np.float32)
            pad = np.ones((len(chunk), width), dtype=bool)
            relevant = np.zeros((len(chunk), width), dtype=bool)
            match = np.zeros((len(chunk), width), dtype=np.float32)  # all equal: the ranking's own order
            for row, query in enumerate(chunk):
                size = query.signals.shape[1]
                signals[row, :, :size] = query.signals
                pad[row, :size] = False if query.shown is None or not as_shown else ~query.shown
                relevant[row, query.targets] = True
                if query.match is not None and as_shown:
                    match[row, :size] = query.match
            ideal = np.array([DISCOUNT[:min(k, len(q.targets))].sum() for q in chunk])
            self.blocks.append((signals, pad, relevant, ideal, match))

    def ndcg(self, weights: np.ndarray) -> float:
        if not self.count:
            return 0.0
        total = 0.0
        for signals, pad, relevant, ideal, match in self.blocks:
            scores = np.einsum("s,qsc->qc", weights.astype(np.float32), signals)
            scores[pad] = -np.inf
            k = min(self.k, scores.shape[1])
            part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
            order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
            ranked = np.take_along_axis(part, order, axis=1)
            ranked = match_order_many(ranked, np.where(np.take_along_axis(pad, ranked, axis=1), -np.inf,
                                                       np.take_along_axis(match, ranked, axis=1)))
            hits = np.take_along_axis(relevant, ranked, axis=1) & ~np.take_along_axis(pad, ranked, axis=1)
            dcg = (hits * DISCOUNT[:k]).sum(1)
            total += float(np.where(ideal > 0, dcg / np.where(ideal > 0, ideal, 1.0), 0.0).sum())
        return total / self.count


def mean_ndcg(queries: Sequence[Query], weights: np.ndarray, as_shown: bool = True) -> float:
    return StackedQueries(queries, as_shown=as_shown).ndcg(weights)


def coordinate_ascent(queries: Sequence[Query], start: dict[str, float], passes: int = 2,
                      as_shown: bool = True) -> dict[str, float]:
    weights = np.array([start[k] for k in WEIGHT_KEYS], dtype=np.float32)
    stacked = StackedQueries(queries, as_shown=as_shown)
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
                       progress: bool = False, calibrator: object = None) -> list[Query]:
    """Cold-start prefixes of held-out users plus warm held-out positives, all from training data.
    ``calibrator``: the match % calibrator (`engine.calibration_fit.fit_calibrator`, fitted on the same
    data), lent to each validation engine so the queries see lists as they are shown."""
    queries: list[Query] = []
    cold = cold_split(histories, n_items, seed=1)
    engine = _with_match(fit(list(cold.train.values())), cold.train, n_items, calibrator)
    trainable = cold.trainable
    new_users = sorted(cold.new_users)
    if len(new_users) > MAX_COLD_USERS:
        new_users = sorted(np.random.default_rng(1).choice(new_users, MAX_COLD_USERS, replace=False).tolist())
    cases: list[Case] = []
    for user in new_users:
        targets = cold.targets(user)
        candidates = trainable.copy()
        candidates[cold.new_users[user].items] = False
        candidates[targets] = trainable[targets]
        cases.extend((cold.new_users[user].prefix(k), targets, candidates, None) for k in COLD_PREFIXES)
    queries.extend(make_queries(engine, cases, "validation (new users)", progress))
    warm = warm_split(cold.train, n_items, seed=1)
    members = sorted(warm.train)
    engine = _with_match(fit([warm.train[u] for u in members]), warm.train, n_items, calibrator)
    row_of = {user: row for row, user in enumerate(members)}
    trainable = warm.trainable
    users = sorted(warm.test)
    rng = np.random.default_rng(1)
    if len(users) > MAX_WARM_QUERIES:
        users = sorted(rng.choice(users, MAX_WARM_QUERIES, replace=False).tolist())
    cases = []
    for user in users:
        candidates = trainable.copy()
        candidates[warm.train[user].items] = False
        cases.append((warm.train[user], warm.test[user], candidates, row_of[user]))
    queries.extend(make_queries(engine, cases, "validation (known users)", progress, known=True))
    return queries


def _with_match(engine, histories: dict[int, History], n_items: int, calibrator: object):  # type: ignore[no-untyped-def]
    """``engine`` with ``calibrator`` and the rating means of the data it was fitted on (match % needs both)."""
    if calibrator is not None:
        engine.model.calibrator = calibrator
        engine.model.global_mean, engine.model.item_means = rating_stats(histories, n_items)
    return engine


MIN_QUERIES = 20  # a bucket with fewer queries takes the new members' weights for it, else the defaults


def learn_bucket_weights(queries: Sequence[Query], progress: bool = False) -> dict[str, dict[str, float]]:
    """{weight_key: weights} for every bucket past "0": for known members from their own queries alone,
    for new members from every query of the bucket (as before the split: learned from new members'
    prefixes alone, the model's weight fell so low that films nobody has rated yet, which only the
    model's predicted rows and the content signal can reach, left new members' lists). A known bucket
    with too few known members' queries takes the new members' weights. Known members' weights are
    scored on lists as shown (match filter and order); new members' on the weighted sum's own order:
    scored as shown, their lists lost on the cold protocol's validation splits at 20 ratings (-0.0135
    latest-small, -0.0029 MovieLens 1M) and planted-taste members (tests/test_persona_lists.py) fell
    under the 0.7 precision target (README, ninth session)."""
    learned: dict[tuple[str, bool], dict[str, float]] = {}
    with tqdm(total=2 * (len(BUCKETS) - 1), desc="learning signal weights", disable=not progress, leave=False) as bar:
        for known in (False, True):
            for _low, name in BUCKETS[1:]:
                chosen = [q for q in queries if bucket(q.n_ratings) == name and (q.known or not known)]
                if len(chosen) >= MIN_QUERIES:
                    learned[(name, known)] = coordinate_ascent(chosen, DEFAULT_WEIGHTS, as_shown=known)
                bar.update(1)
    table: dict[str, dict[str, float]] = {}
    for known in (False, True):
        for low, name in BUCKETS[1:]:
            found = learned.get((name, known)) or learned.get((name, False)) or DEFAULT_WEIGHTS
            table[weight_key(low, known)] = dict(found)
    return table


def _ndcg_per_row(signals: np.ndarray, targets: np.ndarray, k: int = 10) -> np.ndarray:
    """NDCG@k of ranking by each row of ``signals`` on its own (one argpartition for all rows);
    ``targets``: distinct column positions. In the ranking's order, not match order: scoring these
    lists in match order changed served NDCG@10 by under 0.0005 on validation splits (README)."""
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
# held-out positives a member's own evidence counts as much as the bucket's weights against. Chosen on the warm
# validation splits (served NDCG@10, list calibration 0.2; latest-small / MovieLens 1M first 1,500 users):
# 20 0.2164 / 0.2390, 50 0.2186 / 0.2399, 100 0.2194 / 0.2399, 200 0.2195 / 0.2401, no own weights 0.2179 /
# 0.2395; the weakest prior within 0.0005 of the best on both, so members' own evidence still counts
PRIOR_STRENGTH = 100.0


def learn_user_weights(engine, histories: dict[int, History], defaults: Prior,  # type: ignore[no-untyped-def]
                       known: Callable[[int], bool] = lambda user: True, holdout: float = 0.2,
                       prior_strength: float = PRIOR_STRENGTH, block: int = BATCH_USERS) -> dict[int, tuple[dict[str, float], int]]:
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
