"""Sliders: named moods ("dark", "feel-good") and how much a member likes each.

A movie's fit to a mood is the calibrated probability from `engine.moods` (learned from what the
movie is, never from its title). The scorer here adds the member's side: how much their ratings
lean towards each mood, decayed by age and weighted by how they said it, with explicit context
rules (late at night, weekends). `mood=` steers the member's own ranking towards movies that fit
(`bot/services/recommendations.py`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.moods import LabelRule, logit

MOOD_WEIGHT = 1.0  # how strongly a mood re-ranks, in standard deviations of the ranker's score


@dataclass
class Sliders:
    names: list[str]
    descriptions: list[str]
    vectors: np.ndarray  # sliders x text_dim, unit rows
    rules: list[LabelRule] = field(default_factory=list)  # the weak labels each mood is calibrated against

    def index(self, name: str) -> int | None:
        try:
            return self.names.index(name)
        except ValueError:
            return None


def standardised_fit(probabilities: np.ndarray) -> np.ndarray:
    """items x sliders: the log-odds of fitting each mood, standardised per mood over the catalog."""
    odds = logit(probabilities)
    return (odds - odds.mean(axis=0)) / np.maximum(odds.std(axis=0), 1e-9)


# --------------------------------------------------------------------------- per-user slider scores

@dataclass(frozen=True)
class Action:
    """One thing a user did about a movie, as the slider scorer weighs it."""

    item: int
    valence: float  # from engine.feedback.signal
    kind: str = "rating"  # rating, love, like, meh, dislike, hate, not_interested, seen
    source: str = "slash"  # slash, button, dm_reaction, ...
    age_days: float = 0.0


@dataclass(frozen=True)
class ContextRule:
    """An explicit adjustment: when the context matches, multiply one feature's weight for some sliders."""

    sliders: tuple[str, ...]
    feature: str
    multiplier: float
    hours: tuple[int, int] | None = None  # [start, end) in local hours, may wrap midnight
    weekend: bool | None = None
    server: int | None = None
    segment: str | None = None

    def applies(self, context: dict | None) -> bool:
        if not context:
            return False
        if self.hours is not None:
            hour = context.get("hour")
            if hour is None:
                return False
            start, end = self.hours
            if not (start <= hour < end if start < end else hour >= start or hour < end):
                return False
        if self.weekend is not None and context.get("weekend") != self.weekend:
            return False
        if self.server is not None and context.get("server") != self.server:
            return False
        if self.segment is not None and context.get("segment") != self.segment:
            return False
        return True


FEATURE_NAMES = ("user_slider", "item_slider", "user_item", "recency")


@dataclass
class SliderConfig:
    # love > like > plain rating > DM reaction, as the design asks; all configurable
    kind_weights: dict[str, float] = field(default_factory=lambda: {
        "love": 2.0, "hate": 2.0, "like": 1.5, "dislike": 1.5, "rating": 1.0, "meh": 1.0, "not_interested": 1.0, "seen": 0.5})
    source_weights: dict[str, float] = field(default_factory=lambda: {"dm_reaction": 0.7})
    half_life_days: float = 90.0
    feature_weights: dict[str, float] = field(default_factory=lambda: {
        "user_slider": 1.0, "item_slider": 1.5, "user_item": 1.0, "recency": 0.1})
    rules: tuple[ContextRule, ...] = (
        ContextRule(("dark", "scary", "mind-bending"), "item_slider", 1.3, hours=(22, 5)),
        ContextRule(("feel-good", "family-friendly", "funny"), "item_slider", 1.2, weekend=True),
    )

    def action_weight(self, action: Action) -> float:
        kind = self.kind_weights.get(action.kind, 1.0)
        source = self.source_weights.get(action.source, 1.0)
        return kind * source * 0.5 ** (max(action.age_days, 0.0) / self.half_life_days)


class SliderScorer:
    """Scores movies for a user against every slider, with the features and weights that produced it."""

    def __init__(self, sliders: Sliders, fit: np.ndarray, text_vectors: np.ndarray, years: list[int | None],
                 config: SliderConfig | None = None, calibrators: dict[str, object] | None = None) -> None:
        """``fit``: items x sliders, each movie's calibrated probability of fitting each mood."""
        self.sliders, self.text = sliders, text_vectors
        self.config = config or SliderConfig()
        self.fit = fit
        self.item_fit = standardised_fit(fit)  # items x sliders
        self.slider_cos = fit - fit.mean(axis=0)  # items x sliders: fit against the catalog's typical movie
        known = np.array([y for y in years if y], dtype=float)
        centre, spread = (known.mean(), known.std() or 1.0) if len(known) else (2000.0, 1.0)
        self.recency = np.array([(y - centre) / spread if y else 0.0 for y in years])
        self.calibrators = calibrators or {}

    def weights(self, context: dict | None = None) -> np.ndarray:
        """sliders x features weight matrix after the context rules."""
        base = np.array([self.config.feature_weights[f] for f in FEATURE_NAMES], dtype=float)
        matrix = np.tile(base, (len(self.sliders.names), 1))
        for rule in self.config.rules:
            if rule.applies(context) and rule.feature in FEATURE_NAMES:
                column = FEATURE_NAMES.index(rule.feature)
                for name in rule.sliders:
                    row = self.sliders.index(name)
                    if row is not None:
                        matrix[row, column] *= rule.multiplier
        return matrix

    def user_profile(self, actions: list[Action]) -> tuple[np.ndarray, np.ndarray]:
        """(affinity per slider, unit text profile): decay- and kind-weighted, valence-signed."""
        if not actions:
            return np.zeros(len(self.sliders.names)), np.zeros(self.text.shape[1])
        items = np.array([a.item for a in actions])
        w = np.array([self.config.action_weight(a) for a in actions])
        v = np.array([a.valence for a in actions])
        affinity = (w * v) @ self.slider_cos[items] / max(w.sum(), 1e-9)
        profile = (w * v) @ self.text[items]
        norm = np.linalg.norm(profile)
        return affinity, (profile / norm if norm else profile)

    def features(self, actions: list[Action], movies: np.ndarray) -> np.ndarray:
        """movies x sliders x features."""
        affinity, profile = self.user_profile(actions)
        user_item = self.text[movies] @ profile
        n, s = len(movies), len(self.sliders.names)
        out = np.empty((n, s, len(FEATURE_NAMES)))
        out[:, :, 0] = affinity[None, :] * 4.0  # probability differences, scaled to the others' range
        out[:, :, 1] = self.item_fit[movies]
        out[:, :, 2] = user_item[:, None] * 5.0
        out[:, :, 3] = self.recency[movies][:, None]
        return out

    def probability(self, raw: np.ndarray) -> np.ndarray:
        """movies x sliders raw scores -> calibrated probabilities (a logistic fallback before fitting)."""
        out = 1.0 / (1.0 + np.exp(-raw))
        for j, name in enumerate(self.sliders.names):
            calibrator = self.calibrators.get(name)
            if calibrator is not None:
                column = raw[..., j]
                out[..., j] = calibrator.predict(column.reshape(-1, 1)).reshape(column.shape)  # type: ignore[attr-defined]
        return out

    def score_batch(self, users: list[list[Action]], movies: np.ndarray, context: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(raw, probability), each users x movies x sliders, with matrix operations per user."""
        weights = self.weights(context)
        raw = np.stack([np.einsum("msf,sf->ms", self.features(actions, movies), weights) for actions in users]) if users \
            else np.zeros((0, len(movies), len(self.sliders.names)))
        return raw, self.probability(raw)

    def score(self, actions: list[Action], movie: int, context: dict | None = None) -> dict[str, dict]:
        """Every slider's raw score, probability, features and weights for one user and one movie."""
        weights = self.weights(context)
        features = self.features(actions, np.array([movie]))[0]
        raw = np.einsum("sf,sf->s", features, weights)
        probability = self.probability(raw[None, :])[0]
        return {
            name: {"raw_score": float(raw[j]), "probability": float(probability[j]),
                   "features": dict(zip(FEATURE_NAMES, map(float, features[j]))),
                   "weights": dict(zip(FEATURE_NAMES, map(float, weights[j])))}
            for j, name in enumerate(self.sliders.names)
        }


def fit_slider_calibrators(scorer: SliderScorer, train: dict, held: dict, seed: int = 0) -> tuple[dict, dict]:
    """Temperature scaling + isotonic per slider, on held-out ratings (positive = 4 stars or more).

    ``train``/``held``: user -> History. Returns (calibrators by slider, ECE by slider on the
    half of the users not used for fitting).
    """
    from engine.calibration import MatchCalibrator, expected_calibration_error, labels_of
    from engine.feedback import signal

    raws, labels, owners = [], [], []
    for user, answers in held.items():
        history = train[user]
        kinds = history.kinds or ("rating",) * len(history)
        actions = [Action(int(i), signal(k, None if r != r else float(r)).valence, k)
                   for i, r, k in zip(history.items, history.ratings, kinds)]
        raw, _ = scorer.score_batch([actions], answers.items)
        raws.append(raw[0])
        labels.append(labels_of(answers.ratings))
        owners.append(np.full(len(answers), user))
    raw_all, y, who = np.vstack(raws), np.concatenate(labels), np.concatenate(owners)
    users = np.array(sorted(held))
    fit_users = set(np.random.default_rng(seed).permutation(users)[: len(users) // 2].tolist())
    fit_rows = np.array([o in fit_users for o in who])
    calibrators, ece = {}, {}
    for j, name in enumerate(scorer.sliders.names):
        column = raw_all[:, j : j + 1]
        calibrators[name] = MatchCalibrator().fit(column[fit_rows], y[fit_rows], seed)
        ece[name] = expected_calibration_error(calibrators[name].predict(column[~fit_rows]), y[~fit_rows])
    return calibrators, ece
