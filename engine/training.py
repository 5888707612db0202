"""Fitting the base taste model: which solver runs, on which inputs.

Both solvers fit the same model (`engine.model`): a member is the sum of per-rating rows of
``P_seen``/``P_val`` and a film is a row of ``Q``, 256-d. The exact closed form
(`engine.closed_form`, EASE factorised) runs while its largest dense matrix stays small
(min(users, films) x films); past that, the mini-batch low-rank autoencoder (`engine.lowrank`),
whose cost grows with the number of ratings. ``TrainConfig.solver`` forces one. Inputs are
sparse end to end; films nobody rated are left out of the fit (zero rows; the item cold start
places them).
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, replace
from typing import Sequence

import numpy as np
import scipy.sparse as sp
import torch
from tqdm import tqdm

from engine.closed_form import CLOSED_FORM_MAX_ENTRIES, BlockCache, closed_form_entries, fit_closed_form
from engine.data import History
from engine.feedback import signals
from engine.lowrank import LowRankConfig, csr_blocks, fit_lowrank
from engine.model import TasteModel

SOLVERS = ("auto", "closed", "lowrank")


@dataclass(frozen=True)
class TrainConfig:
    dim: int = 256
    lam_seen: float = 300.0
    lam_val: float = 200.0
    val_weight: float = 1.0
    seed: int = 0
    solver: str = "auto"
    lowrank_reg: float = LowRankConfig.reg
    lowrank_epochs: int = LowRankConfig.epochs
    device: str = "cpu"

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def solver_for(self, n_users: int, n_items: int) -> str:
        """The solver this config runs on data of this shape ("closed" or "lowrank")."""
        if self.solver not in SOLVERS:
            raise ValueError(f"solver must be one of {', '.join(SOLVERS)}, got {self.solver!r}")
        if self.solver != "auto":
            return self.solver
        return "closed" if closed_form_entries(n_users, n_items) <= CLOSED_FORM_MAX_ENTRIES else "lowrank"


def input_matrices(histories: Sequence[History], n_items: int) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Sparse float64 seen and valence matrices (users x items) sharing one sparsity pattern
    (explicit zeros kept, so a batch's two value arrays line up entry by entry)."""
    rows, cols, seen, valence = [], [], [], []
    for row, history in enumerate(histories):
        kinds = history.kinds or ("rating",) * len(history)
        s, v = signals(kinds, np.asarray(history.ratings, dtype=np.float64))
        rows.append(np.full(len(history), row, dtype=np.int64))
        cols.append(np.asarray(history.items, dtype=np.int64))
        seen.append(s)
        valence.append(v)
    shape = (len(histories), n_items)
    if not rows:
        return sp.csr_matrix(shape), sp.csr_matrix(shape)
    r, c = np.concatenate(rows), np.concatenate(cols)
    order = np.lexsort((c, r))
    indptr = np.concatenate([[0], np.cumsum(np.bincount(r, minlength=shape[0]))])
    make = lambda data: sp.csr_matrix((np.concatenate(data)[order], c[order], indptr), shape=shape)  # noqa: E731
    return make(seen), make(valence)


def data_hash(histories: Sequence[History]) -> str:
    digest = hashlib.sha256()
    for history in histories:
        digest.update(np.asarray(history.items, dtype=np.int64).tobytes())
        digest.update(np.nan_to_num(np.asarray(history.ratings, dtype=np.float64), nan=-1).tobytes())
    return digest.hexdigest()[:16]


def fit_taste_model(histories: Sequence[History], n_items: int, config: TrainConfig = TrainConfig(),
                    progress: bool = True, cache: BlockCache | None = None) -> TasteModel:
    """Fitted on the films that have feedback only (a film nobody rated has an all-zero column, which
    changes neither solver's solution), then laid out over all ``n_items`` rows: a catalog three times
    larger than what was rated costs nothing extra. Films without feedback get zero rows here; the
    item cold start (engine.coldstart) places them. ``cache``: see `engine.closed_form.fit_closed_form`
    (only for repeated fits on the same histories)."""
    active = np.unique(np.concatenate([np.asarray(h.items, dtype=np.int64) for h in histories])) if histories else \
        np.empty(0, dtype=np.int64)
    compact = [History(np.searchsorted(active, h.items), h.ratings, h.kinds) for h in histories]
    seen, valence = input_matrices(compact, len(active))
    torch.manual_seed(config.seed)
    if config.solver_for(len(histories), len(active)) == "closed":
        with tqdm(total=2, desc="training base model (closed form)", unit="step", disable=not progress,
                  leave=False) as bar:
            arrays = fit_closed_form(seen, valence, config.dim, config.lam_seen, config.lam_val, config.val_weight, bar,
                                     cache)
    else:
        low = LowRankConfig(epochs=config.lowrank_epochs, reg=config.lowrank_reg)
        arrays = fit_lowrank(csr_blocks(seen, valence, low.batch_users(seen.shape[0]), config.seed), seen.shape[0], len(active),
                             config.dim, config.val_weight, config.seed, low, config.device, progress)
    model = TasteModel(n_items, config.dim)
    rows = torch.from_numpy(active)
    with torch.no_grad():
        for name, values in zip(("p_seen", "p_val", "q"), arrays):
            getattr(model, name)[rows] = torch.from_numpy(values)
    return model


LAMBDA_GRID = (150.0, 300.0, 600.0, 1200.0, 2400.0)
VALENCE_WEIGHT_GRID = (0.25, 0.5, 1.0)


def validation_ndcg(train: Sequence[History], held: dict[int, np.ndarray], users: Sequence[int],
                    histories: Sequence[History], n_items: int, config: TrainConfig,
                    cache: BlockCache | None = None) -> float:
    """The base model's NDCG@10 on held-out positives of a validation split (cut from training data)."""
    from engine.metrics import ndcg_at, top_k

    model = fit_taste_model(train, n_items, config, progress=False, cache=cache)
    p_seen, p_val, q = model.arrays()
    trainable = np.zeros(n_items, dtype=bool)
    for history in train:
        trainable[history.items] = True
    values = []
    for user in users:
        history = histories[user]
        seen, valence = signals(history.kinds or ("rating",) * len(history), np.asarray(history.ratings, dtype=np.float64))
        vector = (seen @ p_seen[history.items] + valence @ p_val[history.items]).astype(q.dtype)
        candidates = trainable.copy()
        candidates[history.items] = False
        values.append(ndcg_at(top_k(q @ vector, candidates, 10), held[user], 10))  # one dtype: a BLAS matvec
    return float(np.mean(values)) if values else 0.0


LOWRANK_REG_GRID = (5.0, 20.0, 80.0)
LOWRANK_MAX_USERS = 10_000  # the low-rank solver's side fits (constants, validation, calibration) use this many members


def resolved(config: TrainConfig, histories: dict[int, History]) -> TrainConfig:
    """``config`` with its solver fixed for these histories ("auto" decided on all of them), so fits on
    a sample of them (the side fits) run the solver the whole data runs."""
    active = len(np.unique(np.concatenate([h.items for h in histories.values()]))) if histories else 0
    return replace(config, solver=config.solver_for(len(histories), active))


def side_fit_members(histories: dict[int, History], n_items: int, base: TrainConfig = TrainConfig(),
                     max_users: int = LOWRANK_MAX_USERS) -> dict[int, History]:
    """The members the side fits of a training run (choosing constants, validation queries, calibration)
    use: everyone while the closed form runs; past that, a seeded sample of ``max_users`` members, so
    those fits cost a fixed amount and only the served model grows with the data."""
    active = len(np.unique(np.concatenate([h.items for h in histories.values()]))) if histories else 0
    if base.solver_for(len(histories), active) != "lowrank" or len(histories) <= max_users:
        return histories
    keep = np.random.default_rng(1).choice(sorted(histories), max_users, replace=False)
    return {int(u): histories[int(u)] for u in sorted(keep)}


def choose_config(histories: dict[int, History], n_items: int, progress: bool = False,
                  max_users: int = 2000, base: TrainConfig = TrainConfig()) -> tuple[TrainConfig, dict[str, float]]:
    """The constants with the best validation NDCG@10, chosen on a warm split of the training histories
    themselves (seed 1), never on anyone's test data: for the closed form the seen lambda first (valence
    lambda at 2/3 of it), then the valence weight; for the low-rank solver (large data, chosen by
    size, on a sample of at most ``LOWRANK_MAX_USERS`` members) its L2 strength, then the valence weight."""
    from engine.splits import warm_split

    active = len(np.unique(np.concatenate([h.items for h in histories.values()]))) if histories else 0
    lowrank = base.solver_for(len(histories), active) == "lowrank"
    histories = side_fit_members(histories, n_items, base)
    split = warm_split(histories, n_items, seed=1)
    users = sorted(split.test)
    if len(users) > max_users:
        users = sorted(np.random.default_rng(1).choice(users, max_users, replace=False).tolist())
    train = [split.train[u] for u in sorted(split.train)]
    tried: dict[str, float] = {}
    cache: BlockCache = {}  # the best lambda's blocks, reused by the blend trials

    def trial(config: TrainConfig) -> float:
        value = validation_ndcg(train, split.test, users, split.train, n_items, config, cache)
        name = (f"lowrank_reg={config.lowrank_reg:g}" if lowrank else
                f"lam_seen={config.lam_seen:g} lam_val={config.lam_val:g}") + f" val_weight={config.val_weight:g}"
        tried[name] = round(value, 4)
        return value

    grid = ([replace(base, solver="lowrank", lowrank_reg=reg, val_weight=0.5) for reg in LOWRANK_REG_GRID] if lowrank
            else [replace(base, lam_seen=lam, lam_val=lam * 2 / 3, val_weight=0.5) for lam in LAMBDA_GRID])
    with tqdm(total=len(grid) + len(VALENCE_WEIGHT_GRID) - 1, desc="choosing model constants",
              disable=not progress, leave=False) as bar:
        best, best_value = grid[0], -1.0
        for config in grid:
            value = trial(config)
            bar.update()
            loser = best if value > best_value else config
            if loser is not config or value <= best_value:  # keep only the best lambda's blocks
                cache.pop(("seen", loser.lam_seen), None)
                cache.pop(("valence", loser.lam_val), None)
            if value > best_value:
                best, best_value = config, value
        for weight in VALENCE_WEIGHT_GRID:
            if weight == best.val_weight:
                continue
            config = replace(best, val_weight=weight)
            value = trial(config)
            bar.update()
            if value > best_value:
                best, best_value = config, value
    return best, tried
