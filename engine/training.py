"""Fitting the base taste model with PyTorch.

Two ridge regressions with EASE's zero-diagonal constraint predict each movie from what a
user watched (``seen``) and from how much they liked it (``valence``). With few users and
many movies the Woodbury identity makes both exact and cheap (users x users inverses), and
the blended operator's exact best rank-256 factorisation (QR + SVD) gives the encoder
rows ``P`` and the movie vectors ``Q``. Deterministic given the data: no random init.
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
import torch
from tqdm import tqdm

from engine.data import History
from engine.feedback import signal, signals
from engine.model import TasteModel


@dataclass(frozen=True)
class TrainConfig:
    dim: int = 256
    lam_seen: float = 300.0
    lam_val: float = 200.0
    val_weight: float = 1.0
    seed: int = 0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def input_matrices(histories: Sequence[History], n_items: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Dense float64 seen and valence matrices (users x items) from histories."""
    seen = torch.zeros(len(histories), n_items, dtype=torch.float64)
    valence = torch.zeros(len(histories), n_items, dtype=torch.float64)
    for row, history in enumerate(histories):
        kinds = history.kinds or ("rating",) * len(history)
        for item, rating, kind in zip(history.items, history.ratings, kinds):
            s = signal(kind, None if np.isnan(rating) else float(rating))
            seen[row, int(item)] = s.seen
            valence[row, int(item)] = s.valence
    return seen, valence


def _ease_operator(x: torch.Tensor, lam: float) -> torch.Tensor:
    """G with scores(x_new) = (x_new X') G off the diagonal: G = M X / diag(P) (Woodbury form of EASE)."""
    m = torch.linalg.inv(lam * torch.eye(x.shape[0], dtype=x.dtype) + x @ x.T)
    mx = m @ x
    diag_p = (1.0 - (x * mx).sum(0)) / lam
    return mx / diag_p


def _ease_items(x: torch.Tensor, lam: float) -> torch.Tensor:
    """EASE's items x items B = -P / diag(P) off the diagonal, zero on it (the cheaper form when
    there are fewer items than users)."""
    p = torch.linalg.inv(x.T @ x + lam * torch.eye(x.shape[1], dtype=x.dtype))
    b = -p / torch.diagonal(p)
    b.fill_diagonal_(0.0)
    return b


def data_hash(histories: Sequence[History]) -> str:
    digest = hashlib.sha256()
    for history in histories:
        digest.update(np.asarray(history.items, dtype=np.int64).tobytes())
        digest.update(np.nan_to_num(np.asarray(history.ratings, dtype=np.float64), nan=-1).tobytes())
    return digest.hexdigest()[:16]


def fit_taste_model(histories: Sequence[History], n_items: int, config: TrainConfig = TrainConfig(),
                    progress: bool = True) -> TasteModel:
    """Fitted on the films that have feedback only (a film nobody rated has an all-zero column, which
    changes neither EASE's solution nor the factorisation), then laid out over all ``n_items`` rows:
    a catalog three times larger than what was rated costs nothing extra. Films without feedback get
    zero rows here; the item cold start (engine.coldstart) places them."""
    active = np.unique(np.concatenate([np.asarray(h.items, dtype=np.int64) for h in histories])) if histories else \
        np.empty(0, dtype=np.int64)
    if len(active) == n_items:
        return _fit_dense(histories, n_items, config, progress)
    compact = [History(np.searchsorted(active, h.items), h.ratings, h.kinds) for h in histories]
    fitted = _fit_dense(compact, len(active), config, progress)
    model = TasteModel(n_items, config.dim)
    rows = torch.from_numpy(active)
    with torch.no_grad():
        for name in ("p_seen", "p_val", "q"):
            getattr(model, name)[rows] = getattr(fitted, name)
    return model


def _fit_dense(histories: Sequence[History], n_items: int, config: TrainConfig, progress: bool) -> TasteModel:
    torch.manual_seed(config.seed)
    with tqdm(total=4, desc="training base model", unit="step", disable=not progress, leave=False) as bar:
        seen, valence = input_matrices(histories, n_items)
        bar.update()
        if n_items <= len(histories):
            # few items: the blended operator [B_seen; w B_val] itself, items x items per block
            b_seen, b_val = _ease_items(seen, config.lam_seen), _ease_items(valence, config.lam_val)
            bar.update()
            operator = torch.cat([b_seen / torch.linalg.norm(seen @ b_seen),
                                  config.val_weight * b_val / torch.linalg.norm(valence @ b_val)])
            q_seen = q_val = torch.eye(n_items, dtype=seen.dtype)
            split = n_items
        else:
            g_seen = _ease_operator(seen, config.lam_seen)
            g_val = _ease_operator(valence, config.lam_val)
            bar.update()
            # blended operator = blockdiag(seen', valence') @ [a G_seen; b G_val]; factor the left part by QR
            q_seen, r_seen = torch.linalg.qr(seen.T)
            q_val, r_val = torch.linalg.qr(valence.T)
            g = torch.cat([g_seen / torch.linalg.norm(r_seen.T @ (r_seen @ g_seen)),
                           config.val_weight * g_val / torch.linalg.norm(r_val.T @ (r_val @ g_val))])
            split = r_seen.shape[0]  # min(users, items)
            operator = torch.block_diag(r_seen, r_val) @ g
        u, s, vt = torch.linalg.svd(operator, full_matrices=False)
        bar.update()
        rank = min(config.dim, s.shape[0])
        root = torch.sqrt(s[:rank])
        model = TasteModel(n_items, config.dim)
        with torch.no_grad():
            model.p_seen.zero_()
            model.p_val.zero_()
            model.q.zero_()
            model.p_seen[:, :rank] = (q_seen @ u[:split, :rank] * root).float()
            model.p_val[:, :rank] = (q_val @ u[split:, :rank] * root).float()
            model.q[:, :rank] = (vt[:rank].T * root).float()
        bar.update()
    return model


LAMBDA_GRID = (150.0, 300.0, 600.0, 1200.0, 2400.0)
VALENCE_WEIGHT_GRID = (0.25, 0.5, 1.0)


def validation_ndcg(train: Sequence[History], held: dict[int, np.ndarray], users: Sequence[int],
                    histories: Sequence[History], n_items: int, config: TrainConfig) -> float:
    """The base model's NDCG@10 on held-out positives of a validation split (cut from training data)."""
    from engine.metrics import ndcg_at, top_k

    model = fit_taste_model(train, n_items, config, progress=False)
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


def choose_config(histories: dict[int, History], n_items: int, progress: bool = False,
                  max_users: int = 2000) -> tuple[TrainConfig, dict[str, float]]:
    """The ridge strengths and valence weight with the best validation NDCG@10, chosen on a warm split
    of the training histories themselves (seed 1): the seen lambda first (valence lambda at 2/3 of it),
    then the valence weight. Never looks at anyone's test data."""
    from engine.splits import warm_split

    split = warm_split(histories, n_items, seed=1)
    users = sorted(split.test)
    if len(users) > max_users:
        users = sorted(np.random.default_rng(1).choice(users, max_users, replace=False).tolist())
    train = [split.train[u] for u in sorted(split.train)]
    tried: dict[str, float] = {}

    def trial(config: TrainConfig) -> float:
        value = validation_ndcg(train, split.test, users, split.train, n_items, config)
        tried[f"lam_seen={config.lam_seen:g} lam_val={config.lam_val:g} val_weight={config.val_weight:g}"] = round(value, 4)
        return value

    with tqdm(total=len(LAMBDA_GRID) + len(VALENCE_WEIGHT_GRID) - 1, desc="choosing model constants",
              disable=not progress, leave=False) as bar:
        best, best_value = TrainConfig(), -1.0
        for lam in LAMBDA_GRID:
            config = TrainConfig(lam_seen=lam, lam_val=lam * 2 / 3, val_weight=0.5)
            value = trial(config)
            bar.update()
            if value > best_value:
                best, best_value = config, value
        for weight in VALENCE_WEIGHT_GRID:
            if weight == best.val_weight:
                continue
            config = TrainConfig(lam_seen=best.lam_seen, lam_val=best.lam_val, val_weight=weight)
            value = trial(config)
            bar.update()
            if value > best_value:
                best, best_value = config, value
    return best, tried
