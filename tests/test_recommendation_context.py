"""The one read a recommendation makes about its member (`recommendation_context`), on the real database."""
from __future__ import annotations

from bot.db.pool import Database
from bot.repositories.models import recommendation_context


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
