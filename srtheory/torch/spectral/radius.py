"""The spectral radius with both extremes and ``+-rho`` tie detection on torch tensors.

Mirror of :mod:`srtheory.spectral.radius`: :func:`spectral_radius`, by Lanczos until both ends
are resolved or by power iteration with a Rayleigh-Ritz step on the last two iterates.
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
from srtheory.torch.spectral.krylov import _lanczos_run
from srtheory.torch.spectral.result import EigResult

__all__ = ["spectral_radius"]


def spectral_radius(
    matvec, v0, /, *, method: str = "lanczos", tol: float = 1e-8, max_iter: int | None = None
) -> EigResult:
    """ρ(A) = max(|λ_max|, |λ_min|) with both extremes and ±ρ tie detection, as
    :func:`srtheory.spectral.spectral_radius` (the ρ_B of Algorithm 1 step 3, SRR_NOTES §6).

    ``"lanczos"``: one run until both extreme Ritz pairs pass |β_k s_kj| ≤ tol·ρ, both residuals
    recomputed.  ``"power"``: power iteration with a free Rayleigh-Ritz step on
    span{v_{k−1}, v_k} (resolves a ±ρ tie), then a shifted run on A − λ₁I for the other end.
    ``tie`` when λ_max > 0 > λ_min and ||λ_max| − |λ_min|| ≤ r_max + r_min + 100·eps·ρ.
    """
    if method not in ("lanczos", "power"):
        raise ValueError(f"method must be 'lanczos' or 'power', got {method!r}")
    if max_iter is None:
        max_iter = 300 if method == "lanczos" else 10_000
    mv, v, tol, max_iter = _setup(matvec, v0, tol, max_iter)
    if method == "lanczos":
        run = _lanczos_run(mv, v, tol, max_iter, ends=("LA", "SA"))
        top, bottom = run.pairs
        n_mv, n_iter = run.n_mv, run.n_iter
        rho = max(abs(top[1]), abs(bottom[1]))
        converged = run.exact or max(top[2], bottom[2]) <= tol * max(rho, _TINY)
    else:
        first = _power_rr(mv, v, tol, max_iter, shift=0.0, scale=None)
        n_mv, n_iter = first.n_mv, first.n_iter
        if first.other is not None:
            pairs = (first.pair, first.other)
            converged = first.converged
        else:
            sigma = first.pair[1]
            start = v - torch.dot(v, first.pair[0]) * first.pair[0]
            if not _norm(start) > 1e-8 * _norm(v):
                start = v
            second = _power_rr(mv, start, tol, max_iter, shift=sigma, scale=max(abs(sigma), _TINY))
            n_mv, n_iter = n_mv + second.n_mv, n_iter + second.n_iter
            pairs = (first.pair, second.pair)
            converged = first.converged and second.converged
        top, bottom = sorted(pairs, key=lambda p: p[1], reverse=True)
        rho = max(abs(top[1]), abs(bottom[1]))
        converged = converged and max(top[2], bottom[2]) <= tol * max(rho, _TINY)
    lam_max, lam_min = top[1], bottom[1]
    tie = bool(
        lam_max > 0.0 > lam_min and abs(lam_max + lam_min) <= top[2] + bottom[2] + 100 * _EPS * rho
    )
    pick = top if (tie or abs(lam_max) >= abs(lam_min)) else bottom
    return _result(
        pick,
        n_mv=n_mv,
        converged=bool(converged),
        n_iter=n_iter,
        lambda_max=lam_max,
        lambda_min=lam_min,
        tie=tie,
    )


# ----------------------------------------------------------------------------- private helpers


class _PowerRun(NamedTuple):
    pair: tuple
    other: tuple | None
    converged: bool
    n_mv: int
    n_iter: int


def _power_rr(mv: _Counted, v, tol, max_iter, *, shift: float, scale) -> _PowerRun:
    """Power iteration on B = A − shift·I with a free Rayleigh-Ritz step on span{v_{k−1}, v_k}."""
    start = mv.count

    def bv(x):
        y = mv(x)
        return y - shift * x if shift else y

    v = v / torch.linalg.vector_norm(v)
    v_old = w_old = None
    best = None
    for k in range(max_iter):
        w = bv(v)
        theta = float(torch.dot(v, w))
        res = _norm(w - theta * v)
        if best is None or res <= best[2]:
            best = (v, theta + shift, res)
        thr = tol * (abs(theta) if scale is None else scale)
        if res <= thr:
            return _PowerRun((v, theta + shift, res), None, True, mv.count - start, k + 1)
        if v_old is not None:
            rr = _rayleigh_ritz2(v_old, w_old, v, w)
            if rr is not None:
                (x1, t1, e1), (x2, t2, e2) = rr
                thr = tol * (abs(t1) if scale is None else scale)
                if e1 <= thr:
                    p1 = _checked_pair(bv, x1)
                    ok1 = p1[2] <= tol * (abs(p1[1]) if scale is None else scale)
                    tie_like = (
                        scale is None
                        and t1 * t2 < 0
                        and e2 <= thr
                        and (abs(abs(t1) - abs(t2)) <= e1 + e2 + 100 * _EPS * abs(t1))
                    )
                    if ok1 and tie_like:
                        p2 = _checked_pair(bv, x2)
                        other = (p2[0], p2[1] + shift, p2[2])
                        return _PowerRun(
                            (p1[0], p1[1] + shift, p1[2]), other, True, mv.count - start, k + 1
                        )
                    if ok1:
                        return _PowerRun(
                            (p1[0], p1[1] + shift, p1[2]), None, True, mv.count - start, k + 1
                        )
        norm = _norm(w)
        if norm == 0.0:
            break  # pragma: no cover
        v_old, w_old = v, w
        v = w / norm
    return _PowerRun(best, None, False, mv.count - start, max_iter)


def _rayleigh_ritz2(v1, w1, v2, w2):
    """Rayleigh-Ritz on span{v1, v2} given w_i = B v_i (no matvec); None if 1-dimensional."""
    c = float(torch.dot(v1, v2))
    z = v2 - c * v1
    s = _norm(z)
    if s <= np.sqrt(_EPS):
        return None
    U = torch.stack([v1, z / s], dim=1)
    BU = torch.stack([w1, (w2 - c * w1) / s], dim=1)
    H = (U.T @ BU).double().cpu().numpy()
    H = 0.5 * (H + H.T)
    t, S = np.linalg.eigh(H)
    out = []
    for j in (1, 0) if abs(t[1]) >= abs(t[0]) else (0, 1):
        sj = torch.as_tensor(S[:, j], dtype=U.dtype, device=U.device)
        x = U @ sj
        out.append((x, float(t[j]), _norm(BU @ sj - float(t[j]) * x)))
    return out
