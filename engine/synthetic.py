"""Synthetic ratings with planted tastes over a real catalog, for load and scale runs.

MovieLens publishes its full catalog with each film's rating count and average but not the
33.8M ratings behind them. This draws ratings whose shape follows them: a film is picked in
proportion to its real rating count (mixed with its genres' appeal to the member), members'
activity is heavy-tailed (log-normal, at least ``MIN_PER_MEMBER``), and each member loves one
genre and dislikes another (planted tastes a model can find): stars are the film's real average,
plus or minus a star for those genres, plus the member's own bias and noise, on the half-star
scale. Deterministic for a seed; vectorised (30M ratings in about a minute).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_PER_MEMBER = 5
TASTE_BOOST = 3.0  # a film of the loved genre is this many times likelier to be picked
TASTE_STARS = 1.0
TOP_UPS = 6


@dataclass
class SyntheticRatings:
    users: np.ndarray  # 0-based member numbers
    items: np.ndarray  # positions in the catalog given
    stars: np.ndarray
    seconds: np.ndarray  # unix time of each rating, increasing per member
    loves: np.ndarray  # per member: index into ``genres`` of the loved genre
    hates: np.ndarray
    genres: list[str]

    def __len__(self) -> int:
        return len(self.users)


def planted_ratings(film_genres: list[list[str]], counts: np.ndarray, averages: np.ndarray, members: int,
                    ratings: int, seed: int = 0, start: int = 1_600_000_000) -> SyntheticRatings:
    """About ``ratings`` ratings (a pair drawn twice is kept once) from ``members`` members."""
    if members < 1 or ratings < members:
        raise ValueError("need at least one member and at least one rating per member")
    rng = np.random.default_rng(seed)
    names = sorted({g for gs in film_genres for g in gs})
    column = {g: j for j, g in enumerate(names)}
    film_of = np.repeat(np.arange(len(film_genres)), [len(gs) for gs in film_genres])
    genre_of = np.array([column[g] for gs in film_genres for g in gs], dtype=np.int64)
    weight = np.maximum(np.asarray(counts, dtype=np.float64), 0.0) + 0.5  # an unrated film still turns up now and then
    popularity = weight / weight.sum()
    # tastes drawn by how much each genre is watched, so most members love a common genre
    appeal = np.bincount(genre_of, weights=popularity[film_of], minlength=len(names))
    loves = rng.choice(len(names), members, p=appeal / appeal.sum())
    hates = (loves + rng.integers(1, len(names), members)) % len(names)
    mean_per = ratings / members
    sigma = 1.1
    per = np.maximum(MIN_PER_MEMBER, rng.lognormal(np.log(mean_per) - sigma**2 / 2, sigma, members)).astype(np.int64)
    per = np.maximum(MIN_PER_MEMBER, np.round(per * ratings / per.sum()).astype(np.int64))
    by_genre = [film_of[genre_of == g] for g in range(len(names))]
    users = np.empty(0, dtype=np.int64)
    items = np.empty(0, dtype=np.int64)
    wanted = per
    for round_ in range(TOP_UPS):  # a pair drawn twice is kept once; members short of their count draw again,
        flat = popularity ** (0.5**round_)  # from a flatter spread each time (keen members reach the long tail)
        more = np.repeat(np.arange(members, dtype=np.int64), wanted)
        users = np.concatenate([users, more])
        items = np.concatenate([items, _picks(rng, more, loves, flat / flat.sum(), by_genre)])
        key = users * len(popularity) + items
        _, first = np.unique(key, return_index=True)
        users, items = users[first], items[first]  # sorted by member, then film
        wanted = np.maximum(per - np.bincount(users, minlength=members), 0)
        if not wanted.any():
            break
    order = rng.permutation(len(users))  # a member's films in a random order of time
    order = order[np.argsort(users[order], kind="stable")]
    users, items = users[order], items[order]
    membership = np.zeros((len(film_genres), len(names)), dtype=bool)
    membership[film_of, genre_of] = True
    taste = TASTE_STARS * (membership[items, loves[users]].astype(float) - membership[items, hates[users]].astype(float))
    bias = rng.normal(0.0, 0.35, members)
    average = np.where(np.isfinite(averages), averages, 3.5)[items]
    raw = average + taste + bias[users] + rng.normal(0.0, 0.6, len(users))
    stars = np.clip(np.round(raw * 2.0) / 2.0, 0.5, 5.0)
    gaps = rng.exponential(3600.0, len(users)).astype(np.int64) + 1
    offsets = rng.integers(0, 3 * 365 * 86400, members)
    run_starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    cumulative = np.cumsum(gaps)
    base = np.repeat(cumulative[run_starts] - gaps[run_starts], np.diff(np.r_[run_starts, len(users)]))
    seconds = start + offsets[users] + (cumulative - base)
    return SyntheticRatings(users, items, stars, seconds, loves, hates, names)


def _picks(rng: np.random.Generator, users: np.ndarray, loves: np.ndarray, popularity: np.ndarray,
           by_genre: list[np.ndarray]) -> np.ndarray:
    """A film for each entry of ``users``: by popularity alone, or (a share set by ``TASTE_BOOST``)
    from the member's loved genre, by popularity within it."""
    items = rng.choice(len(popularity), len(users), p=popularity)
    boosted = rng.random(len(users)) < (TASTE_BOOST - 1.0) / (TASTE_BOOST + 1.0)
    for g, films in enumerate(by_genre):
        chosen = np.flatnonzero(boosted & (loves[users] == g))
        if len(chosen) and len(films):
            p = popularity[films]
            items[chosen] = films[rng.choice(len(p), len(chosen), p=p / p.sum())]
    return items
