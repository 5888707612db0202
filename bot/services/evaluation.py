"""`cinesync eval`: read MovieLens-layout CSV files, attach cached text vectors, run the engine's evaluation."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from bot.catalog.readers import read_movielens_files, tag_lists
from bot.services.runtime import TEXT_MODEL_NAME
from bot.services.text_vectors import FileTextCache, encode_missing, texts_for
from bot.settings import Settings
from engine.data import ItemIndex
from engine.evaluation.run import run_evaluation
from engine.text import TextEncoder


def leak_free_text_vectors(movies: pd.DataFrame, tags: pd.DataFrame | None, items: ItemIndex,
                           excluded_pairs: set[tuple[int, int]], excluded_users: set[int], cache: FileTextCache,
                           encoder: Callable[[], TextEncoder], progress: bool = False) -> np.ndarray:
    """Movie text vectors whose user tags leave out every tag a held-out (user, movie) pair or a
    held-out user wrote: the content signal then knows nothing the evaluated user held back."""
    movie_rows = movies.set_index("movie_id")
    by_movie: dict[int, list[str]] = {}
    if tags is not None and len(tags):
        pairs = pd.MultiIndex.from_arrays([tags["user_id"], tags["movie_id"]])
        dropped = pairs.isin(list(excluded_pairs)) | tags["user_id"].isin(list(excluded_users)).to_numpy()
        by_movie = tag_lists(tags[~dropped])
    rows = []
    for m in items.movie_ids:
        row = movie_rows.loc[m].to_dict() if m in movie_rows.index else {"title": f"movie {m}"}
        if tags is not None:
            row["user_tags"] = by_movie.get(int(m), [])
        rows.append(row)
    cached = cache.load()
    vectors, fresh = encode_missing(texts_for(rows), cached, encoder, TEXT_MODEL_NAME, progress=progress)
    cache.save({**cached, **fresh})
    return vectors


def evaluate_files(settings: Settings, ratings: Path, movies: Path, links: Path | None = None, imdb: Path | None = None,
                   tags: Path | None = None, content: bool = True, protocols: tuple[str, ...] = ("warm", "cold", "calibration"),
                   max_users: int | None = None, progress: bool = True) -> dict[str, Any]:
    data = read_movielens_files(movies, links=links, tags=tags, ratings=ratings, imdb=imdb)
    assert data.ratings is not None
    frame = data.ratings
    if max_users:
        keep = np.sort(frame["user_id"].unique())[:max_users]
        frame = frame[frame["user_id"].isin(keep)]
    cache = FileTextCache(settings.home / "cache" / "text-vectors.npz")

    def text_vectors_for(items: ItemIndex, excluded_pairs: set[tuple[int, int]], excluded_users: set[int]) -> np.ndarray:
        return leak_free_text_vectors(data.movies, data.tags, items, excluded_pairs, excluded_users, cache,
                                      lambda: TextEncoder(settings.embedding_model_path), progress)

    result = run_evaluation(frame, data.movies, text_vectors_for if content else None, None,
                            settings.blend_personal, settings.diversity, protocols, progress,
                            settings.list_calibration)
    result["config"]["skipped_rows"] = len(data.problems)
    return result


def evaluate_new_items_files(settings: Settings, ratings: Path, catalog: Path, fraction: float = 0.1,
                             max_users: int | None = None, progress: bool = True, outside: bool = False) -> dict[str, Any]:
    """The item cold-start protocol on a ratings file (MovieLens layout) and a catalog (our format, e.g.
    the bundled one) giving what each rated film is. Film texts leave user tags out: tags are written
    by the same users whose later ratings are held out."""
    from bot.catalog.readers import read_catalog, read_ratings
    from bot.services.item_facts import facts_from_rows
    from engine.evaluation.new_items import evaluate_new_items
    from engine.evaluation.run import build_catalog

    frame, _problems = read_ratings(ratings)
    if max_users:
        frame = frame[frame["user_id"].isin(np.sort(frame["user_id"].unique())[:max_users])]
    movies = read_catalog(catalog).movies
    known = set(movies["movie_id"].dropna().astype(int))
    frame = frame[frame["movie_id"].isin(known)]
    items = ItemIndex(np.sort(frame["movie_id"].unique()))
    by_id = movies.set_index("movie_id")
    rows = [{**by_id.loc[m].to_dict(), "movie_id": int(m), "user_tags": []} for m in items.movie_ids]
    cache = FileTextCache(settings.home / "cache" / "text-vectors.npz")
    cached = cache.load()
    vectors, fresh = encode_missing(texts_for(rows), cached, lambda: TextEncoder(settings.embedding_model_path),
                                    TEXT_MODEL_NAME, progress=progress)
    cache.save({**cached, **fresh})
    engine_catalog = build_catalog(movies.assign(user_tags=[[] for _ in range(len(movies))]), items, vectors)
    facts = facts_from_rows(rows, vectors, engine_catalog.genre_matrix)  # type: ignore[arg-type]
    result = evaluate_new_items(frame, engine_catalog, facts, fraction, progress=progress, outside=outside)
    result["ratings"], result["films"], result["users"] = len(frame), len(items), int(frame["user_id"].nunique())
    return result
