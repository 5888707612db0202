"""Ranking metrics with binary gain."""
from __future__ import annotations

import numpy as np

DISCOUNT = 1.0 / np.log2(np.arange(2, 102))


def top_k(scores: np.ndarray, candidates: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best candidates, best first (candidates: boolean mask over items)."""
    masked = np.where(candidates, scores, -np.inf)
    k = min(k, int(candidates.sum()))
    if k == 0:
        return np.empty(0, dtype=np.int64)
    part = np.argpartition(-masked, k - 1)[:k]
    return part[np.argsort(-masked[part], kind="stable")]


def ndcg_at(ranked: np.ndarray, relevant: np.ndarray, k: int = 10) -> float:
    if len(relevant) == 0:
        return 0.0
    hits = np.isin(ranked[:k], relevant)
    dcg = float((DISCOUNT[: len(hits)] * hits).sum())
    ideal = float(DISCOUNT[: min(k, len(relevant))].sum())
    return dcg / ideal


def recall_at(ranked: np.ndarray, relevant: np.ndarray, k: int = 20) -> float:
    """Hits in the top k divided by the number of relevant items."""
    if len(relevant) == 0:
        return 0.0
    return float(np.isin(ranked[:k], relevant).sum()) / len(relevant)
