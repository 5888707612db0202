"""The learner's nearest members: the partition gives what a full stable sort gives."""
from __future__ import annotations

import numpy as np

from engine.engine import top_rows


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
