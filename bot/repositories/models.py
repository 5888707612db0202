"""Trained models: registry, item vectors, text embeddings, neighbours and per-user weights."""
from __future__ import annotations

import json
from typing import Any, AsyncIterator

import asyncpg
import numpy as np

from bot.db.queries import queries


async def register_model(conn: asyncpg.Connection, version: str, data_hash: str, params: dict[str, Any],
                         metrics: dict[str, Any], checkpoint_name: str, checkpoint: bytes) -> None:
    """The model and its checkpoint bytes; every process listening hears of it on commit."""
    await queries().register_model(conn, version=version, data_hash=data_hash, params=params, metrics=metrics,
                                   checkpoint_path=checkpoint_name, checkpoint=checkpoint)


async def newest_model_version(conn: asyncpg.Connection) -> str | None:
    return await queries().newest_model_version(conn)


async def serving_stamp(conn: asyncpg.Connection) -> str:
    return await queries().serving_stamp(conn)


async def announce_catalog(conn: asyncpg.Connection) -> None:
    await queries().announce_catalog(conn)


async def newest_model(conn: asyncpg.Connection) -> asyncpg.Record | None:
    return await queries().newest_model(conn)


async def store_item_vectors(conn: asyncpg.Connection, model_version: str, movie_ids: np.ndarray, vectors: np.ndarray) -> None:
    await queries().create_item_vector_stage(conn)
    await conn.copy_records_to_table("item_vector_stage", records=list(zip(movie_ids.tolist(), vectors)),
                                     columns=["movie_id", "embedding"])
    await queries().store_item_vectors_from_stage(conn, model_version=model_version)


async def state_versions(conn: asyncpg.Connection) -> dict[int, tuple[int, Any]]:
    """user -> (version, updated_at) of their state row, read inside the job's snapshot."""
    return {r["user_id"]: (r["version"], r["updated_at"]) for r in await queries().state_versions(conn)}


async def hold_member_writes(conn: asyncpg.Connection) -> None:
    """In a background job's write transaction: /forget_me waits until it commits."""
    await queries().hold_member_writes(conn)


async def store_user_states(conn: asyncpg.Connection, model_version: str, rows: list[tuple[Any, ...]]) -> tuple[int, int]:
    """rows: (user, embedding, solver_state, ratings, feedback, read_version, read_updated_at). Writes only
    states still as read and members still present; returns (written, staged)."""
    await queries().create_user_state_stage(conn)
    await conn.copy_records_to_table("user_state_stage", records=rows,
                                     columns=["user_id", "embedding", "solver_state", "rating_count", "feedback_count",
                                              "read_version", "read_updated_at"])
    result = await queries().store_user_states_from_stage(conn, model_version=model_version)
    return int(result["written"]), int(result["staged"])


async def rebase_user_state(conn: asyncpg.Connection, user_id: int, read_version: int, embedding: np.ndarray,
                            solver_state: bytes, rating_count: int, feedback_count: int, model_version: str) -> int | None:
    """The state re-based on the serving model, unless it changed since read; its new version or None."""
    return await queries().rebase_user_state(conn, user_id=user_id, read_version=read_version, embedding=embedding,
                                             solver_state=solver_state, rating_count=rating_count,
                                             feedback_count=feedback_count, model_version=model_version)


async def text_embeddings(conn: asyncpg.Connection, model_name: str) -> list[asyncpg.Record]:
    return await queries().text_embeddings(conn, model_name=model_name)


async def save_text_embeddings(conn: asyncpg.Connection, model_name: str, rows: list[tuple[int, str, np.ndarray]]) -> None:
    await queries().save_text_embeddings(conn, rows=[
        {"movie_id": m, "model_name": model_name, "text_hash": h, "embedding": v} for m, h, v in rows])


async def catalog_rows(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await queries().catalog_rows(conn)


async def loved_movies_in_chunks(conn: asyncpg.Connection, chunk: int) -> AsyncIterator[list[asyncpg.Record]]:
    """`loved_movies` through a server-side cursor, ``chunk`` members a fetch (inside the caller's transaction)."""
    cursor = await conn.cursor(queries().loved_movies.sql)
    while rows := await cursor.fetch(chunk):
        yield rows


async def user_weights(conn: asyncpg.Connection, user_id: int) -> asyncpg.Record | None:
    return await queries().user_weights(conn, user_id=user_id)


async def save_many_user_weights(conn: asyncpg.Connection, rows: list[dict[str, Any]]) -> None:
    """rows: user_id, weights, fitted_on. Only the PreferenceLearner job calls this."""
    await queries().save_many_user_weights(conn, rows=rows)


async def taste_vectors(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await queries().taste_vectors(conn)


async def recommendation_context(conn: asyncpg.Connection, user_id: int) -> asyncpg.Record:
    """One row, also for a member with nothing stored (has_state false, NULL state columns)."""
    return await queries().recommendation_context(conn, user_id=user_id)


async def log_recommendations(conn: asyncpg.Connection, user_id: int, shown: list[tuple[int, int, float, dict]],
                              surface: str, mood: str | None, model_version: str | None) -> None:
    """One list shown to a member, ``shown`` = (movie id, position, score, signal scores) each: committed on
    its own without waiting for the WAL flush (the log is not worth that wait on the reply path)."""
    if conn.is_in_transaction():  # the relaxed commit would be the caller's whole transaction's
        raise RuntimeError("log_recommendations commits on its own: call it outside a transaction")
    await queries().log_recommendations(
        conn, user_id=user_id, movie_ids=[s[0] for s in shown], positions=[s[1] for s in shown],
        scores=[s[2] for s in shown], score_maps=[json.dumps(s[3]) for s in shown], surface=surface, mood=mood,
        model_version=model_version)


async def sliders(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await queries().sliders(conn)


async def replace_sliders(conn: asyncpg.Connection, rows: list[dict[str, Any]]) -> None:
    """rows: name, description, labels, model_name, embedding; sliders not listed are removed."""
    await queries().save_slider(conn, rows=rows)
    await queries().delete_sliders_except(conn, names=[r["name"] for r in rows])
