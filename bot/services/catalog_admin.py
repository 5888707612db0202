"""`/admin movie add`: one film into the catalog, recommendable at once (item cold start, no retrain).

From the bundled catalog by IMDb id, or from fields an owner types. The film goes through the same
validation and upsert as `cinesync import catalog`; its text is embedded, every process reloads.
"""
from __future__ import annotations

import gzip
import json
from typing import Any

from bot.catalog.readers import CatalogData, CatalogFormatError, _imdb_id, catalog_record, movies_frame
from bot.db.pool import Database
from bot.repositories import catalog as repo
from bot.services.catalog_import import BUNDLED_MOVIES, import_data, make_recommendable
from bot.services.errors import UserError


def bundled_record(imdb_id: str) -> dict[str, Any] | None:
    """The bundled catalog's row for ``imdb_id`` (read on demand: an admin command, not a hot path)."""
    with gzip.open(BUNDLED_MOVIES, "rt", encoding="utf-8") as handle:
        for line in handle:
            if f'"{imdb_id}"' in line:
                row = json.loads(line)
                if row.get("imdb_id") == imdb_id:
                    return row
    return None


async def add_movie(db: Database, settings: Any, imdb_id: str | None = None, fields: dict[str, Any] | None = None) -> int:
    """Add (or update) one film; returns its movie id. UserError names what is wrong; nothing changes then."""
    if imdb_id:
        try:
            wanted = _imdb_id(imdb_id)
        except ValueError as exc:
            raise UserError(f"'{imdb_id[:40]}' is not an IMDb id (tt followed by digits): {exc}") from None
        raw = bundled_record(wanted or "")
        if raw is None:
            raise UserError(f"{wanted} is not in the bundled catalog; add the film by its fields instead "
                            "(title, year, genres, directors, cast, overview)")
        async with db.acquire() as conn:
            held = await conn.fetchval("SELECT movie_id FROM movies WHERE imdb_id = $1", wanted)
        if held is not None:
            raise UserError(f"{wanted} is already in the catalog (movie {held})")
    else:
        raw = {k: v for k, v in (fields or {}).items() if v not in (None, "")}
        if not raw.get("title"):
            raise UserError("give an IMDb id from the bundled catalog, or at least a title")
    try:
        record = catalog_record(raw)
    except ValueError as exc:
        raise UserError(f"the film cannot be added: {exc}") from None
    data = CatalogData(movies=movies_frame([{"line": 1, **record}]))
    try:
        report = await import_data(db, data, "/admin movie add", progress=False)
    except CatalogFormatError as exc:
        raise UserError(str(exc)) from None
    if report.problems:
        raise UserError(f"the film was not added: {report.problems[0].reason}")
    async with db.acquire() as conn:
        movie_id = await repo.movie_id_of(conn, record["imdb_id"], record["title"], record["year"])
    await make_recommendable(db, settings, progress=False, movie_ids=[int(movie_id)])
    return int(movie_id)
