"""The full evaluation on the shared MovieLens data: the issue's targets, measured for real.

Marked slow (about 4 minutes with text encoding); CI runs it.
"""
from __future__ import annotations

import pytest

from bot.services.evaluation import evaluate_files
from tests.conftest import IMDB, MOVIELENS, requires_shared


@pytest.mark.slow
def test_targets_on_movielens(test_settings) -> None:  # type: ignore[no-untyped-def]
    requires_shared()
    result = evaluate_files(test_settings, MOVIELENS / "ratings.csv", MOVIELENS / "movies.csv", MOVIELENS / "links.csv",
                            IMDB, MOVIELENS / "tags.csv", progress=False)
    warm = result["warm"]
    best_warm = max(warm[p]["ndcg@10"] for p in ("popularity", "ease", "als"))
    assert warm["ours"]["ndcg@10"] >= 1.05 * best_warm, warm
    cold = result["cold"]
    for step in ("0", "1", "2", "5", "10", "20"):
        best = max(cold[p][step] for p in ("popularity", "ease", "als"))
        assert cold["ours"][step] >= best - 1e-12, (step, cold)
    assert cold["ours"]["5"] >= 1.10 * max(cold[p]["5"] for p in ("popularity", "ease", "als"))
    for step in ("1", "2"):
        assert cold["ours"][step] > cold["popularity"][step]
    calibration = result["calibration"]
    assert calibration["ours"]["ece"] <= 0.03, calibration
    assert calibration["ours"]["brier"] <= 0.9 * calibration["base_rate"]["brier"], calibration
    # same seeds, same split: the peers' numbers are reproducible facts about the data
    assert warm["popularity"]["users"] == warm["ours"]["users"] == 608
    assert result["config"]["cold_users"] == 90
