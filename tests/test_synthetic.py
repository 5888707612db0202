"""`cinesync synthesize`: synthetic ratings over the real MovieLens 2023 catalog, read back by the importer."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bot.catalog.readers import read_movielens
from bot.catalog.synthetic import synthesize
from engine.synthetic import planted_ratings
from tests.conftest import SHARED, requires_shared

CATALOG = SHARED / "movielens-latest-2023"


def _world() -> tuple[list[list[str]], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    names = ["Action", "Comedy", "Drama", "Horror", "Romance"]
    genres = [[names[i % 5]] + ([names[(i + 2) % 5]] if i % 3 == 0 else []) for i in range(400)]
    counts = rng.zipf(1.6, 400).astype(float)
    return genres, counts, np.full(400, 3.5)


def test_planted_ratings_are_deterministic_unique_and_show_the_planted_tastes() -> None:
    genres, counts, averages = _world()
    a = planted_ratings(genres, counts, averages, members=300, ratings=12_000, seed=5)
    b = planted_ratings(genres, counts, averages, members=300, ratings=12_000, seed=5)
    assert all(np.array_equal(getattr(a, k), getattr(b, k)) for k in ("users", "items", "stars", "seconds"))
    assert 11_000 <= len(a) <= 12_500
    assert len(np.unique(a.users * 400 + a.items)) == len(a)  # no pair twice
    assert np.bincount(a.users, minlength=300).min() >= 5
    assert set(np.unique(a.stars * 2)) <= set(range(1, 11))
    runs = np.flatnonzero(np.r_[True, a.users[1:] != a.users[:-1]])
    assert (np.diff(a.seconds)[np.diff(a.users) == 0] > 0).all() and len(runs) == 300  # time runs forward per member
    names = a.genres
    loved = np.array([names[a.loves[u]] in genres[i] for u, i in zip(a.users, a.items)])
    hated = np.array([names[a.hates[u]] in genres[i] for u, i in zip(a.users, a.items)])
    assert a.stars[loved & ~hated].mean() > a.stars[hated & ~loved].mean() + 1.5
    # popular films are drawn more, and a member's loved genre more than its share of the catalog
    drawn = np.bincount(a.items, minlength=400)
    assert np.corrcoef(np.log1p(counts), np.log1p(drawn))[0, 1] > 0.5
    assert loved.mean() > 0.4


def test_bad_sizes_are_refused() -> None:
    genres, counts, averages = _world()
    with pytest.raises(ValueError, match="at least one rating per member"):
        planted_ratings(genres, counts, averages, members=10, ratings=5)


def test_the_folder_reads_back_through_the_movielens_importer(tmp_path) -> None:  # type: ignore[no-untyped-def]
    requires_shared()
    report = synthesize(CATALOG, tmp_path / "syn", members=200, ratings=6_000, seed=1, progress=False)
    assert report.films > 80_000 and report.ratings >= 5_500
    data = read_movielens(tmp_path / "syn", with_ratings=True)
    assert len(data.ratings) == report.ratings
    assert [p.file for p in data.problems] == ["movies.csv"]  # the real catalog's one film without a title
    ratings = pd.read_csv(tmp_path / "syn" / "ratings.csv")
    assert ratings["userId"].nunique() == 200 and ratings["rating"].between(0.5, 5.0).all()
    assert "Synthetic" in (tmp_path / "syn" / "README.txt").read_text()
    with pytest.raises(FileExistsError, match="not empty"):
        synthesize(CATALOG, tmp_path / "syn", members=10, ratings=100, progress=False)
    with pytest.raises(FileNotFoundError, match="average_ratings.csv"):
        synthesize(tmp_path, tmp_path / "other", members=10, ratings=100, progress=False)
