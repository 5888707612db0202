"""The loved-films snapshot each process keeps for the collaborative signal: ids looked up in one pass,
read in chunks off the event loop, and a change heard while it is re-read never lost."""
from __future__ import annotations

import numpy as np

from bot.repositories.feedback import user_feedback
from bot.services import runtime as runtime_module
from bot.services import sync as sync_module
from bot.services.runtime import loved_from_rows
from bot.services.sync import LOVED_CHANNEL, ProcessSync
from engine.data import ItemIndex


def test_positions_in_one_pass_agree_with_looking_up_each_id() -> None:
    rng = np.random.default_rng(2)
    ids = rng.choice(10**7, 4000, replace=False)
    index = ItemIndex(np.concatenate([ids, ids[:3]]))  # a repeated id keeps its last column, as `get` does
    asked = np.concatenate([rng.choice(ids, 500), rng.integers(-5, 2 * 10**7, 500)])
    assert index.positions(asked).tolist() == [index.get(int(m)) if index.get(int(m)) is not None else -1 for m in asked]
    assert index.positions(asked.tolist()).tolist() == index.positions(asked).tolist()
    assert index.positions([]).shape == (0,) and ItemIndex(np.empty(0, np.int64)).positions([1, 2]).tolist() == [-1, -1]
    rows = [{"user_id": 7, "movies": [int(ids[0]), 99, int(ids[5])]}, {"user_id": 8, "movies": []}]
    assert loved_from_rows(rows, index) == {7: {index.get(int(ids[0])), index.get(int(ids[5]))}, 8: set()}


async def test_the_snapshot_is_read_in_chunks_and_keeps_what_was_heard_meanwhile(small_app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    app = small_app
    async with app.db.acquire() as conn:  # what the database holds (the live snapshot may have drifted: other tests)
        truth = await runtime_module.read_loved(conn, app.runtime.catalog.items)
        for member in sorted(truth)[:25]:  # checked member by member against their ratings
            stored = {app.runtime.catalog.items.get(r["movie_id"]) for r in await user_feedback(conn, member)
                      if r["rating"] is not None and r["rating"] >= 4.0}
            assert truth[member] == stored - {None}
    sync = ProcessSync(app, poll_seconds=3600)
    movie = next(iter(app.runtime.movies))
    newcomer, passer_by = 761000000000000001, 761000000000000002
    real_read, fetches = runtime_module.read_loved, []
    real_chunks = runtime_module.model_repo.loved_movies_in_chunks

    async def counted(conn, chunk):  # type: ignore[no-untyped-def]
        async for rows in real_chunks(conn, chunk):
            fetches.append(len(rows))
            yield rows

    async def read_while_others_rate(conn, items):  # type: ignore[no-untyped-def]
        fresh = await real_read(conn, items)
        # committed after the read's snapshot: heard by this process while it was reading
        sync._on_notify(None, 0, LOVED_CHANNEL, f"{newcomer} {movie} 1")
        sync._on_notify(None, 0, LOVED_CHANNEL, f"{passer_by} {movie} 1")
        sync._on_notify(None, 0, LOVED_CHANNEL, f"{passer_by} {movie} 0")
        return fresh

    monkeypatch.setattr(runtime_module, "LOVED_CHUNK", 7)
    monkeypatch.setattr(runtime_module.model_repo, "loved_movies_in_chunks", counted)
    monkeypatch.setattr(sync_module, "read_loved", read_while_others_rate)
    try:
        await sync.refresh_loved()
        loved = app.runtime.loved
        assert len(fetches) >= len(truth) // 7 and max(fetches) <= 7  # in chunks
        assert {u: s for u, s in loved.items() if u not in (newcomer, passer_by)} == truth  # the database's snapshot
        assert loved[newcomer] == {app.runtime.catalog.items.get(movie)} and not loved.get(passer_by)
        assert sync._heard_while_reading is None  # later payloads only go to the live snapshot
    finally:
        app.runtime.loved.pop(newcomer, None)
        app.runtime.loved.pop(passer_by, None)
