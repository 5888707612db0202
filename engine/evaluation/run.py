"""One evaluation run: our engine and its peers side by side on both protocols."""
from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from engine.data import ItemIndex, histories_from_frame
from engine.calibration_fit import fit_calibrator, held_out_ratings
from engine.evaluation.list_shape import TOLERANCE, choose, sweep
from engine.evaluation.ours import OursScorer
from engine.evaluation.personas import PersonaWorld, evaluate_personas, make_personas
from engine.evaluation.protocols import COLD_STEPS, evaluate_cold, evaluate_warm, tune
from engine.peers import ALSPeer, EASEPeer, PopularityPeer
from engine.splits import cold_split, warm_split
from engine.snapshot import Catalog, is_foreign
from engine.training import TrainConfig, choose_config

# what a peer is fed is tuned like its other constants (engine.data.interaction_matrix)
EASE_GRID = [{"lam": v, "input": i} for i in ("positives", "rated")
             for v in (50.0, 100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0)]
ALS_GRID = [{"factors": f, "regularization": r, "alpha": a, "input": i} for i in ("positives", "rated", "weighted")
            for f in (32, 64, 128) for r in (0.1, 1.0) for a in (1.0, 5.0, 20.0)]


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
        foreign=np.array([is_foreign(r.get("language"), r.get("original_title")) if r is not None else False
                          for r in rows], dtype=bool),
    )


def run_evaluation(ratings: pd.DataFrame, movies: pd.DataFrame, text_vectors_for: Any = None,
                   config: TrainConfig | None = None, blend: float = 0.6, diversity: float = 0.0,
                   protocols: tuple[str, ...] = ("warm", "cold", "calibration"), progress: bool = True,
                   calibration: float = 0.0) -> dict[str, Any]:
    """`ratings`: user_id, movie_id, rating, rated_at.

    `text_vectors_for(items, excluded_pairs, excluded_users)`: optional content vectors built
    without the tags that held-out data wrote (the (user id, movie id) pairs held out, and every
    tag of a user held out whole), so nothing of a held-out rating reaches ours.
    """
    started = time.perf_counter()
    items = ItemIndex(np.sort(ratings["movie_id"].unique()))
    histories = histories_from_frame(ratings, items)
    n = len(items)

    def catalog_for(excluded_pairs: set[tuple[int, int]], excluded_users: set[int]) -> Catalog:
        vectors = text_vectors_for(items, excluded_pairs, excluded_users) if text_vectors_for else None
        return build_catalog(movies, items, vectors)

    result: dict[str, Any] = {"config": {
        "users": len(histories), "items": n, "ratings": int(len(ratings)), "blend_personal": blend,
        "diversity": diversity, "list_calibration": calibration, "content_vectors": text_vectors_for is not None,
        "seeds": {"split": 0, "validation": 1},
    }}
    timings: dict[str, float] = {}

    def tuned_peers(validation: Any, protocol: str) -> list:
        """Popularity, EASE and ALS with constants and inputs chosen on a split cut from training data."""
        ease_params, _ = tune(lambda p: EASEPeer(**p), EASE_GRID, validation, progress=progress)
        als_params, _ = tune(lambda p: ALSPeer(**p), ALS_GRID, validation, progress=progress)
        result["config"].setdefault("tuned", {})[protocol] = {"ease": ease_params, "als": als_params}
        return [PopularityPeer(), EASEPeer(**ease_params), ALSPeer(**als_params)]

    if "warm" in protocols:
        split = warm_split(histories, n)
        train = list(split.train.values())
        scorers = [OursScorer(catalog_for(split.held_out_pairs(items), set()), config, blend, diversity, progress,
                              list_calibration=calibration),
                   *tuned_peers(warm_split(split.train, n, seed=1), "warm")]
        result["warm"] = {}
        for scorer in tqdm(scorers, desc="warm protocol", disable=not progress):
            t = time.perf_counter()
            scorer.fit(train, n)
            result["warm"][scorer.name] = evaluate_warm(scorer, split, progress=progress)
            timings[f"warm.{scorer.name}"] = round(time.perf_counter() - t, 1)
        result["config"]["ours_warm"] = scorers[0].chosen()

    if "cold" in protocols:
        split_c = cold_split(histories, n)
        train = list(split_c.train.values())
        new_users = {int(u) for u in split_c.new_users}
        scorers = [OursScorer(catalog_for(set(), new_users), config, blend, diversity, progress,
                              list_calibration=calibration),
                   *tuned_peers(cold_split(split_c.train, n, seed=1), "cold")]
        result["cold"] = {}
        result["config"]["cold_users"] = len(split_c.new_users)
        for scorer in tqdm(scorers, desc="cold protocol", disable=not progress):
            t = time.perf_counter()
            scorer.fit(train, n)
            result["cold"][scorer.name] = evaluate_cold(scorer, split_c, COLD_STEPS, progress=progress)
            timings[f"cold.{scorer.name}"] = round(time.perf_counter() - t, 1)
        result["config"]["ours_cold"] = scorers[0].chosen()
    if "personas" in protocols:
        t = time.perf_counter()
        ours = OursScorer(catalog_for(set(), set()), config, blend, diversity, progress,
                              list_calibration=calibration)
        ours.fit([histories[u] for u in sorted(histories)], n)
        counts = np.zeros(n)
        for history in histories.values():
            np.add.at(counts, history.items, 1.0)
        world = PersonaWorld(ours.catalog, counts)
        result["personas"] = evaluate_personas(make_personas(world, seed=0), world, ours.rank)
        result["config"]["ours_personas"] = ours.chosen()
        timings["personas"] = round(time.perf_counter() - t, 1)
    if "list-shape" in protocols:
        t = time.perf_counter()
        rows = sweep(histories, n, catalog_for(warm_split(histories, n).held_out_pairs(items), set()), progress)
        result["list_shape"] = {"rows": rows, "chosen": choose(rows), "tolerance": TOLERANCE}
        timings["list_shape"] = round(time.perf_counter() - t, 1)
    if "calibration" in protocols:
        t = time.perf_counter()
        if config is None:
            config, _tried = choose_config(histories, n, progress=progress)
        train_c, held = held_out_ratings(histories)
        pairs = {(u, int(items.movie_ids[i])) for u, h in held.items() for i in h.items}
        _calibrator, _dislike, figures = fit_calibrator(histories, catalog_for(pairs, set()), config)
        result["calibration"] = figures
        timings["calibration"] = round(time.perf_counter() - t, 1)
    result["config"]["seconds"] = timings
    result["config"]["total_seconds"] = round(time.perf_counter() - started, 1)
    return result
