"""Item cold start: a vector in the model's space for a film nobody has rated yet.

The trained rows of the model (the movie vector ``q``, the rating-side rows ``p_seen``/``p_val``)
and the log of each film's training positives are predicted from what a film is, two ways, then
blended: a ridge regression (closed form) on its synopsis/metadata text embedding, genres, decade,
directors, cast and keywords (those shared by enough trained films) and its popularity elsewhere
(MovieLens 2023 aggregates, TMDB votes: a prior, not a verdict); and a kernel regression over its
nearest trained films in the text-embedding space (their rows, weighted by a softmax of cosine
similarity). On the validation splits of `cinesync eval --new-items` the blend ranked new films
better than either alone. A film without ratings then gets predicted rows: members whose
taste fits it see it, and rating it moves their taste vector like any other film. A retrain
replaces the predicted rows by learned ones as soon as the film has ratings.

Configuration (`ColdStartConfig`) is kept apart from what is learned (`ColdStart`).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from scipy import sparse

from engine.snapshot import DECADES

OUTSIDE = ("log_popularity_count", "popularity_mean", "log_tmdb_votes", "tmdb_score")


@dataclass(frozen=True)
class ColdStartConfig:
    lam: float = 10.0  # ridge strength (best mean over the validation splits of `cinesync eval --new-items`)
    neighbours: int = 30  # trained films the kernel regression averages over
    temperature: float = 0.1  # softmax temperature over their cosine similarities
    blend: float = 0.5  # share of the kernel regression in the blend (0: ridge only)
    min_films: int = 3  # a director, actor or keyword becomes a feature when this many trained films share it
    max_vocabulary: int = 800  # per kind (directors, cast, keywords), most frequent first
    count_shrink: float = 5.0  # a trained film with n ratings weighs n / (n + count_shrink) in the fit
    text_weight: float = 1.0


@dataclass
class ItemFacts:
    """What is known about each film without ratings (rows follow the catalog's order)."""

    text: np.ndarray | None  # n x d unit text embeddings (rows of zeros: no text)
    genres: np.ndarray  # n x g 0/1
    years: Sequence[int | None]
    directors: Sequence[Sequence[str]]
    cast: Sequence[Sequence[str]]
    keywords: Sequence[Sequence[str]]
    outside: np.ndarray  # n x len(OUTSIDE), NaN where unknown

    def __len__(self) -> int:
        return len(self.genres)


@dataclass
class ColdStart:
    """The learned regression: vocabulary, feature standardisation and weights."""

    vocabulary: dict[str, list[str]]
    outside_mean: np.ndarray
    outside_std: np.ndarray
    weights: np.ndarray  # features x (3 * dim + 1)
    dim: int
    config: ColdStartConfig = field(default_factory=ColdStartConfig)
    text_dim: int | None = 0  # width of the text block it was fitted with (a catalog without texts gets zeros);
    # None: a checkpoint saved before the width was stored, read from the weights at first use

    def features(self, facts: ItemFacts) -> sparse.csr_matrix:
        if self.text_dim is None:
            without_text = _features(facts, self.vocabulary, self.outside_mean, self.outside_std, self.config, 0).shape[1]
            self.text_dim = max(self.weights.shape[0] - without_text, 0)
        x = _features(facts, self.vocabulary, self.outside_mean, self.outside_std, self.config, self.text_dim)
        if x.shape[1] != self.weights.shape[0]:
            raise ValueError(f"the cold start was fitted on {self.weights.shape[0]} features but this catalog gives "
                             f"{x.shape[1]} (a different genre list?); retrain with `cinesync train`")
        return x

    def predict(self, facts: ItemFacts, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(q, p_seen, p_val, log positives) predicted for ``rows`` of ``facts`` (all when None)."""
        x = self.features(facts)
        if rows is not None:
            x = x[rows]
        y = np.asarray(x @ self.weights, dtype=np.float32)
        d = self.dim
        return y[:, :d], y[:, d:2 * d], y[:, 2 * d:3 * d], np.maximum(y[:, 3 * d], 0.0)

    def to_dict(self) -> dict:
        return {"vocabulary": self.vocabulary, "outside_mean": self.outside_mean.tolist(),
                "outside_std": self.outside_std.tolist(), "dim": self.dim, "config": vars(self.config),
                "text_dim": self.text_dim}

    @classmethod
    def from_dict(cls, data: dict, weights: np.ndarray) -> "ColdStart":
        return cls({k: list(v) for k, v in data["vocabulary"].items()}, np.array(data["outside_mean"]),
                   np.array(data["outside_std"]), weights, int(data["dim"]), ColdStartConfig(**data["config"]),
                   None if "text_dim" not in data else int(data["text_dim"]))


def _decade_matrix(years: Sequence[int | None]) -> np.ndarray:
    out = np.zeros((len(years), len(DECADES)), dtype=np.float32)
    for row, year in enumerate(years):
        if year is not None and year == year:
            out[row, min(max((int(year) - DECADES[0]) // 10, 0), len(DECADES) - 1)] = 1.0
    return out


def _entity_block(lists: Sequence[Sequence[str]], names: list[str]) -> sparse.csr_matrix:
    column = {n: i for i, n in enumerate(names)}
    rows, cols = [], []
    for r, entries in enumerate(lists):
        found = sorted({column[e] for e in entries if e in column})
        rows += [r] * len(found)
        cols += found
    values = np.ones(len(rows), dtype=np.float32)
    if rows:  # each film's entities share one unit of weight, so a long cast does not shout
        counts = np.bincount(rows, minlength=len(lists)).astype(np.float32)
        values /= np.sqrt(counts[rows])
    return sparse.csr_matrix((values, (rows, cols)), shape=(len(lists), max(1, len(names))))


def _features(facts: ItemFacts, vocabulary: dict[str, list[str]], mean: np.ndarray, std: np.ndarray,
              config: ColdStartConfig, text_dim: int) -> sparse.csr_matrix:
    n = len(facts)
    outside = np.asarray(facts.outside, dtype=np.float64)
    known = ~np.isnan(outside)
    scaled = np.where(known, (np.nan_to_num(outside) - mean) / std, 0.0)
    blocks = [sparse.csr_matrix(np.ones((n, 1), dtype=np.float32)),
              sparse.csr_matrix(scaled.astype(np.float32)), sparse.csr_matrix(known.astype(np.float32)),
              sparse.csr_matrix(np.asarray(facts.genres, dtype=np.float32)), sparse.csr_matrix(_decade_matrix(facts.years))]
    if text_dim:  # the fitted width, whatever this catalog has (no texts: zeros, the ridge uses the rest)
        text = np.asarray(facts.text, dtype=np.float32) if facts.text is not None and facts.text.shape[1] == text_dim \
            else np.zeros((n, text_dim), dtype=np.float32)
        blocks.append(sparse.csr_matrix(config.text_weight * text))
    for kind, lists in (("directors", facts.directors), ("cast", facts.cast), ("keywords", facts.keywords)):
        blocks.append(_entity_block(lists, vocabulary.get(kind, [])))
    return sparse.hstack(blocks, format="csr")


def fit_cold_start(facts: ItemFacts, trained: np.ndarray, rating_counts: np.ndarray, q: np.ndarray, p_seen: np.ndarray,
                   p_val: np.ndarray, positive_counts: np.ndarray, config: ColdStartConfig = ColdStartConfig()) -> ColdStart:
    """Ridge from the films' facts to their trained rows, fitted on the ``trained`` films only (those
    with ratings in the training data), each weighed by how many ratings shaped its rows."""
    rows = np.flatnonzero(trained)
    vocabulary = {}
    for kind, lists in (("directors", facts.directors), ("cast", facts.cast), ("keywords", facts.keywords)):
        counts = Counter(e for r in rows for e in set(lists[r]))
        common = [name for name, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c >= config.min_films]
        vocabulary[kind] = common[: config.max_vocabulary]
    outside = np.asarray(facts.outside, dtype=np.float64)[rows]
    mean = np.array([np.nanmean(c) if np.isfinite(c).any() else 0.0 for c in outside.T])
    std = np.array([np.nanstd(c) if np.isfinite(c).sum() > 1 else 1.0 for c in outside.T])
    std = np.where(std > 1e-9, std, 1.0)
    text_dim = int(facts.text.shape[1]) if facts.text is not None else 0
    x = _features(facts, vocabulary, mean, std, config, text_dim)[rows].astype(np.float64)
    y = np.hstack([q[rows], p_seen[rows], p_val[rows], np.log1p(positive_counts[rows])[:, None]]).astype(np.float64)
    n = np.asarray(rating_counts, dtype=np.float64)[rows]
    w = n / (n + config.count_shrink)
    xtw = (x.T.multiply(w)).tocsr()
    gram = np.asarray((xtw @ x).todense())
    penalty = config.lam * np.ones(gram.shape[0])
    penalty[0] = 1e-6  # the intercept is not shrunk
    gram[np.diag_indices_from(gram)] += penalty
    weights = np.linalg.solve(gram, np.asarray(xtw @ y)).astype(np.float32)
    return ColdStart(vocabulary, mean, std, weights, int(q.shape[1]), config, text_dim)


def outside_facts(popularity_count: Sequence[float | None], popularity_mean: Sequence[float | None],
                  tmdb_votes: Sequence[float | None], tmdb_score: Sequence[float | None]) -> np.ndarray:
    """The OUTSIDE columns from raw values (None: unknown)."""
    def column(values: Sequence[float | None], log: bool) -> np.ndarray:
        out = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
        return np.log1p(out) if log else out

    return np.column_stack([column(popularity_count, True), column(popularity_mean, False),
                            column(tmdb_votes, True), column(tmdb_score, False)])


def text_neighbour_rows(text: np.ndarray, rows: np.ndarray, anchors: np.ndarray, targets: np.ndarray,
                        config: ColdStartConfig, chunk: int = 2048) -> np.ndarray:
    """Kernel regression: for each of ``rows``, the softmax(cosine / temperature)-weighted mean of
    ``targets`` (one row per anchor) over its ``neighbours`` nearest ``anchors`` (trained films) in
    the text space."""
    out = np.zeros((len(rows), targets.shape[1]), dtype=np.float32)
    anchor_text = np.asarray(text[anchors], dtype=np.float32)
    k = min(config.neighbours, len(anchors))
    if k == 0:
        return out
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        sims = np.asarray(text[part], dtype=np.float32) @ anchor_text.T
        near = np.argpartition(-sims, k - 1, axis=1)[:, :k] if k < len(anchors) else np.tile(np.arange(k), (len(part), 1))
        s = np.take_along_axis(sims, near, axis=1)
        w = np.exp((s - s.max(axis=1, keepdims=True)) / config.temperature)
        w /= w.sum(axis=1, keepdims=True)
        out[start:start + len(part)] = np.einsum("nk,nkd->nd", w, targets[near])
    return out


def predict_rows(cold: ColdStart, facts: ItemFacts, rows: np.ndarray, trained: np.ndarray,
                 model_rows: tuple[np.ndarray, np.ndarray, np.ndarray], positive_counts: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(q, p_seen, p_val, log positives) for ``rows``: the ridge prediction blended with the kernel
    regression over trained films (each part of the kernel estimate rescaled to the ridge's size)."""
    q_r, ps_r, pv_r, prior_r = cold.predict(facts, rows)
    blend = cold.config.blend
    if blend <= 0 or facts.text is None or not trained.any():
        return q_r, ps_r, pv_r, prior_r
    with_text = np.linalg.norm(np.asarray(facts.text[rows], dtype=np.float32), axis=1) > 0
    anchors_text = np.linalg.norm(np.asarray(facts.text[trained], dtype=np.float32), axis=1) > 0
    if not with_text.any() or not anchors_text.any():
        return q_r, ps_r, pv_r, prior_r
    share = np.where(with_text, blend, 0.0)  # a film without a text: the ridge alone
    anchors = np.flatnonzero(trained)[anchors_text]
    q, p_seen, p_val = model_rows
    targets = np.hstack([q[anchors], p_seen[anchors], p_val[anchors],
                         np.log1p(positive_counts[anchors])[:, None]]).astype(np.float32)
    knn = text_neighbour_rows(facts.text, rows, anchors, targets, cold.config)
    d = cold.dim
    out = []
    for part, (lo, hi) in zip((q_r, ps_r, pv_r), ((0, d), (d, 2 * d), (2 * d, 3 * d))):
        k_part = knn[:, lo:hi]
        scale = _rms(part[with_text]) / max(_rms(k_part[with_text]), 1e-12)
        out.append(((1.0 - share[:, None]) * part + share[:, None] * scale * k_part).astype(np.float32))
    prior = (1.0 - share) * prior_r + share * knn[:, 3 * d]
    return out[0], out[1], out[2], np.maximum(prior, 0.0)


def _rms(rows: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.sum(np.square(rows, dtype=np.float64), axis=1)))) if len(rows) else 0.0


def fill_untrained(model_rows: tuple[np.ndarray, np.ndarray, np.ndarray], trained: np.ndarray, cold: ColdStart,
                   facts: ItemFacts, positive_counts: np.ndarray) -> np.ndarray:
    """Write predicted rows into (q, p_seen, p_val) for every film not ``trained``, in place; returns the
    log-positives prior of every film (trained films: their own)."""
    q, p_seen, p_val = model_rows
    missing = np.flatnonzero(~trained)
    prior = np.log1p(np.asarray(positive_counts, dtype=np.float64))
    if len(missing):
        q_new, ps_new, pv_new, log_pos = predict_rows(cold, facts, missing, trained, model_rows, positive_counts)
        q[missing], p_seen[missing], p_val[missing] = q_new, ps_new, pv_new
        prior[missing] = log_pos
    return prior
