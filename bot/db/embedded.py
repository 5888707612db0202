"""An embedded PostgreSQL (with pgvector) from the `pgserver` package.

Used when no DATABASE_URL is configured, so that a fresh machine needs no server of its own.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DATABASE_NAME = "cinesync"


def start_embedded(pgdata: Path, *, cleanup_mode: str | None = "stop") -> tuple[Any, str]:
    """Start (or attach to) the server in ``pgdata``; return the handle and the DSN of our database.

    Blocking: call it from a worker thread inside an event loop.
    """
    import warnings

    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR", module="platformdirs")
    import pgserver

    pgdata.mkdir(parents=True, exist_ok=True)
    log.info("starting embedded PostgreSQL in %s", pgdata)
    server = pgserver.get_server(pgdata, cleanup_mode=cleanup_mode)
    if not _database_exists(server):
        try:
            server.psql(f"CREATE DATABASE {DATABASE_NAME};")
        except Exception:  # a twin process created it between our check and our CREATE: fine
            if not _database_exists(server):
                raise
    return server, server.get_uri(DATABASE_NAME)


def _database_exists(server: Any) -> bool:
    return "(1 row)" in server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
