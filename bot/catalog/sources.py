"""Readers for the sources the bundled catalog is merged from, beyond MovieLens latest-small and
IMDb 5000 (bot.catalog.readers): MovieLens latest-2023 (ids, links, aggregates, directors) and
TMDB recent (synopses, keywords, cast, films up to 2026).

Each returns one canonical row per film, values bounded as an import would bound them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from bot.catalog.readers import (MAX_NAME, MAX_TITLE, _clean, _imdb_id, _optional_float, _optional_int, _safe,
                                 _split, _text, read_movielens_files)
from bot.catalog.titles import natural_title

# TMDB genre names -> the MovieLens vocabulary the catalog speaks (None: not a genre here)
TMDB_GENRES = {"Science Fiction": "Sci-Fi", "Family": "Children", "Music": "Musical", "TV Movie": None, "History": None}
MAX_OVERVIEW = 5_000
MAX_KEYWORDS = 30


def read_movielens_2023(folder: Path) -> pd.DataFrame:
    """movies.csv + links.csv (canonical rows), with ``popularity_count``/``popularity_mean`` from
    average_ratings.csv and ``ml_directors`` from movie_directors.csv (a third party's list: a fallback)."""
    folder = Path(folder)
    data = read_movielens_files(folder / "movies.csv", folder / "links.csv")
    movies = data.movies.drop(columns=["line"]).set_index("movie_id", drop=False)
    averages = pd.read_csv(folder / "average_ratings.csv")
    averages = averages[(averages["count"] >= 0) & averages["avg_rating"].between(0.5, 5.0)].set_index("movieId")
    movies["popularity_count"] = averages["count"].reindex(movies.index).astype("Int64")
    movies["popularity_mean"] = averages["avg_rating"].reindex(movies.index).round(3)
    directors = pd.read_csv(folder / "movie_directors.csv", dtype={"director": str}).dropna()
    directors = directors[directors["director"].str.len().between(1, MAX_NAME)]
    movies["ml_directors"] = directors.groupby("movieId")["director"].agg(list).reindex(movies.index)
    return movies.astype(object).where(movies.notna(), None)


def _tmdb_row(rec: dict[str, Any]) -> dict[str, Any]:
    title = _clean(str(rec["title"]).strip(), "title", MAX_TITLE)
    if not title:
        raise ValueError("title is empty")
    genres = [TMDB_GENRES.get(g, g) for g in _split(rec.get("genres"), what="genres")]
    zh = _safe(_text, rec.get("title_zh"), "title_zh", MAX_TITLE)
    return {
        "tmdb_id": _optional_int(rec["tmdb_id"], "tmdb_id", 1), "title": natural_title(title),
        "year": _optional_int(rec.get("release_year"), "release_year", 1870, 2200),
        "genres": [g for g in dict.fromkeys(genres) if g],
        "overview": _safe(_text, rec.get("overview"), "overview", MAX_OVERVIEW),
        "directors": _split(rec.get("director"), what="director"),
        "cast_members": _split(rec.get("top_cast"), what="top_cast"),
        "keywords": _split(rec.get("keywords"), what="keywords")[:MAX_KEYWORDS],
        "tmdb_votes": _optional_int(rec.get("vote_count"), "vote_count", 0),
        "tmdb_score": _safe(_optional_float, rec.get("vote_average"), "vote_average", 0.0, 10.0),
        "aliases": [zh] if zh and zh != title else [],
    }


def read_tmdb(path: Path) -> pd.DataFrame:
    """tmdb_movies.csv: one row per TMDB id (first kept), rows that cannot be used skipped."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    rows = []
    for rec in raw.to_dict("records"):
        try:
            rows.append(_tmdb_row({k: (None if isinstance(v, float) else v) for k, v in rec.items()}))
        except ValueError:
            continue
    return pd.DataFrame(rows).drop_duplicates("tmdb_id", keep="first").reset_index(drop=True)


def imdb_of(value: Any) -> str | None:
    return _safe(_imdb_id, value)
