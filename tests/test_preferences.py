"""The PreferenceLearner recovers planted tastes and does not invent them."""
from __future__ import annotations

import pandas as pd
import pytest

from bot.catalog.readers import read_movielens
from engine.preferences import analyse, holm
from tests.conftest import IMDB, MOVIELENS, requires_shared
from tests.personas import make_personas


@pytest.fixture(scope="module")
def catalog() -> pd.DataFrame:
    requires_shared()
    movies = read_movielens(MOVIELENS, IMDB).movies
    return movies.rename(columns={"cast_members": "cast"})


def test_holm_adjustment_by_hand() -> None:
    import numpy as np

    assert holm(np.array([0.01, 0.04, 0.03])).tolist() == pytest.approx([0.03, 0.06, 0.06])


def test_planted_tastes_are_found_with_high_precision(catalog: pd.DataFrame) -> None:
    personas, ratings = make_personas(catalog, n=200, seed=0)
    profiles = analyse(ratings, catalog)
    true_pos = reported = planted = found = 0
    uniform_with_favourite = uniform = 0
    least_hits = least_planted = decade_hits = decade_planted = 0
    for persona in personas:
        profile = profiles[persona.user_id]
        said = set(profile["favourite_genres"]) | set(profile["favourite_directors"])
        truth = persona.favourite_genres | persona.favourite_directors
        reported += len(said)
        true_pos += len(said & truth)
        planted += len(truth)
        found += len(said & truth)
        if persona.kind == "uniform":
            uniform += 1
            uniform_with_favourite += bool(said)
        if persona.least_genres:
            least_planted += 1
            least_hits += bool(persona.least_genres & set(profile["least_favourite_genres"]))
        if persona.favourite_decade:
            decade_planted += 1
            best = max(profile["decades"], key=lambda d: d["effect"] if d["ratings"] >= 10 else -9)
            decade_hits += best["decade"] == persona.favourite_decade
    precision = true_pos / reported
    print(f"precision {precision:.3f} ({true_pos}/{reported}), recall {found / planted:.3f}, "
          f"uniform with a favourite {uniform_with_favourite}/{uniform}, least-favourite found {least_hits}/{least_planted}, "
          f"decade found {decade_hits}/{decade_planted}")
    assert precision >= 0.9
    assert uniform_with_favourite / uniform <= 0.05
    assert found / planted >= 0.5  # and it does find them
    assert least_hits / least_planted >= 0.8 and decade_hits / decade_planted >= 0.8


def test_profile_has_every_part(catalog: pd.DataFrame) -> None:
    personas, ratings = make_personas(catalog, n=4, seed=1)
    profile = analyse(ratings, catalog)[personas[0].user_id]
    assert {"activity", "behaviour", "genres", "favourite_genres", "directors", "actors", "decades", "diversity"} <= set(profile)
    assert profile["behaviour"]["label"] in {"generous", "balanced", "harsh"}
    assert 0.0 <= profile["diversity"]["score"] <= 1.0 and profile["diversity"]["meaning"]
    assert sum(profile["behaviour"]["histogram"].values()) == profile["activity"]["ratings"]
