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
from engine.feedback import signal
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


def data_hash(histories: Sequence[History]) -> str:
    digest = hashlib.sha256()
    for history in histories:
        digest.update(np.asarray(history.items, dtype=np.int64).tobytes())
        digest.update(np.nan_to_num(np.asarray(history.ratings, dtype=np.float64), nan=-1).tobytes())
    return digest.hexdigest()[:16]


def fit_taste_model(histories: Sequence[History], n_items: int, config: TrainConfig = TrainConfig(),
                    progress: bool = True) -> TasteModel:
    torch.manual_seed(config.seed)
    with tqdm(total=4, desc="training base model", unit="step", disable=not progress, leave=False) as bar:
        seen, valence = input_matrices(histories, n_items)
        bar.update()
        g_seen = _ease_operator(seen, config.lam_seen)
        g_val = _ease_operator(valence, config.lam_val)
        bar.update()
        # blended operator = blockdiag(seen', valence') @ [a G_seen; b G_val]; factor the left part by QR
        g = torch.cat([g_seen / torch.linalg.norm(g_seen), config.val_weight * g_val / torch.linalg.norm(g_val)])
        q_seen, r_seen = torch.linalg.qr(seen.T)
        q_val, r_val = torch.linalg.qr(valence.T)
        split = r_seen.shape[0]  # min(users, items)
        r = torch.block_diag(r_seen, r_val)
        u, s, vt = torch.linalg.svd(r @ g, full_matrices=False)
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
