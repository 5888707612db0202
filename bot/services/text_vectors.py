"""Sentence embeddings of movie texts, encoded only when a movie's text (or the model) changed.

Two caches share one routine: the database table `movie_text_embeddings` (training, the bot)
and a file in CINESYNC_HOME (offline evaluation of CSV files).
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from bot.db.pool import as_array
from bot.repositories import models as model_repo
from engine.text import TextEncoder, movie_text, text_hash

if TYPE_CHECKING:
    from bot.db.pool import Database
    from bot.settings import Settings

TEXT_MODEL_NAME = "all-MiniLM-L6-v2"
SHIPPED = "text-vectors.npz"  # beside the bundled catalog: its films' embeddings, int8 (bot.catalog.bundle)


def quantize(vectors: np.ndarray) -> np.ndarray:
    """Unit vectors as int8 (each coordinate of a unit vector is within [-1, 1])."""
    return np.clip(np.rint(np.asarray(vectors, dtype=np.float32) * 127.0), -127, 127).astype(np.int8)


def shipped_vectors(folder: Path | None = None) -> dict[str, np.ndarray]:
    """hash -> unit vector for the bundled films' texts (empty when the file is absent): a fresh install
    embeds only films whose text differs from the bundle's."""
    from bot.paths import DATA_DIR

    path = (folder or DATA_DIR) / SHIPPED
    if not path.exists():
        return {}
    with np.load(path) as data:
        vectors = data["vectors"].astype(np.float32) / 127.0
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return dict(zip(data["hashes"].tolist(), vectors))

log = logging.getLogger(__name__)


def texts_for(movies: Sequence[dict]) -> list[str]:
    return [
        movie_text(m["title"], m.get("year"), m.get("genres") or [], m.get("directors") or [],
                   m.get("cast_members") or [], m.get("keywords") or [], m.get("user_tags") or [], m.get("overview"))
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


async def ensure_text_vectors(db: "Database", settings: "Settings", rows: list[dict[str, Any]], progress: bool) -> dict[int, np.ndarray]:
    """Text vectors for every movie; only new or changed texts are encoded, the rest come from the database."""
    async with db.acquire() as conn:
        stored = await model_repo.text_embeddings(conn, TEXT_MODEL_NAME)
    by_hash = {r["text_hash"]: as_array(r["embedding"]) for r in stored}
    texts = texts_for(rows)
    wanted = {text_hash(t, TEXT_MODEL_NAME) for t in texts}
    if not wanted <= set(by_hash):  # the bundle's own films need no encoding
        by_hash = {**{h: v for h, v in shipped_vectors().items() if h in wanted}, **by_hash}
    vectors, fresh = await asyncio.to_thread(
        encode_missing, texts, by_hash, lambda: TextEncoder(settings.embedding_model_path), TEXT_MODEL_NAME, progress)
    stored_hash = {s["movie_id"]: s["text_hash"] for s in stored}
    hashes = [text_hash(t, TEXT_MODEL_NAME) for t in texts]
    stale = [(r["movie_id"], h, v) for r, h, v in zip(rows, hashes, vectors) if stored_hash.get(r["movie_id"]) != h]
    if stale:
        async with db.transaction() as conn:
            await model_repo.save_text_embeddings(conn, TEXT_MODEL_NAME, stale)
    return {r["movie_id"]: v for r, v in zip(rows, vectors)}
