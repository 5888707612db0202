"""The item cold-start protocol (`cinesync eval --new-items`).

The newest ``fraction`` of the rated films (by their first rating) lose every rating from training.
For each user who later rated one of them 4 stars or more, every method ranks all of those new films
from the user's training ratings; NDCG@10 against the ones they rated 4+.

Constants of every method (ours: ridge strength, the share of the text-neighbour regression and the
weight of the predicted popularity prior; peers: the weight of popularity, the number of neighbours)
are chosen on validation splits built the same way inside the training data (the next-newest films,
then the ones before them: best on average over three), then applied once to the test split. Every method sees the same facts about a film: its text
(metadata and synopsis, no user tags), genres, year, directors, cast, keywords.

Popularity: by default no method sees popularity from outside the training ratings. MovieLens 2023's
aggregates and TMDB's votes were counted years after these films were new (hindsight) and include
the held-out users' own ratings, so in this protocol they would leak; the peers' popularity is then
genre popularity (how loved the film's genres are in the training data). ``outside=True`` gives every
method the outside aggregates instead (as the product has them for a film added today), reported apart.

Peers: genre popularity (the user's per-genre valence over the film's genres, plus popularity),
text neighbours (mean cosine of the film to the k nearest films the user liked, plus popularity),
and random.
"""
from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Any, Callable

import numpy as np
import pandas as pd
from tqdm import tqdm

from engine import signals as sig
from engine.coldstart import ColdStartConfig, ItemFacts, fit_cold_start, predict_rows
from engine.data import History, ItemIndex, histories_from_frame
from engine.engine import fit_engine
from engine.metrics import ndcg_at, top_k
from engine.snapshot import Catalog
from engine.training import TrainConfig

PRIOR_GRID = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
LAM_GRID = (10.0, 30.0, 100.0)
BLEND_GRID = (0.0, 0.5, 1.0)
KNN_GRID = (1, 5, 20)
RANDOM_DRAWS = 20
VALIDATION_SPLITS = 3  # rolling validation splits the constants are chosen over


def newest_films(frame: pd.DataFrame, fraction: float | None = None, count: int | None = None) -> np.ndarray:
    """Movie ids of the newest ``fraction`` (or ``count``) of the rated films, by first rating (ties by id)."""
    first = frame.groupby("movie_id")["rated_at"].min().reset_index().sort_values(["rated_at", "movie_id"])
    if count is None:
        count = max(1, math.ceil((fraction or 0.0) * len(first)))
    return first["movie_id"].to_numpy()[-count:]


def _z(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    chosen = values[mask]
    sd = float(chosen.std()) if len(chosen) else 0.0
    return (values - (float(chosen.mean()) if len(chosen) else 0.0)) / (sd if sd > 1e-12 else 1.0)


class Split:
    """Training histories without the new films, and each test user's new films rated 4+."""

    def __init__(self, frame: pd.DataFrame, new_ids: np.ndarray, items: ItemIndex) -> None:
        is_new = frame["movie_id"].isin(new_ids)
        self.train = histories_from_frame(frame[~is_new], items)
        self.new = np.zeros(len(items), dtype=bool)
        self.new[items.positions(new_ids)] = True
        target = frame[is_new & (frame["rating"] >= 4.0)]
        self.relevant = {int(u): items.positions(g["movie_id"].to_numpy())
                         for u, g in target.groupby("user_id") if int(u) in self.train}

    @property
    def users(self) -> list[int]:
        return sorted(self.relevant)


def _mean_ndcg(split: Split, scores_of: Callable[[int], np.ndarray]) -> float:
    values = [ndcg_at(top_k(scores_of(u), split.new, 10), split.relevant[u]) for u in split.users]
    return float(np.mean(values)) if values else 0.0


def _outside_popularity(facts: ItemFacts) -> np.ndarray:
    """log MovieLens 2023 count, else log TMDB votes (0 unknown)."""
    count, votes = facts.outside[:, 0], facts.outside[:, 2]
    return np.where(np.isnan(count), np.nan_to_num(votes), count)


def _genre_popularity(genres: np.ndarray, positive_counts: np.ndarray, trained: np.ndarray) -> np.ndarray:
    """Each film's genres' mean log training positives (the popularity content alone can tell)."""
    g = np.asarray(genres, dtype=np.float64)
    logpos = np.log1p(np.asarray(positive_counts, dtype=np.float64))
    per_genre = (g[trained].T @ logpos[trained]) / np.maximum(g[trained].sum(axis=0), 1.0)
    return (g @ per_genre) / np.maximum(g.sum(axis=1), 1.0)


class _Fitted:
    """Our model fitted on a split's training data, with the new films' predicted rows for each
    (ridge strength, blend) pair."""

    def __init__(self, split: Split, catalog: Catalog, facts: ItemFacts, train_config: TrainConfig,
                 cold_config: ColdStartConfig, grid: list[tuple[float, float]]) -> None:
        histories = [split.train[u] for u in sorted(split.train)]
        self.engine = fit_engine(histories, catalog, train_config)
        model = self.engine.model
        counts = np.zeros(len(catalog))
        for h in histories:
            np.add.at(counts, h.items, 1.0)
        self.trained = counts > 0
        self.user_vectors = {u: self._user_vector(split.train[u]) for u in split.users}
        self.predicted: dict[tuple[float, float], tuple[np.ndarray, np.ndarray]] = {}
        rows = np.flatnonzero(split.new)
        for lam in sorted({lam for lam, _ in grid}):
            cold = fit_cold_start(facts, self.trained, counts, model.q, model.p_seen, model.p_val, model.positive_counts,
                                  replace(cold_config, lam=lam))
            for blend in sorted({b for la, b in grid if la == lam}):
                cold.config = replace(cold.config, blend=blend)
                q_rows, _ps, _pv, prior_rows = predict_rows(cold, facts, rows, self.trained,
                                                            (model.q, model.p_seen, model.p_val), model.positive_counts)
                q = np.zeros_like(model.q)
                prior = np.zeros(len(catalog))
                q[rows], prior[rows] = q_rows, prior_rows
                self.predicted[(lam, blend)] = (q, prior)

    def _user_vector(self, history: History) -> np.ndarray:
        feedback = self.engine.user_feedback(history)
        model = self.engine.model
        return feedback.seen @ model.p_seen[feedback.items] + feedback.valence @ model.p_val[feedback.items]

    def scores(self, user: int, key: tuple[float, float], prior_weight: float, mask: np.ndarray) -> np.ndarray:
        q, prior = self.predicted[key]
        return _z(q @ self.user_vectors[user], mask) + prior_weight * _z(prior, mask)


def _genre_scores(split: Split, catalog: Catalog, popularity: np.ndarray) -> Callable[[int, float], np.ndarray]:
    genres = np.asarray(catalog.genre_matrix, dtype=np.float64)
    per_film = genres / np.maximum(genres.sum(axis=1, keepdims=True), 1.0)

    def scores(user: int, weight: float) -> np.ndarray:
        h = split.train[user]
        valence = h.ratings - np.nanmean(h.ratings)
        affinity = sig.genre_affinity(genres, h.items, np.nan_to_num(valence))
        return _z(per_film @ affinity, split.new) + weight * _z(popularity, split.new)

    return scores


def _text_scores(split: Split, facts: ItemFacts, popularity: np.ndarray) -> Callable[[int, float, int], np.ndarray]:
    text = np.asarray(facts.text, dtype=np.float32)
    new_rows = np.flatnonzero(split.new)

    def scores(user: int, weight: float, k: int) -> np.ndarray:
        h = split.train[user]
        liked = h.items[h.ratings >= 4.0]
        if len(liked) == 0:
            liked = h.items
        sims = text[new_rows] @ text[liked].T
        k_eff = min(k, sims.shape[1])
        nearest = -np.sort(-sims, axis=1)[:, :k_eff].mean(axis=1)
        out = np.zeros(len(split.new))
        out[new_rows] = nearest
        return _z(out, split.new) + weight * _z(popularity, split.new)

    return scores


def _random_ndcg(split: Split, seed: int) -> float:
    rng = np.random.default_rng(seed)
    return float(np.mean([_mean_ndcg(split, lambda _u: rng.random(len(split.new))) for _ in range(RANDOM_DRAWS)]))


def _grid(split: Split, fitted: "_Fitted", genre_scores: Callable, text_scores: Callable,
          grid: list[tuple[float, float]]) -> dict[str, dict[Any, float]]:
    """NDCG@10 of every method under every constant on its grid, on one split."""
    return {
        "ours": {(k, w): _mean_ndcg(split, lambda u: fitted.scores(u, k, w, split.new)) for k in grid for w in PRIOR_GRID},
        "genre_popularity": {w: _mean_ndcg(split, lambda u: genre_scores(u, w)) for w in PRIOR_GRID},
        "text_neighbours": {(w, k): _mean_ndcg(split, lambda u: text_scores(u, w, k)) for w in PRIOR_GRID for k in KNN_GRID},
    }


def _choose(grids: list[dict[str, dict[Any, float]]]) -> dict[str, Any]:
    """Each method's constants: the best mean NDCG@10 over the validation splits (one split's luck does
    not pick them)."""
    def best(method: str) -> Any:
        keys = list(grids[0][method])
        return max(keys, key=lambda key: float(np.mean([g[method][key] for g in grids])))

    ours, genre, text = best("ours"), best("genre_popularity"), best("text_neighbours")
    return {"ours": {"lam": ours[0][0], "blend": ours[0][1], "prior_weight": ours[1]},
            "genre_popularity": {"popularity_weight": genre},
            "text_neighbours": {"popularity_weight": text[0], "k": text[1]}}


def _keys(chosen: dict[str, Any]) -> dict[str, Any]:
    c = chosen
    return {"ours": ((c["ours"]["lam"], c["ours"]["blend"]), c["ours"]["prior_weight"]),
            "genre_popularity": c["genre_popularity"]["popularity_weight"],
            "text_neighbours": (c["text_neighbours"]["popularity_weight"], c["text_neighbours"]["k"])}


def _ratios(figures: dict[str, Any]) -> None:
    scores = figures["ndcg@10"]
    best_peer = max(scores["genre_popularity"], scores["text_neighbours"])
    figures["ratio_vs_best_content_peer"] = scores["ours"] / best_peer if best_peer else float("inf")
    figures["ratio_vs_random"] = scores["ours"] / scores["random"] if scores["random"] else float("inf")


def evaluate_new_items(frame: pd.DataFrame, catalog: Catalog, facts: ItemFacts, fraction: float = 0.1,
                       train_config: TrainConfig = TrainConfig(), cold_config: ColdStartConfig = ColdStartConfig(),
                       seed: int = 0, progress: bool = True, outside: bool = False,
                       lams: tuple[float, ...] = LAM_GRID, blends: tuple[float, ...] = BLEND_GRID,
                       validation_splits: int = VALIDATION_SPLITS) -> dict[str, Any]:
    """``frame``: user_id, movie_id, rating, rated_at; ``catalog``/``facts`` rows follow one ItemIndex.
    ``outside``: let every method use the outside popularity aggregates (see the module docstring).

    Validation splits roll back in time: the first holds out the films just older than the test films
    (from the data without the test films), the next the films older than those, and so on; every
    method's constants are the best on average over them, then applied once to the test split."""
    started = time.perf_counter()
    items = catalog.items
    if not outside:
        facts = replace(facts, outside=np.full_like(np.asarray(facts.outside, dtype=np.float64), np.nan))
    test_ids = newest_films(frame, fraction)
    bar = tqdm(total=validation_splits + 1, desc="new-items protocol (one fit per split)", unit="split",
               disable=not progress)
    grid = [(lam, blend) for lam in lams for blend in blends]
    result: dict[str, Any] = {"fraction": fraction, "outside_popularity": outside, "splits": {}}

    def prepare(data: pd.DataFrame, new_ids: np.ndarray, keys: list[tuple[float, float]]) -> tuple[Split, _Fitted, Callable, Callable]:
        split = Split(data, new_ids, items)
        fitted = _Fitted(split, catalog, facts, train_config, cold_config, keys)
        popularity = (_outside_popularity(facts) if outside else
                      _genre_popularity(catalog.genre_matrix, fitted.engine.model.positive_counts, fitted.trained))
        return split, fitted, _genre_scores(split, catalog, popularity), _text_scores(split, facts, popularity)

    # validation: every constant on its grid, on each rolling split
    data, grids, sizes, randoms = frame[~frame["movie_id"].isin(test_ids)], [], [], []
    for _ in range(validation_splits):
        held = newest_films(data, count=len(test_ids))  # as many films as the test split
        split, fitted, genre_scores, text_scores = prepare(data, held, grid)
        grids.append(_grid(split, fitted, genre_scores, text_scores, grid))
        sizes.append({"new_films": int(split.new.sum()), "users": len(split.users)})
        randoms.append(_random_ndcg(split, seed))
        data = data[~data["movie_id"].isin(held)]
        bar.update()
    chosen = _choose(grids)
    keys = _keys(chosen)
    for number, (g, size, rand) in enumerate(zip(grids, sizes, randoms), start=1):
        figures = {**size, "ndcg@10": {method: g[method][keys[method]] for method in keys}}
        figures["ndcg@10"]["random"] = rand
        figures["ours_ridge_only"] = max(v for ((_lam, b), _w), v in g["ours"].items() if b == 0.0)
        figures["ours_text_neighbours_only"] = max(v for ((_lam, b), _w), v in g["ours"].items() if b == 1.0)
        _ratios(figures)
        result["splits"][f"validation {number}"] = figures
    # test: once, with the chosen constants
    split, fitted, genre_scores, text_scores = prepare(frame, test_ids, [keys["ours"][0]])
    test = {"new_films": int(split.new.sum()), "users": len(split.users), "ndcg@10": {
        "ours": _mean_ndcg(split, lambda u: fitted.scores(u, keys["ours"][0], keys["ours"][1], split.new)),
        "genre_popularity": _mean_ndcg(split, lambda u: genre_scores(u, keys["genre_popularity"])),
        "text_neighbours": _mean_ndcg(split, lambda u: text_scores(u, *keys["text_neighbours"])),
        "random": _random_ndcg(split, seed)}}
    _ratios(test)
    result["splits"]["test"] = test
    result["chosen"] = chosen
    bar.update()
    bar.close()
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result
