"""The warm and cold evaluation protocols (see issue "Learning engine", section 5).

warm: positives are ratings >= 4. For every user with at least 2 positives, shuffle them
with one `default_rng(0)` (users in ascending id order) and hold out max(1, round(0.2 n)).
Everything else the user rated is training data. Candidates: items with at least one
training interaction, minus everything the user rated except the test items.

cold: users with at least 30 positives are eligible; 25% of them (`default_rng(0)`) are new
users, removed from all training. Their ratings, in time order, are fed one at a time; the
first 20 are the feed, the targets are their positives after those. After k fed ratings
(k in 0, 1, 2, 5, 10, 20) the candidates (trainable items minus everything the user rated
except the targets) are ranked and NDCG@10 on the targets reported.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from tqdm import tqdm

from engine.data import History
from engine.evaluation.metrics import ndcg_at, recall_at, top_k
from engine.feedback import POSITIVE_THRESHOLD
from engine.scoring import Scorer

COLD_STEPS = (0, 1, 2, 5, 10, 20)
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


def evaluate_warm(scorer: Scorer, split: WarmSplit, batch: int = 256, users: Sequence[int] | None = None,
                  progress: bool = False) -> dict[str, float]:
    """NDCG@10, Recall@20 and catalog coverage of the top-10 lists; `scorer` must be fitted on split.train."""
    trainable = split.trainable
    users = list(users) if users is not None else sorted(split.test)
    ndcgs, recalls, shown = [], [], set()
    for start in tqdm(range(0, len(users), batch), desc=f"warm {scorer.name}", disable=not progress, leave=False):
        chunk = users[start : start + batch]
        scores = scorer.score([split.train[u] for u in chunk])
        for row, user in enumerate(chunk):
            candidates = trainable.copy()
            candidates[split.train[user].items] = False
            ranked = top_k(scores[row], candidates, 20)
            ndcgs.append(ndcg_at(ranked, split.test[user], 10))
            recalls.append(recall_at(ranked, split.test[user], 20))
            shown.update(ranked[:10].tolist())
    return {
        "ndcg@10": float(np.mean(ndcgs)) if ndcgs else 0.0,
        "recall@20": float(np.mean(recalls)) if recalls else 0.0,
        "coverage@10": len(shown) / max(1, int(trainable.sum())),
        "users": len(ndcgs),
    }


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


def evaluate_cold(scorer: Scorer, split: ColdSplit, steps: Sequence[int] = COLD_STEPS,
                  progress: bool = False) -> dict[str, float]:
    """NDCG@10 on the targets after k fed ratings; `scorer` must be fitted on split.train."""
    trainable = split.trainable
    users = [u for u in split.new_users if len(split.targets(u))]
    result: dict[str, float] = {}
    for k in tqdm(steps, desc=f"cold {scorer.name}", disable=not progress, leave=False):
        scores = scorer.score([split.new_users[u].prefix(min(k, FEED)) for u in users])
        values = []
        for row, user in enumerate(users):
            targets = split.targets(user)
            candidates = trainable.copy()
            candidates[split.new_users[user].items] = False
            candidates[targets] = trainable[targets]
            values.append(ndcg_at(top_k(scores[row], candidates, 10), targets, 10))
        result[str(k)] = float(np.mean(values)) if values else 0.0
    return result


def tune(make: Callable[[dict], Scorer], grid: Sequence[dict], split: WarmSplit, progress: bool = False) -> tuple[dict, float]:
    """The grid point with the best validation NDCG@10 (the split is cut from training data)."""
    best: tuple[dict, float] = (grid[0], -1.0)
    for params in tqdm(grid, desc="tuning", disable=not progress, leave=False):
        scorer = make(params).fit(list(split.train.values()), split.n_items)
        value = evaluate_warm(scorer, split)["ndcg@10"]
        if value > best[1]:
            best = (params, value)
    return best
