"""Both evaluation protocols on small synthetic data with answers known by construction."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pytest

from engine.data import History
from engine.metrics import ndcg_at, recall_at
from engine.evaluation.protocols import evaluate_cold, evaluate_warm
from engine.splits import cold_split, warm_split
from engine.peers import PopularityPeer


def _histories(n_users: int = 12, n_items: int = 40) -> dict[int, History]:
    rng = np.random.default_rng(5)
    out = {}
    for user in range(1, n_users + 1):
        items = rng.choice(n_items, 35, replace=False)
        ratings = np.where(np.arange(35) % 3 == 0, 2.0, 4.5)  # two thirds positives
        out[user] = History(items.astype(np.int64), ratings)
    return out


class Oracle:
    """Knows the held-out answers: must score a perfect 1.0."""

    name = "oracle"

    def __init__(self, answers: dict[int, np.ndarray], histories: dict[int, History]) -> None:
        self.by_history = {id(h): answers[u] for u, h in histories.items()}
        self.n = 40

    def fit(self, histories: Sequence[History], n_items: int) -> "Oracle":
        return self

    def score(self, histories: Sequence[History]) -> np.ndarray:
        out = np.zeros((len(histories), self.n))
        for row, h in enumerate(histories):
            out[row, self.by_history[id(h)]] = 1.0
        return out


class AntiOracle(Oracle):
    def score(self, histories: Sequence[History]) -> np.ndarray:
        return -super().score(histories)


def test_metrics_by_hand() -> None:
    assert ndcg_at(np.array([5, 1, 2]), np.array([5]), 10) == 1.0
    assert ndcg_at(np.array([1, 5]), np.array([5]), 10) == pytest.approx(1 / np.log2(3))
    assert recall_at(np.array([1, 2, 3]), np.array([3, 9]), 20) == 0.5


def test_warm_split_holds_out_a_fifth_of_positives() -> None:
    histories = _histories()
    split = warm_split(histories, 40)
    for user, history in histories.items():
        n_pos = int((history.ratings >= 4).sum())
        assert len(split.test[user]) == max(1, round(0.2 * n_pos))
        assert len(split.train[user]) == len(history) - len(split.test[user])
        assert not set(split.test[user]) & set(split.train[user].items)
    assert warm_split(histories, 40).test.keys() == split.test.keys()  # same seed, same split
    oracle = Oracle(split.test, split.train)
    assert evaluate_warm(oracle, split)["ndcg@10"] == pytest.approx(1.0)
    assert evaluate_warm(oracle, split)["recall@20"] == pytest.approx(1.0)
    worst = evaluate_warm(AntiOracle(split.test, split.train), split)
    assert worst["ndcg@10"] < 0.7 and worst["recall@20"] == pytest.approx(1.0)  # last, yet within 20 of ~13 candidates


def test_cold_protocol_feeds_prefixes_and_scores_targets() -> None:
    histories = _histories(n_users=16)
    split = cold_split(histories, 40, min_positives=20)
    assert split.eligible == 16 and len(split.new_users) == 4
    assert not set(split.new_users) & set(split.train)
    targets = {u: split.targets(u) for u in split.new_users}
    for user, t in targets.items():
        tail = split.new_users[user]
        assert set(t) == set(tail.items[20:][tail.ratings[20:] >= 4])
    seen_lengths: list[int] = []

    class Recorder(Oracle):
        def score(self, hs: Sequence[History]) -> np.ndarray:
            seen_lengths.extend(len(h) for h in hs)
            out = np.zeros((len(hs), 40))
            for row, h in enumerate(hs):
                user = next(u for u, full in split.new_users.items() if np.array_equal(full.items[: len(h)], h.items))
                out[row, targets[user]] = 1.0
            return out

    result = evaluate_cold(Recorder({}, {}), split, steps=(0, 1, 5, 20))
    assert sorted(set(seen_lengths)) == [0, 1, 5, 20]
    assert result["20"] == pytest.approx(1.0)
    popular = evaluate_cold(PopularityPeer().fit(list(split.train.values()), 40), split, steps=(0, 5))
    assert popular["0"] == popular["5"]  # popularity ignores what is fed
