"""Readers for MovieLens folders, the IMDb 5000 metadata and operators' own catalogs.

Each reader returns canonical pandas tables plus the rows it had to skip, each named by
file and line, so the import can report them and carry on with the good rows.
"""
from __future__ import annotations

import csv
import gzip
import io
import json
import math
import re
import time
from zlib import error as zlib_error
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import pandas as pd

from bot.catalog.titles import natural_title, split_year

MOVIE_COLUMNS = [
    "movie_id", "title", "original_title", "year", "genres", "directors", "cast_members",
    "keywords", "user_tags", "content_rating", "runtime_minutes", "language", "country",
    "imdb_id", "tmdb_id", "imdb_score", "source",
    "overview", "aliases", "popularity_count", "popularity_mean", "tmdb_votes", "tmdb_score", "field_sources",
]
LIST_COLUMNS = ["genres", "directors", "cast_members", "keywords", "user_tags", "aliases"]
RATING_COLUMNS = ["user_id", "movie_id", "rating", "rated_at"]
NO_GENRES = "(no genres listed)"

# bounds every imported value is held to (the database's columns, and what a film can be)
MAX_FIELD = 10_000  # characters in any one field of any file
MAX_TITLE = 300
MAX_NAME = 200  # one genre, person, keyword, tag, language ...
MAX_LIST = 200  # entries in one list field
MAX_MOVIE_ID = 2**31 - 1
MAX_USER_ID = 2**63 - 1  # Discord snowflakes fit
MAX_FILE_BYTES = 2 * 1024**3
csv.field_size_limit(MAX_FIELD * 20)  # longer fields are reported as too long, not a csv.Error


@dataclass(frozen=True)
class BadRow:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass
class CatalogData:
    """What a reader found: movies (canonical columns), optional ratings, skipped rows."""

    movies: pd.DataFrame
    ratings: pd.DataFrame | None = None
    problems: list[BadRow] = field(default_factory=list)
    tags: pd.DataFrame | None = None  # user_id, movie_id, tag (cleaned): who wrote what, for leak-free evaluation
    ratings_file: str | None = None  # where ratings came from, to report those the catalog does not know
    # instead of ``ratings``: the ratings file read block by block (imports of millions of ratings)
    rating_chunks: Callable[[], Iterator[tuple[pd.DataFrame, list[BadRow]]]] | None = None


class CatalogFormatError(ValueError):
    """A file cannot be read at all (missing, wrong columns); names the file and the fix."""


# --------------------------------------------------------------------------- helpers

def _require(path: Path) -> Path:
    if not path.is_file():
        raise CatalogFormatError(f"{path}: file not found")
    return path


def read_text(path: Path) -> str:
    """A whole file as text (``.gz`` decompressed); every way it can be unreadable is one CatalogFormatError
    naming the file (and the line, for bytes that are not UTF-8)."""
    _require(path)
    if path.stat().st_size > MAX_FILE_BYTES:
        raise CatalogFormatError(f"{path}: larger than {MAX_FILE_BYTES // 1024**3} GB; split it")
    try:
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except gzip.BadGzipFile:
        raise CatalogFormatError(f"{path}: not a gzip file although it ends in .gz") from None
    except (EOFError, zlib_error) as exc:
        raise CatalogFormatError(f"{path}: the compressed file is truncated or damaged ({exc}); copy it again") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise CatalogFormatError(f"{path}:{line}: not UTF-8 text (byte {data[exc.start]:#04x}); save the file as UTF-8") from None


def _read_csv(path: Path, required: list[str], sep: str = ",") -> tuple[pd.DataFrame, list[BadRow]]:
    """All columns as strings, `line` the 1-based line number; rows with a NUL character or an
    over-long field are left out and returned as problems."""
    text = read_text(path)
    if not text.strip():
        raise CatalogFormatError(f"{path}: the file is empty; expected a header row ({sep.join(required)}) and data")
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_values=[])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
        raise CatalogFormatError(f"{path}: not a readable {'CSV' if sep == ',' else 'delimited'} file ({exc})") from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise CatalogFormatError(f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(required)}")
    frame["line"] = np.arange(2, len(frame) + 2)  # assumes no quoted line breaks, as in MovieLens files
    return _usable_fields(frame, path.name)


def _usable_fields(frame: pd.DataFrame, name: str) -> tuple[pd.DataFrame, list[BadRow]]:
    """Rows with a NUL character or an over-long field left out and returned as problems."""
    problems: list[BadRow] = []
    bad = pd.Series(False, index=frame.index)
    for column in frame.columns.drop("line"):
        values = frame[column].astype(str)
        for mask, reason in ((values.str.contains("\x00", regex=False), f"{column} contains a NUL character"),
                             (values.str.len() > MAX_FIELD, f"{column} is longer than {MAX_FIELD:,} characters")):
            new = mask & ~bad
            problems.extend(BadRow(name, int(line), reason) for line in frame.loc[new, "line"])
            bad |= mask
    return frame.loc[~bad].reset_index(drop=True), problems


def _csv_chunks(path: Path, required: list[str], rows: int) -> Iterator[tuple[pd.DataFrame, list[BadRow]]]:
    """`_read_csv` a block of ``rows`` lines at a time: memory flat in the file's size, the same
    errors (naming the file, and the line for bytes that are not UTF-8) and line numbers."""
    _require(path)
    if path.stat().st_size > MAX_FILE_BYTES:
        raise CatalogFormatError(f"{path}: larger than {MAX_FILE_BYTES // 1024**3} GB; split it")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as stream:
            header_bytes = stream.readline()
            try:
                header = header_bytes.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise CatalogFormatError(f"{path}:1: not UTF-8 text (byte {header_bytes[exc.start]:#04x}); "
                                         "save the file as UTF-8") from None
            if not header.strip():
                raise CatalogFormatError(f"{path}: the file is empty; expected a header row ({','.join(required)}) and data")
            first_line = 2
            while True:
                block = [line for _, line in zip(range(rows), stream)]
                if not block and first_line > 2:
                    return
                data = b"".join(block)
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError as exc:
                    line = first_line + data.count(b"\n", 0, exc.start)
                    raise CatalogFormatError(f"{path}:{line}: not UTF-8 text (byte {data[exc.start]:#04x}); "
                                             "save the file as UTF-8") from None
                try:
                    frame = pd.read_csv(io.StringIO(header + text), dtype=str, keep_default_na=False, na_values=[])
                except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
                    raise CatalogFormatError(f"{path}: not a readable CSV file near line {first_line} ({exc})") from None
                missing = [c for c in required if c not in frame.columns]
                if missing:
                    raise CatalogFormatError(f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(required)}")
                frame["line"] = np.arange(first_line, first_line + len(frame))
                first_line += len(block)
                yield _usable_fields(frame, path.name)
                if not block:
                    return
    except gzip.BadGzipFile:
        raise CatalogFormatError(f"{path}: not a gzip file although it ends in .gz") from None
    except (EOFError, zlib_error) as exc:
        raise CatalogFormatError(f"{path}: the compressed file is truncated or damaged ({exc}); copy it again") from None


def _clean(text: str, what: str, limit: int) -> str:
    if "\x00" in text:
        raise ValueError(f"{what} contains a NUL character")
    if len(text) > limit:
        raise ValueError(f"{what} is {len(text):,} characters long (at most {limit:,})")
    return text


def _split(value: Any, sep: str = "|", what: str = "list") -> list[str]:
    """'a|b' or ["a", "b"] -> ["a", "b"] (deduplicated); anything else in a list is refused, not stringified."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, (list, tuple)):
        bad = [v for v in value if not isinstance(v, str)]
        if bad:
            raise ValueError(f"{what} holds {json.dumps(bad[0])}, not a name; give names as text")
        items = [v.strip() for v in value]
    elif isinstance(value, str):
        items = [part.strip() for part in value.split(sep)]
    else:
        raise ValueError(f"{what} must be text or a list of names, not {json.dumps(value)}")
    seen: dict[str, None] = {}
    for item in items:
        if item and item != NO_GENRES:
            seen.setdefault(_clean(item, f"{what} entry", MAX_NAME), None)
    if len(seen) > MAX_LIST:
        raise ValueError(f"{what} has {len(seen)} entries (at most {MAX_LIST})")
    return list(seen)


def _imdb_id(value: Any) -> str | None:
    """'0114709', 114709, 'tt0114709' or an IMDb URL -> 'tt0114709'."""
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"imdb id {json.dumps(value)} is not tt followed by digits")
    text = str(value).strip()
    if "/title/" in text:
        text = text.split("/title/", 1)[1].split("/", 1)[0]
    digits = text[2:] if text.startswith("tt") else text
    if not re.fullmatch(r"[0-9]{1,10}", digits):
        raise ValueError(f"imdb id {str(value)[:40]!r} is not tt followed by up to 10 digits")
    return f"tt{int(digits):07d}"


def _shown(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else repr(value[:40] + ("..." if len(value) > 40 else ""))


def _optional_int(value: Any, what: str, low: int | None = None, high: int | None = MAX_MOVIE_ID) -> int | None:
    """An integer from a number or its text; true/false, 4.5, 1e300 and digits beyond ``high`` are refused."""
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"{what} {_shown(value)} is not a whole number")
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"[+-]?[0-9]{1,25}(\.0*)?", text):
            raise ValueError(f"{what} {_shown(value)} is not a whole number")
        number = int(text.split(".")[0])
    elif isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"{what} {_shown(value)} is not a whole number")
        number = int(value)
    else:
        number = value
    if (low is not None and number < low) or (high is not None and number > high):
        raise ValueError(f"{what} {_shown(value)} is out of range ({low if low is not None else '...'} to {high:,})"
                         if high is not None else f"{what} {_shown(value)} is out of range")
    return number


def _optional_float(value: Any, what: str, low: float | None = None, high: float | None = None) -> float | None:
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"{what} {_shown(value)} is not a number")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{what} {_shown(value)} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{what} {_shown(value)} is not finite")
    if (low is not None and number < low) or (high is not None and number > high):
        raise ValueError(f"{what} {_shown(value)} is out of range ({low:g} to {high:g})")
    return number


def _text(value: Any, what: str = "text", limit: int = MAX_NAME) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text, not {json.dumps(value)}")
    text = _clean(value.strip(), what, limit)
    return text or None


def movies_frame(records: Iterable[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(list(records), columns=["line", *MOVIE_COLUMNS])
    return frame.astype(object).where(frame.notna(), None)


# --------------------------------------------------------------------------- IMDb 5000

def read_imdb(path: Path) -> pd.DataFrame:
    """IMDb 5000 metadata, one row per IMDb id (first occurrence kept), empty fields as None."""
    frame, _skipped = _read_csv(path, ["movie_imdb_link", "director_name", "actor_1_name"], sep=";")
    rows = []
    for rec in frame.to_dict("records"):
        try:
            imdb = _imdb_id(rec["movie_imdb_link"])
            if imdb is None:
                continue
            rows.append({
                "imdb_id": imdb,
                "directors": _split(rec.get("director_name"), what="director_name"),
                "cast_members": _split([rec.get("actor_1_name") or "", rec.get("actor_2_name") or "",
                                        rec.get("actor_3_name") or ""], what="actors"),
                "keywords": _split(rec.get("plot_keywords"), what="plot_keywords"),
                "content_rating": _safe(_text, rec.get("content_rating"), "content_rating"),
                "runtime_minutes": _safe(_optional_int, rec.get("duration"), "duration", 1, 2000),
                "language": _safe(_text, rec.get("language"), "language"),
                "country": _safe(_text, rec.get("country"), "country"),
                "imdb_score": _safe(_optional_float, rec.get("imdb_score"), "imdb_score", 0.0, 10.0),
            })
        except ValueError:  # enrichment only: a row we cannot use leaves its movie as MovieLens has it
            continue
    return pd.DataFrame(rows).drop_duplicates("imdb_id", keep="first").set_index("imdb_id")


def _safe(parse: Any, value: Any, *args: Any) -> Any:
    try:
        return parse(value, *args)
    except ValueError:
        return None


# --------------------------------------------------------------------------- MovieLens

def read_movielens(folder: Path, imdb: Path | None = None, with_ratings: bool = False,
                   stream_ratings: bool = False) -> CatalogData:
    """A MovieLens folder (movies.csv, links.csv, tags.csv, ratings.csv), enriched from IMDb 5000.
    ``stream_ratings``: leave the ratings to be read block by block (``rating_chunks``)."""
    folder = Path(folder)
    optional = {name: folder / f"{name}.csv" for name in ("links", "tags")}
    return read_movielens_files(
        folder / "movies.csv", **{k: (v if v.exists() else None) for k, v in optional.items()},
        ratings=folder / "ratings.csv" if with_ratings else None, imdb=imdb, stream_ratings=stream_ratings,
    )


def _ratings_of(data: CatalogData, ratings: Path | None, known_movies: set[int] | None, stream: bool) -> CatalogData:
    """``data`` with its ratings: read whole now, or (``stream``) left to ``rating_chunks``."""
    if ratings is None:
        return data
    path = _require(Path(ratings))
    data.ratings_file = path.name
    if stream:
        data.rating_chunks = lambda: iter_ratings(path, known_movies)
    else:
        data.ratings, problems = read_ratings(path, known_movies)
        data.problems.extend(problems)
    return data


def read_movielens_files(movies_csv: Path, links: Path | None = None, tags: Path | None = None,
                         ratings: Path | None = None, imdb: Path | None = None, stream_ratings: bool = False) -> CatalogData:
    """MovieLens-layout files given one by one (any of them but movies.csv may be missing)."""
    problems: list[BadRow] = []
    links_path, tags_path = links, tags
    movies, skipped = _read_csv(Path(movies_csv), ["movieId", "title", "genres"])
    problems.extend(skipped)
    if links:
        links, skipped = _read_csv(Path(links), ["movieId", "imdbId", "tmdbId"])
        problems.extend(skipped)
    if tags:
        tags, skipped = _read_csv(Path(tags), ["movieId", "tag"])
        problems.extend(skipped)

    links_name, tags_name = str(links_path), str(tags_path)
    link_by_movie: dict[int, tuple[str | None, int | None]] = {}
    if links is not None:
        for rec in links.to_dict("records"):
            try:
                movie_id = _optional_int(rec["movieId"], "movieId", 1)
                if movie_id is None:
                    raise ValueError("movieId is empty")
                link_by_movie[movie_id] = (_imdb_id(rec["imdbId"]), _optional_int(rec["tmdbId"], "tmdbId", 1))
            except ValueError as exc:
                problems.append(BadRow(Path(links_name).name, rec["line"], str(exc)))

    tags_by_movie: dict[int, list[str]] = {}
    tag_frame = None
    if tags is not None:
        tag_ids = pd.to_numeric(tags["movieId"], errors="coerce")
        for line in tags.loc[tag_ids.isna(), "line"]:
            problems.append(BadRow(Path(tags_name).name, int(line), "movieId is not a number"))
        good = tags.loc[tag_ids.notna()]
        user_ids = pd.to_numeric(good["userId"], errors="coerce") if "userId" in good else pd.Series(-1, index=good.index)
        tag_frame = pd.DataFrame({"user_id": user_ids.fillna(-1).astype(np.int64),
                                  "movie_id": tag_ids[tag_ids.notna()].astype(np.int64),
                                  "tag": good["tag"].astype(str).str.strip().str.lower()})
        tag_frame = tag_frame[(tag_frame["tag"] != "") & (tag_frame["tag"].str.len() <= MAX_NAME)].reset_index(drop=True)
        tags_by_movie = tag_lists(tag_frame)

    imdb_meta = read_imdb(imdb) if imdb else None
    records: list[dict[str, Any]] = []
    seen_ids: set[int] = set()
    seen_imdb: set[str] = set()
    for rec in movies.to_dict("records"):
        try:
            movie_id = _optional_int(rec["movieId"], "movieId", 1, 2**31 - 1)
            if movie_id is None:
                raise ValueError("movieId is empty")
            if movie_id in seen_ids:
                raise ValueError(f"movieId {movie_id} appears twice")
            raw_title = _clean(rec["title"].strip(), "title", MAX_TITLE)
            if not raw_title or not natural_title(split_year(raw_title)[0]):
                raise ValueError("title is empty")
            genres = _split(rec["genres"], what="genres")
        except ValueError as exc:
            problems.append(BadRow(Path(movies_csv).name, rec["line"], str(exc)))
            continue
        seen_ids.add(movie_id)
        title, year = split_year(raw_title)
        imdb_id, tmdb_id = link_by_movie.get(movie_id, (None, None))
        if imdb_id in seen_imdb:  # MovieLens lists a few IMDb ids twice; the id must stay unique
            imdb_id = None
        if imdb_id:
            seen_imdb.add(imdb_id)
        record: dict[str, Any] = {
            "line": rec["line"], "movie_id": movie_id, "title": natural_title(title), "original_title": raw_title, "year": year,
            "genres": genres, "directors": [], "cast_members": [], "keywords": [],
            "user_tags": tags_by_movie.get(movie_id, []), "content_rating": None, "runtime_minutes": None,
            "language": None, "country": None, "imdb_id": imdb_id, "tmdb_id": tmdb_id, "imdb_score": None,
            "source": "movielens", "overview": None, "aliases": [], "popularity_count": None, "popularity_mean": None,
            "tmdb_votes": None, "tmdb_score": None, "field_sources": None,
        }
        if imdb_meta is not None and imdb_id in imdb_meta.index:
            record.update(imdb_meta.loc[imdb_id].to_dict())
            record["source"] = "movielens+imdb5000"
        records.append(record)

    return _ratings_of(CatalogData(movies=movies_frame(records), problems=problems, tags=tag_frame), ratings, seen_ids,
                       stream_ratings)


def tag_lists(tags: pd.DataFrame, limit: int = 25) -> dict[int, list[str]]:
    """movie id -> its most frequent user tags (ties alphabetical), from a user_id, movie_id, tag frame."""
    if tags.empty:
        return {}
    counts = tags.groupby(["movie_id", "tag"]).size().reset_index(name="n")
    counts = counts.sort_values(["movie_id", "n", "tag"], ascending=[True, False, True])
    return {int(k): list(v["tag"])[:limit] for k, v in counts.groupby("movie_id")}


def _whole_numbers(values: pd.Series, low: int, high: int) -> tuple[np.ndarray, pd.Series]:
    """(int64 values, bad mask) for a column of digits; exact for 19-digit ids (no float rounding)."""
    text = values.astype(str).str.strip()
    shaped = text.str.fullmatch(r"[0-9]{1,25}(\.0*)?")
    numbers = text.where(shaped, "0").str.split(".").str[0].map(int)
    bad = ~shaped | (numbers < low) | (numbers > high)
    return numbers.where(~bad, 0).astype(np.int64).to_numpy(), bad


RATING_CHUNK_ROWS = 500_000


def read_ratings(path: Path, known_movies: set[int] | None = None) -> tuple[pd.DataFrame, list[BadRow]]:
    """MovieLens ratings.csv layout: userId, movieId, rating, timestamp (Unix seconds). The frame keeps
    each rating's ``line`` so ratings the catalog does not know can be reported where they are."""
    frames: list[pd.DataFrame] = []
    problems: list[BadRow] = []
    for frame, found in iter_ratings(path, known_movies):
        frames.append(frame)
        problems.extend(found)
    return latest_per_pair(pd.concat(frames, ignore_index=True)), problems


def iter_ratings(path: Path, known_movies: set[int] | None = None,
                 rows: int = RATING_CHUNK_ROWS) -> Iterator[tuple[pd.DataFrame, list[BadRow]]]:
    """`read_ratings` ``rows`` lines at a time (imports of millions of ratings: memory stays flat). A
    (user, movie) pair rated twice is resolved within a chunk here and across chunks by the import."""
    for frame, problems in _csv_chunks(Path(path), ["userId", "movieId", "rating", "timestamp"], rows):
        ratings, more = _valid_ratings(frame, Path(path).name, known_movies)
        yield latest_per_pair(ratings), problems + more


def _valid_ratings(frame: pd.DataFrame, name: str, known_movies: set[int] | None) -> tuple[pd.DataFrame, list[BadRow]]:
    problems: list[BadRow] = []
    user, bad_user = _whole_numbers(frame["userId"], 1, MAX_USER_ID)
    movie, bad_movie = _whole_numbers(frame["movieId"], 1, MAX_MOVIE_ID)
    rating = pd.to_numeric(frame["rating"], errors="coerce")
    stamp = pd.to_numeric(frame["timestamp"], errors="coerce")
    latest = time.time() + 86400
    checks = [
        (bad_user, f"userId must be a whole number from 1 to {MAX_USER_ID}"),
        (bad_movie, f"movieId must be a whole number from 1 to {MAX_MOVIE_ID}"),
        (rating.isna() | (rating < 0.5) | (rating > 5.0) | ((rating * 2) % 1 != 0), "rating must be 0.5 to 5.0 in half steps"),
        (stamp.isna() | (stamp < 0) | (stamp > latest) | (stamp % 1 != 0),
         "timestamp must be Unix seconds between 1970 and today"),
    ]
    bad = pd.Series(False, index=frame.index)
    for mask, reason in checks:
        new = mask & ~bad
        problems.extend(BadRow(name, int(line), reason) for line in frame.loc[new, "line"])
        bad |= mask
    if known_movies is not None:
        unknown = ~bad & ~pd.Series(movie, index=frame.index).isin(list(known_movies))
        problems.extend(BadRow(name, int(line), f"movieId {int(m)} is not in the catalog")
                        for line, m in zip(frame.loc[unknown, "line"], movie[unknown.to_numpy()]))
        bad |= unknown
    good = (~bad).to_numpy()
    ratings = pd.DataFrame({
        "user_id": user[good],
        "movie_id": movie[good],
        "rating": rating[good].astype("float64").to_numpy(),
        "rated_at": pd.to_datetime(stamp[good].astype("int64").to_numpy(), unit="s", utc=True),
        "line": frame.loc[good, "line"].to_numpy(),
    })
    return ratings, problems


def latest_per_pair(ratings: pd.DataFrame) -> pd.DataFrame:
    """One current row per (user, movie): the latest rating wins."""
    ratings = ratings.sort_values("rated_at", kind="stable").drop_duplicates(["user_id", "movie_id"], keep="last")
    return ratings.reset_index(drop=True)


# --------------------------------------------------------------------------- operator catalogs

CATALOG_FIELDS = {
    "movie_id", "title", "year", "genres", "directors", "cast", "keywords", "tags", "content_rating",
    "runtime", "language", "country", "imdb_id", "tmdb_id", "imdb_score",
    "overview", "aliases", "popularity_count", "popularity_mean", "tmdb_votes", "tmdb_score", "sources",
}
MAX_OVERVIEW = 5_000


def _catalog_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line, record) for each data row, or (line, error text) for a row that cannot be used."""
    stem = path.name[:-3] if path.name.endswith(".gz") else path.name
    if not stem.endswith((".jsonl", ".ndjson", ".json", ".csv")):
        raise CatalogFormatError(f"{path}: use a .csv or .jsonl file (optionally .gz)")
    text = read_text(path)
    if not text.strip():
        raise CatalogFormatError(f"{path}: the file is empty")
    if stem.endswith(".csv"):
        reader = csv.DictReader(io.StringIO(text, newline=""))
        if not reader.fieldnames or "title" not in reader.fieldnames:
            raise CatalogFormatError(f"{path}: a catalog CSV needs a header row with at least a title column")
        try:
            for record in reader:
                yield reader.line_num, (record if None not in record else "more fields than the header has")
        except csv.Error as exc:
            raise CatalogFormatError(f"{path}:{reader.line_num}: not a readable CSV row ({exc})") from None
        return
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        if len(line) > MAX_FIELD * 4:
            yield number, f"the line is {len(line):,} characters long (at most {MAX_FIELD * 4:,})"
            continue
        try:
            value = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            yield number, f"not valid JSON ({getattr(exc, 'msg', 'nested too deeply')})"
            continue
        yield number, value if isinstance(value, dict) else "each line must be a JSON object"


def catalog_record(raw: dict[str, Any]) -> dict[str, Any]:
    """One row of an operator's catalog in canonical form; ValueError names the bad field."""
    unknown = set(raw) - CATALOG_FIELDS
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(sorted(str(k)[:40] for k in unknown))}")
    raw_title = _text(raw.get("title"), "title", MAX_TITLE)
    if not raw_title:
        raise ValueError("title is empty")
    title, year_in_title = split_year(raw_title)
    if not natural_title(title):
        raise ValueError("title is empty (only a year)")
    year = _optional_int(raw.get("year"), "year", 1870, 2200)
    return {
        "movie_id": _optional_int(raw.get("movie_id"), "movie_id", 1, MAX_MOVIE_ID),
        "title": natural_title(title), "original_title": raw_title,
        "year": year if year is not None else year_in_title,
        "genres": _split(raw.get("genres"), what="genres"), "directors": _split(raw.get("directors"), what="directors"),
        "cast_members": _split(raw.get("cast"), what="cast"), "keywords": _split(raw.get("keywords"), what="keywords"),
        "user_tags": _split(raw.get("tags"), what="tags"), "content_rating": _text(raw.get("content_rating"), "content_rating"),
        "runtime_minutes": _optional_int(raw.get("runtime"), "runtime", 1, 2000),
        "language": _text(raw.get("language"), "language"), "country": _text(raw.get("country"), "country"),
        "imdb_id": _imdb_id(raw.get("imdb_id")), "tmdb_id": _optional_int(raw.get("tmdb_id"), "tmdb_id", 1, MAX_MOVIE_ID),
        "imdb_score": _optional_float(raw.get("imdb_score"), "imdb_score", 0.0, 10.0), "source": "catalog",
        "overview": _text(raw.get("overview"), "overview", MAX_OVERVIEW),
        "aliases": _split(raw.get("aliases"), what="aliases"),
        "popularity_count": _optional_int(raw.get("popularity_count"), "popularity_count", 0, MAX_MOVIE_ID),
        "popularity_mean": _optional_float(raw.get("popularity_mean"), "popularity_mean", 0.5, 5.0),
        "tmdb_votes": _optional_int(raw.get("tmdb_votes"), "tmdb_votes", 0, MAX_MOVIE_ID),
        "tmdb_score": _optional_float(raw.get("tmdb_score"), "tmdb_score", 0.0, 10.0),
        "field_sources": _sources(raw.get("sources")),
    }


def _sources(value: Any) -> dict[str, str] | None:
    """Which source gave each field ({"overview": "tmdb", ...})."""
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) and len(k) <= MAX_NAME
                                              and len(v) <= MAX_NAME for k, v in value.items()) or len(value) > MAX_LIST:
        raise ValueError("sources must be an object of field name -> source name")
    return dict(sorted(value.items()))


def read_catalog(path: Path, ratings: Path | None = None, stream_ratings: bool = False) -> CatalogData:
    """An operator's catalog (CSV or JSON lines, see README.md), optionally with ratings
    (``stream_ratings``: read block by block during the import)."""
    path = _require(Path(path))
    if ratings is not None:
        _require(Path(ratings))
    records: list[dict[str, Any]] = []
    problems: list[BadRow] = []
    seen_ids: set[int] = set()
    seen_imdb: set[str] = set()
    for line, raw in _catalog_rows(path):
        if isinstance(raw, str):
            problems.append(BadRow(path.name, line, raw))
            continue
        try:
            record = catalog_record(raw)
            if record["movie_id"] is not None and record["movie_id"] in seen_ids:
                raise ValueError(f"movie_id {record['movie_id']} appears twice")
            if record["imdb_id"] is not None and record["imdb_id"] in seen_imdb:
                raise ValueError(f"imdb_id {record['imdb_id']} appears twice")
        except ValueError as exc:
            problems.append(BadRow(path.name, line, str(exc)))
            continue
        if record["movie_id"] is not None:
            seen_ids.add(record["movie_id"])
        if record["imdb_id"] is not None:
            seen_imdb.add(record["imdb_id"])
        records.append({"line": line, **record})
    frame = movies_frame(records)
    return _ratings_of(CatalogData(movies=frame, problems=problems), ratings, None, stream_ratings)
