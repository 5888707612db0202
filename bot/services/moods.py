"""The catalog's moods: each movie's calibrated probability of fitting each named mood (`engine.moods`),
fitted from the catalog rows when the engine is assembled (a few seconds, no ratings needed)."""
from __future__ import annotations

import math
import threading
from typing import Any, Sequence

import numpy as np

from engine.moods import LabelRule, MoodFit, MovieFacts, fit_moods, mood_labels, movie_features, text_fit
from engine.sliders import Sliders
from engine.snapshot import Catalog


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def facts_from_rows(rows: Sequence[dict[str, Any]], catalog: Catalog) -> MovieFacts:
    """Catalog rows (as `catalog_rows` returns them, in catalog order) as the mood model's inputs."""
    words = [[str(w).lower() for w in (*(r.get("user_tags") or ()), *(r.get("keywords") or ()))] for r in rows]
    foreign = catalog.foreign if catalog.foreign is not None else np.zeros(len(rows), dtype=bool)
    counts = np.array([r.get("rating_count") or 0 for r in rows], dtype=float)
    return MovieFacts([list(r.get("genres") or ()) for r in rows], words,
                      [r.get("content_rating") if isinstance(r.get("content_rating"), str) else None for r in rows],
                      np.array([_number(r.get("runtime_minutes")) for r in rows]),
                      np.array([_number(r.get("year")) for r in rows]), counts, np.asarray(foreign, dtype=bool),
                      catalog.text_vectors)


def fit_catalog_moods(rows: Sequence[dict[str, Any]], catalog: Catalog, sliders: Sliders) -> MoodFit:
    """Moods with a label rule are learned; a mood without one (a bare description) fits by its
    description's similarity to each movie's text."""
    facts = facts_from_rows(rows, catalog)
    rules = list(sliders.rules) or [LabelRule()] * len(sliders.names)
    labels = mood_labels(facts, rules)
    features = movie_features(facts, catalog.genre_names, sliders.vectors)
    fit = fit_moods(sliders.names, features, labels, facts.rating_counts)
    for j, rule in enumerate(rules):
        if rule == LabelRule() and catalog.text_vectors is not None:
            fit.probabilities[:, j] = text_fit(catalog.text_vectors @ sliders.vectors[j])
            fit.report[sliders.names[j]] = {"labels": 0}
    return fit


class PhraseEncoder:
    """Free-text moods to sentence embeddings; the model is loaded on first use, once per process."""

    _shared: dict[str, "PhraseEncoder"] = {}

    def __init__(self, model_path: str) -> None:
        self.model_path = model_path
        self._encoder: Any = None
        self._lock = threading.Lock()

    @classmethod
    def for_path(cls, model_path: str) -> "PhraseEncoder":
        if model_path not in cls._shared:
            cls._shared[model_path] = cls(model_path)
        return cls._shared[model_path]

    def __call__(self, phrase: str) -> np.ndarray:
        from engine.text import TextEncoder

        with self._lock:
            if self._encoder is None:
                self._encoder = TextEncoder(self.model_path)
            return self._encoder.encode([phrase], progress=False)[0]
