"""PreferenceLearner: what a user's ratings say about their taste, with statistics that hold up.

Genres: the user's star ratings are regressed on genre indicators jointly (ordinary least
squares with an intercept), so a genre that merely co-occurs with a loved one (Action with
Sci-Fi) is not credited for it. Each coefficient is an effect in stars against the user's
baseline, tested with a t-test and corrected for multiple testing with Holm's method; the
reported effect is shrunk towards zero by its support, and a favourite needs at least
``MIN_GENRE_SUPPORT`` ratings, significance and a meaningful size. Directors and actors:
the same test on the user's residual ratings of each person's films (minimum support 3).
Decades, rating behaviour (a z-score against other users), scale use, a diversity score
(normalised genre entropy) and activity complete the profile.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

ALPHA = 0.05
MIN_GENRE_SUPPORT = 10
MIN_PERSON_SUPPORT = 3
MIN_EFFECT = 0.25  # stars, after shrinkage
SHRINK = 5.0


@dataclass(frozen=True)
class Population:
    """Statistics over all users, for rating behaviour."""

    global_mean: float
    user_mean_mean: float
    user_mean_sd: float

    @classmethod
    def from_ratings(cls, ratings: pd.DataFrame) -> "Population":
        rated = ratings.dropna(subset=["rating"])
        means = rated.groupby("user_id")["rating"].mean()
        return cls(float(rated["rating"].mean()) if len(rated) else 3.5,
                   float(means.mean()) if len(means) else 3.5,
                   float(means.std(ddof=1)) if len(means) > 1 else 0.5)


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values (strong family-wise error control)."""
    m = len(p_values)
    if m == 0:
        return p_values
    order = np.argsort(p_values)
    adjusted = np.empty(m)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def _decade_controls(years: list[int | None]) -> np.ndarray:
    """Indicator columns for the user's decades (the most rated one is the reference), as nuisance controls."""
    decades = np.array([(int(y) // 10) * 10 if y and y == y else -1 for y in years])
    values, counts = np.unique(decades[decades >= 0], return_counts=True)
    order = np.argsort(-counts, kind="stable")
    kept = [values[i] for i in order[1:] if counts[i] >= 5]
    return (decades[:, None] == np.array(kept)[None, :]).astype(float) if kept else np.zeros((len(decades), 0))


def _people_controls(people: list[list[str]], minimum: int = MIN_PERSON_SUPPORT) -> np.ndarray:
    """Indicator columns for directors the user rated often, so their films' genres are not credited for them."""
    counts: dict[str, int] = {}
    for names in people:
        for name in names:
            counts[name] = counts.get(name, 0) + 1
    kept = sorted(n for n, c in sorted(counts.items(), key=lambda kv: -kv[1])[:40] if c >= minimum)
    return np.array([[1.0 if k in names else 0.0 for k in kept] for names in people]).reshape(len(people), len(kept))


def _genre_effects(ratings: np.ndarray, genres: list[list[str]], controls: np.ndarray | None = None) -> list[dict[str, Any]]:
    counts: dict[str, int] = {}
    for gs in genres:
        for g in gs:
            counts[g] = counts.get(g, 0) + 1
    tested = sorted(g for g, n in counts.items() if MIN_GENRE_SUPPORT <= n <= len(ratings) - MIN_GENRE_SUPPORT)
    if not tested or len(ratings) < len(tested) + 5:
        return []
    x = np.zeros((len(ratings), len(tested) + 1))
    x[:, 0] = 1.0
    column = {g: i + 1 for i, g in enumerate(tested)}
    for row, gs in enumerate(genres):
        for g in gs:
            if g in column:
                x[row, column[g]] = 1.0
    if controls is not None and controls.size:
        x = np.hstack([x, controls])  # decades taken into account, not reported as genres
    x = x[:, np.concatenate([[True], x[:, 1:].any(axis=0)])]
    # normal equations: the design has few columns and many rows, so X'X is small (a tiny ridge
    # keeps it invertible when two controls coincide)
    gram_inv = np.linalg.inv(x.T @ x + 1e-8 * np.eye(x.shape[1]))
    coef = gram_inv @ (x.T @ ratings)
    dof = len(ratings) - x.shape[1]
    if dof <= 0:
        return []
    residual = ratings - x @ coef
    sigma2 = float(residual @ residual) / dof
    cov = sigma2 * gram_inv
    k = len(tested)
    se = np.sqrt(np.maximum(np.diag(cov)[1 : k + 1], 1e-12))
    t = coef[1 : k + 1] / se
    p = 2 * stats.t.sf(np.abs(t), dof)
    adjusted = holm(p)
    half = stats.t.ppf(0.975, dof) * se
    out = []
    for i, g in enumerate(tested):
        n = counts[g]
        shrunk = coef[1 + i] * n / (n + SHRINK)
        out.append({"genre": g, "ratings": n, "effect": round(float(shrunk), 3),
                    "ci95": [round(float(coef[1 + i] - half[i]), 3), round(float(coef[1 + i] + half[i]), 3)],
                    "p": float(p[i]), "p_holm": float(adjusted[i]),
                    "significant": bool(adjusted[i] < ALPHA and abs(shrunk) >= MIN_EFFECT)})
    return out


def _person_effects(residuals: np.ndarray, people: list[list[str]], field: str) -> list[dict[str, Any]]:
    """Per person: a t-test of the user's residual ratings of their films (sums by bincount, no loop per person)."""
    sizes_per_row = np.fromiter((len(names) for names in people), dtype=np.int64, count=len(people))
    if not sizes_per_row.sum():
        return []
    codes, names = pd.factorize(np.fromiter((n for names_ in people for n in names_), dtype=object,
                                            count=int(sizes_per_row.sum())))
    values = residuals[np.repeat(np.arange(len(people)), sizes_per_row)]
    counts = np.bincount(codes)
    keep = np.flatnonzero(counts >= MIN_PERSON_SUPPORT)
    if not len(keep):
        return []
    sums = np.bincount(codes, weights=values)[keep]
    squares = np.bincount(codes, weights=values * values)[keep]
    sizes = counts[keep].astype(float)
    means = sums / sizes
    variances = np.maximum(squares - sizes * means**2, 0.0) / (sizes - 1)
    # the user's own spread is the fairer noise estimate for three or four films
    overall_sd = max(float(np.std(residuals, ddof=1)) if len(residuals) > 1 else 0.5, 0.25)
    sds = np.maximum(np.sqrt(variances), overall_sd)
    p_values = 2 * stats.t.sf(np.abs(means / (sds / np.sqrt(sizes))), sizes - 1)
    adjusted = holm(p_values)
    shrunk = sums / (sizes + SHRINK)
    order = np.argsort(np.asarray(names[keep], dtype=str), kind="stable")
    return [{field: str(names[keep[i]]), "ratings": int(sizes[i]), "effect": round(float(shrunk[i]), 3),
             "p": float(p_values[i]), "p_holm": float(adjusted[i]),
             "significant": bool(adjusted[i] < ALPHA and abs(shrunk[i]) >= MIN_EFFECT)} for i in order]


def _decades(ratings: np.ndarray, years: list[int | None], baseline: float) -> list[dict[str, Any]]:
    decades = np.array([(int(y) // 10) * 10 if y and y == y else -1 for y in years])
    out = []
    for decade in np.unique(decades[decades >= 0]):
        chosen = ratings[decades == decade]
        n = len(chosen)
        out.append({"decade": f"{int(decade)}s", "ratings": int(n), "share": round(n / len(ratings), 3),
                    "effect": round(float((chosen - baseline).sum() / (n + SHRINK)), 3)})
    return sorted(out, key=lambda d: (-d["ratings"], d["decade"]))


def diversity(genres: list[list[str]], n_genres_total: int = 19) -> tuple[float, str]:
    counts: dict[str, float] = {}
    for gs in genres:
        for g in gs:
            counts[g] = counts.get(g, 0.0) + 1.0 / len(gs)
    if not counts:
        return 0.0, "not enough data"
    shares = np.array(list(counts.values())) / sum(counts.values())
    entropy = float(-(shares * np.log(shares)).sum())
    score = entropy / math.log(max(2, min(n_genres_total, len(genres) if len(genres) > 1 else 2)))
    score = float(min(1.0, max(0.0, score)))
    words = "eclectic: you rate across many genres" if score >= 0.8 else (
        "varied, with a few favourite genres" if score >= 0.6 else "focused on a few genres")
    return round(score, 3), words


@dataclass
class _Rated:
    """One user's star ratings joined with the catalog columns the analysis needs."""

    ratings: np.ndarray
    genres: list[list[str]]
    directors: list[list[str]]
    cast: list[list[str]]
    years: list[Any]


def _profile(rated: _Rated, activity: dict[str, Any], population: Population) -> dict[str, Any]:
    ratings = rated.ratings
    profile: dict[str, Any] = {"activity": activity}
    if len(ratings) == 0:
        return profile
    mean = float(ratings.mean())
    z = (mean - population.user_mean_mean) / population.user_mean_sd if population.user_mean_sd > 0 else 0.0
    profile["behaviour"] = {
        "mean": round(mean, 3), "global_mean": round(population.global_mean, 3), "z": round(float(z), 2),
        "label": "generous" if z > 0.5 else ("harsh" if z < -0.5 else "balanced"),
        "sd": round(float(ratings.std(ddof=1)) if len(ratings) > 1 else 0.0, 3),
        "scale_used": round(len(np.unique(ratings)) / 10.0, 2),
        "histogram": {f"{s:.1f}": int(c) for s, c in zip(np.arange(0.5, 5.01, 0.5),
                                                         np.bincount(np.clip(np.rint(ratings * 2).astype(int) - 1, 0, 9),
                                                                     minlength=10))},
    }
    controls = np.hstack([_decade_controls(rated.years), _people_controls(rated.directors)])
    effects = _genre_effects(ratings, rated.genres, controls)
    profile["genres"] = sorted(effects, key=lambda e: -e["effect"])
    profile["favourite_genres"] = [e["genre"] for e in profile["genres"] if e["significant"] and e["effect"] > 0]
    profile["least_favourite_genres"] = [e["genre"] for e in profile["genres"] if e["significant"] and e["effect"] < 0]
    residuals = ratings - mean
    for field, people, key in (("director", rated.directors, "directors"), ("actor", rated.cast, "actors")):
        found = _person_effects(residuals, people, field)
        profile[key] = sorted(found, key=lambda e: -e["effect"])[:10]
        profile[f"favourite_{key}"] = [e[field] for e in found if e["significant"] and e["effect"] > 0]
    profile["decades"] = _decades(ratings, rated.years, mean)
    score, words = diversity(rated.genres)
    profile["diversity"] = {"score": score, "meaning": words}
    return profile


def _column(movies: pd.DataFrame, name: str) -> np.ndarray:
    if name in movies:
        return movies[name].to_numpy(dtype=object)
    return np.array([()] * len(movies) if len(movies) else [], dtype=object)


def _finite(value: Any) -> Any:
    """JSON-safe: NaN and infinities become None (jsonb refuses them)."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def analyse(ratings: pd.DataFrame, movies: pd.DataFrame, population: Population | None = None) -> dict[int, dict[str, Any]]:
    """Profiles of every user in ``ratings`` (user_id, movie_id, rating (NaN for starless), rated_at).

    The catalog is joined once for everyone; each user is then a slice of plain arrays, which
    keeps the whole dataset (610 users) well inside the job's time budget.
    """
    population = population or Population.from_ratings(ratings)
    indexed = movies.set_index("movie_id") if "movie_id" in movies.columns else movies
    position = pd.Index(indexed.index)
    columns = {name: _column(indexed, name) for name in ("genres", "directors", "cast", "year")}
    activity = ratings.groupby("user_id").agg(feedback=("movie_id", "size"), first=("rated_at", "min"),
                                              last=("rated_at", "max"))
    rated = ratings[ratings["rating"].notna()]
    where = position.get_indexer(rated["movie_id"].to_numpy())
    rated = rated[where >= 0].assign(_row=where[where >= 0])
    groups = rated.groupby("user_id").indices
    values = rated["rating"].to_numpy(dtype=float)
    rows = rated["_row"].to_numpy()
    out: dict[int, dict[str, Any]] = {}
    for user, summary in activity.iterrows():
        chosen = groups.get(user, np.empty(0, dtype=np.int64))
        at = rows[chosen]
        joined = _Rated(values[chosen], list(columns["genres"][at]), list(columns["directors"][at]),
                        list(columns["cast"][at]), list(columns["year"][at]))
        facts = {"ratings": int(len(chosen)), "feedback": int(summary["feedback"]),
                 "first": str(summary["first"]), "last": str(summary["last"])}
        out[int(user)] = _finite(_profile(joined, facts, population))
    return out
