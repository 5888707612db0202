"""The persona protocol: synthetic members with planted tastes over the real catalog.

Each persona rates 15-25 movies (one rates only 5) the way a real member would: mostly
well-known films of their taste, loved, and a few popular films outside it, disliked. The
ratings go through the online feedback path (`PersonalizedTrainer.apply_feedback`, as
`/rate` does) and the persona is ranked by the served ranker call. Reported per persona:
precision of the top 10 against the planted taste, and how many of the 100 most-rated movies
it holds. Several seeded members per kind keep one lucky draw from deciding the figure.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from engine.data import History
from engine.snapshot import Catalog

TOP_POPULAR = 100
NICHE_BEYOND = 500  # a contrarian's films lie outside the 500 most-rated


@dataclass
class Persona:
    name: str
    history: History
    taste: np.ndarray  # boolean mask over items: the planted taste
    forbidden: np.ndarray | None = None  # items that must stay out of the top 20 (e.g. the rest of a hated saga)


@dataclass
class PersonaWorld:
    catalog: Catalog
    counts: np.ndarray  # training ratings per item

    @property
    def foreign(self) -> np.ndarray:
        return self.catalog.foreign if self.catalog.foreign is not None else np.zeros(len(self.catalog), dtype=bool)

    @property
    def head(self) -> np.ndarray:
        mask = np.zeros(len(self.counts), dtype=bool)
        mask[np.argsort(-self.counts, kind="stable")[:TOP_POPULAR]] = True
        return mask

    def genre(self, name: str) -> np.ndarray:
        return np.array([name in g for g in self.catalog.genres])

    def decade(self, start: int) -> np.ndarray:
        return np.array([y is not None and start <= y < start + 10 for y in self.catalog.years])


def _pick(rng: np.random.Generator, mask: np.ndarray, counts: np.ndarray, size: int, exclude: set[int]) -> list[int]:
    """Well-known films first, as real members rate: drawn with probability growing with popularity."""
    pool = np.array([i for i in np.flatnonzero(mask & (counts >= 3)) if i not in exclude])
    if len(pool) == 0:
        return []
    weights = np.sqrt(counts[pool])
    chosen = rng.choice(pool, size=min(size, len(pool)), replace=False, p=weights / weights.sum())
    return [int(i) for i in chosen]


def _history(rng: np.random.Generator, loved: list[int], disliked: list[int]) -> History:
    items = loved + disliked
    stars = [float(rng.choice([4.0, 4.5, 5.0, 5.0])) for _ in loved] + [float(rng.choice([1.0, 1.5, 2.0, 2.5])) for _ in disliked]
    order = rng.permutation(len(items))
    return History(np.array(items, dtype=np.int64)[order], np.array(stars)[order])


def make_personas(world: PersonaWorld, seed: int = 0, per_kind: int = 3) -> list[Persona]:
    """Six kinds of planted taste, `per_kind` seeded members each, plus one who hates The Return of the King."""
    rng = np.random.default_rng(seed)
    counts = world.counts
    rated = counts > 0
    popular_rank = np.argsort(-counts, kind="stable")
    niche = rated.copy()
    niche[popular_rank[:NICHE_BEYOND]] = False
    kinds: dict[str, np.ndarray] = {
        "horror fan": world.genre("Horror"),
        "animation lover": world.genre("Animation"),
        "arthouse/foreign": world.foreign,
        "1970s devotee": world.decade(1970),
        "contrarian": niche,
        "five ratings (sci-fi)": world.genre("Sci-Fi"),
    }
    personas: list[Persona] = []
    for name, taste in kinds.items():
        for _ in range(per_kind):
            if name == "contrarian":
                loved = _pick(rng, niche & (counts >= 5), counts, int(rng.integers(10, 16)), set())
                disliked = [int(i) for i in rng.choice(popular_rank[:TOP_POPULAR], size=10, replace=False)]
            elif name.startswith("five"):
                loved, disliked = _pick(rng, taste, counts, 5, set()), []
            else:
                loved = _pick(rng, taste, counts, int(rng.integers(12, 19)), set())
                disliked = _pick(rng, ~taste & rated, counts, int(rng.integers(3, 7)), set(loved))
            personas.append(Persona(name, _history(rng, loved, disliked), taste))
    lotr = np.array(["Lord of the Rings" in t for t in world.catalog.titles])
    king = [i for i in np.flatnonzero(lotr) if "Return of the King" in world.catalog.titles[i]]
    if king:
        adventure = world.genre("Adventure") | world.genre("Fantasy")
        for _ in range(per_kind):
            loved = _pick(rng, adventure & ~lotr, counts, int(rng.integers(12, 19)), set())
            history = _history(rng, loved, [])
            history = History(np.append(history.items, king[0]), np.append(history.ratings, 0.5))
            personas.append(Persona("hates The Return of the King", history, adventure, forbidden=lotr))
    return personas


def evaluate_personas(personas: list[Persona], world: PersonaWorld,
                      rank: Callable[[History, int], list[int]]) -> dict[str, Any]:
    """Mean precision@10 against the planted taste, most-rated films in the top 10 (mean and worst),
    and forbidden films in the top 20, per kind. `rank(history, k)` returns the top k item indices."""
    head = world.head
    by_kind: dict[str, dict[str, list[float]]] = {}
    examples: dict[str, list[str]] = {}
    for persona in personas:
        top = rank(persona.history, 20)
        top10 = np.array(rank(persona.history, 10), dtype=np.int64)  # the default list, as served
        row = by_kind.setdefault(persona.name, {"precision@10": [], "top100_in_top10": [], "forbidden_in_top20": []})
        row["precision@10"].append(float(persona.taste[top10].mean()) if len(top10) else 0.0)
        row["top100_in_top10"].append(float(head[top10].sum()))
        if persona.forbidden is not None:
            row["forbidden_in_top20"].append(float(persona.forbidden[np.array(top, dtype=np.int64)].sum()))
        examples.setdefault(persona.name, [world.catalog.label(i) for i in top10[:5]])
    out: dict[str, Any] = {}
    for name, row in by_kind.items():
        out[name] = {
            "members": len(row["precision@10"]),
            "precision@10": float(np.mean(row["precision@10"])),
            "worst_precision@10": float(np.min(row["precision@10"])),
            "top100_in_top10": float(np.mean(row["top100_in_top10"])),
            "worst_top100_in_top10": float(np.max(row["top100_in_top10"])),
            "example": examples[name],
        }
        if row["forbidden_in_top20"]:
            out[name]["forbidden_in_top20"] = float(np.max(row["forbidden_in_top20"]))
    return out
