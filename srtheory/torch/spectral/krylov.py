"""Lanczos with full reorthogonalisation and a Ritz-residual rule on torch tensors.

Mirror of :mod:`srtheory.spectral.krylov`: :func:`lanczos`, and the run (``_lanczos_run``) that
:func:`srtheory.torch.spectral.spectral_radius` shares.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from srtheory.torch.spectral._common import (
    _EPS,
    _TINY,
    _checked_pair,
    _Counted,
    _norm,
    _result,
    _setup,
)
from srtheory.torch.spectral.result import EigResult

__all__ = ["lanczos"]


def lanczos(
    matvec, v0, /, *, tol: float = 1e-10, max_iter: int = 300, which: str = "LM"
) -> EigResult:
    """Lanczos with full reorthogonalisation and a Ritz-residual rule (as the reference's
    :func:`srtheory.spectral.lanczos`).

    A Q_k = Q_k T_k + β_k q_{k+1} e_kᵀ; stop when the wanted Ritz pair (θ_j, s_j) has
    |β_k s_kj| ≤ tol·|θ_j| ("LM" also requires that the opposite end cannot overtake), on
    breakdown (invariant Krylov space: exact), or at min(max_iter, n) steps; the returned Ritz
    vector gets one matvec to recompute eigval and its residual, and the iteration continues if
    that recomputed residual fails.  ``lambda_max``/``lambda_min`` are the extreme Ritz values.
    """
    if which not in ("LM", "LA", "SA"):
        raise ValueError(f"which must be 'LM', 'LA' or 'SA', got {which!r}")
    mv, v, tol, max_iter = _setup(matvec, v0, tol, max_iter)
    run = _lanczos_run(mv, v, tol, max_iter, ends=(which,))
    (pair,) = run.pairs
    lam_max, lam_min = run.extremes
    if which == "LA":
        lam_max = pair[1]
    elif which == "SA":
        lam_min = pair[1]
    elif pair[1] >= 0:
        lam_max = max(lam_max, pair[1])
    else:
        lam_min = min(lam_min, pair[1])
    rho = abs(pair[1])
    converged = run.exact or pair[2] <= tol * max(rho, _TINY)
    return _result(
        pair,
        n_mv=run.n_mv,
        converged=converged,
        n_iter=run.n_iter,
        lambda_max=lam_max,
        lambda_min=lam_min,
    )


# ----------------------------------------------------------------------------- private helpers


class _LanczosRun(NamedTuple):
    pairs: tuple
    extremes: tuple
    exact: bool
    n_mv: int
    n_iter: int


def _lanczos_run(mv: _Counted, v, tol, max_iter, *, ends) -> _LanczosRun:
    n = v.numel()
    m = min(max_iter, n)
    # basis as rows, grown by doubling like the reference (m may be large, the run short):
    # Q[: k + 1] is a contiguous view, no per-step re-stacking of the basis
    Q = torch.zeros((min(m, 32), n), dtype=v.dtype, device=v.device)
    alphas, betas = np.zeros(m), np.zeros(m)
    Q[0] = v / torch.linalg.vector_norm(v)
    anorm = 0.0
    for k in range(m):
        w = mv(Q[k])
        alphas[k] = float(torch.dot(Q[k], w))
        w = w - alphas[k] * Q[k] - (betas[k - 1] * Q[k - 1] if k > 0 else 0.0)
        Qk = Q[: k + 1]
        for _ in range(2):  # full reorthogonalisation, twice is enough
            w = w - Qk.T @ (Qk @ w)
        beta = _norm(w)
        theta, S = _tridiag_eigh(alphas[: k + 1], betas[:k])
        anorm = max(anorm, abs(theta[0]), abs(theta[-1]), beta)
        exact = k + 1 == n or beta <= 10 * n * _EPS * anorm
        ritz_res = np.abs(beta * S[-1, :])
        idx = [_wanted(theta, e) for e in ends]
        rho_est = max(abs(theta[0]), abs(theta[-1]))
        if len(ends) == 1:
            j = idx[0]
            ok = ritz_res[j] <= tol * max(abs(theta[j]), _TINY)
            if ok and ends[0] == "LM":  # the opposite end must not be able to overtake
                o = 0 if j == len(theta) - 1 else len(theta) - 1
                ok = abs(theta[o]) + ritz_res[o] <= abs(theta[j]) or ritz_res[o] <= tol * abs(
                    theta[j]
                )
        else:
            ok = all(ritz_res[j] <= tol * max(rho_est, _TINY) for j in idx)
        if ok or exact or k + 1 == m:
            pairs = tuple(
                _checked_pair(mv, Qk.T @ torch.as_tensor(S[:, j], dtype=Qk.dtype, device=Qk.device))
                for j in idx
            )
            scale = max(max(abs(p[1]) for p in pairs), _TINY)
            good = all(p[2] <= tol * (abs(p[1]) if len(ends) == 1 else scale) for p in pairs)
            if good or exact or k + 1 == m:
                return _LanczosRun(pairs, (theta[-1], theta[0]), exact, mv.count, k + 1)
        if k + 1 == Q.shape[0]:
            grow = torch.zeros((min(Q.shape[0], m - Q.shape[0]), n), dtype=Q.dtype, device=Q.device)
            Q = torch.cat([Q, grow])
        Q[k + 1] = w / beta
        betas[k] = beta
    raise AssertionError("unreachable")  # pragma: no cover


def _tridiag_eigh(a, b):
    T = np.diag(a) + np.diag(b, 1) + np.diag(b, -1)
    return np.linalg.eigh(T)


def _wanted(theta, which) -> int:
    if which == "LA":
        return len(theta) - 1
    if which == "SA":
        return 0
    return len(theta) - 1 if abs(theta[-1]) >= abs(theta[0]) else 0
