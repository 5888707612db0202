"""The ranker's signals, each a score per item for one user (higher = better).

personal      the user's online taste vector against the movie vectors
base          the base model's prediction from the user's star ratings alone
collaborative what users with similar taste vectors loved, over a popularity prior
content       text-embedding similarity to what the user liked
genre         the user's shrunk per-genre valence
popularity    how many people loved the movie
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from engine.data import binary_matrix

SIGNALS = ("personal", "base", "collaborative", "content", "genre", "popularity")

COLLAB_EPS = 0.3
COLLAB_POWER = 4.0
GENRE_SHRINK = 3.0


@dataclass
class Neighbours:
    """Similar users: cosine similarities and what each loved (neighbours x items, CSR 0/1)."""

    similarity: np.ndarray
    loved: sparse.csr_matrix

    @classmethod
    def from_lists(cls, similarity: np.ndarray, loved: list[np.ndarray], n_items: int) -> "Neighbours":
        return cls(np.asarray(similarity, dtype=np.float64), binary_matrix(loved, n_items))


def collaborative(neighbours: Neighbours | None, positive_counts: np.ndarray) -> np.ndarray:
    """log(eps^p * popularity + sum over neighbours of ((eps + cos)^p - eps^p) * loved).

    Every user contributes eps^p to each item they loved (the popularity prior), and similar
    users contribute more; with no neighbours this is popularity.
    """
    base = COLLAB_EPS ** COLLAB_POWER
    scores = base * positive_counts.astype(np.float64)
    if neighbours is not None and len(neighbours.similarity):
        extra = (COLLAB_EPS + np.maximum(neighbours.similarity, 0.0)) ** COLLAB_POWER - base
        scores = scores + neighbours.loved.T @ extra
    return np.log1p(scores)


def text_profile(text_vectors: np.ndarray | None, items: np.ndarray, valence: np.ndarray) -> np.ndarray | None:
    """The unit text vector of what the user liked (valence-weighted); None when there is none."""
    if text_vectors is None or len(items) == 0 or not np.any(valence):
        return None
    profile = valence @ text_vectors[items]
    norm = np.linalg.norm(profile)
    return None if norm == 0 else (profile / norm).astype(text_vectors.dtype)


def content(text_vectors: np.ndarray | None, items: np.ndarray, valence: np.ndarray) -> np.ndarray | None:
    profile = text_profile(text_vectors, items, valence)
    return None if profile is None else text_vectors @ profile  # type: ignore[operator]


def genre_affinity(genre_matrix: np.ndarray, items: np.ndarray, valence: np.ndarray) -> np.ndarray:
    """The user's shrunk valence per genre."""
    if len(items) == 0:
        return np.zeros(genre_matrix.shape[1], dtype=genre_matrix.dtype)
    rated = genre_matrix[items]
    return ((valence @ rated) / (rated.sum(axis=0) + GENRE_SHRINK)).astype(genre_matrix.dtype)


def genre(genre_matrix: np.ndarray, items: np.ndarray, valence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(scores per item, affinity per genre)."""
    affinity = genre_affinity(genre_matrix, items, valence)
    return genre_matrix @ affinity, affinity


def zscore(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    chosen = values[mask]
    if chosen.size == 0:
        return np.zeros_like(values)
    std = chosen.std()
    return np.zeros_like(values) if std == 0 else (values - chosen.mean()) / std
