"""Calibration of "match %" on held-out ratings, beside the base-rate predictor.

20% of each user's star ratings (users with at least 10, `default_rng(0)`) are held out;
the engine is fitted on the rest. The held-out users are split in two: the calibrator is
fitted on one half's ratings and Brier score and ECE (15 bins) are measured on the other's.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from engine.calibration import MatchCalibrator, brier, expected_calibration_error, item_means, labels_of, match_features
from engine.data import History
from engine.engine import FittedEngine, fit_engine
from engine.snapshot import Catalog
from engine.training import TrainConfig


def held_out_ratings(histories: dict[int, History], seed: int = 0, fraction: float = 0.2,
                     minimum: int = 10) -> tuple[dict[int, History], dict[int, History]]:
    rng = np.random.default_rng(seed)
    train: dict[int, History] = {}
    held: dict[int, History] = {}
    for user in sorted(histories):
        history = histories[user]
        rated = np.flatnonzero(~np.isnan(history.ratings))
        if len(rated) < minimum:
            train[user] = history
            continue
        chosen = rng.permutation(rated)[: max(1, round(fraction * len(rated)))]
        keep = np.ones(len(history), dtype=bool)
        keep[chosen] = False
        kinds = None if history.kinds is None else tuple(k for k, m in zip(history.kinds, keep) if m)
        train[user] = History(history.items[keep], history.ratings[keep], kinds)
        held[user] = History(history.items[chosen], history.ratings[chosen])
    return train, held


def pair_features(engine: FittedEngine, train: dict[int, History], held: dict[int, History],
                  global_mean: float, means: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows, labels, owners = [], [], []
    for user, answers in held.items():
        history = train[user]
        feedback = engine.user_feedback(history)
        raw = engine.ranker.signal_matrix(feedback, engine.neighbours(feedback.state))
        candidates = np.ones(len(engine.catalog), dtype=bool)
        candidates[history.items] = False
        stars = history.ratings[~np.isnan(history.ratings)]
        user_mean = float(stars.mean()) if len(stars) else global_mean
        rows.append(match_features(raw, answers.items, user_mean, global_mean, means, candidates))
        labels.append(labels_of(answers.ratings))
        owners.append(np.full(len(answers), user))
    return np.vstack(rows), np.concatenate(labels), np.concatenate(owners)


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
                   seed: int = 0) -> tuple[MatchCalibrator, dict[str, Any]]:
    """Fit on half of the held-out users, measure on the other half; returns the calibrator and the figures."""
    train, held = held_out_ratings(histories, seed)
    engine = fit_engine(list(train.values()), catalog, config)
    global_mean, means = rating_stats(train, len(catalog))
    features, labels, owners = pair_features(engine, train, held, global_mean, means)
    users = np.array(sorted(held))
    calib_users = set(np.random.default_rng(seed).permutation(users)[: len(users) // 2].tolist())
    in_calib = np.array([o in calib_users for o in owners])
    calibrator = MatchCalibrator().fit(features[in_calib], labels[in_calib], seed)
    probabilities = calibrator.predict(features[~in_calib])
    truth = labels[~in_calib]
    base = np.full(len(truth), labels[in_calib].mean())
    figures = {
        "ours": {"brier": brier(probabilities, truth), "ece": expected_calibration_error(probabilities, truth)},
        "base_rate": {"brier": brier(base, truth), "ece": expected_calibration_error(base, truth)},
        "pairs": int(len(truth)), "positive_rate": float(truth.mean()), "global_mean": global_mean,
    }
    figures["brier_vs_base_rate"] = 1.0 - figures["ours"]["brier"] / figures["base_rate"]["brier"]
    return calibrator, figures
