"""What a recommendation reads about its member in one query (`recommendation_context`) and the log of what
it showed (`log_recommendations`), on the real database."""
from __future__ import annotations

from bot.db.pool import Database
import pytest

from bot.repositories.models import log_recommendations, recommendation_context


async def test_a_member_with_nothing_stored_gets_one_empty_row(db: Database) -> None:
    async with db.acquire() as conn:
        row = await recommendation_context(conn, 41)
    assert row is not None and row["has_state"] is False
    assert (row["embedding"], row["weights"], row["patterns"]) == (None, None, None)
    assert (list(row["recent"]), list(row["watchlist"])) == ([], [])


async def test_it_holds_the_members_weights_profile_recent_picks_and_watchlist_only(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.executemany("INSERT INTO movies (movie_id, title) VALUES ($1, $2)",
                               [(1, "Heat"), (2, "Alien"), (3, "Amélie"), (4, "Seven")])
        for member in (42, 43):  # 43's rows must not leak into 42's context
            await conn.execute("INSERT INTO user_model_weights (user_id, weights) VALUES ($1, $2)",
                               member, {"collaborative": float(member)})
            await conn.execute("INSERT INTO user_preferences (user_id, patterns, ratings_used) VALUES ($1, $2, 5)",
                               member, {"genres": {"Crime": member}})
            await conn.execute("INSERT INTO watchlist (user_id, movie_id) VALUES ($1, $2)", member, member - 41)
        log = ("INSERT INTO recommendation_log (user_id, movie_id, position, score, shown_at) "
               "VALUES ($1, $2, 0, 1.0, now() - $3 * interval '1 hour')")
        await conn.executemany(log, [(42, 3, 2), (42, 3, 3), (42, 4, 30), (43, 2, 1)])  # Seven: shown 30 h ago
    async with db.acquire() as conn:
        row = await recommendation_context(conn, 42)
    assert row["has_state"] is False  # no taste vector yet
    assert row["weights"] == {"collaborative": 42.0} and row["patterns"] == {"genres": {"Crime": 42}}
    assert list(row["recent"]) == [3]  # shown twice today, once; not the film shown more than a day ago
    assert list(row["watchlist"]) == [1]


async def test_a_logged_list_is_stored_whole_and_leaves_the_session_durable(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.executemany("INSERT INTO movies (movie_id, title) VALUES ($1, $2)", [(1, "Heat"), (2, "Alien")])
    async with db.acquire() as conn:
        await log_recommendations(conn, 42, [(2, 0, 0.75, {"collaborative": 1.5}), (1, 1, 0.25, {})], "slash", "cosy", "v1")
        # the relaxed commit was the statement's own: the connection's later commits wait for the disk again
        assert await conn.fetchval("SHOW synchronous_commit") == "on"
        rows = await conn.fetch("SELECT movie_id, position, score, scores, surface, mood, model_version "
                                "FROM recommendation_log WHERE user_id = 42 ORDER BY position")
        assert [tuple(r) for r in rows] == [(2, 0, 0.75, {"collaborative": 1.5}, "slash", "cosy", "v1"),
                                            (1, 1, 0.25, {}, "slash", "cosy", "v1")]
        assert list((await recommendation_context(conn, 42))["recent"]) == [1, 2]


async def test_logging_inside_a_callers_transaction_is_refused(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO movies (movie_id, title) VALUES (1, 'Heat')")
    async with db.acquire() as conn:
        async with conn.transaction():
            with pytest.raises(RuntimeError, match="outside a transaction"):
                await log_recommendations(conn, 42, [(1, 0, 0.5, {})], "slash", None, None)
            assert await conn.fetchval("SHOW synchronous_commit") == "on"
        assert await conn.fetchval("SELECT count(*) FROM recommendation_log") == 0
