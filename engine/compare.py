"""Two members' tastes side by side, and picks for a group: pure numpy, no I/O.

Taste match blends two views: the cosine between the members' taste vectors (what the model
learned from everything each rated), and their agreement on the films both rated. The second
counts more as the overlap grows (weight n / (n + OVERLAP_HALF)), and the confidence says how much
overlap there is. A group pick avoids misery: it maximises the smallest member's chance of
liking the film (ties broken by the group's mean), so nobody sits through a film they would hate.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

OVERLAP_HALF = 10.0  # co-rated films at which agreement and taste vectors count equally
LOVED = 4.0
DISAGREEMENT = 2.0  # stars apart for a co-rated film to count as a disagreement


@dataclass(frozen=True)
class TasteMatch:
    percent: float  # 0 to 100
    confidence: str  # "low", "medium" or "high", from the overlap and each member's ratings
    overlap: int  # films both rated
    both_loved: list[int] = field(default_factory=list)  # item indices, the most loved first
    disagreements: list[tuple[int, float, float]] = field(default_factory=list)  # (item, stars a, stars b), widest first


def confidence(overlap: int, ratings_a: int, ratings_b: int) -> str:
    if min(ratings_a, ratings_b) < 5 or overlap < 5:
        return "low"
    return "medium" if overlap < 20 else "high"


def taste_match(vector_a: np.ndarray | None, vector_b: np.ndarray | None, stars_a: Mapping[int, float],
                stars_b: Mapping[int, float]) -> TasteMatch:
    """``vector_*``: taste vectors (None without a personal model); ``stars_*``: item -> stars given."""
    common = sorted(set(stars_a) & set(stars_b))
    parts, weights = [], []
    if vector_a is not None and vector_b is not None and np.any(vector_a) and np.any(vector_b):
        cosine = float(vector_a @ vector_b / (np.linalg.norm(vector_a) * np.linalg.norm(vector_b)))
        parts.append((cosine + 1.0) / 2.0)
        weights.append(1.0)
    if common:
        gaps = np.array([abs(stars_a[i] - stars_b[i]) for i in common])
        share = len(common) / (len(common) + OVERLAP_HALF)
        parts.append(1.0 - float(gaps.mean()) / 4.5)
        weights = [w * (1.0 - share) for w in weights] + [share if weights else 1.0]
    percent = 100.0 * float(np.average(parts, weights=weights)) if parts else 50.0
    loved = sorted((i for i in common if stars_a[i] >= LOVED and stars_b[i] >= LOVED),
                   key=lambda i: (-min(stars_a[i], stars_b[i]), -(stars_a[i] + stars_b[i]), i))
    apart = sorted(((i, stars_a[i], stars_b[i]) for i in common if abs(stars_a[i] - stars_b[i]) >= DISAGREEMENT),
                   key=lambda t: (-abs(t[1] - t[2]), t[0]))
    return TasteMatch(round(percent, 1), confidence(len(common), len(stars_a), len(stars_b)), len(common), loved, apart)


def group_scores(matches: np.ndarray, fairness: np.ndarray | None = None) -> np.ndarray:
    """members x items chances of liking -> one score per item: the least happy member's chance first
    (least misery), the mean breaking near-ties. ``fairness`` (one weight per member, mean 1) lets a member
    who did not get their way last time count more."""
    weighted = matches if fairness is None else np.clip(matches * fairness[:, None], 0.0, 1.0)
    return weighted.min(axis=0) + 0.1 * weighted.mean(axis=0)


def group_pick(matches: np.ndarray, candidates: np.ndarray, k: int = 1, fairness: np.ndarray | None = None) -> list[int]:
    """The ``k`` best items for the group among ``candidates`` (a boolean mask)."""
    scores = np.where(candidates, group_scores(matches, fairness), -np.inf)
    order = np.argsort(-scores, kind="stable")[:k]
    return [int(i) for i in order if np.isfinite(scores[i])]


MISERY_FLOOR = 0.30  # a film any member has less than this chance of rating 4 stars or more is never offered
FAIRNESS_SPREAD = 0.2  # at most this much extra weight for whoever got their way least last time


def fairness_weights(last: list[float | None]) -> np.ndarray:
    """One weight per member from how much each liked the last winner (None: no past night): below the
    group's mean counts more this time, above it less, within 1 ± FAIRNESS_SPREAD."""
    known = [s for s in last if s is not None]
    if len(known) < 2:
        return np.ones(len(last))
    mean = float(np.mean(known))
    return np.array([1.0 if s is None else 1.0 + float(np.clip(mean - s, -FAIRNESS_SPREAD, FAIRNESS_SPREAD))
                     for s in last])


def night_options(matches: np.ndarray, candidates: np.ndarray, k: int, fairness: np.ndarray | None = None,
                  per_member: int = 50, dislikes: np.ndarray | None = None) -> list[int]:
    """Up to ``k`` films for a group: drawn from each member's own top ``per_member`` (by chance of liking),
    none that any member would likely rate under 3 stars (``dislikes``: members x items chances of that,
    at most LIKELY_UNDER_3) nor likely not enjoy (MISERY_FLOOR), best group score first."""
    pool = np.zeros(matches.shape[1], dtype=bool)
    for row in matches:
        ranked = np.argsort(-np.where(candidates, row, -np.inf), kind="stable")[:per_member]
        pool[ranked] = True
    pool &= candidates & (matches.min(axis=0) >= MISERY_FLOOR)
    if dislikes is not None:
        pool &= dislikes.max(axis=0) < LIKELY_UNDER_3
    return group_pick(matches, pool, k, fairness)


LIKELY_UNDER_3 = 0.5  # "would likely rate it under 3 stars": a calibrated chance of one half or more
