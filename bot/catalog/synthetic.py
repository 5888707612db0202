"""`cinesync synthesize`: a MovieLens-layout folder with synthetic ratings over a real catalog.

Reads the catalog (movies.csv, links.csv) and the per-film rating counts and averages
(average_ratings.csv) that MovieLens publishes, draws ratings with planted tastes
(`engine.synthetic`), and writes movies.csv, links.csv and ratings.csv that
`cinesync import movielens FOLDER --with-ratings` reads like the real thing.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from engine.synthetic import planted_ratings

WRITE_ROWS = 1_000_000


@dataclass
class SynthesisReport:
    folder: Path
    members: int
    films: int
    ratings: int
    rated_films: int


def synthesize(catalog: Path, out: Path, members: int, ratings: int, seed: int = 0,
               progress: bool = True) -> SynthesisReport:
    catalog, out = Path(catalog), Path(out)
    for name in ("movies.csv", "average_ratings.csv"):
        if not (catalog / name).exists():
            raise FileNotFoundError(f"{catalog / name} is missing: point --catalog at a MovieLens catalog folder with "
                                    "movies.csv and average_ratings.csv (e.g. ../shared/datasets/movielens-latest-2023)")
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty: choose a new folder for the synthetic data")
    movies = pd.read_csv(catalog / "movies.csv", usecols=["movieId", "genres"])
    stats = pd.read_csv(catalog / "average_ratings.csv").set_index("movieId").reindex(movies["movieId"])
    genres = [[] if g == "(no genres listed)" else str(g).split("|") for g in movies["genres"].fillna("")]
    drawn = planted_ratings(genres, stats["count"].fillna(0).to_numpy(), stats["avg_rating"].to_numpy(dtype=float),
                            members, ratings, seed)
    out.mkdir(parents=True, exist_ok=True)
    for name in ("movies.csv", "links.csv"):
        if (catalog / name).exists():
            shutil.copyfile(catalog / name, out / name)
    movie_ids = movies["movieId"].to_numpy()
    with open(out / "ratings.csv", "w", encoding="utf-8") as handle, \
            tqdm(total=len(drawn), desc="writing ratings.csv", unit=" ratings", unit_scale=True, disable=not progress) as bar:
        handle.write("userId,movieId,rating,timestamp\n")
        for a in range(0, len(drawn), WRITE_ROWS):
            b = min(a + WRITE_ROWS, len(drawn))
            block = pd.DataFrame({"userId": drawn.users[a:b] + 1, "movieId": movie_ids[drawn.items[a:b]],
                                  "rating": drawn.stars[a:b], "timestamp": drawn.seconds[a:b]})
            block.to_csv(handle, header=False, index=False, float_format="%.1f")
            bar.update(b - a)
    (out / "README.txt").write_text(
        f"Synthetic ratings (cinesync synthesize, seed {seed}): {members:,} members with planted tastes (each loves one "
        f"genre and dislikes another), {len(drawn):,} ratings over the catalog of {catalog} (films picked by their real "
        "rating counts, stars around their real averages). Not real member data; the catalog files keep their own "
        "license (README.txt of the source folder).\n", encoding="utf-8")
    return SynthesisReport(out, members, len(movies), len(drawn), int(len(np.unique(drawn.items))))
