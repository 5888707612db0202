"""The similar-member index (migration 0015): nearest members, and keeping the index current."""
from __future__ import annotations

import asyncio
from typing import Iterable

import asyncpg
import numpy as np

from bot.db.queries import queries


async def similar_users(conn: asyncpg.Connection, user_id: int, embedding: np.ndarray, limit: int) -> list[asyncpg.Record]:
    return await queries().similar_users(conn, user_id=user_id, embedding=embedding, limit_n=limit)


async def similar_users_exact(conn: asyncpg.Connection, user_id: int, embedding: np.ndarray,
                              limit: int) -> list[asyncpg.Record]:
    """The exact nearest by a full scan: the repair for a short answer from the index."""
    return await queries().similar_users_exact(conn, user_id=user_id, embedding=embedding, limit_n=limit)


async def sample(conn: asyncpg.Connection, limit: int) -> list[asyncpg.Record]:
    return await queries().sample_indexed_members(conn, limit_n=limit)


async def all_vectors(conn: asyncpg.Connection) -> tuple[np.ndarray, np.ndarray]:
    """(member ids, vectors) of every indexed member. The rows become arrays in a worker thread: at
    330,000 members that is seconds the event loop (a running bot's) would otherwise stand still."""
    return await asyncio.to_thread(_ids_and_vectors, await queries().indexed_vectors(conn))


async def queue_members(conn: asyncpg.Connection, user_ids: Iterable[int]) -> None:
    await queries().queue_members(conn, user_ids=[int(u) for u in user_ids])


async def refresh(conn: asyncpg.Connection, limit: int) -> int:
    """Up to ``limit`` queued entries applied; the number taken (0: the queue is empty)."""
    return int(await queries().refresh_member_index(conn, limit_n=limit))


async def queued(conn: asyncpg.Connection) -> int:
    return int(await queries().queued_members(conn))


async def indexed_members(conn: asyncpg.Connection) -> int:
    return int(await queries().indexed_members(conn))


async def vacuum(conn: asyncpg.Connection) -> None:
    """Outside any transaction (VACUUM cannot run inside one)."""
    await queries().vacuum_member_index(conn)


async def disagreements(conn: asyncpg.Connection, user_ids: Iterable[int]) -> int:
    """Members (of these) whose index row is not what user_embeddings holds now."""
    return int(await queries().index_disagreements(conn, user_ids=[int(u) for u in user_ids]))


async def rebuild(conn: asyncpg.Connection, model_version: str, build_megabytes: int) -> None:
    """Inside a retrain's transaction: a new index table of every member's current vector, built in
    bulk and swapped in; this retrain's members leave the queue."""
    await queries().set_build_memory(conn, megabytes=int(build_megabytes))
    await queries().build_member_index_copy(conn)
    try:
        async with conn.transaction():  # a savepoint: a failed parallel build is retried alone
            await queries().index_member_index_copy(conn)
    except asyncpg.InsufficientResourcesError:
        # a parallel build keeps its graph in shared memory, which a container's /dev/shm (Docker: 64 MB)
        # may not hold; a build without workers keeps it in its own memory
        await queries().build_without_workers(conn)
        await queries().index_member_index_copy(conn)
    await queries().swap_in_member_index_copy(conn)
    await queries().unqueue_retrained_members(conn, model_version=model_version)


async def generation(conn: asyncpg.Connection) -> int:
    """Changes when a retrain swaps in a rebuilt index table."""
    return int(await queries().member_index_generation(conn))


async def horizon(conn: asyncpg.Connection) -> str:
    """Read before `changes_since`: the ``since`` of the next read (see migration 0017)."""
    return str(await queries().member_index_horizon(conn))


async def changes_since(conn: asyncpg.Connection, since: str) -> tuple[np.ndarray, np.ndarray]:
    """(member ids, vectors) of the rows written at or after a horizon."""
    return _ids_and_vectors(await queries().member_index_changes(conn, since=since))


async def member_ids(conn: asyncpg.Connection) -> set[int]:
    return {int(r["user_id"]) for r in await queries().indexed_member_ids(conn)}


def _ids_and_vectors(rows: list) -> tuple[np.ndarray, np.ndarray]:
    from bot.db.pool import as_array

    ids = np.array([r["user_id"] for r in rows], dtype=np.int64)
    vectors = np.stack([as_array(r["embedding"]) for r in rows]) if rows else np.zeros((0, 0), np.float32)  # float32 already
    return ids, vectors


async def vectors_of(conn: asyncpg.Connection, user_ids: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
    """(member ids, vectors) of these members' index rows (members not indexed are left out)."""
    return _ids_and_vectors(await queries().indexed_vectors_of(conn, user_ids=[int(u) for u in user_ids]))
