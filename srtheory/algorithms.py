"""A scipy-like full-batch entry to the paper's algorithms (SRR_NOTES §4 and §6).

:func:`minimize` -- ``minimize(f, x0, method="gd" | "sam" | "srr")``: full-batch gradient
descent, SAM, or SRR (gradient steps on ``h = f + mu max(0, rho - K)``, §4) with a warm-started
matrix-free eigen-solve each iteration.  Returns :class:`MinimizeResult` with ``x``, ``fun``,
``rho`` (spectral radius of ``H(x)`` at the end, by Lanczos), ``nit``, ``history`` and counts;
as in scipy, ``success``/``message`` say why it stopped, ``"diverged: ..."`` included.

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
from srtheory.regularizer import generic_start, penalty
from srtheory.srr_step import (
    ChatteringWarning,
    Checkpoint,
    DivergenceWarning,
    Monitor,
    NonFiniteLossError,
    NoPenaltyWarning,
    SRRConfig,
    _check_config,
    _progress,
    _solve_and_step,
    _start,
    _Tally,
    _value_grad,
)
from srtheory.training import EpochEnd, EpochHistory, PrecondRefresh, TrainResult, srr_train

__all__ = [
    "ChatteringWarning",
    "Checkpoint",
    "DivergenceWarning",
    "EpochEnd",
    "EpochHistory",
    "History",
    "MinimizeResult",
    "Monitor",
    "NoPenaltyWarning",
    "NonFiniteLossError",
    "PrecondRefresh",
    "SRRConfig",
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

_DEFAULT_SRR = SRRConfig()  # the default of `srr`, told apart from a config passed by the caller
_DEFAULT_LR = 1e-2
_DEFAULT_SAM_RADIUS = 0.05
_MAX_ITER_MESSAGE = "maximum number of iterations reached"


def minimize(f: Callable, x0, /, *, method: str = "gd", lr=None, optimizer=None, max_iter: int = 1000,
             gtol: float = 1e-8, sam_radius: float | None = None,
             srr: SRRConfig = _DEFAULT_SRR,
             monitor: Monitor = Monitor(),  # noqa: B008
             callback: Callable | None = None, v0=None) -> MinimizeResult:
    """Minimize ``f`` from ``x0`` by full-batch GD, SAM, or SRR (Algorithm 2 of SRR_NOTES §6 with
    one batch).

    Iteration ``k`` (``x_0 = x0``, ``opt = optimizer or sgd(lr)``):

    * ``gd``:  ``p_k = grad f(x_k)``;
    * ``sam``: ``p_k = grad f(x_k + r g/||g||)`` with ``g = grad f(x_k)``, ``r = sam_radius``
      (Foret et al.'s ascent-then-descent; 2 gradients);
    * ``srr``: ``(rho_k, v_k) =`` eigen-solve ``srr.eig`` of ``H(x_k)`` warm-started from
      ``v_{k-1}`` (``v_{-1}`` = the generic start, see ``v0``), then the SRR step :func:`srtheory.srr_step.srr_step`:
      if the solve did not converge the regularizer is skipped (``p_k = grad f``, counted; ``v``
      reset to the start), else
      ``p_k = grad f(x_k) + mu_k 1[rho_k > K] sign(lambda_k) grad^3 f(x_k)[v_k, v_k, .]``
      (Alg. 2 steps 2.2-2.4, Lemma A), ``mu_k = srr.mu_at(k)``;
    * stop when ``||p_k|| <= gtol`` (then ``success``), else ``x_{k+1}, s = opt.update(p_k, s, x_k, k)``.

    **Divergence** is reported as scipy reports a failed minimization -- in the result, not by an
    exception -- and with a :class:`~srtheory.srr_step.DivergenceWarning` (``monitor.warn``): a run
    that used its whole budget with ``f`` (for SRR also ``h_k = f_k + mu_k max(0, rho_k - K)``,
    ``rho_k`` the step's eigen-solve, the last one the final Lanczos ``rho``) rising at each of its
    last ``w = min(20, nit // 2) >= 3`` iterations and ending above its start has
    ``success=False`` and a ``message`` starting ``"diverged:"`` with the numbers and ``2/rho``
    at the end (GD on a quadratic is stable iff ``lr < 2/rho``).  The iterates are those of the
    plain run (nothing stops early); a loss or gradient that overflows to inf/NaN still raises
    :class:`~srtheory.srr_step.NonFiniteLossError`.

    Args:
        f: ``f(x)`` written with ``autograd.numpy`` (else
            :class:`~srtheory.curvature.NotTraceableError` names the culprits).
        x0: start (not modified).
        method: ``"gd"``, ``"sam"`` or ``"srr"``.
        lr: learning rate or schedule ``lr(k)`` of the default ``sgd`` (default ``1e-2``); a
            schedule is checked at every step (``ValueError`` naming ``k`` and the value).  Not
            together with ``optimizer`` (``ValueError``: give the rate to the optimizer).
        optimizer: an :class:`~srtheory.optimizers.Optimizer` (its ``step`` is the iteration ``k``).
        max_iter: iteration budget (``>= 0``).
        gtol: stop when ``||p_k|| <= gtol``.
        sam_radius: SAM's ``r > 0`` (default ``0.05``); ``method="sam"`` only.
        srr: the SRR step's options, :class:`~srtheory.srr_step.SRRConfig` (``mu``, ``K``, the
            eigen-solve ``eig``, ``derivative``, ``eps``, ``code_faithful``, the skip and reset
            policies); ``method="srr"`` only.  A constant ``mu = 0`` with ``method="srr"`` is GD
            with an eigen-solve per step: :class:`~srtheory.srr_step.NoPenaltyWarning`.
        monitor: chattering and divergence warnings, progress display,
            :class:`~srtheory.srr_step.Monitor`.
        callback: ``callback(k, x_k)`` after each step; returning True stops.
        v0: first eigen-solve start and reset vector: ``None`` (default) the deterministic
            :func:`srtheory.spectral.generic_start`; ``"paper"`` the paper's ``1/sqrt(n)`` (Alg. 1
            inputs; in the null space of a translation-invariant loss's Hessian); or a vector;
            ``method="srr"`` only.

    Returns:
        :class:`MinimizeResult`.  ``rho`` is recomputed at the final ``x`` with Lanczos (its HVPs
        are not in ``n_hvp``, which counts the algorithm's own work).

    Raises:
        ValueError: bad options, or an option of another method (``srr``/``v0`` without
            ``method="srr"``, ``sam_radius`` without ``method="sam"``, ``lr`` with
            ``optimizer``), before any work; a learning-rate or ``mu`` schedule that turns
            negative or non-finite, at that step.
        NotTraceableError: ``f`` is not written with ``autograd.numpy``.
        NonFiniteLossError: a NaN/inf loss or direction mid-run (``.last_good`` attached).
    """
    from srtheory.curvature import hvp_operator, traceable
    from srtheory.optimizers import sgd

    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if method != "srr":
        for name, given in (("srr", srr is not _DEFAULT_SRR), ("v0", v0 is not None)):
            if given:
                what = f"srr=SRRConfig(mu={getattr(srr, 'mu', '?')!r}, ...)" if name == "srr" else "v0="
                raise ValueError(f"{what} configures method='srr' only; with method='{method}' it "
                                 "would be ignored -- pass method='srr', or drop it")
    if method != "sam" and sam_radius is not None:
        raise ValueError(f"sam_radius= configures method='sam' only; with method='{method}' it "
                         "would be ignored -- pass method='sam', or drop it")
    srr = _check_config(srr, SRRConfig, "srr")
    monitor = _check_config(monitor, Monitor, "monitor")
    if optimizer is not None and lr is not None:
        raise ValueError(f"lr={lr!r} sets the rate of the default sgd optimizer; with optimizer= "
                         "it would be ignored -- give the rate to the optimizer, e.g. "
                         "optimizer=sgd(0.1, momentum=0.9), and drop lr=")
    x = as_vector(x0, "x0")
    n = x.size
    max_iter = positive_int(max_iter, "max_iter", minimum=0)
    gtol = positive(gtol, "gtol", allow_zero=True)
    srr.mu_at(0)
    if method == "sam":
        sam_radius = positive(_DEFAULT_SAM_RADIUS if sam_radius is None else sam_radius, "sam_radius")
    opt = optimizer if optimizer is not None else sgd(_DEFAULT_LR if lr is None else lr)
    if method == "srr" and not callable(srr.mu) and srr.mu == 0.0 and monitor.warn:
        warnings.warn("minimize(method='srr') with mu = 0: the penalty is never applied, so the run "
                      "is method='gd' with an eigen-solve per step -- give SRRConfig(mu=...) a "
                      "positive weight, or use method='gd'", NoPenaltyWarning, stacklevel=2)
    state = opt.init(x)
    vg = value_and_grad(traceable(f, "f"))
    v0 = _start(v0, n)
    v = v0.copy()
    last_good = Checkpoint(x.copy(), state, v.copy(), 0, 0, 0)  # f(x0) not yet known to be finite
    xs, fs, rhos, convs, pnorms = [x.copy()], [], [], [], []
    n_grad = 0
    tally = _Tally(monitor.chatter_cos)
    success, message = False, _MAX_ITER_MESSAGE
    t0 = time.perf_counter()
    k = 0
    for k in range(max_iter + 1):
        fx, g = _value_grad(vg, x)
        n_grad += 1
        if not (np.isfinite(fx) and np.all(np.isfinite(g))):
            raise NonFiniteLossError(f"f or grad f is not finite at iteration {k} (f = {fx!r}); "
                                     "the last state with a finite loss is attached as .last_good",
                                     last_good)
        last_good = Checkpoint(x.copy(), state, v.copy(), 0, 0, k)
        fs.append(fx)
        if k == max_iter:
            break
        if method == "gd":
            p = g
        elif method == "sam":
            p = _sam_direction(vg, x, g, sam_radius)
            n_grad += 1
        else:
            step = _solve_and_step(f, x, g, v, v0, mu=srr.mu_at(k), config=srr)
            tally.record(step, k)
            p, v = step.direction, step.next_start
            rhos.append(step.eig.rho)
            convs.append(step.eig.converged)
        if not np.all(np.isfinite(p)):
            raise NonFiniteLossError(f"the update direction is not finite at iteration {k}", last_good)
        pn = float(np.linalg.norm(p))
        if pn <= gtol:
            success, message = True, f"||p|| = {pn:.3e} <= gtol = {gtol:.1e}"
            break
        pnorms.append(pn)
        x, state = opt.update(p, state, x, k)
        xs.append(x.copy())
        if monitor.progress and (k % max(1, max_iter // 20) == 0):
            _progress(f"[minimize {method}] iter {k + 1}/{max_iter} f={fx:.6g}")
        if callback is not None and callback(k, x.copy()):
            message = "stopped by callback"
            fx_end, _ = _value_grad(vg, x)
            fs.append(fx_end)
            n_grad += 1
            break
    if monitor.progress:
        _progress("", end=True)
    nit = len(xs) - 1
    fun = fs[-1]
    rho_end = _final_rho(hvp_operator(f, x), n)
    chattering = tally.chattering(monitor.chatter_min)
    if chattering and monitor.warn:
        warnings.warn(f"minimize(method='srr'): the top eigenvector flipped at {len(tally.flips)} of "
                      f"{tally.n_reg} regularized steps -- rho is probably not differentiable here "
                      "(repeated top eigenvalue); the iterates chatter", ChatteringWarning, stacklevel=2)
    mu_end = srr.mu_at(max(nit - 1, 0)) if method == "srr" else 0.0
    if message == _MAX_ITER_MESSAGE:
        verdict = _divergence(method, fs[:nit + 1], rhos, srr, rho_end, mu_end)
        if verdict is not None:
            message = verdict
            if monitor.warn:
                warnings.warn(f"minimize(method={method!r}) {verdict}", DivergenceWarning, stacklevel=2)
    hist = History(
        x=np.array(xs), f=np.array(fs[:nit + 1]),
        rho=np.array(rhos) if method == "srr" else None,
        eig_converged=np.array(convs, dtype=bool) if method == "srr" else None,
        direction_norm=np.array(pnorms),
    )
    return MinimizeResult(
        x=x, fun=float(fun), rho=rho_end, h=float(fun) + mu_end * penalty(rho_end, K=srr.K), nit=nit,
        success=success, message=message, history=hist, n_grad=n_grad, n_hvp=tally.n_hvp,
        n_third=tally.n_third, n_eig_nonconverged=tally.n_fail, n_eigvec_flips=len(tally.flips),
        flip_steps=tuple(tally.flips), chattering=chattering, method=method,
        time=time.perf_counter() - t0,
    )


# ================================================================== private helpers

def _divergence(method, fs, rhos, srr: SRRConfig, rho_end: float, mu_end: float) -> str | None:
    """The ``"diverged: ..."`` message when the objective rose at each of the last ``w`` iterations
    and ended above its start (:func:`minimize`'s docstring), else ``None``."""
    nit = len(fs) - 1
    w = min(20, nit // 2)
    if w < 3:
        return None
    def rising(values) -> bool:
        return bool(np.all(np.diff(values[-(w + 1):]) > 0) and values[-1] > values[0])

    obj = np.array(fs, dtype=float)
    name = "f"
    if not rising(obj):
        return None
    if method == "srr":  # SRR descends h, not f: f may climb a barrier while h falls
        mus = np.array([srr.mu_at(k) for k in range(nit)] + [mu_end])
        pen = np.array([penalty(r, K=srr.K) for r in rhos] + [penalty(rho_end, K=srr.K)])
        obj = obj + mus * pen
        name = "h = f + mu max(0, rho - K) (and f)"
        if not rising(obj):
            return None
    tail = obj[-(w + 1):]
    hint = f"; 2/rho = {2.0 / rho_end:.3g} at the end" if rho_end > 0 else ""
    return (f"diverged: {name} rose at each of the last {w} iterations, from {tail[0]:.6g} to "
            f"{obj[-1]:.6g} (start {obj[0]:.6g}) -- the step size is too large for the curvature: "
            f"lower lr (rho(H) = {rho_end:.4g}{hint}; GD is stable on a quadratic iff lr < 2/rho)")


def _sam_direction(vg, x, g, radius):
    """SAM (Foret et al.): grad f at x + r g/||g|| (srtheory.baselines.sam_direction, the ascent
    step to the edge of the L2 ball of radius r; g = 0 gives grad f(x))."""
    from srtheory.baselines import sam_direction

    return sam_direction(lambda y: _value_grad(vg, y)[1], x, radius=radius, grad=g)


def _final_rho(matvec, n) -> float:
    from srtheory.spectral import spectral_radius

    return float(spectral_radius(matvec, generic_start(n), method="lanczos", tol=1e-10).rho)


