"""The spectral radius with both extremes of the spectrum and detection of a ``+-rho`` tie.

:func:`spectral_radius` runs Lanczos (:mod:`srtheory.spectral.krylov`) until the dominant extreme
is resolved and the other is resolved or separated from ``+-rho``, or power iteration with a Rayleigh--Ritz step on the last two iterates (``_power_rr``,
``_rayleigh_ritz2``), which resolves the tie that plain power iteration cannot.  Written once
for NumPy arrays and torch tensors (:mod:`srtheory.backend`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from srtheory.spectral._common import (
    _EPS,
    _TINY,
    _checked_pair,
    _Counted,
    _Diagnosis,
    _orthogonal_generic,
    _result,
    _setup,
    _start_probe,
)
from srtheory.spectral.krylov import _lanczos_run
from srtheory.spectral.result import EigResult

__all__ = ["spectral_radius"]


def spectral_radius(
    matvec,
    v0,
    /,
    *,
    method: str = "lanczos",
    tol: float | None = None,
    max_iter: int | None = None,
    check_symmetry: bool = True,
    both_ends: bool = False,
) -> EigResult:
    r"""Spectral radius ``rho(A) = max(|lambda_max|, |lambda_min|)`` with both extremes and ties.

    The quantity ``rho_B`` that Algorithm 1 of SRR_NOTES §6 returns (step 3) and the penalty
    ``max(0, rho - K)`` of §4 uses, computed so that both ends of the spectrum are resolved:

    * ``method="lanczos"``: one Lanczos run (full reorthogonalisation) stopped when the dominant
      extreme Ritz pair ``d`` (larger ``|theta|``) has ``r_d = |beta_k s_kd| <= tol * rho`` and the
      other extreme ``o`` either passes the same test or is *separated* from ``+-rho``:
      ``|theta_o| + r_o < |theta_d| - r_d`` (its Ritz interval cannot reach the dominant
      magnitude, so there is no tie and the sign of the dominant eigenvalue is decided).  The
      dominant residual is then recomputed (1 extra matvec; 2 when the other end had to be
      resolved too).  A separated end is reported as its Ritz value with its Ritz residual
      estimate; ``both_ends=True`` resolves it to ``tol * rho`` as well (about as many steps
      again when that end converges slowly).
    * ``method="power"``: power iteration ``v <- A v/||A v||``, with a Rayleigh--Ritz step on
      ``span{v_{k-1}, v_k} = span{v_{k-1}, A v_{k-1}}`` (free: both products are known).  At a
      ``+-rho`` tie plain power iteration never converges -- the iterate alternates between
      ``a u_+ + b u_-`` and ``a u_+ - b u_-`` while ``||A v|| -> rho`` and the Rayleigh quotient
      settles at the wrong value ``rho (a^2-b^2)/(a^2+b^2)`` -- but the 2x2 Rayleigh--Ritz
      problem on that span returns ``+rho`` and ``-rho`` with small residuals.  The other extreme
      comes from a second power run on the shifted ``A - lambda_1 I`` (whose dominant eigenvalue
      is ``lambda_other - lambda_1``), started from ``v0`` with the found eigenvector projected
      out (from a generic vector, so projected, when ``v0`` was that eigenvector to ``1e-8``: a
      warm start).  Accepted pairs are recomputed with a matvec.  At an exact tie the
      Rayleigh--Ritz step often certifies only one member (the other's residual estimate is
      still above the tolerance when the first passes); the shifted run then finds
      ``-lambda_1``, whose gap to the rest of the spectrum of ``A - lambda_1 I`` may be small, so
      that run can take several times the steps of the first.  The answer and the flags are
      right either way; only the matvec count shows it.

    ``tie`` is set when ``lambda_max > 0 > lambda_min`` and the magnitudes agree within what the
    residuals certify: ``| |lambda_max| - |lambda_min| | <= r_max + r_min + 100 eps rho``.  Then
    ``eigval = +rho`` (the positive member).  ``converged`` means the recomputed residual of the
    returned pair met ``residual <= tol * rho`` (an invariant Krylov space: within rounding of
    zero) and the other extreme was resolved or separated as above (power iteration, and Lanczos
    with ``both_ends=True``: both extremes met the test).

    Args:
      matvec: ``v -> A v`` for symmetric ``A`` (or a dense symmetric matrix).
      v0: start vector (e.g. the previous eigenvector: warm start); nonzero, finite, shape (n,).
      method: ``"lanczos"`` (default) or ``"power"``.
      tol: relative residual tolerance ``> 0``, relative to ``rho``; default ``None``: 1e-8 in
        float64 and ``sqrt(eps)`` below (3.5e-4 in float32).
      max_iter: Lanczos steps (default 300, capped at n) or power steps per run (default 10000).
      both_ends: Lanczos only: also resolve the non-dominant extreme to ``tol * rho`` (default
        False: it is only certified to be separated from ``+-rho``; its value in
        ``lambda_max`` / ``lambda_min`` is then a Ritz value, accurate to about its Ritz
        residual).  Power iteration always resolves both.
      check_symmetry: the free symmetry probe of :func:`lanczos` / :func:`power_iteration`
        (``EigResult.asymmetry``; an asymmetric operator gives ``converged=False`` and a note).

    As in :func:`lanczos`, ``converged`` always means that the recomputed residuals passed (an
    exhausted Krylov space only within rounding of zero), a start that is already an eigenvector
    is restarted once from a generic vector mixed into it, and ``EigResult.notes`` says what was
    noticed.

    Returns:
      :class:`EigResult` for the eigenvalue of largest modulus (``eigval`` signed), with
      ``lambda_max``, ``lambda_min`` and ``tie`` filled; ``interval`` contains an eigenvalue.

    Raises:
      ValueError: bad ``v0``, ``tol``, ``max_iter``, ``method``, or bad matvec output.

    Example:
      >>> import numpy as np
      >>> A = np.diag([2.0, -2.0, 1.0])
      >>> res = spectral_radius(A, np.ones(3), method="power")
      >>> round(res.rho, 10), res.tie, round(res.lambda_min, 10)
      (2.0, True, -2.0)

    References:
      SRR_NOTES §6 (Algorithm 1 returns ``rho_B = |lambda|``), §7 Lemma A (the tie excluded
      there is what ``tie`` flags); Parlett, *The Symmetric Eigenvalue Problem*, §11-4
      (Rayleigh--Ritz) and Thm 4.5.1 (residual bound behind ``interval``).
    """
    if method not in ("lanczos", "power"):
        raise ValueError(f"method must be 'lanczos' or 'power', got {method!r}")
    if max_iter is None:
        max_iter = 300 if method == "lanczos" else 10_000
    mv, v, tol, max_iter, ops = _setup(matvec, v0, tol, max_iter, float64_tol=1e-8)
    diag = _Diagnosis(check_symmetry)
    if method == "lanczos":
        run = _lanczos_run(
            mv, v, tol, max_iter, ends=("LA", "SA"), diag=diag, both_ends=bool(both_ends)
        )
        top, bottom = run.pairs
        converged, n_mv, n_iter = run.converged, run.n_mv, run.n_iter
        rho = max(abs(top[1]), abs(bottom[1]))
    else:
        first = _power_rr(mv, v, tol, max_iter, shift=0.0, scale=None, diag=diag)
        n_mv, n_iter = first.n_mv, first.n_iter
        if first.other is not None:  # tie resolved by Rayleigh-Ritz: both extremes known
            pairs = (first.pair, first.other)
            converged = first.converged
        else:
            sigma = first.pair[1]
            start = _deflated_start(ops, v, first.pair[0], mv.n)
            second = _power_rr(
                mv, start, tol, max_iter, shift=sigma, scale=max(abs(sigma), _TINY), diag=diag
            )
            n_mv, n_iter = n_mv + second.n_mv, n_iter + second.n_iter
            pairs = (first.pair, second.pair)
            converged = first.converged and second.converged
        top, bottom = sorted(pairs, key=lambda p: p[1], reverse=True)
        rho = max(abs(top[1]), abs(bottom[1]))
        converged = converged and max(top[2], bottom[2]) <= tol * max(rho, _TINY)
    converged = converged and not diag.asymmetric(ops, v, tol)
    lam_max, lam_min = top[1], bottom[1]
    tie = bool(
        lam_max > 0.0 > lam_min
        and abs(lam_max + lam_min) <= top[2] + bottom[2] + 100 * ops.eps(v) * rho
    )
    pick = top if (tie or abs(lam_max) >= abs(lam_min)) else bottom
    return _result(
        ops,
        mv,
        pick,
        n_mv=n_mv,
        converged=bool(converged),
        n_iter=n_iter,
        lambda_max=lam_max,
        lambda_min=lam_min,
        tie=tie,
        diag=diag,
    )


# ---------------------------------------------------------------------------------------------
# private helpers
# ---------------------------------------------------------------------------------------------


def _deflated_start(ops, v, u, n: int):
    """Start of the shifted second run: ``v`` with the found unit eigenvector ``u`` projected out.

    When ``v`` is ``u`` to within ``1e-8`` (a warm start that was already the dominant
    eigenvector), what is left of it is rounding, so the generic direction orthogonal to ``u``
    (:func:`~srtheory.spectral._common._orthogonal_generic`, also the start probe's) is used
    instead.  Keeping ``v`` there would be wrong: ``u`` is an eigenvector of ``A - lambda_1 I``
    for the eigenvalue 0, whose residual passes ``tol * |lambda_1|`` at once, so the second run
    would return ``lambda_1`` again as the other extreme and a ``+-rho`` tie would go unflagged.
    For ``n = 1`` nothing is orthogonal to ``u``, and ``v`` is returned (the one eigenvalue is
    both extremes)."""
    if n == 1:
        return v
    start = v - ops.dot(v, u) * u
    if ops.norm(start) > 1e-8 * ops.norm(v):
        return start
    return _orthogonal_generic(ops, u, n)


class _PowerRun(NamedTuple):
    pair: tuple  # (vec, eigval of A, exact residual)
    other: tuple | None  # the -rho partner when a tie was resolved by Rayleigh-Ritz
    converged: bool
    n_mv: int
    n_iter: int


def _power_rr(mv: _Counted, v, tol, max_iter, *, shift: float, scale, diag) -> _PowerRun:
    """Power iteration on ``B = A - shift I`` with a free Rayleigh-Ritz step on
    ``span{v_{k-1}, v_k}``; eigenvalues reported for ``A``.  Tolerance ``tol * scale`` with
    ``scale = |theta|`` when ``scale is None``.  A start that is already an eigenvector of ``B``
    is restarted once; the first two iterates give the symmetry probe."""
    ops = mv.ops
    start = mv.count

    def bv(x):
        y = mv(x)
        return y - shift * x if shift else y

    v = ops.normalize(v)
    v_old = w_old = None
    best = None
    for k in range(max_iter):
        w = bv(v)
        theta = ops.dot(v, w)
        res = ops.norm(w - theta * v)
        if best is None or res <= best[2]:
            best = (v, theta + shift, res)
        if k == 0 and k + 1 < max_iter:
            restart = _start_probe(ops, _Shifted(mv, shift), v, theta, res, ops.norm(w), diag)
            if restart is not None:
                best = None  # that pair says nothing about the dominant one: record afresh
                v = restart
                continue
        if v_old is not None and diag.probe(ops, v_old, w_old, v, w, tol):
            return _PowerRun(best, None, False, mv.count - start, k + 1)
        thr = tol * (abs(theta) if scale is None else scale)
        if res <= thr:
            return _PowerRun((v, theta + shift, res), None, True, mv.count - start, k + 1)
        if v_old is not None:
            rr = _rayleigh_ritz2(ops, v_old, w_old, v, w)
            if rr is not None:
                (x1, t1, e1), (x2, t2, e2) = rr  # |t1| >= |t2|, residual estimates e
                thr = tol * (abs(t1) if scale is None else scale)
                if e1 <= thr:
                    p1 = _checked_pair(ops, bv, x1)
                    ok1 = p1[2] <= tol * (abs(p1[1]) if scale is None else scale)
                    tie_like = (
                        scale is None
                        and t1 * t2 < 0
                        and e2 <= thr
                        and (abs(abs(t1) - abs(t2)) <= e1 + e2 + 100 * ops.eps(v) * abs(t1))
                    )
                    if ok1 and tie_like:
                        p2 = _checked_pair(ops, bv, x2)
                        other = (p2[0], p2[1] + shift, p2[2])
                        return _PowerRun(
                            (p1[0], p1[1] + shift, p1[2]), other, True, mv.count - start, k + 1
                        )
                    if ok1:
                        return _PowerRun(
                            (p1[0], p1[1] + shift, p1[2]), None, True, mv.count - start, k + 1
                        )
        norm = ops.norm(w)
        if norm == 0.0:  # unreachable: B v = 0 gives res = 0 above
            break  # pragma: no cover
        v_old, w_old = v, w
        v = w / norm
    return _PowerRun(best, None, False, mv.count - start, max_iter)


class _Shifted:
    """``x -> A x - shift x`` with the counted matvec's ``n`` and ``unscale`` (for the probe)."""

    def __init__(self, mv, shift):
        self.mv, self.shift, self.n = mv, shift, mv.n

    def __call__(self, x):
        y = self.mv(x)
        return y - self.shift * x if self.shift else y

    @property
    def unscale(self):
        return self.mv.unscale


def _rayleigh_ritz2(ops, v1, w1, v2, w2):
    """Rayleigh-Ritz on ``span{v1, v2}`` given ``w_i = B v_i``; ``None`` if the span is
    numerically one-dimensional.  Returns two ``(vec, theta, residual)``, larger ``|theta|``
    first; residuals are computed from the stored products (no matvec).  The 2 x 2 problem is
    solved on the host in float64."""
    c = ops.dot(v1, v2)
    z = v2 - c * v1
    s = ops.norm(z)
    if s <= np.sqrt(_EPS):
        return None
    U = ops.stack_columns([v1, z / s])
    BU = ops.stack_columns([w1, (w2 - c * w1) / s])
    H = ops.to_host(U.T @ BU)
    H = 0.5 * (H + H.T)
    t, S = np.linalg.eigh(H)
    out = []
    for j in (1, 0) if abs(t[1]) >= abs(t[0]) else (0, 1):
        sj = ops.from_host(S[:, j], U)
        x = U @ sj
        out.append((x, float(t[j]), ops.norm(BU @ sj - float(t[j]) * x)))
    return out
