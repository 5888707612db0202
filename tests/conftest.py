"""Test fixtures: one real embedded PostgreSQL (pgserver) for the whole session.

Each test that needs a clean slate gets a database of its own on that server; the shared
MovieLens import is done once per session and reused read-mostly.
"""
from __future__ import annotations

import itertools
import os
import tempfile
from pathlib import Path
from typing import AsyncIterator

import asyncpg
import pytest

from bot.db.migrate import migrate
from bot.db.pool import Database, create_pool
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"
MOVIELENS = SHARED / "movielens-latest-small"
IMDB = SHARED / "imdb-5000" / "movie_metadata.csv"

_counter = itertools.count()


def requires_shared() -> None:
    """Skip without the shared datasets, except in CI (`CI` set), where missing data is a failure."""
    if not (MOVIELENS / "ratings.csv").exists():
        message = f"shared datasets not found at {SHARED}: put ../shared/datasets beside the checkout"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def pg_server():
    import pgserver

    folder = Path(tempfile.mkdtemp(prefix="cinesync-test-pg-"))
    server = pgserver.get_server(folder, cleanup_mode="delete")
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def test_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    # no feedback limit: service tests rate dozens of films at once; the limit has its own test
    return Settings(home=tmp_path_factory.mktemp("home"), db_pool_min=1, db_pool_max=8, db_command_timeout=60,
                    feedback_limit="")


def create_database(server, name: str | None = None) -> str:  # type: ignore[no-untyped-def]
    """A new empty database on the test server; returns its DSN."""
    name = name or f"t{os.getpid()}_{next(_counter)}"
    server.psql(f"CREATE DATABASE {name};")
    return server.get_uri(name)


async def open_test_database(dsn: str, settings: Settings) -> Database:
    pool = await create_pool(dsn, settings)
    return Database(pool=pool, dsn=dsn, acquire_timeout=settings.db_acquire_timeout, command_timeout=settings.db_command_timeout)


async def migrated_database(server, settings: Settings) -> Database:  # type: ignore[no-untyped-def]
    dsn = create_database(server)
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return await open_test_database(dsn, settings)


@pytest.fixture
def empty_dsn(pg_server) -> str:  # type: ignore[no-untyped-def]
    return create_database(pg_server)


@pytest.fixture
async def db(pg_server, test_settings) -> AsyncIterator[Database]:  # type: ignore[no-untyped-def]
    """A freshly migrated, empty database for one test."""
    database = await migrated_database(pg_server, test_settings)
    yield database
    await database.close()


@pytest.fixture(scope="session")
async def movielens_db(pg_server, test_settings) -> AsyncIterator[Database]:  # type: ignore[no-untyped-def]
    """The shared MovieLens + IMDb 5000 data imported once; tests must not change it."""
    requires_shared()
    from bot.services.catalog_import import import_movielens

    database = await migrated_database(pg_server, test_settings)
    report = await import_movielens(database, MOVIELENS, IMDB, with_ratings=True, progress=False)
    database.import_report = report  # type: ignore[attr-defined]
    yield database
    await database.close()


SUBSET_MAX_MOVIE_ID = 1500


@pytest.fixture(scope="session")
async def small_app(pg_server, test_settings):  # type: ignore[no-untyped-def]
    """A trained CineSync on a real subset: MovieLens movies with id <= 1500 and their ratings."""
    requires_shared()
    from bot.app import build_app
    from bot.catalog.readers import read_movielens
    from bot.services.catalog_import import import_data
    from bot.services.training import train_model

    data = read_movielens(MOVIELENS, IMDB, with_ratings=True)
    data.movies = data.movies[data.movies["movie_id"] <= SUBSET_MAX_MOVIE_ID]
    assert data.ratings is not None
    data.ratings = data.ratings[data.ratings["movie_id"] <= SUBSET_MAX_MOVIE_ID]
    database = await migrated_database(pg_server, test_settings)
    await import_data(database, data, "subset", progress=False)
    report = await train_model(database, test_settings, progress=False)
    app = await build_app(test_settings, database)
    app.train_report = report  # type: ignore[attr-defined]
    from bot.repositories.feedback import all_feedback

    async with database.acquire() as conn:
        app.train_rows = [dict(r) for r in await all_feedback(conn)]  # type: ignore[attr-defined]
    yield app
    await app.close()


async def small_trained_app(server, settings: Settings, label: str, max_movie_id: int = 600):  # type: ignore[no-untyped-def]
    """A trained CineSync on a database of its own (MovieLens movies with id <= ``max_movie_id``), for
    tests that retrain or run jobs and must disturb no other test."""
    requires_shared()
    from bot.app import build_app
    from bot.catalog.readers import read_movielens
    from bot.services.catalog_import import import_data
    from bot.services.training import train_model

    data = read_movielens(MOVIELENS, IMDB, with_ratings=True)
    data.movies = data.movies[data.movies["movie_id"] <= max_movie_id]
    assert data.ratings is not None
    data.ratings = data.ratings[data.ratings["movie_id"] <= max_movie_id]
    database = await migrated_database(server, settings)
    await import_data(database, data, label, progress=False)
    await train_model(database, settings, progress=False)
    return await build_app(settings, database)
