"""Moods from what a movie is: genres, keywords, tags, content rating, runtime, year, popularity and a
title-less text embedding, never the title.

Each named mood has a description (for text similarity) and a weak-label rule ("scary": Horror that is
not a comedy, or tags such as scary/creepy). One logistic regression per mood learns the label from the
movie's features; it is cross-fitted (fitted on one half of the catalog, applied to the other), so every
movie's probability comes from a model that never saw that movie's label, and the same out-of-fold
predictions measure the moods (precision of the top 20, calibration) against labels they did not see.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

FOLDS = 2
POOL_PROBABILITY = 0.5  # a movie fits a mood when its calibrated probability is at least this
MIN_POOL = 60  # ... or, when fewer fit, the most likely ones up to this many
MOOD_STEER = 0.2  # the mood's weight against the member's own ranking, in standard deviations
MOOD_DEBIAS = 0.5  # how much of the crowd's popularity a mood list takes out (standard deviations)
TEXT_COMPONENTS = 32

CONTENT_GROUPS = {
    "kids": ("G", "TV-G", "TV-Y", "TV-Y7"),
    "pg": ("PG", "GP", "M", "TV-PG", "Approved", "Passed"),
    "teen": ("PG-13", "TV-14"),
    "adult": ("R", "NC-17", "X", "TV-MA"),
}


@dataclass(frozen=True)
class LabelRule:
    """Which movies are taken to mean a mood (weak labels). A movie is positive when it matches one of
    ``genres``, all genres of one of ``combos``, one of ``words`` among its tags and keywords, one of
    ``content_ratings``, or is not in English and of one of ``foreign_genres``; and, when ``most_rated``
    is set, is among that share of the most-rated movies; and has none of ``exclude_genres`` or
    ``exclude_ratings``."""

    genres: tuple[str, ...] = ()
    combos: tuple[tuple[str, ...], ...] = ()
    words: tuple[str, ...] = ()
    content_ratings: tuple[str, ...] = ()
    foreign_genres: tuple[str, ...] = ()
    most_rated: float = 0.0
    exclude_genres: tuple[str, ...] = ()
    exclude_ratings: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LabelRule":
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown label fields {sorted(unknown)}; use {sorted(known)}")
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key == "most_rated":
                values[key] = float(value)
            elif key == "combos":
                values[key] = tuple(tuple(str(g) for g in combo) for combo in value)
            else:
                values[key] = tuple(str(v).lower() if key == "words" else str(v) for v in value)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(map(list, v)) if k == "combos" else list(v) if isinstance(v, tuple) else v)
                for k, v in self.__dict__.items() if v}


@dataclass
class MovieFacts:
    """What the mood model may know about each movie (rows aligned with the catalog). No titles."""

    genres: list[list[str]]
    words: list[list[str]]  # tags and keywords, lower case (training users' tags only, in an evaluation)
    content_ratings: list[str | None]
    runtimes: np.ndarray  # minutes, NaN when unknown
    years: np.ndarray  # NaN when unknown
    rating_counts: np.ndarray
    foreign: np.ndarray  # bool
    text_vectors: np.ndarray | None = None  # unit rows of the title-less movie text

    def __len__(self) -> int:
        return len(self.genres)


def _has_word(words: Sequence[str], wanted: Sequence[str]) -> bool:
    padded = [f" {w} " for w in words]
    return any(f" {w} " in p for p in padded for w in wanted)


def mood_labels(facts: MovieFacts, rules: Sequence[LabelRule]) -> np.ndarray:
    """movies x moods, bool: the weak labels."""
    n = len(facts)
    counts = np.asarray(facts.rating_counts, dtype=float)
    order = np.argsort(-counts, kind="stable")
    rank = np.empty(n)
    rank[order] = np.arange(n)
    out = np.zeros((n, len(rules)), dtype=bool)
    for j, rule in enumerate(rules):
        for i in range(n):
            genres = set(facts.genres[i])
            rating = facts.content_ratings[i]
            hit = bool(genres & set(rule.genres)) or any(set(c) <= genres for c in rule.combos) \
                or (bool(rule.words) and _has_word(facts.words[i], rule.words)) \
                or (rating in rule.content_ratings) or (bool(facts.foreign[i]) and bool(genres & set(rule.foreign_genres)))
            if hit and rule.most_rated > 0:
                hit = rank[i] < rule.most_rated * n
            if hit and (genres & set(rule.exclude_genres) or rating in rule.exclude_ratings):
                hit = False
            out[i, j] = hit
    return out


def _standardise(column: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    known = np.isfinite(column)
    if not known.any():
        return np.zeros(len(column)), np.zeros(len(column))
    mean, sd = float(column[known].mean()), float(column[known].std()) or 1.0
    return np.where(known, (column - mean) / sd, 0.0), (~known).astype(float)


def movie_features(facts: MovieFacts, genre_names: Sequence[str], description_vectors: np.ndarray | None) -> np.ndarray:
    """movies x features: genres, content-rating groups, runtime, year, popularity, language, and the text
    (its cosine to each mood's description and its leading principal components)."""
    n = len(facts)
    column = {g: k for k, g in enumerate(genre_names)}
    genres = np.zeros((n, len(genre_names)))
    for i, gs in enumerate(facts.genres):
        for g in gs:
            if g in column:
                genres[i, column[g]] = 1.0
    groups = np.zeros((n, len(CONTENT_GROUPS) + 1))
    for i, rating in enumerate(facts.content_ratings):
        k = next((k for k, members in enumerate(CONTENT_GROUPS.values()) if rating in members), len(CONTENT_GROUPS))
        groups[i, k] = 1.0
    runtime, runtime_missing = _standardise(np.asarray(facts.runtimes, dtype=float))
    year, year_missing = _standardise(np.asarray(facts.years, dtype=float))
    popularity, _ = _standardise(np.log1p(np.asarray(facts.rating_counts, dtype=float)))
    has_words = np.array([1.0 if w else 0.0 for w in facts.words])
    parts = [genres, groups, np.column_stack([runtime, runtime_missing, runtime > 1.0, year, year_missing, popularity,
                                              popularity ** 2, np.asarray(facts.foreign, dtype=float), has_words])]
    if facts.text_vectors is not None:
        text = np.asarray(facts.text_vectors, dtype=np.float64)
        if description_vectors is not None and len(description_vectors):
            parts.append(10.0 * (text @ np.asarray(description_vectors, dtype=np.float64).T - 0.1))
        centred = text - text.mean(axis=0)
        k = min(TEXT_COMPONENTS, min(centred.shape) - 1)
        if k > 0:
            _, _, vt = np.linalg.svd(centred[:: max(1, n // 4000)], full_matrices=False)
            parts.append(centred @ vt[:k].T * 3.0)
    return np.hstack(parts)


@dataclass
class MoodFit:
    """Out-of-fold probabilities (movies x moods) and what they scored against labels they did not see."""

    names: list[str]
    probabilities: np.ndarray
    labels: np.ndarray
    report: dict[str, dict[str, float]] = field(default_factory=dict)

    def column(self, name: str) -> np.ndarray:
        return self.probabilities[:, self.names.index(name)]


def _ece(probability: np.ndarray, label: np.ndarray, bins: int = 10) -> float:
    edges = np.minimum((probability * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        chosen = edges == b
        if chosen.any():
            total += chosen.sum() * abs(probability[chosen].mean() - label[chosen].mean())
    return float(total / max(len(probability), 1))


def fit_moods(names: Sequence[str], features: np.ndarray, labels: np.ndarray, popularity: np.ndarray,
              seed: int = 0, regularisation: float = 0.5) -> MoodFit:
    """Cross-fitted logistic regressions, one per mood (scikit-learn)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    n = len(features)
    folds = np.random.default_rng(seed).permutation(n) % FOLDS
    probabilities = np.zeros(labels.shape, dtype=np.float64)
    report: dict[str, dict[str, float]] = {}
    for j, name in enumerate(names):
        y = labels[:, j]
        for fold in range(FOLDS):
            train, test = folds != fold, folds == fold
            if y[train].all() or not y[train].any():
                probabilities[test, j] = float(y[train].mean())
                continue
            scaler = StandardScaler().fit(features[train])
            model = LogisticRegression(C=regularisation, max_iter=3000)
            model.fit(scaler.transform(features[train]), y[train])
            probabilities[test, j] = model.predict_proba(scaler.transform(features[test]))[:, 1]
        top = neutral_order(probabilities[:, j], popularity)[:20]
        report[name] = {"precision@20": round(float(y[top].mean()), 3), "positives": int(y.sum()),
                        "ece": round(_ece(probabilities[:, j], y), 4),
                        "fitting": int((probabilities[:, j] >= POOL_PROBABILITY).sum())}
    return MoodFit(list(names), probabilities, labels, report)


def logit(p: np.ndarray) -> np.ndarray:
    clipped = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(clipped / (1 - clipped))


def _z(values: np.ndarray, where: np.ndarray) -> np.ndarray:
    inside = values[where]
    if len(inside) == 0:
        return np.zeros_like(values)
    return (values - inside.mean()) / max(float(inside.std()), 1e-9)


def mood_pool(probability: np.ndarray, minimum: int = MIN_POOL) -> np.ndarray:
    """The movies that fit a mood: probability at least POOL_PROBABILITY, or the most likely ``minimum``."""
    pool = probability >= POOL_PROBABILITY
    if pool.sum() < minimum:
        pool = np.zeros(len(probability), dtype=bool)
        pool[np.argsort(-probability, kind="stable")[:minimum]] = True
    return pool


def neutral_order(probability: np.ndarray, popularity: np.ndarray) -> np.ndarray:
    """A member the engine knows nothing about: the mood's pool, most fitting first, popularity breaking
    near-ties (a well-known film before an obscure one of the same fit)."""
    pool = mood_pool(probability)
    score = _z(logit(probability), pool) + 0.5 * _z(np.log1p(np.asarray(popularity, dtype=float)), pool)
    score = np.where(pool, score, -np.inf)
    return np.argsort(-score, kind="stable")


def steer(personal: np.ndarray, probability: np.ndarray, weight: float = MOOD_STEER,
          where: np.ndarray | None = None, log_popularity: np.ndarray | None = None) -> np.ndarray:
    """The member's own ranking steered by a mood: scores over the whole catalog, -inf outside the mood's
    pool, so the list is the member's taste among movies that fit (``personal``: the ranker's scores,
    standardised over ``where``, the candidates, within the pool). ``log_popularity`` takes the crowd's
    share out of the member's score (MOOD_DEBIAS), so members asking for one mood do not all get its few
    most famous films."""
    pool = mood_pool(probability)
    finite = pool & np.isfinite(personal) & (where if where is not None else True)
    score = _z(personal, finite) + weight * _z(logit(probability), finite)
    if log_popularity is not None:
        score = score - MOOD_DEBIAS * _z(log_popularity, finite)
    return np.where(pool, score, -np.inf)


def text_fit(similarity: np.ndarray) -> np.ndarray:
    """A probability-like fit from cosine similarity to a text: about the top 5% of the catalog fit."""
    return 1.0 / (1.0 + np.exp(-(similarity - np.quantile(similarity, 0.95)) * 25.0))


def phrase_probability(phrase_vector: np.ndarray, text_vectors: np.ndarray, description_vectors: np.ndarray,
                       fit: MoodFit) -> np.ndarray:
    """A free-text mood ("cosy rainy-day films") as a probability-like fit per movie: the named moods the
    phrase is closest to (their calibrated probabilities, weighted by closeness) mixed with the phrase's
    own similarity to each movie's title-less text."""
    closeness = description_vectors @ phrase_vector
    weights = np.exp((closeness - closeness.max()) * 20.0)
    weights = weights / weights.sum()
    named = fit.probabilities @ weights
    return 0.5 * named + 0.5 * text_fit(text_vectors @ phrase_vector)


def expected_calibration(fit: MoodFit) -> float:
    return float(np.mean([r["ece"] for r in fit.report.values()])) if fit.report else math.nan
