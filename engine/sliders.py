"""Sliders: named, text-defined dimensions ("dark", "feel-good") scored against movie texts.

A slider's description and every movie's text live in the same sentence-embedding space;
a movie's fit to a slider is their cosine similarity, standardised over the catalog so that
"dark" means darker than the catalog's typical movie. `mood=` re-ranks recommendations by
adding that standardised fit to the ranker's score.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MOOD_WEIGHT = 1.0  # how strongly a mood re-ranks, in standard deviations of the ranker's score


@dataclass
class Sliders:
    names: list[str]
    descriptions: list[str]
    vectors: np.ndarray  # sliders x text_dim, unit rows

    def index(self, name: str) -> int | None:
        try:
            return self.names.index(name)
        except ValueError:
            return None

    def item_fit(self, text_vectors: np.ndarray) -> np.ndarray:
        """items x sliders: cosine to each slider, standardised per slider over the catalog."""
        cosine = text_vectors @ self.vectors.T
        return (cosine - cosine.mean(axis=0)) / np.maximum(cosine.std(axis=0), 1e-9)

    def mood_boost(self, name: str, item_fit: np.ndarray, weight: float = MOOD_WEIGHT) -> np.ndarray:
        column = self.index(name)
        if column is None:
            raise KeyError(name)
        return weight * item_fit[:, column]
