"""`cinesync simulate`: a short run through the services and the gateway stand-in, and its audit."""
from __future__ import annotations

import time

import numpy as np

from bot.services import member_search as member_search_module
from bot.services.arrivals import STARTUP, deliver_arrivals, poisson_offsets
from bot.services.simulate import SIM_MEMBER_BASE, _audit, run_simulation


async def test_a_short_simulation_loses_nothing_and_every_taste_vector_equals_a_refit(small_app) -> None:  # type: ignore[no-untyped-def]
    report = await run_simulation(small_app, members=40, seconds=8.0, concurrency=4, gateway_share=0.25, slices=2,
                                  progress=False)
    ops = report.operations
    assert ops["rate"]["n"] > 0 and ops["rate (gateway)"]["n"] > 0 and ops["recommend"]["n"] > 0, ops
    assert all(figure["errors"] == 0 for figure in ops.values()), ops
    audit = report.audit
    assert audit.acknowledged > 0 and audit.states_checked > 0, audit
    assert audit.passed and audit.index_disagreements == 0 and audit.copy_disagreements == 0, audit
    assert "PASSED" in report.render() and len(report.slices) == 2
    lag = report.loop_lag  # how late the loop was: tells a blocked loop from a slow database
    assert 0 <= lag["p50_ms"] <= lag["p99_ms"] <= lag["worst_ms"] and "event loop late for a 10 ms sleep" in report.render()
    assert all(s["loop_worst_ms"] <= lag["worst_ms"] + 1e-9 for s in report.slices)
    collected = report.gc_pauses  # the collector ran (the run allocates) and its pauses are timed
    assert collected["collections"] > 0 and 0 < collected["longest_ms"] and "garbage collector:" in report.render()
    # the members were forgotten afterwards
    async with small_app.db.acquire() as conn:
        left = await conn.fetchval("SELECT count(*) FROM user_ratings WHERE user_id >= $1", SIM_MEMBER_BASE)
    assert left == 0


async def test_the_audit_reports_an_acknowledged_rating_that_is_not_stored(small_app) -> None:  # type: ignore[no-untyped-def]
    member = SIM_MEMBER_BASE + 999_999
    movie = next(iter(small_app.runtime.movies))
    audit = await _audit(small_app, [member], {(member, movie): 4.5}, progress=False)
    assert not audit.passed and audit.lost == [(member, movie, 4.5)]


async def test_an_open_loop_run_offers_operations_at_the_given_rate(small_app) -> None:  # type: ignore[no-untyped-def]
    """At 12 operations a second for 6 s about 72 arrive (Poisson: 72 +- 8.5), nothing is lost, and the
    report says what was offered."""
    report = await run_simulation(small_app, members=30, seconds=6.0, concurrency=4, gateway_share=0.2, slices=2,
                                  progress=False, rate=12.0)
    done = sum(figure["n"] for figure in report.operations.values())
    assert 40 <= done <= 110, report.operations
    assert all(figure["errors"] == 0 for figure in report.operations.values()), report.operations
    assert report.audit.passed, report.audit
    assert "12 operations/s offered" in report.render()


async def test_open_loop_arrivals_do_not_wait_for_another_members_operation(small_app) -> None:  # type: ignore[no-untyped-def]
    """Every arrival dealt to the one worker runs as a task of its own (as discord.py dispatches
    interactions), so at 40 a second some overlap; run one after another, at most one would be under way."""
    report = await run_simulation(small_app, members=30, seconds=5.0, concurrency=1, gateway_share=0.2, slices=1,
                                  progress=False, rate=40.0)
    assert report.most_in_flight >= 2, report.render()
    assert all(figure["errors"] == 0 for figure in report.operations.values()), report.operations
    assert report.audit.passed, report.audit  # a member's own operations still ran in arrival order
    assert f"at most {report.most_in_flight} under way at once" in report.render()
    assert 0 <= report.start_lag["p50_ms"] <= report.start_lag["p99_ms"] and "from arrival to" in report.render()


async def test_arrivals_come_from_the_writer_process_once_each_in_order_and_never_early() -> None:
    offsets = poisson_offsets(200.0, 1.0, seed=3)
    assert 150 <= len(offsets) <= 250 and np.all(np.diff(offsets) >= 0) and offsets[-1] < 1.0
    begun = time.perf_counter()
    came: list[tuple[int, float, float]] = []
    await deliver_arrivals(offsets, lambda k, due: came.append((k, due, time.perf_counter())))
    assert [k for k, _due, _at in came] == list(range(len(offsets)))
    assert all(at >= due for _k, due, at in came)  # woken at the arrival's time, not before
    assert abs(came[0][1] - (begun + STARTUP + offsets[0])) < 0.05  # due times are offsets from one start
    assert np.allclose(np.diff([due for _k, due, _at in came]), np.diff(offsets))


async def test_the_audit_reports_a_member_the_in_process_copy_shows_otherwise(small_app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A member in this process's copy of the similar-member index but not in member_index fails the audit."""
    search = small_app.services.member_search
    assert await search.wait_ready(timeout=60)
    monkeypatch.setattr(member_search_module, "RECONCILE_POLLS", 10**9)  # the poll before the check must not repair it
    member = SIM_MEMBER_BASE + 999_998
    search.index.upsert([member], np.ones((1, search.index.dim), dtype=np.float32))
    try:
        audit = await _audit(small_app, [member], {}, progress=False)
        assert audit.copy_disagreements == 1 and not audit.passed, audit
    finally:
        search.index.remove([member])
