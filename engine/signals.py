"""The ranker's signals, each a score per item for one user (higher = better).

personal      the user's online taste vector against the movie vectors
base          the base model's prediction from the user's star ratings alone
collaborative what users with similar taste vectors loved, over a popularity prior
content       text-embedding similarity to what the user liked
genre         the user's shrunk per-genre valence
attributes    how over-represented the movie's genres, decade, language and popularity tier are
              among what the user loved (log lift over everyone's loves, shrunk); not z-scored,
              so a member whose taste is concentrated gets a strong signal and an eclectic one none
dislike       minus the closeness (in the model's item space) to the movies the user disliked
popularity    how many people loved the movie

`attributes` and `dislike` keep their own scale (see UNSCALED): their size is the evidence.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import sparse

from engine.data import binary_matrix

SIGNALS = ("personal", "base", "collaborative", "content", "genre", "attributes", "dislike", "popularity")
UNSCALED = frozenset({"attributes", "dislike"})

COLLAB_EPS = 0.3
COLLAB_POWER = 4.0
GENRE_SHRINK = 3.0
ATTRIBUTE_SHRINK = 5.0  # pseudo-loves at everyone's shares
DISLIKE_FLOOR = 0.5  # cosine below which a disliked movie says nothing about another
POPULARITY_TIERS = (100, 500, 2000)  # rank boundaries: the 100 most loved, the next 400, ...


@dataclass
class Neighbours:
    """Similar users: cosine similarities and what each loved (neighbours x items, CSR 0/1)."""

    similarity: np.ndarray
    loved: sparse.csr_matrix

    @classmethod
    def from_lists(cls, similarity: np.ndarray, loved: list[np.ndarray], n_items: int) -> "Neighbours":
        return cls(np.asarray(similarity, dtype=np.float64), binary_matrix(loved, n_items))


def collaborative(neighbours: Neighbours | None, positive_counts: np.ndarray,
                  prior: np.ndarray | None = None) -> np.ndarray:
    """log(eps^p * popularity + sum over neighbours of ((eps + cos)^p - eps^p) * loved).

    Every user contributes eps^p to each item they loved (the popularity prior), and similar
    users contribute more; with no neighbours this is popularity. ``prior``: `collaborative_prior`
    of these counts, when the caller keeps it (only the films the neighbours loved are then worked out:
    a few thousand of a large catalog).
    """
    if prior is None:
        prior = collaborative_prior(positive_counts)
    if neighbours is None or not len(neighbours.similarity):
        return prior.copy()
    base = COLLAB_EPS ** COLLAB_POWER
    extra = (COLLAB_EPS + np.maximum(neighbours.similarity, 0.0)) ** COLLAB_POWER - base
    added = neighbours.loved.T @ extra
    touched = neighbours.loved.indices  # (repeats write the same value)
    scores = prior.copy()
    scores[touched] = np.log1p(base * positive_counts[touched].astype(np.float64) + added[touched])
    return scores


def collaborative_prior(positive_counts: np.ndarray) -> np.ndarray:
    """The collaborative signal with no neighbours: log(1 + eps^p * popularity)."""
    return np.log1p(COLLAB_EPS ** COLLAB_POWER * positive_counts.astype(np.float64))


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
    mean = chosen.mean()
    std = chosen.std()
    if std == 0:
        return np.zeros_like(values)
    out = values - mean
    out /= std
    return out


def attribute_groups(genre_matrix: np.ndarray, decades: np.ndarray) -> list[slice]:
    """The column ranges of `attribute_matrix`'s groups: genres, decade, language, popularity tier."""
    edges = np.cumsum([0, genre_matrix.shape[1], decades.shape[1], 2, len(POPULARITY_TIERS) + 1])
    return [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def attribute_matrix(genre_matrix: np.ndarray, decades: np.ndarray, foreign: np.ndarray | None,
                     positive_counts: np.ndarray) -> np.ndarray:
    """n_items x attributes, each group (genres, decade, language, popularity tier) summing to 1 per item,
    so an item's attribute score is the mean lift of its genres plus its decade's, language's and tier's."""
    genres = genre_matrix / np.maximum(genre_matrix.sum(axis=1, keepdims=True), 1.0)
    language = np.zeros((len(positive_counts), 2), dtype=np.float32)
    if foreign is not None:
        language[np.arange(len(foreign)), np.asarray(foreign, dtype=np.int64)] = 1.0
    order = np.argsort(-positive_counts, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    tier = np.searchsorted(np.array(POPULARITY_TIERS), rank, side="right")
    tiers = np.zeros((len(order), len(POPULARITY_TIERS) + 1), dtype=np.float32)
    tiers[np.arange(len(order)), tier] = 1.0
    return np.hstack([genres, decades, language, tiers]).astype(np.float32)


def attribute_prior(attributes: np.ndarray, positive_counts: np.ndarray) -> np.ndarray:
    """Everyone's share of loves per attribute (within its group)."""
    counts = np.asarray(positive_counts, dtype=np.float64)
    return (counts @ attributes + 1.0) / (counts.sum() + attributes.shape[1])


def attribute_lift(attributes: np.ndarray, prior: np.ndarray, items: np.ndarray, valence: np.ndarray) -> np.ndarray:
    """Log lift of each attribute among what the user liked (valence-weighted) over everyone's share,
    shrunk towards 0 by ATTRIBUTE_SHRINK pseudo-loves at everyone's shares."""
    weights = np.maximum(np.asarray(valence, dtype=np.float64), 0.0)
    if len(items) == 0 or weights.sum() == 0:
        return np.zeros(attributes.shape[1], dtype=np.float32)
    mine = weights @ attributes[items]
    return np.log((mine + ATTRIBUTE_SHRINK * prior) / ((weights.sum() + ATTRIBUTE_SHRINK) * prior)).astype(np.float32)


def dislike(q_unit: np.ndarray, items: np.ndarray, valence: np.ndarray, rows: np.ndarray | None = None,
            row_vectors: np.ndarray | None = None) -> np.ndarray:
    """Minus the strongest closeness to a disliked movie: (cos - floor) / (1 - floor) above the floor,
    scaled by how much it was disliked (a hate counts fully, a 2-star half). ``rows``: for these movies only
    (``row_vectors``: their rows of ``q_unit``, when the caller has them already)."""
    disliked = valence < 0
    targets = q_unit if rows is None else q_unit[rows] if row_vectors is None else row_vectors
    if not disliked.any():
        return np.zeros(len(targets), dtype=np.float32)
    strength = np.minimum(-valence[disliked], 1.0).astype(np.float32)
    closeness = np.maximum(q_unit[items[disliked]] @ targets.T - DISLIKE_FLOOR, 0.0) / (1.0 - DISLIKE_FLOOR)
    return -(closeness * strength[:, None]).max(axis=0)


KERNEL_BLOCK = 512  # movies per matrix product while building the kernel (512 x catalog floats at a time)
KERNEL_MAX_ENTRIES = 60_000_000  # past this many close pairs the kernel is not worth its memory: None


def dislike_kernel(q_unit: np.ndarray) -> sparse.csr_matrix | None:
    """Every movie's closeness to every other above the floor, (cos - floor) / (1 - floor), as a sparse
    movies x movies matrix; None when more pairs than KERNEL_MAX_ENTRIES are that close.

    Why: few pairs are (0.2% on MovieLens 1M), so a batch of members' dislike signals is a gather of
    their disliked movies' rows instead of a product with the whole catalog per member, which was a
    third of the PreferenceLearner's weights refit."""
    parts: list[sparse.csr_matrix] = []
    entries = 0
    for start in range(0, len(q_unit), KERNEL_BLOCK):
        closeness = q_unit[start:start + KERNEL_BLOCK] @ q_unit.T
        closeness -= DISLIKE_FLOOR
        np.maximum(closeness, 0.0, out=closeness)
        closeness /= 1.0 - DISLIKE_FLOOR
        parts.append(sparse.csr_matrix(closeness))
        entries += parts[-1].nnz
        if entries > KERNEL_MAX_ENTRIES:
            return None
    if not parts:
        return sparse.csr_matrix((0, 0), dtype=np.float32)
    return sparse.vstack(parts, format="csr").astype(np.float32)


def dislike_many(kernel: sparse.csr_matrix, items: Sequence[np.ndarray], valences: Sequence[np.ndarray]) -> np.ndarray:
    """`dislike` of many members at once (members x movies) from `dislike_kernel`: the same values, from
    the kernel rows of their disliked movies scaled by strength, the strongest per movie."""
    out = np.zeros((len(items), kernel.shape[1]), dtype=np.float32)
    owners, disliked, strengths = [], [], []
    for row, (rated, valence) in enumerate(zip(items, valences)):
        chosen = valence < 0
        if chosen.any():
            owners.append(np.full(int(chosen.sum()), row, dtype=np.int64))
            disliked.append(rated[chosen])
            strengths.append(np.minimum(-valence[chosen], 1.0))
    if not owners:
        return out
    rows = kernel[np.concatenate(disliked)].tocoo()
    values = rows.data * np.concatenate(strengths).astype(np.float32)[rows.row]
    np.maximum.at(out, (np.concatenate(owners)[rows.row], rows.col), values)
    return -out


def scaled(name: str, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """How a signal enters the blend: z-scored over the candidates, or as is for UNSCALED signals."""
    return values if name in UNSCALED else zscore(values, mask)


CALIBRATION_MIX = 0.01  # Steck's alpha: the list's distribution is mixed with a little of the member's


def taste_distribution(attributes: np.ndarray, groups: list[slice], items: np.ndarray, valence: np.ndarray) -> np.ndarray | None:
    """What the member loved, as a distribution over each attribute group (valence-weighted);
    None when they loved nothing."""
    weights = np.maximum(np.asarray(valence, dtype=np.float64), 0.0)
    if len(items) == 0 or weights.sum() == 0:
        return None
    mass = weights @ attributes[items]
    out = np.zeros_like(mass)
    for group in groups:
        total = mass[group].sum()
        if total > 0:
            out[group] = mass[group] / total
    return out


class CalibrationGap:
    """KL(target || list) summed over the attribute groups (Steck's calibration, RecSys 2018; lower is
    better) of a list with each candidate added, as the list grows (the list re-ranking asks once per
    pick). ``candidates``: their attribute rows. Only the attributes the member loved count (a term
    with target 0 is 0): those columns, and each one's group total, are taken from the candidates once."""

    def __init__(self, target: np.ndarray, groups: list[slice], candidates: np.ndarray) -> None:
        self.used = np.flatnonzero(target > 0)
        self.members = np.zeros((candidates.shape[1], len(self.used)))  # column j: the total of used[j]'s group
        for group in groups:
            self.members[group, (self.used >= group.start) & (self.used < group.stop)] = 1.0
        self.p = target[self.used]
        self.rows, self.totals = candidates[:, self.used], candidates @ self.members

    def __call__(self, list_mass: np.ndarray) -> np.ndarray:
        """The gap of (list + each candidate) for ``list_mass`` one list's summed attributes (or, per
        candidate, a matrix of them)."""
        if len(self.used) == 0:
            return np.zeros(len(self.rows))
        q = (self.rows + list_mass[..., self.used]) / np.maximum(self.totals + list_mass @ self.members, 1e-12)
        q = (1 - CALIBRATION_MIX) * q + CALIBRATION_MIX * self.p
        return (self.p * np.log(self.p / np.maximum(q, 1e-12))).sum(axis=1)
