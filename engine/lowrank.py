"""The large-data base model: a low-rank item-item autoencoder trained on sparse mini-batches.

The same model family as the closed form (`engine.closed_form`) and ELSA (Vančura et al.,
RecSys 2022): a member is the sum of per-rating rows, ``z = seen P_seen + valence P_val``,
and a film's score is ``z . Q[i]`` minus the film's own contribution (EASE's zero diagonal:
a film never recommends itself). So online updates stay exact and a re-rating replaces.

The loss is the full squared error against ``(seen + w valence) / (1 + w)`` over *every*
(member, film) pair, with each member's input row scaled by ``1 / sqrt(ratings)`` (as ELSA and
Mult-VAE normalise theirs), computed without forming a members x films matrix:

    ||Z Q' - D - T||^2 = tr(Z (Q'Q) Z') - 2 <Z Q' restricted to rated pairs, D + T> + ||D + T||^2

where D (the diagonal term) and T are non-zero only on rated pairs. Why the scaling: a member's vector
is a sum over what they rated, and one gradient step moves every one of those rows the same way, so a
member with 4,000 ratings moved their vector thousands of times further than one with 20 and Adam
diverged on a large catalog (the 330,000-member synthetic set, stop 22). With ``1/sqrt(n)`` every
member's vector moves alike. Serving is unchanged: the stored vector is still the plain sum (online
updates exact), which scores a member's films as the trained model times a positive per-member factor,
and every use of the base score standardises it per member (`engine.signals.zscore`), so rankings and
signals are the trained model's. A batch costs
O(ratings x dim + (members + films) x dim^2), never members x films. Inputs stay sparse
(scipy CSR rows, sliced per batch, then torch sparse); the data can be fed in chunks
(`fit_lowrank` takes any iterable factory of CSR row blocks). Deterministic for a seed on CPU.
"""
from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import scipy.sparse as sp
import torch
from tqdm import tqdm


@dataclass(frozen=True)
class LowRankConfig:
    epochs: int = 12
    steps_per_epoch: int = 20  # Adam steps per pass (fewer on small data: see batch_users)
    min_batch: int = 512
    lr: float = 0.003  # chosen on a validation split of a synthetic slice (20,000 members, 60,000 films; stop 23)
    reg: float = 20.0  # L2 on every row, counted once per epoch
    init_scale: float = 0.01


    def batch_users(self, n_users: int) -> int:
        """Members per mini-batch. Each step also costs films x dim^2 (the Gram term, whatever the batch),
        so past ``steps_per_epoch x min_batch`` members the number of steps per pass is fixed and the batch
        grows with the members: the side fits on a 10,000-member sample take about the optimisation path
        (steps, learning rate) of the fit on everyone. Below that, batches of ``min_batch`` (per-step overhead)."""
        return max(self.min_batch, math.ceil(n_users / self.steps_per_epoch))


Blocks = Callable[[], Iterable[tuple[sp.csr_matrix, sp.csr_matrix]]]


def csr_blocks(seen: sp.csr_matrix, valence: sp.csr_matrix, batch_users: int, seed: int) -> Blocks:
    """Shuffled row blocks of in-memory CSR matrices, a new order each epoch (a database-backed
    source yields the same shape)."""
    epochs = itertools.count()

    def blocks() -> Iterable[tuple[sp.csr_matrix, sp.csr_matrix]]:
        order = np.random.default_rng(seed + next(epochs)).permutation(seen.shape[0])
        for start in range(0, len(order), batch_users):
            rows = np.sort(order[start:start + batch_users])
            yield seen[rows], valence[rows]
    return blocks


def _torch_csr(x: sp.csr_matrix, device: torch.device) -> torch.Tensor:
    x = x.tocsr()
    with warnings.catch_warnings():  # "sparse CSR support is in beta": sparse x dense products are what we use
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(torch.from_numpy(x.indptr.astype(np.int64)), torch.from_numpy(x.indices.astype(np.int64)),
                                       torch.from_numpy(x.data.astype(np.float32)), size=x.shape, device=device)


def batch_loss(p_seen: torch.Tensor, p_val: torch.Tensor, q: torch.Tensor, seen: sp.csr_matrix, valence: sp.csr_matrix,
               val_weight: float, device: torch.device) -> torch.Tensor:
    """Squared error of the batch's scores over every film (see module docstring), summed over members.
    ``seen`` and ``valence`` share one sparsity pattern (explicit zeros kept, see `input_matrices`).

    Nothing of size ratings x dim is formed: with per-film scalars ``d_seen[i] = P_seen[i] . Q[i]`` (and
    ``d_val``), a rated pair's own contribution is ``s d_seen[i] + v d_val[i]``, and the cross term
    ``sum over rated pairs of (z_u . q_i) t_ui`` is ``sum(Z * T Q)``, T the targets on the rated pairs:
    weighted row sums (embedding bags) whose cost is ratings x dim."""
    if seen.nnz != valence.nnz:
        raise ValueError("seen and valence must share one sparsity pattern (build them with engine.training.input_matrices)")
    items = torch.from_numpy(seen.indices.astype(np.int64)).to(device)
    s = torch.from_numpy(seen.data.astype(np.float32)).to(device)
    v = torch.from_numpy(valence.data.astype(np.float32)).to(device)  # same pattern and order as ``seen``
    c = (s + val_weight * v) / (1.0 + val_weight)
    counts = np.diff(seen.indptr)  # each member's input is scaled by 1/sqrt(ratings): see the module docstring
    scale = torch.from_numpy(np.repeat(1.0 / np.sqrt(np.maximum(counts, 1)), counts).astype(np.float32)).to(device)
    s, v = s * scale, v * scale
    # each member's rated films are one bag (a CSR row): torch's embedding_bag sums the weighted rows of a
    # table per bag without forming the ratings x dim rows
    offsets = torch.from_numpy(seen.indptr[:-1].astype(np.int64)).to(device)
    d_seen, d_val = (p_seen * q).sum(1), (p_val * q).sum(1)
    target = s * d_seen[items] + v * d_val[items] + c

    def bags(table: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.embedding_bag(items, table, offsets, mode="sum", per_sample_weights=weights)

    z = bags(p_seen, s) + bags(p_val, v)
    towards = bags(q, target)  # sum over rated pairs of (z_u . q_i) t_ui = sum(Z * towards)
    full = ((z @ (q.T @ q)) * z).sum()
    return full - 2.0 * (z * towards).sum() + (target * target).sum()


def fit_lowrank(blocks: Blocks, n_users: int, n_items: int, dim: int, val_weight: float, seed: int,
                config: LowRankConfig = LowRankConfig(), device: str = "cpu",
                progress: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(P_seen, P_val, Q) float32 arrays (items x dim), fitted with Adam over ``config.epochs`` passes."""
    dev = torch.device(device)
    generator = torch.Generator().manual_seed(seed)
    params = [(torch.randn(n_items, dim, generator=generator) * config.init_scale).to(dev).requires_grad_()
              for _ in range(3)]
    optimiser = torch.optim.Adam(params, lr=config.lr)
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)  # the same seed gives the same bits (scatter-adds in order)
    try:
        _epochs(blocks, params, optimiser, n_users, val_weight, config, dev, progress)
    finally:
        torch.use_deterministic_algorithms(was_deterministic)
    with torch.no_grad():
        return tuple(p.detach().cpu().numpy().astype(np.float32) for p in params)  # type: ignore[return-value]


def _epochs(blocks: Blocks, params: list[torch.Tensor], optimiser: torch.optim.Optimizer, n_users: int,
            val_weight: float, config: LowRankConfig, dev: torch.device, progress: bool) -> None:
    p_seen, p_val, q = params
    batches = max(1, math.ceil(n_users / config.batch_users(n_users)))
    errors: list[float] = []
    baseline = 0.0  # the error of a model that scores every film 0, per member
    with tqdm(total=config.epochs * batches, desc="training base model (low-rank, mini-batches)", unit="batch",
              disable=not progress, leave=False) as bar:
        for epoch in range(config.epochs):
            total = 0.0
            for seen, valence in blocks():
                share = seen.shape[0] / n_users
                loss = batch_loss(p_seen, p_val, q, seen, valence, val_weight, dev)
                reg = config.reg * share * sum((p * p).sum() for p in params)
                optimiser.zero_grad(set_to_none=True)
                ((loss + reg) / max(1, seen.shape[0])).backward()
                optimiser.step()
                total += float(loss.detach())
                if epoch == 0:
                    constant = (seen.data + val_weight * valence.data) / (1.0 + val_weight)
                    baseline += float(constant @ constant) / max(1, n_users)
                bar.update()
            errors.append(total / max(1, n_users))
            bar.set_postfix_str(f"epoch {epoch + 1}: error {errors[-1]:.4f}")
    check_converged(errors, baseline)


DIVERGED_RATIO = 2.0  # a last pass this many times worse than the best one: the fit went wrong


class LowRankDiverged(RuntimeError):
    """The mini-batch fit got worse instead of better: its model must not be served."""


def check_converged(errors: list[float], baseline: float = math.inf) -> None:
    """Refuses a fit whose error per member ended well above its best pass, above ``baseline`` (the
    error of scoring every film 0: worse than no model) or is not finite, rather than let a diverged
    model be registered and served."""
    if not errors:
        return
    if (not all(math.isfinite(e) for e in errors) or errors[-1] > DIVERGED_RATIO * min(errors)
            or errors[-1] > baseline):
        trail = ", ".join(f"{e:.4g}" for e in errors)
        raise LowRankDiverged(
            f"the low-rank fit diverged (error per member by pass: {trail}; scoring nothing: {baseline:.4g}); "
            "the model was not kept. "
            "Train with a smaller learning rate (LowRankConfig.lr) or with the closed form (TrainConfig.solver="
            "'closed') where it fits in memory")
