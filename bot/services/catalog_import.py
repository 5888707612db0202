"""Importing catalogs and ratings: read the files, then write everything in one transaction.

The catalog is read and checked whole before anything is written; ratings are read block by
block into a staging table (COPY), so memory stays flat however large the file; either the
whole import lands or none of it does (a file that turns out unreadable half-way rolls it back).
The import runs on a connection of its own without the request timeouts. Bad rows are skipped and reported as `file:line: reason`; a file that
cannot be read at all is refused with one line naming it.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import asyncpg
import pandas as pd

from tqdm import tqdm

from bot.catalog.readers import BadRow, CatalogData, CatalogFormatError, read_catalog, read_movielens
from bot.db.pool import Database
from bot.paths import DATA_DIR
from bot.repositories import catalog as repo

log = logging.getLogger(__name__)

BUNDLED_MOVIES = DATA_DIR / "movies.jsonl.gz"
BUNDLED_RATINGS = DATA_DIR / "ratings.csv.gz"


@dataclass
class ImportReport:
    movies_read: int = 0
    movies_written: int = 0
    ratings_read: int = 0
    ratings_written: int = 0
    events_logged: int = 0
    problems: list[BadRow] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        lines = [
            f"movies: {self.movies_read:,} read, {self.movies_written:,} new or changed",
            f"ratings: {self.ratings_read:,} read, {self.ratings_written:,} new or changed, {self.events_logged:,} events logged",
            f"skipped rows: {len(self.problems):,}",
            f"time: {self.seconds:.1f} s",
        ]
        return "\n".join(lines)


async def _known_only(conn: Any, ratings: pd.DataFrame, where: str, report: ImportReport) -> pd.DataFrame:
    """The ratings whose movie the catalog holds; each other one reported at its file and line."""
    known = await repo.known_movie_ids(conn, sorted({int(m) for m in ratings["movie_id"].unique()}))
    unknown = ~ratings["movie_id"].isin(list(known))
    report.problems.extend(BadRow(where, int(line), f"movieId {int(movie)} is not in the catalog")
                           for line, movie in zip(ratings.loc[unknown, "line"], ratings.loc[unknown, "movie_id"]))
    return ratings.loc[~unknown]


def _rating_blocks(data: CatalogData) -> Iterator[tuple[pd.DataFrame, list[BadRow]]] | None:
    if data.rating_chunks is not None:
        return data.rating_chunks()
    return iter([(data.ratings, [])]) if data.ratings is not None else None


async def import_data(db: Database, data: CatalogData, source_name: str, *, progress: bool = True) -> ImportReport:
    """Write ``data`` (already read and validated) in one transaction; if the database still refuses
    something, nothing is written and the error names the source."""
    try:
        return await _import_data(db, data, source_name, progress)
    except (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError) as exc:
        raise CatalogFormatError(f"{source_name}: the database refused a value ({exc}); nothing was imported") from None


async def _import_data(db: Database, data: CatalogData, source_name: str, progress: bool) -> ImportReport:
    started = time.perf_counter()
    report = ImportReport(movies_read=len(data.movies), problems=list(data.problems))
    blocks = _rating_blocks(data)
    steps = 4 if blocks is not None else 2
    with tqdm(total=steps, desc=f"importing {source_name}", unit="step", disable=not progress, leave=False) as bar:
        async with db.bulk_transaction() as conn:
            bar.set_postfix_str("movies")
            await repo.stage_movies(conn, data.movies)
            for row in await repo.resolve_stage_ids(conn):
                report.problems.append(BadRow(source_name, row["line"], f"imdb_id {row['imdb_id']} already belongs to movie {row['holder']}"))
            report.movies_written = await repo.upsert_movies(conn)
            bar.update()
            if blocks is not None:
                await repo.create_rating_stage(conn)
                with tqdm(desc="staging ratings", unit=" ratings", unit_scale=True, disable=not progress,
                          leave=False) as rows_bar:
                    for frame, problems in blocks:  # one block of the file at a time: memory stays flat
                        report.problems.extend(problems)
                        report.ratings_read += len(frame)
                        await repo.stage_ratings(conn, await _known_only(conn, frame, data.ratings_file or "ratings", report))
                        rows_bar.update(len(frame))
                await repo.analyze_rating_stage(conn)
                bar.update()
                bar.set_postfix_str("ratings and events")
                report.ratings_written, report.events_logged = await repo.upsert_ratings(conn)
                await repo.analyze_ratings(conn)
                bar.update()
            bar.set_postfix_str("statistics")
            await repo.refresh_movie_stats(conn)
            bar.update()
    report.seconds = time.perf_counter() - started
    return report


async def import_movielens(db: Database, folder: Path, imdb: Path | None = None, *, with_ratings: bool = False,
                           progress: bool = True) -> ImportReport:
    started = time.perf_counter()
    data = read_movielens(folder, imdb, with_ratings, stream_ratings=True)
    report = await import_data(db, data, str(folder), progress=progress)
    report.seconds = time.perf_counter() - started
    return report


async def import_catalog(db: Database, path: Path, ratings: Path | None = None, *, progress: bool = True) -> ImportReport:
    started = time.perf_counter()
    data = read_catalog(path, ratings, stream_ratings=True)
    report = await import_data(db, data, Path(path).name, progress=progress)
    report.seconds = time.perf_counter() - started
    return report


async def make_recommendable(db: Database, settings: Any, *, progress: bool = True, movie_ids: list[int] | None = None) -> int:
    """After a catalog changed: encode the texts of films that have no embedding yet (so the item cold
    start can place them without a retrain; ``movie_ids``: only these) and tell every bot process to
    reload its catalog. Returns how many films' embeddings were checked."""
    from bot.repositories import models as model_repo
    from bot.services.text_vectors import ensure_text_vectors

    async with db.acquire() as conn:
        rows = [dict(r) for r in await model_repo.catalog_rows(conn)]
    if movie_ids is not None:
        rows = [r for r in rows if r["movie_id"] in set(movie_ids)]
    vectors = await ensure_text_vectors(db, settings, rows, progress) if rows else {}
    async with db.transaction() as conn:
        await model_repo.announce_catalog(conn)
    return len(vectors)


async def import_bundled(db: Database, *, progress: bool = True) -> ImportReport:
    """The default catalog shipped in the package (MovieLens latest-small enriched with IMDb 5000)."""
    return await import_catalog(db, BUNDLED_MOVIES, BUNDLED_RATINGS, progress=progress)
