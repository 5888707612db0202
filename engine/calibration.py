"""Calibrated "match %": the probability that a member rates a movie 4 stars or more.

Features per (user, movie): the user's mean rating against the global mean (generosity), the
movie's shrunk mean rating (quality), the base model's and the personal vector's scores,
content and genre affinity. A logistic layer (temperature scaling of a linear score) maps
them to a first probability; isotonic regression fitted on held-out ratings then corrects
what is left of the miscalibration, separately per rating-count group, so that a member with
5-10 ratings reads an honest, less confident number. Both are fitted on ratings the model
never saw. Every signal is standardised over a fixed reference set of movies (those the model
was trained on), so a movie's match % depends on the member and the movie only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from engine.feedback import POSITIVE_THRESHOLD
from engine.signals import zscore

FEATURES = ("user_mean", "item_mean", "base", "personal", "content", "genre")
ITEM_SHRINK = 10.0
ECE_BINS = 15
COUNT_GROUPS = (0, 10, 20, 50)  # rating-count groups with their own isotonic correction


def count_group(n_ratings: int) -> int:
    return int(np.searchsorted(np.array(COUNT_GROUPS), n_ratings, side="right") - 1)


def item_means(sums: np.ndarray, counts: np.ndarray, global_mean: float) -> np.ndarray:
    """Each movie's mean rating shrunk towards the global mean by its number of ratings."""
    return (sums + ITEM_SHRINK * global_mean) / (counts + ITEM_SHRINK)


def match_features(raw: dict[str, np.ndarray], items: np.ndarray, user_mean: float, global_mean: float,
                   item_mean: np.ndarray, reference: np.ndarray,
                   stats: dict[str, tuple[float, float]] | None = None) -> np.ndarray:
    """(len(items), len(FEATURES)) features for one user; `raw` are the ranker's raw signals, standardised
    over `reference` (the movies the model knows: the same mask for every list). ``stats``: a signal's
    (mean, sd) over the reference, given when ``raw`` holds that signal for ``items`` only."""
    columns = [np.full(len(items), user_mean - global_mean), item_mean[items] - global_mean]
    for name in FEATURES[2:]:
        values = raw.get(name)
        if values is None:
            columns.append(np.zeros(len(items)))
        elif stats and name in stats:
            mean, sd = stats[name]
            columns.append((values[items] - mean) / sd if sd > 0 else np.zeros(len(items)))
        else:
            columns.append(zscore(values, reference)[items])
    return np.column_stack(columns)


@dataclass
class MatchCalibrator:
    coef: np.ndarray = field(default_factory=lambda: np.zeros(len(FEATURES)))
    intercept: float = 0.0
    iso_x: np.ndarray = field(default_factory=lambda: np.array([0.0, 1.0]))
    iso_y: np.ndarray = field(default_factory=lambda: np.array([0.0, 1.0]))
    groups: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # count group -> (x, y)

    def fit(self, features: np.ndarray, labels: np.ndarray, seed: int = 0,
            n_ratings: np.ndarray | None = None) -> "MatchCalibrator":
        """Logistic layer on one half of the held-out ratings, isotonic correction on the other half
        (one for all, and one per rating-count group with at least 200 pairs)."""
        rng = np.random.default_rng(seed)
        half = rng.random(len(labels)) < 0.5
        logistic = LogisticRegression(C=1.0, max_iter=1000).fit(features[half], labels[half])
        self.coef, self.intercept = logistic.coef_[0].astype(float), float(logistic.intercept_[0])
        self.iso_x, self.iso_y = self._isotonic(features[~half], labels[~half])
        self.groups = {}
        if n_ratings is not None:
            group = np.array([count_group(int(n)) for n in n_ratings])
            for g in np.unique(group):
                chosen = ~half & (group == g)
                if chosen.sum() >= 200:
                    self.groups[int(g)] = self._isotonic(features[chosen], labels[chosen])
        return self

    def _isotonic(self, features: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(self.logistic(features), labels)
        return iso.X_thresholds_.astype(float), iso.y_thresholds_.astype(float)

    def logistic(self, features: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(features @ self.coef + self.intercept)))

    def predict(self, features: np.ndarray, n_ratings: int | None = None) -> np.ndarray:
        x, y = self.groups.get(count_group(n_ratings), (self.iso_x, self.iso_y)) if n_ratings is not None else (
            self.iso_x, self.iso_y)
        return np.interp(self.logistic(features), x, y)

    def to_dict(self) -> dict:
        return {"coef": self.coef.tolist(), "intercept": self.intercept, "iso_x": self.iso_x.tolist(), "iso_y": self.iso_y.tolist(),
                "groups": {str(g): [x.tolist(), y.tolist()] for g, (x, y) in self.groups.items()}}

    @classmethod
    def from_dict(cls, data: dict) -> "MatchCalibrator":
        groups = {int(g): (np.array(x), np.array(y)) for g, (x, y) in data.get("groups", {}).items()}
        return cls(np.array(data["coef"]), float(data["intercept"]), np.array(data["iso_x"]), np.array(data["iso_y"]), groups)


def brier(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean((probabilities - labels) ** 2))


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """Weighted mean |accuracy - confidence| over equal-width probability bins."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(probabilities, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        chosen = which == b
        if chosen.any():
            total += chosen.sum() * abs(labels[chosen].mean() - probabilities[chosen].mean())
    return float(total / len(labels)) if len(labels) else 0.0


def labels_of(ratings: Sequence[float]) -> np.ndarray:
    return (np.asarray(ratings, dtype=float) >= POSITIVE_THRESHOLD).astype(float)
