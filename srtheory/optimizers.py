"""Base optimizers of Algorithm 2 (SRR_NOTES §6, step 2.5) as pure ``(init, update)`` pairs.

The protocol (what :func:`srtheory.algorithms.minimize`, :func:`srtheory.algorithms.srr_train`
and the baselines rely on)::

    opt = sgd(lr, momentum=0.9)                    # an Optimizer(init, update) NamedTuple
    state = opt.init(params)                       # explicit state: a NamedTuple of arrays/ints
    new_params, new_state = opt.update(direction, state, params, step)

* ``params``: 1-D float64 array (never modified; ``update`` returns new arrays).
* ``direction``: the descent direction ``p`` (for SRR, ``grad f + mu grad g``); the optimizer
  moves *against* it.
* ``step``: the integer ``k >= 0`` read by the learning-rate schedule.  :func:`srr_train` passes
  the **epoch** (the paper steps its scheduler per epoch, §6 "Learning-rate schedules");
  :func:`minimize` passes the iteration.  Bias corrections (Adam) count updates in the state.
* ``lr``: a number or a schedule ``lr(k) -> float`` (:func:`constant`, :func:`inverse_time`
  ``a0/(1+k)``, :func:`inverse_sqrt` ``a0/(1+sqrt k)``, :func:`step_decay`, or any callable:
  its value is checked, finite and ``> 0``, at every step, :func:`as_schedule`).
* State is a NamedTuple, so it can be copied, compared and checkpointed; ``update`` is a pure
  function of its arguments (bit-for-bit reproducible).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from srtheory._validation import as_vector, positive

__all__ = [
    "AdamState",
    "Optimizer",
    "SGDState",
    "adam",
    "as_schedule",
    "constant",
    "inverse_sqrt",
    "inverse_time",
    "sgd",
    "step_decay",
]


class Optimizer(NamedTuple):
    """``init(params) -> state``; ``update(direction, state, params, step) -> (params, state)``."""

    init: Callable[[np.ndarray], Any]
    update: Callable[[np.ndarray, Any, np.ndarray, int], tuple[np.ndarray, Any]]


class SGDState(NamedTuple):
    velocity: np.ndarray  # momentum buffer b (zeros when momentum = 0)
    count: int            # number of updates applied


class AdamState(NamedTuple):
    m: np.ndarray  # first-moment estimate
    v: np.ndarray  # second-moment estimate
    count: int     # t, for the bias corrections


# ------------------------------------------------------------------ schedules

@dataclass(frozen=True)
class _Schedule:
    kind: str
    a0: float
    boundaries: tuple[int, ...] = ()
    factor: float = 1.0

    def __call__(self, k) -> float:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
            raise ValueError(f"schedule index k must be an integer >= 0, got {k!r}")
        if self.kind == "constant":
            return self.a0
        if self.kind == "inverse_time":
            return self.a0 / (1.0 + k)  # a_k = a0 / (1 + k)  (forest scripts, §6)
        if self.kind == "inverse_sqrt":
            return self.a0 / (1.0 + math.sqrt(k))  # a_k = a0 / (1 + sqrt k)
        n_passed = sum(1 for b in self.boundaries if k >= b)
        return self.a0 * self.factor**n_passed  # a_k = a0 * factor^(#boundaries <= k)


def constant(a, /) -> Callable[[int], float]:
    """``a_k = a`` for every ``k``."""
    return _Schedule("constant", positive(a, "learning rate"))


def inverse_time(a0, /) -> Callable[[int], float]:
    """``a_k = a0 / (1 + k)`` (SRR_NOTES §6; Robbins-Monro: sum a_k = inf, sum a_k^2 < inf)."""
    return _Schedule("inverse_time", positive(a0, "a0"))


def inverse_sqrt(a0, /) -> Callable[[int], float]:
    """``a_k = a0 / (1 + sqrt(k))`` (§6; sum a_k = inf but sum a_k^2 = inf)."""
    return _Schedule("inverse_sqrt", positive(a0, "a0"))


def step_decay(a0, /, *, boundaries, factor: float = 0.1) -> Callable[[int], float]:
    """``a_k = a0 * factor^m`` with ``m`` the number of boundaries ``<= k`` (CIFAR: 150, 225, §6)."""
    b = tuple(int(v) for v in boundaries)
    if any(v < 0 for v in b) or list(b) != sorted(b):
        raise ValueError(f"boundaries must be non-negative and increasing, got {boundaries!r}")
    return _Schedule("step_decay", positive(a0, "a0"), b, positive(factor, "factor"))


def as_schedule(lr, /) -> Callable[[int], float]:
    """A number becomes :func:`constant`; a callable is checked at ``k = 0`` now and at every
    ``k`` it is called with: a value that is not finite and ``> 0`` raises ``ValueError`` naming
    ``k`` and the value (before the optimizer's update at that step changes anything).  The
    schedules of this module are valid by construction and returned as they are."""
    if isinstance(lr, _Schedule):
        return lr
    if callable(lr):
        positive(lr(0), "lr(0)")
        return _Checked(lr)
    return constant(lr)


@dataclass(frozen=True)
class _Checked:
    """A user's schedule, its value checked at every step (returned unchanged when valid)."""

    schedule: Callable[[int], float]

    def __call__(self, k):
        a = self.schedule(k)
        positive(a, f"the learning-rate schedule's lr({k})")
        return a


# ------------------------------------------------------------------ optimizers

def sgd(lr, /, *, momentum: float = 0.0, nesterov: bool = False,
        weight_decay: float = 0.0) -> Optimizer:
    """SGD with heavy-ball or Nesterov momentum (PyTorch convention), Alg. 2 step 2.5.

        d = p + wd x;   b <- momentum b + d;   step = d + momentum b (Nesterov) or b;
        x <- x - a_k step.

    With ``momentum = 0`` this is ``x <- x - a_k p`` exactly (the paper's ``optimizer.step()``).
    """
    sched = as_schedule(lr)
    momentum = positive(momentum, "momentum", allow_zero=True)
    if momentum >= 1.0:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")
    weight_decay = positive(weight_decay, "weight_decay", allow_zero=True)
    if nesterov and momentum == 0.0:
        raise ValueError("nesterov=True needs momentum > 0")

    def init(params) -> SGDState:
        x = as_vector(params, "params")
        return SGDState(velocity=np.zeros_like(x), count=0)

    def update(direction, state: SGDState, params, step: int):
        x = as_vector(params, "params")
        d = as_vector(direction, "direction", n=x.size)
        a = sched(step)
        if weight_decay:
            d = d + weight_decay * x
        if momentum == 0.0:
            return x - a * d, SGDState(state.velocity, state.count + 1)
        b = momentum * state.velocity + d
        move = d + momentum * b if nesterov else b
        return x - a * move, SGDState(b, state.count + 1)

    return Optimizer(init, update)


def adam(lr=1e-3, /, *, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> Optimizer:
    """Adam (Kingma & Ba), the USPS / chest X-ray base optimizer of §6:

        m <- b1 m + (1-b1) p;  v <- b2 v + (1-b2) p^2;  t <- t+1;
        x <- x - a_k (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps).
    """
    sched = as_schedule(lr)
    for name, val in (("b1", b1), ("b2", b2)):
        if not 0.0 <= val < 1.0:
            raise ValueError(f"{name} must be in [0, 1), got {val!r}")
    eps = positive(eps, "eps")

    def init(params) -> AdamState:
        x = as_vector(params, "params")
        return AdamState(np.zeros_like(x), np.zeros_like(x), 0)

    def update(direction, state: AdamState, params, step: int):
        x = as_vector(params, "params")
        d = as_vector(direction, "direction", n=x.size)
        t = state.count + 1
        m = b1 * state.m + (1.0 - b1) * d
        v = b2 * state.v + (1.0 - b2) * d * d
        m_hat = m / (1.0 - b1**t)
        v_hat = v / (1.0 - b2**t)
        return x - sched(step) * m_hat / (np.sqrt(v_hat) + eps), AdamState(m, v, t)

    return Optimizer(init, update)
