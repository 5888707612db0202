"""`cinesync train` and `/admin retrain`: snapshot the ratings, fit, register, re-base every user.

One retrain at a time per database (an advisory lock every process sees). The ratings and each
member's state version are read in one snapshot; the fitting runs in a worker thread (the event
loop keeps serving); the writes happen in one transaction: registry row with the checkpoint,
item vectors, and every member's state recomputed in the new model's basis, so online updates
continue exactly from a batch refit. A member whose state changed after the snapshot (feedback
during the retrain) keeps it and is re-based on the new model at their next request; a member
forgotten meanwhile is not written back.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np
from tqdm import tqdm

from bot.db.pool import Database
from bot.repositories import feedback as feedback_repo
from bot.repositories import models as model_repo
from bot.services.jobs import RETRAIN_JOB
from bot.services.member_index import apply_retrain as apply_retrain_to_index
from bot.services.periodic import exclusive_job
from bot.services.runtime import catalog_from_rows, checkpoint_bytes
from bot.services.sliders import load_sliders, reload_sliders
from bot.services.moods import fit_catalog_moods
from engine.sliders import SliderScorer, fit_slider_calibrators
from bot.services.text_vectors import ensure_text_vectors
from bot.settings import Settings
from engine.data import History
from engine.calibration_fit import fit_calibrator, held_out_ratings, rating_stats
from engine.engine import batch_state, fit_engine
from engine.trainer import unit
from engine.training import TrainConfig, choose_config, data_hash, resolved, side_fit_members
from engine.ranker import DEFAULT_WEIGHTS, WEIGHT_KEYS, weight_key
from engine.weights import learn_bucket_weights, mean_ndcg, validation_queries

log = logging.getLogger(__name__)


@dataclass
class TrainReport:
    version: str
    users: int
    ratings: int
    metrics: dict[str, Any]
    seconds: float
    checkpoint: str  # where it is stored, for the operator
    written: int = 0  # member states written in the new basis
    not_written: int = 0  # changed (re-based at their next request) or forgotten during the fit


def histories_from_rows(rows: list[Any], index: dict[int, int]) -> dict[int, History]:
    by_user: dict[int, list[Any]] = {}
    for row in rows:
        if row["movie_id"] in index:
            by_user.setdefault(row["user_id"], []).append(row)
    return {
        user: History(
            np.array([index[r["movie_id"]] for r in group], dtype=np.int64),
            np.array([np.nan if r["rating"] is None else r["rating"] for r in group], dtype=np.float64),
            tuple(r["kind"] for r in group),
        )
        for user, group in by_user.items()
    }


def histories_from_columns(columns: feedback_repo.FeedbackColumns, movie_ids: np.ndarray) -> dict[int, History]:
    """`histories_from_rows` for column arrays (rows grouped by member, in time order); feedback on a
    film the catalog does not hold is left out. ``movie_ids``: the catalog's ids (row order)."""
    sorter = np.argsort(movie_ids, kind="stable")
    found = np.minimum(np.searchsorted(movie_ids, columns.movie_ids, sorter=sorter), max(len(movie_ids) - 1, 0))
    position = sorter[found] if len(movie_ids) else found
    known = (movie_ids[position] == columns.movie_ids) if len(movie_ids) else np.zeros(len(columns), dtype=bool)
    users, items = columns.user_ids[known], position[known]
    ratings, kinds = columns.ratings[known], columns.kinds[known]
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]]) if len(users) else np.empty(0, dtype=np.int64)
    ends = np.r_[starts[1:], len(users)]
    names = columns.kind_names
    return {int(users[a]): History(items[a:b].astype(np.int64), ratings[a:b], tuple(names[k] for k in kinds[a:b]))
            for a, b in zip(starts, ends)}


def _fit(histories: dict[int, History], catalog, config: TrainConfig | None, progress: bool, sliders=None,  # type: ignore[no-untyped-def]
         rows: list[dict[str, Any]] | None = None, device: str = "cpu"):
    """The served model: constants chosen on a validation split of these histories unless given."""
    n_items = len(catalog)
    tried: dict[str, float] = {}
    base = resolved(config or TrainConfig(device=device), histories)  # the solver the whole data needs
    sample = side_fit_members(histories, n_items, base)  # everyone, or a fixed-size sample on large data
    if config is None:
        config, tried = choose_config(sample, n_items, progress=progress, base=base)
    fit = lambda hs: fit_engine(hs, catalog, config)  # noqa: E731
    # match % first: the signal weights are learned on lists as they are shown, in match order
    calibrator, dislike, calibration = fit_calibrator(sample, catalog, config, progress=progress)
    queries = validation_queries(sample, n_items, fit, progress=progress, calibrator=calibrator)
    weights = learn_bucket_weights(queries, progress=progress)
    served = [weights.get(weight_key(q.n_ratings, q.known), DEFAULT_WEIGHTS) for q in queries]  # each query's table
    per_query = [mean_ndcg([q], np.array([w[k] for k in WEIGHT_KEYS], dtype=np.float32), as_shown=q.known)
                 for q, w in zip(queries, served)]
    validation = float(np.mean(per_query)) if per_query else 0.0
    engine = fit_engine(list(histories.values()), catalog, config, weights, progress=progress)
    global_mean, means = rating_stats(histories, n_items)
    engine.model.calibrator, engine.model.global_mean, engine.model.item_means = calibrator, global_mean, means
    engine.model.dislike_calibrator = dislike
    metrics = {"validation_ndcg@10": round(validation, 4), "validation_queries": len(queries),
               "side_fit_members": len(sample),
               "validation_ndcg_by_constants": tried,
               "calibration": {k: v for k, v in calibration.items() if k != "global_mean"}}
    if sliders is not None and catalog.text_vectors is not None and rows is not None:
        moods = fit_catalog_moods(rows, catalog, sliders)
        metrics["moods"] = moods.report
        scorer = SliderScorer(sliders, moods.probabilities, catalog.text_vectors, catalog.years)
        train, held = held_out_ratings(histories)
        engine.model.slider_calibrators, slider_ece = fit_slider_calibrators(scorer, train, held)
        metrics["slider_ece"] = {k: round(v, 4) for k, v in slider_ece.items()}
    if rows is not None:
        metrics["cold_start"] = fit_item_cold_start(engine.model, histories, catalog, rows)
    return engine, weights, metrics, config


def fit_item_cold_start(model: Any, histories: dict[int, History], catalog: Any, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Learn the cold start from the films trained on ratings and predict every other film's rows
    (engine.coldstart); the checkpoint keeps the learned rows and the cold start only."""
    from bot.services.item_facts import facts_from_rows
    from engine.coldstart import ColdStartConfig, fill_untrained, fit_cold_start

    counts = np.zeros(len(catalog))
    for history in histories.values():
        np.add.at(counts, history.items, 1.0)
    trained = counts > 0
    facts = facts_from_rows(rows, catalog.text_vectors, catalog.genre_matrix)
    config = ColdStartConfig()
    model.cold_start = fit_cold_start(facts, trained, counts, model.q, model.p_seen, model.p_val, model.positive_counts,
                                      config)
    model.trained = trained
    model.prior = fill_untrained((model.q, model.p_seen, model.p_val), trained, model.cold_start, facts,
                                 model.positive_counts)
    return {"trained_films": int(trained.sum()), "predicted_films": int((~trained).sum()),
            "features": int(model.cold_start.weights.shape[0]), "config": vars(config)}


async def train_model(db: Database, settings: Settings, config: TrainConfig | None = None, progress: bool = True,
                      device: str = "cpu") -> TrainReport:
    """Refuses (JobBusy) while another retrain runs on this database. ``device``: where the low-rank
    solver trains (a torch device name, e.g. "cuda"); ignored when ``config`` is given."""
    async with exclusive_job(db.dsn, RETRAIN_JOB, "a retrain is already running on this database (another process "
                             "or `cinesync train`); wait for it to finish"):
        return await _train(db, settings, config, progress, device)


async def _train(db: Database, settings: Settings, config: TrainConfig | None, progress: bool,
                 device: str = "cpu") -> TrainReport:
    started = time.perf_counter()
    async with db.acquire() as conn:
        async with conn.transaction(isolation="repeatable_read", readonly=True):  # ratings and versions agree
            rows = [dict(r) for r in await model_repo.catalog_rows(conn)]
            with tqdm(desc="reading feedback", unit=" ratings", unit_scale=True, disable=not progress, leave=False) as bar:
                feedback = await feedback_repo.feedback_columns(conn, progress=bar)
            read = await model_repo.state_versions(conn)
    if not rows:
        raise RuntimeError("the catalog is empty: import movies first (cinesync import ... or cinesync demo)")
    text = await ensure_text_vectors(db, settings, rows, progress)
    await reload_sliders(db, settings.embedding_model_path)  # slider texts live in the same space
    sliders = await load_sliders(db)
    catalog = catalog_from_rows(rows, text)
    histories = histories_from_columns(feedback, np.asarray(catalog.items.movie_ids, dtype=np.int64))
    del feedback
    if not histories:
        raise RuntimeError("there are no ratings to train on: import ratings or rate some movies first")
    ordered = [histories[u] for u in sorted(histories)]
    engine, weights, metrics, config = await asyncio.to_thread(_fit, histories, catalog, config, progress, sliders, rows, device)
    digest = data_hash(ordered)
    version = datetime.now(timezone.utc).strftime("v%Y%m%d-%H%M%S-") + digest[:6]
    engine.model.version = version
    stored = checkpoint_bytes(engine.model, catalog.items.movie_ids,
                              {"data_hash": digest, "config": config.as_dict(), "metrics": metrics})
    states = []
    for user in sorted(histories):
        state = batch_state(engine.trainer, histories[user])  # = the online replay, vectorised
        version_read, updated_read = read.get(user, (None, None))
        states.append((user, unit(state.vector), state.to_bytes(), state.ratings, state.feedback, version_read, updated_read))
    async with db.bulk_transaction() as conn:  # every member's state: minutes at 60,000+ members, no request timeout
        await model_repo.register_model(conn, version, digest, config.as_dict(), {**metrics, "weights": weights},
                                        f"{version}.pt", stored)
        await model_repo.store_item_vectors(conn, version, catalog.items.movie_ids, engine.model.q)
        await model_repo.hold_member_writes(conn)  # a /forget_me in progress finishes first; its member is skipped
        written, staged = await model_repo.store_user_states(conn, version, states)
        await apply_retrain_to_index(conn, version, written, progress)
    seconds = time.perf_counter() - started
    log.info("trained %s on %d users in %.1f s (%d states left newer)", version, len(histories), seconds, staged - written)
    return TrainReport(version, len(histories), sum(len(h) for h in ordered), metrics, seconds,
                       f"model_registry.checkpoint ({len(stored) / 1e6:.1f} MB)", written, staged - written)
