"""Choose the list's diversity and calibration strengths on validation data only.

The warm test split (seed 0) is set aside; a validation split (seed 1) is cut from its
training part, ours is fitted once on the validation training part, and every
(diversity, calibration) pair re-ranks the same candidates. The rule: the largest
calibration, then the largest diversity, whose validation NDCG@10 is within TOLERANCE of
the best pair's. Personas are reported beside each pair for reading, not for choosing. The served
defaults (`bot.settings`) are what the rule allows on every data set swept (latest-small and
MovieLens 1M's first 1,500 users).

    cinesync eval --ratings ... --movies ... --protocol list-shape
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tqdm import tqdm

from engine.data import History
from engine.evaluation.ours import OursScorer
from engine.evaluation.personas import PersonaWorld, evaluate_personas, make_personas
from engine.evaluation.protocols import evaluate_warm
from engine.splits import warm_split

DIVERSITY_GRID = (0.0, 0.1, 0.2)
CALIBRATION_GRID = (0.0, 0.05, 0.1, 0.15, 0.2, 0.35, 0.5)
TOLERANCE = 0.02  # a list shape may cost at most 2% of the best validation NDCG@10


def sweep(histories: dict[int, History], n_items: int, catalog: Any, progress: bool = False) -> list[dict[str, Any]]:
    """`catalog` must know nothing of the warm test split's held-out ratings."""
    outer = warm_split(histories, n_items)
    validation = warm_split(outer.train, n_items, seed=1)
    ours = OursScorer(catalog, user_weights=False).fit(list(validation.train.values()), n_items)
    counts = np.zeros(n_items)
    for history in validation.train.values():
        np.add.at(counts, history.items, 1.0)
    world = PersonaWorld(catalog, counts)
    personas = make_personas(world, seed=0)
    rows = []
    grid = [(d, c) for d in DIVERSITY_GRID for c in CALIBRATION_GRID]
    for diversity, calibration in tqdm(grid, desc="list shapes", disable=not progress):
        ours.engine.ranker.diversity, ours.engine.ranker.calibration = diversity, calibration
        figures = evaluate_warm(ours, validation)
        found = evaluate_personas(personas, world, ours.rank)
        rows.append({"diversity": diversity, "calibration": calibration, "ndcg@10": round(figures["ndcg@10"], 4),
                     "coverage@10": round(figures["coverage@10"], 3),
                     "personas_precision@10": {k: round(v["precision@10"], 2) for k, v in found.items()}})
    return rows


def choose(rows: list[dict[str, Any]]) -> dict[str, Any]:
    best = max(r["ndcg@10"] for r in rows)
    allowed = [r for r in rows if r["ndcg@10"] >= (1 - TOLERANCE) * best]
    return max(allowed, key=lambda r: (r["calibration"], r["diversity"]))
