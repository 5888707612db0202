"""Feedback and recommendation services on a real database with a trained model."""
from __future__ import annotations

import asyncio
import itertools

import numpy as np
import pytest

from bot.app import build_app
from bot.db.pool import as_array
from bot.services.errors import UnknownMovie, UserError
from bot.services.feedback import parse_rating
from bot.services.runtime import load_runtime
from engine.data import History
from engine.engine import replay
from engine.trainer import UserState, unit
from tests.conftest import open_test_database

_ids = itertools.count(700_000_000_000_000_001)
HEAT, TOY_STORY, SEVEN, BRAVEHEART, USUAL_SUSPECTS = 6, 1, 47, 110, 50


def new_user() -> int:
    return next(_ids)


async def _db_state(app, user_id: int):  # type: ignore[no-untyped-def]
    async with app.db.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM user_embeddings WHERE user_id = $1", user_id)
        rows = await conn.fetch("SELECT movie_id, rating, kind FROM user_ratings WHERE user_id = $1", user_id)
    return row, rows


def _refit(app, rows) -> UserState:  # type: ignore[no-untyped-def]
    index = app.runtime.catalog.items
    history = History(np.array([index.get(r["movie_id"]) for r in rows], dtype=np.int64),
                      np.array([np.nan if r["rating"] is None else r["rating"] for r in rows]),
                      tuple(r["kind"] for r in rows))
    return replay(app.runtime.trainer, history)


async def test_training_registered_the_model(small_app) -> None:  # type: ignore[no-untyped-def]
    report = small_app.train_report
    assert "model_registry.checkpoint" in report.checkpoint and small_app.runtime.version == report.version
    async with small_app.db.acquire() as conn:
        registry = await conn.fetchrow("SELECT * FROM model_registry WHERE version = $1", report.version)
        vectors = await conn.fetchval("SELECT count(*) FROM item_vectors WHERE model_version = $1", report.version)
        states = await conn.fetchval(
            "SELECT count(*) FROM user_embeddings WHERE model_version = $1 AND user_id < 100000", report.version)
        texts = await conn.fetchval("SELECT count(*) FROM movie_text_embeddings")
    assert registry["checkpoint"] and registry["checkpoint_path"] == f"{report.version}.pt"  # no absolute path
    assert registry["data_hash"] and registry["metrics"]["validation_ndcg@10"] > 0
    assert registry["metrics"]["calibration"]["ours"]["ece"] < 0.1  # measured on held-out ratings at training time
    assert vectors == len(small_app.runtime.catalog) == texts
    assert states == report.users == report.written and report.not_written == 0


async def test_rating_is_stored_with_its_online_update(small_app) -> None:  # type: ignore[no-untyped-def]
    user = new_user()
    first = await small_app.feedback.record(user, HEAT, "rating", 4.5, "slash")
    assert (first.rating_count, first.previous_kind, first.duplicate) == (1, None, False)
    await small_app.feedback.record(user, SEVEN, "love", None, "button")
    again = await small_app.feedback.record(user, HEAT, "rating", 2.0, "slash")  # re-rating replaces
    assert (again.previous_rating, again.rating_count) == (4.5, 2)
    row, rows = await _db_state(small_app, user)
    assert {(r["movie_id"], r["rating"], r["kind"]) for r in rows} == {(HEAT, 2.0, "rating"), (SEVEN, 5.0, "love")}
    state = UserState.from_bytes(row["solver_state"], row["rating_count"], row["feedback_count"], row["version"])
    expected = _refit(small_app, rows)
    assert np.max(np.abs(state.vector - expected.vector)) < 1e-9
    assert np.allclose(as_array(row["embedding"]), unit(expected.vector), atol=1e-6)
    assert row["rating_count"] == 2 and row["model_version"] == small_app.runtime.version
    async with small_app.db.acquire() as conn:
        events = await conn.fetchval("SELECT count(*) FROM feedback_events WHERE user_id = $1", user)
    assert events == 3  # the log keeps the overwritten 4.5 too


async def test_two_pools_rating_one_user_concurrently_equal_a_serial_replay(small_app, test_settings) -> None:  # type: ignore[no-untyped-def]
    other_db = await open_test_database(small_app.db.dsn, test_settings)
    other = await build_app(test_settings, other_db)
    try:
        user = new_user()
        movies = [m for m in sorted(small_app.runtime.movies) if small_app.runtime.movies[m]["rating_count"] > 20][:40]
        rng = np.random.default_rng(7)
        plan_a = [(m, float(rng.integers(1, 11)) / 2) for m in movies[:25]]
        plan_b = [(m, float(rng.integers(1, 11)) / 2) for m in movies[15:40]]  # 10 movies rated by both

        async def run(app, plan):  # type: ignore[no-untyped-def]
            for movie, stars in plan:
                await app.feedback.record(user, movie, "rating", stars, "slash")

        await asyncio.gather(run(small_app, plan_a), run(other, plan_b))
        row, rows = await _db_state(small_app, user)
        assert len(rows) == 40 and row["feedback_count"] == 50 and row["rating_count"] == 40
        state = UserState.from_bytes(row["solver_state"], row["rating_count"], row["feedback_count"], row["version"])
        assert np.max(np.abs(state.vector - _refit(small_app, rows).vector)) < 1e-9
    finally:
        await other.close()


async def test_a_state_written_between_a_ratings_read_and_its_write_sends_it_the_locked_way(small_app) -> None:  # type: ignore[no-untyped-def]
    """A rating reads the member's state without a lock and writes only if it is still that version.
    Here an import's transaction changes the state after the rating read it and commits while the
    rating's write waits on the row: the write must not land on the old state (it would drop the
    imported rating from the taste vector); the rating goes the locked way and both count."""
    user = new_user()
    await small_app.feedback.record(user, TOY_STORY, "rating", 4.0, "slash")
    racing: list[asyncio.Task] = []

    async def meanwhile(conn) -> None:  # type: ignore[no-untyped-def]  # inside the import's transaction, before it commits
        racing.append(asyncio.create_task(small_app.feedback.record(user, HEAT, "rating", 5.0, "slash")))
        await asyncio.sleep(0.5)
        assert not racing[0].done()  # it read version 1 and now waits on the row the import holds

    await small_app.feedback.record_batch(user, [(SEVEN, "rating", 2.0)], "import", also=meanwhile)
    result = await racing[0]
    assert not result.duplicate and result.rating_count == 3
    row, rows = await _db_state(small_app, user)
    assert {(r["movie_id"], r["rating"]) for r in rows} == {(TOY_STORY, 4.0), (SEVEN, 2.0), (HEAT, 5.0)}
    assert row["rating_count"] == 3 and row["version"] == 3
    state = UserState.from_bytes(row["solver_state"], row["rating_count"], row["feedback_count"], row["version"])
    assert np.max(np.abs(state.vector - _refit(small_app, rows).vector)) < 1e-9


async def test_a_member_with_imported_ratings_but_no_state_row_is_rebuilt_from_them(small_app) -> None:  # type: ignore[no-untyped-def]
    """`cinesync import movielens --with-ratings` writes ratings without state rows (training makes them).
    Such a member's first feedback must not start from an empty state as a new member's does."""
    user = new_user()
    async with small_app.db.acquire() as conn:
        await conn.execute("INSERT INTO user_ratings (user_id, movie_id, rating, kind, source) VALUES ($1, $2, 4.5, 'rating', 'import')",
                           user, SEVEN)
    result = await small_app.feedback.record(user, HEAT, "rating", 2.0, "slash")
    assert result.rating_count == 2
    row, rows = await _db_state(small_app, user)
    state = UserState.from_bytes(row["solver_state"], row["rating_count"], row["feedback_count"], row["version"])
    assert np.max(np.abs(state.vector - _refit(small_app, rows).vector)) < 1e-9


async def test_a_member_this_process_wrote_rates_in_one_statement(small_app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A new member's first rating, and every later one this process plans from its memory of the member
    (a new film, a re-rating, a withdrawal), is one statement and no read; the stored state still equals
    a refit."""
    from bot.repositories import feedback as repo

    calls: list[str] = []
    for name in ("state_and_rating", "write_feedback", "lock_state_and_rating"):
        real = getattr(repo, name)

        def counted(*args, _real=real, _name=name, **kwargs):  # type: ignore[no-untyped-def]
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(repo, name, counted)
    user = new_user()
    await small_app.feedback.record(user, HEAT, "rating", 4.5, "slash")
    await small_app.feedback.record(user, SEVEN, "love", None, "button")
    again = await small_app.feedback.record(user, HEAT, "rating", 2.0, "slash")
    gone = await small_app.feedback.record(user, SEVEN, None, None, "slash")
    assert calls == ["write_feedback"] * 4
    assert (again.previous_rating, again.rating_count, gone.previous_kind, gone.rating_count) == (4.5, 2, "love", 1)
    row, rows = await _db_state(small_app, user)
    assert {(r["movie_id"], r["rating"]) for r in rows} == {(HEAT, 2.0)}
    state = UserState.from_bytes(row["solver_state"], row["rating_count"], row["feedback_count"], row["version"])
    assert np.max(np.abs(state.vector - _refit(small_app, rows).vector)) < 1e-9


async def test_a_film_rated_through_another_process_is_not_counted_twice(small_app, test_settings) -> None:  # type: ignore[no-untyped-def]
    """This process remembers the member's state as it wrote it and the films it wrote. A film rated
    through another process before that is assumed unrated here, while the state's version still
    matches: the write must find the film's current rating and replace it, not add a second one."""
    other = await build_app(test_settings, await open_test_database(small_app.db.dsn, test_settings))
    try:
        user = new_user()
        await other.feedback.record(user, HEAT, "rating", 4.0, "slash")
        await small_app.feedback.record(user, SEVEN, "rating", 3.0, "slash")  # remembered here from now on
        result = await small_app.feedback.record(user, HEAT, "rating", 1.5, "slash")
        assert (result.previous_rating, result.rating_count) == (4.0, 2)
        await other.feedback.record(user, TOY_STORY, "rating", 5.0, "slash")  # this process's memory now stale
        late = await small_app.feedback.record(user, BRAVEHEART, "rating", 2.5, "slash")
        assert late.rating_count == 4
        row, rows = await _db_state(small_app, user)
        assert row["rating_count"] == 4 and row["feedback_count"] == 5
        state = UserState.from_bytes(row["solver_state"], row["rating_count"], row["feedback_count"], row["version"])
        assert np.max(np.abs(state.vector - _refit(small_app, rows).vector)) < 1e-9
    finally:
        await other.close()


async def test_replayed_event_changes_nothing_and_withdrawal_undoes(small_app) -> None:  # type: ignore[no-untyped-def]
    user = new_user()
    await small_app.feedback.record(user, TOY_STORY, "rating", 4.0, "slash")
    first = await small_app.feedback.record(user, HEAT, "like", None, "dm_reaction", dedupe_key="reaction:1:add")
    before = await _db_state(small_app, user)
    repeat = await small_app.feedback.record(user, HEAT, "like", None, "dm_reaction", dedupe_key="reaction:1:add")
    assert not first.duplicate and repeat.duplicate
    assert await _db_state(small_app, user) == before
    gone = await small_app.feedback.record(user, HEAT, None, None, "dm_reaction", dedupe_key="reaction:1:remove")
    row, rows = await _db_state(small_app, user)
    assert not gone.duplicate and [r["movie_id"] for r in rows] == [TOY_STORY] and row["rating_count"] == 1
    state = UserState.from_bytes(row["solver_state"], row["rating_count"], row["feedback_count"], row["version"])
    assert np.max(np.abs(state.vector - _refit(small_app, rows).vector)) < 1e-9


async def test_bad_input_changes_nothing(small_app) -> None:  # type: ignore[no-untyped-def]
    user = new_user()
    with pytest.raises(UnknownMovie, match="no movie with id 999999999"):
        await small_app.feedback.record(user, 999_999_999, "rating", 4.0, "slash")
    with pytest.raises(UserError, match="half steps"):
        await small_app.feedback.record(user, HEAT, "rating", 4.2, "slash")
    with pytest.raises(UserError):
        parse_rating("eleven")
    assert parse_rating("love") == ("love", 5.0) and parse_rating("3.5") == ("rating", 3.5)
    row, rows = await _db_state(small_app, user)
    assert row is None and rows == []


async def test_non_finite_update_keeps_previous_vector_but_saves_the_rating(small_app) -> None:  # type: ignore[no-untyped-def]
    user = new_user()
    await small_app.feedback.record(user, TOY_STORY, "rating", 4.0, "slash")
    before, _ = await _db_state(small_app, user)
    trainer = small_app.runtime.trainer
    index = small_app.runtime.catalog.items.get(HEAT)
    saved = trainer.p_val[index].copy()
    trainer.p_val[index, 0] = np.nan
    try:
        result = await small_app.feedback.record(user, HEAT, "rating", 5.0, "slash")
    finally:
        trainer.p_val[index] = saved
    after, rows = await _db_state(small_app, user)
    assert not result.embedding_updated and {r["movie_id"] for r in rows} == {TOY_STORY, HEAT}
    assert after["solver_state"] == before["solver_state"]
    assert np.allclose(as_array(after["embedding"]), as_array(before["embedding"]))


async def test_recommendations_exclude_rated_and_carry_reasons(small_app) -> None:  # type: ignore[no-untyped-def]
    user = new_user()
    popular = sorted(small_app.runtime.movies, key=lambda m: -small_app.runtime.movies[m]["rating_count"])[:40]
    for i, movie in enumerate(popular[:30]):
        await small_app.feedback.record(user, movie, "rating", [5.0, 4.0, 2.0][i % 3], "slash")
    for movie in popular[30:32]:
        await small_app.feedback.record(user, movie, "not_interested", None, "button")
    result = await small_app.recommendations.recommend(user, 20)
    shown = {m.movie_id for m in result.movies}
    assert len(shown) == 20 and not shown & set(popular[:32])
    assert not result.cold_start and not result.fallback and result.rating_count == 30
    assert all(m.reason for m in result.movies) and all(m.signals for m in result.movies)
    assert all(m.match is not None and 0.0 <= m.match <= 1.0 for m in result.movies)  # calibrated match %
    # the cache is dropped when the user rates: the newly rated movie disappears
    top = result.movies[0].movie_id
    await small_app.feedback.record(user, top, "rating", 3.0, "slash")
    assert top not in {m.movie_id for m in (await small_app.recommendations.recommend(user, 20)).movies}
    async with small_app.db.acquire() as conn:
        logged = await conn.fetchval("SELECT count(*) FROM recommendation_log WHERE user_id = $1", user)
    assert logged == 40


async def test_cold_start_and_fallback(small_app, pg_server, test_settings) -> None:  # type: ignore[no-untyped-def]
    user = new_user()
    empty = await small_app.recommendations.recommend(user, 5)
    assert empty.cold_start and not empty.fallback and empty.ratings_needed == 5
    await small_app.feedback.record(user, HEAT, "rating", 5.0, "slash")
    await small_app.feedback.record(user, SEVEN, "rating", 4.5, "slash")
    few = await small_app.recommendations.recommend(user, 5)
    assert few.cold_start and few.ratings_needed == 3 and not {HEAT, SEVEN} & {m.movie_id for m in few.movies}
    # a runtime without any registered model serves popular movies, labelled as a fallback
    from bot.services.recommendations import RecommendationService
    from engine.ranker import HybridRanker

    runtime = await load_runtime(small_app.db)
    runtime.model = runtime.trainer = None
    runtime.ranker = HybridRanker(runtime.catalog, None)

    fallback = await RecommendationService(small_app.db, runtime).recommend(user, 5)
    assert fallback.fallback and len(fallback.movies) == 5
    assert not {HEAT, SEVEN} & {m.movie_id for m in fallback.movies}
    counts = [small_app.runtime.movies[m.movie_id]["rating_count"] for m in fallback.movies]
    assert counts == sorted(counts, reverse=True)


async def test_mood_reranks_towards_the_slider(small_app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bot.services.sliders import read_slider_file

    runtime = small_app.runtime
    assert runtime.sliders is not None and len(runtime.sliders.names) >= 12
    user = new_user()
    for movie, stars in ((HEAT, 5.0), (TOY_STORY, 4.0), (SEVEN, 4.5), (BRAVEHEART, 3.0), (USUAL_SUSPECTS, 4.5)):
        await small_app.feedback.record(user, movie, "rating", stars, "slash")
    column = runtime.sliders.index("scary")

    def fit(movies) -> float:  # type: ignore[no-untyped-def]
        return float(np.mean([runtime.slider_fit[runtime.catalog.items.get(m.movie_id), column] for m in movies]))

    plain = await small_app.recommendations.recommend(user, 10)
    scary = await small_app.recommendations.recommend(user, 10, mood="scary")
    assert fit(scary.movies) > fit(plain.movies) + 0.5
    for movie in scary.movies:  # "scary · because you loved Heat (1995)": the mood, then the pick's own reason
        assert movie.reason.startswith("scary · ") and len(movie.reason) > len("scary · "), movie.reason
    gloomy = await small_app.recommendations.recommend(user, 10, mood="gloomy")  # any phrase is a mood too
    assert len(gloomy.movies) == 10
    with pytest.raises(UserError, match="a phrase of 3 to 100 characters"):
        await small_app.recommendations.recommend(user, 10, mood="?")
    bad = tmp_path / "sliders.json"
    bad.write_text('{"Dark Mode": ""}', encoding="utf-8")
    with pytest.raises(UserError, match="lowercase name"):
        read_slider_file(bad)


async def test_contradictory_feedback_is_refused_and_changes_nothing(small_app) -> None:  # type: ignore[no-untyped-def]
    """Issue 11 #9: love with 0.5 stars, hate with 5, the string "4.5", stars on not-interested."""
    user = new_user()
    for kind, stars, message in (("love", 0.5, "contradicts itself"), ("hate", 5.0, "contradicts itself"),
                                 ("rating", "4.5", "is not a rating"), ("rating", float("nan"), "is not a rating"),
                                 ("not_interested", 4.0, "carries no stars"), ("rating", None, "needs its stars"),
                                 ("like", True, "is not a rating")):
        with pytest.raises(UserError, match=message):
            await small_app.feedback.record(user, HEAT, kind, stars, "slash")  # type: ignore[arg-type]
    row, rows = await _db_state(small_app, user)
    assert row is None and rows == []
    saved = await small_app.feedback.record(user, HEAT, "love", 4.5, "slash")  # a love may carry 4 to 5 stars
    assert saved.rating == 4.5


async def test_counts_out_of_range_are_refused_and_nan_scores_never_logged(small_app) -> None:  # type: ignore[no-untyped-def]
    user = new_user()
    for count in (0, 21, -3, 2.5):
        with pytest.raises(UserError, match="ask for 1 to 20"):
            await small_app.recommendations.recommend(user, count)  # type: ignore[arg-type]
    import asyncpg

    async with small_app.db.acquire() as conn:
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute("INSERT INTO recommendation_log (user_id, movie_id, position, score) VALUES ($1, $2, 0, 'NaN')",
                               user, HEAT)


async def test_members_the_model_was_trained_on_get_the_known_members_weights(small_app) -> None:  # type: ignore[no-untyped-def]
    """A retrain records how many of each member's ratings it trained on; while those are most of their
    ratings the known members' weights apply, and a member who joined since gets the new members'."""
    from engine.ranker import BUCKETS, DEFAULT_WEIGHTS, KNOWN, bucket

    async with small_app.db.acquire() as conn:
        member = await conn.fetchrow(
            "SELECT e.user_id, e.rating_count, e.trained_ratings FROM user_embeddings e WHERE e.user_id < 100000 "
            "AND e.rating_count >= 5 AND NOT EXISTS (SELECT 1 FROM user_model_weights w WHERE w.user_id = e.user_id) "
            "ORDER BY e.user_id DESC LIMIT 1")
    assert member is not None and member["trained_ratings"] == member["rating_count"] > 0
    table = small_app.runtime.model.weights
    learned = dict(table)
    try:  # two tables that tell apart which one was used
        for _low, name in BUCKETS[1:]:
            table[name], table[KNOWN + name] = dict(DEFAULT_WEIGHTS, model=0.25), dict(DEFAULT_WEIGHTS, model=2.0)
        small_app.recommendations.cache.invalidate(member["user_id"])
        trained = await small_app.recommendations.recommend(member["user_id"], 5)
        assert trained.weights == table[KNOWN + bucket(trained.rating_count)]
        user = new_user()
        popular = sorted(small_app.runtime.movies, key=lambda m: -small_app.runtime.movies[m]["rating_count"])[:12]
        for i, movie in enumerate(popular):
            await small_app.feedback.record(user, movie, "rating", [5.0, 4.0, 2.0][i % 3], "slash")
        joined = await small_app.recommendations.recommend(user, 5)
        assert joined.weights == table[bucket(12)] and joined.weights != table[KNOWN + bucket(12)]
    finally:
        table.clear()
        table.update(learned)
    assert set(learned) >= {KNOWN + name for _low, name in BUCKETS[1:]}  # training learned the known members' table
