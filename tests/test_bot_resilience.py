"""The bot when things go wrong or get busy: the database dropping mid-command, and a retrain
plus a learner run while members keep using it (the event loop must stay responsive)."""
from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from bot.app import App, Services
from bot.client import create_bot
from bot.offline import LoopLag, OfflineDiscord
from tests.conftest import IMDB, MOVIELENS, migrated_database, open_test_database, requires_shared

HEAT, SEVEN, TOY_STORY, USUAL_SUSPECTS, BRAVEHEART = 6, 47, 1, 50, 110


class CuttableProxy:
    """A TCP proxy in front of the embedded PostgreSQL that can drop every connection on demand,
    as a database crash or network cut would, and refuse new ones until restored."""

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self.refusing = False
        self.cut_on_next_query = False
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_unix_connection(self.socket_path)
        self.writers += [writer, up_writer]

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter, from_client: bool) -> None:
            try:
                while data := await source.read(65536):
                    if from_client and self.cut_on_next_query:
                        self.cut()
                        return
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.close()

        await asyncio.gather(pump(reader, up_writer, True), pump(up_reader, writer, False))

    def cut(self) -> None:
        self.refusing, self.cut_on_next_query = True, False
        for w in self.writers:
            w.close()
        self.writers.clear()

    def restore(self) -> None:
        self.refusing = False

    async def close(self) -> None:
        self.cut()
        self.server.close()


def socket_of(dsn: str) -> tuple[str, str]:
    """(unix socket path, database name) of a pgserver DSN."""
    parsed = urlparse(dsn)
    folder = Path(parse_qs(parsed.query)["host"][0])
    socket = next(p for p in folder.glob(".s.PGSQL.*") if not p.name.endswith(".lock"))
    return str(socket), parsed.path.lstrip("/")


async def test_database_dropping_mid_command_is_never_a_silent_loss(small_app, test_settings) -> None:  # type: ignore[no-untyped-def]
    socket, name = socket_of(small_app.db.dsn)
    proxy = CuttableProxy(socket)
    port = await proxy.start()
    settings = replace(test_settings, rate_cooldown_seconds=0.0, db_acquire_timeout=2.0)
    db = await open_test_database(f"postgresql://postgres@127.0.0.1:{port}/{name}", settings)
    app = App(settings, db, small_app.runtime, Services.build(db, small_app.runtime))
    user = 730000000000000001
    try:
        async with OfflineDiscord(create_bot(settings, app=app, sync_commands=False)) as d:
            assert "Saved" in (await d.command(user, "rate", movie=str(HEAT), rating="5")).text()
            proxy.cut_on_next_query = True  # the next query the bot sends kills the connection
            lost = await d.command(user, "rate", movie=str(SEVEN), rating="4")
            assert lost.callback.ephemeral
            assert "was not saved" in lost.text() and "try again" in lost.text() and "Seven" in lost.text()
            assert proxy.refusing
            still_down = await d.command(user, "rate", movie=str(TOY_STORY), rating="3")
            assert "was not saved" in still_down.text()
            # a DM reaction while the database is down: the member is told in the DM
            async with small_app.db.transaction() as conn:
                await conn.execute("INSERT INTO dm_messages (message_id, channel_id, user_id, movie_id) "
                                   "VALUES (424242, 434343, $1, $2)", user, USUAL_SUSPECTS)
            reaction = await d.react(user, 424242, "❤️")
            assert any("not saved" in r.text() for r in reaction.requests if r.path == "/channels/{channel_id}/messages")
            async with small_app.db.acquire() as conn:  # nothing half-written
                saved = await conn.fetch("SELECT movie_id FROM user_ratings WHERE user_id = $1", user)
            assert [r["movie_id"] for r in saved] == [HEAT]
            proxy.restore()
            again = await d.command(user, "rate", movie=str(SEVEN), rating="4")
            assert "Saved" in again.text() and "rated 2 movies" in again.text()
    finally:
        await db.close()
        await proxy.close()


@pytest.fixture(scope="module")
async def busy_app(pg_server, test_settings):  # type: ignore[no-untyped-def]
    """A small trained CineSync of its own (movies with id <= 600), so retraining it disturbs no other test."""
    requires_shared()
    from bot.app import build_app
    from bot.catalog.readers import read_movielens
    from bot.services.catalog_import import import_data
    from bot.services.training import train_model

    data = read_movielens(MOVIELENS, IMDB, with_ratings=True)
    data.movies = data.movies[data.movies["movie_id"] <= 600]
    assert data.ratings is not None
    data.ratings = data.ratings[data.ratings["movie_id"] <= 600]
    database = await migrated_database(pg_server, test_settings)
    await import_data(database, data, "busy", progress=False)
    await train_model(database, test_settings, progress=False)
    app = await build_app(test_settings, database)
    yield app
    await app.close()


async def test_loop_stays_responsive_during_retrain_and_learner(busy_app, test_settings) -> None:  # type: ignore[no-untyped-def]
    settings = replace(test_settings, rate_cooldown_seconds=0.0, owner_ids=(1,))
    old_version = busy_app.runtime.version
    answers: list[float] = []
    member = 740000000000000000

    async def others_keep_rating(d: OfflineDiscord, movie: int, until: str, token: str, pause: float) -> None:
        nonlocal member
        deadline = time.perf_counter() + 600
        while not any(r.token == token and until in r.text() for r in d.requests):
            assert time.perf_counter() < deadline, f"never saw '{until}'"
            member += 1
            answers.append((await d.command(member, "rate", movie=str(movie), rating="4")).first_response_seconds)
            await asyncio.sleep(pause)

    async with OfflineDiscord(create_bot(settings, app=busy_app, sync_commands=False)) as d:
        async with LoopLag() as lag:
            started = await d.command(1, "admin retrain")
            assert "Retraining started in the background" in started.text()
            await others_keep_rating(d, HEAT, "Retrain done", started.token, 0.2)
            learn = await d.command(1, "admin learn", wait=False)
            await others_keep_rating(d, SEVEN, "PreferenceLearner", learn.token, 0.05)
    assert busy_app.runtime.version != old_version  # the new model is serving
    assert len(answers) >= 3 and max(answers) < 1.0
    assert lag.worst < 0.2, f"event loop blocked for {lag.worst * 1000:.0f} ms"


def test_a_corrupt_or_non_finite_checkpoint_is_refused_with_a_labelled_fallback(small_app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Issue 11 #4 and #5: NaN in one movie's row, or a file that is not a checkpoint, never reaches members."""
    import torch

    from bot.services.runtime import CheckpointError, _assemble, load_checkpoint

    runtime = small_app.runtime
    source = Path(small_app.train_report.checkpoint)
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a checkpoint" * 100)
    with pytest.raises(CheckpointError, match="unreadable"):
        load_checkpoint(corrupt, runtime.catalog.items)
    data = torch.load(source, weights_only=True)
    data["q"][3, 5] = float("nan")
    poisoned = tmp_path / "nan.pt"
    torch.save(data, poisoned)
    with pytest.raises(CheckpointError, match="non-finite numbers in 1 movie row"):
        load_checkpoint(poisoned, runtime.catalog.items)
    rows = [dict(r, movie_id=m) for m, r in runtime.movies.items()]
    for path in (corrupt, poisoned):
        served = _assemble(rows, {}, {"version": "vbad", "checkpoint_path": str(path)}, [], None, 0.6, 0.0, "private")
        assert served.model is None  # popularity, labelled as such by the ranker
        ranking = served.ranker.rank(None, None, 5)
        assert ranking.fallback and "personal model unavailable" in ranking.items[0].reason
