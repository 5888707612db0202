"""What each kind of feedback means to the learner.

Every piece of feedback becomes two numbers for the taste model's input:

* ``seen``: 1 when the member watched the movie (any rating, love ... hate, "seen"), 0 otherwise.
  Watching itself says a lot about taste (people who watch X also watch Y);
* ``valence``: how much they liked it, centred on a middling rating: ``(stars - 3) / 2``
  scaled by the strength of the kind. Love and hate move the vector more than like and
  dislike; a middling 3 stars moves it little; "not interested" is a negative without a watch.

The words a member can use map to stars (documented for `/rate`):
love = 5.0, like = 4.0, meh = 3.0, dislike = 2.0, hate = 1.0.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

KINDS = ("rating", "love", "like", "meh", "dislike", "hate", "not_interested", "seen")
WORD_STARS: dict[str, float] = {"love": 5.0, "like": 4.0, "meh": 3.0, "dislike": 2.0, "hate": 1.0}
# the stars a word may carry when given with explicit stars: "love" with 0.5 stars contradicts itself
WORD_STAR_RANGE: dict[str, tuple[float, float]] = {"love": (4.0, 5.0), "like": (3.0, 5.0), "meh": (2.0, 3.5),
                                                   "dislike": (0.5, 3.0), "hate": (0.5, 2.0)}
POSITIVE_THRESHOLD = 4.0

# the design this replaces used a learning rate of 0.1 and 0.15 for strong feedback
STRENGTH: dict[str, float] = {"love": 1.5, "hate": 1.5, "like": 1.0, "dislike": 1.0, "meh": 1.0, "rating": 1.0}
NOT_INTERESTED_VALENCE = -1.0


@dataclass(frozen=True)
class Signal:
    seen: float
    valence: float


def stars_for(kind: str, rating: float | None) -> float | None:
    """Stars implied by a feedback: explicit stars win, words map to their stars."""
    if rating is not None:
        return float(rating)
    return WORD_STARS.get(kind)


def signal(kind: str, rating: float | None) -> Signal:
    """The (seen, valence) input a feedback contributes to the user's taste vector."""
    if kind not in KINDS:
        raise ValueError(f"unknown feedback kind {kind!r}; expected one of {', '.join(KINDS)}")
    if kind == "not_interested":
        return Signal(0.0, NOT_INTERESTED_VALENCE)
    if kind == "seen":
        return Signal(1.0, 0.0)
    stars = stars_for(kind, rating)
    if stars is None or not 0.5 <= stars <= 5.0:
        raise ValueError(f"a {kind} feedback needs stars between 0.5 and 5.0, got {rating!r}")
    return Signal(1.0, STRENGTH[kind] * (stars - 3.0) / 2.0)


def signals(kinds: Sequence[str], ratings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`signal` for a whole history at once: (seen, valence) arrays (the batch jobs' hot path)."""
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown feedback kind {sorted(unknown)[0]!r}; expected one of {', '.join(KINDS)}")
    kinds_array = np.asarray(kinds, dtype=object)
    words = np.array([WORD_STARS.get(k, np.nan) for k in kinds_array], dtype=np.float64)
    stars = np.where(np.isnan(ratings), words, ratings)
    strength = np.array([STRENGTH.get(k, 0.0) for k in kinds_array], dtype=np.float64)
    starless = np.isin(kinds_array, ("not_interested", "seen"))
    bad = ~starless & ~((stars >= 0.5) & (stars <= 5.0))
    if bad.any():
        raise ValueError(f"a {kinds_array[bad][0]} feedback needs stars between 0.5 and 5.0")
    seen = np.where(kinds_array == "not_interested", 0.0, 1.0)
    valence = np.where(starless, np.where(kinds_array == "not_interested", NOT_INTERESTED_VALENCE, 0.0),
                       strength * (np.nan_to_num(stars, nan=3.0) - 3.0) / 2.0)
    return seen, valence


def is_positive(kind: str, rating: float | None) -> bool:
    stars = stars_for(kind, rating)
    return stars is not None and stars >= POSITIVE_THRESHOLD
