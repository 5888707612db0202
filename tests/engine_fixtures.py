"""Tiny synthetic worlds with planted structure, for engine contract tests."""
from __future__ import annotations

import numpy as np

from engine.data import History, ItemIndex
from engine.snapshot import Catalog

N_ITEMS = 60
GROUP = 30  # items 0..29 are "action", 30..59 are "romance"


def synthetic_world(n_users: int = 80, seed: int = 0) -> tuple[list[History], Catalog]:
    """Half the users love action and dislike romance, half the opposite, each rating 20 movies."""
    rng = np.random.default_rng(seed)
    histories = []
    for user in range(n_users):
        likes_action = user % 2 == 0
        items = rng.choice(N_ITEMS, size=20, replace=False)
        in_action = items < GROUP
        loved = in_action == likes_action
        ratings = np.where(loved, rng.choice([4.0, 4.5, 5.0], size=20), rng.choice([1.0, 1.5, 2.0], size=20))
        histories.append(History(items.astype(np.int64), ratings))
    catalog = Catalog(
        items=ItemIndex(np.arange(1, N_ITEMS + 1)),
        titles=[f"Movie {i}" for i in range(N_ITEMS)],
        years=[2000 + i % 20 for i in range(N_ITEMS)],
        genres=[["Action"] if i < GROUP else ["Romance"] for i in range(N_ITEMS)],
        directors=[[f"Director {i % 7}"] for i in range(N_ITEMS)],
        cast=[[] for _ in range(N_ITEMS)],
    )
    return histories, catalog
