"""Two-stage ranking (issue 14: recommendations stay fast over the 2026 catalog): the spread of a
matrix-product signal over any set of films comes out exactly from sums and a Gram matrix, and the
lists served through the pool are the lists a full pass over every film gives."""
from __future__ import annotations

import numpy as np

from engine.ranker import POOL, TIER_SHARE
from engine.retrieval import LinearSignal, largest
from engine.signals import CALIBRATION_MIX, CalibrationGap, zscore


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


def test_largest_is_exact_whatever_the_values() -> None:
    rng = np.random.default_rng(3)
    for n, size in ((85_000, 1000), (2500, 1000), (900, 1000), (50_000, 10)):
        for case in range(6):
            values = rng.normal(size=n)
            if case % 2:
                values[rng.random(n) < 0.4] = -np.inf  # films that are not candidates
            if case >= 4:
                values = np.round(values, 1)  # many ties
            got = largest(values, size)
            want = min(n, size)
            assert len(got) == want and len(np.unique(got)) == want
            assert np.array_equal(np.sort(values[got]), np.sort(values)[::-1][:want][::-1])


def test_projection_of_several_vectors_at_once_equals_one_at_a_time() -> None:
    rng = np.random.default_rng(4)
    matrix = rng.normal(size=(2000, 32)).astype(np.float32)
    signal = LinearSignal(matrix, None, rank=8)
    vectors = rng.normal(size=(32, 3)).astype(np.float32)
    many = signal.approximate_many(vectors)
    for column in range(3):
        assert np.allclose(many[:, column], signal.approximate(vectors[:, column]), atol=1e-4)


def test_the_calibration_gap_of_each_candidate_is_the_kl_divergence_per_group() -> None:
    rng = np.random.default_rng(5)
    groups = [slice(0, 6), slice(6, 10), slice(10, 12), slice(12, 16)]
    target = rng.random(16) * (rng.random(16) < 0.6)
    for group in groups:
        if target[group].sum():
            target[group] /= target[group].sum()
    candidates = rng.random((40, 16)) * (rng.random((40, 16)) < 0.4)
    list_mass = rng.random(16) * 3
    gap = CalibrationGap(target, groups, candidates)(list_mass)
    for row in range(40):
        expected = 0.0
        for group in groups:
            p = target[group]
            if p.sum() == 0:
                continue
            mass = candidates[row, group] + list_mass[group]
            q = (1 - CALIBRATION_MIX) * mass / max(mass.sum(), 1e-12) + CALIBRATION_MIX * p
            expected += sum(pi * np.log(pi / max(qi, 1e-12)) for pi, qi in zip(p, q) if pi > 0)
        assert np.isclose(gap[row], expected)


async def test_the_pool_holds_the_best_overall_and_the_best_of_every_tier(small_app) -> None:  # type: ignore[no-untyped-def]
    ranker = small_app.runtime.ranker
    rng = np.random.default_rng(6)
    n = len(ranker.catalog)
    for size in (300, 1000):
        total = rng.normal(size=n)
        candidates = rng.random(n) < 0.9
        total[rng.random(n) < 0.05] = -np.inf
        inside = np.flatnonzero(candidates & np.isfinite(total))
        expected = set(inside[np.argsort(-total[inside])[:size]].tolist())
        for tier in np.unique(ranker._tier):
            members = inside[ranker._tier[inside] == tier]
            expected |= set(members[np.argsort(-total[members])[: size // TIER_SHARE]].tolist())
        assert set(ranker.pool(total, candidates, size).tolist()) == expected
