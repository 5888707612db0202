"""An embedded PostgreSQL (with pgvector) from the `pgserver` package.

Used when no DATABASE_URL is configured, so that a fresh machine needs no server of its own.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from bot.settings import PG_SIZE

log = logging.getLogger(__name__)

DATABASE_NAME = "cinesync"


CGROUP_LIMITS = (Path("/sys/fs/cgroup/memory.max"), Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"))


def memory_available(limits: tuple[Path, ...] = CGROUP_LIMITS) -> int | None:
    """Bytes this process may use: the machine's memory, or a container's limit (cgroup v2 or v1) when
    lower, since sysconf reports the host's memory inside a container. None when unknown."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = None
    for limit in limits:
        try:
            raw = limit.read_text().strip()
        except OSError:
            continue
        if raw.isdigit() and (total is None or int(raw) < total):
            total = int(raw)  # "max" (no limit) is not digits
    return total


def auto_shared_buffers(limits: tuple[Path, ...] = CGROUP_LIMITS) -> str:
    """An eighth of the memory this process may use, at least PostgreSQL's 128 MB: the embedded server
    shares the machine with the bot, so less than the quarter advised for a dedicated server. Why it
    matters: at initdb's 128 MB, a 330,000-member similar-member index (vectors and HNSW graph, ~1 GB)
    did not fit, and every search copied pages in from the operating system's cache."""
    total = memory_available(limits)
    return "128MB" if total is None else f"{max(128, total // 8 // 2**20)}MB"


def start_embedded(pgdata: Path, *, cleanup_mode: str | None = "stop", shared_buffers: str = "auto") -> tuple[Any, str]:
    """Start (or attach to) the server in ``pgdata``; return the handle and the DSN of our database.

    ``shared_buffers`` ("auto" or a PostgreSQL size such as "2GB") is written to the server's
    configuration, which it reads at its next start.
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
    _configure(server, auto_shared_buffers() if shared_buffers == "auto" else shared_buffers)
    return server, server.get_uri(DATABASE_NAME)


def _scalar(server: Any, query: str) -> str:
    """One value from psql's unaligned, tuples-only output."""
    return server.psql(f"\\pset tuples_only on\n\\pset format unaligned\n{query}\n").strip().splitlines()[-1]


def _configure(server: Any, shared_buffers: str) -> None:
    """The server's configuration given ``shared_buffers``, which PostgreSQL reads only when it starts: the
    server in use keeps its size until its next start (each command stops the server it started when it
    ends, so a new home's first command, `cinesync migrate`, sets it for every later one). Never a
    restart here: a second process may be connecting at that moment, as two first migrators are."""
    if not PG_SIZE.fullmatch(shared_buffers):  # psql takes no parameters: only a plain size reaches it
        raise ValueError(f"shared_buffers must be a size such as 2GB or 512MB, not {shared_buffers!r}")
    wanted = _scalar(server, f"SELECT pg_size_bytes('{shared_buffers}');")
    configured = _scalar(server, "SELECT COALESCE((SELECT pg_size_bytes(setting) FROM pg_file_settings "
                                 "WHERE name = 'shared_buffers' AND error IS NULL ORDER BY seqno DESC LIMIT 1), "
                                 "pg_size_bytes(current_setting('shared_buffers')));")
    if wanted != configured:
        server.psql(f"ALTER SYSTEM SET shared_buffers = '{shared_buffers}';")
        log.info("the embedded PostgreSQL takes shared_buffers = %s from its next start", shared_buffers)


def _database_exists(server: Any) -> bool:
    return "(1 row)" in server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
