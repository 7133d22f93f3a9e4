"""One SRR step, for both backends: Algorithm 2 steps 2.2-2.4 of SRR_NOTES §6, and how its
failures are reported.

Given the eigen-solve of ``H(x)`` (warm-started from the previous eigenvector, Algorithm 1 or one
of the solvers of :class:`~srtheory.spectral.EigConfig`), the gradient ``g = grad f(x)`` and a way
to get the third-order term ``grad^3 f[v, v, .]``, an SRR step

1. **decides** (:func:`decide`): skip the penalty when the solve did not converge
   (``skip_nonconverged``, the code's ``ignore_bad_vals``); else penalize when ``mu > 0`` and
   ``rho > K`` (the hinge of §4), with the sign ``sign(lambda)`` of Lemma A (§5.1), or ``+1`` when
   ``code_faithful`` (the authors' code, §5.4);
2. forms the **direction** (:func:`penalized_direction`)
   ``p = g + mu 1[rho > K] sign(lambda) grad^3 f[v, v, .]``, asking for the third-order term only
   when it is used;
3. picks the **next warm start**: ``v0`` after a failed solve when ``reset_on_failure`` (Algorithm 1
   step 4), else the returned eigenvector (or what the caller's ``keep`` gives).

:func:`srr_step` does all three; it works on NumPy arrays and on torch tensors (the torch
direction is one fused ``torch.add(g, third, alpha=mu*s)``).  :func:`srtheory.algorithms.minimize`,
:func:`srtheory.training.srr_train`, :func:`srtheory.regularizer.regularized_grad` (steps 1-2) and
:class:`srtheory.torch.SRR` all run it.  :class:`SRRConfig` holds its options, with the same
names and defaults on both backends.

Two failure modes are reported, never hidden:

* **chattering** at a repeated top eigenvalue (rho not differentiable, §5.1): every step whose
  eigenvector turned by more than ``arccos(chatter_cos)`` against the previous one is counted
  (``n_eigvec_flips``, ``flip_steps``); when there are ``chatter_min`` or more and they are at
  least 10 % of the regularized steps, ``chattering`` is set and a :class:`ChatteringWarning`
  is issued (options: :class:`Monitor`);
* a non-finite loss or direction raises :class:`NonFiniteLossError` carrying ``last_good``, the
  :class:`Checkpoint` (weights, optimizer state, warm start, position) before the bad step.

:func:`~srtheory.algorithms.minimize` also reports a run that diverges without overflowing
(``success=False``, ``message`` ``"diverged: ..."``, :class:`DivergenceWarning`) and warns
(:class:`NoPenaltyWarning`) when ``method="srr"`` is given ``mu = 0``.

The underscored helpers are internal to the package (used by both NumPy entry points).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from srtheory._validation import as_vector, positive, positive_int
from srtheory.spectral.config import EigConfig

__all__ = [
    "DERIVATIVES", "ChatteringWarning", "Checkpoint", "DivergenceWarning", "Monitor",
    "NoPenaltyWarning", "NonFiniteLossError", "SRRConfig",
    "SRRDecision", "SRRStep", "decide", "penalized_direction", "srr_step",
]

#: how the Hessian-vector products and the third-order term are computed (SRR_NOTES §5.2, §5.4)
DERIVATIVES = ("exact", "fd")


def _flag(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")  # noqa: TRY004
    return bool(value)


@dataclass(frozen=True)
class SRRConfig:
    """The options of an SRR step (Algorithm 2 steps 2.2-2.4 of SRR_NOTES §6), one value shared
    by :func:`~srtheory.algorithms.minimize`, :func:`~srtheory.training.srr_train` and
    :class:`srtheory.torch.SRR`.

    Fields:
      mu: penalty weight ``>= 0`` of ``h = f + mu max(0, rho - K)`` (§4), or a schedule
        ``mu(k)`` (``k`` = the epoch for ``srr_train``, the iteration for ``minimize``, the SRR
        step for the torch optimizer).  Default ``0.01``.
      K: the hinge's bound ``>= 0`` (default 0).
      eig: the eigen-solve of step 2.2, an :class:`~srtheory.spectral.EigConfig` (default the
        paper's: power iteration, ``tol=1e-3``, 100 iterations, the paper's stopping tests).
      derivative: ``"exact"`` (autodiff: double back-propagation, §5.2; default) or ``"fd"``
        (finite differences of gradients, §5.4) for ``H v`` and ``grad^3 f[v, v, .]``.  ``"fd"``
        needs a loss that is C² along the step (C³ for the third-order term): the torch
        optimizer refuses it on graphs with ReLU, max-pooling and other kinks.  The torch
        optimizer's ``"fd"`` works with the standard closure that calls ``backward()`` and costs
        3 gradients per power step; its ``"exact"`` needs a closure that returns the loss with
        its graph.
      eps: finite-difference step (``derivative="fd"``); ``None``: :func:`default_fd_step`'s rule.
      code_faithful: drop ``sign(lambda)`` as the authors' code does (wrong for a negative
        dominant eigenvalue, §5.4).
      skip_nonconverged: drop the penalty on a step whose solve did not converge (the code's
        ``ignore_bad_vals``; default).  ``False`` uses the unconverged estimate.
      reset_on_failure: after a skipped step restart the next solve from ``v0`` (Algorithm 1
        step 4; default), else from the returned vector.

    Every field is checked when the value is made (``ValueError`` naming the field).
    """

    mu: Any = 0.01
    K: float = 0.0
    eig: EigConfig = field(default_factory=EigConfig)
    derivative: str = "exact"
    eps: float | None = None
    code_faithful: bool = False
    skip_nonconverged: bool = True
    reset_on_failure: bool = True

    def __post_init__(self):
        if not callable(self.mu):
            object.__setattr__(self, "mu", positive(self.mu, "SRRConfig.mu", allow_zero=True))
        object.__setattr__(self, "K", positive(self.K, "SRRConfig.K", allow_zero=True))
        if not isinstance(self.eig, EigConfig):
            raise ValueError(f"SRRConfig.eig must be an EigConfig, got {type(self.eig).__name__}")  # noqa: TRY004
        if self.derivative not in DERIVATIVES:
            raise ValueError(
                f"SRRConfig.derivative must be one of {DERIVATIVES}, got {self.derivative!r}"
            )
        if self.eps is not None:
            object.__setattr__(self, "eps", positive(self.eps, "SRRConfig.eps"))
        for name in ("code_faithful", "skip_nonconverged", "reset_on_failure"):
            object.__setattr__(self, name, _flag(getattr(self, name), f"SRRConfig.{name}"))

    def mu_at(self, k: int) -> float:
        """``mu`` at step/epoch ``k`` (a number, or the schedule's value, checked ``>= 0``)."""
        if callable(self.mu):
            return positive(self.mu(k), f"mu({k})", allow_zero=True)
        return self.mu


@dataclass(frozen=True)
class Monitor:
    """What a NumPy run reports besides its result: chattering detection (module docstring;
    ``chatter_cos`` in ``(0, 1]``, ``chatter_min >= 1``), ``warn``: issue the warnings
    (:class:`ChatteringWarning`; for :func:`~srtheory.algorithms.minimize` also
    :class:`DivergenceWarning` and :class:`NoPenaltyWarning` -- the result's fields are set either
    way), and a one-line ``progress`` display on stderr."""

    chatter_cos: float = 0.5
    chatter_min: int = 3
    warn: bool = True
    progress: bool = False

    def __post_init__(self):
        c = positive(self.chatter_cos, "Monitor.chatter_cos")
        if c > 1.0:
            raise ValueError(f"Monitor.chatter_cos must be in (0, 1], got {self.chatter_cos!r}")
        object.__setattr__(self, "chatter_cos", c)
        object.__setattr__(self, "chatter_min", positive_int(self.chatter_min, "Monitor.chatter_min"))
        object.__setattr__(self, "warn", _flag(self.warn, "Monitor.warn"))
        object.__setattr__(self, "progress", _flag(self.progress, "Monitor.progress"))


class SRRDecision(NamedTuple):
    """What an SRR step does with its eigen-solve (Algorithm 2 steps 2.2-2.3, Algorithm 1 step 4)."""

    failed: bool     # the solve ran and did not converge
    skipped: bool    # failed and skip_nonconverged: the penalty is dropped
    penalized: bool  # not skipped, mu > 0 and rho > K: the third-order term is used
    sign: float      # sign(lambda) (+1 when code_faithful): the factor of grad^3 f[v, v, .]
    reset: bool      # skipped and reset_on_failure: the next solve starts from v0


class SRRStep(NamedTuple):
    """Result of :func:`srr_step`."""

    direction: Any     # p = g + mu 1[rho > K] sign(lambda) grad^3 f[v, v, .]  (g itself if not penalized)
    eig: Any           # the eigen-solve the step used
    decision: SRRDecision
    next_start: Any    # the warm start of the next solve (a fresh array/tensor)


def decide(rho, eigval, /, *, mu: float, config: SRRConfig, failed: bool = False) -> SRRDecision:
    """Steps 2.2-2.3 of Algorithm 2 (SRR_NOTES §6) and step 4 of Algorithm 1: skip, penalize, sign.

    ``failed``: the eigen-solve ran and did not converge (a reused eigenvector, e.g. the torch
    optimizer between refreshes, has not failed).  ``mu`` is the resolved weight of this step.
    The sign is ``sign(lambda)`` of Lemma A (§5.1), ``+1`` for ``lambda >= 0`` or ``code_faithful``;
    ``eigval`` is read only when the step is penalized.
    """
    failed = bool(failed)
    skipped = failed and config.skip_nonconverged
    penalized = (not skipped) and mu > 0.0 and rho > config.K
    sign = 1.0
    if penalized and not config.code_faithful and eigval is not None and float(eigval) < 0:
        sign = -1.0
    return SRRDecision(failed, skipped, penalized, sign, skipped and config.reset_on_failure)


def penalized_direction(grad, third, /, *, mu: float, decision: SRRDecision, out=None,
                        third_scale: float = 1.0):
    """``p = grad + mu 1[penalized] sign(lambda) grad^3 f[v, v, .]`` -- SRR_NOTES §4 with Lemma A.

    ``third()`` returns ``grad^3 f[v, v, .] = grad lambda`` (unsigned); it is called only when the
    step is penalized (else ``grad`` itself is returned).  NumPy: a new array
    ``grad + (mu s) third``; torch: one fused ``torch.add(grad, third, alpha=mu s)``.  ``out``:
    an array/tensor to write the penalized direction into (it may be ``third()``'s own result:
    the torch optimizer reuses its workspace instead of allocating a new vector every step).
    ``third_scale``: ``third()`` returns ``grad^3 f[v, v, .] / third_scale`` (the torch fd step
    hands over ``eps^2 grad^3 f[v, v, .]`` and ``1/eps^2``, saving a pass over the vector).
    """
    if not decision.penalized:
        return grad
    t = third()
    a = mu * decision.sign * third_scale
    if isinstance(grad, np.ndarray):
        if out is None:
            return grad + a * t
        return np.add(grad, a * t, out=out)
    import torch

    if out is None:
        return torch.add(grad, t, alpha=a)
    return torch.add(grad, t, alpha=a, out=out)


def srr_step(grad, eig, third: Callable, /, *, mu: float, config: SRRConfig, restart: Callable,
             keep: Callable | None = None, failed: bool | None = None, out=None,
             third_scale: float = 1.0) -> SRRStep:
    """One SRR step from an eigen-solve: Algorithm 2 steps 2.2-2.4 of SRR_NOTES §6.

    Args:
        grad: ``grad f(x)`` (NumPy array or torch tensor; not modified).
        eig: the eigen-solve (``rho``, ``eigval``, ``eigvec``, ``converged``).
        third: ``() -> grad^3 f(x)[v, v, .]`` for ``v = eig.eigvec``; called only if penalized.
        mu: the weight of this step (``config.mu_at(k)``).
        config: :class:`SRRConfig` (``K``, ``code_faithful``, the skip and reset policies).
        restart: ``() -> v0``, a fresh start vector (used after a failed solve with
            ``reset_on_failure``).
        keep: ``() -> the next warm start`` when the solve is kept (default: a copy of
            ``eig.eigvec``; the torch optimizer passes one more power step after an unconverged
            power solve that is used anyway).
        failed: did the solve fail (default ``not eig.converged``).
        out, third_scale: where to write a penalized direction, and the factor ``third()``'s
            result still needs (see :func:`penalized_direction`).

    Returns:
        :class:`SRRStep` ``(direction, eig, decision, next_start)``.
    """
    if failed is None:
        failed = not eig.converged
    d = decide(eig.rho, eig.eigval, mu=mu, config=config, failed=failed)
    p = penalized_direction(grad, third, mu=mu, decision=d, out=out, third_scale=third_scale)
    if d.reset:
        nxt = restart()
    elif d.skipped or keep is None:
        nxt = _copy(eig.eigvec)
    else:
        nxt = keep()
    return SRRStep(p, eig, d, nxt)


def _copy(a):
    if isinstance(a, np.ndarray):
        return a.copy()
    return a.detach().clone()


class ChatteringWarning(RuntimeWarning):
    """The top eigenvector kept flipping: rho is probably not differentiable here (repeated or
    ``+-rho``-tied top eigenvalue) and the iterates chatter instead of converging."""


class DivergenceWarning(RuntimeWarning):
    """:func:`~srtheory.algorithms.minimize` ended with the objective (``f``; ``h`` for SRR)
    rising at every one of its last iterations and above its start: the step size is too large
    for the curvature.  The result then has ``success=False`` and a message starting
    ``"diverged:"``."""


class NoPenaltyWarning(UserWarning):
    """``method="srr"`` with ``mu = 0``: every step pays for an eigen-solve and the penalty is
    never applied -- the run is plain GD.  Legal (a control run), but usually a mistake."""


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


# ================================================================== private helpers (NumPy)

def _solve_and_step(f, x, g, v, v0, *, mu: float, config: SRRConfig) -> SRRStep:
    """The NumPy SRR step of both entry points: the eigen-solve of ``H(x)`` warm-started at ``v``
    (Alg. 2 step 2.2) followed by :func:`srr_step` (steps 2.3-2.4)."""
    from srtheory.curvature import hvp_operator
    from srtheory.eigengrad import eigenvalue_grad
    from srtheory.spectral import eig_solve

    eig = eig_solve(hvp_operator(f, x, method=config.derivative, eps=config.eps), v, config.eig)
    return srr_step(
        g, eig, lambda: eigenvalue_grad(f, x, eig, method=config.derivative, eps=config.eps),
        mu=mu, config=config, restart=v0.copy,
    )


@dataclass
class _Tally:
    """The counts of a NumPy run's SRR steps and the chattering detector (module docstring):
    private, mutable, one per run of ``minimize`` / ``srr_train``."""

    chatter_cos: float
    n_hvp: int = 0
    n_fail: int = 0      # solves that did not converge
    n_third: int = 0     # penalized steps (third-order terms computed)
    n_skipped: int = 0
    n_reg: int = 0       # penalized steps on a converged solve (the flip count's denominator)
    flips: list = field(default_factory=list)
    v_prev: Any = None   # the last converged eigenvector

    def record(self, step: SRRStep, index: int) -> None:
        eig, d = step.eig, step.decision
        self.n_hvp += eig.n_matvecs
        self.n_fail += d.failed
        self.n_third += d.penalized
        self.n_skipped += d.skipped
        if d.penalized and eig.converged:
            self.n_reg += 1
            if self.v_prev is not None and abs(float(np.dot(step.next_start, self.v_prev))) < self.chatter_cos:
                self.flips.append(index)
        self.v_prev = step.next_start if eig.converged else None

    def chattering(self, chatter_min: int) -> bool:
        return len(self.flips) >= chatter_min and len(self.flips) >= 0.1 * max(self.n_reg, 1)


def _check_config(value, cls, name: str):
    if not isinstance(value, cls):
        raise ValueError(f"{name} must be a {cls.__name__}, got {type(value).__name__}")  # noqa: TRY004
    return value


def _value_grad(vg, x):
    fx, g = vg(x)
    return float(fx), np.asarray(g, dtype=np.float64)


def _start(v0, n) -> np.ndarray:
    """The first eigen-solve's start and the reset vector of Algorithm 1 step 4: ``None`` is the
    generic deterministic vector of :func:`srtheory.spectral.generic_start`; ``"paper"`` the
    paper's ``1/sqrt(n)`` (Alg. 1 inputs), which on a translation-invariant loss lies in the
    Hessian's null space; or a given nonzero vector."""
    from srtheory.spectral import generic_start

    if v0 is None:
        return generic_start(n)
    if isinstance(v0, str):
        if v0 != "paper":
            raise ValueError(f"v0 must be None, 'paper' or a vector, got {v0!r}")
        return np.full(n, 1.0 / np.sqrt(n))  # Alg. 1 inputs: v0 = 1/sqrt(n), deterministic
    v = as_vector(v0, "v0", n=n, nonzero=True)
    return v / np.linalg.norm(v)


def _progress(msg: str, *, end: bool = False) -> None:
    sys.stderr.write("\r" + msg[:120].ljust(80) + ("\n" if end else ""))
    sys.stderr.flush()
