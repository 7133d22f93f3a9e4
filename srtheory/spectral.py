"""Eigen-solvers for the spectral radius of a symmetric operator given as a matvec.

* :func:`power_iteration` -- Algorithm 1 of SRR_NOTES §6, the paper's warm-started power
  iteration, step for step (sign flip, residual, the three stopping tests, step size and
  preconditioner of Algorithm 1b).
* :func:`lanczos` -- Lanczos with full reorthogonalisation and a Ritz-residual stopping rule.
* :func:`spectral_radius` -- ``rho = max(|lambda_max|, |lambda_min|)`` with both extremes and
  detection of a ``+-rho`` tie, by Lanczos (default) or by power iteration.

All of them return an :class:`EigResult` whose ``residual`` is ``||A v - lambda v||`` of the
returned pair, computed from a matvec of that very vector (never stale), so that
``EigResult.interval`` provably contains an eigenvalue of ``A`` (Krylov--Bogoliubov bound).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import scipy.linalg

from srtheory._validation import as_vector, finite_output, positive, positive_int
from srtheory.operators import as_matvec

__all__ = ["EigResult", "lanczos", "power_iteration", "spectral_radius"]

_EPS = float(np.finfo(np.float64).eps)
_TINY = float(np.finfo(np.float64).tiny)


class EigResult(NamedTuple):
    """One eigenpair estimate ``(eigval, eigvec)`` of a symmetric ``A`` and how good it is.

    Fields:
      rho: ``|eigval|``.
      eigval: signed eigenvalue estimate, the Rayleigh quotient ``eigvec^T A eigvec``.
      eigvec: unit 2-norm vector, shape ``(n,)``.
      residual: ``||A eigvec - eigval eigvec||_2`` of the returned pair, from a matvec of
        ``eigvec`` itself (never a stale value).
      n_matvecs: every call of the matvec, including a final residual recomputation.
      converged: the solver's stopping rule fired (its meaning is documented per solver; under
        ``power_iteration(criteria="paper")`` it does *not* certify accuracy).
      n_iter: iterations of the solver.
      lambda_max, lambda_min: largest / smallest algebraic eigenvalue estimates, where the
        method provides them (else ``None``).
      tie: a ``+-rho`` tie (eigenvalues ``+rho`` and ``-rho``) was detected.
    """

    rho: float
    eigval: float
    eigvec: np.ndarray
    residual: float
    n_matvecs: int
    converged: bool
    n_iter: int
    lambda_max: float | None = None
    lambda_min: float | None = None
    tie: bool = False

    @property
    def interval(self) -> tuple[float, float]:
        """``(eigval - residual, eigval + residual)``, which contains an eigenvalue of ``A``.

        Krylov--Bogoliubov (residual) bound: for symmetric ``A``, unit ``v`` and any real
        ``theta``, ``min_i |lambda_i - theta| <= ||A v - theta v||``.  Exact up to the rounding
        in the computed residual (about ``eps * ||A||``).
        """
        return (self.eigval - self.residual, self.eigval + self.residual)


# ---------------------------------------------------------------------------------------------
# Algorithm 1 (and 1b)
# ---------------------------------------------------------------------------------------------


def power_iteration(
    matvec,
    v0,
    /,
    *,
    tol: float = 1e-3,
    max_iter: int = 1000,
    alpha=None,
    precond: Callable[[np.ndarray], np.ndarray] | None = None,
    criteria: str = "paper",
    cap_at_n: bool = False,
) -> EigResult:
    r"""Warm-started power iteration for the largest-modulus eigenpair: Algorithm 1 of SRR_NOTES §6.

    In this function's variables (``A`` is the operator behind ``matvec``, ``i = 0, 1, ...``):

    .. math::

       v &\leftarrow v_0 / \|v_0\|, \quad \lambda_{old} = 0,\ r_{old} = 0           && \text{step 1}\\
       w &= A v                                                                     && \text{2.1}\\
       \lambda &= w^\top v;\quad \text{if } \lambda < 0:\ \lambda \leftarrow -\lambda,\ v \leftarrow -v
                                                                                    && \text{2.2, 2.3}\\
       r &= w - \lambda v  \;(= A v_{\text{before flip}} - (w^\top v) v_{\text{before flip}})
                                                                                    && \text{2.4}\\
       \text{stop if } & \|r\| < tol \ \text{or}\
         \frac{\min(\|r - r_{old}\|, \|r + r_{old}\|)}{\|r_{old}\|} < tol \ \text{or}\
         \frac{|\lambda - \lambda_{old}|}{\lambda_{old}} < tol                      && \text{2.5, 2.6}\\
       v &\leftarrow w / \|w\| \ \text{(classic)} \quad\text{or}\quad
         v \leftarrow \frac{v + \alpha_i P(r)}{\|v + \alpha_i P(r)\|} \ \text{(Alg. 1b)} && \text{2.8}

    With a callable ``alpha``, a step whose residual grew (``||r|| > ||r_old||``) is rejected
    (step 2.7): the previous iterate is restored and the next, smaller ``alpha_{i+1}`` is tried
    from it; the bookkeeping ``lambda_old, r_old`` (step 2.9) is kept.  The rule assumes a
    decreasing schedule: with a callable that returns a constant, a rejected step is retried at
    the same size and the iteration can stall (seen with a K-FAC preconditioner on a tanh MLP,
    where the residual of the preconditioned ascent is not monotone); pass a number for a
    constant step, which is never rejected.  The two relative-change
    tests are skipped while ``r_old`` or ``lambda_old`` is still the initial zero.

    **What ``converged`` means.**  Under ``criteria="paper"`` it means *one of the paper's three
    tests fired*.  The two relative-change tests fire whenever the iteration stalls, e.g. at a
    ``+-rho`` tie, when ``|lambda_2/lambda_1|`` is close to 1, or when ``||r|| < tol`` is met only
    because ``A`` is tiny (the test is absolute); so ``converged=True`` does **not** certify an
    accurate answer.  The honest accuracy is ``residual`` and ``interval`` (an eigenvalue of ``A``
    lies within ``residual`` of ``eigval``).  ``criteria="residual"`` uses only the scale-free test
    ``||r|| <= tol * |lambda|``, under which ``converged`` does certify that bound.
    ``converged=False`` when no test fired within the iteration budget (the paper's caller then
    skips the regulariser for this batch, Algorithm 2 step 2.2).

    Args:
      matvec: ``v -> A v`` for symmetric ``A`` (or a dense symmetric matrix).
      v0: warm start, e.g. the previous batch's eigenvector (step 1); nonzero, finite, shape (n,).
      tol: stopping tolerance ``epsilon_p`` (paper default 1e-3), ``> 0``.
      max_iter: iteration budget ``M_p`` (paper default 1000), ``>= 1``.
      alpha: step size of Algorithm 1b: ``None`` (classic update ``v = w/||w||``), a positive
        number, or a callable ``i -> alpha_i >= 0`` (a schedule, e.g. ``exp(-4 i - 2)``); a
        schedule that reaches 0 ends the iteration with ``converged=False``.
      precond: ``P`` of Algorithm 1b, a callable ``r -> P(r)`` (e.g. K-FAC); ``None`` is the
        identity.  Given without ``alpha``, ``alpha = 1`` (the paper's default) is used.
      criteria: ``"paper"`` (the three tests of step 2.6) or ``"residual"``.
      cap_at_n: also cap the iterations at ``n`` as the authors' code does
        (``min(n, M_p)``); off by default, since power iteration does not terminate in n steps.

    Returns:
      :class:`EigResult` with the last *evaluated* (and, with callable ``alpha``, accepted)
      pair: ``eigvec`` is the (sign-flipped) iterate at which ``A`` was last applied,
      ``eigval = +-lambda`` its signed Rayleigh quotient, ``rho = |eigval|`` and
      ``residual = ||r||`` exact without an extra matvec; ``n_matvecs = n_iter``.

    Raises:
      ValueError: bad ``v0``, ``tol``, ``max_iter``, ``alpha``, ``criteria``, or a matvec /
        preconditioner output that is not a finite vector of shape (n,).

    Example:
      >>> import numpy as np
      >>> A = np.diag([3.0, 1.0, -5.0])
      >>> res = power_iteration(A, np.ones(3), tol=1e-10, criteria="residual")
      >>> round(res.eigval, 8), res.converged
      (-5.0, True)

    References:
      SRR_NOTES §6, Algorithm 1 (steps 1-4) and Algorithm 1b; Lemma B (§7) for the rate
      ``|lambda_2/lambda_1|^k`` of the angle and ``|lambda_2/lambda_1|^{2k}`` of ``lambda``.
    """
    mv, v, tol, max_iter = _setup(matvec, v0, tol, max_iter)
    if criteria not in ("paper", "residual"):
        raise ValueError(f"criteria must be 'paper' or 'residual', got {criteria!r}")
    if alpha is None and precond is not None:
        alpha = 1.0
    if alpha is not None and not callable(alpha):
        alpha = positive(alpha, "alpha")
    if precond is not None and not callable(precond):
        raise ValueError(
            f"precond must be a callable r -> P(r) or None, got {type(precond).__name__}"
        )
    n = v.size
    if cap_at_n:
        max_iter = min(max_iter, n)

    # Step 1: v <- v_prev (normalised); lambda_old = 0, r_old = 0, ||r_old|| = 0.
    v = v / np.linalg.norm(v)
    lam_old, r_old, rn_old = 0.0, np.zeros(n), 0.0
    v_acc = None  # the accepted iterate that produced r_old (for step 2.7)
    best = None  # (eigvec, eigval, ||r||) of the last evaluated accepted pair
    for i in range(max_iter):
        w = mv(v)  # 2.1
        lam = float(w @ v)  # 2.2
        if lam < 0:  # 2.3: sign flip
            lam, v = -lam, -v
            eigval = -lam
        else:
            eigval = lam
        r = w - lam * v  # 2.4
        rn = float(np.linalg.norm(r))
        pair = (v, eigval, rn)
        # 2.5-2.6: stopping tests
        if criteria == "residual":
            stop = rn <= tol * lam
        else:
            stop = rn < tol
            if not stop and rn_old > 0.0:
                change = min(np.linalg.norm(r - r_old), np.linalg.norm(r + r_old))
                stop = change / rn_old < tol
            if not stop and lam_old > 0.0:
                stop = abs(lam - lam_old) / lam_old < tol
        if stop:
            return _result(pair, n_mv=i + 1, converged=True, n_iter=i + 1)
        # 2.7: with a schedule alpha(i), reject a step whose residual grew.
        if callable(alpha) and v_acc is not None and rn > rn_old:
            v_base, r_base = v_acc, r_old
        else:
            v_base, r_base = v, r
            v_acc, best = v, pair
            lam_old, r_old, rn_old = lam, r, rn  # 2.9 (bookkeeping)
        # 2.8: update
        if alpha is None:
            step = w
        else:
            a_i = positive(alpha(i), f"alpha({i})", allow_zero=True) if callable(alpha) else alpha
            if a_i == 0.0:
                # The schedule is exhausted (the authors' exp(-4i-2) underflows to 0.0 at
                # i = 186): the iterate can no longer move, so stop and say it did not converge.
                return _result(best, n_mv=i + 1, converged=False, n_iter=i + 1)
            pr = r_base if precond is None else finite_output(precond(r_base), "precond", n=n)
            step = v_base + a_i * pr
        norm = float(np.linalg.norm(step))
        if not (np.isfinite(norm) and norm > 0.0):
            # A v = 0 is caught by ||r|| = 0 above; this is a degenerate Algorithm 1b step.
            return _result(best, n_mv=i + 1, converged=False, n_iter=i + 1)
        v = step / norm
    return _result(best, n_mv=max_iter, converged=False, n_iter=max_iter)


# ---------------------------------------------------------------------------------------------
# Lanczos
# ---------------------------------------------------------------------------------------------


def lanczos(
    matvec, v0, /, *, tol: float = 1e-10, max_iter: int = 300, which: str = "LM"
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
    ``residual <= tol * max(rho, tiny)`` or the Krylov space was exhausted / invariant.  If the
    Ritz estimate passed but the recomputed residual did not, the iteration continues.  There is
    no minimum or fixed number of steps: only the residual test (or breakdown) ends the loop
    early.  Like every Krylov method, it sees only the part of ``A`` that ``v0`` excites: if
    ``v0`` has no component on the dominant eigenvector, the answer is another eigenpair (with an
    honest residual).

    Args:
      matvec: ``v -> A v`` for symmetric ``A`` (or a dense symmetric matrix).
      v0: start vector; nonzero, finite, shape (n,).
      tol: relative Ritz-residual tolerance, ``> 0`` (default 1e-10).
      max_iter: Lanczos steps, ``>= 1``, capped at ``n`` (default 300).
      which: ``"LM"`` (largest magnitude, the spectral radius), ``"LA"`` or ``"SA"``.

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


# ---------------------------------------------------------------------------------------------
# Spectral radius with both extremes
# ---------------------------------------------------------------------------------------------


def spectral_radius(
    matvec, v0, /, *, method: str = "lanczos", tol: float = 1e-8, max_iter: int | None = None
) -> EigResult:
    r"""Spectral radius ``rho(A) = max(|lambda_max|, |lambda_min|)`` with both extremes and ties.

    The quantity ``rho_B`` that Algorithm 1 of SRR_NOTES §6 returns (step 3) and the penalty
    ``max(0, rho - K)`` of §4 uses, computed so that both ends of the spectrum are resolved:

    * ``method="lanczos"``: one Lanczos run (full reorthogonalisation) stopped when *both* extreme
      Ritz pairs have ``|beta_k s_kj| <= tol * rho``; both residuals are then recomputed
      (2 extra matvecs).
    * ``method="power"``: power iteration ``v <- A v/||A v||``, with a Rayleigh--Ritz step on
      ``span{v_{k-1}, v_k} = span{v_{k-1}, A v_{k-1}}`` (free: both products are known).  At a
      ``+-rho`` tie plain power iteration never converges -- the iterate alternates between
      ``a u_+ + b u_-`` and ``a u_+ - b u_-`` while ``||A v|| -> rho`` and the Rayleigh quotient
      settles at the wrong value ``rho (a^2-b^2)/(a^2+b^2)`` -- but the 2x2 Rayleigh--Ritz
      problem on that span returns ``+rho`` and ``-rho`` with small residuals.  The other extreme
      comes from a second power run on the shifted ``A - lambda_1 I`` (whose dominant eigenvalue
      is ``lambda_other - lambda_1``).  Accepted pairs are recomputed with a matvec.

    ``tie`` is set when ``lambda_max > 0 > lambda_min`` and the magnitudes agree within what the
    residuals certify: ``| |lambda_max| - |lambda_min| | <= r_max + r_min + 100 eps rho``.  Then
    ``eigval = +rho`` (the positive member).  ``converged`` means both extremes met
    ``residual <= tol * rho`` (or, for Lanczos, the Krylov space became invariant).

    Args:
      matvec: ``v -> A v`` for symmetric ``A`` (or a dense symmetric matrix).
      v0: start vector (e.g. the previous eigenvector: warm start); nonzero, finite, shape (n,).
      method: ``"lanczos"`` (default) or ``"power"``.
      tol: relative residual tolerance ``> 0`` (default 1e-8), relative to ``rho``.
      max_iter: Lanczos steps (default 300, capped at n) or power steps per run (default 10000).

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
    mv, v, tol, max_iter = _setup(matvec, v0, tol, max_iter)
    if method == "lanczos":
        run = _lanczos_run(mv, v, tol, max_iter, ends=("LA", "SA"))
        top, bottom = run.pairs
        conv_exact, n_mv, n_iter = run.exact, run.n_mv, run.n_iter
        rho = max(abs(top[1]), abs(bottom[1]))
        converged = conv_exact or max(top[2], bottom[2]) <= tol * max(rho, _TINY)
    else:
        first = _power_rr(mv, v, tol, max_iter, shift=0.0, scale=None)
        n_mv, n_iter = first.n_mv, first.n_iter
        if first.other is not None:  # tie resolved by Rayleigh-Ritz: both extremes known
            pairs = (first.pair, first.other)
            converged = first.converged
        else:
            sigma = first.pair[1]
            start = v - (v @ first.pair[0]) * first.pair[0]
            if not np.linalg.norm(start) > 1e-8 * np.linalg.norm(v):
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


# ---------------------------------------------------------------------------------------------
# private helpers
# ---------------------------------------------------------------------------------------------


class _Counted:
    """Matvec wrapper: counts calls and checks every output (finite, shape (n,))."""

    def __init__(self, mv, n: int):
        self.mv, self.n, self.count = mv, n, 0

    def __call__(self, v: np.ndarray) -> np.ndarray:
        self.count += 1
        return finite_output(self.mv(v.copy()), "matvec", n=self.n)


def _setup(matvec, v0, tol, max_iter):
    mv, n = as_matvec(matvec)
    v = as_vector(v0, "v0", n=n, nonzero=True)
    tol = positive(tol, "tol")
    max_iter = positive_int(max_iter, "max_iter")
    return _Counted(mv, v.size), v, tol, max_iter


def _result(pair, *, n_mv, converged, n_iter, lambda_max=None, lambda_min=None, tie=False):
    vec, eigval, res = pair
    return EigResult(
        rho=abs(float(eigval)),
        eigval=float(eigval),
        eigvec=np.array(vec, dtype=np.float64),
        residual=float(res),
        n_matvecs=int(n_mv),
        converged=bool(converged),
        n_iter=int(n_iter),
        lambda_max=None if lambda_max is None else float(lambda_max),
        lambda_min=None if lambda_min is None else float(lambda_min),
        tie=bool(tie),
    )


def _checked_pair(mv, x):
    """Normalise ``x``, apply ``A`` once, return ``(x, Rayleigh quotient, exact residual)``."""
    x = x / np.linalg.norm(x)
    y = mv(x)
    theta = float(x @ y)
    return x, theta, float(np.linalg.norm(y - theta * x))


class _LanczosRun(NamedTuple):
    pairs: tuple  # one (vec, eigval, residual) per wanted end, residual recomputed
    extremes: tuple  # (largest, smallest) Ritz value at the end
    exact: bool  # Krylov space invariant (breakdown) or exhausted (k = n)
    n_mv: int
    n_iter: int


def _lanczos_run(mv: _Counted, v, tol, max_iter, *, ends) -> _LanczosRun:
    """Lanczos with full reorthogonalisation until every end in ``ends`` passes its test."""
    n = v.size
    m = min(max_iter, n)
    Q = np.zeros((n, min(m, 32)))  # grown by doubling: m may be large, the run short
    alphas, betas = np.zeros(m), np.zeros(m)
    Q[:, 0] = v / np.linalg.norm(v)
    anorm = 0.0
    for k in range(m):
        w = mv(Q[:, k])
        alphas[k] = Q[:, k] @ w
        w = w - alphas[k] * Q[:, k] - (betas[k - 1] * Q[:, k - 1] if k > 0 else 0.0)
        for _ in range(2):  # full reorthogonalisation, twice is enough
            w = w - Q[:, : k + 1] @ (Q[:, : k + 1].T @ w)
        beta = float(np.linalg.norm(w))
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
            basis = Q[:, : k + 1]
            pairs = tuple(_checked_pair(mv, basis @ S[:, j]) for j in idx)
            scale = max(max(abs(p[1]) for p in pairs), _TINY)
            good = all(p[2] <= tol * (abs(p[1]) if len(ends) == 1 else scale) for p in pairs)
            if good or exact or k + 1 == m:
                return _LanczosRun(pairs, (theta[-1], theta[0]), exact, mv.count, k + 1)
        if k + 1 == Q.shape[1]:
            Q = np.concatenate([Q, np.zeros((n, min(Q.shape[1], m - Q.shape[1])))], axis=1)
        Q[:, k + 1] = w / beta
        betas[k] = beta
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


class _PowerRun(NamedTuple):
    pair: tuple  # (vec, eigval of A, exact residual)
    other: tuple | None  # the -rho partner when a tie was resolved by Rayleigh-Ritz
    converged: bool
    n_mv: int
    n_iter: int


def _power_rr(mv: _Counted, v, tol, max_iter, *, shift: float, scale) -> _PowerRun:
    """Power iteration on ``B = A - shift I`` with a free Rayleigh-Ritz step on
    ``span{v_{k-1}, v_k}``; eigenvalues reported for ``A``.  Tolerance ``tol * scale`` with
    ``scale = |theta|`` when ``scale is None``."""
    start = mv.count

    def bv(x):
        y = mv(x)
        return y - shift * x if shift else y

    v = v / np.linalg.norm(v)
    v_old = w_old = None
    best = None
    for k in range(max_iter):
        w = bv(v)
        theta = float(v @ w)
        res = float(np.linalg.norm(w - theta * v))
        if best is None or res <= best[2]:
            best = (v, theta + shift, res)
        thr = tol * (abs(theta) if scale is None else scale)
        if res <= thr:
            return _PowerRun((v, theta + shift, res), None, True, mv.count - start, k + 1)
        if v_old is not None:
            rr = _rayleigh_ritz2(v_old, w_old, v, w)
            if rr is not None:
                (x1, t1, e1), (x2, t2, e2) = rr  # |t1| >= |t2|, residual estimates e
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
        norm = float(np.linalg.norm(w))
        if norm == 0.0:  # unreachable: B v = 0 gives res = 0 above
            break  # pragma: no cover
        v_old, w_old = v, w
        v = w / norm
    return _PowerRun(best, None, False, mv.count - start, max_iter)


def _rayleigh_ritz2(v1, w1, v2, w2):
    """Rayleigh-Ritz on ``span{v1, v2}`` given ``w_i = B v_i``; ``None`` if the span is
    numerically one-dimensional.  Returns two ``(vec, theta, residual)``, larger ``|theta|``
    first; residuals are computed from the stored products (no matvec)."""
    c = float(v1 @ v2)
    z = v2 - c * v1
    s = float(np.linalg.norm(z))
    if s <= np.sqrt(_EPS):
        return None
    U = np.column_stack([v1, z / s])
    BU = np.column_stack([w1, (w2 - c * w1) / s])
    H = U.T @ BU
    H = 0.5 * (H + H.T)
    t, S = np.linalg.eigh(H)
    out = []
    for j in (1, 0) if abs(t[1]) >= abs(t[0]) else (0, 1):
        x = U @ S[:, j]
        out.append((x, float(t[j]), float(np.linalg.norm(BU @ S[:, j] - t[j] * x))))
    return out
