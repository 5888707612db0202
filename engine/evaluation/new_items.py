"""The item cold-start protocol (`cinesync eval --new-items`).

The newest ``fraction`` of the rated films (by their first rating) lose every rating from training.
For each user who later rated one of them 4 stars or more, every method ranks all of those new films
from the user's training ratings; NDCG@10 against the ones they rated 4+.

Constants of every method (ours: ridge strength, the share of the text-neighbour regression and the
weight of the predicted popularity prior; peers: the weight of popularity, the number of neighbours)
are chosen on a validation split built the same way inside the training data (the next-newest films),
then applied once to the test split. Every method sees the same facts about a film: its text
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


def newest_films(frame: pd.DataFrame, fraction: float) -> np.ndarray:
    """Movie ids of the newest ``fraction`` of the rated films, by first rating (ties by id)."""
    first = frame.groupby("movie_id")["rated_at"].min().reset_index().sort_values(["rated_at", "movie_id"])
    count = max(1, math.ceil(fraction * len(first)))
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


def evaluate_new_items(frame: pd.DataFrame, catalog: Catalog, facts: ItemFacts, fraction: float = 0.1,
                       train_config: TrainConfig = TrainConfig(), cold_config: ColdStartConfig = ColdStartConfig(),
                       seed: int = 0, progress: bool = True, outside: bool = False,
                       lams: tuple[float, ...] = LAM_GRID, blends: tuple[float, ...] = BLEND_GRID) -> dict[str, Any]:
    """``frame``: user_id, movie_id, rating, rated_at; ``catalog``/``facts`` rows follow one ItemIndex.
    ``outside``: let every method use the outside popularity aggregates (see the module docstring)."""
    started = time.perf_counter()
    items = catalog.items
    if not outside:
        facts = replace(facts, outside=np.full_like(np.asarray(facts.outside, dtype=np.float64), np.nan))
    test_ids = newest_films(frame, fraction)
    inside = frame[~frame["movie_id"].isin(test_ids)]
    val_ids = newest_films(inside, fraction / (1.0 - fraction))  # as many films as the test split has
    bar = tqdm(total=4, desc="new-items protocol", unit="step", disable=not progress)
    grid = [(lam, blend) for lam in lams for blend in blends]
    result: dict[str, Any] = {"fraction": fraction, "outside_popularity": outside, "splits": {}}

    def run(data: pd.DataFrame, new_ids: np.ndarray, chosen: dict[str, Any] | None) -> dict[str, Any]:
        split = Split(data, new_ids, items)
        key = None if chosen is None else (chosen["ours"]["lam"], chosen["ours"]["blend"])
        fitted = _Fitted(split, catalog, facts, train_config, cold_config, grid if key is None else [key])
        bar.update()
        popularity = (_outside_popularity(facts) if outside else
                      _genre_popularity(catalog.genre_matrix, fitted.engine.model.positive_counts, fitted.trained))
        genre_scores, text_scores = _genre_scores(split, catalog, popularity), _text_scores(split, facts, popularity)
        figures: dict[str, Any] = {"new_films": int(split.new.sum()), "users": len(split.users)}
        if chosen is None:  # validation: every constant on its grid
            ours = {(k, w): _mean_ndcg(split, lambda u: fitted.scores(u, k, w, split.new)) for k in grid for w in PRIOR_GRID}
            genre = {w: _mean_ndcg(split, lambda u: genre_scores(u, w)) for w in PRIOR_GRID}
            text = {(w, k): _mean_ndcg(split, lambda u: text_scores(u, w, k)) for w in PRIOR_GRID for k in KNN_GRID}
            best_ours, best_genre, best_text = max(ours, key=ours.get), max(genre, key=genre.get), max(text, key=text.get)
            figures["chosen"] = {"ours": {"lam": best_ours[0][0], "blend": best_ours[0][1], "prior_weight": best_ours[1]},
                                 "genre_popularity": {"popularity_weight": best_genre},
                                 "text_neighbours": {"popularity_weight": best_text[0], "k": best_text[1]}}
            figures["ndcg@10"] = {"ours": ours[best_ours], "genre_popularity": genre[best_genre],
                                  "text_neighbours": text[best_text]}
            figures["ours_ridge_only"] = max(v for ((_lam, b), _w), v in ours.items() if b == 0.0)
            figures["ours_text_neighbours_only"] = max(v for ((_lam, b), _w), v in ours.items() if b == 1.0)
        else:
            c = chosen
            figures["ndcg@10"] = {
                "ours": _mean_ndcg(split, lambda u: fitted.scores(u, key, c["ours"]["prior_weight"], split.new)),  # type: ignore[arg-type]
                "genre_popularity": _mean_ndcg(split, lambda u: genre_scores(u, c["genre_popularity"]["popularity_weight"])),
                "text_neighbours": _mean_ndcg(split, lambda u: text_scores(
                    u, c["text_neighbours"]["popularity_weight"], c["text_neighbours"]["k"])),
            }
        figures["ndcg@10"]["random"] = _random_ndcg(split, seed)
        scores = figures["ndcg@10"]
        best_peer = max(scores["genre_popularity"], scores["text_neighbours"])
        figures["ratio_vs_best_content_peer"] = scores["ours"] / best_peer if best_peer else float("inf")
        figures["ratio_vs_random"] = scores["ours"] / scores["random"] if scores["random"] else float("inf")
        bar.update()
        return figures

    validation = run(inside, val_ids, None)
    result["splits"]["validation"] = validation
    result["splits"]["test"] = run(frame, test_ids, validation["chosen"])
    result["chosen"] = validation["chosen"]
    bar.close()
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result
