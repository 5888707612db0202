"""Members who are not average, in a reduced seeded form of `cinesync eval --personas`: planted
tastes fed through the online feedback path, lists from the served `HybridRanker.rank` call
(match calibrator, list calibration, hated-movie rule) on the real MovieLens catalog."""
from __future__ import annotations

import numpy as np
import pytest

from bot.catalog.readers import read_movielens_files
from bot.settings import Settings
from engine.data import ItemIndex, histories_from_frame
from engine.evaluation.ours import OursScorer
from engine.evaluation.personas import PersonaWorld, evaluate_personas, make_personas
from engine.evaluation.run import build_catalog
from engine.training import TrainConfig
from tests.conftest import MOVIELENS, requires_shared

# the constants `choose_config` picks on latest-small's validation split (fixed here to save CI time)
CONFIG = TrainConfig(lam_seen=300.0, lam_val=200.0, val_weight=0.5)


@pytest.fixture(scope="module")
def persona_results() -> dict:
    requires_shared()
    data = read_movielens_files(MOVIELENS / "movies.csv", ratings=MOVIELENS / "ratings.csv")
    assert data.ratings is not None
    items = ItemIndex(np.sort(data.ratings["movie_id"].unique()))
    histories = histories_from_frame(data.ratings, items)
    served = Settings()
    catalog = build_catalog(data.movies, items, None)
    ours = OursScorer(catalog, CONFIG, diversity=served.diversity, user_weights=False,
                      list_calibration=served.list_calibration).fit([histories[u] for u in sorted(histories)], len(items))
    counts = np.zeros(len(items))
    for history in histories.values():
        np.add.at(counts, history.items, 1.0)
    world = PersonaWorld(catalog, counts)
    personas = make_personas(world, seed=0, per_kind=2)
    results = {}
    for calibration in (0.0, served.list_calibration):  # without list calibration, then as served
        ours.engine.ranker.calibration = calibration
        results[calibration] = evaluate_personas(personas, world, ours.rank)
    results["served"] = results[served.list_calibration]
    return results


PLANTED = ("horror fan", "animation lover", "arthouse/foreign", "1970s devotee", "contrarian", "five ratings (sci-fi)")
# the 0.7 precision target is met for these; the horror fan, the contrarian and the member with
# five ratings miss it (see the closing note of the fair-ranking issue for the measured figures)
MEETS_TARGET = ("animation lover", "arthouse/foreign", "1970s devotee")


def test_hating_the_return_of_the_king_hides_the_rest_of_the_saga(persona_results) -> None:  # type: ignore[no-untyped-def]
    hater = persona_results["served"]["hates The Return of the King"]
    assert hater["forbidden_in_top20"] == 0, hater


def test_list_calibration_serves_planted_tastes_better_than_the_plain_list(persona_results) -> None:  # type: ignore[no-untyped-def]
    served, plain = persona_results["served"], persona_results[0.0]
    for kind in PLANTED:
        assert served[kind]["precision@10"] >= plain[kind]["precision@10"], (kind, served[kind], plain[kind])
        assert served[kind]["top100_in_top10"] <= plain[kind]["top100_in_top10"], (kind, served[kind], plain[kind])
    assert sum(served[k]["precision@10"] for k in PLANTED) > sum(plain[k]["precision@10"] for k in PLANTED)


def test_planted_tastes_reach_the_target_precision(persona_results) -> None:  # type: ignore[no-untyped-def]
    for kind in MEETS_TARGET:
        assert persona_results["served"][kind]["precision@10"] >= 0.7, (kind, persona_results["served"][kind])
