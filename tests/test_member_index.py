"""Similar-member search through the partial HNSW index (migration 0014): recall against the exact
scan, before and after rounds of in-place updates (every rating rewrites a member's row) and VACUUM,
with new members (fewer than five ratings, all on the same placeholder vector) among them."""
from __future__ import annotations

import numpy as np

from bot.db.pool import HNSW_EF_SEARCH
from bot.repositories import models as model_repo

N_MEMBERS, DIM, LIMIT, QUERIES = 4000, 256, 100, 40


def _clustered(rng: np.random.Generator, centres: np.ndarray, n: int) -> np.ndarray:
    v = centres[rng.integers(0, len(centres), n)] + rng.normal(size=(n, DIM)) * 0.8
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


async def _neighbours(conn, user: int, vector: np.ndarray, exact: bool) -> list[int]:  # type: ignore[no-untyped-def]
    async with conn.transaction():
        if exact:  # the same query, planned without any index: the exact scan
            await conn.execute("SET LOCAL enable_indexscan = off")
            await conn.execute("SET LOCAL enable_bitmapscan = off")
        return [r["user_id"] for r in await model_repo.similar_users(conn, user, vector, LIMIT)]


async def _recall(conn, rng: np.random.Generator, vectors: np.ndarray) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    hits = total = short = 0
    for user in rng.choice(N_MEMBERS, QUERIES, replace=False):
        exact = await _neighbours(conn, int(user), vectors[user], exact=True)
        found = await _neighbours(conn, int(user), vectors[user], exact=False)
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
        await conn.copy_records_to_table("user_embeddings", columns=["user_id", "embedding", "rating_count"],
                                         records=[(i, vectors[i], int(c)) for i, c in enumerate(counts)])
        await conn.execute("ANALYZE user_embeddings")
        plan = "\n".join(r[0] for r in await conn.fetch(
            "EXPLAIN SELECT user_id FROM user_embeddings WHERE rating_count >= 5 ORDER BY embedding <=> $1 LIMIT 101",
            vectors[0]))
        assert "user_embeddings_hnsw" in plan, plan
        recall, short = await _recall(conn, rng, vectors)
        assert recall >= 0.95 and short == 0, (recall, short)
        for _round in range(3):
            # a third of the members rate again: their rows are rewritten in place; some cross five ratings
            moved = rng.choice(N_MEMBERS, N_MEMBERS // 3, replace=False)
            counts[moved] += 2
            vectors[moved] = _clustered(rng, centres, len(moved))
            vectors[counts < 5] = placeholder
            await conn.executemany("UPDATE user_embeddings SET embedding = $2, rating_count = $3 WHERE user_id = $1",
                                   [(int(i), vectors[i], int(counts[i])) for i in moved])
            recall, short = await _recall(conn, rng, vectors)
            assert recall >= 0.95 and short == 0, (_round, recall, short)
        await conn.execute("VACUUM user_embeddings")
        recall, short = await _recall(conn, rng, vectors)
        assert recall >= 0.95 and short == 0, ("after vacuum", recall, short)


async def test_a_member_with_few_ratings_is_never_a_neighbour(db) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(1)
    vectors = _clustered(rng, rng.normal(size=(3, DIM)), 300)
    async with db.acquire() as conn:
        await conn.copy_records_to_table("user_embeddings", columns=["user_id", "embedding", "rating_count"],
                                         records=[(i, vectors[i], 4 if i % 2 else 9) for i in range(300)])
        found = await _neighbours(conn, 0, vectors[0], exact=False)
    assert found and all(user % 2 == 0 for user in found) and 0 not in found
    assert len(found) == min(LIMIT, 149)




async def test_every_pooled_connection_searches_wide_enough_after_reuse(db) -> None:  # type: ignore[no-untyped-def]
    """The pool resets a connection's session (RESET ALL) each time it is released: the HNSW scan width
    must survive that, or the search returns pgvector's default 40 rows instead of the asked 100."""
    rng = np.random.default_rng(3)
    vectors = _clustered(rng, rng.normal(size=(4, DIM)), 400)
    async with db.acquire() as conn:
        await conn.copy_records_to_table("user_embeddings", columns=["user_id", "embedding", "rating_count"],
                                         records=[(i, vectors[i], 9) for i in range(400)])
    for _use in range(3):  # the same few pooled connections, released and reset in between
        async with db.acquire() as conn:
            assert await conn.fetchval("SHOW hnsw.ef_search") == str(HNSW_EF_SEARCH)
            found = await _neighbours(conn, 0, vectors[0], exact=False)
            assert len(found) == LIMIT and 0 not in found
