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


async def test_shared_buffers_applied_on_a_new_home_and_kept_across_restarts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A new home starts at initdb's 128MB; start_embedded restarts it at the configured size (nobody else is
    on it), the handle still stops it, and the next start finds the size already there."""
    pgdata = tmp_path / "pgdata"
    server, dsn = start_embedded(pgdata, cleanup_mode="stop", shared_buffers="160MB")
    try:
        conn = await asyncpg.connect(dsn)
        try:
            assert await conn.fetchval("SHOW shared_buffers") == "160MB"
            # a second handle while a client is connected: no restart under it; the size waits for the next start
            _, again = start_embedded(pgdata, cleanup_mode="stop", shared_buffers="144MB")
            assert again == dsn and await conn.fetchval("SHOW shared_buffers") == "160MB"
            assert await conn.fetchval("SELECT setting FROM pg_file_settings WHERE name = 'shared_buffers' "
                                       "AND sourcefile LIKE '%postgresql.auto.conf'") == "144MB"
        finally:
            await conn.close()
    finally:
        server.cleanup()
    assert not (pgdata / "postmaster.pid").exists()  # the restarted server was stopped by the handle
    server, dsn = start_embedded(pgdata, cleanup_mode="delete", shared_buffers="144MB")
    try:
        conn = await asyncpg.connect(dsn)
        try:
            assert await conn.fetchval("SHOW shared_buffers") == "144MB"
        finally:
            await conn.close()
    finally:
        server.cleanup()


def test_a_malformed_size_is_refused_before_reaching_the_server(tmp_path) -> None:  # type: ignore[no-untyped-def]
    server, _ = start_embedded(tmp_path / "pgdata", cleanup_mode="delete", shared_buffers="160MB")
    try:
        with pytest.raises(ValueError, match="shared_buffers must be a size"):
            start_embedded(tmp_path / "pgdata", cleanup_mode="delete", shared_buffers="1GB'; DROP DATABASE x; --")
    finally:
        server.cleanup()
