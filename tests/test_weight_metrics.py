"""The per-user weight refit's vectorised NDCG equals the plain metric, row by row, ties included."""
from __future__ import annotations

import numpy as np

from engine.metrics import ndcg_at
from engine.weights import _ndcg_per_row


def test_ndcg_per_row_equals_ndcg_at_on_each_rows_ranking() -> None:
    rng = np.random.default_rng(0)
    for case in range(200):
        columns = int(rng.integers(1, 60))
        signals = rng.normal(size=(8, columns)).astype(np.float32)
        if case % 3 == 0:
            signals = np.round(signals)  # ties, broken as the ranker breaks them (stable order)
        targets = np.unique(rng.integers(0, columns, int(rng.integers(1, 6))))
        k = min(10, columns)
        expected = []
        for row in signals:
            part = np.argpartition(-row, k - 1)[:k]
            ranked = part[np.argsort(-row[part], kind="stable")]
            expected.append(ndcg_at(ranked, targets, k))
        assert np.allclose(_ndcg_per_row(signals, targets), expected), case
    assert _ndcg_per_row(np.zeros((3, 5)), np.array([], dtype=np.int64)).tolist() == [0.0, 0.0, 0.0]
