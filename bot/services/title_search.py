"""Fuzzy title search: the base of `/rate` autocomplete and of typed titles.

The embedded PostgreSQL has no pg_trgm, so titles are indexed in memory: a sparse
character-trigram matrix (the pg_trgm idea) picks a few hundred candidates in well under a
millisecond, and rapidfuzz scores those exactly. Each movie is findable by its natural title ("The Matrix"), without the article
("Matrix"), and without an alternative title in brackets; queries are folded the same way
(case, accents, punctuation). Results rank by match quality, then by popularity.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Mapping

import numpy as np
from rapidfuzz import fuzz

if TYPE_CHECKING:
    from bot.db.pool import Database
from scipy import sparse

from bot.catalog.titles import fold, natural_title, split_year

_LEADING_ARTICLE = re.compile(r"^(the|a|an|les|la|le|l|il|lo|gli|das|der|die|el|los|las|un|une|una|ein|eine) ")
_BRACKETED = re.compile(r"\s*\([^)]*\)")
_QUERY_YEAR = re.compile(r"\s*\(?((?:18|19|20)\d{2})\)?\s*$")
CANDIDATES = 300
MIN_SCORE = 60.0
ROMAN = {"ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6", "vii": "7", "viii": "8", "ix": "9", "x": "10"}
NUMBER_WORDS = {"part", "chapter", "episode", "vol", "volume"}  # "Part II" and "2" are the same sequel
CLEAR_MARGIN = 5.0  # among films of the same title, one is meant without asking only with this many times the ratings
WORD_MATCH = 85.0  # a typed word matches a title word this similar (typos: "matrx")


def _trigrams(text: str) -> set[str]:
    padded = f"  {text} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def _score(query: str, key: str) -> float:
    """Whole-title similarity, the query as a fragment of a longer title, or its words in any order."""
    score = fuzz.ratio(query, key)
    if len(key) >= len(query):
        score = max(score, 0.9 * fuzz.partial_ratio(query, key))
    return max(score, 0.95 * fuzz.token_set_ratio(query, key))


@dataclass(frozen=True)
class TitleMatch:
    movie_id: int
    title: str
    year: int | None
    score: float
    rating_count: int

    @property
    def label(self) -> str:
        """What autocomplete shows: "The Matrix (1999)"."""
        return f"{self.title} ({self.year})" if self.year else self.title


def canonical(text: str) -> str:
    """What a person means by a title: folded, no leading article, sequel numbers as digits
    ("The Godfather: Part II" and "godfather 2" are both "godfather 2")."""
    words = _LEADING_ARTICLE.sub("", fold(text)).split()
    words = [ROMAN.get(w, w) for w in words]
    words = [w for i, w in enumerate(words) if not (w in NUMBER_WORDS and i + 1 < len(words) and words[i + 1].isdigit())]
    return " ".join(words)


@dataclass(frozen=True)
class Resolution:
    """A typed title: ``movie_id`` when one film is clearly meant; otherwise ``candidates`` to choose
    from (possibly none: nothing is close enough to offer)."""

    movie_id: int | None
    candidates: list["TitleMatch"]


_AKA = re.compile(r"^(a\.?k\.?a\.?|also known as)\s+", re.I)


def _keys(title: str) -> set[str]:
    main = _BRACKETED.sub("", title)
    keys = {fold(title), fold(main)}
    # an alternative title in brackets is a title too: "Seven (a.k.a. Se7en)", "Solaris (Solyaris)"
    keys |= {fold(natural_title(_AKA.sub("", alias.strip()))) for alias in re.findall(r"\(([^()]*[^\d()][^()]*)\)", title)}
    keys |= {_LEADING_ARTICLE.sub("", k) for k in list(keys)}
    return {k for k in keys if k}


ML_SNAPSHOT_YEAR = 2023  # MovieLens 2023 counts stop in July 2023: later films have barely any


def known_by(row: Mapping[str, object]) -> int:
    """How many people are known to have rated a film, on one scale where possible: ours or MovieLens
    2023's; TMDB votes only for a film MovieLens did not count, or from 2023 on. It separates a
    well-known film from its namesakes and remakes (The Lion King 1994 from 2019, Joker 2019 from 2012)."""
    count = max(int(row.get("rating_count") or 0), int(row.get("popularity_count") or 0))  # type: ignore[call-overload]
    year = row.get("year")
    if row.get("popularity_count") is None or (isinstance(year, int) and year >= ML_SNAPSHOT_YEAR):
        count = max(count, int(row.get("tmdb_votes") or 0))  # type: ignore[call-overload]
    return count


class TitleIndex:
    """An immutable in-memory index over the catalog's titles."""

    def __init__(self, rows: Iterable[Mapping[str, object]]) -> None:
        self._movies: list[tuple[int, str, int | None, int]] = []
        self._keys: list[str] = []
        self._owner: list[int] = []
        for row in rows:
            position = len(self._movies)
            title = str(row["title"])
            self._movies.append((int(row["movie_id"]), title, row.get("year"), known_by(row)))  # type: ignore[arg-type]
            keys = _keys(title)
            original = row.get("original_title")
            if original:
                keys |= _keys(natural_title(split_year(str(original))[0]))
            for alias in row.get("aliases") or ():  # other titles it is known by (TMDB's, the original language's)
                keys |= _keys(natural_title(str(alias)))
            for key in keys:
                self._keys.append(key)
                self._owner.append(position)
        vocabulary: dict[str, int] = {}
        rows_idx: list[int] = []
        cols_idx: list[int] = []
        for row_number, key in enumerate(self._keys):
            for gram in _trigrams(key):
                rows_idx.append(row_number)
                cols_idx.append(vocabulary.setdefault(gram, len(vocabulary)))
        self._vocabulary = vocabulary
        self._grams = sparse.csr_matrix(
            (np.ones(len(rows_idx), dtype=np.float32), (rows_idx, cols_idx)), shape=(len(self._keys), max(1, len(vocabulary)))
        )
        self._by_popularity = sorted(range(len(self._movies)), key=lambda i: (-self._movies[i][3], self._movies[i][0]))
        self._canonical: dict[str, set[int]] = {}  # canonical title (and its spaceless form) -> movies
        for key, position in zip(self._keys, self._owner):
            for form in {canonical(key), canonical(key).replace(" ", "")}:
                if form:
                    self._canonical.setdefault(form, set()).add(position)

    def __len__(self) -> int:
        return len(self._movies)

    def _match(self, position: int, score: float) -> TitleMatch:
        movie_id, title, year, count = self._movies[position]
        return TitleMatch(movie_id, title, year, round(score, 1), count)

    def _candidates(self, folded: str) -> np.ndarray:
        """Keys sharing the most trigrams with the query (pg_trgm-style prefilter)."""
        columns = [self._vocabulary[g] for g in _trigrams(folded) if g in self._vocabulary]
        if not columns:
            return np.empty(0, dtype=np.int64)
        shared = np.asarray(self._grams[:, columns].sum(axis=1)).ravel()
        count = min(CANDIDATES, int(np.count_nonzero(shared)))
        if count == 0:
            return np.empty(0, dtype=np.int64)
        return np.argpartition(-shared, count - 1)[:count]

    def resolve(self, text: str) -> Resolution:
        """A typed title, never guessed: saved directly only for an exact title (with its year, when
        typed), or the clearly better-known of several films of that title."""
        return _resolve(self, text)

    def search(self, query: str, limit: int = 25) -> list[TitleMatch]:
        """Best matches for ``query``; an empty query lists the most popular movies."""
        year = None
        found = _QUERY_YEAR.search(query)
        if found and found.start() > 0:
            year = int(found.group(1))
            query = query[: found.start()]
        folded = fold(query)
        if not folded:
            return [self._match(i, 0.0) for i in self._by_popularity[:limit]]
        best: dict[int, float] = {}
        for index in self._candidates(folded):
            score = _score(folded, self._keys[index])
            if score < MIN_SCORE:
                continue
            position = self._owner[index]
            if year is not None:
                movie_year = self._movies[position][2]
                score += 5 if movie_year == year else -10
            if score > best.get(position, -1.0):
                best[position] = score
        ranked = sorted(best, key=lambda p: (-round(best[p]), -math.log1p(self._movies[p][3]), self._movies[p][0]))
        return [self._match(p, best[p]) for p in ranked[:limit]]


def _words_match(query: str, key: str) -> bool:
    """Every word typed is (nearly) a word of the title: "joker" is in "Return of the Joker",
    "drop table movies" is not in "The Drop", "hereditary" is not "Secretary"."""
    title_words = canonical(key).split()
    return all(any(w == t or (len(w) > 3 and fuzz.ratio(w, t) >= WORD_MATCH) for t in title_words)
               for w in canonical(query).split())


def _resolve(index: "TitleIndex", text: str) -> Resolution:
    year = None
    found = _QUERY_YEAR.search(text)
    if found and found.start() > 0:
        year, text = int(found.group(1)), text[: found.start()]
    wanted = canonical(text)
    if not wanted:
        return Resolution(None, [])
    exact = index._canonical.get(wanted, set()) | index._canonical.get(wanted.replace(" ", ""), set())
    if year is not None:
        exact = {p for p in exact if index._movies[p][2] == year}
    ranked = sorted(exact, key=lambda p: (-index._movies[p][3], index._movies[p][0]))
    if len(ranked) == 1 or (ranked and index._movies[ranked[0]][3] >= CLEAR_MARGIN * max(1, index._movies[ranked[1]][3])):
        return Resolution(index._movies[ranked[0]][0], [])
    if ranked:  # remakes and namesakes without a clear favourite: the member says which
        return Resolution(None, [index._match(p, 100.0) for p in ranked[:5]])
    close = [m for m in index.search(text + (f" ({year})" if year else ""), 25) if _words_match(text, m.title)
             or fuzz.ratio(canonical(text), canonical(m.title)) >= WORD_MATCH]
    return Resolution(None, close[:5])


async def load_title_index(db: "Database") -> TitleIndex:
    """Build the index from the catalog as it is now (call again after an import)."""
    from bot.repositories.catalog import search_index_rows

    async with db.acquire() as conn:
        rows = await search_index_rows(conn)
    return TitleIndex(dict(r) for r in rows)
