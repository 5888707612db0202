"""Train/held-out splits of rating histories (warm and cold), shared by training-time
validation and the offline evaluation.

warm: positives are ratings >= 4. For every user with at least 2 positives, shuffle them
with one `default_rng(seed)` (users in ascending id order) and hold out max(1, round(0.2 n)).
Everything else the user rated is training data.

cold: users with at least 30 positives are eligible; 25% of them are new users, removed
from all training. Their ratings, in time order, are fed one at a time; the first 20 are
the feed, the targets are their positives after those.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.data import History, ItemIndex
from engine.feedback import POSITIVE_THRESHOLD

FEED = 20


def trainable_mask(train: dict[int, History], n_items: int) -> np.ndarray:
    """Items with at least one training interaction."""
    mask = np.zeros(n_items, dtype=bool)
    for history in train.values():
        mask[history.items] = True
    return mask


@dataclass
class WarmSplit:
    train: dict[int, History]
    test: dict[int, np.ndarray]
    n_items: int

    @property
    def trainable(self) -> np.ndarray:
        return trainable_mask(self.train, self.n_items)

    def held_out_pairs(self, items: ItemIndex) -> set[tuple[int, int]]:
        """(user id, movie id) of every held-out rating: what must not reach a model's inputs."""
        return {(int(u), int(items.movie_ids[i])) for u, held in self.test.items() for i in held}


def warm_split(histories: dict[int, History], n_items: int, seed: int = 0, fraction: float = 0.2) -> WarmSplit:
    rng = np.random.default_rng(seed)
    train: dict[int, History] = {}
    test: dict[int, np.ndarray] = {}
    for user in sorted(histories):
        history = histories[user]
        positive_rows = np.flatnonzero(history.ratings >= POSITIVE_THRESHOLD)
        if len(positive_rows) < 2:
            train[user] = history
            continue
        shuffled = rng.permutation(positive_rows)
        held = shuffled[: max(1, round(fraction * len(positive_rows)))]
        keep = np.ones(len(history), dtype=bool)
        keep[held] = False
        train[user] = History(history.items[keep], history.ratings[keep])
        test[user] = history.items[held]
    return WarmSplit(train, test, n_items)


@dataclass
class ColdSplit:
    train: dict[int, History]
    new_users: dict[int, History]  # full time-ordered histories of the new users
    n_items: int
    eligible: int = 0

    @property
    def trainable(self) -> np.ndarray:
        return trainable_mask(self.train, self.n_items)

    def targets(self, user: int) -> np.ndarray:
        """The user's positives after the first FEED ratings."""
        history = self.new_users[user]
        return history.items[FEED:][history.ratings[FEED:] >= POSITIVE_THRESHOLD]


def cold_split(histories: dict[int, History], n_items: int, seed: int = 0, fraction: float = 0.25,
               min_positives: int = 30) -> ColdSplit:
    """`histories` must be in time order (see data.histories_from_frame)."""
    eligible = [u for u in sorted(histories) if int((histories[u].ratings >= POSITIVE_THRESHOLD).sum()) >= min_positives]
    rng = np.random.default_rng(seed)
    chosen = set(rng.choice(eligible, size=round(fraction * len(eligible)), replace=False).tolist()) if eligible else set()
    train = {u: h for u, h in histories.items() if u not in chosen}
    new = {u: histories[u] for u in sorted(chosen)}
    return ColdSplit(train, new, n_items, eligible=len(eligible))
