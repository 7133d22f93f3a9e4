"""The eigen-solvers' array operations on torch tensors (any floating dtype, any device).

The names and contracts are listed in :mod:`srtheory.backend`.  What kept the former torch copy
of the solvers fast is kept here: ``w - a v`` without a temporary (``torch.sub`` with ``alpha``),
no copy of the returned eigenvector (the solvers never write into it), the Lanczos basis stored as
rows (``Q[:k]`` is a contiguous view) and grown by doubling, and one host sync per scalar that
steers the iteration.  Small matrices (the tridiagonal ``T_k``, 2 x 2 Rayleigh--Ritz problems) go
to the host in float64, as in the reference.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from srtheory.torch._util import all_finite

name = "torch"


def prepare(A, v0, /):
    """``(matvec, v, n)`` for a matvec callable or a dense symmetric ``torch.Tensor`` and a start
    tensor ``v0`` (1-D, floating, finite, nonzero); ``v`` is a private copy."""
    if not isinstance(v0, torch.Tensor):
        raise ValueError(f"v0 must be a torch.Tensor, got {type(v0).__name__}")
    v = v0.detach()
    if v.ndim != 1 or v.numel() == 0:
        raise ValueError(f"v0 must be a non-empty 1-D tensor, got shape {tuple(v.shape)}")
    if not v.is_floating_point():
        raise ValueError(f"v0 must be a floating-point tensor, got dtype {v.dtype}")
    if not all_finite(v):
        raise ValueError("v0 contains NaN or inf; expected finite values")
    if max_abs(v) == 0.0:
        raise ValueError("v0 is the zero vector; expected a nonzero start vector")
    n = v.numel()
    if isinstance(A, torch.Tensor):
        M = A.detach()
        if tuple(M.shape) != (n, n):
            raise ValueError(f"matrix has shape {tuple(M.shape)}; expected ({n}, {n})")
        if not bool(torch.isfinite(M).all()):
            raise ValueError("matrix contains NaN or inf")
        asym = float((M - M.T).abs().max())
        tiny = float(np.finfo(np.float64).tiny)
        if asym > 100 * torch.finfo(M.dtype).eps * max(float(M.abs().max()), tiny):
            raise ValueError(f"matrix is not symmetric: max |A - A^T| = {asym:.3e}")
        M = M.to(dtype=v.dtype, device=v.device)

        def mv(x):
            return M @ x
    elif callable(A):
        mv = A
    else:
        raise ValueError(
            f"matvec must be callable or a square torch.Tensor, got {type(A).__name__}"
        )
    return mv, v.clone(), n


def checked(y, what: str, n: int, like, /):
    if isinstance(y, torch.Tensor):
        y = y.detach()
    if not isinstance(y, torch.Tensor) or tuple(y.shape) != (n,):
        shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(f"{what} returned {shape}; expected a tensor of shape ({n},)")
    if not all_finite(y):
        raise ValueError(f"{what} returned NaN or inf; expected finite values")
    return y.to(dtype=like.dtype, device=like.device)


def copy(x, /):
    return x.clone()


_CHUNK = 262144


def dot(x, y, /) -> float:
    """``x . y`` as a Python float.  Below float64 the sum is accumulated in float64: one
    ``torch.dot`` in the tensors' dtype per chunk of ``_CHUNK`` entries (no temporary, no host
    sync until the end), their sum in float64 -- the rounding error then grows with the chunk,
    not with ``n`` (65 536-entry chunks on 657 k random float32 products: 2.7e-7 against 3.2e-6
    for one float32 dot; 262 144-entry chunks cost 0.09 ms there, 1 thread).  ``torch.linalg.vecdot`` on ``(k, chunk)`` views was as
    fast but allocates the products (one vector more at an SRR step's peak); chunked ``bmm`` was
    6x slower."""
    if x.dtype == torch.float64:
        return float(torch.dot(x, y))
    n = x.numel()
    parts = [torch.dot(x[i : i + _CHUNK], y[i : i + _CHUNK]) for i in range(0, n, _CHUNK)]
    return float(torch.stack(parts).sum(dtype=torch.float64))


def norm(x, /) -> float:
    if x.dtype == torch.float64:
        return float(torch.linalg.vector_norm(x))
    return math.sqrt(max(dot(x, x), 0.0))


def max_abs(x, /) -> float:
    # one fused min/max reduction: no n-sized |x| temporary, and 20x faster on the CPU than the
    # inf-norm (0.07 vs 1.7 ms on 657 k floats)
    if not x.numel():
        return 0.0
    lo, hi = torch.aminmax(x)
    return max(-float(lo), float(hi))


def eps(x, /) -> float:
    return float(torch.finfo(x.dtype).eps)


def normalize(x, /):
    if x.dtype == torch.float64:
        return x / torch.linalg.vector_norm(x)
    return x / norm(x)


def sub_scaled(w, v, a: float, /):
    return torch.sub(w, v, alpha=a)


def export(x, /):
    # always a tensor private to the solve (made from its own copy of v0, never changed in
    # place), so it is handed over without another copy
    return x


def stack_columns(xs, /):
    return torch.stack(list(xs), dim=1)


def to_host(M, /):
    return M.detach().double().cpu().numpy()


def from_host(s, like, /):
    return torch.as_tensor(s, dtype=like.dtype, device=like.device)


def basis_new(n: int, cap: int, like, /):
    return torch.zeros((cap, n), dtype=like.dtype, device=like.device)


def basis_capacity(Q, /) -> int:
    return Q.shape[0]


def basis_grow(Q, extra: int, /):
    grow = torch.zeros((extra, Q.shape[1]), dtype=Q.dtype, device=Q.device)
    return torch.cat([Q, grow])


def basis_column(Q, k: int, /):
    return Q[k]


def basis_set(Q, k: int, x, /) -> None:
    Q[k] = x


def basis_project_out(Q, k: int, w, /):
    Qk = Q[:k]
    return w - Qk.T @ (Qk @ w)


def basis_combine(Q, k: int, s, /):
    Qk = Q[:k]
    return Qk.T @ torch.as_tensor(s, dtype=Qk.dtype, device=Qk.device)
