"""Build the default catalog shipped in the package from the shared MovieLens + IMDb 5000 data.

The bundle is our own catalog format (JSON lines, see README.md) plus the ratings in the
MovieLens layout, gzip-compressed, with the MovieLens license kept beside them as it requires.
"""
from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pandas as pd

from bot.catalog.readers import read_movielens


def build_bundle(movielens: Path, imdb: Path | None, out_dir: Path) -> dict[str, int]:
    data = read_movielens(movielens, imdb, with_ratings=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    with gzip.open(out_dir / "movies.jsonl.gz", "wt", encoding="utf-8", compresslevel=9) as handle:
        for row in data.movies.to_dict("records"):
            record = {
                "movie_id": row["movie_id"], "title": row["original_title"], "year": row["year"],
                "genres": row["genres"], "directors": row["directors"], "cast": row["cast_members"],
                "keywords": row["keywords"], "tags": row["user_tags"], "content_rating": row["content_rating"],
                "runtime": row["runtime_minutes"], "language": row["language"], "country": row["country"],
                "imdb_id": row["imdb_id"], "tmdb_id": row["tmdb_id"], "imdb_score": row["imdb_score"],
            }
            record = {k: (int(v) if k in {"year", "runtime", "tmdb_id"} and v is not None else v) for k, v in record.items()}
            handle.write(json.dumps({k: v for k, v in record.items() if v not in (None, [], "")}, ensure_ascii=False) + "\n")
    assert data.ratings is not None
    seconds = (data.ratings["rated_at"] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    ratings = data.ratings.assign(timestamp=seconds)
    with gzip.open(out_dir / "ratings.csv.gz", "wt", encoding="utf-8", compresslevel=9) as handle:
        ratings.rename(columns={"user_id": "userId", "movie_id": "movieId"})[["userId", "movieId", "rating", "timestamp"]].to_csv(handle, index=False)
    shutil.copyfile(movielens / "README.txt", out_dir / "LICENSE-MovieLens.txt")
    return {"movies": len(data.movies), "ratings": len(ratings)}
