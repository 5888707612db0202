"""Bucket weights come in two tables: members the model was trained on, and members who joined since."""
from __future__ import annotations

import numpy as np

from engine.engine import fit_engine
from engine.ranker import BUCKETS, DEFAULT_WEIGHTS, KNOWN, WEIGHT_KEYS, bucket, known_to_model, weight_key
from engine.training import TrainConfig
from engine.weights import Query, StackedQueries, coordinate_ascent, learn_bucket_weights
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
