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
from scipy import special

ALPHA = 0.05
MIN_GENRE_SUPPORT = 10
MIN_PERSON_SUPPORT = 3
MIN_EFFECT = 0.25  # stars, after shrinkage
SHRINK = 5.0
MIN_OUTSIDE = 3  # films outside a genre or decade to compare it with
STRONG_SUPPORT = 12  # a genre this often rated ...
STRONG_EFFECT = 0.75  # ... this many stars above the member's other films is a taste a friend would notice
EXPLAINED_SHARE = 0.8  # a genre whose films mostly carry an already-found favourite is not credited again


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


def t_sf(t: np.ndarray | float, dof: np.ndarray | float) -> np.ndarray:
    """Student's t upper tail, what ``scipy.stats.t.sf`` computes (it calls the same special function)
    without its argument checks: dozens of calls per member were a tenth of the learner's analysis."""
    return special.stdtr(dof, -np.asarray(t, dtype=float))


def t_ppf(q: float, dof: np.ndarray | float) -> np.ndarray:
    """Student's t quantile, as ``scipy.stats.t.ppf``."""
    return special.stdtrit(dof, q)


def normal_sf(z: np.ndarray | float) -> np.ndarray:
    """The standard normal upper tail, as ``scipy.stats.norm.sf``."""
    return special.ndtr(-np.asarray(z, dtype=float))


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


def decade_of(years: np.ndarray) -> np.ndarray:
    """Each year's decade (1994 -> 1990); -1 where the year is unknown (None, NaN or 0)."""
    return np.array([(int(y) // 10) * 10 if y and y == y else -1 for y in years], dtype=np.int64)


def genre_flags(genres: np.ndarray) -> tuple[list[str], np.ndarray]:
    """(every genre name, sorted; movies x names boolean): each movie's genres as one row of flags,
    worked out once for the catalog instead of once per member and genre."""
    names = sorted({g for gs in genres for g in gs})
    column = {g: j for j, g in enumerate(names)}
    flags = np.zeros((len(genres), len(names)), dtype=bool)
    for row, gs in enumerate(genres):
        for g in gs:
            flags[row, column[g]] = True
    return names, flags


def _decade_controls(decades: np.ndarray) -> np.ndarray:
    """Indicator columns for the user's decades (the most rated one is the reference), as nuisance controls."""
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
    column = {name: j for j, name in enumerate(kept)}
    out = np.zeros((len(people), len(kept)))
    for row, names in enumerate(people):
        for name in names:
            if name in column:
                out[row, column[name]] = 1.0
    return out


def _genre_effects(ratings: np.ndarray, names: list[str], flags: np.ndarray,
                   controls: np.ndarray | None = None) -> list[dict[str, Any]]:
    """``names``, ``flags``: `genre_flags` of the member's rated films."""
    counts = flags.sum(axis=0)
    columns = np.flatnonzero((counts >= MIN_GENRE_SUPPORT) & (counts <= len(ratings) - MIN_OUTSIDE))
    tested = [names[j] for j in columns]
    if not tested or len(ratings) < len(tested) + 5:
        return []
    x = np.hstack([np.ones((len(ratings), 1)), flags[:, columns].astype(float)])
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
    p = 2 * t_sf(np.abs(t), dof)
    adjusted = holm(p)
    half = t_ppf(0.975, dof) * se
    out = []
    for i, g in enumerate(tested):
        n = int(counts[columns[i]])
        shrunk = coef[1 + i] * n / (n + SHRINK)
        out.append({"genre": g, "ratings": n, "effect": round(float(shrunk), 3),
                    "ci95": [round(float(coef[1 + i] - half[i]), 3), round(float(coef[1 + i] + half[i]), 3)],
                    "p": float(p[i]), "p_holm": float(adjusted[i]),
                    "significant": bool(adjusted[i] < ALPHA and abs(shrunk) >= MIN_EFFECT)})
    return out


def welch_many(values: np.ndarray, inside: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Welch's t-test (scipy's ``ttest_ind(equal_var=False)``) of each row's group of ``values``
    (``inside``: a boolean row per test) against the rest, all rows at once: the learner runs
    dozens of these per member, and one vectorised tail-probability call replaces as many
    scipy calls. A test with fewer than 2 values on a side, constant values, or no defined
    p-value gives (0, 1)."""
    values = np.asarray(values, dtype=float)
    inside = np.asarray(inside, dtype=bool)
    n1 = inside.sum(axis=1).astype(float)
    n2 = len(values) - n1
    s1 = inside @ values
    with np.errstate(divide="ignore", invalid="ignore"):
        m1, m2 = s1 / n1, (values.sum() - s1) / n2
        # two-pass variances, as scipy computes them (a constant group has exactly zero variance)
        v1 = np.where(inside, (values[None, :] - m1[:, None]) ** 2, 0.0).sum(axis=1) / (n1 - 1)
        v2 = np.where(inside, 0.0, (values[None, :] - m2[:, None]) ** 2).sum(axis=1) / (n2 - 1)
        a, b = v1 / n1, v2 / n2
        t = (m1 - m2) / np.sqrt(a + b)
        dof = (a + b) ** 2 / (a * a / (n1 - 1) + b * b / (n2 - 1))
        p = 2.0 * t_sf(np.abs(t), dof)
    usable = (n1 >= 2) & (n2 >= 2) & (np.ptp(values) > 0 if len(values) else False)
    p = np.where(usable & np.isfinite(p), p, 1.0)
    return np.where(usable, m1 - m2, 0.0), p


def _strong_genres(ratings: np.ndarray, names: list[str], flags: np.ndarray, effects: list[dict[str, Any]]) -> None:
    """Marks as significant the strong, well-supported tastes the joint regression can miss when genres
    travel together (every Pixar film is Animation, Children and Comedy): a genre rated at least
    ``STRONG_SUPPORT`` times, ``STRONG_EFFECT`` stars from the member's other films, Holm-significant
    in a two-sample test, and not mostly the films of a favourite already found."""
    by_genre = {e["genre"]: e for e in effects}
    present = np.flatnonzero(flags.any(axis=0))
    members = {names[j]: flags[:, j] for j in present}
    candidates = [g for g in members if members[g].sum() >= STRONG_SUPPORT and (~members[g]).sum() >= MIN_OUTSIDE]
    if not candidates:
        return
    # tastes already found are taken out first, so a harsh view of comedies does not make every
    # other genre look loved; each genre found here is taken out before testing the next
    adjusted = ratings.astype(float).copy()
    for e in effects:
        if e["significant"]:
            adjusted[members[e["genre"]]] -= e["effect"]
    found: list[str] = [e["genre"] for e in effects if e["significant"]]
    remaining = [g for g in candidates if g not in found]
    while remaining:
        differences, p_values = welch_many(adjusted, np.array([members[g] for g in remaining]))
        tests = list(zip(differences.tolist(), p_values.tolist()))
        adjusted_p = holm(p_values)
        best = max(range(len(remaining)), key=lambda i: (adjusted_p[i] < ALPHA, abs(tests[i][0])))
        genre, (difference, p) = remaining[best], tests[best]
        if adjusted_p[best] >= ALPHA or abs(difference) < STRONG_EFFECT:
            return
        remaining.remove(genre)
        same_sign = [f for f in found if np.sign(by_genre.get(f, {}).get("effect", 0.0)) == np.sign(difference)]
        if any((members[genre] & members[f]).sum() >= EXPLAINED_SHARE * members[genre].sum() for f in same_sign):
            continue
        n = int(members[genre].sum())
        entry = by_genre.get(genre)
        shrunk = round(float(difference * n / (n + SHRINK)), 3)
        if entry is None:
            entry = {"genre": genre, "ratings": n, "ci95": [round(difference, 3), round(difference, 3)]}
            effects.append(entry)
            by_genre[genre] = entry
        entry.update({"effect": shrunk, "p": float(p), "p_holm": float(adjusted_p[best]), "significant": True,
                      "test": "two-sample"})
        adjusted[members[genre]] -= difference
        found.append(genre)


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
    del variances  # three or four films say little about their own spread: the member's overall spread is
    # the noise (a z-test), which finds four Bergman films at 5 stars for a 3.5-star member
    p_values = 2 * normal_sf(np.abs(means / (overall_sd / np.sqrt(sizes))))
    adjusted = holm(p_values)
    shrunk = sums / (sizes + SHRINK)
    order = np.argsort(np.asarray(names[keep], dtype=str), kind="stable")
    return [{field: str(names[keep[i]]), "ratings": int(sizes[i]), "effect": round(float(shrunk[i]), 3),
             "p": float(p_values[i]), "p_holm": float(adjusted[i]),
             "significant": bool(adjusted[i] < ALPHA and abs(shrunk[i]) >= MIN_EFFECT)} for i in order]


def _decades(ratings: np.ndarray, decades: np.ndarray, baseline: float) -> list[dict[str, Any]]:
    """Per decade (`decade_of` the films' years): share, shrunk effect against the member's average, and a
    Holm-corrected Welch test against their other films (``significant`` decades are favourites or least
    favourites)."""
    values = np.unique(decades[decades >= 0])
    inside = decades[None, :] == values[:, None]
    sizes = inside.sum(axis=1)
    tested = (sizes >= MIN_GENRE_SUPPORT) & (len(ratings) - sizes >= MIN_OUTSIDE)
    differences, p_values = welch_many(ratings, inside[tested]) if tested.any() else (np.empty(0), np.empty(0))
    test_of = np.cumsum(tested) - 1
    out = []
    for j, decade in enumerate(values):
        n = int(sizes[j])
        difference, p = (float(differences[test_of[j]]), float(p_values[test_of[j]])) if tested[j] else (0.0, 1.0)
        out.append({"decade": f"{int(decade)}s", "ratings": n, "share": round(n / len(ratings), 3),
                    "effect": round(float((ratings[inside[j]] - baseline).sum() / (n + SHRINK)), 3), "p": p,
                    "difference": round(difference, 3)})
    adjusted = holm(np.array([d["p"] for d in out]))
    for d, q in zip(out, adjusted):
        d["p_holm"] = float(q)
        d["significant"] = bool(q < ALPHA and abs(d["effect"]) >= MIN_EFFECT)
    return sorted(out, key=lambda d: (-d["ratings"], d["decade"]))


def diversity(genres: list[list[str]], n_genres_total: int = 19) -> tuple[float, str]:
    """Spread of the member's genres: normalised entropy over the catalog's genres, capped by how much
    of their list one genre takes (five action films are focused, however many side genres they carry)."""
    counts: dict[str, float] = {}
    present: dict[str, int] = {}
    for gs in genres:
        for g in gs:
            counts[g] = counts.get(g, 0.0) + 1.0 / len(gs)
            present[g] = present.get(g, 0) + 1
    if not counts:
        return 0.0, "not enough data"
    shares = np.array(list(counts.values())) / sum(counts.values())
    entropy = float(-(shares * np.log(shares)).sum()) / math.log(n_genres_total)
    top_genre, top = max(present.items(), key=lambda kv: kv[1])
    top_share = top / len(genres)
    score = float(min(1.0, max(0.0, min(entropy, 1.0 - top_share + 0.2))))
    if top_share >= 0.8:
        words = f"you stick to a few genres: {top_genre} in {top} of your {len(genres)} films"
    elif score >= 0.7:
        words = "eclectic: you rate across many genres"
    elif score >= 0.5:
        words = "varied, with a few favourite genres"
    else:
        words = "you stick to a few genres"
    return round(score, 3), words


@dataclass
class _Rated:
    """One user's star ratings joined with the catalog columns the analysis needs."""

    ratings: np.ndarray
    genres: list[list[str]]
    directors: list[list[str]]
    cast: list[list[str]]
    decades: np.ndarray  # `decade_of` each film's year
    genre_names: list[str]  # the catalog's genres (`genre_flags`) ...
    flags: np.ndarray  # ... and which of them each rated film has (films x genre_names)


def _profile(rated: _Rated, activity: dict[str, Any], population: Population) -> dict[str, Any]:
    ratings = rated.ratings
    profile: dict[str, Any] = {"activity": activity}
    if len(ratings) == 0:
        return profile
    mean = float(ratings.mean())
    z = (mean - population.user_mean_mean) / population.user_mean_sd if population.user_mean_sd > 0 else 0.0
    profile["behaviour"] = {
        "mean": round(mean, 3), "global_mean": round(population.global_mean, 3), "z": round(float(z), 2),
        "higher_than": round(float(special.ndtr(z)), 3),  # share of members whose average is lower
        "label": "generous" if z > 0.5 else ("harsh" if z < -0.5 else "balanced"),
        "sd": round(float(ratings.std(ddof=1)) if len(ratings) > 1 else 0.0, 3),
        "scale_used": round(len(np.unique(ratings)) / 10.0, 2),
        "histogram": {f"{s:.1f}": int(c) for s, c in zip(np.arange(0.5, 5.01, 0.5),
                                                         np.bincount(np.clip(np.rint(ratings * 2).astype(int) - 1, 0, 9),
                                                                     minlength=10))},
    }
    controls = np.hstack([_decade_controls(rated.decades), _people_controls(rated.directors)])
    effects = _genre_effects(ratings, rated.genre_names, rated.flags, controls)
    _strong_genres(ratings, rated.genre_names, rated.flags, effects)
    profile["genres"] = sorted(effects, key=lambda e: -e["effect"])
    profile["favourite_genres"] = [e["genre"] for e in profile["genres"] if e["significant"] and e["effect"] > 0]
    profile["least_favourite_genres"] = [e["genre"] for e in profile["genres"] if e["significant"] and e["effect"] < 0]
    residuals = ratings - mean
    for field, people, key in (("director", rated.directors, "directors"), ("actor", rated.cast, "actors")):
        found = _person_effects(residuals, people, field)
        profile[key] = sorted(found, key=lambda e: -e["effect"])[:10]
        profile[f"favourite_{key}"] = [e[field] for e in found if e["significant"] and e["effect"] > 0]
    profile["decades"] = _decades(ratings, rated.decades, mean)
    profile["favourite_decades"] = [d["decade"] for d in profile["decades"] if d["significant"] and d["effect"] > 0]
    profile["least_favourite_decades"] = [d["decade"] for d in profile["decades"] if d["significant"] and d["effect"] < 0]
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
    decades = decade_of(columns["year"])
    genre_names, flags = genre_flags(columns["genres"])
    out: dict[int, dict[str, Any]] = {}
    for user, feedback, first, last in activity.itertuples(name=None):
        chosen = groups.get(user, np.empty(0, dtype=np.int64))
        at = rows[chosen]
        joined = _Rated(values[chosen], list(columns["genres"][at]), list(columns["directors"][at]),
                        list(columns["cast"][at]), decades[at], genre_names, flags[at])
        facts = {"ratings": int(len(chosen)), "feedback": int(feedback), "first": str(first), "last": str(last)}
        out[int(user)] = _finite(_profile(joined, facts, population))
    return out
