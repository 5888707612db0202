"""The engine as the bot runs it: catalog and newest registered model, loaded from the database.

Built once at start-up (and again after a retrain); services read it, nothing mutates it
except the trainer's ``global`` mode, which nudges the popularity prior.
"""
from __future__ import annotations

import asyncio
import io

import logging
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from bot.db.pool import Database, as_array
from bot.repositories import models as model_repo
from bot.services.text_vectors import TEXT_MODEL_NAME
from bot.services.title_search import TitleIndex
from engine.data import ItemIndex
from engine.ranker import HybridRanker
from engine.snapshot import is_foreign, Catalog, ModelArrays
from engine.trainer import PersonalizedTrainer

log = logging.getLogger(__name__)
LOVED_CHUNK = 1000  # members a fetch of the loved-films snapshot: a few ms of decoding on the loop each


@dataclass
class EngineRuntime:
    catalog: Catalog
    model: ModelArrays | None
    trainer: PersonalizedTrainer | None
    ranker: HybridRanker
    titles: TitleIndex
    movies: dict[int, dict[str, Any]]
    loved: dict[int, set[int]]  # user -> item indices rated 4+ (kept current by FeedbackService)
    sliders: Any = None  # engine.sliders.Sliders, when the slider file has been loaded
    slider_fit: np.ndarray | None = None  # items x sliders, standardised fit of each movie to each slider
    slider_scorer: Any = None  # engine.sliders.SliderScorer with the model's calibrators
    moods: Any = None  # engine.moods.MoodFit: each movie's calibrated probability of fitting each mood
    stamp: str | None = None  # model and catalog this runtime was built from (models.serving_stamp)

    @property
    def version(self) -> str | None:
        return self.model.version if self.model is not None else None

    @property
    def dim(self) -> int:
        return int(self.model.q.shape[1]) if self.model is not None else 256


def catalog_from_rows(rows: list[dict[str, Any]], text: dict[int, np.ndarray] | None = None) -> Catalog:
    items = ItemIndex(np.array([r["movie_id"] for r in rows], dtype=np.int64))
    vectors = None
    if text:
        dim = len(next(iter(text.values())))
        vectors = np.zeros((len(rows), dim), dtype=np.float32)
        for i, r in enumerate(rows):
            if r["movie_id"] in text:
                vectors[i] = text[r["movie_id"]]
    return Catalog(items, [r["title"] for r in rows], [r["year"] for r in rows], [list(r["genres"]) for r in rows],
                   [list(r["directors"]) for r in rows], [list(r["cast_members"]) for r in rows], vectors,
                   rating_counts=np.array([r.get("rating_count") or 0 for r in rows], dtype=np.float64),
                   foreign=np.array([is_foreign(r.get("language"), r.get("original_title")) for r in rows], dtype=bool))


def checkpoint_bytes(model: ModelArrays, movie_ids: np.ndarray, meta: dict[str, Any]) -> bytes:
    """The model as stored in ``model_registry.checkpoint`` (a torch file, tensors only): the rows of the
    films trained on ratings, and the cold start that predicts every other film's rows when loaded."""
    keep = np.ones(len(movie_ids), dtype=bool) if model.trained is None or model.cold_start is None else model.trained
    buffer = io.BytesIO()
    cold = model.cold_start
    torch.save({
        "movie_ids": torch.from_numpy(np.asarray(movie_ids, dtype=np.int64)[keep]),
        "p_seen": torch.from_numpy(np.ascontiguousarray(model.p_seen[keep])),
        "p_val": torch.from_numpy(np.ascontiguousarray(model.p_val[keep])),
        "q": torch.from_numpy(np.ascontiguousarray(model.q[keep])),
        "positive_counts": torch.from_numpy(np.asarray(model.positive_counts, dtype=np.float64)[keep]),
        "cold_start": cold.to_dict() if cold is not None else None,
        "cold_weights": torch.from_numpy(cold.weights) if cold is not None else None,
        "weights": model.weights, "version": model.version, "meta": meta,
        "calibrator": model.calibrator.to_dict() if model.calibrator is not None else None,
        "dislike_calibrator": model.dislike_calibrator.to_dict() if model.dislike_calibrator is not None else None,
        "global_mean": float(model.global_mean),
        "slider_calibrators": {name: c.to_dict() for name, c in model.slider_calibrators.items()},
        "item_means": torch.from_numpy(np.asarray(model.item_means if model.item_means is not None
                                                  else np.full(len(movie_ids), model.global_mean), dtype=np.float64)[keep]),
    }, buffer)
    return buffer.getvalue()


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be served: unreadable, inconsistent or holding non-finite numbers."""


def _validated(source: bytes | Path, path: str) -> dict[str, Any]:
    """The checkpoint's contents, checked before anything serves from them: one non-finite row would
    otherwise leave every member who rates that movie without a state. ``path`` names it in errors."""
    try:
        data = torch.load(io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else source,
                          weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:  # pickle, zip and EOF errors all mean the same to an operator
        raise CheckpointError(f"checkpoint {path} is unreadable ({type(exc).__name__}); run `cinesync train`") from None
    try:
        ids, arrays = data["movie_ids"].numpy(), [data[k].numpy() for k in ("p_seen", "p_val", "q")]
        counts = data["positive_counts"].numpy()
    except (KeyError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"checkpoint {path} lacks {exc}; run `cinesync train`") from None
    if any(a.ndim != 2 or a.shape != arrays[0].shape for a in arrays) or arrays[0].shape[0] != len(ids) \
            or len(counts) != len(ids):
        raise CheckpointError(f"checkpoint {path} has inconsistent shapes; run `cinesync train`")
    bad = sum(int((~np.isfinite(a)).any(axis=1).sum()) for a in arrays) + int((~np.isfinite(counts)).sum())
    if bad:
        raise CheckpointError(f"checkpoint {path} holds non-finite numbers in {bad} movie row(s); run `cinesync train`")
    return data


def load_checkpoint(source: bytes | Path, items: ItemIndex, name: str | None = None) -> ModelArrays:
    """Model arrays aligned to the current catalog (movies added since training get zero rows); raises
    CheckpointError for a checkpoint that must not be served."""
    data = _validated(source, name or (str(source) if isinstance(source, Path) else "checkpoint"))
    trained_ids = data["movie_ids"].numpy()
    positions = items.positions(trained_ids)
    keep = positions >= 0

    def aligned(array: np.ndarray) -> np.ndarray:
        out = np.zeros((len(items), *array.shape[1:]), dtype=array.dtype)
        out[positions[keep]] = array[keep]
        return out

    from engine.calibration import MatchCalibrator

    global_mean = float(data.get("global_mean", 3.5))
    means = aligned(data["item_means"].numpy()) if "item_means" in data else None
    if means is not None:
        means[~np.isin(np.arange(len(items)), positions[keep])] = global_mean  # new movies: the global mean
    calibrator = MatchCalibrator.from_dict(data["calibrator"]) if data.get("calibrator") else None
    dislike = MatchCalibrator.from_dict(data["dislike_calibrator"]) if data.get("dislike_calibrator") else None
    cold = None
    if data.get("cold_start") and data.get("cold_weights") is not None:
        from engine.coldstart import ColdStart

        cold = ColdStart.from_dict(data["cold_start"], data["cold_weights"].numpy())
    trained = np.zeros(len(items), dtype=bool)
    trained[positions[keep]] = True
    sliders = {name: MatchCalibrator.from_dict(c) for name, c in (data.get("slider_calibrators") or {}).items()}
    return ModelArrays(aligned(data["p_seen"].numpy()), aligned(data["p_val"].numpy()), aligned(data["q"].numpy()),
                       aligned(data["positive_counts"].numpy()), data["weights"], data["version"],
                       calibrator, global_mean, means, sliders, dislike, cold, trained)


def checkpoint_source(newest: Any, models_dir: Path | None) -> tuple[bytes | Path, str]:
    """Where the registered model's checkpoint is: its bytes in the database, or (models registered before
    migration 0006) the file of that name in this home's models folder, never another home's absolute path."""
    label = f"model {newest['version']}"
    stored = newest.get("checkpoint") if hasattr(newest, "get") else None
    if stored is not None:
        return bytes(stored), label
    name = Path(newest["checkpoint_path"]).name
    return (models_dir or Path.cwd()) / name, f"{label} ({name})"


async def load_runtime(db: Database, blend: float = 0.6, diversity: float = 0.3, mode: str = "private",
                       calibration: float = 0.0, models_dir: Path | None = None) -> EngineRuntime:
    """Read the catalog, the newest model and the sliders; the CPU work (checkpoint, title index,
    slider fits) runs in a worker thread, so a running bot keeps answering while it reloads."""
    from bot.services.sliders import load_sliders

    async with db.acquire() as conn:
        stamp = await model_repo.serving_stamp(conn)  # read first: a change after it reloads again
        rows = [dict(r) for r in await model_repo.catalog_rows(conn)]
        text = {r["movie_id"]: as_array(r["embedding"])
                for r in await model_repo.text_embeddings(conn, TEXT_MODEL_NAME)}
        newest = await model_repo.newest_model(conn)
        newest = dict(newest) if newest is not None else None
    sliders = await load_sliders(db)
    runtime = await asyncio.to_thread(_assemble, rows, text, newest, sliders, blend, diversity, mode,
                                      calibration, models_dir)
    async with db.acquire() as conn:
        runtime.loved.update(await read_loved(conn, runtime.catalog.items))
    runtime.stamp = stamp
    return runtime


def predict_untrained(model: ModelArrays, rows: list[dict[str, Any]], catalog: Catalog) -> None:
    """Rows for every film the checkpoint has none for (no ratings at training, or added since), from
    the model's cold start and what the catalog says about the film (engine.coldstart)."""
    if model.cold_start is None or model.trained is None:
        return
    from bot.services.item_facts import facts_from_rows
    from engine.coldstart import fill_untrained

    facts = facts_from_rows(rows, catalog.text_vectors, catalog.genre_matrix)  # type: ignore[arg-type]
    try:
        model.prior = fill_untrained((model.q, model.p_seen, model.p_val), model.trained, model.cold_start, facts,
                                     model.positive_counts)
    except ValueError as exc:  # the films without ratings then reach members by popularity only, as before cold start
        log.error("films without ratings could not be placed by model %s: %s", model.version, exc)


def loved_from_rows(rows: Sequence[Mapping[str, Any]], items: ItemIndex) -> dict[int, set[int]]:
    """user -> catalog positions of the movies they rated 4 stars or more (every row's ids looked up at once)."""
    lists = [r["movies"] for r in rows]
    lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    flat = items.positions(np.fromiter(chain.from_iterable(lists), dtype=np.int64, count=int(lengths.sum())))
    return {int(r["user_id"]): set(part[part >= 0].tolist())
            for r, part in zip(rows, np.split(flat, np.cumsum(lengths)[:-1]))}


async def read_loved(conn: Any, items: ItemIndex) -> dict[int, set[int]]:
    """Every member's loved films, read LOVED_CHUNK members at a time and indexed in a worker thread. Read
    in one piece, the rows were decoded and indexed on the event loop: a 460 ms stall at MovieLens 1M
    size, every five minutes in each process (a `cinesync simulate` run caught it), growing with ratings."""
    loved: dict[int, set[int]] = {}
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        async for rows in model_repo.loved_movies_in_chunks(conn, LOVED_CHUNK):
            loved.update(await asyncio.to_thread(loved_from_rows, rows, items))
    return loved


def _assemble(rows: list[dict[str, Any]], text: dict[int, np.ndarray], newest: Any, sliders: Any, blend: float,
              diversity: float, mode: str, calibration: float = 0.0,
              models_dir: Path | None = None) -> EngineRuntime:
    catalog = catalog_from_rows(rows, text)
    model = trainer = None
    if newest is not None:
        source, label = checkpoint_source(newest, models_dir)
        try:
            model = load_checkpoint(source, catalog.items, label)
            model.version = newest["version"]  # the registry names what is served
            predict_untrained(model, rows, catalog)
            trainer = PersonalizedTrainer(model.p_seen, model.p_val, mode, model.positive_counts)
        except (OSError, RuntimeError, KeyError) as exc:
            log.error("%s could not be loaded (%s); recommendations fall back to popularity", label, exc)
    titles = TitleIndex(rows)
    slider_fit = scorer = moods = None
    if sliders is not None and catalog.text_vectors is not None:
        from bot.services.moods import fit_catalog_moods
        from engine.sliders import SliderScorer

        moods = fit_catalog_moods(rows, catalog, sliders)
        scorer = SliderScorer(sliders, moods.probabilities, catalog.text_vectors, catalog.years,
                              calibrators=model.slider_calibrators if model is not None else None)
        slider_fit = scorer.item_fit
    loved: dict[int, set[int]] = {}  # filled by the caller, read in chunks (read_loved)
    return EngineRuntime(catalog, model, trainer, HybridRanker(catalog, model, blend, diversity, calibration), titles,
                         {r["movie_id"]: r for r in rows}, loved, sliders if slider_fit is not None else None, slider_fit, scorer,
                         moods)
