"""Lanczos with full reorthogonalisation and a Ritz-residual stopping rule.

:func:`lanczos` returns one extreme eigenpair (largest magnitude, largest or smallest).  The run
itself (``_lanczos_run``) also serves :func:`srtheory.spectral.spectral_radius`, which stops it
only when the dominant extreme Ritz pair passes the test and the other one passes it too or is
separated from ``+-rho``.  Written once for NumPy arrays and torch tensors
(:mod:`srtheory.backend`); the small tridiagonal problem is solved on the host in float64.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.linalg

from srtheory.spectral._common import (
    _EPS,
    _TINY,
    _checked_pair,
    _Counted,
    _Diagnosis,
    _result,
    _setup,
    _start_probe,
    generic_start,
)
from srtheory.spectral.result import EigResult

__all__ = ["lanczos"]


def lanczos(
    matvec,
    v0,
    /,
    *,
    tol: float | None = None,
    max_iter: int = 300,
    which: str = "LM",
    check_symmetry: bool = True,
) -> EigResult:
    r"""One extreme eigenpair by Lanczos with full reorthogonalisation and a Ritz-residual rule.

    The solver the notes recommend alongside Algorithm 1 (SRR_NOTES §6, §11) to get ``rho`` of
    step 2.2 with far fewer HVPs.  With ``q_1 = v_0/||v_0||`` and ``Q_k = [q_1..q_k]``:

    .. math::

       A Q_k = Q_k T_k + \beta_k q_{k+1} e_k^\top, \qquad
       T_k s_j = \theta_j s_j, \qquad
       \|A (Q_k s_j) - \theta_j Q_k s_j\| = |\beta_k\, e_k^\top s_j|,

    each new ``w = A q_k`` orthogonalised twice against all of ``Q_k`` (classical Gram--Schmidt,
    "twice is enough").  Stop when the wanted Ritz pair has ``|beta_k s_kj| <= tol * |theta_j|``
    (``which="LM"``: largest ``|theta|``, ``"LA"``: largest, ``"SA"``: smallest).  For ``"LM"``
    the opposite end of the Ritz spectrum must also be unable to overtake
    (``|theta_o| + r_o <= |theta_j|``, or ``r_o <= tol |theta_j|``): this prevents stopping on
    the wrong end at a near ``+-rho`` tie, where the Ritz value of the other end is still
    growing.  A breakdown ``beta_k ~ 0`` means ``span(Q_k)`` is invariant, so the Ritz pairs are
    exact eigenpairs of ``A``; ``max_iter`` is capped at ``n`` (then ``span(Q_n) = R^n``).

    The returned pair is then checked with one extra matvec: ``eigval`` is the Rayleigh quotient
    of the Ritz vector and ``residual = ||A v - eigval v||``; ``converged`` iff
    ``residual <= tol * max(rho, tiny)`` -- also when the Krylov space was exhausted or became
    invariant, where only a residual within rounding of zero (``10 n eps ||A||``) is accepted
    besides: a full space is no certificate for a noisy or inexact operator.  If the Ritz estimate
    passed but the recomputed residual did not, the iteration continues, unless that residual has
    not halved since the previous recomputation (the operator's accuracy floor is above ``tol``:
    stop, unconverged, with a note).  A start that is already an eigenvector (breakdown at the
    first step) is restarted once from a generic vector mixed into it (a note says so).  There is
    no minimum or fixed number of steps: only the residual test (or breakdown) ends the loop
    early, and never at the first step (one Ritz value says nothing about the rest of the
    spectrum).  Like every Krylov method, it sees only the part of ``A`` that ``v0`` excites: if
    ``v0`` has no component on the dominant eigenvector the answer is another eigenpair, and at a
    loose tolerance the wanted end can be declared before a slightly larger eigenvalue has entered
    the Krylov space (seen in float32 at ``tol = 1.2e-4``: 0.4105 returned for 0.4241); the
    residual and ``interval`` stay honest about the pair returned.

    Args:
      matvec: ``v -> A v`` for symmetric ``A`` (or a dense symmetric matrix).
      v0: start vector; nonzero, finite, shape (n,).
      tol: relative Ritz-residual tolerance, ``> 0``; default ``None``: 1e-10 in float64 and
        ``sqrt(eps)`` below (3.5e-4 in float32: the eigenvalue is then at float32 accuracy).
      max_iter: Lanczos steps, ``>= 1``, capped at ``n`` (default 300).
      which: ``"LM"`` (largest magnitude, the spectral radius), ``"LA"`` or ``"SA"``.
      check_symmetry: probe ``A = A^T`` from the first two basis vectors,
        ``|q_1.(A q_0) - q_0.(A q_1)|`` (free: no extra matvec; ``EigResult.asymmetry``); an
        asymmetry above ``max(tol, sqrt(eps))`` ends the run unconverged with a note.

    Returns:
      :class:`EigResult`; ``lambda_max`` / ``lambda_min`` are the extreme Ritz values (Ritz
      values interlace, so ``lambda_max <= true lambda_max`` and ``lambda_min >= true
      lambda_min``); ``n_matvecs`` includes the residual recomputations.

    Raises:
      ValueError: bad ``v0``, ``tol``, ``max_iter``, ``which``, or a matvec output that is not
        a finite vector of shape (n,).

    Example:
      >>> import numpy as np
      >>> A = np.diag([3.0, 1.0, -5.0, 0.5])
      >>> res = lanczos(A, np.ones(4))
      >>> round(res.eigval, 10), res.converged, res.lambda_max >= 2.999
      (-5.0, True, True)

    References:
      C. Lanczos (1950); Parlett, *The Symmetric Eigenvalue Problem*, ch. 13 (Ritz residual
      ``|beta_k s_kj|``); Daniel, Gragg, Kaufman & Stewart (1976) for reorthogonalisation.
    """
    if which not in ("LM", "LA", "SA"):
        raise ValueError(f"which must be 'LM', 'LA' or 'SA', got {which!r}")
    mv, v, tol, max_iter, ops = _setup(matvec, v0, tol, max_iter, float64_tol=1e-10)
    diag = _Diagnosis(check_symmetry)
    run = _lanczos_run(mv, v, tol, max_iter, ends=(which,), diag=diag)
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
    return _result(
        ops,
        mv,
        pair,
        n_mv=run.n_mv,
        converged=run.converged,
        n_iter=run.n_iter,
        diag=diag,
        lambda_max=lam_max,
        lambda_min=lam_min,
    )


# ---------------------------------------------------------------------------------------------
# private helpers
# ---------------------------------------------------------------------------------------------


class _LanczosRun(NamedTuple):
    pairs: tuple  # one (vec, eigval, residual) per wanted end, residual recomputed
    extremes: tuple  # (largest, smallest) Ritz value at the end
    converged: bool  # every recomputed residual passed the test (never: the space ran out)
    n_mv: int
    n_iter: int


def _lanczos_run(
    mv: _Counted, v, tol, max_iter, *, ends, diag: _Diagnosis, both_ends: bool = True
) -> _LanczosRun:
    """Lanczos with full reorthogonalisation until every end in ``ends`` passes its test.

    ``converged`` holds only when every recomputed residual passes ``tol`` (relative to ``|theta|``
    for one end, to ``rho`` for two), or, when the Krylov space became invariant or filled
    ``R^n``, when it is within rounding of zero (``10 n eps ||A||``): an exhausted space is not
    an answer by itself (a noisy or asymmetric operator leaves a large residual there).  The run
    also stops, unconverged, when a recomputed residual fails and has not halved since the last
    recomputation: the operator's accuracy floor is above ``tol``.

    Two ends with ``both_ends=False`` (the spectral radius): the dominant end ``d`` (larger
    ``|theta|``) must pass ``r_d <= tol * rho``; the other end ``o`` either passes the same test or
    is *separated*: ``|theta_o| + r_o < |theta_d| - r_d``, so that its Ritz interval cannot reach
    ``+-rho`` (no tie, no change of sign of the dominant eigenvalue).  A separated end is returned
    as its Ritz pair with the Ritz residual estimate ``r_o`` (no matvec spent on it); only the
    pairs the answer depends on are recomputed.
    """
    ops = mv.ops
    n = mv.n
    m = min(max_iter, n)
    Q = ops.basis_new(n, min(m, 32), v)  # grown by doubling: m may be large, the run short
    alphas, betas = np.zeros(m), np.zeros(m)
    ops.basis_set(Q, 0, ops.normalize(v))
    anorm = 0.0
    eps = ops.eps(v)
    w0n = 0.0  # ||A q_0||, for the symmetry probe
    last_check = None  # the last failed recomputed residual (relative), for stagnation
    restarted = False
    k = 0
    while k < m:
        q = ops.basis_column(Q, k)
        w = mv(q)
        w_raw = w
        alphas[k] = ops.dot(q, w)
        w = w - alphas[k] * q - (betas[k - 1] * ops.basis_column(Q, k - 1) if k > 0 else 0.0)
        for _ in range(2):  # full reorthogonalisation, twice is enough
            w = ops.basis_project_out(Q, k + 1, w)
        beta = ops.norm(w)
        if k == 0:
            w0n = ops.norm(w_raw)
            restart = None if restarted else _start_probe(ops, mv, q, alphas[0], beta, w0n, diag)
            if restart is not None:
                # the start is an eigenvector of a non-dominant eigenvalue: restart once
                restarted = True
                ops.basis_set(Q, 0, restart)
                continue
        elif k == 1 and diag.check_symmetry:
            # symmetry probe, free: q_1 . A q_0 = beta_0 by construction, and q_0 . A q_1 is read
            # off this step's raw product; equal for a symmetric A
            scale = max(w0n, ops.norm(w_raw))
            asym = 0.0 if scale == 0.0 else abs(betas[0] - ops.dot(ops.basis_column(Q, 0), w_raw)) / scale
            if diag.record(ops, asym, v, tol):
                pairs = tuple(_checked_pair(ops, mv, q) for _ in ends)
                return _LanczosRun(pairs, (alphas[0], alphas[0]), False, mv.count, k + 1)
        theta, S = _tridiag_eigh(alphas[: k + 1], betas[:k])
        anorm = max(anorm, abs(theta[0]), abs(theta[-1]), beta)
        exact = k + 1 == n or beta <= 10 * n * _EPS * anorm
        if k == 0 and n > 1 and m > 1:
            # one Ritz value says nothing about the rest of the spectrum: never stop at k = 0.
            # After a breakdown there (the start spans an invariant line), go on from a generic
            # direction orthogonal to it (beta_0 = 0: T becomes block diagonal).
            if exact:
                g = ops.from_host(generic_start(n), v)
                w = ops.basis_project_out(Q, 1, ops.basis_project_out(Q, 1, g))
                beta_next = ops.norm(w)
                ops.basis_set(Q, 1, w / beta_next)
                betas[0] = 0.0
            else:
                ops.basis_set(Q, 1, w / beta)
                betas[0] = beta
            k += 1
            continue
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
            thr = tol * max(rho_est, _TINY)
            jd, jo = idx if abs(theta[idx[0]]) >= abs(theta[idx[1]]) else idx[::-1]
            separated = not both_ends and (
                abs(theta[jo]) + ritz_res[jo] < abs(theta[jd]) - ritz_res[jd]
            )
            ok = ritz_res[jd] <= thr and (separated or ritz_res[jo] <= thr)
        if ok or exact or k + 1 == m:
            checked = [j for j in idx if len(ends) == 1 or not separated or j == jd]
            pairs = tuple(
                _checked_pair(ops, mv, ops.basis_combine(Q, k + 1, S[:, j]))
                if j in checked
                else (ops.normalize(ops.basis_combine(Q, k + 1, S[:, j])), theta[j], ritz_res[j])
                for j in idx
            )
            tested = [p for p, j in zip(pairs, idx) if j in checked]
            scale = max(max(abs(p[1]) for p in pairs), _TINY)
            rel = max(p[2] / (max(abs(p[1]), _TINY) if len(ends) == 1 else scale) for p in tested)
            good = rel <= tol
            if exact and not good:
                good = max(p[2] for p in tested) <= 10 * n * eps * max(anorm, _TINY)
                if not good:
                    diag.notes.append(
                        "the Krylov space is exhausted (k = n) or invariant, but the recomputed "
                        f"residual is {rel:.1e} of |lambda| > tol = {tol:.1e}: the operator is "
                        "noisy, inexact or not symmetric"
                    )
            if good or exact or k + 1 == m:
                return _LanczosRun(pairs, (theta[-1], theta[0]), good, mv.count, k + 1)
            if last_check is not None and rel > 0.5 * last_check:
                diag.notes.append(
                    f"the recomputed residual stagnated at {rel:.1e} of |lambda| > tol = "
                    f"{tol:.1e} (the operator's accuracy floor, e.g. its dtype); stopped"
                )
                return _LanczosRun(pairs, (theta[-1], theta[0]), False, mv.count, k + 1)
            last_check = rel
        cap = ops.basis_capacity(Q)
        if k + 1 == cap:
            Q = ops.basis_grow(Q, min(cap, m - cap))
        ops.basis_set(Q, k + 1, w / beta)
        betas[k] = beta
        k += 1
    raise AssertionError("unreachable")  # pragma: no cover


def _tridiag_eigh(a, b):
    """Eigen-decomposition of the symmetric tridiagonal ``T`` (diagonal a, off-diagonal b);
    eigenvalues ascending."""
    return scipy.linalg.eigh_tridiagonal(a, b)


def _wanted(theta, which) -> int:
    if which == "LA":
        return len(theta) - 1
    if which == "SA":
        return 0
    return len(theta) - 1 if abs(theta[-1]) >= abs(theta[0]) else 0
