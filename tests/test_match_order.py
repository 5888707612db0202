"""The order a list is shown in: the ranking's own, bent only where the match % would read wrong."""
from __future__ import annotations

import numpy as np

from engine.ranker import MATCH_SWAP, match_order


def test_no_film_follows_one_more_than_the_swap_below_it_and_the_ranking_order_is_kept_otherwise() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        match = rng.random(40)
        chosen = rng.permutation(40)[:12].tolist()
        shown = match_order(chosen, match)
        assert sorted(shown) == sorted(chosen)
        values = match[shown]
        assert all(values[j] <= values[i] + MATCH_SWAP + 1e-12 for i in range(len(values)) for j in range(i + 1, len(values)))
        close = np.full(40, 0.5) + rng.random(40) * MATCH_SWAP  # every gap within the swap: nothing moves
        assert match_order(chosen, close) == chosen
    match = np.array([0.60, 0.63, 0.90, 0.58])
    # 1 may pass 0 by 3 points, but 2 is 30 points higher than both and goes first
    assert match_order([0, 1, 2, 3], match) == [2, 0, 1, 3]
    assert match_order([0, 1, 2, 3], match, swap=0.0) == [2, 1, 0, 3]  # strict match order
    assert match_order([0, 1, 2, 3], match, swap=1.0) == [0, 1, 2, 3]  # the ranking's order


def test_films_shown_lately_come_after_the_fresh_ones_whatever_their_match() -> None:
    match = np.array([0.9, 0.5, 0.7, 0.4])
    assert match_order([0, 1, 2, 3], match, recent={0}) == [2, 1, 3, 0]
