"""Signals that are one matrix-vector product over the catalog (film rows x dimensions), served in two
stages so a request does not read every film's full vector.

Over tens of thousands of films a request's time goes in reading the movie vectors (256-d) and the text
vectors (384-d) once each. A ``LinearSignal`` instead gives
- its mean and spread over any set of films exactly, from the matrix's column sums and Gram matrix
  (the z-scores the ranker blends are then the same as over a full pass);
- its values for every film approximately, from a low-rank projection (the top eigenvectors of the
  Gram matrix), cheap enough to pick a pool of candidates;
- its exact values for the films of that pool.
"""
from __future__ import annotations

import numpy as np

# dimensions of the first-stage projection. 32 rather than 64 (0.9 ms of a 9 ms ranking at 86,536 films): lists
# equal to a full pass, 200 of 200 bench lists there and 40 of 40 on MovieLens latest-small with the pool at 300;
# with a pool of only 60 there, 27 of 40 at 32, 28 at 64, 24 at 16
PROJECTION_RANK = 32


class LinearSignal:
    def __init__(self, matrix: np.ndarray, reference: np.ndarray | None = None, rank: int | None = PROJECTION_RANK) -> None:
        self.matrix = matrix
        wide = np.asarray(matrix, dtype=np.float64)
        self.count = len(matrix)
        self.total, self.gram = wide.sum(axis=0), wide.T @ wide
        self.reference_count = int(reference.sum()) if reference is not None else 0
        if reference is not None:
            chosen = wide[reference]
            self.reference_total, self.reference_gram = chosen.sum(axis=0), chosen.T @ chosen
        self.basis: np.ndarray | None = None
        if rank is not None and rank < matrix.shape[1]:
            _values, vectors = np.linalg.eigh(self.gram)
            self.basis = vectors[:, ::-1][:, :rank].astype(np.float32)  # the directions holding most of the rows' mass
            self.projected = np.ascontiguousarray(np.asarray(matrix, dtype=np.float32) @ self.basis)

    def values(self, vector: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.matrix[rows] @ vector.astype(self.matrix.dtype))

    def approximate(self, vector: np.ndarray) -> np.ndarray:
        """Every film's value through the projection (exact when no projection is kept)."""
        return self.approximate_many(np.asarray(vector)[:, None])[:, 0]

    def approximate_many(self, vectors: np.ndarray) -> np.ndarray:
        """`approximate` of each column of ``vectors`` (dimensions x m) in one read of the projection."""
        if self.basis is None:
            return np.asarray(self.matrix @ vectors.astype(self.matrix.dtype))
        return self.projected @ (self.basis.T @ vectors.astype(np.float32))

    def stats(self, vector: np.ndarray, where: np.ndarray, left_out: np.ndarray | None = None) -> tuple[float, float]:
        """(mean, population sd) of ``matrix @ vector`` over the films in ``where`` (as `signals.zscore` takes them).
        ``left_out``: the rows outside ``where``, when the caller has them (several signals share one mask)."""
        v = np.asarray(vector, dtype=np.float64)
        outside = np.flatnonzero(~where) if left_out is None else left_out
        inside = self.count - len(outside)
        if inside == 0:
            return 0.0, 0.0
        if inside > self.count // 2:  # every film minus the few left out
            out = np.asarray(self.matrix[outside], dtype=np.float64) @ v
            s1, s2 = float(self.total @ v) - float(out.sum()), float(v @ self.gram @ v) - float(out @ out)
        else:
            values = np.asarray(self.matrix[where], dtype=np.float64) @ v
            s1, s2 = float(values.sum()), float(values @ values)
        return _moments(s1, s2, inside)

    def reference_stats(self, vector: np.ndarray) -> tuple[float, float]:
        v = np.asarray(vector, dtype=np.float64)
        return _moments(float(self.reference_total @ v), float(v @ self.reference_gram @ v), self.reference_count)


SAMPLE_STRIDE = 16  # `largest` guesses its threshold from every 16th value


def largest(values: np.ndarray, size: int) -> np.ndarray:
    """Positions of the ``size`` largest of ``values`` (all of them when there are no more), exact.

    Why not one argpartition: over 85,000 films it was the pool's largest cost. A threshold read from a
    strided sample keeps about twice ``size`` values; the partition then runs over those only. When fewer
    than ``size`` pass (an unlucky sample), the whole array is partitioned as before."""
    if len(values) <= size:
        return np.arange(len(values))
    sample = values[::SAMPLE_STRIDE]
    keep = max(1, min(len(sample), 2 * size // SAMPLE_STRIDE))
    threshold = np.partition(sample, len(sample) - keep)[len(sample) - keep]
    above = np.flatnonzero(values >= threshold)
    if len(above) < size or len(above) > 8 * size:  # too few (exactness) or too many (ties, -inf): no gain
        return np.argpartition(-values, size - 1)[:size]
    return above[np.argpartition(-values[above], size - 1)[:size]]


def _moments(s1: float, s2: float, count: int) -> tuple[float, float]:
    if count == 0:
        return 0.0, 0.0
    mean = s1 / count
    return mean, float(np.sqrt(max(s2 / count - mean * mean, 0.0)))


def standardise(values: np.ndarray, stats: tuple[float, float]) -> np.ndarray:
    mean, sd = stats
    return (values - mean) / sd if sd > 0 else np.zeros_like(values)
