"""The slider scorer on a small real slice: features, weights, context rules, decay, calibration."""
from __future__ import annotations

import numpy as np
import pytest

from engine.calibration import MatchCalibrator
from engine.sliders import Action, SliderConfig, SliderScorer, fit_slider_calibrators


@pytest.fixture(scope="module")
def scorer(small_app):  # type: ignore[no-untyped-def]
    runtime = small_app.runtime
    return SliderScorer(runtime.sliders, runtime.moods.probabilities, runtime.catalog.text_vectors, runtime.catalog.years)


def _darkest(scorer: SliderScorer, name: str, n: int = 15) -> np.ndarray:
    return np.argsort(-scorer.item_fit[:, scorer.sliders.index(name)])[:n]


def test_score_reports_every_slider_with_features_and_weights(scorer) -> None:  # type: ignore[no-untyped-def]
    result = scorer.score([Action(3, 1.0, "love")], 10)
    assert set(result) == set(scorer.sliders.names) and len(result) >= 12
    for entry in result.values():
        assert set(entry) == {"raw_score", "probability", "features", "weights"}
        assert set(entry["features"]) == {"user_slider", "item_slider", "user_item", "recency"}
        assert 0.0 <= entry["probability"] <= 1.0


def test_batch_equals_single_scores_and_taste_shows(scorer) -> None:  # type: ignore[no-untyped-def]
    dark_fan = [Action(int(i), 1.0, "love") for i in _darkest(scorer, "dark")]
    sunny_fan = [Action(int(i), 1.0, "love") for i in _darkest(scorer, "feel-good")]
    movies = np.arange(20)
    raw, probability = scorer.score_batch([dark_fan, sunny_fan], movies)
    single = scorer.score(dark_fan, 7)
    assert raw[0, 7, scorer.sliders.index("dark")] == pytest.approx(single["dark"]["raw_score"])
    dark, good = scorer.sliders.index("dark"), scorer.sliders.index("feel-good")
    assert raw[0, :, dark].mean() > raw[1, :, dark].mean()
    assert raw[1, :, good].mean() > raw[0, :, good].mean()
    assert probability.shape == raw.shape


def test_context_rules_and_decay(scorer) -> None:  # type: ignore[no-untyped-def]
    dark = scorer.sliders.index("dark")
    late, noon = scorer.weights({"hour": 23}), scorer.weights({"hour": 12})
    assert late[dark, 1] > noon[dark, 1] and late[scorer.sliders.index("funny"), 1] == noon[scorer.sliders.index("funny"), 1]
    config = SliderConfig()
    assert config.action_weight(Action(1, 1.0, "love")) > config.action_weight(Action(1, 1.0, "like")) \
        > config.action_weight(Action(1, 1.0, "rating")) > config.action_weight(Action(1, 1.0, "rating", "dm_reaction"))
    assert config.action_weight(Action(1, 1.0, "rating", age_days=90)) == pytest.approx(0.5)


def test_calibrated_slider_probabilities(scorer, small_app) -> None:  # type: ignore[no-untyped-def]
    from bot.services.training import histories_from_rows
    from engine.calibration_fit import held_out_ratings

    async_rows = small_app.train_rows  # collected by the fixture
    index = {int(m): i for i, m in enumerate(small_app.runtime.catalog.items.movie_ids)}
    histories = histories_from_rows(async_rows, index)
    train, held = held_out_ratings(histories)
    calibrators, ece = fit_slider_calibrators(scorer, train, held)
    assert set(calibrators) == set(scorer.sliders.names)
    assert all(isinstance(c, MatchCalibrator) for c in calibrators.values())
    assert max(ece.values()) < 0.05, ece
