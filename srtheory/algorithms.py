"""A scipy-like full-batch entry to the paper's algorithms (SRR_NOTES §4 and §6).

:func:`minimize` -- ``minimize(f, x0, method="gd" | "sam" | "srr")``: full-batch gradient
descent, SAM, or SRR (gradient steps on ``h = f + mu max(0, rho - K)``, §4) with a warm-started
matrix-free eigen-solve each iteration.  Returns :class:`MinimizeResult` with ``x``, ``fun``,
``rho`` (spectral radius of ``H(x)`` at the end, by Lanczos), ``nit``, ``history`` and counts.

Algorithm 2 on a minibatch objective (:func:`~srtheory.training.srr_train`) lives in
:mod:`srtheory.training`, the regularized step shared by both and its failure reporting
(chattering, non-finite loss) in :mod:`srtheory.srr_step`; their public names are re-exported
here, so ``srtheory.algorithms.srr_train`` keeps working.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from autograd import value_and_grad

from srtheory._validation import as_vector, positive, positive_int
from srtheory.regularizer import generic_start, penalty, resolve_mu
from srtheory.srr_step import (
    ChatteringWarning,
    Checkpoint,
    NonFiniteLossError,
    _eig_options,
    _is_chattering,
    _progress,
    _srr_direction,
    _start,
    _value_grad,
)
from srtheory.training import EpochHistory, TrainResult, srr_train

__all__ = [
    "ChatteringWarning",
    "Checkpoint",
    "EpochHistory",
    "History",
    "MinimizeResult",
    "NonFiniteLossError",
    "TrainResult",
    "minimize",
    "srr_train",
]

_METHODS = ("gd", "sam", "srr")


class History(NamedTuple):
    """Per-iteration record of :func:`minimize` (row ``k`` = before update ``k``; last row = end)."""

    x: np.ndarray                  # (nit + 1, n)
    f: np.ndarray                  # (nit + 1,)
    rho: np.ndarray | None         # (nit,) eigen-solver's rho at each SRR iterate; None for gd/sam
    eig_converged: np.ndarray | None
    direction_norm: np.ndarray     # (nit,) ||p|| of the step taken


class MinimizeResult(NamedTuple):
    """Result of :func:`minimize` (scipy-like)."""

    x: np.ndarray
    fun: float                  # f(x)
    rho: float                  # rho(H(x)) at the end (Lanczos, tol 1e-10; not in the counts)
    h: float                    # f(x) + mu max(0, rho - K)
    nit: int
    success: bool               # ||p|| <= gtol was reached
    message: str
    history: History
    n_grad: int                 # gradient evaluations
    n_hvp: int                  # Hessian-vector products (eigen-solves)
    n_third: int                # third-order contractions grad(v^T H v)
    n_eig_nonconverged: int     # = steps where the regularizer was skipped
    n_eigvec_flips: int
    flip_steps: tuple[int, ...]
    chattering: bool
    method: str
    time: float


# ================================================================== full batch

def minimize(f: Callable, x0, /, *, method: str = "gd", lr=1e-2, optimizer=None, maxiter: int = 1000,
             gtol: float = 1e-8, mu=0.0, K=0.0, sam_radius: float = 0.05,
             eig_method: str = "lanczos", eig_tol: float = 1e-10, eig_max_iter: int = 300,
             alpha=None, precond=None, derivative_method: str = "exact", eps: float | None = None,
             code_faithful: bool = False, reset_on_failure: bool = True, chatter_cos: float = 0.5,
             chatter_min: int = 3, warn: bool = True, callback: Callable | None = None,
             v0=None, progress: bool = False) -> MinimizeResult:
    """Minimize ``f`` from ``x0`` by full-batch GD, SAM, or SRR (Algorithm 2 with one batch).

    Iteration ``k`` (``x_0 = x0``, ``opt = optimizer or sgd(lr)``):

    * ``gd``:  ``p_k = grad f(x_k)``;
    * ``sam``: ``p_k = grad f(x_k + r g/||g||)`` with ``g = grad f(x_k)``, ``r = sam_radius``
      (Foret et al.'s ascent-then-descent; 2 gradients);
    * ``srr``: ``(rho_k, v_k) =`` eigen-solve of ``H(x_k)`` warm-started from ``v_{k-1}``
      (``v_{-1} = 1/sqrt(n)``); if it did not converge the regularizer is skipped
      (``p_k = grad f``, counted; ``v`` reset to ``1/sqrt(n)``), else
      ``p_k = grad f(x_k) + mu 1[rho_k > K] sign(lambda_k) grad^3 f(x_k)[v_k, v_k, .]``
      (Alg. 2 steps 2.1-2.4, Lemma A);
    * stop when ``||p_k|| <= gtol`` (then ``success``), else ``x_{k+1}, s = opt.update(p_k, s, x_k, k)``.

    Args:
        f: ``f(x)`` written with ``autograd.numpy``.
        x0: start (not modified).
        method: ``"gd"``, ``"sam"`` or ``"srr"``.
        lr: learning rate or schedule ``lr(k)`` of the default ``sgd`` (ignored with ``optimizer``).
        optimizer: an :class:`~srtheory.optimizers.Optimizer` (its ``step`` is the iteration ``k``).
        mu, K: penalty weight (number or ``mu(k)``) and bound, ``>= 0``.
        eig_method: ``"lanczos"`` (default), ``"power"`` (Alg. 1; ``alpha``/``precond`` give Alg. 1b)
            or ``"spectral_radius"`` (both extremes, ``+-rho`` ties); ``eig_tol``, ``eig_max_iter``.
        derivative_method, eps: ``"exact"`` or ``"fd"`` HVPs and third-order terms (§5.4).
        code_faithful: drop ``sign(lambda)`` as the authors' code does (wrong for a negative
            dominant eigenvalue; see :func:`srtheory.eigengrad.spectral_radius_grad`).
        chatter_cos, chatter_min, warn: chattering detection (module docstring).
        callback: ``callback(k, x_k)`` after each step; returning True stops.
        v0: first eigen-solve start (default the paper's ``1/sqrt(n)``, Alg. 1 inputs).

    Returns:
        :class:`MinimizeResult`.  ``rho`` is recomputed at the final ``x`` with Lanczos (its HVPs
        are not in ``n_hvp``, which counts the algorithm's own work).
    """
    from srtheory.curvature import hvp_operator
    from srtheory.optimizers import sgd

    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    x = as_vector(x0, "x0")
    n = x.size
    maxiter = positive_int(maxiter, "maxiter", minimum=0)
    gtol = positive(gtol, "gtol", allow_zero=True)
    K = positive(K, "K", allow_zero=True)
    resolve_mu(mu, epoch=0)
    if method == "sam":
        sam_radius = positive(sam_radius, "sam_radius")
    eig_opts = _eig_options(eig_method, eig_tol, eig_max_iter, alpha, precond)
    opt = optimizer if optimizer is not None else sgd(lr)
    state = opt.init(x)
    vg = value_and_grad(f)
    v0 = _start(v0, n)
    v = v0.copy()
    v_prev = None  # last converged eigenvector (for the flip count)
    last_good = Checkpoint(x.copy(), state, v.copy(), 0, 0, 0)  # f(x0) not yet known to be finite
    xs, fs, rhos, convs, pnorms = [x.copy()], [], [], [], []
    counts = {"grad": 0, "hvp": 0, "third": 0, "fail": 0}
    flips: list[int] = []
    n_reg = 0
    success, message = False, "maximum number of iterations reached"
    t0 = time.perf_counter()
    k = 0
    for k in range(maxiter + 1):
        fx, g = _value_grad(vg, x)
        counts["grad"] += 1
        if not (np.isfinite(fx) and np.all(np.isfinite(g))):
            raise NonFiniteLossError(f"f or grad f is not finite at iteration {k} (f = {fx!r}); "
                                     "the last state with a finite loss is attached as .last_good",
                                     last_good)
        last_good = Checkpoint(x.copy(), state, v.copy(), 0, 0, k)
        fs.append(fx)
        if k == maxiter:
            break
        if method == "gd":
            p = g
        elif method == "sam":
            p = _sam_direction(vg, x, g, sam_radius)
            counts["grad"] += 1
        else:
            mu_k = resolve_mu(mu, epoch=k)
            step = _srr_direction(f, x, g, v, v0, mu_k, K, eig_opts, derivative_method, eps,
                                  code_faithful, reset_on_failure, counts)
            p, eig, v_new = step
            rhos.append(eig.rho)
            convs.append(eig.converged)
            if eig.converged and mu_k > 0 and eig.rho > K:
                n_reg += 1
                if v_prev is not None and abs(float(np.dot(v_new, v_prev))) < chatter_cos:
                    flips.append(k)
            v_prev = v_new if eig.converged else None
            v = v_new
        if not np.all(np.isfinite(p)):
            raise NonFiniteLossError(f"the update direction is not finite at iteration {k}", last_good)
        pn = float(np.linalg.norm(p))
        if pn <= gtol:
            success, message = True, f"||p|| = {pn:.3e} <= gtol = {gtol:.1e}"
            break
        pnorms.append(pn)
        x, state = opt.update(p, state, x, k)
        xs.append(x.copy())
        if progress and (k % max(1, maxiter // 20) == 0):
            _progress(f"[minimize {method}] iter {k + 1}/{maxiter} f={fx:.6g}")
        if callback is not None and callback(k, x.copy()):
            message = "stopped by callback"
            fx_end, _ = _value_grad(vg, x)
            fs.append(fx_end)
            counts["grad"] += 1
            break
    if progress:
        _progress("", end=True)
    nit = len(xs) - 1
    fun = fs[-1]
    rho_end = _final_rho(hvp_operator(f, x), n)
    chattering = _is_chattering(flips, n_reg, chatter_min)
    if chattering and warn:
        warnings.warn(f"minimize(method='srr'): the top eigenvector flipped at {len(flips)} of "
                      f"{n_reg} regularized steps -- rho is probably not differentiable here "
                      "(repeated top eigenvalue); the iterates chatter", ChatteringWarning, stacklevel=2)
    mu_end = resolve_mu(mu, epoch=max(nit - 1, 0)) if method == "srr" else 0.0
    hist = History(
        x=np.array(xs), f=np.array(fs[:nit + 1]),
        rho=np.array(rhos) if method == "srr" else None,
        eig_converged=np.array(convs, dtype=bool) if method == "srr" else None,
        direction_norm=np.array(pnorms),
    )
    return MinimizeResult(
        x=x, fun=float(fun), rho=rho_end, h=float(fun) + mu_end * penalty(rho_end, K=K), nit=nit,
        success=success, message=message, history=hist, n_grad=counts["grad"], n_hvp=counts["hvp"],
        n_third=counts["third"], n_eig_nonconverged=counts["fail"], n_eigvec_flips=len(flips),
        flip_steps=tuple(flips), chattering=chattering, method=method,
        time=time.perf_counter() - t0,
    )


# ================================================================== private helpers

def _sam_direction(vg, x, g, radius):
    """SAM (Foret et al.): grad f at x + r g/||g|| (srtheory.baselines.sam_direction, the ascent
    step to the edge of the L2 ball of radius r; g = 0 gives grad f(x))."""
    from srtheory.baselines import sam_direction

    return sam_direction(lambda y: _value_grad(vg, y)[1], x, radius=radius, grad=g)


def _final_rho(matvec, n) -> float:
    from srtheory.spectral import spectral_radius

    return float(spectral_radius(matvec, generic_start(n), method="lanczos", tol=1e-10).rho)


