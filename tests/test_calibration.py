"""Calibration metrics by hand, and a calibrator that corrects a miscalibrated score."""
from __future__ import annotations

import numpy as np
import pytest

from engine.calibration import FEATURES, MatchCalibrator, brier, expected_calibration_error


def test_metrics_by_hand() -> None:
    p = np.array([0.1, 0.1, 0.9, 0.9])
    y = np.array([0.0, 1.0, 1.0, 1.0])
    assert brier(p, y) == pytest.approx((0.01 + 0.81 + 0.01 + 0.01) / 4)
    # two populated bins: |0.5 - 0.1| and |1.0 - 0.9|, each with half the weight
    assert expected_calibration_error(p, y) == pytest.approx(0.5 * 0.4 + 0.5 * 0.1)


def test_calibrator_fixes_an_overconfident_score() -> None:
    rng = np.random.default_rng(0)
    signal = rng.normal(size=20_000)
    truth = 1 / (1 + np.exp(-0.7 * signal))  # the real probability is flatter than the raw score says
    labels = (rng.random(20_000) < truth).astype(float)
    features = np.zeros((20_000, len(FEATURES)))
    features[:, 2] = 3.0 * signal
    calibrator = MatchCalibrator().fit(features[:10_000], labels[:10_000])
    overconfident = 1 / (1 + np.exp(-3.0 * signal[10_000:]))
    calibrated = calibrator.predict(features[10_000:])
    assert expected_calibration_error(calibrated, labels[10_000:]) < 0.02
    assert expected_calibration_error(overconfident, labels[10_000:]) > 0.1
    again = MatchCalibrator.from_dict(calibrator.to_dict()).predict(features[10_000:])
    np.testing.assert_allclose(again, calibrated)
