"""Catalog import against a real PostgreSQL: exact counts, upserts, bad rows, atomicity."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.catalog.readers import CatalogFormatError
from bot.db.pool import Database
from bot.repositories.catalog import catalog_summary
from bot.services.catalog_import import import_bundled, import_catalog, import_movielens
from tests.conftest import IMDB, MOVIELENS


async def _counts(db: Database) -> dict[str, int]:
    async with db.acquire() as conn:
        return await catalog_summary(conn)


async def test_shared_dataset_exact_counts(movielens_db: Database) -> None:
    report = movielens_db.import_report  # type: ignore[attr-defined]
    assert report.problems == []
    counts = await _counts(movielens_db)
    assert counts["movies"] == 9742
    assert counts["ratings"] == 100836
    assert counts["users"] == 610
    assert counts["events"] == 100836
    # 3,539 MovieLens movies join the IMDb 5000 metadata; 4 of those rows have no director name
    assert counts["enriched"] == 3539
    assert counts["with_directors"] == 3535
    async with movielens_db.acquire() as conn:
        matrix = await conn.fetchrow("SELECT * FROM movies WHERE movie_id = 2571")
        heat = await conn.fetchrow("SELECT * FROM movies WHERE movie_id = 6")
        stats = await conn.fetchrow("SELECT count(*) AS n, avg(rating)::real AS mean FROM user_ratings WHERE movie_id = 2571")
    assert matrix["title"] == "The Matrix" and matrix["original_title"] == "Matrix, The (1999)" and matrix["year"] == 1999
    assert matrix["directors"] == ["Lana Wachowski"] and "Keanu Reeves" in matrix["cast_members"]
    assert matrix["imdb_id"] == "tt0133093" and matrix["tmdb_id"] == 603 and matrix["keywords"]
    assert matrix["rating_count"] == stats["n"] == 278 and matrix["rating_mean"] == pytest.approx(stats["mean"])
    assert heat["directors"] == [] and "Action" in heat["genres"]  # not in the IMDb 5000 data
    fincher = await movielens_db.pool.fetchval("SELECT directors FROM movies WHERE movie_id = 2959")  # Fight Club
    assert fincher == ["David Fincher"]
    assert "alternate universe" in matrix["user_tags"]


async def test_reimport_upserts_without_duplicates(movielens_db: Database) -> None:
    before = await _counts(movielens_db)
    again = await import_movielens(movielens_db, MOVIELENS, IMDB, with_ratings=True, progress=False)
    assert (again.movies_written, again.ratings_written, again.events_logged) == (0, 0, 0)
    assert await _counts(movielens_db) == before


def _mini_movielens(folder: Path) -> Path:
    folder.mkdir()
    (folder / "movies.csv").write_text(
        "movieId,title,genres\n"
        "1,Toy Story (1995),Adventure|Animation\n"
        "abc,Broken Id (1999),Drama\n"
        "3,,Comedy\n"
        "4,\"Matrix, The (1999)\",Action|Sci-Fi\n"
        "4,Duplicate (2000),Drama\n", encoding="utf-8")
    (folder / "links.csv").write_text("movieId,imdbId,tmdbId\n1,0114709,862\n4,0133093,603\n", encoding="utf-8")
    (folder / "tags.csv").write_text("userId,movieId,tag,timestamp\n1,4,Cyberpunk,1\n2,4,cyberpunk,2\n3,1,pixar,3\n", encoding="utf-8")
    (folder / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n"
        "1,1,4.0,964982703\n"
        "1,4,7.0,964982704\n"
        "2,4,4.5,964982705\n"
        "x,4,3.0,964982706\n"
        "3,99,3.0,964982707\n"
        "3,4,3.25,964982708\n", encoding="utf-8")
    return folder


async def test_bad_rows_are_reported_with_file_and_line_and_skipped(db: Database, tmp_path: Path) -> None:
    folder = _mini_movielens(tmp_path / "ml")
    report = await import_movielens(db, folder, None, with_ratings=True, progress=False)
    found = {(p.file, p.line) for p in report.problems}
    assert found == {("movies.csv", 3), ("movies.csv", 4), ("movies.csv", 6),
                     ("ratings.csv", 3), ("ratings.csv", 5), ("ratings.csv", 6), ("ratings.csv", 7)}
    reasons = {(p.file, p.line): p.reason for p in report.problems}
    assert "rating must be 0.5 to 5.0" in reasons[("ratings.csv", 3)]
    assert "movieId 99 is not in the catalog" in reasons[("ratings.csv", 6)]
    assert "appears twice" in reasons[("movies.csv", 6)]
    counts = await _counts(db)
    assert (counts["movies"], counts["ratings"]) == (2, 2)
    async with db.acquire() as conn:
        tags = await conn.fetchval("SELECT user_tags FROM movies WHERE movie_id = 4")
    assert tags == ["cyberpunk"]


CATALOG_CSV = (
    "movie_id,title,year,genres,directors,cast,keywords,runtime,imdb_id\n"
    "500,Heat (1995),,Action|Crime,Michael Mann,Al Pacino|Robert De Niro,heist,170,tt0113277\n"
    ",Brand New Film,2024,Drama,,,,,\n"
    "501,Bad Runtime,2001,Drama,,,,-5,\n"
    "502,Bad Imdb,2001,Drama,,,,,nonsense\n"
)


async def test_operator_catalog_csv_and_jsonl(db: Database, tmp_path: Path) -> None:
    csv_path = tmp_path / "catalog.csv"
    csv_path.write_text(CATALOG_CSV, encoding="utf-8")
    report = await import_catalog(db, csv_path, progress=False)
    assert {(p.line, p.reason.split()[0]) for p in report.problems} == {(4, "runtime"), (5, "imdb")}
    async with db.acquire() as conn:
        heat = await conn.fetchrow("SELECT * FROM movies WHERE movie_id = 500")
        fresh = await conn.fetchrow("SELECT * FROM movies WHERE title = 'Brand New Film'")
    assert heat["year"] == 1995 and heat["cast_members"] == ["Al Pacino", "Robert De Niro"] and heat["runtime_minutes"] == 170
    assert fresh["movie_id"] >= 10_000_000 and fresh["year"] == 2024

    jsonl = tmp_path / "update.jsonl"
    jsonl.write_text(
        json.dumps({"imdb_id": "tt0113277", "title": "Heat", "year": 1995, "genres": ["Action", "Crime", "Drama"]}) + "\n"
        + "{not json\n"
        + json.dumps({"title": "Heat", "colour": "red"}) + "\n", encoding="utf-8")
    report = await import_catalog(db, jsonl, progress=False)
    assert [(p.line, p.reason[:8]) for p in report.problems] == [(2, "not vali"), (3, "unknown ")]
    async with db.acquire() as conn:
        rows = await conn.fetch("SELECT movie_id, genres FROM movies WHERE imdb_id = 'tt0113277'")
    assert [(r["movie_id"], r["genres"]) for r in rows] == [(500, ["Action", "Crime", "Drama"])]  # matched by IMDb id, no duplicate


async def test_failed_import_leaves_nothing_behind(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "catalog.jsonl"
    path.write_text(
        json.dumps({"movie_id": 1, "title": "Fine", "imdb_id": "tt0000001"}) + "\n"
        + json.dumps({"movie_id": 2, "title": "Fine too", "imdb_id": "tt0000002"}) + "\n", encoding="utf-8")
    await import_catalog(db, path, progress=False)
    clash = tmp_path / "clash.jsonl"  # passes the reader; the second row's IMDb id is movie 1's in the database
    clash.write_text(json.dumps({"movie_id": 3, "title": "New"}) + "\n"
                     + json.dumps({"movie_id": 2, "title": "Moved", "imdb_id": "tt0000001"}) + "\n", encoding="utf-8")
    try:
        report = await import_catalog(db, clash, progress=False)
    except CatalogFormatError as exc:  # refused whole, in one line
        assert "clash.jsonl" in str(exc) and "nothing was imported" in str(exc)
    else:  # or the clashing row reported and skipped
        assert any("tt0000001" in p.reason for p in report.problems)
    async with db.acquire() as conn:
        titles = dict(await conn.fetch("SELECT movie_id, title FROM movies ORDER BY movie_id"))
    assert titles.get(2) == "Fine too"


BAD_CATALOGS = [  # (file name, content, expected line, reason fragment): issue 11 #8, each reproduced first
    ("latin1.csv", "title,year\nHeat,1995\nAm\xe9lie,2001\n".encode("latin-1"), 3, "not UTF-8"),
    ("huge.csv", ("title,keywords\nHeat," + "k" * 128_000 + "\n").encode(), 2, "128,000 characters long"),
    ("long.jsonl", json.dumps({"title": "T" * 500}).encode() + b"\n", 1, "title is 500 characters"),
    ("tmdb.jsonl", json.dumps({"title": "Heat", "tmdb_id": 99999999999}).encode() + b"\n", 1, "tmdb_id"),
    ("score.jsonl", json.dumps({"title": "Heat", "imdb_score": 1e300}).encode() + b"\n", 1, "imdb_score"),
    ("nul.csv", b"title,year\nHe\x00at,1995\n", 2, "NUL"),
    ("nul.jsonl", json.dumps({"title": "He\u0000at"}).encode() + b"\n", 1, "NUL"),
    ("bool.jsonl", json.dumps({"movie_id": True, "title": "Replaces movie 1"}).encode() + b"\n", 1, "movie_id true"),
    ("list.jsonl", json.dumps({"title": ["list", "title"]}).encode() + b"\n", 1, "title must be text"),
    ("nullcast.jsonl", json.dumps({"title": "Heat", "cast": ["Al Pacino", None]}).encode() + b"\n", 1, "cast holds null"),
    ("deep.jsonl", b"[" * 30_000 + b"\n", 1, "not valid JSON"),
]


@pytest.mark.parametrize("name, content, line, reason", BAD_CATALOGS, ids=[c[0] for c in BAD_CATALOGS])
async def test_each_bad_catalog_input_is_reported_as_file_line_reason(db: Database, tmp_path: Path, name: str,
                                                                      content: bytes, line: int, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    before = await _counts(db)
    try:
        report = await import_catalog(db, path, progress=False)
    except CatalogFormatError as exc:  # the whole file refused: one line naming it (and the line)
        message = str(exc)
        assert "\n" not in message and f"{name}:{line}:" in message and reason in message, message
    else:
        assert [str(p) for p in report.problems if reason in p.reason] == [
            str(p) for p in report.problems if p.line == line], report.problems
        assert any(p.file == name and p.line == line and reason in p.reason for p in report.problems), report.problems
        assert report.movies_written == 0
    assert await _counts(db) == before  # nothing half-imported


@pytest.mark.parametrize("name, content, reason", [
    ("movies.csv.gz", b"movieId,title,genres\n1,Heat (1995),Action\n", "not a gzip file"),
    ("truncated.csv.gz", None, "truncated"),
    ("empty.csv", b"", "empty"),
])
async def test_unreadable_files_are_refused_in_one_line(db: Database, tmp_path: Path, name: str, content: bytes | None,
                                                        reason: str) -> None:
    import gzip

    path = tmp_path / name
    if content is None:
        whole = gzip.compress(("movieId,title,genres\n" + "".join(f"{i},Film {i} (2000),Drama\n" for i in range(1, 5000))).encode())
        content = whole[: len(whole) // 2]
    path.write_bytes(content)
    for read in (lambda: import_catalog(db, path, progress=False),
                 lambda: import_movielens_files(db, path)):
        with pytest.raises(CatalogFormatError) as caught:
            await read()
        assert name in str(caught.value) and reason in str(caught.value) and "\n" not in str(caught.value)
    assert (await _counts(db))["movies"] == 0


async def import_movielens_files(db: Database, movies: Path):  # type: ignore[no-untyped-def]
    from bot.catalog.readers import read_movielens_files
    from bot.services.catalog_import import import_data

    return await import_data(db, read_movielens_files(movies), movies.name, progress=False)


async def test_bad_ratings_are_reported_at_their_own_file_and_line(db: Database, tmp_path: Path) -> None:
    movies = tmp_path / "catalog.jsonl"
    movies.write_text(json.dumps({"movie_id": 1, "title": "Heat", "year": 1995}) + "\n", encoding="utf-8")
    ratings = tmp_path / "my-ratings.csv"
    ratings.write_text(
        "userId,movieId,rating,timestamp\n"
        "1,1,4.0,964982703\n"  # fine
        "2,1,4.0,1000000000000\n"  # 1e12: year 33658
        "3,1,4.0,1e20\n"
        "1234567890123456789012,1,4.0,964982703\n"  # 22 digits
        "4,77,4.0,964982703\n"  # unknown movie
        "818989843397861396,1,3.5,964982703\n", encoding="utf-8")  # a Discord snowflake, kept exactly
    report = await import_catalog(db, movies, ratings, progress=False)
    found = {(p.file, p.line): p.reason for p in report.problems}
    assert set(found) == {("my-ratings.csv", 3), ("my-ratings.csv", 4), ("my-ratings.csv", 5), ("my-ratings.csv", 6)}
    assert "timestamp" in found[("my-ratings.csv", 3)] and "timestamp" in found[("my-ratings.csv", 4)]
    assert "userId" in found[("my-ratings.csv", 5)] and "movieId 77 is not in the catalog" in found[("my-ratings.csv", 6)]
    async with db.acquire() as conn:
        users = sorted(r["user_id"] for r in await conn.fetch("SELECT user_id FROM user_ratings"))
    assert users == [1, 818989843397861396]


async def test_bundled_catalog_matches_the_shared_data(db: Database) -> None:
    report = await import_bundled(db, progress=False)
    assert report.problems == []
    counts = await _counts(db)
    assert (counts["movies"], counts["ratings"], counts["users"], counts["with_directors"]) == (33122, 100836, 610, 29109)
    license_file = Path(__file__).resolve().parents[1] / "bot" / "data" / "LICENSE-MovieLens.txt"
    assert "GroupLens" in license_file.read_text(encoding="utf-8")
