"""The paper's training algorithm (Algorithm 2 of SRR_NOTES §6) and a scipy-like full-batch entry.

* :func:`minimize` -- ``minimize(f, x0, method="gd" | "sam" | "srr")``: full-batch gradient
  descent, SAM, or SRR (gradient steps on ``h = f + mu max(0, rho - K)``, §4) with a warm-started
  matrix-free eigen-solve each iteration.  Returns :class:`MinimizeResult` with ``x``, ``fun``,
  ``rho`` (spectral radius of ``H(x)`` at the end, by Lanczos), ``nit``, ``history`` and counts.
* :func:`srr_train` -- Algorithm 2 on a minibatch objective (:class:`~srtheory.objectives.
  StochasticObjective`): per batch a warm-started eigen-solve (power iteration, Lanczos, or the
  preconditioned update of Alg. 1b through ``precond``), the hinge at ``K``, a step of a base
  optimizer (:mod:`srtheory.optimizers`); the paper's policy for a non-converged eigen-solve (skip
  the regularizer for that batch, reset the warm start) with the count reported; per-epoch
  learning-rate schedules; end-of-epoch ``h``; best-validation selection; the optional
  coefficient-of-variation stopping rule.  Deterministic given ``rng`` (bit for bit).

Two failure modes are reported, never hidden:

* **chattering** at a repeated top eigenvalue (rho not differentiable, §5.1): every step whose
  eigenvector turned by more than ``arccos(chatter_cos)`` against the previous one is counted
  (``n_eigvec_flips``, ``flip_steps``); when there are ``chatter_min`` or more and they are at
  least 10 % of the regularized steps, ``chattering`` is set and a :class:`ChatteringWarning`
  is issued;
* a non-finite loss or direction raises :class:`NonFiniteLossError` carrying ``last_good``, the
  :class:`Checkpoint` (weights, optimizer state, warm start, position) before the bad step.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from autograd import value_and_grad

from srtheory._validation import as_vector, positive, positive_int
from srtheory.regularizer import batch_function, generic_start, penalty, resolve_mu

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
_EIG_METHODS = ("power", "lanczos", "spectral_radius")


class ChatteringWarning(RuntimeWarning):
    """The top eigenvector kept flipping: rho is probably not differentiable here (repeated or
    ``+-rho``-tied top eigenvalue) and the iterates chatter instead of converging."""


class Checkpoint(NamedTuple):
    """The last good state of a run (the last iterate whose loss and gradient were finite, with the
    optimizer state and warm start *at* that iterate, before its update): resume from it, or
    inspect it after an error.  If the very first loss is not finite it is the start."""

    x: np.ndarray
    opt_state: Any
    eigvec: np.ndarray
    epoch: int
    batch: int
    step: int


class NonFiniteLossError(ValueError):
    """The loss or the update direction became NaN/inf mid-run; ``last_good`` is the
    :class:`Checkpoint` before the offending step (the state is intact)."""

    def __init__(self, message: str, last_good: Checkpoint):
        super().__init__(message)
        self.last_good = last_good


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


class EpochHistory(NamedTuple):
    """Per-epoch record of :func:`srr_train` (Alg. 2 step 3)."""

    f: np.ndarray               # batch-size-weighted mean of f_B over the training set
    rho: np.ndarray             # rho on the epoch's report batch r_b
    rho_converged: np.ndarray   # did that eigen-solve converge
    h: np.ndarray               # f + mu_k max(0, rho - K)
    mu: np.ndarray              # mu_k used in the epoch
    val: np.ndarray | None      # validation score (None without a validation callable)
    n_skipped: np.ndarray       # batches whose regularizer was skipped in the epoch


class TrainResult(NamedTuple):
    """Result of :func:`srr_train`."""

    x: np.ndarray               # weights after the last epoch
    x_best: np.ndarray          # best-validation weights (= x without validation)
    best_epoch: int
    epochs_run: int
    stopped_by: str             # "epochs" or "cv"
    history: EpochHistory
    n_batches: int
    n_eig_nonconverged: int
    n_skipped: int              # batches with mu > 0 whose regularizer was skipped (non-converged solve)
    n_active: int               # batches where rho_B > K (penalty gradient used)
    n_eigvec_flips: int
    flip_steps: tuple[int, ...]
    chattering: bool
    n_grad: int
    n_hvp: int
    n_third: int
    eigvec: np.ndarray          # warm start for a continuation
    opt_state: Any
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


# ================================================================== Algorithm 2

def srr_train(objective, x0=None, /, *, rng: np.random.Generator, mu, K=0.0, optimizer=None,
              lr=0.1, epochs: int = 10, batch_size: int = 32, eig_method: str = "power",
              eig_tol: float = 1e-3, eig_max_iter: int = 100, alpha=None, precond=None,
              precond_factory: Callable | None = None, precond_every: int = 1,
              derivative_method: str = "exact", eps: float | None = None,
              code_faithful: bool = False, reset_on_failure: bool = True,
              validation: Callable | None = None, val_mode: str = "min",
              cv_eps: float | None = None, cv_window: int = 10, min_epochs: int = 10,
              chatter_cos: float = 0.5, chatter_min: int = 3, warn: bool = True,
              v0=None, progress: bool = False) -> TrainResult:
    """Spectral-radius-regularized stochastic training: Algorithm 2 of SRR_NOTES §6.

    For epoch ``k = 0, 1, ...`` (``mu_k = mu(k)`` or ``mu``):

    1. draw the epoch's batches ``objective.batches(rng, batch_size)`` and a report batch index
       ``r_b`` (``rng.integers``);
    2. for each batch ``B``: ``g = grad f_B(x)``; ``(rho_B, v)`` = eigen-solve of ``H_B(x)``
       warm-started from the previous ``v`` (``v_0 = 1/sqrt(n)``; ``eig_method="power"`` is
       Algorithm 1, with ``alpha``/``precond`` the Alg. 1b update ``v <- normalize(v + alpha P(r))``;
       ``precond_factory(x, batch)`` rebuilds ``P`` every ``precond_every`` batches, e.g. K-FAC);
       if the solve did not converge the regularizer is skipped for this batch (counted, ``v``
       reset to ``v_0``, step 4 of Alg. 1); otherwise ``p = g + mu_k 1[rho_B > K] grad rho_B``;
       ``x, s = optimizer.update(p, s, x, k)`` (the schedule reads the **epoch** ``k``);
    3. end of epoch: ``f = sum_B |B| f_B(x) / N``, ``rho`` recomputed on batch ``r_b``,
       ``h = f + mu_k max(0, rho - K)``; validation score, best-validation weights;
    4. stop early (after ``min_epochs``) when the coefficient of variation of the last
       ``cv_window`` values of ``h`` is ``<= cv_eps`` (``cv_eps=None``: off, as the paper's default).

    With ``mu = 0`` no eigen-solve is run in step 2 (plain base-optimizer training).

    Args:
        objective: has ``loss(x, batch)``, ``n_samples``, ``batches(rng, batch_size)``
            (a :class:`~srtheory.objectives.StochasticObjective`).
        x0: start (default ``objective.x0``); not modified.
        rng: the only source of randomness.
        validation: ``validation(x) -> float``; ``val_mode`` "min" (a loss) or "max" (accuracy).
        v0: eigenvector start and reset value (default the paper's ``1/sqrt(n)``).

    Returns:
        :class:`TrainResult`.

    Raises:
        ValueError: ``mu < 0``, ``K < 0`` and other bad options.
        NonFiniteLossError: a NaN/inf loss or direction mid-run (``.last_good`` attached).
    """
    from srtheory.curvature import hvp_operator
    from srtheory.optimizers import sgd

    for attr in ("loss", "n_samples", "batches"):
        if not hasattr(objective, attr):
            raise ValueError(f"objective must provide loss(x, batch), n_samples and batches(rng, "
                             f"batch_size); {type(objective).__name__} has no {attr!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")  # noqa: TRY004 (contract: bad input -> ValueError)
    x = as_vector(objective.x0 if x0 is None else x0, "x0")
    n = x.size
    K = positive(K, "K", allow_zero=True)
    resolve_mu(mu, epoch=0)
    epochs = positive_int(epochs, "epochs")
    batch_size = positive_int(batch_size, "batch_size")
    precond_every = positive_int(precond_every, "precond_every")
    if val_mode not in ("min", "max"):
        raise ValueError(f"val_mode must be 'min' or 'max', got {val_mode!r}")
    if cv_eps is not None:
        cv_eps = positive(cv_eps, "cv_eps", allow_zero=True)
        cv_window = positive_int(cv_window, "cv_window", minimum=2)
    min_epochs = positive_int(min_epochs, "min_epochs", minimum=0)
    eig_opts = _eig_options(eig_method, eig_tol, eig_max_iter, alpha, precond)
    opt = optimizer if optimizer is not None else sgd(lr)
    state = opt.init(x)
    v0 = _start(v0, n)
    v = v0.copy()
    v_prev = None
    last_good = Checkpoint(x.copy(), state, v.copy(), 0, 0, 0)
    counts = {"grad": 0, "hvp": 0, "third": 0, "fail": 0}
    n_active = n_skipped = n_reg = 0
    flips: list[int] = []
    hist = {key: [] for key in ("f", "rho", "rho_converged", "h", "mu", "val", "n_skipped")}
    best_x, best_epoch, best_score = x.copy(), -1, None
    stopped_by = "epochs"
    step_no = 0
    t0 = time.perf_counter()
    epoch = 0
    for epoch in range(epochs):
        mu_k = resolve_mu(mu, epoch=epoch)
        batches = list(objective.batches(rng, batch_size))
        r_b = int(rng.integers(len(batches)))
        skipped_epoch = 0
        for j, batch in enumerate(batches):
            fb = batch_function(objective.loss, batch)
            vg = value_and_grad(fb)
            fx, g = _value_grad(vg, x)
            counts["grad"] += 1
            if not (np.isfinite(fx) and np.all(np.isfinite(g))):
                raise NonFiniteLossError(
                    f"the minibatch loss is not finite (f_B = {fx!r}) at epoch {epoch}, batch {j}; "
                    "the last state with a finite loss is attached as .last_good", last_good)
            last_good = Checkpoint(x.copy(), state, v.copy(), epoch, j, step_no)
            if mu_k > 0.0:
                if precond_factory is not None and step_no % precond_every == 0:
                    eig_opts = eig_opts._replace(precond=precond_factory(x.copy(), batch))
                fail_before = counts["fail"]
                p, eig, v_new = _srr_direction(fb, x, g, v, v0, mu_k, K, eig_opts, derivative_method,
                                               eps, code_faithful, reset_on_failure, counts)
                if counts["fail"] > fail_before:
                    n_skipped += 1
                    skipped_epoch += 1
                elif eig.rho > K:
                    n_active += 1
                    n_reg += 1
                    if v_prev is not None and abs(float(np.dot(v_new, v_prev))) < chatter_cos:
                        flips.append(step_no)
                v_prev = None if counts["fail"] > fail_before else v_new
                v = v_new
            else:
                p = g
            if not np.all(np.isfinite(p)):
                raise NonFiniteLossError(f"the update direction is not finite at epoch {epoch}, "
                                         f"batch {j}", last_good)
            x, state = opt.update(p, state, x, epoch)
            step_no += 1
            if progress:
                _progress(f"[srr_train] epoch {epoch + 1}/{epochs} batch {j + 1}/{len(batches)} "
                          f"f_B={fx:.5g}")
        # ---- end of epoch (Alg. 2 step 3)
        f_epoch = 0.0
        for batch in batches:
            f_epoch += len(batch) * float(objective.loss(x, batch))
        f_epoch /= objective.n_samples
        if not np.isfinite(f_epoch):
            raise NonFiniteLossError(f"the training loss is not finite at the end of epoch {epoch}",
                                     Checkpoint(x.copy(), state, v.copy(), epoch, len(batches), step_no))
        fb = batch_function(objective.loss, batches[r_b])
        eig_end = _eig_solve(hvp_operator(fb, x, method=derivative_method, eps=eps), v, eig_opts)
        counts["hvp"] += eig_end.n_matvecs
        hist["f"].append(f_epoch)
        hist["rho"].append(eig_end.rho)
        hist["rho_converged"].append(eig_end.converged)
        hist["h"].append(f_epoch + mu_k * penalty(eig_end.rho, K=K))
        hist["mu"].append(mu_k)
        hist["n_skipped"].append(skipped_epoch)
        if validation is not None:
            score = float(validation(x.copy()))
            hist["val"].append(score)
            better = best_score is None or (score < best_score if val_mode == "min" else score > best_score)
            if better and np.isfinite(score):
                best_x, best_epoch, best_score = x.copy(), epoch, score
        else:
            best_x, best_epoch = x.copy(), epoch
        if progress:
            _progress(f"[srr_train] epoch {epoch + 1}/{epochs} f={f_epoch:.5g} rho={eig_end.rho:.4g} "
                      f"h={hist['h'][-1]:.5g}", end=True)
        if cv_eps is not None and epoch + 1 >= max(min_epochs, cv_window):
            last = np.array(hist["h"][-cv_window:])
            mean = float(np.mean(last))
            if mean != 0.0 and float(np.std(last)) / abs(mean) <= cv_eps:
                stopped_by = "cv"
                break
    chattering = _is_chattering(flips, n_reg, chatter_min)
    if chattering and warn:
        warnings.warn(f"srr_train: the top eigenvector flipped at {len(flips)} of {n_reg} regularized "
                      "steps -- rho is probably not differentiable there (repeated top eigenvalue)",
                      ChatteringWarning, stacklevel=2)
    eh = EpochHistory(
        f=np.array(hist["f"]), rho=np.array(hist["rho"]),
        rho_converged=np.array(hist["rho_converged"], dtype=bool), h=np.array(hist["h"]),
        mu=np.array(hist["mu"]), val=np.array(hist["val"]) if validation is not None else None,
        n_skipped=np.array(hist["n_skipped"], dtype=int),
    )
    return TrainResult(
        x=x, x_best=best_x, best_epoch=best_epoch, epochs_run=epoch + 1, stopped_by=stopped_by,
        history=eh, n_batches=step_no, n_eig_nonconverged=counts["fail"], n_skipped=n_skipped,
        n_active=n_active, n_eigvec_flips=len(flips), flip_steps=tuple(flips), chattering=chattering,
        n_grad=counts["grad"], n_hvp=counts["hvp"], n_third=counts["third"], eigvec=v.copy(),
        opt_state=state, time=time.perf_counter() - t0,
    )


# ================================================================== private helpers

class _EigOptions(NamedTuple):
    method: str
    tol: float
    max_iter: int
    alpha: Any
    precond: Any


def _eig_options(method, tol, max_iter, alpha, precond) -> _EigOptions:
    if method not in _EIG_METHODS:
        raise ValueError(f"eig_method must be one of {_EIG_METHODS}, got {method!r}")
    tol = positive(tol, "eig_tol")
    max_iter = positive_int(max_iter, "eig_max_iter")
    if (alpha is not None or precond is not None) and method != "power":
        raise ValueError("alpha / precond (Alg. 1b) need eig_method='power'")
    if precond is not None and not callable(precond):
        raise ValueError(f"precond must be a callable r -> P(r), got {type(precond).__name__}")
    return _EigOptions(method, tol, max_iter, alpha, precond)


def _eig_solve(matvec, v, o: _EigOptions):
    from srtheory.spectral import lanczos, power_iteration, spectral_radius

    if o.method == "power":
        return power_iteration(matvec, v, tol=o.tol, max_iter=o.max_iter, alpha=o.alpha, precond=o.precond)
    if o.method == "lanczos":
        return lanczos(matvec, v, tol=o.tol, max_iter=o.max_iter, which="LM")
    return spectral_radius(matvec, v, method="lanczos", tol=o.tol, max_iter=o.max_iter)


def _srr_direction(f, x, g, v, v0, mu_k, K, eig_opts, derivative_method, eps, code_faithful,
                   reset_on_failure, counts):
    """Alg. 2 steps 2.2-2.4: eigen-solve warm-started at v, hinge, p = g + mu 1[rho > K] grad rho.

    Returns (p, eig, v_next).  A non-converged solve skips the regularizer (counts['fail'] += 1).
    """
    from srtheory.curvature import hvp_operator
    from srtheory.eigengrad import spectral_radius_grad

    eig = _eig_solve(hvp_operator(f, x, method=derivative_method, eps=eps), v, eig_opts)
    counts["hvp"] += eig.n_matvecs
    if not eig.converged:
        counts["fail"] += 1
        return g, eig, (v0.copy() if reset_on_failure else eig.eigvec.copy())
    p = g
    if mu_k > 0.0 and eig.rho > K:
        p = g + mu_k * spectral_radius_grad(f, x, eig, method=derivative_method, eps=eps,
                                            code_faithful=code_faithful)
        counts["third"] += 1
    return p, eig, eig.eigvec.copy()


def _sam_direction(vg, x, g, radius):
    """SAM (Foret et al.): grad f at x + r g/||g|| (srtheory.baselines.sam_direction, the ascent
    step to the edge of the L2 ball of radius r; g = 0 gives grad f(x))."""
    from srtheory.baselines import sam_direction

    return sam_direction(lambda y: _value_grad(vg, y)[1], x, radius=radius, grad=g)


def _value_grad(vg, x):
    fx, g = vg(x)
    return float(fx), np.asarray(g, dtype=np.float64)


def _final_rho(matvec, n) -> float:
    from srtheory.spectral import spectral_radius

    return float(spectral_radius(matvec, generic_start(n), method="lanczos", tol=1e-10).rho)


def _start(v0, n) -> np.ndarray:
    if v0 is None:
        return np.full(n, 1.0 / np.sqrt(n))  # Alg. 1 inputs: v0 = 1/sqrt(n), deterministic
    v = as_vector(v0, "v0", n=n, nonzero=True)
    return v / np.linalg.norm(v)


def _is_chattering(flips, n_reg, chatter_min) -> bool:
    return len(flips) >= chatter_min and len(flips) >= 0.1 * max(n_reg, 1)


def _progress(msg: str, *, end: bool = False) -> None:
    sys.stderr.write("\r" + msg[:120].ljust(80) + ("\n" if end else ""))
    sys.stderr.flush()
