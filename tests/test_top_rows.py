"""The learner's nearest members: the partition gives what a full stable sort gives."""
from __future__ import annotations

import numpy as np

from engine.engine import top_rows, top_rows_many


def _by_full_sort(scores: np.ndarray, cap: int) -> np.ndarray:
    order = np.argsort(-scores, kind="stable")
    return order[np.isfinite(scores[order])][:cap]


def test_top_rows_equals_a_full_stable_sort_with_ties_and_excluded_rows() -> None:
    rng = np.random.default_rng(3)
    for trial in range(200):
        n = int(rng.integers(1, 400))
        scores = np.round(rng.normal(size=n), int(rng.integers(0, 3)))  # rounding makes many ties
        scores[rng.random(n) < 0.05] = -np.inf  # the member's own row
        scores[rng.random(n) < 0.02] = np.nan
        cap = int(rng.integers(1, 120))
        np.testing.assert_array_equal(top_rows(scores, cap), _by_full_sort(scores, cap), err_msg=f"trial {trial}")


def test_top_rows_of_a_row_with_fewer_finite_scores_than_the_cap() -> None:
    scores = np.array([-np.inf, 0.5, np.nan, 0.5, -np.inf])
    assert top_rows(scores, 3).tolist() == [1, 3]


def test_top_rows_of_a_block_equal_each_rows_top_rows() -> None:
    """The block version (one topk for all rows) keeps the single-row rules: ties in index order, at
    the cut too, and non-finite scores never chosen."""
    rng = np.random.default_rng(4)
    for trial in range(60):
        rows, n = int(rng.integers(1, 40)), int(rng.integers(1, 500))
        scores = np.round(rng.normal(size=(rows, n)), int(rng.integers(0, 4))).astype(np.float32)
        scores[rng.random((rows, n)) < 0.03] = -np.inf
        scores[rng.random((rows, n)) < 0.01] = np.nan
        if trial % 3 == 0:
            scores[0] = 0.5  # a row of nothing but ties
        cap = int(rng.integers(1, 120))
        block = top_rows_many(scores, cap)
        assert len(block) == rows
        for row in range(rows):
            np.testing.assert_array_equal(block[row], top_rows(scores[row], cap), err_msg=f"trial {trial} row {row}")
