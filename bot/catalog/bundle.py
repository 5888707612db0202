"""Build the default catalog shipped in the package from the shared datasets.

Four sources, one row per film, merged by id: MovieLens latest-small (the ratings the first model
trains on, user tags), MovieLens latest-2023 (films up to July 2023, IMDb/TMDB links, how many
people rated each and their mean, directors), IMDb 5000 (directors, cast, keywords, language) and
TMDB recent (synopses, keywords, cast, films up to 2026). A TMDB film is matched by its TMDB id,
else by title and year; one matched nowhere becomes a film of its own (id TMDB_ID_BASE + its TMDB
id). Every row says which source gave each field (``sources``).

Which MovieLens 2023 films are shipped: every film of latest-small, of IMDb 5000 or of TMDB recent,
and the others rated by at least ``min_ratings`` people (the long tail of films almost nobody
rated would triple the bundle and the start-up for little). `cinesync import catalog` adds more.

The bundle is our own catalog format (JSON lines, see README.md) plus the ratings in the MovieLens
layout, gzip-compressed, with the licenses and the TMDB credit beside them as the sources require.
"""
from __future__ import annotations

import gzip
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from bot.catalog.readers import read_imdb, read_movielens
from bot.catalog.sources import read_movielens_2023, read_tmdb
from bot.catalog.titles import fold, natural_title, split_year

TMDB_ID_BASE = 5_000_000  # TMDB-only films: above MovieLens ids, below locally added ones (10,000,000+)
MIN_RATINGS = 10
TMDB_CREDIT = "This product uses the TMDB API but is not endorsed or certified by TMDB."
SMALL, ML2023, IMDB, TMDB = "movielens-small", "movielens-2023", "imdb5000", "tmdb"
NOTICE = f"""CineSync's bundled catalog is built from these sources (each row names the source of each field):

- MovieLens latest-small (2018) and MovieLens latest (2023 catalog and aggregates), GroupLens Research,
  University of Minnesota. Research and non-commercial use; see LICENSE-MovieLens.txt. Cite: F. Maxwell
  Harper and Joseph A. Konstan, "The MovieLens Datasets: History and Context", ACM TiiS 5(4), 2015.
  No endorsement by the University of Minnesota or GroupLens is claimed.
- IMDb 5000 Movie Dataset: public metadata scraped from IMDb pages (directors, cast, keywords).
- TMDB: synopses, keywords, cast and films up to 2026, as fetched from the TMDB API by a public
  project. {TMDB_CREDIT} TMDB's terms of use apply (non-commercial).
"""


@dataclass
class BundleReport:
    movies: int = 0
    ratings: int = 0
    by_source: dict[str, int] = field(default_factory=dict)  # films that took at least one field from each
    tmdb_matched: int = 0
    tmdb_added: int = 0
    bytes: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        sources = ", ".join(f"{k} {v:,}" for k, v in self.by_source.items())
        return (f"{self.movies:,} films, {self.ratings:,} ratings; fields from: {sources}; TMDB films matched "
                f"{self.tmdb_matched:,}, added {self.tmdb_added:,}; bundle {self.bytes / 1e6:.1f} MB; {self.seconds:.1f} s")


def _base(row: dict[str, Any], source: str) -> dict[str, Any]:
    record = {
        "movie_id": int(row["movie_id"]), "title": row["original_title"], "year": row["year"], "genres": row["genres"],
        "directors": row["directors"], "cast": row["cast_members"], "keywords": row["keywords"], "tags": row["user_tags"],
        "content_rating": row["content_rating"], "runtime": row["runtime_minutes"], "language": row["language"],
        "country": row["country"], "imdb_id": row["imdb_id"], "tmdb_id": row["tmdb_id"], "imdb_score": row["imdb_score"],
    }
    sources = {k: source for k in ("title", "year", "genres") if record[k]}
    enriched = IMDB if "imdb5000" in str(row.get("source")) else source
    sources.update({k: enriched for k in ("directors", "cast", "keywords", "language", "imdb_score") if record[k]})
    if record["tags"]:
        sources["tags"] = SMALL
    record["sources"] = sources
    return record


def _fill(record: dict[str, Any], key: str, value: Any, source: str) -> None:
    """Set ``key`` from ``source`` unless an earlier source already gave it."""
    if hasattr(value, "tolist"):  # numpy arrays and scalars from pandas
        value = value.tolist()
    if value is None or value == [] or value == "" or (isinstance(value, float) and value != value):
        return
    if record.get(key) in (None, [], ""):
        record[key] = value
        record["sources"][key] = source


def ship_text_vectors(out_dir: Path, encoder_path: Path, progress: bool = True) -> int:
    """Embed every bundled film's text as the database will hold it and store them int8 beside the
    catalog, so a fresh install does not spend minutes embedding 33,000 texts. Returns the count."""
    import numpy as np

    from bot.catalog.readers import read_catalog
    from bot.services.text_vectors import SHIPPED, TEXT_MODEL_NAME, quantize, texts_for
    from engine.text import TextEncoder, text_hash

    rows = read_catalog(out_dir / "movies.jsonl.gz").movies.to_dict("records")
    texts = sorted(set(texts_for(rows)))
    vectors = TextEncoder(encoder_path).encode(texts, progress=progress)
    hashes = np.array([text_hash(t, TEXT_MODEL_NAME) for t in texts])
    np.savez_compressed(out_dir / SHIPPED, hashes=hashes, vectors=quantize(vectors))
    return len(texts)


def build_bundle(datasets: Path, out_dir: Path, min_ratings: int = MIN_RATINGS, progress: bool = True) -> BundleReport:
    started = time.perf_counter()
    datasets = Path(datasets)
    steps = tqdm(total=5, desc="building the bundle", unit="step", disable=not progress)
    imdb_path = datasets / "imdb-5000" / "movie_metadata.csv"
    small = read_movielens(datasets / "movielens-latest-small", imdb_path, with_ratings=True)
    steps.update()
    rows: dict[int, dict[str, Any]] = {int(r["movie_id"]): _base(r, SMALL) for r in small.movies.to_dict("records")}
    ml = read_movielens_2023(datasets / "movielens-latest-2023")
    imdb = read_imdb(imdb_path)
    tmdb = read_tmdb(datasets / "tmdb-recent" / "tmdb_movies.csv")
    steps.update()

    # MovieLens 2023: every film also in IMDb 5000 or TMDB recent, and the others rated often enough
    wanted_tmdb = set(tmdb["tmdb_id"])
    taken: dict[str, set[Any]] = {"imdb_id": set(), "tmdb_id": set()}
    for record in rows.values():  # MovieLens lists a few ids under two films: the first keeps it
        for key in taken:
            if record.get(key) in taken[key]:
                record[key] = None
                record["sources"].pop(key, None)
            elif record.get(key):
                taken[key].add(record[key])
    for rec in ml.to_dict("records"):
        movie_id = int(rec["movie_id"])
        known = (rec["imdb_id"] in imdb.index) or (rec["tmdb_id"] in wanted_tmdb)
        if movie_id not in rows and (known or (rec["popularity_count"] or 0) >= min_ratings):
            rec = {**rec, **{k: None for k in ("imdb_id", "tmdb_id") if rec[k] in taken[k]}}
            rows[movie_id] = _base(rec, ML2023)
            for key in ("imdb_id", "tmdb_id"):
                if rec[key]:
                    taken[key].add(rec[key])
            if rec["imdb_id"] in imdb.index:
                for key, value in imdb.loc[rec["imdb_id"]].items():
                    _fill(rows[movie_id], {"cast_members": "cast", "runtime_minutes": "runtime"}.get(key, key), value, IMDB)
        if movie_id in rows:
            record = rows[movie_id]
            for key in ("imdb_id", "tmdb_id"):  # an id another film already holds stays with that film
                if rec[key] is not None and not record.get(key) and rec[key] not in taken[key]:
                    _fill(record, key, rec[key], ML2023)
                    taken[key].add(rec[key])
            _fill(record, "popularity_count", rec["popularity_count"], ML2023)
            _fill(record, "popularity_mean", rec["popularity_mean"], ML2023)
            _fill(record, "directors", rec["ml_directors"], ML2023)
    steps.update()

    # TMDB: by TMDB id, else by title and year, else a film of its own
    by_tmdb = {r["tmdb_id"]: m for m, r in rows.items() if r.get("tmdb_id")}
    by_title: dict[tuple[str, int | None], list[int]] = {}
    for movie_id, record in rows.items():
        by_title.setdefault((fold(natural_title(split_year(record["title"])[0])), record["year"]), []).append(movie_id)
    report = BundleReport()
    for rec in tmdb.to_dict("records"):
        movie_id = by_tmdb.get(rec["tmdb_id"])
        if movie_id is None:
            same = by_title.get((fold(rec["title"]), rec["year"]), [])
            movie_id = max(same, key=lambda m: rows[m].get("popularity_count") or 0) if same else None
        if movie_id is None:
            if rec["tmdb_id"] >= TMDB_ID_BASE:
                continue
            movie_id = TMDB_ID_BASE + int(rec["tmdb_id"])
            rows[movie_id] = {"movie_id": movie_id, "title": rec["title"], "year": rec["year"], "genres": rec["genres"],
                              "tmdb_id": rec["tmdb_id"], "sources": {"title": TMDB, "year": TMDB, "genres": TMDB}}
            report.tmdb_added += 1
        else:
            report.tmdb_matched += 1
        record = rows[movie_id]
        for key in ("overview", "directors", "keywords", "tmdb_votes", "tmdb_score", "aliases"):
            _fill(record, key, rec[key], TMDB)
        if not record.get("tmdb_id") and rec["tmdb_id"] not in taken["tmdb_id"]:
            _fill(record, "tmdb_id", rec["tmdb_id"], TMDB)
            taken["tmdb_id"].add(rec["tmdb_id"])
        _fill(record, "cast", rec["cast_members"], TMDB)
        if rec["title"] and fold(rec["title"]) != fold(str(record["title"])) and rec["title"] not in record.get("aliases", []):
            record["aliases"] = [*record.get("aliases", []), rec["title"]]  # the English title TMDB knows it by
            record["sources"]["aliases"] = TMDB
    steps.update()

    out_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with gzip.open(out_dir / "movies.jsonl.gz", "wt", encoding="utf-8", compresslevel=9) as handle:
        for movie_id in sorted(rows):
            record = rows[movie_id]
            for source in set(record["sources"].values()):
                counts[source] = counts.get(source, 0) + 1
            record = {k: (int(v) if k in {"year", "runtime", "tmdb_id", "popularity_count", "tmdb_votes"} and v is not None
                          else v) for k, v in record.items()}
            handle.write(json.dumps({k: v for k, v in record.items() if v not in (None, [], "", {})}, ensure_ascii=False) + "\n")
    assert small.ratings is not None
    seconds = (small.ratings["rated_at"] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    ratings = small.ratings.assign(timestamp=seconds)
    with gzip.open(out_dir / "ratings.csv.gz", "wt", encoding="utf-8", compresslevel=9) as handle:
        ratings.rename(columns={"user_id": "userId", "movie_id": "movieId"})[["userId", "movieId", "rating", "timestamp"]].to_csv(handle, index=False)
    shutil.copyfile(datasets / "movielens-latest-small" / "README.txt", out_dir / "LICENSE-MovieLens.txt")
    (out_dir / "NOTICE.txt").write_text(NOTICE, encoding="utf-8")
    steps.update()
    steps.close()
    report.movies, report.ratings, report.by_source = len(rows), len(ratings), dict(sorted(counts.items()))
    report.bytes = sum(p.stat().st_size for p in out_dir.iterdir() if p.is_file())
    report.seconds = time.perf_counter() - started
    return report
