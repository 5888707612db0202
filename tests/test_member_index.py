"""Similar-member search through the HNSW index on member_index (migration 0015), kept current by
the refresher after each rating: recall against the exact answer computed from the members' stored
vectors, before and after rounds of in-place updates (every rating rewrites a member's row) and
VACUUM, with new members (fewer than five ratings, all on the same placeholder vector) among them;
and what the refresher must never do (bring back a forgotten member, put back an older vector)."""
from __future__ import annotations

import asyncio

import numpy as np

from bot.db.pool import HNSW_EF_SEARCH, as_array
from bot.repositories import member_index as member_index_repo
from bot.services.member_index import MemberIndexRefresher

N_MEMBERS, DIM, LIMIT, QUERIES = 4000, 256, 100, 40


def _clustered(rng: np.random.Generator, centres: np.ndarray, n: int) -> np.ndarray:
    v = centres[rng.integers(0, len(centres), n)] + rng.normal(size=(n, DIM)) * 0.8
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


async def _neighbours(conn, user: int, vector: np.ndarray) -> list[int]:  # type: ignore[no-untyped-def]
    return [r["user_id"] for r in await member_index_repo.similar_users(conn, user, vector, LIMIT)]


def _exact(vectors: np.ndarray, counts: np.ndarray, user: int) -> list[int]:
    """The true nearest members with five or more ratings, from the vectors as last written."""
    similarity = vectors @ vectors[user]
    similarity[(counts < 5) | (np.arange(len(vectors)) == user)] = -np.inf
    order = np.argsort(-similarity, kind="stable")[:LIMIT]
    return [int(i) for i in order if np.isfinite(similarity[i])]


async def _write(db, conn, rows: list[tuple[int, np.ndarray, int]]) -> None:  # type: ignore[no-untyped-def]
    """Members' rows rewritten in place as a rating does, queued, and the refresher run."""
    await conn.executemany("INSERT INTO user_embeddings (user_id, embedding, rating_count) VALUES ($1, $2, $3) "
                           "ON CONFLICT (user_id) DO UPDATE SET embedding = EXCLUDED.embedding, "
                           "rating_count = EXCLUDED.rating_count, version = user_embeddings.version + 1", rows)
    await member_index_repo.queue_members(conn, [r[0] for r in rows])
    await MemberIndexRefresher(db, batch=700).flush()  # flush: also waits for the vacuum it may start


async def _recall(conn, rng: np.random.Generator, vectors: np.ndarray, counts: np.ndarray,  # type: ignore[no-untyped-def]
                  members: int = N_MEMBERS) -> tuple[float, int]:
    hits = total = short = 0
    for user in rng.choice(members, QUERIES, replace=False):
        exact = _exact(vectors, counts, int(user))
        found = await _neighbours(conn, int(user), vectors[user])
        assert int(user) not in found
        hits += len(set(exact) & set(found))
        total += len(exact)
        short += len(found) < len(exact)
    return hits / total, short


async def test_hnsw_recall_stays_above_95_percent_under_in_place_updates(db) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(40, DIM))
    vectors = _clustered(rng, centres, N_MEMBERS)
    counts = rng.integers(0, 60, N_MEMBERS)
    placeholder = np.zeros(DIM, dtype=np.float32)
    placeholder[0] = 1.0
    vectors[counts < 5] = placeholder  # new members sit on the placeholder until their fifth rating
    async with db.acquire() as conn:
        await _write(db, conn, [(i, vectors[i], int(c)) for i, c in enumerate(counts)])
        assert await conn.fetchval("SELECT count(*) FROM member_index") == int((counts >= 5).sum())
        await conn.execute("ANALYZE member_index")
        plan = "\n".join(r[0] for r in await conn.fetch(
            "EXPLAIN SELECT user_id FROM member_index ORDER BY embedding <=> $1 LIMIT 101", vectors[0]))
        assert "member_index_hnsw" in plan, plan
        recall, short = await _recall(conn, rng, vectors, counts)
        assert recall >= 0.95 and short == 0, (recall, short)
        for _round in range(3):
            # a third of the members rate again: their rows are rewritten in place; some cross five ratings
            moved = rng.choice(N_MEMBERS, N_MEMBERS // 3, replace=False)
            counts[moved] += 2
            vectors[moved] = _clustered(rng, centres, len(moved))
            vectors[counts < 5] = placeholder
            await _write(db, conn, [(int(i), vectors[i], int(counts[i])) for i in moved])
            recall, short = await _recall(conn, rng, vectors, counts)
            assert recall >= 0.95 and short == 0, (_round, recall, short)
        await conn.execute("VACUUM member_index")
        recall, short = await _recall(conn, rng, vectors, counts)
        assert recall >= 0.95 and short == 0, ("after vacuum", recall, short)


async def test_a_member_with_few_ratings_is_never_a_neighbour(db) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(1)
    vectors = _clustered(rng, rng.normal(size=(3, DIM)), 300)
    async with db.acquire() as conn:
        await _write(db, conn, [(i, vectors[i], 4 if i % 2 else 9) for i in range(300)])
        found = await _neighbours(conn, 0, vectors[0])
    assert found and all(user % 2 == 0 for user in found) and 0 not in found
    assert len(found) == min(LIMIT, 149)




async def test_every_pooled_connection_searches_wide_enough_after_reuse(db) -> None:  # type: ignore[no-untyped-def]
    """The pool resets a connection's session (RESET ALL) each time it is released: the HNSW scan width
    must survive that, or the search returns pgvector's default 40 rows instead of the asked 100."""
    rng = np.random.default_rng(3)
    vectors = _clustered(rng, rng.normal(size=(4, DIM)), 400)
    async with db.acquire() as conn:
        await _write(db, conn, [(i, vectors[i], 9) for i in range(400)])
    for _use in range(3):  # the same few pooled connections, released and reset in between
        async with db.acquire() as conn:
            assert await conn.fetchval("SHOW hnsw.ef_search") == str(HNSW_EF_SEARCH)
            found = await _neighbours(conn, 0, vectors[0])
            assert len(found) == LIMIT and 0 not in found


async def test_a_refresh_never_brings_back_a_forgotten_member_nor_puts_back_an_older_vector(db) -> None:  # type: ignore[no-untyped-def]
    from bot.repositories.privacy import forget_user

    rng = np.random.default_rng(5)
    vectors = _clustered(rng, rng.normal(size=(2, DIM)), 3)
    async with db.acquire() as conn:
        await _write(db, conn, [(1, vectors[0], 9), (2, vectors[1], 9)])
        assert await conn.fetchval("SELECT count(*) FROM member_index") == 2
        # member 1 rates again (queued), then asks to be forgotten before any refresh ran
        await conn.execute("UPDATE user_embeddings SET embedding = $1, version = version + 1 WHERE user_id = 1", vectors[2])
        await member_index_repo.queue_members(conn, [1])
        await forget_user(conn, 1)
        # a refresh that read member 2 at an older state finishes after one that read them newer
        await conn.execute("UPDATE member_index SET version = version + 5, embedding = $1 WHERE user_id = 2", vectors[2])
        await member_index_repo.queue_members(conn, [2])
        assert await MemberIndexRefresher(db).drain() == 1  # member 1's entry went with them
        assert await conn.fetchval("SELECT count(*) FROM member_index WHERE user_id = 1") == 0
        kept = await conn.fetchval("SELECT embedding FROM member_index WHERE user_id = 2")
        assert np.allclose(as_array(kept), vectors[2], atol=1e-6)
        # below five ratings a member leaves the index at the next refresh
        await conn.execute("UPDATE user_embeddings SET rating_count = 3, version = version + 10 WHERE user_id = 2")
        await member_index_repo.queue_members(conn, [2])
        await MemberIndexRefresher(db).drain()
        assert await conn.fetchval("SELECT count(*) FROM member_index") == 0
        assert await member_index_repo.queued(conn) == 0
        # the audit's check: a member with no state row at all (never rated) is not a disagreement
        assert await member_index_repo.disagreements(conn, [1, 2, 77]) == 0
        await conn.execute("INSERT INTO member_index (user_id, embedding, version) VALUES (2, $1, 99)", vectors[0])
        assert await member_index_repo.disagreements(conn, [1, 2, 77]) == 1


async def test_a_rating_reaches_the_index_after_the_reply_and_a_retrain_rewrites_it_in_its_transaction(small_app) -> None:  # type: ignore[no-untyped-def]
    app = small_app
    member = 9_000_000_000_000_000_515
    movies = sorted(app.runtime.movies)[:8]
    for k, movie in enumerate(movies):
        await app.feedback.record(member, movie, "rating", 2.0 + (k % 4), "api")
    await app.services.member_index.flush()
    async with app.db.acquire() as conn:
        state = await conn.fetchrow("SELECT embedding, version FROM user_embeddings WHERE user_id = $1", member)
        indexed = await conn.fetchrow("SELECT embedding, version FROM member_index WHERE user_id = $1", member)
        assert indexed is not None and indexed["version"] == state["version"]
        assert np.allclose(as_array(indexed["embedding"]), as_array(state["embedding"]), atol=1e-6)
        assert await member_index_repo.queued(conn) == 0
        # every trained member with five or more ratings is in the index (train_model refreshed it)
        missing = await conn.fetchval("SELECT count(*) FROM user_embeddings u WHERE rating_count >= 5 AND NOT EXISTS "
                                      "(SELECT 1 FROM member_index i WHERE i.user_id = u.user_id)")
        assert missing == 0
    await app.services.privacy.forget(member)


async def _definition(conn) -> tuple[list[tuple], list[str]]:  # type: ignore[no-untyped-def]
    columns = [tuple(r) for r in await conn.fetch(
        "SELECT column_name, data_type, udt_name, is_nullable, column_default FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = 'member_index' ORDER BY ordinal_position")]
    indexes = sorted(r[0] for r in await conn.fetch(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'member_index'"))
    return columns, indexes


async def test_a_retrain_that_rewrote_most_members_rebuilds_the_index_in_bulk_while_searches_go_on(db) -> None:  # type: ignore[no-untyped-def]
    from bot.services.member_index import apply_retrain

    rng = np.random.default_rng(11)
    centres = rng.normal(size=(20, DIM))
    n = 1500
    vectors = _clustered(rng, centres, n)
    counts = rng.integers(0, 40, n)
    async with db.acquire() as conn:
        await _write(db, conn, [(i, vectors[i], int(c)) for i, c in enumerate(counts)])
        before = await _definition(conn)
    # the retrain: every member but the last 100 gets a new vector under model "vnew"; the last 100
    # were queued by ratings of their own, which the rebuild must leave for the refresher
    retrained = np.arange(n - 100)
    vectors[retrained] = _clustered(rng, centres, len(retrained))
    async with db.acquire() as searcher:
        await _neighbours(searcher, 0, vectors[0])  # its statement prepared against the old table
        async with db.bulk_transaction() as conn:
            await conn.executemany("UPDATE user_embeddings SET embedding = $2, version = version + 1, "
                                   "model_version = 'vnew' WHERE user_id = $1", [(int(i), vectors[i]) for i in retrained])
            await member_index_repo.queue_members(conn, [int(i) for i in range(n)])
            assert await apply_retrain(conn, "vnew", len(retrained), rebuild_min=0) == "rebuilt"
            # a search from now until the commit waits for the swapped-in table, then answers from it
            waiting = asyncio.create_task(_neighbours(searcher, 0, vectors[0]))
            await asyncio.sleep(0.5)
            assert not waiting.done()
        found = await waiting
    assert len(found) == LIMIT and len(set(found) & set(_exact(vectors, counts, 0))) >= 95  # the new vectors
    async with db.acquire() as conn:
        assert await _definition(conn) == before  # the same table and indexes as migration 0015 made
        assert await member_index_repo.queued(conn) == 100
        assert await conn.fetchval("SELECT count(*) FROM member_index") == int((counts >= 5).sum())
        assert await member_index_repo.disagreements(conn, list(range(n))) == 0
        assert not await conn.fetchval("SELECT to_regclass('member_index_build') IS NOT NULL")
        recall, short = await _recall(conn, rng, vectors, counts, members=n)
        assert recall >= 0.95 and short == 0, (recall, short)
    # and the refresher goes on with the swapped-in table: the 100 left queued apply, a new rating too
    vectors[n - 1] = vectors[0]
    async with db.acquire() as conn:
        await _write(db, conn, [(n - 1, vectors[n - 1], 50)])
        assert await member_index_repo.queued(conn) == 0
        assert (n - 1) in (await _neighbours(conn, 0, vectors[0]))[:3]

async def test_the_benchmark_measures_recall_against_the_exact_nearest(db) -> None:  # type: ignore[no-untyped-def]
    """`cinesync bench` reports the search's recall; it must agree with the exact answer computed here. A
    tiny hnsw.ef_search cuts every index answer short of 100: the search then answers from a scan, and
    the bench's recall and time are of what members get."""
    from types import SimpleNamespace

    from bot.services.benchmark import _similar_member_search

    rng = np.random.default_rng(3)
    vectors = _clustered(rng, rng.normal(size=(20, DIM)), 1500)
    async with db.acquire() as conn:
        await _write(db, conn, [(i, vectors[i], 10) for i in range(1500)])
        expected, _short = await _recall(conn, rng, vectors, np.full(1500, 10), members=1500)
    from bot.services.member_search import MemberSearch

    def app_on(database):  # type: ignore[no-untyped-def]
        return SimpleNamespace(db=database, services=SimpleNamespace(member_search=MemberSearch(database, in_memory=False)))

    report = (await _similar_member_search(app_on(db), np.random.default_rng(0), queries=60, recall_queries=40))["similar_members"]
    assert report["members"] == 1500 and report["recall_queries"] == 40 and report["n"] == 50
    assert report["recall"] >= 0.95 and abs(report["recall"] - expected) < 0.03, (report, expected)
    import asyncpg

    from bot.db.pool import Database, _init_connection

    narrow = await asyncpg.create_pool(db.dsn, min_size=1, max_size=2, init=_init_connection,
                                       server_settings={"hnsw.ef_search": "10"})
    try:
        repaired = (await _similar_member_search(app_on(Database(pool=narrow, dsn=db.dsn, acquire_timeout=10.0)),
                                              np.random.default_rng(0), queries=20, recall_queries=20))["similar_members"]
    finally:
        await narrow.close()
    assert repaired["recall"] >= 0.99, repaired  # the scan's answer is the exact one (ties aside)
