"""`cinesync bench`'s storage floor: an empty transaction whose commit waits for the WAL, as a rating's does."""
from __future__ import annotations

from types import SimpleNamespace

from bot.repositories.storage import durable_empty_commit
from bot.services.benchmark import _durable_commit


async def test_the_empty_commit_writes_a_commit_record_and_is_timed(db) -> None:  # type: ignore[no-untyped-def]
    async with db.acquire() as conn:
        before = await conn.fetchval("SELECT pg_current_wal_insert_lsn()")
        await durable_empty_commit(conn)
        flushed = await conn.fetchval("SELECT pg_current_wal_flush_lsn()")
        # its commit record, written after `before`, was on disk when the commit returned
        assert await conn.fetchval("SELECT $1::pg_lsn - $2::pg_lsn", flushed, before) > 0
        assert not conn.is_in_transaction()
    figures = await _durable_commit(SimpleNamespace(db=db), progress=False, repeat=30, pause=0.0)
    assert figures["n"] == 20 and 0 < figures["p50_ms"] <= figures["p99_ms"], figures
    assert figures["synchronous_commit"] == "on"
    from bot.render.benchmark import benchmark_table

    table = benchmark_table({"model_version": "v", "catalog": 1, "durable_commit": figures})
    assert "empty durable commit" in table and "synchronous_commit is" not in table
    relaxed = benchmark_table({"model_version": "v", "catalog": 1, "durable_commit": dict(figures, synchronous_commit="off")})
    assert "synchronous_commit is off" in relaxed  # an operator's trade is shown, never hidden
