"""`cinesync eval`: read MovieLens-layout CSV files, attach cached text vectors, run the engine's evaluation."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bot.catalog.readers import read_movielens_files
from bot.services.text_vectors import FileTextCache, encode_missing, texts_for
from bot.settings import Settings
from engine.data import ItemIndex
from engine.evaluation.run import run_evaluation
from engine.text import TextEncoder
from engine.training import TrainConfig


def evaluate_files(settings: Settings, ratings: Path, movies: Path, links: Path | None = None, imdb: Path | None = None,
                   tags: Path | None = None, content: bool = True, protocols: tuple[str, ...] = ("warm", "cold", "calibration"),
                   max_users: int | None = None, progress: bool = True) -> dict[str, Any]:
    data = read_movielens_files(movies, links=links, tags=tags, ratings=ratings, imdb=imdb)
    assert data.ratings is not None
    frame = data.ratings
    if max_users:
        keep = np.sort(frame["user_id"].unique())[:max_users]
        frame = frame[frame["user_id"].isin(keep)]
    movie_rows = data.movies.set_index("movie_id")

    def text_vectors_for(items: ItemIndex) -> np.ndarray | None:
        if not content:
            return None
        rows = [movie_rows.loc[m].to_dict() if m in movie_rows.index else {"title": f"movie {m}"} for m in items.movie_ids]
        cache = FileTextCache(settings.home / "cache" / "text-vectors.npz")
        cached = cache.load()
        vectors, fresh = encode_missing(texts_for(rows), cached, lambda: TextEncoder(settings.embedding_model_path),
                                        "all-MiniLM-L6-v2", progress=progress)
        cache.save({**cached, **fresh})
        return vectors

    result = run_evaluation(frame, data.movies, text_vectors_for, TrainConfig(), settings.blend_personal, 0.0,
                            protocols, progress)
    result["config"]["skipped_rows"] = len(data.problems)
    return result
