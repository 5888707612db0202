"""Truthful, varied reasons for a list of picks.

A member's side of the base model is a sum of per-rating contributions, so the rated movie behind
a pick is the one whose contribution to that pick's score is largest: "because you loved X" names
X only when X was rated 4 stars or more and is among the three largest contributors. A genre,
director or decade reason appears only when the member's profile (the PreferenceLearner's
significant tastes) says so. No template fills more than 40% of a list.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

LOVED_STARS = 4.0
TOP_CONTRIBUTORS = 3
MAX_TEMPLATE_SHARE = 0.4


@dataclass(frozen=True)
class Reason:
    template: str  # what kind of claim, for variety ("loved", "director", "genre", ...)
    text: str


@dataclass(frozen=True)
class TasteFacts:
    """What the member's profile supports claiming (significant, positive tastes only)."""

    genres: frozenset[str] = field(default_factory=frozenset)
    directors: frozenset[str] = field(default_factory=frozenset)
    decades: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_profile(cls, patterns: dict | None) -> "TasteFacts":
        patterns = patterns or {}
        return cls(frozenset(patterns.get("favourite_genres") or ()), frozenset(patterns.get("favourite_directors") or ()),
                   frozenset(patterns.get("favourite_decades") or ()))


def contributions(p_seen: np.ndarray, p_val: np.ndarray, q_rows: np.ndarray, items: np.ndarray, seen: np.ndarray,
                  valence: np.ndarray, stars: np.ndarray) -> np.ndarray:
    """Each rated movie's share of a pick's base score: (seen p_seen + valence p_val) . q. ``q_rows``: one
    pick's movie vector (the result is one value per rated movie) or several picks' (one row per pick)."""
    rated = ~np.isnan(stars)
    q_rows = np.asarray(q_rows)
    out = np.full(q_rows.shape[:-1] + (len(items),), -np.inf)
    if rated.any():
        rows = seen[rated, None] * p_seen[items[rated]] + valence[rated, None] * p_val[items[rated]]
        out[..., rated] = q_rows @ rows.T
    return out


def loved_contributor(values: np.ndarray, stars: np.ndarray) -> int | None:
    """Position of the rated movie to name: the largest contributor rated 4 stars or more, if it is among
    the three largest contributors overall; else None."""
    order = np.argsort(-values, kind="stable")[:TOP_CONTRIBUTORS]
    for position in order:
        if np.isfinite(values[position]) and values[position] > 0 and stars[position] >= LOVED_STARS:
            return int(position)
    return None


def assign(options: Sequence[Sequence[Reason]], share: float = MAX_TEMPLATE_SHARE) -> list[Reason]:
    """One reason per pick, each pick's options in order of preference, no template above ``share`` of
    the list (the last option of a pick is its fallback when every better one is full)."""
    cap = max(1, math.floor(share * len(options)))
    used: dict[str, int] = {}
    out = []
    for choices in options:
        chosen = next((r for r in choices if used.get(r.template, 0) < cap), choices[-1])
        used[chosen.template] = used.get(chosen.template, 0) + 1
        out.append(chosen)
    return out


def reason_options(index: int, *, label: Callable[[int], str], directors: Sequence[str], genres: Sequence[str],
                   decade: str | None, loved: int | None, collaborative: float, facts: TasteFacts,
                   item_mean: float | None, rating_count: float, new: bool = False,
                   same_director: tuple[str, str] | None = None) -> list[Reason]:
    """Every true thing worth saying about one pick, most specific first; always ends with a fallback.
    ``new``: nobody's ratings shaped the film's vector yet (item cold start); ``same_director``:
    (director, a film of theirs the member loved)."""
    options: list[Reason] = []
    if new:
        if same_director is not None:
            options.append(Reason("new", f"new here, from {same_director[0]}, the director of {same_director[1]}"))
        elif loved is not None:
            options.append(Reason("new", f"new here, and close to {label(loved)}, which you loved"))
        else:
            options.append(Reason("new", "new here: nobody has rated it yet, and it fits your taste"))
    if loved is not None and not new:
        options.append(Reason("loved", f"because you loved {label(loved)}"))
    for director in directors:
        if director in facts.directors:
            options.append(Reason("director", f"more {director}, a director you love"))
            break
    liked_genres = [g for g in genres if g in facts.genres]
    if liked_genres:
        options.append(Reason("genre", f"more {liked_genres[0]}, a genre you rate highly"))
    if decade is not None and decade in facts.decades:
        options.append(Reason("decade", f"from the {decade}, a decade you rate highly"))
    if collaborative > 0:
        options.append(Reason("neighbours", "loved by members whose taste is close to yours"))
    if item_mean is not None and item_mean >= 4.0 and rating_count >= 20:
        options.append(Reason("acclaimed", f"rated {item_mean:.1f}★ on average by {int(rating_count)} members"))
    if item_mean is not None and item_mean >= 3.8 and rating_count < 20:
        options.append(Reason("gem", "a lesser-known film that the few who saw it rated highly"))
    options.append(Reason("fits", "fits the films you rate highly"))
    return options
