"""Algorithm 1 (and 1b) of SRR_NOTES §6: the paper's warm-started power iteration.

:func:`power_iteration` follows the notes step for step: sign flip, residual, the three stopping
tests, and the step size and preconditioner of Algorithm 1b.  Written once for NumPy arrays and
torch tensors (:mod:`srtheory.backend`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from srtheory._validation import positive
from srtheory.spectral._common import _Diagnosis, _result, _setup, _start_probe
from srtheory.spectral.result import EigResult

__all__ = ["power_iteration"]


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
    check_symmetry: bool = True,
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
        A NumPy vector runs the float64 reference; a ``torch.Tensor`` runs the same steps on
        torch tensors of its dtype and device (``matvec`` then takes and returns tensors).
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
      check_symmetry: probe ``A = A^T`` from the first two iterates, ``|v_1.(A v_0) -
        v_0.(A v_1)|`` (free: no extra matvec; ``EigResult.asymmetry``); an asymmetry above
        ``max(tol, sqrt(eps))`` ends the run with ``converged=False`` and a note.

    Two safeguards beyond the paper's steps: a start that is an eigenvector to within
    ``sqrt(eps)`` at the first iterate is probed with one more matvec on a generic vector, and if
    that shows an eigenvalue of larger modulus it is restarted once from a generic vector mixed
    into it (the iteration could otherwise never leave it; ``EigResult.notes`` says so); and an
    operator beyond ``2^+-200`` in size is scaled by an exact power of two internally.

    Returns:
      :class:`EigResult` with the last *evaluated* (and, with callable ``alpha``, accepted)
      pair: ``eigvec`` is the (sign-flipped) iterate at which ``A`` was last applied,
      ``eigval = +-lambda`` its signed Rayleigh quotient, ``rho = |eigval|`` and
      ``residual = ||r||`` exact without an extra matvec; ``n_matvecs`` counts every call of
      ``matvec``: ``n_iter``, plus one when the start probe ran.

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
    mv, v, tol, max_iter, ops = _setup(matvec, v0, tol, max_iter)
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
    n = mv.n
    if cap_at_n:
        max_iter = min(max_iter, n)
    diag = _Diagnosis(check_symmetry)

    # Step 1: v <- v_prev (normalised); lambda_old = 0, r_old = 0, ||r_old|| = 0 (r_old itself is
    # never read while ||r_old|| = 0, so it starts as None).
    v = ops.normalize(v)
    lam_old, r_old, rn_old = 0.0, None, 0.0
    v_acc = None  # the accepted iterate that produced r_old (for step 2.7)
    best = None  # (eigvec, eigval, ||r||) of the last evaluated accepted pair
    ref = None  # the first accepted iterate (v, r, lambda, flipped), for the symmetry probe
    for i in range(max_iter):
        flipped_in = False
        w = mv(v)  # 2.1
        lam = ops.dot(w, v)  # 2.2
        if lam < 0:  # 2.3: sign flip
            lam, v = -lam, -v
            eigval = -lam
            flipped_in = True
        else:
            eigval = lam
        r = ops.sub_scaled(w, v, lam)  # 2.4
        rn = ops.norm(r)
        pair = (v, eigval, rn)
        if i == 0 and i < max_iter - 1:
            restart = _start_probe(ops, mv, v, lam, rn, (rn**2 + lam**2) ** 0.5, diag)
            if restart is not None:
                # the start is an eigenvector of a non-dominant eigenvalue: restart once
                best, v = pair, restart
                continue
        if ref is not None and _asymmetric(ops, diag, ref, v, w, lam, rn, flipped_in, tol):
            return _result(ops, mv, pair, n_mv=mv.count, converged=False, n_iter=i + 1, diag=diag)
        ref = None
        # 2.5-2.6: stopping tests
        if criteria == "residual":
            stop = rn <= tol * lam
        else:
            stop = rn * mv.unscale < tol
            if not stop and rn_old > 0.0:
                change = min(ops.norm(r - r_old), ops.norm(r + r_old))
                stop = change / rn_old < tol
            if not stop and lam_old > 0.0:
                stop = abs(lam - lam_old) / lam_old < tol
        if stop:
            return _result(ops, mv, pair, n_mv=mv.count, converged=True, n_iter=i + 1, diag=diag)
        # 2.7: with a schedule alpha(i), reject a step whose residual grew.
        if callable(alpha) and v_acc is not None and rn > rn_old:
            v_base, r_base = v_acc, r_old
        else:
            v_base, r_base = v, r
            v_acc, best = v, pair
            lam_old, r_old, rn_old = lam, r, rn  # 2.9 (bookkeeping)
            if diag.check_symmetry and diag.asymmetry is None:
                ref = (v, r, lam, flipped_in)  # held anyway as v_acc, r_old: no extra memory
        if i == max_iter - 1:
            break  # the result is the last evaluated pair: a final update would be discarded
        # 2.8: update
        if alpha is None:
            step = w
        else:
            a_i = positive(alpha(i), f"alpha({i})", allow_zero=True) if callable(alpha) else alpha
            if a_i == 0.0:
                # The schedule is exhausted (the authors' exp(-4i-2) underflows to 0.0 at
                # i = 186): the iterate can no longer move, so stop and say it did not converge.
                return _result(ops, mv, best, n_mv=mv.count, converged=False, n_iter=i + 1,
                               diag=diag)
            pr = r_base if precond is None else ops.checked(precond(r_base), "precond", n, v)
            step = v_base + a_i * pr
        with np.errstate(over="ignore", invalid="ignore"):  # an overflowing step is caught below
            norm = ops.norm(step)
        if not (np.isfinite(norm) and norm > 0.0):
            # A v = 0 is caught by ||r|| = 0 above; this is a degenerate Algorithm 1b step.
            return _result(ops, mv, best, n_mv=mv.count, converged=False, n_iter=i + 1, diag=diag)
        v = step / norm
    return _result(ops, mv, best, n_mv=mv.count, converged=False, n_iter=max_iter, diag=diag)


def _asymmetric(ops, diag, ref, v, w, lam, rn, flipped, tol) -> bool:
    """The symmetry probe from two consecutive iterates, keeping no vector for it.

    Iterate ``j`` applies ``A`` to ``u_j`` (``w_j = A u_j``) and keeps ``v_j = s_j u_j`` (``s_j = -1``
    after the sign flip of step 2.3), ``lambda_j = w_j . v_j >= 0`` and ``r_j = w_j - lambda_j v_j``,
    so ``w_j = r_j + lambda_j v_j``.  For the reference iterate 0 (its ``v_0``, ``r_0`` are held by
    Algorithm 1's own bookkeeping) and the current iterate 1, symmetry ``u_1 . A u_0 = u_0 . A u_1``
    reads ``s_1 (v_1 . r_0 + lambda_0 v_1 . v_0) = s_0 (v_0 . w_1)``.  The difference is measured
    relative to ``max(||w_0||, ||w_1||)``, with ``||w_j||^2 = ||r_j||^2 + lambda_j^2``
    (``r_j _|_ v_j``)."""
    v0, r0, lam0, flipped0 = ref
    s0 = -1.0 if flipped0 else 1.0
    s1 = -1.0 if flipped else 1.0
    a = s1 * (ops.dot(v, r0) + lam0 * ops.dot(v, v0))
    b = s0 * ops.dot(v0, w)
    scale = max((ops.norm(r0) ** 2 + lam0**2) ** 0.5, (rn**2 + lam**2) ** 0.5)
    asym = 0.0 if scale == 0.0 else abs(a - b) / scale
    return diag.record(ops, asym, v, tol)
