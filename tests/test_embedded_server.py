"""The embedded server takes its configured memory (shared_buffers), restarting once when needed."""
from __future__ import annotations

import asyncpg
import pytest

from bot.db.embedded import auto_shared_buffers, start_embedded


def test_auto_size_is_an_eighth_of_memory_or_of_a_containers_limit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os

    machine = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    unlimited = tmp_path / "memory.max"
    unlimited.write_text("max\n")
    assert auto_shared_buffers((unlimited,)) == f"{max(128, machine // 8 // 2**20)}MB"
    limited = tmp_path / "memory.limit_in_bytes"
    limited.write_text(str(4 * 2**30))  # a container of 4 GB on a larger host
    assert auto_shared_buffers((unlimited, limited)) == ("512MB" if machine > 4 * 2**30 else f"{max(128, machine // 8 // 2**20)}MB")
    limited.write_text(str(512 * 2**20))
    assert auto_shared_buffers((limited,)) == "128MB"  # never below PostgreSQL's default
    assert auto_shared_buffers((tmp_path / "absent",)) == f"{max(128, machine // 8 // 2**20)}MB"


async def _shown(dsn: str) -> tuple[str, str | None]:
    """(shared_buffers in effect, shared_buffers in postgresql.auto.conf)."""
    conn = await asyncpg.connect(dsn)
    try:
        return (await conn.fetchval("SHOW shared_buffers"),
                await conn.fetchval("SELECT setting FROM pg_file_settings WHERE name = 'shared_buffers' "
                                    "AND sourcefile LIKE '%postgresql.auto.conf'"))
    finally:
        await conn.close()


async def test_shared_buffers_written_for_the_next_start_never_restarting(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A new home's server runs at initdb's 128MB (restarting it under a second process that is connecting
    failed a first migration); the size is written and in effect from the next start."""
    pgdata = tmp_path / "pgdata"
    server, dsn = start_embedded(pgdata, cleanup_mode="stop", shared_buffers="160MB")
    try:
        assert await _shown(dsn) == ("128MB", "160MB")
    finally:
        server.cleanup()
    assert not (pgdata / "postmaster.pid").exists()
    server, dsn = start_embedded(pgdata, cleanup_mode="stop", shared_buffers="160MB")
    try:
        assert await _shown(dsn) == ("160MB", "160MB")
        start_embedded(pgdata, cleanup_mode="stop", shared_buffers="144MB")  # changed while running: next start
        assert await _shown(dsn) == ("160MB", "144MB")
    finally:
        server.cleanup()
    server, dsn = start_embedded(pgdata, cleanup_mode="delete", shared_buffers="144MB")
    try:
        assert await _shown(dsn) == ("144MB", "144MB")
    finally:
        server.cleanup()


def test_a_malformed_size_is_refused_before_reaching_the_server(tmp_path) -> None:  # type: ignore[no-untyped-def]
    server, _ = start_embedded(tmp_path / "pgdata", cleanup_mode="delete", shared_buffers="160MB")
    try:
        with pytest.raises(ValueError, match="shared_buffers must be a size"):
            start_embedded(tmp_path / "pgdata", cleanup_mode="delete", shared_buffers="1GB'; DROP DATABASE x; --")
    finally:
        server.cleanup()
