"""Eigen-solvers on torch tensors: the paper's power iteration, Lanczos, spectral radius.

A line-by-line port of :mod:`srtheory.spectral` (the specification: same algorithms, stopping
rules, counts and result fields) for a ``matvec`` taking and returning flat 1-D tensors on any
device.  Scalars that steer the iteration are read back as Python floats (one device sync per
iteration); the small Lanczos tridiagonal and the 2×2 Rayleigh-Ritz problems are solved with
NumPy in float64 on the host, exactly as in the reference.  A dense symmetric ``torch.Tensor``
may be passed in place of ``matvec``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch

from srtheory.torch._util import all_finite

__all__ = ["EigResult", "power_iteration", "lanczos", "spectral_radius"]

_EPS = float(np.finfo(np.float64).eps)
_TINY = float(np.finfo(np.float64).tiny)


class EigResult(NamedTuple):
    """One eigenpair estimate of a symmetric ``A`` (fields of :class:`srtheory.spectral.EigResult`).

    ``eigvec`` is a unit 2-norm tensor on the matvec's device and dtype; the other fields are
    Python numbers.  ``residual = ‖A eigvec − eigval·eigvec‖₂`` of the returned pair, from a
    matvec of that very vector.
    """

    rho: float
    eigval: float
    eigvec: torch.Tensor
    residual: float
    n_matvecs: int
    converged: bool
    n_iter: int
    lambda_max: float | None = None
    lambda_min: float | None = None
    tie: bool = False

    @property
    def interval(self) -> tuple[float, float]:
        """``(eigval − residual, eigval + residual)``: contains an eigenvalue of ``A``
        (Krylov-Bogoliubov bound, ``A`` symmetric, ``‖eigvec‖ = 1``)."""
        return (self.eigval - self.residual, self.eigval + self.residual)


def power_iteration(
    matvec,
    v0,
    /,
    *,
    tol: float = 1e-3,
    max_iter: int = 1000,
    alpha=None,
    precond: Callable | None = None,
    criteria: str = "paper",
    cap_at_n: bool = False,
) -> EigResult:
    """Warm-started power iteration: Algorithm 1 of SRR_NOTES §6 (as the reference's
    :func:`srtheory.spectral.power_iteration`).

    v ← v0/‖v0‖, λ_old = 0, r_old = 0 (step 1); for i = 0, 1, …: w = A v (2.1); λ = wᵀv (2.2);
    if λ < 0: λ ← −λ, v ← −v (2.3); r = w − λv (2.4); stop (2.6) if ‖r‖ < tol or
    min(‖r − r_old‖, ‖r + r_old‖)/‖r_old‖ < tol or |λ − λ_old|/λ_old < tol (``criteria="paper"``)
    or ‖r‖ ≤ tol·λ (``criteria="residual"``); with a callable α reject a step whose residual grew
    (2.7); update v ← w/‖w‖ or v ← normalize(v + α_i P(r)) (2.8, Algorithm 1b).  Returns the last
    evaluated (accepted) pair, ``eigval`` signed, ``residual = ‖r‖`` exact.  ``converged`` means a
    stopping test fired (under "paper" it does not certify accuracy; ``residual`` does).
    """
    mv, v, tol, max_iter = _setup(matvec, v0, tol, max_iter)
    if criteria not in ("paper", "residual"):
        raise ValueError(f"criteria must be 'paper' or 'residual', got {criteria!r}")
    if alpha is None and precond is not None:
        alpha = 1.0
    if alpha is not None and not callable(alpha):
        alpha = _positive(alpha, "alpha")
    if precond is not None and not callable(precond):
        raise ValueError(
            f"precond must be a callable r -> P(r) or None, got {type(precond).__name__}"
        )
    n = v.numel()
    if cap_at_n:
        max_iter = min(max_iter, n)

    v = v / torch.linalg.vector_norm(v)  # step 1
    lam_old, r_old, rn_old = 0.0, None, 0.0  # r_old = 0 is never read while ‖r_old‖ = 0
    v_acc = None
    best = None
    for i in range(max_iter):
        w = mv(v)  # 2.1
        lam = float(torch.dot(w, v))  # 2.2
        if lam < 0:  # 2.3: sign flip
            lam, v = -lam, -v
            eigval = -lam
        else:
            eigval = lam
        r = torch.sub(w, v, alpha=lam)  # 2.4 (r = w − λv without a λv temporary)
        rn = _norm(r)
        pair = (v, eigval, rn)
        if criteria == "residual":  # 2.5-2.6
            stop = rn <= tol * lam
        else:
            stop = rn < tol
            if not stop and rn_old > 0.0:
                change = min(_norm(r - r_old), _norm(r + r_old))
                stop = change / rn_old < tol
            if not stop and lam_old > 0.0:
                stop = abs(lam - lam_old) / lam_old < tol
        if stop:
            return _result(pair, n_mv=i + 1, converged=True, n_iter=i + 1)
        if callable(alpha) and v_acc is not None and rn > rn_old:  # 2.7
            v_base, r_base = v_acc, r_old
        else:
            v_base, r_base = v, r
            v_acc, best = v, pair
            lam_old, r_old, rn_old = lam, r, rn  # 2.9
        if i == max_iter - 1:
            break  # the result is the last evaluated pair: a final update would be discarded
        if alpha is None:  # 2.8
            step = w
        else:
            a_i = _nonneg(alpha(i), f"alpha({i})") if callable(alpha) else alpha
            if a_i == 0.0:
                # the schedule is exhausted (exp(-4i-2) underflows at i = 186): the iterate can
                # no longer move; stop unconverged (as the reference does)
                return _result(best, n_mv=i + 1, converged=False, n_iter=i + 1)
            pr = r_base if precond is None else _check_out(precond(r_base), "precond", n, v)
            step = v_base + a_i * pr
        norm = _norm(step)
        if not (np.isfinite(norm) and norm > 0.0):
            return _result(best, n_mv=i + 1, converged=False, n_iter=i + 1)
        v = step / norm
    return _result(best, n_mv=max_iter, converged=False, n_iter=max_iter)


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
