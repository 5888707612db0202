"""Fuzzy title search over the real catalog."""
from __future__ import annotations

import pytest

from bot.db.pool import Database
from bot.services.title_search import TitleIndex, load_title_index


@pytest.fixture(scope="module")
async def index(movielens_db: Database) -> TitleIndex:
    return await load_title_index(movielens_db)


@pytest.mark.parametrize(
    ("query", "movie_id"),
    [
        ("heat", 6),
        ("the matrix", 2571),
        ("matrx", 2571),
        ("THE MATRIX", 2571),
        ("Matrix, The (1999)", 2571),
        ("amélie", 4973),
        ("AMELIE", 4973),
        ("shawshank", 318),
        ("pulp fictoin", 296),
        ("toy story 1995", 1),
        ("toy story 3", 78499),
    ],
)
async def test_best_match_first(index: TitleIndex, query: str, movie_id: int) -> None:
    hits = index.search(query, 10)
    assert hits and hits[0].movie_id == movie_id, [h.label for h in hits[:3]]


async def test_ranking_by_quality_then_popularity(index: TitleIndex) -> None:
    hits = index.search("the matrix", 5)
    assert [h.movie_id for h in hits[:3]] == [2571, 6365, 6934]  # original, then the sequels by popularity
    assert hits[0].label == "The Matrix (1999)"
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)


async def test_empty_query_lists_popular_and_nonsense_finds_nothing(index: TitleIndex) -> None:
    popular = index.search("", 5)
    assert popular[0].movie_id == 356  # Forrest Gump, the most rated movie
    assert index.search("qqqqzzzzxxxx", 5) == []
