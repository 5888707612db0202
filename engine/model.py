"""The base taste model: a linear, low-rank item-to-item model in a 256-d space.

A user is the sum of what their feedback contributes: ``u = sum_j P_seen[j] + valence_j * P_val[j]``
(see `engine.feedback` for seen/valence). A movie is a vector ``Q[i]`` in the same space and
the model's prediction is ``u . Q[i]``. Because the user side is a sum, folding in a new
rating is exact and order-free: the online embedding equals a batch refit to rounding.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn


class TasteModel(nn.Module):
    def __init__(self, n_items: int, dim: int = 256) -> None:
        super().__init__()
        self.dim = dim
        self.p_seen = nn.Parameter(torch.zeros(n_items, dim, dtype=torch.float32))
        self.p_val = nn.Parameter(torch.zeros(n_items, dim, dtype=torch.float32))
        self.q = nn.Parameter(torch.zeros(n_items, dim, dtype=torch.float32))

    @property
    def n_items(self) -> int:
        return int(self.q.shape[0])

    def encode(self, seen: torch.Tensor, valence: torch.Tensor) -> torch.Tensor:
        """Users x items seen and valence matrices -> users x dim embeddings."""
        return seen @ self.p_seen + valence @ self.p_val

    def forward(self, users: torch.Tensor) -> torch.Tensor:
        """Users x dim embeddings -> users x items scores."""
        return users @ self.q.T

    # numpy views for the hot path (no autograd, no copies)
    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        with torch.inference_mode():
            return self.p_seen.detach().numpy(), self.p_val.detach().numpy(), self.q.detach().numpy()
