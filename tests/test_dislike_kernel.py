"""The batch dislike signal (sparse kernel of close movies) gives what the per-member product gives."""
from __future__ import annotations

import numpy as np

from engine import signals as sig


def _unit_movies(rng: np.random.Generator, n: int, dim: int = 16) -> np.ndarray:
    """Movies in a few tight clusters, so many pairs are above the floor and many below."""
    centres = rng.normal(size=(6, dim))
    q = centres[rng.integers(0, 6, n)] + 0.6 * rng.normal(size=(n, dim))
    return (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)


def test_the_kernel_batch_equals_each_members_own_dislike_signal() -> None:
    rng = np.random.default_rng(5)
    q = _unit_movies(rng, 300)
    kernel = sig.dislike_kernel(q)
    assert kernel is not None and 0 < kernel.nnz < 300 * 300
    items, valences = [], []
    for _member in range(50):
        rated = rng.choice(300, int(rng.integers(0, 40)), replace=False)
        items.append(rated)
        valences.append(rng.choice([-1.5, -1.0, -0.5, 0.0, 0.5, 1.0], len(rated)))
    batch = sig.dislike_many(kernel, items, valences)
    assert batch.shape == (50, 300)
    assert (batch < 0).any()
    for row, (rated, valence) in enumerate(zip(items, valences)):
        np.testing.assert_allclose(batch[row], sig.dislike(q, rated, valence), atol=1e-5, err_msg=f"member {row}")


def test_a_catalog_too_close_everywhere_gets_no_kernel(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sig, "KERNEL_MAX_ENTRIES", 100)
    q = np.tile(np.eye(4, dtype=np.float32)[:1], (50, 1))  # every pair identical
    assert sig.dislike_kernel(q) is None
