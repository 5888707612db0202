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
from bot.services.member_index import MemberIndexRefresher
from bot.client import create_bot
from bot.offline import LoopLag, OfflineDiscord
from tests.conftest import open_test_database, small_trained_app

HEAT, SEVEN, TOY_STORY, USUAL_SUSPECTS, BRAVEHEART = 6, 47, 1, 50, 110


class CuttableProxy:
    """A TCP proxy in front of the embedded PostgreSQL that can drop every connection on demand,
    as a database crash or network cut would, and refuse new ones until restored; or stall: hold
    the next query for some seconds, as a database busy with a checkpoint or a lock would."""

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self.refusing = False
        self.cut_on_next_query = False
        self.stall_next_query = 0.0
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
                    if from_client and self.stall_next_query:
                        stall, self.stall_next_query = self.stall_next_query, 0.0
                        await asyncio.sleep(stall)
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
            assert "Saved" in (await d.command(user, "rate", movie=f"id:{HEAT}", rating="5")).text()
            proxy.cut_on_next_query = True  # the next query the bot sends kills the connection
            lost = await d.command(user, "rate", movie=f"id:{SEVEN}", rating="4")
            assert lost.callback.ephemeral
            assert "was not saved" in lost.text() and "try again" in lost.text() and "Seven" in lost.text()
            assert proxy.refusing
            still_down = await d.command(user, "rate", movie=f"id:{TOY_STORY}", rating="3")
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
            again = await d.command(user, "rate", movie=f"id:{SEVEN}", rating="4")
            assert "Saved" in again.text() and "2 rated" in again.text()
    finally:
        await db.close()
        await proxy.close()


async def test_rate_answers_within_discords_deadline_when_the_database_is_slow(small_app, test_settings) -> None:  # type: ignore[no-untyped-def]
    """Issue 11 #13: the database answers after 5 s; Discord forgets an interaction not answered in 3 s
    (the stand-in answers 404 then, as Discord does). The member is told, every time, whether it was saved."""
    socket, name = socket_of(small_app.db.dsn)
    proxy = CuttableProxy(socket)
    port = await proxy.start()
    settings = replace(test_settings, rate_cooldown_seconds=0.0, db_command_timeout=8.0)
    db = await open_test_database(f"postgresql://postgres@127.0.0.1:{port}/{name}", settings)
    # the index refresher held back past the test: its background queries would take the stall meant for the rating's
    app = App(settings, db, small_app.runtime, Services.build(db, small_app.runtime,
                                                              member_index=MemberIndexRefresher(db, delay=120.0)))
    user = 730000000000000101

    async def saved() -> list[int]:
        async with small_app.db.acquire() as conn:
            return [r["movie_id"] for r in await conn.fetch("SELECT movie_id FROM user_ratings WHERE user_id = $1", user)]

    try:
        async with OfflineDiscord(create_bot(settings, app=app, sync_commands=False)) as d:
            await d.command(user, "my_ratings")  # the member's first command here (its server is noted once)
            await asyncio.sleep(1.0)  # its after-reply work done: the stall below is for the rating's first query
            proxy.stall_next_query = 5.0
            slow = await d.command(user, "rate", movie=f"id:{HEAT}", rating="5")
            assert slow.callback is not None and slow.callback.status == 200 and slow.callback.json["type"] == 5
            assert slow.first_response_seconds < 3.0  # deferred in time ...
            assert "Saved" in slow.last.text() and slow.last.ephemeral and await saved() == [HEAT]  # ... then told
            # a quick-rating button on a slow database: the message is updated after a deferred update
            start = await d.command(user, "rate")
            await asyncio.sleep(1.0)
            proxy.stall_next_query = 5.0
            pressed = await d.click(user, d.message_for(start), "quick:like")
            assert pressed.callback.status == 200 and pressed.callback.json["type"] == 6
            assert pressed.first_response_seconds < 3.0 and "Saved" in pressed.last.text()
            before = await saved()
            assert len(before) == 2
            # longer than the command timeout: deferred in time, then told it was not saved (a film the
            # quick-rating card did not just offer, so a stored row could only come from this command)
            movie, title = next((m, t) for m, t in ((SEVEN, "Seven"), (USUAL_SUSPECTS, "Usual Suspects"),
                                                     (BRAVEHEART, "Braveheart")) if m not in before)
            proxy.stall_next_query = 12.0
            lost = await d.command(user, "rate", movie=f"id:{movie}", rating="4")
            assert lost.first_response_seconds < 3.0 and lost.callback.status == 200
            assert "was not saved" in lost.text() and title in lost.text(), lost.text()
            await asyncio.sleep(5.0)  # the held query reaches the database late: still nothing half-written
            assert sorted(await saved()) == sorted(before)
    finally:
        await db.close()
        await proxy.close()


@pytest.fixture(scope="module")
async def busy_app(pg_server, test_settings):  # type: ignore[no-untyped-def]
    """A small trained CineSync of its own, so retraining it disturbs no other test."""
    app = await small_trained_app(pg_server, test_settings, "busy")
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
            answers.append((await d.command(member, "rate", movie=f"id:{movie}", rating="4")).first_response_seconds)
            await asyncio.sleep(pause)

    async with OfflineDiscord(create_bot(settings, app=busy_app, sync_commands=False)) as d:
        async with LoopLag(stacks_after=0.15) as lag:  # a stall keeps what each thread was running
            started = await d.command(1, "admin retrain")
            assert "Retraining started in the background" in started.text()
            await others_keep_rating(d, HEAT, "Retrain done", started.token, 0.2)
            learn = await d.command(1, "admin learn", wait=False)
            await others_keep_rating(d, SEVEN, "PreferenceLearner", learn.token, 0.05)
    assert busy_app.runtime.version != old_version  # the new model is serving
    assert len(answers) >= 3 and max(answers) < 1.0
    assert lag.worst < 0.2, f"event loop blocked for {lag.worst * 1000:.0f} ms; the threads then:\n{lag.longest_stall()[2]}"


async def test_a_stalled_loop_is_caught_with_what_blocked_it() -> None:
    def holds_the_loop() -> None:
        time.sleep(0.3)  # work done on the loop itself

    async with LoopLag(stacks_after=0.1) as lag:
        await asyncio.sleep(0.05)
        holds_the_loop()
        await asyncio.sleep(0.05)
    assert 0.25 < lag.worst < 1.0 and len(lag.stalls) == 1, (lag.worst, lag.stalls)
    _silent, where, stacks = lag.longest_stall()
    assert "--- event loop" in stacks and "holds_the_loop" in stacks and where.endswith("in holds_the_loop")


async def test_a_corrupt_or_non_finite_checkpoint_is_refused_with_a_labelled_fallback(small_app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Issue 11 #4 and #5: NaN in one movie's row, or bytes that are not a checkpoint, never reach members;
    and a model registered before checkpoints moved into the database is looked up in this home only."""
    import io

    import torch

    from bot.services.runtime import CheckpointError, _assemble, checkpoint_source, load_checkpoint

    runtime = small_app.runtime
    async with small_app.db.acquire() as conn:
        stored = await conn.fetchval("SELECT checkpoint FROM model_registry WHERE version = $1", runtime.version)
    corrupt = b"not a checkpoint" * 100
    with pytest.raises(CheckpointError, match="unreadable"):
        load_checkpoint(corrupt, runtime.catalog.items)
    data = torch.load(io.BytesIO(stored), weights_only=True)
    data["q"][3, 5] = float("nan")
    buffer = io.BytesIO()
    torch.save(data, buffer)
    poisoned = buffer.getvalue()
    with pytest.raises(CheckpointError, match="non-finite numbers in 1 movie row"):
        load_checkpoint(poisoned, runtime.catalog.items)
    rows = [dict(r, movie_id=m) for m, r in runtime.movies.items()]
    for bad in (corrupt, poisoned):
        served = _assemble(rows, {}, {"version": "vbad", "checkpoint_path": "vbad.pt", "checkpoint": bad}, None,
                           0.6, 0.0, "private")
        assert served.model is None  # popularity, labelled as such by the ranker
        ranking = served.ranker.rank(None, None, 5)
        assert ranking.fallback and "personal model unavailable" in ranking.items[0].reason
    # an old registry row holding another home's absolute path: only this home's models folder is read
    elsewhere = tmp_path / "other-home" / "models" / "vold.pt"
    elsewhere.parent.mkdir(parents=True)
    elsewhere.write_bytes(stored)
    here = tmp_path / "this-home" / "models"
    source, label = checkpoint_source({"version": "vold", "checkpoint_path": str(elsewhere), "checkpoint": None}, here)
    assert source == here / "vold.pt" and "vold" in label
    assert _assemble(rows, {}, {"version": "vold", "checkpoint_path": str(elsewhere), "checkpoint": None}, None,
                     0.6, 0.0, "private", models_dir=here).model is None
    (here).mkdir(parents=True)
    (here / "vold.pt").write_bytes(stored)
    assert _assemble(rows, {}, {"version": "vold", "checkpoint_path": str(elsewhere), "checkpoint": None}, None,
                     0.6, 0.0, "private", models_dir=here).model is not None


async def test_background_jobs_run_at_lower_priority_without_code_in_the_forked_child() -> None:
    """The retrain and learner children start through `nice` (no ``preexec_fn``, whose fork kept the loop
    waiting): the child, and so every thread it starts, runs NICENESS steps below the bot."""
    import os
    import sys

    from bot.services.jobs import NICENESS, _niced

    process = await asyncio.create_subprocess_exec(*_niced([sys.executable, "-c", "import os; print(os.nice(0))"]),
                                                   stdout=asyncio.subprocess.PIPE)
    output, _ = await process.communicate()
    assert int(output) == min(os.nice(0) + NICENESS, 19)
