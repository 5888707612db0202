"""Bucket weights come in two tables: members the model was trained on, and members who joined since."""
from __future__ import annotations

import numpy as np

from engine.calibration_fit import fit_calibrator
from engine.engine import fit_engine
from engine.metrics import DISCOUNT
from engine.ranker import (BUCKETS, DEFAULT_WEIGHTS, KNOWN, WEIGHT_KEYS, bucket, known_to_model, match_filter, match_order,
                           match_order_many, weight_key)
from engine.training import TrainConfig
from engine.weights import Query, StackedQueries, coordinate_ascent, learn_bucket_weights, validation_queries
from tests.engine_fixtures import synthetic_world

CANDIDATES = 60


def _queries(n_ratings: int, known: bool, best: str, count: int, seed: int) -> list[Query]:
    """Queries whose targets are what signal ``best`` ranks first; every other signal is noise."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        signals = rng.standard_normal((len(WEIGHT_KEYS), CANDIDATES)).astype(np.float32)
        targets = np.argsort(-signals[WEIGHT_KEYS.index(best)])[:3]
        out.append(Query(n_ratings, signals, targets, known))
    return out


def _ndcg(queries: list[Query], weights: dict[str, float]) -> float:
    return StackedQueries(queries).ndcg(np.array([weights[k] for k in WEIGHT_KEYS], dtype=np.float32))


def test_known_members_get_weights_learned_from_their_own_queries_and_new_members_from_all() -> None:
    new = _queries(12, False, "collaborative", 60, 0)  # new members' prefixes: the collaborative signal ranks their targets
    known = _queries(12, True, "model", 60, 1)  # known members' held-out positives: the model does
    table = learn_bucket_weights(new + known)
    assert table[KNOWN + "10-19"] == coordinate_ascent(known, DEFAULT_WEIGHTS)
    assert table["10-19"] == coordinate_ascent(new + known, DEFAULT_WEIGHTS)
    assert _ndcg(known, table[KNOWN + "10-19"]) > _ndcg(known, table["10-19"])  # what pooling cost known members
    assert table[KNOWN + "10-19"]["model"] > table[KNOWN + "10-19"]["collaborative"]


def test_a_bucket_without_enough_queries_takes_the_new_members_weights_or_the_defaults() -> None:
    table = learn_bucket_weights(_queries(2, False, "popularity", 40, 2) + _queries(80, True, "genre", 40, 3))
    assert set(table) == {weight_key(low, known) for low, _name in BUCKETS[1:] for known in (False, True)}
    assert table[KNOWN + "1-4"] == table["1-4"] and table["1-4"]["popularity"] > 0  # no known member has 1-4 ratings here
    assert table["50+"] == table[KNOWN + "50+"] and table["50+"]["genre"] > 0  # every 50+ query is a known member's
    assert table["20-49"] == DEFAULT_WEIGHTS == table[KNOWN + "20-49"]  # no query at all: the defaults
    few = learn_bucket_weights(_queries(12, True, "genre", 10, 4) + _queries(12, False, "model", 15, 5))
    assert few[KNOWN + "10-19"] == few["10-19"]  # 10 known members' queries are too few: the bucket's weights from all 25


def test_the_ranker_uses_the_known_table_and_falls_back_for_older_models() -> None:
    histories, catalog = synthetic_world()
    engine = fit_engine(histories, catalog, TrainConfig(dim=16))
    ranker = engine.ranker
    new, known = dict(DEFAULT_WEIGHTS, model=0.25), dict(DEFAULT_WEIGHTS, model=2.0)
    engine.model.weights = {"20-49": new, KNOWN + "20-49": known}  # every synthetic member rated 20 films
    assert ranker.weights_for(20, known=True) == known and ranker.weights_for(20) == new
    assert ranker.weights_for(20, {"model": 0.5}, known=True)["model"] == 0.5  # a member's own weights come first
    assert ranker.rank(engine.user_feedback(histories[0], known=True), None, 5).weights == known
    assert ranker.rank(engine.user_feedback(histories[0]), None, 5).weights == new
    engine.model.weights = {"20-49": new}  # a model trained before the known members' table
    assert ranker.weights_for(20, known=True) == new
    assert bucket(20) == "20-49" and weight_key(20, True) == KNOWN + "20-49"


def test_a_member_is_known_while_most_of_their_ratings_were_trained_on() -> None:
    assert known_to_model(20, 20) and known_to_model(20, 40)
    assert not known_to_model(20, 41)  # rated more than as much again since the model was trained
    assert not known_to_model(0, 0) and not known_to_model(0, 5)  # never in the training data


def test_many_lists_are_put_in_match_order_as_one_list_is() -> None:
    rng = np.random.default_rng(6)
    ranked = np.stack([rng.permutation(40)[:10] for _ in range(300)])
    match = rng.random((300, 40))
    shown = match_order_many(ranked, np.take_along_axis(match, ranked, axis=1))
    assert all(shown[row].tolist() == match_order(ranked[row].tolist(), match[row]) for row in range(300))


def test_the_weights_are_scored_on_lists_in_match_order_and_through_the_match_filter() -> None:
    """The objective is the list as shown: a target the weights rank first but whose match % is far below
    the rest is shown last; one the match filter keeps out is never shown."""
    signals = np.zeros((len(WEIGHT_KEYS), 30), dtype=np.float32)
    signals[WEIGHT_KEYS.index("collaborative")] = np.arange(30, 0, -1)  # candidate 0 first, then 1, ...
    match = np.full(30, 0.8, dtype=np.float32)
    match[0] = 0.4  # the target: ranked first, 40 points below the other nine in the list
    weights = np.array([1.0 if k == "collaborative" else 0.0 for k in WEIGHT_KEYS], dtype=np.float32)
    plain = Query(20, signals, np.array([0]), True)
    as_shown = Query(20, signals, np.array([0]), True, match)
    assert StackedQueries([plain]).ndcg(weights) == 1.0
    assert abs(StackedQueries([as_shown]).ndcg(weights) - DISCOUNT[9]) < 1e-6  # shown tenth
    low = match.copy()
    low[0] = 0.1
    filtered = Query(20, signals, np.array([0]), True, low, match_filter(low))
    assert filtered.shown is not None and not filtered.shown[0] and filtered.shown[1:].all()
    assert StackedQueries([filtered]).ndcg(weights) == 0.0
    assert match_filter(np.full(30, 0.45)) is None  # too few strong matches: every candidate may be shown


def test_validation_queries_carry_each_candidates_match_when_given_a_calibrator() -> None:
    histories, catalog = synthetic_world()
    config = TrainConfig(dim=16)
    as_dict = dict(enumerate(histories))
    calibrator, _dislike, _figures = fit_calibrator(as_dict, catalog, config)
    fit = lambda hs: fit_engine(hs, catalog, config)  # noqa: E731
    queries = validation_queries(as_dict, len(catalog), fit, calibrator=calibrator)
    assert queries and all(q.match is not None and q.match.shape == (q.signals.shape[1],) for q in queries)
    assert all(0.0 <= q.match.min() and q.match.max() <= 1.0 for q in queries)  # type: ignore[union-attr]
    assert len({round(float(v), 3) for q in queries for v in q.match}) > 1  # type: ignore[union-attr]
    assert all(q.match is None for q in validation_queries(as_dict, len(catalog), fit))


def test_known_members_weights_are_learned_on_lists_as_shown_and_new_members_on_the_plain_order() -> None:
    rng = np.random.default_rng(7)
    queries = []
    for query in _queries(12, True, "collaborative", 40, 8) + _queries(12, False, "collaborative", 40, 9):
        match = rng.uniform(0.3, 0.45, CANDIDATES).astype(np.float32)
        match[query.targets] = 0.05  # what the collaborative signal finds, match % shows last
        queries.append(Query(query.n_ratings, query.signals, query.targets, query.known, match, match_filter(match)))
    known = [q for q in queries if q.known]
    collaborative = np.array([1.0 if k == "collaborative" else 0.0 for k in WEIGHT_KEYS], dtype=np.float32)
    assert StackedQueries(known).ndcg(collaborative) < StackedQueries(known, as_shown=False).ndcg(collaborative)
    table = learn_bucket_weights(queries)
    assert table[KNOWN + "10-19"] == coordinate_ascent(known, DEFAULT_WEIGHTS, as_shown=True)
    assert table["10-19"] == coordinate_ascent(queries, DEFAULT_WEIGHTS, as_shown=False)
