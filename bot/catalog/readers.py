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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
import pandas as pd

from bot.catalog.titles import natural_title, split_year

MOVIE_COLUMNS = [
    "movie_id", "title", "original_title", "year", "genres", "directors", "cast_members",
    "keywords", "user_tags", "content_rating", "runtime_minutes", "language", "country",
    "imdb_id", "tmdb_id", "imdb_score", "source",
]
LIST_COLUMNS = ["genres", "directors", "cast_members", "keywords", "user_tags"]
RATING_COLUMNS = ["user_id", "movie_id", "rating", "rated_at"]
NO_GENRES = "(no genres listed)"


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


class CatalogFormatError(ValueError):
    """A file cannot be read at all (missing, wrong columns); names the file and the fix."""


# --------------------------------------------------------------------------- helpers

def _require(path: Path) -> Path:
    if not path.is_file():
        raise CatalogFormatError(f"{path}: file not found")
    return path


def _read_csv(path: Path, required: list[str], sep: str = ",") -> pd.DataFrame:
    """All columns as strings; `line` holds the 1-based line number in the file."""
    frame = pd.read_csv(_require(path), sep=sep, dtype=str, keep_default_na=False, na_values=[], encoding="utf-8")
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise CatalogFormatError(f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(required)}")
    frame["line"] = np.arange(2, len(frame) + 2)
    return frame


def _split(value: Any, sep: str = "|") -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, (list, tuple)):
        items = [str(v).strip() for v in value]
    else:
        items = [part.strip() for part in str(value).split(sep)]
    seen: dict[str, None] = {}
    for item in items:
        if item and item != NO_GENRES:
            seen.setdefault(item, None)
    return list(seen)


def _imdb_id(value: Any) -> str | None:
    """'0114709', 114709, 'tt0114709' or an IMDb URL -> 'tt0114709'."""
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    if "/title/" in text:
        text = text.split("/title/", 1)[1].split("/", 1)[0]
    digits = text[2:] if text.startswith("tt") else text
    if not digits.isdigit():
        raise ValueError(f"imdb id {value!r} is not tt followed by digits")
    return f"tt{int(digits):07d}"


def _optional_int(value: Any, what: str, low: int | None = None, high: int | None = None) -> int | None:
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} {value!r} is not a number") from None
    if not number.is_integer() or (low is not None and number < low) or (high is not None and number > high):
        raise ValueError(f"{what} {value!r} is out of range")
    return int(number)


def _optional_float(value: Any, what: str) -> float | None:
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{what} {value!r} is not finite")
    return number


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def movies_frame(records: Iterable[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(list(records), columns=["line", *MOVIE_COLUMNS])
    return frame.astype(object).where(frame.notna(), None)


# --------------------------------------------------------------------------- IMDb 5000

def read_imdb(path: Path) -> pd.DataFrame:
    """IMDb 5000 metadata, one row per IMDb id (first occurrence kept), empty fields as None."""
    frame = _read_csv(path, ["movie_imdb_link", "director_name", "actor_1_name"], sep=";")
    rows = []
    for rec in frame.to_dict("records"):
        try:
            imdb = _imdb_id(rec["movie_imdb_link"])
        except ValueError:
            continue
        if imdb is None:
            continue
        rows.append({
            "imdb_id": imdb,
            "directors": _split(rec.get("director_name")),
            "cast_members": _split([rec.get("actor_1_name"), rec.get("actor_2_name"), rec.get("actor_3_name")]),
            "keywords": _split(rec.get("plot_keywords")),
            "content_rating": _text(rec.get("content_rating")),
            "runtime_minutes": _safe(_optional_int, rec.get("duration"), "duration", 1, 2000),
            "language": _text(rec.get("language")),
            "country": _text(rec.get("country")),
            "imdb_score": _safe(_optional_float, rec.get("imdb_score"), "imdb_score"),
        })
    return pd.DataFrame(rows).drop_duplicates("imdb_id", keep="first").set_index("imdb_id")


def _safe(parse: Any, value: Any, *args: Any) -> Any:
    try:
        return parse(value, *args)
    except ValueError:
        return None


# --------------------------------------------------------------------------- MovieLens

def read_movielens(folder: Path, imdb: Path | None = None, with_ratings: bool = False) -> CatalogData:
    """A MovieLens folder (movies.csv, links.csv, tags.csv, ratings.csv), enriched from IMDb 5000."""
    folder = Path(folder)
    optional = {name: folder / f"{name}.csv" for name in ("links", "tags")}
    return read_movielens_files(
        folder / "movies.csv", **{k: (v if v.exists() else None) for k, v in optional.items()},
        ratings=folder / "ratings.csv" if with_ratings else None, imdb=imdb,
    )


def read_movielens_files(movies_csv: Path, links: Path | None = None, tags: Path | None = None,
                         ratings: Path | None = None, imdb: Path | None = None) -> CatalogData:
    """MovieLens-layout files given one by one (any of them but movies.csv may be missing)."""
    problems: list[BadRow] = []
    movies = _read_csv(Path(movies_csv), ["movieId", "title", "genres"])
    links = _read_csv(Path(links), ["movieId", "imdbId", "tmdbId"]) if links else None
    tags = _read_csv(Path(tags), ["movieId", "tag"]) if tags else None

    link_by_movie: dict[int, tuple[str | None, int | None]] = {}
    if links is not None:
        for rec in links.to_dict("records"):
            try:
                movie_id = _optional_int(rec["movieId"], "movieId", 1)
                if movie_id is None:
                    raise ValueError("movieId is empty")
                link_by_movie[movie_id] = (_imdb_id(rec["imdbId"]), _optional_int(rec["tmdbId"], "tmdbId", 1))
            except ValueError as exc:
                problems.append(BadRow(Path(links).name, rec["line"], str(exc)))

    tags_by_movie: dict[int, list[str]] = {}
    tag_frame = None
    if tags is not None:
        tag_ids = pd.to_numeric(tags["movieId"], errors="coerce")
        for line in tags.loc[tag_ids.isna(), "line"]:
            problems.append(BadRow(Path(tags).name, int(line), "movieId is not a number"))
        good = tags.loc[tag_ids.notna()]
        user_ids = pd.to_numeric(good["userId"], errors="coerce") if "userId" in good else pd.Series(-1, index=good.index)
        tag_frame = pd.DataFrame({"user_id": user_ids.fillna(-1).astype(np.int64),
                                  "movie_id": tag_ids[tag_ids.notna()].astype(np.int64),
                                  "tag": good["tag"].astype(str).str.strip().str.lower()})
        tag_frame = tag_frame[tag_frame["tag"] != ""].reset_index(drop=True)
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
            raw_title = rec["title"].strip()
            if not raw_title:
                raise ValueError("title is empty")
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
            "genres": _split(rec["genres"]), "directors": [], "cast_members": [], "keywords": [],
            "user_tags": tags_by_movie.get(movie_id, []), "content_rating": None, "runtime_minutes": None,
            "language": None, "country": None, "imdb_id": imdb_id, "tmdb_id": tmdb_id, "imdb_score": None,
            "source": "movielens",
        }
        if imdb_meta is not None and imdb_id in imdb_meta.index:
            record.update(imdb_meta.loc[imdb_id].to_dict())
            record["source"] = "movielens+imdb5000"
        records.append(record)

    rating_frame = None
    if ratings is not None:
        rating_frame, rating_problems = read_ratings(Path(ratings), seen_ids)
        problems.extend(rating_problems)
    return CatalogData(movies=movies_frame(records), ratings=rating_frame, problems=problems, tags=tag_frame)


def tag_lists(tags: pd.DataFrame, limit: int = 25) -> dict[int, list[str]]:
    """movie id -> its most frequent user tags (ties alphabetical), from a user_id, movie_id, tag frame."""
    if tags.empty:
        return {}
    counts = tags.groupby(["movie_id", "tag"]).size().reset_index(name="n")
    counts = counts.sort_values(["movie_id", "n", "tag"], ascending=[True, False, True])
    return {int(k): list(v["tag"])[:limit] for k, v in counts.groupby("movie_id")}


def read_ratings(path: Path, known_movies: set[int] | None = None) -> tuple[pd.DataFrame, list[BadRow]]:
    """MovieLens ratings.csv layout: userId, movieId, rating, timestamp (Unix seconds)."""
    frame = _read_csv(path, ["userId", "movieId", "rating", "timestamp"])
    name = path.name
    user = pd.to_numeric(frame["userId"], errors="coerce")
    movie = pd.to_numeric(frame["movieId"], errors="coerce")
    rating = pd.to_numeric(frame["rating"], errors="coerce")
    stamp = pd.to_numeric(frame["timestamp"], errors="coerce")
    checks = [
        (user.isna() | (user <= 0) | (user % 1 != 0), "userId must be a positive integer"),
        (movie.isna() | (movie % 1 != 0), "movieId must be an integer"),
        (rating.isna() | (rating < 0.5) | (rating > 5.0) | ((rating * 2) % 1 != 0), "rating must be 0.5 to 5.0 in half steps"),
        (stamp.isna() | (stamp < 0), "timestamp must be Unix seconds"),
    ]
    bad = pd.Series(False, index=frame.index)
    problems: list[BadRow] = []
    for mask, reason in checks:
        new = mask & ~bad
        problems.extend(BadRow(name, int(line), reason) for line in frame.loc[new, "line"])
        bad |= mask
    if known_movies is not None:
        unknown = ~bad & ~movie.isin(list(known_movies))
        problems.extend(BadRow(name, int(line), f"movieId {int(m)} is not in the catalog")
                        for line, m in zip(frame.loc[unknown, "line"], movie[unknown]))
        bad |= unknown
    good = ~bad
    ratings = pd.DataFrame({
        "user_id": user[good].astype("int64"),
        "movie_id": movie[good].astype("int64"),
        "rating": rating[good].astype("float64"),
        "rated_at": pd.to_datetime(stamp[good].astype("int64"), unit="s", utc=True),
    })
    # one current row per (user, movie): the latest rating wins
    ratings = ratings.sort_values("rated_at", kind="stable").drop_duplicates(["user_id", "movie_id"], keep="last")
    return ratings.reset_index(drop=True), problems


# --------------------------------------------------------------------------- operator catalogs

CATALOG_FIELDS = {
    "movie_id", "title", "year", "genres", "directors", "cast", "keywords", "tags", "content_rating",
    "runtime", "language", "country", "imdb_id", "tmdb_id", "imdb_score",
}


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path), encoding="utf-8")  # type: ignore[return-value]
    return open(path, encoding="utf-8", newline="")  # type: ignore[return-value]


def _catalog_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line, record) for each data row, or (line, error text) for a row that cannot be parsed."""
    stem = path.name[:-3] if path.name.endswith(".gz") else path.name
    with _open_text(path) as handle:
        if stem.endswith((".jsonl", ".ndjson", ".json")):
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield number, f"not valid JSON ({exc.msg})"
                    continue
                yield number, value if isinstance(value, dict) else "each line must be a JSON object"
        elif stem.endswith(".csv"):
            reader = csv.DictReader(handle)
            if not reader.fieldnames or "title" not in reader.fieldnames:
                raise CatalogFormatError(f"{path}: a catalog CSV needs a header row with at least a title column")
            for record in reader:
                yield reader.line_num, record
        else:
            raise CatalogFormatError(f"{path}: use a .csv or .jsonl file (optionally .gz)")


def catalog_record(raw: dict[str, Any]) -> dict[str, Any]:
    """One row of an operator's catalog in canonical form; ValueError names the bad field."""
    unknown = set(raw) - CATALOG_FIELDS
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(sorted(unknown))}")
    raw_title = _text(raw.get("title"))
    if not raw_title:
        raise ValueError("title is empty")
    title, year_in_title = split_year(raw_title)
    year = _optional_int(raw.get("year"), "year", 1870, 2200)
    return {
        "movie_id": _optional_int(raw.get("movie_id"), "movie_id", 1, 2**31 - 1),
        "title": natural_title(title), "original_title": raw_title,
        "year": year if year is not None else year_in_title,
        "genres": _split(raw.get("genres")), "directors": _split(raw.get("directors")),
        "cast_members": _split(raw.get("cast")), "keywords": _split(raw.get("keywords")),
        "user_tags": _split(raw.get("tags")), "content_rating": _text(raw.get("content_rating")),
        "runtime_minutes": _optional_int(raw.get("runtime"), "runtime", 1, 2000),
        "language": _text(raw.get("language")), "country": _text(raw.get("country")),
        "imdb_id": _imdb_id(raw.get("imdb_id")), "tmdb_id": _optional_int(raw.get("tmdb_id"), "tmdb_id", 1),
        "imdb_score": _optional_float(raw.get("imdb_score"), "imdb_score"), "source": "catalog",
    }


def read_catalog(path: Path, ratings: Path | None = None) -> CatalogData:
    """An operator's catalog (CSV or JSON lines, see README.md), optionally with ratings."""
    path = _require(Path(path))
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
    rating_frame = None
    if ratings is not None:
        rating_frame, rating_problems = read_ratings(_require(Path(ratings)), None)
        problems.extend(rating_problems)
    return CatalogData(movies=frame, ratings=rating_frame, problems=problems)
