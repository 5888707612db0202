"""The admin migration script against a real PostgreSQL."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from bot.db.migrate import MigrationError, discover, migrate, status

SCHEMA_SNAPSHOT = """
SELECT 'column' AS kind, table_name || '.' || column_name || ':' || data_type || ':' || is_nullable AS item
  FROM information_schema.columns WHERE table_schema = 'public'
UNION ALL
SELECT 'constraint', conrelid::regclass || ':' || conname || ':' || pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL
SELECT 'index', indexname || ':' || indexdef FROM pg_indexes WHERE schemaname = 'public'
ORDER BY 1, 2
"""

EXPECTED_TABLES = {
    "movies", "user_ratings", "feedback_events", "user_embeddings", "user_preferences", "user_model_weights",
    "model_registry", "item_vectors", "movie_text_embeddings", "sliders", "recommendation_log", "dm_messages",
    "job_runs", "user_settings", "schema_migrations",
}


async def _snapshot(conn: asyncpg.Connection) -> list[tuple[str, str]]:
    return [tuple(r) for r in await conn.fetch(SCHEMA_SNAPSHOT)]


async def test_migrates_empty_database_and_is_idempotent(empty_dsn: str) -> None:
    conn = await asyncpg.connect(empty_dsn)
    try:
        applied = await migrate(conn)
        assert [m.version for m in applied] == [m.version for m in discover()]
        tables = {r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert EXPECTED_TABLES <= tables
        rows = await conn.fetch("SELECT version, checksum FROM schema_migrations ORDER BY version")
        assert [(r["version"], r["checksum"]) for r in rows] == [(m.version, m.checksum) for m in discover()]
        before = await _snapshot(conn)
        assert await migrate(conn) == []
        assert await _snapshot(conn) == before
        assert (await status(conn)).pending == []
    finally:
        await conn.close()


async def test_schema_rejects_bad_ratings_and_non_finite_vectors(empty_dsn: str) -> None:
    conn = await asyncpg.connect(empty_dsn)
    try:
        await migrate(conn)
        await conn.execute("INSERT INTO movies (movie_id, title) VALUES (1, 'Heat')")
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute("INSERT INTO user_ratings (user_id, movie_id, rating, kind, source) VALUES (1, 1, 4.3, 'rating', 'slash')")
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute("INSERT INTO user_ratings (user_id, movie_id, rating, kind, source) VALUES (1, 1, 4.0, 'bogus', 'slash')")
        for entry in ("3e38", "1"):  # finite but not unit length
            vector = "[" + ",".join([entry] * 256) + "]"
            with pytest.raises(asyncpg.CheckViolationError):
                await conn.execute("INSERT INTO user_embeddings (user_id, embedding) VALUES (1, $1::vector)", vector)
        unit = "[" + ",".join(["0.0625"] * 256) + "]"
        await conn.execute("INSERT INTO user_embeddings (user_id, embedding) VALUES (1, $1::vector)", unit)
        with pytest.raises(asyncpg.PostgresError):
            await conn.execute("INSERT INTO user_embeddings (user_id, embedding) VALUES (2, $1::vector)",
                               "[" + ",".join(["NaN"] * 256) + "]")
    finally:
        await conn.close()


def _write(folder: Path, name: str, sql: str) -> None:
    (folder / name).write_text(sql, encoding="utf-8")


async def test_two_concurrent_migrators_one_waits_then_finds_nothing(empty_dsn: str, tmp_path: Path) -> None:
    _write(tmp_path, "0001_slow.sql", "CREATE TABLE slow (x int); SELECT pg_sleep(0.5);")
    _write(tmp_path, "0002_more.sql", "ALTER TABLE slow ADD COLUMN y int;")
    migrations = discover(tmp_path)
    first, second = await asyncpg.connect(empty_dsn), await asyncpg.connect(empty_dsn)
    try:
        task_a = asyncio.create_task(migrate(first, migrations))
        await asyncio.sleep(0.15)  # the first holds the advisory lock and is inside pg_sleep
        waiting = await second.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")
        assert waiting == 1
        task_b = asyncio.create_task(migrate(second, migrations))
        results = await asyncio.gather(task_a, task_b)
        assert [len(r) for r in results] == [2, 0]
        assert await first.fetchval("SELECT count(*) FROM schema_migrations") == 2
    finally:
        await first.close()
        await second.close()


async def test_edited_migration_is_refused_by_name(empty_dsn: str, tmp_path: Path) -> None:
    _write(tmp_path, "0001_first.sql", "CREATE TABLE first_table (x int);")
    conn = await asyncpg.connect(empty_dsn)
    try:
        await migrate(conn, discover(tmp_path))
        _write(tmp_path, "0001_first.sql", "CREATE TABLE first_table (x int, y int);")
        _write(tmp_path, "0002_second.sql", "CREATE TABLE second_table (x int);")
        with pytest.raises(MigrationError, match="0001_first.sql was edited"):
            await migrate(conn, discover(tmp_path))
        with pytest.raises(MigrationError, match="0001_first.sql"):
            await status(conn, discover(tmp_path))
        # nothing after the edited file was applied
        assert await conn.fetchval("SELECT to_regclass('second_table')") is None
    finally:
        await conn.close()


def test_badly_named_migration_file_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path, "1_oops.sql", "SELECT 1;")
    with pytest.raises(MigrationError, match="NNNN_lowercase_name.sql"):
        discover(tmp_path)


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cinesync = Path(sys.executable).parent / "cinesync"
    return subprocess.run([str(cinesync), *args], capture_output=True, text=True, env=env, timeout=120)


def test_cli_migrate_status_and_dry_run(empty_dsn: str, tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": empty_dsn, "CINESYNC_HOME": str(tmp_path)}
    dry = _cli("migrate", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert "pending  0001_initial.sql  (would apply)" in dry.stdout
    applied = _cli("migrate", env=env)
    assert applied.returncode == 0, applied.stderr
    assert "applied  0001_initial.sql" in applied.stdout
    again = _cli("migrate", env=env)
    assert "nothing to do" in again.stdout
    listed = _cli("migrate", "--status", env=env)
    assert listed.returncode == 0
    assert "applied  0001_initial.sql" in listed.stdout and "database is up to date" in listed.stdout


def test_cli_bad_setting_exits_2_with_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "CINESYNC_DB_POOL_MAX": "lots", "CINESYNC_HOME": str(tmp_path)}
    result = _cli("migrate", "--status", env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "CINESYNC_DB_POOL_MAX" in lines[0] and "positive integer" in lines[0]


def test_two_first_migrators_at_once_both_succeed(pg_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 11 #6: CREATE EXTENSION ran before the advisory lock, so one of two first `cinesync migrate`
    failed in 4 of 5 tries. Four tries, each on a fresh database, two processes at once."""
    import subprocess
    import sys

    from tests.conftest import create_database

    base = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    for attempt in range(4):  # two with a DATABASE_URL, two on a fresh embedded server (CREATE DATABASE too)
        home = {"CINESYNC_HOME": str(tmp_path / str(attempt))}
        env = {**base, **home, **({"DATABASE_URL": create_database(pg_server)} if attempt < 2 else {})}
        runs = [subprocess.Popen([sys.executable, "-m", "bot.cli", "migrate"], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outcomes = [(run.wait(timeout=300), run.stdout.read(), run.stderr.read()) for run in runs]  # type: ignore[union-attr]
        assert all(code == 0 for code, _, _ in outcomes), outcomes
        said = " ".join(out for _, out, _ in outcomes)
        assert said.count("applied  0001_initial.sql") == 1 and "nothing to do" in said, said
