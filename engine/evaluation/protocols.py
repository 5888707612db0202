"""The warm and cold evaluation protocols (splits in `engine.splits`).

warm: 20% of each user's positives (ratings >= 4) held out. Candidates: items with at least
one training interaction, minus everything the user rated except the test items.

cold: 25% of the users with at least 30 positives are new users, removed from all training.
After k fed ratings (k in 0, 1, 2, 5, 10, 20, in time order) the candidates (trainable items
minus everything the user rated except the targets) are ranked and NDCG@10 on the targets
(their positives after the first 20 ratings) reported.

Beside accuracy every list is described by catalog coverage, novelty (the mean popularity
percentile of the top 10, 100 = the most-rated movie) and the share of top-10 slots given
to the 100 most-rated movies.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from tqdm import tqdm

from engine.data import History
from engine.metrics import ndcg_at, recall_at, top_k
from engine.scoring import Scorer
from engine.splits import FEED, ColdSplit, WarmSplit

COLD_STEPS = (0, 1, 2, 5, 10, 20)
TOP_POPULAR = 100


class ListStats:
    """Coverage, novelty and head share of top-10 lists, against training popularity."""

    def __init__(self, train: dict[int, History], trainable: np.ndarray) -> None:
        counts = np.zeros(len(trainable))
        for history in train.values():
            np.add.at(counts, history.items, 1.0)
        order = np.argsort(-counts, kind="stable")
        ranks = np.empty(len(counts))
        ranks[order] = np.arange(len(counts))
        n = max(int(trainable.sum()), 1)
        self.percentile = 100.0 * (1.0 - ranks / n)
        self.head = np.zeros(len(counts), dtype=bool)
        self.head[order[:TOP_POPULAR]] = True
        self.n_trainable = n
        self.shown: set[int] = set()
        self.novelty: list[float] = []
        self.head_share: list[float] = []

    def add(self, top10: np.ndarray) -> None:
        if len(top10) == 0:
            return
        self.shown.update(top10.tolist())
        self.novelty.append(float(self.percentile[top10].mean()))
        self.head_share.append(float(self.head[top10].mean()))

    def figures(self) -> dict[str, float]:
        return {
            "coverage@10": len(self.shown) / self.n_trainable,
            "popularity_percentile@10": float(np.mean(self.novelty)) if self.novelty else 0.0,
            "top100_share@10": float(np.mean(self.head_share)) if self.head_share else 0.0,
        }


def evaluate_warm(scorer: Scorer, split: WarmSplit, batch: int = 256, users: Sequence[int] | None = None,
                  progress: bool = False) -> dict[str, float]:
    """NDCG@10, Recall@20 and list statistics; `scorer` must be fitted on split.train."""
    trainable = split.trainable
    users = list(users) if users is not None else sorted(split.test)
    stats = ListStats(split.train, trainable)
    ndcgs, recalls = [], []
    for start in tqdm(range(0, len(users), batch), desc=f"warm {scorer.name}", disable=not progress, leave=False):
        chunk = users[start : start + batch]
        scores = scorer.score([split.train[u] for u in chunk])
        for row, user in enumerate(chunk):
            candidates = trainable.copy()
            candidates[split.train[user].items] = False
            ranked = top_k(scores[row], candidates, 20)
            ndcgs.append(ndcg_at(ranked, split.test[user], 10))
            recalls.append(recall_at(ranked, split.test[user], 20))
            stats.add(ranked[:10])
    return {"ndcg@10": float(np.mean(ndcgs)) if ndcgs else 0.0,
            "recall@20": float(np.mean(recalls)) if recalls else 0.0, **stats.figures(), "users": len(ndcgs)}


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


def tune(make: Callable[[dict], Scorer], grid: Sequence[dict], split: WarmSplit | ColdSplit,
         progress: bool = False) -> tuple[dict, float]:
    """The grid point with the best validation NDCG@10 on a split cut from training data: warm NDCG@10
    for a warm split, the mean over the fed steps 1..20 for a cold one."""
    best: tuple[dict, float] = (grid[0], -1.0)
    for params in tqdm(grid, desc="tuning", disable=not progress, leave=False):
        if isinstance(split, ColdSplit):
            scorer = make(params).fit(list(split.train.values()), split.n_items)
            value = float(np.mean(list(evaluate_cold(scorer, split, COLD_STEPS[1:]).values())))
        else:
            scorer = make(params).fit(list(split.train.values()), split.n_items)
            value = evaluate_warm(scorer, split)["ndcg@10"]
        if value > best[1]:
            best = (params, value)
    return best
