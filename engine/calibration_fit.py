"""Fitting "match %" on held-out ratings (at training time), and measuring it beside the base rate.

20% of each user's star ratings (users with at least 10, `default_rng(0)`) are held out;
the engine is fitted on the rest. The held-out users are split in two: the calibrator is
fitted on one half's ratings and Brier score and ECE (15 bins) are measured on the other's. The same
features give a second calibrator, the chance of a rating under 3 stars (what a movie night must avoid
for every member).
Each held-out user is also asked as a member with only their first 5-9 ratings would be, so
the calibration (and its measurement) covers members who are new.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from engine.calibration import MatchCalibrator, brier, expected_calibration_error, item_means, labels_of, match_features
from engine.data import History
from engine.engine import BATCH_USERS, FittedEngine, fit_engine
from engine.snapshot import Catalog
from engine.training import TrainConfig


MAX_HELD_USERS = 2000  # members whose ratings are held out for calibration (a sample past that: time)


def held_out_ratings(histories: dict[int, History], seed: int = 0, fraction: float = 0.2,
                     minimum: int = 10, max_users: int = MAX_HELD_USERS) -> tuple[dict[int, History], dict[int, History]]:
    """(train, held): ``fraction`` of the ratings of each member with ``minimum`` ratings or more
    held out; past ``max_users`` such members, a seeded sample of them (the rest train whole)."""
    rng = np.random.default_rng(seed)
    eligible = [u for u in sorted(histories) if np.count_nonzero(~np.isnan(histories[u].ratings)) >= minimum]
    if len(eligible) > max_users:
        eligible = np.random.default_rng(seed + 1).choice(eligible, max_users, replace=False).tolist()
    chosen_users = set(eligible)
    train: dict[int, History] = {}
    held: dict[int, History] = {}
    for user in sorted(histories):
        history = histories[user]
        rated = np.flatnonzero(~np.isnan(history.ratings))
        if user not in chosen_users:
            train[user] = history
            continue
        chosen = rng.permutation(rated)[: max(1, round(fraction * len(rated)))]
        keep = np.ones(len(history), dtype=bool)
        keep[chosen] = False
        kinds = None if history.kinds is None else tuple(k for k, m in zip(history.kinds, keep) if m)
        train[user] = History(history.items[keep], history.ratings[keep], kinds)
        held[user] = History(history.items[chosen], history.ratings[chosen])
    return train, held


SHORT = (5, 10)  # a new member's history: their first 5..9 ratings


def pair_features(engine: FittedEngine, train: dict[int, History], held: dict[int, History],
                  global_mean: float, means: np.ndarray, seed: int = 0
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(features, held-out stars, owner, rating count) of every held-out rating, asked once with the user's
    whole training history and once with only its first 5-9 ratings."""
    rng = np.random.default_rng(seed)
    rows, labels, owners, counts = [], [], [], []
    reference = engine.ranker.reference
    asked = [(user, answers, history) for user, answers in held.items()
             for history in (train[user], train[user].prefix(int(rng.integers(*SHORT))))]
    for start in range(0, len(asked), BATCH_USERS):  # one batch of matrix products per block
        block = asked[start : start + BATCH_USERS]
        feedback = [engine.user_feedback(history) for _u, _a, history in block]
        neighbours = engine.neighbours_many([f.state for f in feedback], [None] * len(feedback))
        for (user, answers, history), fb, raw in zip(block, feedback, engine.ranker.signal_matrices(feedback, neighbours)):
            stars = history.ratings[~np.isnan(history.ratings)]
            user_mean = float(stars.mean()) if len(stars) else global_mean
            rows.append(match_features(raw, answers.items, user_mean, global_mean, means, reference))
            labels.append(np.asarray(answers.ratings, dtype=float))
            owners.append(np.full(len(answers), user))
            counts.append(np.full(len(answers), fb.n_ratings))
    return np.vstack(rows), np.concatenate(labels), np.concatenate(owners), np.concatenate(counts)


def rating_stats(histories: dict[int, History], n_items: int) -> tuple[float, np.ndarray]:
    sums = np.zeros(n_items)
    counts = np.zeros(n_items)
    for history in histories.values():
        rated = ~np.isnan(history.ratings)
        np.add.at(sums, history.items[rated], history.ratings[rated])
        np.add.at(counts, history.items[rated], 1.0)
    global_mean = float(sums.sum() / max(counts.sum(), 1.0))
    return global_mean, item_means(sums, counts, global_mean)


def fit_calibrator(histories: dict[int, History], catalog: Catalog, config: TrainConfig = TrainConfig(),
                   seed: int = 0, progress: bool = False) -> tuple[MatchCalibrator, MatchCalibrator, dict[str, Any]]:
    """Fit on half of the held-out users, measure on the other half. Returns the "4 stars or more"
    calibrator (match %), the "under 3 stars" calibrator, and the figures of both. ``progress``: show the
    model fit's (minutes on large data)."""
    train, held = held_out_ratings(histories, seed)
    engine = fit_engine(list(train.values()), catalog, config, progress=progress)
    global_mean, means = rating_stats(train, len(catalog))
    features, stars, owners, counts = pair_features(engine, train, held, global_mean, means, seed)
    users = np.array(sorted(held))
    calib_users = set(np.random.default_rng(seed).permutation(users)[: len(users) // 2].tolist())
    in_calib = np.array([o in calib_users for o in owners])
    fitted, figures = [], {}
    for name, labels in (("like", labels_of(stars)), ("dislike", (stars < DISLIKE_BELOW).astype(float))):
        calibrator = MatchCalibrator().fit(features[in_calib], labels[in_calib], seed, counts[in_calib])
        fitted.append(calibrator)
        figures[name] = _measured(calibrator, features, labels, counts, ~in_calib, float(labels[in_calib].mean()))
    like, dislike = figures.pop("like"), figures.pop("dislike")
    return fitted[0], fitted[1], {**like, "global_mean": global_mean, "under_3_stars": dislike}


DISLIKE_BELOW = 3.0  # "would likely rate it under 3 stars"


def _measured(calibrator: MatchCalibrator, features: np.ndarray, labels: np.ndarray, counts: np.ndarray,
              measured: np.ndarray, base_rate: float) -> dict[str, Any]:
    """Brier score and ECE of ``calibrator`` (and of the base rate) on the measured half, for members
    with 10 ratings or more and for new members (5-9)."""
    probabilities = np.concatenate([calibrator.predict(features[measured & (counts == n)], int(n))
                                    for n in np.unique(counts[measured])])
    order = np.concatenate([np.flatnonzero(measured & (counts == n)) for n in np.unique(counts[measured])])
    truth, n_of = labels[order], counts[order]
    base = np.full(len(truth), base_rate)

    def figures_for(mask: np.ndarray) -> dict[str, Any]:
        out = {"ours": {"brier": brier(probabilities[mask], truth[mask]),
                        "ece": expected_calibration_error(probabilities[mask], truth[mask])},
               "base_rate": {"brier": brier(base[mask], truth[mask]), "ece": expected_calibration_error(base[mask], truth[mask])},
               "pairs": int(mask.sum()), "positive_rate": float(truth[mask].mean())}
        out["brier_vs_base_rate"] = 1.0 - out["ours"]["brier"] / out["base_rate"]["brier"]
        return out

    return {**figures_for(n_of >= SHORT[1]), "new_members_5_9": figures_for((n_of >= SHORT[0]) & (n_of < SHORT[1]))}
