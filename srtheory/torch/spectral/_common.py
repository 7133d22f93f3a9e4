"""Private helpers shared by the solvers of :mod:`srtheory.torch.spectral`.

As in ``srtheory.spectral._common``: the counted and checked matvec (:class:`_Counted`), the
input checks (:func:`_setup`), the result constructor (:func:`_result`), one matvec for the exact
residual of a candidate (:func:`_checked_pair`), the float64 constants; and the torch-only
``_norm``, ``_check_out``, ``_positive``, ``_nonneg``.
"""

from __future__ import annotations

import numpy as np
import torch

from srtheory.torch._util import all_finite
from srtheory.torch.spectral.result import EigResult

_EPS = float(np.finfo(np.float64).eps)
_TINY = float(np.finfo(np.float64).tiny)


def _norm(x) -> float:
    return float(torch.linalg.vector_norm(x))


def _check_out(y, what, n, like):
    if isinstance(y, torch.Tensor):
        y = y.detach()
    if not isinstance(y, torch.Tensor) or tuple(y.shape) != (n,):
        shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(f"{what} returned {shape}; expected a tensor of shape ({n},)")
    if not all_finite(y):
        raise ValueError(f"{what} returned NaN or inf; expected finite values")
    return y.detach().to(dtype=like.dtype, device=like.device)


class _Counted:
    """Matvec wrapper: counts calls, hands the matvec a copy, checks every output."""

    def __init__(self, mv, n: int, like: torch.Tensor):
        self.mv, self.n, self.like, self.count = mv, n, like, 0

    def __call__(self, v):
        self.count += 1
        return _check_out(self.mv(v.clone()), "matvec", self.n, self.like)


def _setup(matvec, v0, tol, max_iter):
    if not isinstance(v0, torch.Tensor):
        raise ValueError(f"v0 must be a torch.Tensor, got {type(v0).__name__}")
    v = v0.detach()
    if v.ndim != 1 or v.numel() == 0:
        raise ValueError(f"v0 must be a non-empty 1-D tensor, got shape {tuple(v.shape)}")
    if not v.is_floating_point():
        raise ValueError(f"v0 must be a floating-point tensor, got dtype {v.dtype}")
    if not bool(torch.isfinite(v).all()):
        raise ValueError("v0 contains NaN or inf; expected finite values")
    if not bool(torch.any(v)):
        raise ValueError("v0 is the zero vector; expected a nonzero start vector")
    n = v.numel()
    if isinstance(matvec, torch.Tensor):
        A = matvec.detach()
        if tuple(A.shape) != (n, n):
            raise ValueError(f"matrix has shape {tuple(A.shape)}; expected ({n}, {n})")
        if not bool(torch.isfinite(A).all()):
            raise ValueError("matrix contains NaN or inf")
        asym = float((A - A.T).abs().max())
        if asym > 100 * torch.finfo(A.dtype).eps * max(float(A.abs().max()), _TINY):
            raise ValueError(f"matrix is not symmetric: max |A - A^T| = {asym:.3e}")
        A = A.to(dtype=v.dtype, device=v.device)

        def raw(x):
            return A @ x
    elif callable(matvec):
        raw = matvec
    else:
        raise ValueError(
            f"matvec must be callable or a square torch.Tensor, got {type(matvec).__name__}"
        )
    tol = _positive(tol, "tol")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ValueError(f"max_iter must be an integer >= 1, got {max_iter!r}")
    return _Counted(raw, n, v), v.clone(), tol, int(max_iter)


def _nonneg(x, name) -> float:
    try:
        x = float(x)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {x!r}") from None
    if not (np.isfinite(x) and x >= 0):
        raise ValueError(f"{name} must be finite and >= 0, got {x!r}")
    return x


def _positive(x, name) -> float:
    try:
        x = float(x)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {x!r}") from None
    if not (np.isfinite(x) and x > 0):
        raise ValueError(f"{name} must be finite and > 0, got {x!r}")
    return x


def _result(pair, *, n_mv, converged, n_iter, lambda_max=None, lambda_min=None, tie=False):
    # ``vec`` is always a tensor private to the call (made by the solver from its own copy of
    # v0, never changed in place), so it is returned without another copy
    vec, eigval, res = pair
    return EigResult(
        rho=abs(float(eigval)),
        eigval=float(eigval),
        eigvec=vec,
        residual=float(res),
        n_matvecs=int(n_mv),
        converged=bool(converged),
        n_iter=int(n_iter),
        lambda_max=None if lambda_max is None else float(lambda_max),
        lambda_min=None if lambda_min is None else float(lambda_min),
        tie=bool(tie),
    )


def _checked_pair(mv, x):
    """Normalise x, apply A once: (x, Rayleigh quotient, exact residual)."""
    x = x / torch.linalg.vector_norm(x)
    y = mv(x)
    theta = float(torch.dot(x, y))
    return x, theta, _norm(y - theta * x)
