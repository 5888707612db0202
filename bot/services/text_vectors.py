"""Sentence embeddings of movie texts, encoded only when a movie's text (or the model) changed.

Two caches share one routine: the database table `movie_text_embeddings` (training, the bot)
and a file in CINESYNC_HOME (offline evaluation of CSV files).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from engine.text import TextEncoder, movie_text, text_hash

log = logging.getLogger(__name__)


def texts_for(movies: Sequence[dict]) -> list[str]:
    return [
        movie_text(m["title"], m.get("year"), m.get("genres") or [], m.get("directors") or [],
                   m.get("cast_members") or [], m.get("keywords") or [], m.get("user_tags") or [])
        for m in movies
    ]


def encode_missing(texts: Sequence[str], cached: dict[str, np.ndarray], encoder_factory: Callable[[], TextEncoder],
                   model_name: str, progress: bool = True) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Vectors for ``texts`` (rows in order) and the newly encoded ones by hash."""
    hashes = [text_hash(t, model_name) for t in texts]
    missing = sorted({h: t for h, t in zip(hashes, texts) if h not in cached}.items())
    fresh: dict[str, np.ndarray] = {}
    if missing:
        log.info("encoding %d new or changed movie texts", len(missing))
        vectors = encoder_factory().encode([t for _, t in missing], progress=progress)
        fresh = {h: v for (h, _), v in zip(missing, vectors)}
    lookup = {**cached, **fresh}
    return np.stack([lookup[h] for h in hashes]).astype(np.float32), fresh


class FileTextCache:
    """hash -> vector in one .npz file (for `cinesync eval` on plain CSV files)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, np.ndarray]:
        if not self.path.exists():
            return {}
        with np.load(self.path) as data:
            return dict(zip(data["hashes"].tolist(), data["vectors"]))

    def save(self, vectors: dict[str, np.ndarray]) -> None:
        if not vectors:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        hashes = list(vectors)
        np.savez(self.path, hashes=np.array(hashes), vectors=np.stack([vectors[h] for h in hashes]))
