"""The paper's training algorithm: Algorithm 2 of SRR_NOTES §6 on a minibatch objective.

:func:`srr_train` runs it on a :class:`~srtheory.objectives.StochasticObjective`: per batch a
warm-started eigen-solve (power iteration, Lanczos, or the preconditioned update of Alg. 1b through
``precond``), the hinge at ``K``, a step of a base optimizer (:mod:`srtheory.optimizers`); the
paper's policy for a non-converged eigen-solve (skip the regularizer for that batch, reset the warm
start) with the count reported; per-epoch learning-rate schedules; end-of-epoch ``h``;
best-validation selection; the optional coefficient-of-variation stopping rule.  Deterministic
given ``rng`` (bit for bit).  The regularized step and its failure reporting (chattering,
:class:`~srtheory.srr_step.NonFiniteLossError`) live in :mod:`srtheory.srr_step`.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from autograd import value_and_grad

from srtheory._validation import as_vector, positive, positive_int
from srtheory.regularizer import batch_function, penalty, resolve_mu
from srtheory.srr_step import (
    ChatteringWarning,
    Checkpoint,
    NonFiniteLossError,
    _eig_options,
    _eig_solve,
    _is_chattering,
    _progress,
    _srr_direction,
    _start,
    _value_grad,
)

__all__ = ["EpochHistory", "TrainResult", "srr_train"]


class EpochHistory(NamedTuple):
    """Per-epoch record of :func:`srr_train` (Alg. 2 step 3)."""

    f: np.ndarray               # batch-size-weighted mean of f_B over the training set
    rho: np.ndarray             # rho on the epoch's report batch r_b (or the |B|-weighted mean)
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


def srr_train(objective, x0=None, /, *, rng: np.random.Generator, mu, K=0.0, optimizer=None,
              lr=0.1, epochs: int = 10, batch_size: int = 32, eig_method: str = "power",
              eig_tol: float = 1e-3, eig_max_iter: int = 100, alpha=None, precond=None,
              precond_factory: Callable | None = None, precond_every: int = 1,
              derivative_method: str = "exact", eps: float | None = None,
              code_faithful: bool = False, reset_on_failure: bool = True,
              validation: Callable | None = None, val_mode: str = "min",
              cv_eps: float | None = None, cv_window: int = 10, min_epochs: int = 10,
              chatter_cos: float = 0.5, chatter_min: int = 3, warn: bool = True,
              v0=None, progress: bool = False, rho_report: str = "batch") -> TrainResult:
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
    3. end of epoch: ``f = sum_B |B| f_B(x) / N``, ``rho`` recomputed on batch ``r_b``
       (``rho_report="batch"``, the paper's default) or, with ``rho_report="mean"`` (the authors'
       ``rho_test`` option), ``rho = sum_B |B| rho_B(x) / N`` over every batch of the epoch, each
       solve warm-started from the current ``v`` (``rho_converged``: all of them converged; ``r_b``
       is drawn either way, so the two settings train identically);
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
    if rho_report not in ("batch", "mean"):
        raise ValueError(f"rho_report must be 'batch' (rho on one random batch, the paper's "
                         f"default) or 'mean' (batch-size-weighted mean over the epoch's batches), "
                         f"got {rho_report!r}")
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
        rho_end, rho_ok = 0.0, True
        for batch in (batches if rho_report == "mean" else [batches[r_b]]):
            fb = batch_function(objective.loss, batch)
            eig_end = _eig_solve(hvp_operator(fb, x, method=derivative_method, eps=eps), v, eig_opts)
            counts["hvp"] += eig_end.n_matvecs
            weight = len(batch) / objective.n_samples if rho_report == "mean" else 1.0
            rho_end += weight * eig_end.rho
            rho_ok = rho_ok and eig_end.converged
        hist["f"].append(f_epoch)
        hist["rho"].append(rho_end)
        hist["rho_converged"].append(rho_ok)
        hist["h"].append(f_epoch + mu_k * penalty(rho_end, K=K))
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
            _progress(f"[srr_train] epoch {epoch + 1}/{epochs} f={f_epoch:.5g} rho={rho_end:.4g} "
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

