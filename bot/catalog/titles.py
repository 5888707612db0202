"""Titles as sources write them ("Matrix, The (1999)") turned into what people type."""
from __future__ import annotations

import re
import unicodedata

_YEAR = re.compile(r"\s*\((?P<year>\d{4})(?:[-–]\d{0,4})?\)\s*$")
_ARTICLES = "The|A|An|Les|La|Le|L'|Il|Lo|Gli|I|Das|Der|Die|Den|Det|De|Het|El|Los|Las|Un|Une|Una|Ein|Eine|O|Os|As"
_MOVED_ARTICLE = re.compile(rf"^(?P<main>.+?), (?P<article>{_ARTICLES})(?P<rest>(?: \(.*\))?)$")


def split_year(raw: str) -> tuple[str, int | None]:
    """("Heat (1995)") -> ("Heat", 1995); titles without a year keep year None."""
    raw = raw.strip()
    match = _YEAR.search(raw)
    if not match:
        return raw, None
    return raw[: match.start()].strip(), int(match["year"])


def natural_title(title: str) -> str:
    """Move a trailing article back to the front: "Matrix, The" -> "The Matrix"."""
    match = _MOVED_ARTICLE.match(title.strip())
    if not match:
        return title.strip()
    article = match["article"]
    joiner = "" if article.endswith("'") else " "
    return f"{article}{joiner}{match['main']}{match['rest']}"


def fold(text: str) -> str:
    """Lower case, accents removed, punctuation to spaces: the form the search compares."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    cleaned = re.sub(r"[^\w]+", " ", stripped.casefold())
    return " ".join(cleaned.split())
