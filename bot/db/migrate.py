"""The admin migration script: forward-only, numbered SQL files, one transaction each.

Applied files are recorded with a SHA-256 checksum in ``schema_migrations``. A PostgreSQL
advisory lock serialises concurrent migrators: the second waits, then finds nothing to do.
An applied file that changed on disk is refused by name, since the schema it describes
would no longer match the database.
"""
from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import asyncpg

from bot.paths import migrations_dir

LOCK_KEY = 0x43494E45_53594E43 & 0x7FFFFFFFFFFFFFFF  # "CINESYNC"
FILENAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer     PRIMARY KEY,
    name        text        NOT NULL,
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    duration_ms integer     NOT NULL
)"""


class MigrationError(RuntimeError):
    """The migrations on disk and in the database disagree."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path
    sql: str
    checksum: str

    @property
    def filename(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class AppliedRow:
    version: int
    name: str
    checksum: str
    applied_at: object
    duration_ms: int


@dataclass(frozen=True)
class MigrationStatus:
    applied: list[AppliedRow]
    pending: list[Migration]


def discover(folder: Path | None = None) -> list[Migration]:
    """All migration files in version order; a malformed or duplicate name is an error."""
    folder = folder or migrations_dir()
    found: dict[int, Migration] = {}
    for path in sorted(folder.glob("*.sql")):
        match = FILENAME.match(path.name)
        if not match:
            raise MigrationError(f"{path}: migration files must be named NNNN_lowercase_name.sql")
        version = int(match["version"])
        if version in found:
            raise MigrationError(f"{path}: version {version:04d} is also used by {found[version].filename}")
        data = path.read_bytes()
        found[version] = Migration(version, match["name"], path, data.decode("utf-8"), hashlib.sha256(data).hexdigest())
    return [found[v] for v in sorted(found)]


async def _applied(conn: asyncpg.Connection) -> list[AppliedRow]:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return []
    rows = await conn.fetch("SELECT version, name, checksum, applied_at, duration_ms FROM schema_migrations ORDER BY version")
    return [AppliedRow(**dict(r)) for r in rows]


def _check(applied: list[AppliedRow], migrations: list[Migration]) -> list[Migration]:
    """Refuse edited files; return what is pending."""
    on_disk = {m.version: m for m in migrations}
    done = set()
    for row in applied:
        migration = on_disk.get(row.version)
        done.add(row.version)
        if migration is None:
            continue  # applied by a newer release; nothing to compare against
        if migration.checksum != row.checksum:
            raise MigrationError(
                f"{migration.filename} was edited after it was applied "
                f"(checksum {row.checksum[:12]} in the database, {migration.checksum[:12]} on disk). "
                "Migrations are forward-only: restore the file and put the change in a new migration."
            )
    return [m for m in migrations if m.version not in done]


async def status(conn: asyncpg.Connection, migrations: list[Migration] | None = None) -> MigrationStatus:
    """Read-only: what is applied and what is pending (edited files raise MigrationError)."""
    migrations = discover() if migrations is None else migrations
    applied = await _applied(conn)
    return MigrationStatus(applied=applied, pending=_check(applied, migrations))


async def migrate(
    conn: asyncpg.Connection,
    migrations: list[Migration] | None = None,
    *,
    on_apply: Callable[[Migration, int], None] | None = None,
) -> list[Migration]:
    """Apply pending migrations under the advisory lock; return those applied by this call."""
    migrations = discover() if migrations is None else migrations
    await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
    try:
        await conn.execute(CREATE_TABLE)
        pending = _check(await _applied(conn), migrations)
        for migration in pending:
            started = time.perf_counter()
            async with conn.transaction():
                await conn.execute(migration.sql)
                elapsed = int((time.perf_counter() - started) * 1000)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum, duration_ms) VALUES ($1, $2, $3, $4)",
                    migration.version, migration.name, migration.checksum, elapsed,
                )
            if on_apply:
                on_apply(migration, elapsed)
        return pending
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
