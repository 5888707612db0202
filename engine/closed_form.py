"""The closed-form base model for small and mid-sized data (EASE's ridge regressions, factorised).

Two ridge regressions with EASE's zero-diagonal constraint predict each film from what a user
watched (``seen``) and from how much they liked it (``valence``). Which of two exact forms runs
depends on the shape: with fewer films than users the items x items inverse; with fewer users
the Woodbury form (a users x users inverse). Both start from sparse inputs (only the Gram
matrix is dense) and end in the blended operator's best rank-``dim`` factorisation (float32),
taken from the eigenvectors of its smaller Gram side rather than a full SVD. Deterministic.

Its memory grows with min(users, films) x films, so `engine.training` switches to the
mini-batch low-rank model (`engine.lowrank`) past `CLOSED_FORM_MAX_ENTRIES`.
"""
from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import torch

# dense float64 entries of the largest matrix the closed form may hold (~1.2 GB)
CLOSED_FORM_MAX_ENTRIES = 150_000_000


def closed_form_entries(n_users: int, n_items: int) -> int:
    """Entries of the closed form's largest dense matrix for this shape (see module docstring)."""
    return n_items * n_items if n_items <= n_users else n_users * n_items + n_users * n_users


def _dense_gram(x: sp.csr_matrix, items_side: bool) -> torch.Tensor:
    gram = (x.T @ x) if items_side else (x @ x.T)
    return torch.from_numpy(np.asarray(gram.toarray(), dtype=np.float64))


# The inverse's precision. float32 halves its time (most of a closed-form fit on MovieLens 1M); with
# lam >= 100 the shifted Gram matrix is well conditioned (condition ~1,700 on ML-1M), and the inverse
# differs from float64's by ~2e-6 relative, below the float32 factorisation the model is kept in.
INVERSE_DTYPE = torch.float32


def _ease_items(x: sp.csr_matrix, lam: float, gram: torch.Tensor | None = None) -> tuple[torch.Tensor, float]:
    """EASE's items x items B = -P / diag(P) off the diagonal, zero on it, with P = (X'X + lam I)^-1
    (Cholesky), and ||X B||_F (the scale of its scores) from identities instead of a product with X:
    B = I - P D^-1 with D = diag(P), so X'X B = X'X - D^-1 + lam P D^-1."""
    gram = _dense_gram(x, items_side=True) if gram is None else gram.clone()
    shifted = gram.to(INVERSE_DTYPE, copy=True)
    shifted.diagonal().add_(lam)
    p = torch.cholesky_inverse(torch.linalg.cholesky(shifted)).to(gram.dtype)
    del shifted
    inv_d = 1.0 / torch.diagonal(p).clone()
    b = p.mul_(-inv_d)  # -P D^-1 (columns scaled)
    b.diagonal().add_(1.0)  # zero diagonal
    gram_b = gram.add_(-lam * (b - torch.eye(b.shape[0], dtype=b.dtype)))  # X'X + lam (I - B) = X'X + lam P D^-1
    gram_b.diagonal().sub_(inv_d)
    norm = float(torch.sqrt(torch.clamp((gram_b * b).sum(), min=0.0)))
    return b, norm


def _ease_operator(x: sp.csr_matrix, lam: float) -> torch.Tensor:
    """G (users x items) with scores(x_new) = (x_new X') G off the diagonal: G = M X / diag(P)
    (Woodbury form of EASE, M = (lam I + X X')^-1)."""
    gram = _dense_gram(x, items_side=False)
    gram.diagonal().add_(lam)
    m = torch.linalg.inv(gram).numpy()
    mx = torch.from_numpy(np.asarray((x.T @ m).T))  # M X without densifying X
    diag_p = (1.0 - torch.from_numpy(np.asarray(x.multiply(mx.numpy()).sum(0)).ravel())) / lam
    return mx / diag_p


def _top_eigen(gram: torch.Tensor, rank: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``rank`` largest eigenpairs of a symmetric matrix, largest first (LAPACK's subset driver:
    several times faster than a full decomposition when rank << size)."""
    n = gram.shape[0]
    values, vectors = scipy.linalg.eigh(gram.numpy(), subset_by_index=[n - rank, n - 1], driver="evx")
    return torch.from_numpy(values[::-1].copy()), torch.from_numpy(vectors[:, ::-1].copy())


FACTOR_DTYPE = torch.float32  # the factorisation's precision: twice as fast as float64; the model is float32


def top_factors(operator: torch.Tensor, rank: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(U_r, s_r, V_r) of the best rank-``rank`` approximation of ``operator``, from the symmetric
    eigenproblem of its smaller Gram side (exact; much cheaper than a full SVD of a tall matrix)."""
    rows, cols = operator.shape
    rank = min(rank, rows, cols)
    operator = operator.to(FACTOR_DTYPE)
    small_side_right = cols <= rows
    values, vectors = _top_eigen(operator.T @ operator if small_side_right else operator @ operator.T, rank)
    s = torch.sqrt(torch.clamp(values, min=0.0))
    safe = torch.where(s > 0, s, torch.ones_like(s))
    if small_side_right:
        return (operator @ vectors) / safe, s, vectors
    return vectors, s, (operator.T @ vectors) / safe


BlockCache = dict[tuple[str, float], torch.Tensor]


def _scaled_block(x: sp.csr_matrix, lam: float, name: str, cache: BlockCache | None) -> torch.Tensor:
    """B / ||X B||, kept in ``cache`` (when given) so trials that only change the blend reuse it."""
    if cache is not None and (name, lam) in cache:
        return cache[(name, lam)]
    gram = None
    if cache is not None:  # X'X is the same for every lambda
        if (f"{name} gram", 0.0) not in cache:
            cache[(f"{name} gram", 0.0)] = _dense_gram(x, items_side=True)
        gram = cache[(f"{name} gram", 0.0)]
    b, norm = _ease_items(x, lam, gram)
    b /= norm
    if cache is not None:
        cache[(name, lam)] = b
    return b


def fit_closed_form(seen: sp.csr_matrix, valence: sp.csr_matrix, dim: int, lam_seen: float, lam_val: float,
                    val_weight: float, bar=None,  # type: ignore[no-untyped-def]
                    cache: BlockCache | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(P_seen, P_val, Q) float32 arrays (items x dim) of the blended, factorised EASE operator.
    ``cache``: the per-lambda blocks of earlier calls on the same data (the constants search)."""
    n_users, n_items = seen.shape
    if n_items <= n_users:
        # few items: the blended operator [B_seen; w B_val] itself, items x items per block
        b_seen = _scaled_block(seen, lam_seen, "seen", cache)
        b_val = _scaled_block(valence, lam_val, "valence", cache) * val_weight
        if bar is not None:
            bar.update()
        operator = torch.cat([b_seen, b_val])
        del b_seen, b_val
        u, s, v = top_factors(operator, dim)
        split = n_items
        left_seen, left_val = u[:split], u[split:]
    else:
        g_seen = _ease_operator(seen, lam_seen)
        g_val = _ease_operator(valence, lam_val)
        if bar is not None:
            bar.update()
        # blended operator = blockdiag(seen', valence') @ [a G_seen; b G_val]; factor the left part by QR
        q_seen, r_seen = torch.linalg.qr(torch.from_numpy(seen.T.toarray()))
        q_val, r_val = torch.linalg.qr(torch.from_numpy(valence.T.toarray()))
        g = torch.cat([g_seen / torch.linalg.norm(r_seen.T @ (r_seen @ g_seen)),
                       val_weight * g_val / torch.linalg.norm(r_val.T @ (r_val @ g_val))])
        split = r_seen.shape[0]  # min(users, items)
        u, s, v = top_factors(torch.block_diag(r_seen, r_val) @ g, dim)
        left_seen, left_val = q_seen.to(u.dtype) @ u[:split], q_val.to(u.dtype) @ u[split:]
    if bar is not None:
        bar.update()
    root = torch.sqrt(s)
    rank = s.shape[0]
    out = [np.zeros((n_items, dim), dtype=np.float32) for _ in range(3)]
    out[0][:, :rank] = (left_seen * root).numpy()
    out[1][:, :rank] = (left_val * root).numpy()
    out[2][:, :rank] = (v * root).numpy()
    return out[0], out[1], out[2]
