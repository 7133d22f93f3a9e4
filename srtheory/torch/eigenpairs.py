"""Several extreme eigenpairs of a symmetric operator on torch tensors: :func:`eigenpairs`.

The curvature *spectrum* (top-k eigenvalues, as PyHessian's ``eigenvalues(top_n=k)`` and
hessian-eigenthings' ``lanczos(k)`` report) by Lanczos with full reorthogonalisation -- the run
of :func:`srtheory.spectral.lanczos`, kept going until the ``k`` wanted Ritz pairs all pass the
Ritz-residual test ``|beta_m s_mj| <= tol |theta_j|`` -- followed by an honest check: every
returned pair is recomputed from one matvec of its own vector (``eigval`` = Rayleigh quotient,
``residual = ||A y - eigval y||``), and ``converged[j]`` is that recomputed residual's test
(``<= tol * |eigval_j|``, or the Krylov space became invariant within rounding).  By the
Krylov--Bogoliubov bound an eigenvalue of ``A`` lies within ``residual[j]`` of ``eigval[j]``.
Written here (not in :mod:`srtheory.spectral`, whose solvers return one pair) on the torch array
operations only; the small tridiagonal problem is solved on the host in float64.

Cost: ``m + k`` matvecs for ``m`` Lanczos steps, ``m`` basis vectors of memory (``max_iter``
bounds both; a k-dimensional cluster needs ``m`` a few times ``k``).  Like every Krylov method
it sees only what ``v0`` excites, and it finds one vector per *distinct* eigenvalue: a repeated
eigenvalue appears once (its multiplicity is invisible to a single-vector Krylov space).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import scipy.linalg
import torch

__all__ = ["EigenPairs", "eigenpairs"]


class EigenPairs(NamedTuple):
    """``k`` eigenpair estimates, ordered as requested (``which``)."""

    eigvals: torch.Tensor  # (k,), float64 on the host
    eigvecs: torch.Tensor  # (n, k), v0's dtype and device, orthonormal columns
    residuals: torch.Tensor  # (k,), ||A y_j - eigval_j y_j|| from a matvec of y_j
    converged: torch.Tensor  # (k,) bool: the recomputed residual passed
    n_matvecs: int
    n_iter: int  # Lanczos steps


def eigenpairs(matvec, v0, /, *, k: int = 1, which: str = "LM", tol: float = 1e-6,
               max_iter: int = 200) -> EigenPairs:
    """The ``k`` eigenpairs of symmetric ``A`` (``matvec: v -> A v`` on 1-D tensors) of largest
    magnitude (``which="LM"``), largest (``"LA"``) or smallest (``"SA"``) eigenvalue.

    Args:
      matvec: ``v -> A v`` for symmetric ``A``, 1-D tensors of ``v0``'s shape.
      v0: start vector (nonzero, finite, 1-D floating tensor); e.g. ``torch.ones(n)``.
      k: number of pairs, ``1 <= k <= n``.
      tol: relative residual tolerance, ``> 0`` (default ``1e-6``; in float32 the reachable
        level is about ``1e-6``-``1e-5`` of ``||A||``).
      max_iter: Lanczos steps, ``>= k`` (capped at ``n``).

    Returns:
      :class:`EigenPairs` (module docstring for what ``converged`` certifies).
    """
    if not isinstance(v0, torch.Tensor) or v0.ndim != 1 or not v0.is_floating_point():
        raise ValueError("v0 must be a 1-D floating-point torch.Tensor")
    n = v0.numel()
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= n:
        raise ValueError(f"k must be an integer in [1, n={n}], got {k!r}")
    if which not in ("LM", "LA", "SA"):
        raise ValueError(f"which must be 'LM', 'LA' or 'SA', got {which!r}")
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a finite number > 0, got {tol!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < k:
        raise ValueError(f"max_iter must be an integer >= k={k}, got {max_iter!r}")
    if not callable(matvec):
        raise ValueError(f"matvec must be callable, got {type(matvec).__name__}")  # noqa: TRY004
    v = v0.detach().clone()
    if not bool(torch.isfinite(v).all()) or float(torch.linalg.vector_norm(v)) == 0.0:
        raise ValueError("v0 must be finite and nonzero")
    m_max = min(max_iter, n)
    u = torch.finfo(v.dtype).eps
    count = [0]

    def mv(x):
        count[0] += 1
        y = matvec(x.clone())
        if not isinstance(y, torch.Tensor) or tuple(y.shape) != (n,):
            raise ValueError(f"matvec returned {getattr(y, 'shape', type(y))}; expected ({n},)")
        if not bool(torch.isfinite(y).all()):
            raise ValueError("matvec returned NaN or inf; expected finite values")
        return y.detach().to(dtype=v.dtype, device=v.device)

    Q = torch.zeros((m_max, n), dtype=v.dtype, device=v.device)
    alphas, betas = [], []
    q = v / torch.linalg.vector_norm(v)
    invariant = False
    anorm = 0.0
    m = 0
    for j in range(m_max):
        Q[j] = q
        w = mv(q)
        a = float(torch.dot(w, q))
        alphas.append(a)
        for _ in range(2):  # full reorthogonalisation, twice ("twice is enough")
            w = w - Q[: j + 1].T @ (Q[: j + 1] @ w)
        b = float(torch.linalg.vector_norm(w))
        m = j + 1
        anorm = max(anorm, abs(a) + b + (betas[-1] if betas else 0.0))
        if b <= 10 * math.sqrt(n) * u * max(anorm, 1e-300):
            invariant = True
            break
        if m >= k:
            theta, S = _tridiag(alphas, betas)
            idx = _order(theta, which)[:k]
            est = np.abs(b * S[-1, idx])
            if np.all(est <= tol * np.maximum(np.abs(theta[idx]), 1e-300)):
                break
        betas.append(b)
        q = w / b
    theta, S = _tridiag(alphas, betas[: m - 1])
    order = _order(theta, which)
    kk = min(k, m)
    idx = order[:kk]
    Y = Q[:m].T @ torch.as_tensor(S[:, idx], dtype=v.dtype, device=v.device)
    vals, res = [], []
    for j in range(kk):
        y = Y[:, j] / torch.linalg.vector_norm(Y[:, j])
        Y[:, j] = y
        ay = mv(y)
        lam = float(torch.dot(y, ay))
        vals.append(lam)
        res.append(float(torch.linalg.vector_norm(ay - lam * y)))
    vals_t = torch.tensor(vals, dtype=torch.float64)
    res_t = torch.tensor(res, dtype=torch.float64)
    floor = 10 * math.sqrt(n) * u * max(anorm, 1e-300)
    conv = (res_t <= tol * vals_t.abs()) | (torch.tensor(invariant) & (res_t <= floor))
    return EigenPairs(vals_t, Y, res_t, conv, count[0], m)


def _tridiag(alphas, betas):
    a = np.asarray(alphas, dtype=np.float64)
    b = np.asarray(betas, dtype=np.float64)
    if a.size == 1:
        return a.copy(), np.ones((1, 1))
    return scipy.linalg.eigh_tridiagonal(a, b)


def _order(theta, which):
    if which == "LM":
        return np.argsort(-np.abs(theta), kind="stable")
    if which == "LA":
        return np.argsort(-theta, kind="stable")
    return np.argsort(theta, kind="stable")
