"""The paper's training algorithm: Algorithm 2 of SRR_NOTES §6 on a minibatch objective.

:func:`srr_train` runs it on a :class:`~srtheory.objectives.StochasticObjective`: per batch a
warm-started eigen-solve (power iteration, Lanczos, or the preconditioned update of Alg. 1b,
:class:`~srtheory.spectral.EigConfig`), the SRR step of :mod:`srtheory.srr_step` (the paper's
policy for a non-converged eigen-solve -- skip the regularizer for that batch, reset the warm
start -- with the count reported; the hinge at ``K``; the direction), a step of a base optimizer
(:mod:`srtheory.optimizers`); per-epoch learning-rate schedules; at the end of each epoch
(:class:`EpochEnd`) ``h``, best-validation selection and the optional coefficient-of-variation
stopping rule.  Deterministic given ``rng`` (bit for bit).  The step's options
(:class:`~srtheory.srr_step.SRRConfig`) and its failure reporting (chattering,
:class:`~srtheory.srr_step.NonFiniteLossError`) live in :mod:`srtheory.srr_step`.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np
from autograd import value_and_grad

from srtheory._validation import as_vector, positive, positive_int
from srtheory.regularizer import batch_function, penalty
from srtheory.srr_step import (
    ChatteringWarning,
    Checkpoint,
    Monitor,
    NonFiniteLossError,
    SRRConfig,
    _check_config,
    _progress,
    _solve_and_step,
    _start,
    _Tally,
    _value_grad,
)

__all__ = ["EpochEnd", "EpochHistory", "PrecondRefresh", "Sampling", "TrainResult", "srr_train"]


class EpochHistory(NamedTuple):
    """Per-epoch record of :func:`srr_train` (Alg. 2 step 3)."""

    f: np.ndarray               # batch-size-weighted mean of f_B over the epoch's batches (reshuffled: the training set)
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


@dataclass(frozen=True)
class EpochEnd:
    """What :func:`srr_train` does at the end of an epoch: Algorithm 2 steps 3-4 of SRR_NOTES §6.

    Fields:
      rho_report: ``"batch"`` -- ``rho`` on the epoch's random report batch ``r_b`` (the paper's
        default) -- or ``"mean"`` -- ``sum_B |B| rho_B(x) / N`` over the epoch's batches (the
        authors' ``rho_test`` option).  Reporting only: both settings train identically.
      validation: ``validation(x) -> float`` scored each epoch for best-validation selection
        (``None``: the last weights are the best).
      val_mode: ``"min"`` (a loss) or ``"max"`` (an accuracy).
      cv_eps: stop when the coefficient of variation of the last ``cv_window`` values of ``h`` is
        ``<= cv_eps``, not before ``min_epochs`` epochs (``None``: off, the paper's default).
      cv_window: ``>= 2``.  min_epochs: ``>= 0``.
    """

    rho_report: str = "batch"
    validation: Callable | None = None
    val_mode: str = "min"
    cv_eps: float | None = None
    cv_window: int = 10
    min_epochs: int = 10

    def __post_init__(self):
        if self.rho_report not in ("batch", "mean"):
            raise ValueError(f"EpochEnd.rho_report must be 'batch' (rho on one random batch, the "
                             f"paper's default) or 'mean' (batch-size-weighted mean over the "
                             f"epoch's batches), got {self.rho_report!r}")
        if self.validation is not None and not callable(self.validation):
            raise ValueError("EpochEnd.validation must be a callable x -> score or None, got "
                             f"{type(self.validation).__name__}")
        if self.val_mode not in ("min", "max"):
            raise ValueError(f"EpochEnd.val_mode must be 'min' or 'max', got {self.val_mode!r}")
        if self.cv_eps is not None:
            object.__setattr__(self, "cv_eps", positive(self.cv_eps, "EpochEnd.cv_eps", allow_zero=True))
            object.__setattr__(self, "cv_window",
                               positive_int(self.cv_window, "EpochEnd.cv_window", minimum=2))
        object.__setattr__(self, "min_epochs",
                           positive_int(self.min_epochs, "EpochEnd.min_epochs", minimum=0))


@dataclass(frozen=True)
class PrecondRefresh:
    """Algorithm 1b's preconditioner rebuilt during training: ``factory(x, batch) -> P`` (e.g.
    K-FAC from the current batch) every ``every`` batches; it replaces ``srr.eig.precond``
    (which needs ``srr.eig.method == "power"``)."""

    factory: Callable
    every: int = 1

    def __post_init__(self):
        if not callable(self.factory):
            raise ValueError("PrecondRefresh.factory must be a callable (x, batch) -> P, got "  # noqa: TRY004
                             f"{type(self.factory).__name__}")
        object.__setattr__(self, "every", positive_int(self.every, "PrecondRefresh.every"))


@dataclass(frozen=True)
class Sampling:
    """How :func:`srr_train` draws its batches (give it as ``batch_size=``; an integer ``b`` is
    ``Sampling(b)``).

    Fields:
      size: batch size ``>= 1``.
      draw: ``"reshuffle"`` -- each epoch a permutation cut into batches,
        ``objective.batches(rng, size)`` (the paper's; default) -- or ``"iid"`` -- every step
        draws ``size`` indices uniformly *with replacement* from the ``n_samples`` samples
        (``rng.integers``), so the batches are i.i.d. and independent of the past (the sampling
        of the stochastic-approximation theorems, proofs/C08 and C09).
      per_epoch: ``"iid"`` only: steps per epoch (default ``ceil(n_samples / size)``); the
        epoch is the unit of the learning-rate and ``mu`` schedules and of the end-of-epoch report.
    """

    size: int = 32
    draw: str = "reshuffle"
    per_epoch: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "size", positive_int(self.size, "Sampling.size"))
        if self.draw not in ("reshuffle", "iid"):
            raise ValueError(f"Sampling.draw must be 'reshuffle' (epoch permutations) or 'iid' "
                             f"(uniform with replacement), got {self.draw!r}")
        if self.per_epoch is not None:
            if self.draw != "iid":
                raise ValueError("Sampling.per_epoch needs draw='iid' (a reshuffled epoch is "
                                 f"one pass over the data), got draw={self.draw!r}")
            object.__setattr__(self, "per_epoch", positive_int(self.per_epoch, "Sampling.per_epoch"))

    def epoch_batches(self, objective, rng: np.random.Generator) -> list:
        """One epoch's index batches."""
        if self.draw == "reshuffle":
            return list(objective.batches(rng, self.size))
        n = int(objective.n_samples)
        steps = self.per_epoch if self.per_epoch is not None else -(-n // self.size)
        return [rng.integers(n, size=self.size) for _ in range(steps)]


def srr_train(objective, x0=None, /, *, rng: np.random.Generator,
              srr: SRRConfig = SRRConfig(),  # noqa: B008 (frozen: an immutable default)
              optimizer=None, lr=None, epochs: int = 10, batch_size: int | Sampling = 32,
              precond_refresh: PrecondRefresh | None = None, epoch_end: EpochEnd = EpochEnd(),
              monitor: Monitor = Monitor(), v0=None) -> TrainResult:  # noqa: B008
    """Spectral-radius-regularized stochastic training: Algorithm 2 of SRR_NOTES §6.

    For epoch ``k = 0, 1, ...`` (``mu_k = srr.mu_at(k)``):

    1. draw the epoch's batches ``objective.batches(rng, batch_size)`` (or, with
       ``batch_size=Sampling(b, draw="iid")``, i.i.d. batches drawn with replacement) and a report
       batch index ``r_b`` (``rng.integers``);
    2. for each batch ``B``: ``g = grad f_B(x)``; ``(rho_B, v)`` = eigen-solve ``srr.eig`` of
       ``H_B(x)`` warm-started from the previous ``v`` (``v_0`` = the generic start, or ``v0``; ``method="power"`` is
       Algorithm 1, with ``alpha``/``precond`` the Alg. 1b update ``v <- normalize(v + alpha P(r))``;
       ``precond_refresh`` rebuilds ``P`` from ``(x, batch)`` every few batches, e.g. K-FAC); then
       the SRR step :func:`srtheory.srr_step.srr_step`: if the solve did not converge the
       regularizer is skipped for this batch (counted, ``v`` reset to ``v_0``, step 4 of Alg. 1);
       otherwise ``p = g + mu_k 1[rho_B > K] grad rho_B``; ``x, s = optimizer.update(p, s, x, k)``
       (the schedule reads the **epoch** ``k``);
    3. end of epoch (:class:`EpochEnd`): ``f = sum_B |B| f_B(x) / N``, ``rho`` recomputed on batch
       ``r_b`` (or the ``|B|``-weighted mean over the epoch's batches, each solve warm-started from
       the current ``v``; ``rho_converged``: all of them converged; ``r_b`` is drawn either way);
       ``h = f + mu_k max(0, rho - K)``; validation score, best-validation weights;
    4. stop early (after ``min_epochs``) when the coefficient of variation of the last
       ``cv_window`` values of ``h`` is ``<= cv_eps`` (off by default, as in the paper).

    With ``srr.eig.tol`` a schedule ``k -> tau_k`` the solve of step ``k`` (counted over the run,
    from 0) uses ``tau_k``, and the end-of-epoch solves use the next step's ``tau``.

    With ``mu = 0`` no eigen-solve is run in step 2 (plain base-optimizer training).

    Args:
        objective: has ``loss(x, batch)``, ``n_samples``, ``batches(rng, batch_size)``
            (a :class:`~srtheory.objectives.StochasticObjective`).
        x0: start (default ``objective.x0``); not modified.  Its length must be the model's
            (``objective.dim``, else the length of ``objective.x0``).
        rng: the only source of randomness.
        srr: the SRR step's options, :class:`~srtheory.srr_step.SRRConfig` (``mu``, ``K``,
            ``eig``, ``derivative``, ``eps``, ``code_faithful``, skip and reset policies).
        optimizer: an :class:`~srtheory.optimizers.Optimizer` (default ``sgd(lr)``).
        lr: the rate or per-epoch schedule of the default ``sgd`` (default ``0.1``; a schedule is
            checked at every epoch); not together with ``optimizer`` (``ValueError``).
        epochs: ``>= 1``.
        batch_size: ``>= 1``, or a :class:`Sampling` (size and how batches are drawn).
        precond_refresh: :class:`PrecondRefresh` or ``None``.
        epoch_end: :class:`EpochEnd` (report, validation, early stopping).
        monitor: :class:`~srtheory.srr_step.Monitor` (chattering detection, progress).
        v0: eigenvector start and reset value: ``None`` (default) the deterministic
            :func:`srtheory.spectral.generic_start`; ``"paper"`` the paper's ``1/sqrt(n)``; or a
            vector.

    Returns:
        :class:`TrainResult`.

    Raises:
        ValueError: bad options (before any state changes); a learning-rate or ``mu`` schedule
            that turns negative or non-finite, at that epoch (before its first step); an
            eigen-tolerance schedule that is not finite ``> 0``, at that step.
        NotTraceableError: ``objective.loss`` is not written with ``autograd.numpy``.
        NonFiniteLossError: a NaN/inf loss or direction mid-run (``.last_good`` attached).
    """
    from srtheory.curvature import traceable
    from srtheory.optimizers import sgd

    for attr in ("loss", "n_samples", "batches"):
        if not hasattr(objective, attr):
            raise ValueError(f"objective must provide loss(x, batch), n_samples and batches(rng, "
                             f"batch_size); {type(objective).__name__} has no {attr!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")  # noqa: TRY004 (contract: bad input -> ValueError)
    srr = _check_config(srr, SRRConfig, "srr")
    end = _check_config(epoch_end, EpochEnd, "epoch_end")
    monitor = _check_config(monitor, Monitor, "monitor")
    if precond_refresh is not None:
        _check_config(precond_refresh, PrecondRefresh, "precond_refresh")
        if srr.eig.method != "power":
            raise ValueError("precond_refresh (Alg. 1b) needs srr.eig.method='power', got "
                             f"{srr.eig.method!r}")
    x = as_vector(objective.x0 if x0 is None else x0, "x0")
    n_model = _model_size(objective, x0)
    if n_model is not None and x.size != n_model:
        raise ValueError(f"x0 must have length {n_model} (the model's number of parameters, "
                         f"objective.{'dim' if getattr(objective, 'dim', None) == n_model else 'x0'}"
                         f"), got length {x.size}")
    n = x.size
    K = srr.K
    srr.mu_at(0)
    epochs = positive_int(epochs, "epochs")
    sampling = batch_size if isinstance(batch_size, Sampling) else Sampling(
        positive_int(batch_size, "batch_size"))
    if optimizer is not None and lr is not None:
        raise ValueError(f"lr={lr!r} sets the rate of the default sgd optimizer; with optimizer= "
                         "it would be ignored -- give the rate to the optimizer, e.g. "
                         "optimizer=sgd(inverse_time(0.5)), and drop lr=")
    opt = optimizer if optimizer is not None else sgd(0.1 if lr is None else lr)
    state = opt.init(x)
    v0 = _start(v0, n)
    v = v0.copy()
    last_good = Checkpoint(x.copy(), state, v.copy(), 0, 0, 0)
    n_grad = n_hvp_end = 0
    tally = _Tally(monitor.chatter_cos)
    hist = {key: [] for key in ("f", "rho", "rho_converged", "h", "mu", "val", "n_skipped")}
    best_x, best_epoch, best_score = x.copy(), -1, None
    stopped_by = "epochs"
    step_no = 0
    t0 = time.perf_counter()
    epoch = 0
    for epoch in range(epochs):
        mu_k = srr.mu_at(epoch)
        batches = sampling.epoch_batches(objective, rng)
        r_b = int(rng.integers(len(batches)))
        skipped_epoch = 0
        for j, batch in enumerate(batches):
            fb = batch_function(objective.loss, batch)
            vg = value_and_grad(traceable(fb, "objective.loss"))
            fx, g = _value_grad(vg, x)
            n_grad += 1
            if not (np.isfinite(fx) and np.all(np.isfinite(g))):
                raise NonFiniteLossError(
                    f"the minibatch loss is not finite (f_B = {fx!r}) at epoch {epoch}, batch {j}; "
                    "the last state with a finite loss is attached as .last_good", last_good)
            last_good = Checkpoint(x.copy(), state, v.copy(), epoch, j, step_no)
            if mu_k > 0.0:
                if precond_refresh is not None and step_no % precond_refresh.every == 0:
                    P = precond_refresh.factory(x.copy(), batch)
                    srr = replace(srr, eig=replace(srr.eig, precond=P))
                step_cfg = srr if not callable(srr.eig.tol) else replace(srr, eig=srr.eig.at(step_no))
                step = _solve_and_step(fb, x, g, v, v0, mu=mu_k, config=step_cfg)
                tally.record(step, step_no)
                skipped_epoch += step.decision.skipped
                p, v = step.direction, step.next_start
            else:
                p = g
            if not np.all(np.isfinite(p)):
                raise NonFiniteLossError(f"the update direction is not finite at epoch {epoch}, "
                                         f"batch {j}", last_good)
            x, state = opt.update(p, state, x, epoch)
            step_no += 1
            if monitor.progress:
                _progress(f"[srr_train] epoch {epoch + 1}/{epochs} batch {j + 1}/{len(batches)} "
                          f"f_B={fx:.5g}")
        # ---- end of epoch (Alg. 2 step 3)
        f_epoch = 0.0
        for batch in batches:
            f_epoch += len(batch) * float(objective.loss(x, batch))
        n_seen = objective.n_samples if sampling.draw == "reshuffle" else sum(len(b) for b in batches)
        f_epoch /= n_seen
        if not np.isfinite(f_epoch):
            raise NonFiniteLossError(f"the training loss is not finite at the end of epoch {epoch}",
                                     Checkpoint(x.copy(), state, v.copy(), epoch, len(batches), step_no))
        end_cfg = srr if not callable(srr.eig.tol) else replace(srr, eig=srr.eig.at(step_no))
        rho_end, rho_ok, n_mv = _report_rho(objective, x, v, batches, r_b, end_cfg, end.rho_report,
                                            n_seen)
        n_hvp_end += n_mv
        hist["f"].append(f_epoch)
        hist["rho"].append(rho_end)
        hist["rho_converged"].append(rho_ok)
        hist["h"].append(f_epoch + mu_k * penalty(rho_end, K=K))
        hist["mu"].append(mu_k)
        hist["n_skipped"].append(skipped_epoch)
        if end.validation is not None:
            score = float(end.validation(x.copy()))
            hist["val"].append(score)
            better = best_score is None or (score < best_score if end.val_mode == "min" else score > best_score)
            if better and np.isfinite(score):
                best_x, best_epoch, best_score = x.copy(), epoch, score
        else:
            best_x, best_epoch = x.copy(), epoch
        if monitor.progress:
            _progress(f"[srr_train] epoch {epoch + 1}/{epochs} f={f_epoch:.5g} rho={rho_end:.4g} "
                      f"h={hist['h'][-1]:.5g}", end=True)
        if end.cv_eps is not None and epoch + 1 >= max(end.min_epochs, end.cv_window):
            last = np.array(hist["h"][-end.cv_window:])
            mean_h = float(np.mean(last))
            if mean_h != 0.0 and float(np.std(last)) / abs(mean_h) <= end.cv_eps:
                stopped_by = "cv"
                break
    chattering = tally.chattering(monitor.chatter_min)
    if chattering and monitor.warn:
        warnings.warn(f"srr_train: the top eigenvector flipped at {len(tally.flips)} of {tally.n_reg} regularized "
                      "steps -- rho is probably not differentiable there (repeated top eigenvalue)",
                      ChatteringWarning, stacklevel=2)
    eh = EpochHistory(
        f=np.array(hist["f"]), rho=np.array(hist["rho"]),
        rho_converged=np.array(hist["rho_converged"], dtype=bool), h=np.array(hist["h"]),
        mu=np.array(hist["mu"]), val=np.array(hist["val"]) if end.validation is not None else None,
        n_skipped=np.array(hist["n_skipped"], dtype=int),
    )
    return TrainResult(
        x=x, x_best=best_x, best_epoch=best_epoch, epochs_run=epoch + 1, stopped_by=stopped_by,
        history=eh, n_batches=step_no, n_eig_nonconverged=tally.n_fail, n_skipped=tally.n_skipped,
        n_active=tally.n_third, n_eigvec_flips=len(tally.flips), flip_steps=tuple(tally.flips),
        chattering=chattering, n_grad=n_grad, n_hvp=tally.n_hvp + n_hvp_end, n_third=tally.n_third,
        eigvec=v.copy(),
        opt_state=state, time=time.perf_counter() - t0,
    )


def _model_size(objective, x0) -> int | None:
    """The model's number of parameters: ``objective.dim``, else ``len(objective.x0)``; ``None``
    when neither is known (then any ``x0`` is taken)."""
    dim = getattr(objective, "dim", None)
    if isinstance(dim, (int, np.integer)) and not isinstance(dim, bool) and dim > 0:
        return int(dim)
    ref = getattr(objective, "x0", None)
    if x0 is not None and ref is not None:
        return int(np.size(ref))
    return None


def _report_rho(objective, x, v, batches, r_b, srr: SRRConfig, how: str, n_seen: int):
    """Algorithm 2 step 3's rho: on the report batch ``r_b``, or (``how="mean"``) the
    ``|B|``-weighted mean over the epoch's batches (weights ``|B| / n_seen``), each solve
    warm-started from ``v``.
    Returns ``(rho, all converged, matvecs)``."""
    from srtheory.curvature import hvp_operator
    from srtheory.spectral import eig_solve

    rho, ok, n_mv = 0.0, True, 0
    mean = how == "mean"
    for batch in (batches if mean else [batches[r_b]]):
        fb = batch_function(objective.loss, batch)
        eig = eig_solve(hvp_operator(fb, x, method=srr.derivative, eps=srr.eps), v, srr.eig)
        n_mv += eig.n_matvecs
        weight = len(batch) / n_seen if mean else 1.0
        rho += weight * eig.rho
        ok = ok and eig.converged
    return rho, ok, n_mv
