"""The PreferenceLearner recovers planted tastes and does not invent them."""
from __future__ import annotations

import numpy as np
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
    assert found / planted >= 0.8  # and it does find them (planted with 20+ films, 1 star or more)
    assert least_hits / least_planted >= 0.8 and decade_hits / decade_planted >= 0.8


def test_profile_has_every_part(catalog: pd.DataFrame) -> None:
    personas, ratings = make_personas(catalog, n=4, seed=1)
    profile = analyse(ratings, catalog)[personas[0].user_id]
    assert {"activity", "behaviour", "genres", "favourite_genres", "directors", "actors", "decades", "diversity"} <= set(profile)
    assert profile["behaviour"]["label"] in {"generous", "balanced", "harsh"}
    assert 0.0 <= profile["diversity"]["score"] <= 1.0 and profile["diversity"]["meaning"]
    assert sum(profile["behaviour"]["histogram"].values()) == profile["activity"]["ratings"]


def _member_frame(catalog: pd.DataFrame, picks: list[tuple[int, float]]) -> pd.DataFrame:
    start = pd.Timestamp("2024-01-01", tz="UTC")
    return pd.DataFrame([(1, int(catalog.at[i, "movie_id"]), stars, start + pd.Timedelta(minutes=k))
                         for k, (i, stars) in enumerate(picks)], columns=["user_id", "movie_id", "rating", "rated_at"])


def _with(catalog: pd.DataFrame, genre: str, without: tuple[str, ...] = ()) -> list[int]:
    mask = catalog["genres"].map(lambda gs: genre in gs and not set(without) & set(gs))
    return catalog.index[mask].tolist()


def test_a_horror_fan_who_hates_romance_is_seen(catalog: pd.DataFrame) -> None:
    """The issue's case: 16 horror films at 4-5 stars and romances at 1-2 read 'no genre stands out'."""
    rng = np.random.default_rng(3)
    horror = _with(catalog, "Horror", ("Romance", "Comedy"))[:16]
    romance = _with(catalog, "Romance", ("Horror",))[:10]
    others = _with(catalog, "Drama", ("Horror", "Romance"))[:8]
    picks = [(i, float(rng.choice([4.0, 4.5, 5.0]))) for i in horror] + [(i, float(rng.choice([1.0, 1.5, 2.0]))) for i in romance] \
        + [(i, 3.0) for i in others]
    profile = analyse(_member_frame(catalog, picks), catalog)[1]
    assert "Horror" in profile["favourite_genres"], profile["genres"]
    assert "Romance" in profile["least_favourite_genres"], profile["genres"]


def test_a_pixar_fan_gets_animation_and_an_auteur_fan_gets_the_director(catalog: pd.DataFrame) -> None:
    """The issue's Bergman case, with David Lynch: the bundled data names a director only for the films
    IMDb 5000 holds, and it holds one Bergman film (the 2023 directors list arrives with the catalog issue)."""
    animation = _with(catalog, "Animation")[:14]
    drama = _with(catalog, "Drama", ("Animation",))
    comedy = _with(catalog, "Comedy", ("Animation",))[:10]
    pixar = analyse(_member_frame(catalog, [(i, 5.0) for i in animation] + [(i, 3.0) for i in comedy + drama[:8]]), catalog)[1]
    assert "Animation" in pixar["favourite_genres"], pixar["genres"]
    bergman = catalog.index[catalog["directors"].map(lambda ds: "David Lynch" in ds)].tolist()[:4]
    assert len(bergman) == 4
    rng = np.random.default_rng(5)
    rest = [i for i in drama[20:60] if i not in bergman][:26]
    fan = analyse(_member_frame(catalog, [(i, 5.0) for i in bergman] + [(i, float(rng.choice([2.5, 3.0, 3.5, 4.0]))) for i in rest]),
                  catalog)[1]
    assert "David Lynch" in fan["favourite_directors"], fan["directors"]


def test_five_action_films_are_not_eclectic(catalog: pd.DataFrame) -> None:
    action = _with(catalog, "Action")[:5]
    profile = analyse(_member_frame(catalog, [(i, 4.0) for i in action]), catalog)[1]
    assert profile["diversity"]["score"] < 0.5 and "stick to a few genres" in profile["diversity"]["meaning"], profile["diversity"]
    mixed = [_with(catalog, g)[3] for g in ("Action", "Romance", "Horror", "Documentary", "Animation", "Western", "Musical",
                                             "Film-Noir", "War", "Mystery")]
    eclectic = analyse(_member_frame(catalog, [(i, 4.0) for i in mixed]), catalog)[1]
    assert eclectic["diversity"]["score"] >= 0.7, eclectic["diversity"]


def test_vectorised_welch_equals_scipy_including_the_edge_cases() -> None:
    from scipy import stats as scipy_stats

    from engine.preferences import welch_many

    rng = np.random.default_rng(7)
    values = np.round(rng.normal(3.5, 1.0, 60).clip(0.5, 5.0) * 2) / 2
    masks = rng.random((12, 60)) < rng.uniform(0.05, 0.6, (12, 1))
    masks[0] = False
    masks[0, :1] = True  # one film inside: no test
    differences, p_values = welch_many(values, masks)
    for mask, difference, p in zip(masks, differences, p_values):
        if mask.sum() < 2:
            assert (difference, p) == (0.0, 1.0)
            continue
        expected = scipy_stats.ttest_ind(values[mask], values[~mask], equal_var=False)
        assert difference == pytest.approx(values[mask].mean() - values[~mask].mean(), abs=1e-12)
        assert p == pytest.approx(expected.pvalue, rel=1e-9)
    # constant groups that differ: scipy's p is undefined and the test counts as not significant
    same = np.array([4.0] * 5 + [2.0] * 5)
    split = np.arange(10) < 5
    assert welch_many(same, split[None, :])[1][0] == 1.0
    assert welch_many(np.full(10, 3.0), split[None, :]) == (np.array([0.0]), np.array([1.0]))


def test_the_tail_functions_equal_scipy_stats_including_edges() -> None:
    """The analysis calls scipy's special functions directly (its distribution objects' checks cost a
    tenth of the run); the values must be scipy.stats' own, NaN and infinities included."""
    from scipy import stats as scipy_stats

    from engine.preferences import normal_sf, t_ppf, t_sf

    t = np.array([-np.inf, -30.0, -2.5, -1e-9, 0.0, 0.3, 1.96, 4.0, 40.0, np.inf, np.nan])
    for dof in (1.0, 2.5, 7.0, 48.3, 1e6):
        np.testing.assert_array_equal(t_sf(t, dof), scipy_stats.t.sf(t, dof))
        assert t_ppf(0.975, dof) == scipy_stats.t.ppf(0.975, dof)
    dofs = np.array([1.0, 3.0, np.nan, 12.0, 100.0, 3.0, 9.0, 2.0, 5.0, 1.5, 4.0])
    np.testing.assert_array_equal(t_sf(t, dofs), scipy_stats.t.sf(t, dofs))
    np.testing.assert_array_equal(normal_sf(t), scipy_stats.norm.sf(t))
