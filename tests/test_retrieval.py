"""Two-stage ranking (issue 14: recommendations stay fast over the 2026 catalog): the spread of a
matrix-product signal over any set of films comes out exactly from sums and a Gram matrix, and the
lists served through the pool are the lists a full pass over every film gives."""
from __future__ import annotations

import numpy as np

from engine.ranker import POOL
from engine.retrieval import LinearSignal
from engine.signals import zscore


def test_a_linear_signal_spread_over_any_set_equals_a_full_pass() -> None:
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(3000, 32)).astype(np.float32)
    reference = rng.random(3000) < 0.3
    signal = LinearSignal(matrix, reference, rank=8)
    vector = rng.normal(size=32).astype(np.float32)
    full = matrix @ vector
    for where in (np.ones(3000, bool), rng.random(3000) < 0.97, rng.random(3000) < 0.1, reference):
        mean, sd = signal.stats(vector, where)
        assert np.isclose(mean, full[where].mean(), atol=1e-4) and np.isclose(sd, full[where].std(), rtol=1e-4)
        rows = np.flatnonzero(where)[:50]
        z = (signal.values(vector, rows) - mean) / sd
        assert np.allclose(z, zscore(full, where)[rows], atol=1e-4)
    assert np.allclose(signal.reference_stats(vector), (full[reference].mean(), full[reference].std()), rtol=1e-4)
    # the projection keeps the 8 strongest directions: close to the truth, exact when nothing is left out
    approx = signal.approximate(vector)
    assert approx.shape == (3000,) and np.corrcoef(approx, full)[0, 1] > 0.3
    assert np.allclose(LinearSignal(matrix, reference, rank=None).approximate(vector), full, atol=1e-4)


async def test_lists_through_the_pool_are_the_lists_of_a_full_pass(small_app) -> None:  # type: ignore[no-untyped-def]
    ranker = small_app.runtime.ranker
    members = sorted({r["user_id"] for r in small_app.train_rows})[:40]
    users = []
    async with small_app.db.acquire() as conn:
        for member in members:
            users.append((await small_app.recommendations._user(conn, member))[0])
    identical = 0
    try:
        for user in users:
            ranker.pool_size = 300  # as small a share of these 9,700 films as POOL is of the 33,000 served
            pooled = ranker.rank(user, None, 10)
            ranker.pool_size = None
            full = ranker.rank(user, None, 10)
            identical += [r.index for r in pooled.items] == [r.index for r in full.items]
            same = {r.index: r for r in full.items}
            for r in pooled.items:  # a film in both lists has the same score and match % either way
                if r.index in same:
                    assert np.isclose(r.score, same[r.index].score, atol=1e-3)
                    assert r.match is None or np.isclose(r.match, same[r.index].match, atol=1e-3)
    finally:
        ranker.pool_size = POOL
    assert identical >= 0.9 * len(users), identical
