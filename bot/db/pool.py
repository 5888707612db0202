"""The one asyncpg pool of a process, created at start-up with codecs for jsonb and pgvector."""
from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any, AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import numpy as np
from pgvector.asyncpg import register_vector

from bot.settings import Settings

log = logging.getLogger(__name__)


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or lacks what CineSync needs."""


HNSW_EF_SEARCH = 200  # candidates an HNSW index scan keeps (recall >= 0.95 measured in tests/test_member_index.py)


# An HNSW scan returns at most ef_search rows: enough for the similar-member query's 101. A startup
# setting (not a SET at connect): the pool's RESET ALL on every release returns to it, where a SET
# would be undone after the connection's first use (which left every query at pgvector's 40).
SESSION_SETTINGS = {"hnsw.ef_search": str(HNSW_EF_SEARCH)}


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    has_vector = await conn.fetchval("SELECT 1 FROM pg_type WHERE typname = 'vector'")
    if has_vector:
        await register_vector(conn)


EXTENSION_LOCK_KEY = 0x43494E45_5345_5854  # "CINE" "SEXT": serialises first starts creating the extension


async def ensure_vector_extension(dsn: str) -> None:
    """Create the pgvector extension if we may, or explain clearly why it is missing. Two first starts at
    once (two `cinesync migrate`) take turns under an advisory lock: CREATE EXTENSION IF NOT EXISTS is
    not safe against a concurrent twin."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", EXTENSION_LOCK_KEY)
        installed = await conn.fetchval("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        if installed:
            return
        available = await conn.fetchval("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
        if not available:
            raise DatabaseUnavailable(
                "the PostgreSQL server at DATABASE_URL has no `vector` extension: install pgvector "
                "on that server (https://github.com/pgvector/pgvector), or unset DATABASE_URL to use "
                "the embedded server"
            )
        try:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except asyncpg.InsufficientPrivilegeError:
            raise DatabaseUnavailable(
                "the `vector` extension is not enabled in this database and our user may not create it: "
                "ask a superuser to run `CREATE EXTENSION vector;` in it"
            ) from None
    finally:
        await conn.close()


@dataclass
class Database:
    """The pool plus what is needed to reopen or stop it."""

    pool: asyncpg.Pool
    dsn: str = field(repr=False)  # holds the password
    acquire_timeout: float
    server: Any = None  # the embedded server handle, if we started one
    command_timeout: float | None = None  # the pool's: how long a request waits for one statement

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection, failing with DatabaseUnavailable rather than waiting forever."""
        try:
            async with self.pool.acquire(timeout=self.acquire_timeout) as conn:
                yield conn
        except (asyncio.TimeoutError, OSError, asyncpg.CannotConnectNowError) as exc:
            raise DatabaseUnavailable(f"the database is not answering ({exc.__class__.__name__})") from exc

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        async with self.acquire() as conn:
            async with conn.transaction():
                yield conn

    @asynccontextmanager
    async def dedicated(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection of its own for bulk or maintenance work (imports of millions of rows, a VACUUM):
        no client-side command timeout and no server statement timeout, which fit a request but would
        stop a 10-minute COPY; the pool's connections keep theirs."""
        try:
            conn = await asyncpg.connect(self.dsn, command_timeout=None,
                                         server_settings={**SESSION_SETTINGS, "statement_timeout": "0"})
        except (OSError, asyncpg.CannotConnectNowError) as exc:
            raise DatabaseUnavailable(f"the database is not answering ({exc.__class__.__name__})") from exc
        try:
            await _init_connection(conn)
            yield conn
        finally:
            await conn.close()

    @asynccontextmanager
    async def bulk_transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """A transaction on a dedicated connection (no timeouts)."""
        async with self.dedicated() as conn:
            async with conn.transaction():  # the connection was opened with statement_timeout 0
                yield conn

    async def close(self) -> None:
        await self.pool.close()


async def resolve_dsn(settings: Settings) -> tuple[str, Any]:
    """DATABASE_URL if set; otherwise start the embedded server in CINESYNC_HOME."""
    if settings.database_url:
        return settings.database_url, None
    from bot.db.embedded import start_embedded

    server, dsn = await asyncio.to_thread(start_embedded, settings.pgdata, shared_buffers=settings.pg_shared_buffers)
    return dsn, server


async def create_pool(dsn: str, settings: Settings, **overrides: Any) -> asyncpg.Pool:
    options: dict[str, Any] = dict(
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        command_timeout=settings.db_command_timeout,
        init=_init_connection,
        max_inactive_connection_lifetime=300,
        server_settings=SESSION_SETTINGS,
    )
    options.update(overrides)
    return await asyncpg.create_pool(dsn, **options)


async def open_database(settings: Settings, *, dsn: str | None = None) -> Database:
    """Open the database of ``settings`` (or ``dsn``): extension checked, pool created."""
    server = None
    if dsn is None:
        dsn, server = await resolve_dsn(settings)
    try:
        await ensure_vector_extension(dsn)
        pool = await create_pool(dsn, settings)
    except (OSError, asyncpg.PostgresError) as exc:
        raise DatabaseUnavailable(f"cannot open the database: {exc}") from exc
    return Database(pool=pool, dsn=dsn, acquire_timeout=settings.db_acquire_timeout, server=server,
                    command_timeout=settings.db_command_timeout)


def as_array(value: Any) -> np.ndarray:
    """A pgvector value as a float32 numpy array (the codec returns pgvector's Vector objects)."""
    if hasattr(value, "to_numpy"):
        value = value.to_numpy()
    return np.asarray(value, dtype=np.float32)
