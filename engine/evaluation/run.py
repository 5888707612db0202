"""One evaluation run: our engine and its peers side by side on both protocols."""
from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from engine.data import ItemIndex, histories_from_frame
from engine.evaluation.calibration import fit_calibrator
from engine.evaluation.ours import OursScorer
from engine.evaluation.protocols import COLD_STEPS, cold_split, evaluate_cold, evaluate_warm, tune, warm_split
from engine.peers import ALSPeer, EASEPeer, PopularityPeer
from engine.snapshot import Catalog
from engine.training import TrainConfig

EASE_GRID = [{"lam": v} for v in (50.0, 100.0, 200.0, 400.0, 800.0)]
ALS_GRID = [{"factors": f, "regularization": r, "alpha": a} for f in (16, 32, 64) for r in (0.1, 1.0) for a in (1.0, 5.0)]


def build_catalog(movies: pd.DataFrame, items: ItemIndex, text_vectors: np.ndarray | None = None) -> Catalog:
    """`movies` in the canonical columns of bot.catalog.readers, any order; rows follow `items`."""
    by_id = movies.set_index("movie_id")
    rows = [by_id.loc[m] if m in by_id.index else None for m in items.movie_ids]

    def lst(row: Any, column: str) -> list[str]:
        return list(row[column]) if row is not None and isinstance(row[column], (list, tuple)) else []

    return Catalog(
        items=items,
        titles=[str(r["title"]) if r is not None else f"movie {m}" for r, m in zip(rows, items.movie_ids)],
        years=[int(r["year"]) if r is not None and r["year"] is not None and r["year"] == r["year"] else None for r in rows],
        genres=[lst(r, "genres") for r in rows],
        directors=[lst(r, "directors") for r in rows],
        cast=[lst(r, "cast_members") for r in rows],
        text_vectors=text_vectors,
    )


def run_evaluation(ratings: pd.DataFrame, movies: pd.DataFrame, text_vectors_for: Any = None,
                   config: TrainConfig = TrainConfig(), blend: float = 0.6, diversity: float = 0.0,
                   protocols: tuple[str, ...] = ("warm", "cold", "calibration"), progress: bool = True) -> dict[str, Any]:
    """`ratings`: user_id, movie_id, rating, rated_at. `text_vectors_for(items)`: optional content vectors."""
    started = time.perf_counter()
    items = ItemIndex(np.sort(ratings["movie_id"].unique()))
    text_vectors = text_vectors_for(items) if text_vectors_for else None
    catalog = build_catalog(movies, items, text_vectors)
    histories = histories_from_frame(ratings, items)
    n = len(items)
    result: dict[str, Any] = {"config": {
        "users": len(histories), "items": n, "ratings": int(len(ratings)), "base_model": config.as_dict(),
        "blend_personal": blend, "diversity": diversity, "content_vectors": text_vectors is not None,
        "seeds": {"split": 0, "validation": 1},
    }}
    timings: dict[str, float] = {}

    def peers(split_train: dict, n_items: int) -> list:
        val = warm_split(split_train, n_items, seed=1)
        ease_params, _ = tune(lambda p: EASEPeer(**p), EASE_GRID, val, progress=progress)
        als_params, _ = tune(lambda p: ALSPeer(**p), ALS_GRID, val, progress=progress)
        result["config"].setdefault("tuned", {})["ease"] = ease_params
        result["config"]["tuned"]["als"] = als_params
        return [PopularityPeer(), EASEPeer(**ease_params), ALSPeer(**als_params)]

    if "warm" in protocols:
        split = warm_split(histories, n)
        train = list(split.train.values())
        scorers = [OursScorer(catalog, config, blend, diversity, progress), *peers(split.train, n)]
        result["warm"] = {}
        for scorer in tqdm(scorers, desc="warm protocol", disable=not progress):
            t = time.perf_counter()
            scorer.fit(train, n)
            result["warm"][scorer.name] = evaluate_warm(scorer, split, progress=progress)
            timings[f"warm.{scorer.name}"] = round(time.perf_counter() - t, 1)
        result["config"]["learned_weights"] = scorers[0].weights

    if "cold" in protocols:
        split_c = cold_split(histories, n)
        train = list(split_c.train.values())
        ease_params = result["config"].get("tuned", {}).get("ease")
        als_params = result["config"].get("tuned", {}).get("als")
        if ease_params is None:
            peers(split_c.train, n)
            ease_params, als_params = result["config"]["tuned"]["ease"], result["config"]["tuned"]["als"]
        scorers = [OursScorer(catalog, config, blend, diversity, progress), PopularityPeer(), EASEPeer(**ease_params), ALSPeer(**als_params)]
        result["cold"] = {}
        result["config"]["cold_users"] = len(split_c.new_users)
        for scorer in tqdm(scorers, desc="cold protocol", disable=not progress):
            t = time.perf_counter()
            scorer.fit(train, n)
            result["cold"][scorer.name] = evaluate_cold(scorer, split_c, COLD_STEPS, progress=progress)
            timings[f"cold.{scorer.name}"] = round(time.perf_counter() - t, 1)
    if "calibration" in protocols:
        t = time.perf_counter()
        _calibrator, figures = fit_calibrator(histories, catalog, config)
        result["calibration"] = figures
        timings["calibration"] = round(time.perf_counter() - t, 1)
    result["config"]["seconds"] = timings
    result["config"]["total_seconds"] = round(time.perf_counter() - started, 1)
    return result
