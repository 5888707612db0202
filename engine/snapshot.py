"""What the ranker reads: arrays describing the catalog and the trained model.

Built by the service layer from the database (or by the evaluation from CSV files); the
engine never fetches anything itself.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.data import ItemIndex


DECADES = tuple(range(1900, 2030, 10))
_ORIGINAL_TITLE = re.compile(r"\(([^()]*)\)\s*$")


def is_foreign(language: str | None, original_title: str | None) -> bool:
    """Not in English: the IMDb language where known, else a MovieLens title that carries its
    original-language title in brackets ("Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)")."""
    if isinstance(language, str) and language:
        return language != "English"
    bare = re.sub(r"\s*\(\d{4}(?:-\d{0,4})?\)\s*$", "", original_title or "")
    found = _ORIGINAL_TITLE.search(bare)
    return bool(found and not found.group(1).lower().startswith("a.k.a"))


_SEQUEL = re.compile(r"\s+(?:part\s+)?(?:\d+|[ivx]+)$")


_TRAILING_ALIAS = re.compile(r"\s*\([^()]*\)\s*$")


def short_title(title: str) -> str:
    """The main title without the aliases MovieLens appends: "Bicycle Thieves (a.k.a. The Bicycle Thief)
    (Ladri di biciclette)" -> "Bicycle Thieves" (a title that is only brackets is kept as it is)."""
    short = title
    while (found := _TRAILING_ALIAS.search(short)) is not None and found.start() > 0:
        short = short[: found.start()]
    return short.strip() or title


def series_key(title: str) -> str:
    """The series a title belongs to: its part before a colon or " - ", lower-cased, without a trailing
    sequel number ("The Lord of the Rings: The Two Towers" and "The Lord of the Rings" share one)."""
    head = re.split(r":| - ", title, maxsplit=1)[0].strip().lower()
    head = re.sub(r"\s*\(.*\)\s*$", "", head)
    return _SEQUEL.sub("", head).strip()


@dataclass
class Catalog:
    items: ItemIndex
    titles: list[str]
    years: list[int | None]
    genres: list[list[str]]
    directors: list[list[str]]
    cast: list[list[str]]
    text_vectors: np.ndarray | None = None  # n_items x text_dim, unit rows (content similarity)
    genre_names: list[str] = field(default_factory=list)
    genre_matrix: np.ndarray | None = None  # n_items x n_genres, 0/1
    rating_counts: np.ndarray | None = None  # how many people rated each movie (popularity without a model)
    foreign: np.ndarray | None = None  # True for films not in English (see `is_foreign`)

    def __post_init__(self) -> None:
        if self.genre_matrix is None:
            names = sorted({g for gs in self.genres for g in gs})
            self.genre_names = names
            column = {g: i for i, g in enumerate(names)}
            matrix = np.zeros((len(self.genres), max(1, len(names))), dtype=np.float32)
            for row, gs in enumerate(self.genres):
                for g in gs:
                    matrix[row, column[g]] = 1.0
            self.genre_matrix = matrix

    def __len__(self) -> int:
        return len(self.items)

    def series(self) -> np.ndarray:
        """Each movie's `series_key`, as an array for vectorised comparison."""
        return np.array([series_key(t) for t in self.titles], dtype=object)

    def decades(self) -> np.ndarray:
        """n_items x decades one-hot (1900s ... 2020s; unknown years in none)."""
        out = np.zeros((len(self.years), len(DECADES)), dtype=np.float32)
        for row, year in enumerate(self.years):
            if year is not None and year == year:
                out[row, min(max((int(year) - DECADES[0]) // 10, 0), len(DECADES) - 1)] = 1.0
        return out

    def label(self, index: int) -> str:
        year = self.years[index]
        title = short_title(self.titles[index])
        return f"{title} ({year})" if year else title


@dataclass
class ModelArrays:
    """The trained base model as plain arrays (rows follow the catalog's item order)."""

    p_seen: np.ndarray
    p_val: np.ndarray
    q: np.ndarray
    positive_counts: np.ndarray  # training positives per item: the popularity prior
    weights: dict[str, dict[str, float]]  # default signal weights per rating-count bucket
    version: str = "untrained"
    calibrator: Any = None  # engine.calibration.MatchCalibrator, fitted on held-out ratings
    global_mean: float = 3.5
    item_means: np.ndarray | None = None  # shrunk mean rating per item (training data)
    slider_calibrators: dict[str, Any] = field(default_factory=dict)  # slider name -> MatchCalibrator (1 feature)
    dislike_calibrator: Any = None  # MatchCalibrator of the chance of a rating under 3 stars (same features)
    cold_start: Any = None  # engine.coldstart.ColdStart: rows for films without ratings in the training data
    trained: np.ndarray | None = None  # True for films whose rows were learned from ratings (others: predicted)
    prior: np.ndarray | None = None  # log training positives per film; predicted for films not trained
