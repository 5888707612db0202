"""Members' film histories exported from other sites, read into one shape.

Letterboxd's account export (a zip, or its `ratings.csv`, `watched.csv`, `watchlist.csv`):
`Date,Name,Year,Letterboxd URI[,Rating]`, ratings 0.5 to 5 stars. IMDb's ratings export
(`ratings.csv`): `Const,Your Rating,Date Rated,Title,...,Year,...`, ratings 1 to 10 (halved here).
Anything else is refused in one line naming the file and what was expected.
"""
from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
LETTERBOXD_FILES = ("ratings.csv", "watched.csv", "watchlist.csv")


class HistoryFormatError(ValueError):
    """The file is not a history we can read (one line: the file and what was expected)."""


@dataclass(frozen=True)
class HistoryEntry:
    kind: str  # "rating", "seen" or "watchlist"
    title: str
    year: int | None
    imdb_id: str | None
    stars: float | None
    when: datetime | None
    source: str  # file:line, for the report


def _year(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() and 1870 <= int(text) <= 2200 else None


def _date(text: str | None) -> datetime | None:
    text = (text or "").strip()
    for pattern in ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    return None


def _stars(text: str, scale: float, name: str, where: str) -> float:
    try:
        value = float(text) / scale
    except ValueError:
        raise ValueError(f"{where}: {name} {text[:20]!r} is not a number") from None
    if not 0.5 <= value <= 5.0:
        raise ValueError(f"{where}: {name} {text[:20]!r} is out of range")
    return round(value * 2) / 2  # IMDb's 7/10 is 3.5 stars


def _rows(name: str, text: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    rows = []
    try:
        for record in reader:
            rows.append((reader.line_num, {k: (v or "") for k, v in record.items() if k is not None}))
            if len(rows) > MAX_ROWS:
                raise HistoryFormatError(f"{name}: more than {MAX_ROWS:,} rows; split the file")
    except csv.Error as exc:
        raise HistoryFormatError(f"{name}:{reader.line_num}: not a readable CSV row ({exc})") from None
    return header, rows


def _letterboxd(name: str, header: list[str], rows: list[tuple[int, dict[str, str]]],
                problems: list[str]) -> list[HistoryEntry]:
    kind = "watchlist" if name.endswith("watchlist.csv") else ("rating" if "Rating" in header else "seen")
    found = []
    for line, row in rows:
        where = f"{name}:{line}"
        title = row.get("Name", "").strip()
        if not title:
            problems.append(f"{where}: no film name")
            continue
        stars = None
        if kind == "rating":
            if not row.get("Rating", "").strip():
                kind_here = "seen"
            else:
                try:
                    stars = _stars(row["Rating"], 1.0, "Rating", where)
                except ValueError as exc:
                    problems.append(str(exc))
                    continue
                kind_here = "rating"
        else:
            kind_here = kind
        found.append(HistoryEntry(kind_here, title[:300], _year(row.get("Year")), None, stars, _date(row.get("Date")), where))
    return found


def _imdb(name: str, rows: list[tuple[int, dict[str, str]]], problems: list[str]) -> list[HistoryEntry]:
    found = []
    for line, row in rows:
        where = f"{name}:{line}"
        const = row.get("Const", "").strip()
        title = row.get("Title", "").strip() or row.get("Original Title", "").strip()
        if row.get("Title Type", "movie").strip().lower() not in ("movie", "tvmovie", "tv movie", "video", ""):
            problems.append(f"{where}: {title[:60]!r} is a {row['Title Type'].strip()}, not a film")
            continue
        try:
            stars = _stars(row.get("Your Rating", ""), 2.0, "Your Rating", where)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        imdb = const if const.startswith("tt") and const[2:].isdigit() else None
        found.append(HistoryEntry("rating", title[:300], _year(row.get("Year")), imdb, stars,
                                  _date(row.get("Date Rated")), where))
    return found


def _one_csv(name: str, data: bytes, problems: list[str]) -> list[HistoryEntry]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise HistoryFormatError(f"{name}:{line}: not UTF-8 text; export the file again") from None
    header, rows = _rows(name, text)
    if {"Const", "Your Rating"} <= set(header):
        return _imdb(name, rows, problems)
    if {"Name", "Year"} <= set(header) and ("Letterboxd URI" in header or "Date" in header):
        return _letterboxd(name, header, rows, problems)
    raise HistoryFormatError(f"{name}: not a Letterboxd export (Date,Name,Year,Letterboxd URI[,Rating]) nor an IMDb "
                             "ratings export (Const,Your Rating,...)")


def read_history(name: str, data: bytes) -> tuple[list[HistoryEntry], list[str]]:
    """(entries, problems as "file:line: reason") from a Letterboxd or IMDb export, a CSV or a Letterboxd zip."""
    if len(data) > MAX_BYTES:
        raise HistoryFormatError(f"{name}: larger than {MAX_BYTES // 1024 // 1024} MB; export only your ratings")
    if not data.strip():
        raise HistoryFormatError(f"{name}: the file is empty")
    problems: list[str] = []
    if data[:4] == b"PK\x03\x04":
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile:
            raise HistoryFormatError(f"{name}: a damaged zip file; download the export again") from None
        members = {m.filename.rsplit("/", 1)[-1]: m for m in archive.infolist() if not m.is_dir()}
        chosen = [members[f] for f in LETTERBOXD_FILES if f in members]
        if not chosen:
            raise HistoryFormatError(f"{name}: no ratings.csv, watched.csv or watchlist.csv inside; is it a Letterboxd export?")
        entries: list[HistoryEntry] = []
        for member in chosen:
            if member.file_size > MAX_BYTES:
                raise HistoryFormatError(f"{name}/{member.filename}: larger than {MAX_BYTES // 1024 // 1024} MB")
            entries += _one_csv(f"{name}/{member.filename.rsplit('/', 1)[-1]}", archive.read(member), problems)
        return entries, problems
    return _one_csv(name, data, problems), problems
