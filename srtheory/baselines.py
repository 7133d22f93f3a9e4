"""The methods the paper compares with (SRR_NOTES §3 and §8): SAM, Entropy-SGD, SWA / Asymmetric
Valley averaging, K-FAC -- as pure ``(init, update)`` pairs on flat float64 parameter vectors.

Two protocols, both NamedTuples with explicit state:

* gradient protocol (:class:`srtheory.optimizers.Optimizer`): ``update(direction, state, params,
  step)``; used by :func:`swa` (wraps any base optimizer) and :func:`kfac_optimizer` (which also
  needs ``batch=(X, T)`` to build its Kronecker factors);
* oracle protocol (:class:`OracleOptimizer`): ``update(grad_fn, state, params, step, *, rng=None)``
  where ``grad_fn(x) -> grad f_B(x)`` is the gradient oracle of the current (mini-)batch, because
  SAM and Entropy-SGD evaluate the gradient at points other than ``params``.

``step`` is the index read by the learning-rate schedule (see :mod:`srtheory.optimizers`).
Randomness (Entropy-SGD's Langevin noise) enters only through an ``rng`` argument.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from . import kfac as _kfac
from ._validation import as_vector, finite_output, positive, positive_int
from .mlp import MLPSpec
from .optimizers import Optimizer, as_schedule, sgd

__all__ = [
    "EntropySGDState",
    "KFACState",
    "LangevinResult",
    "OracleOptimizer",
    "SAMState",
    "SWAState",
    "cyclic_lr",
    "entropy_sgd",
    "entropy_sgd_langevin",
    "kfac_optimizer",
    "sam",
    "sam_direction",
    "sam_perturbation",
    "swa",
    "swa_average",
]


class OracleOptimizer(NamedTuple):
    """``init(params) -> state``; ``update(grad_fn, state, params, step, /, *, rng=None) -> (params, state)``."""

    init: Callable[[np.ndarray], Any]
    update: Callable[..., tuple[np.ndarray, Any]]


# --------------------------------------------------------------------------------------------- SAM


def sam_perturbation(g, /, *, radius: float) -> np.ndarray:
    """SAM's ascent step (Foret et al. 2021, Eq. 2 with p = 2): ``eps_hat = radius * g / ||g||_2``;
    ``eps_hat = 0`` when ``g = 0`` (a stationary point is a fixed point of SAM)."""
    radius = positive(radius, "radius")
    g = as_vector(g, "g")
    norm = float(np.linalg.norm(g))
    return np.zeros_like(g) if norm == 0.0 else (radius / norm) * g


def sam_direction(grad_fn: Callable, x, /, *, radius: float, grad=None) -> np.ndarray:
    """SAM's update direction ``grad f(x + eps_hat)``, ``eps_hat = radius * g / ||g||``, ``g = grad f(x)``
    (Foret et al. 2021, Eq. 3: the gradient of the worst-case loss in the ball, first order, without
    the second-order term).  ``grad`` may pass a precomputed ``grad f(x)`` (saves one evaluation).
    The SAM baseline of SRR_NOTES §8 used ``radius = 0.05``.
    """
    x = as_vector(x, "x")
    g = finite_output(grad_fn(x), "grad_fn", n=x.size) if grad is None else as_vector(grad, "grad", n=x.size)
    return finite_output(grad_fn(x + sam_perturbation(g, radius=radius)), "grad_fn", n=x.size)


class SAMState(NamedTuple):
    base: Any            # the base optimizer's state
    n_grad_evals: int    # 2 per step


def sam(base: Optimizer, /, *, radius: float = 0.05) -> OracleOptimizer:
    """SAM with a base optimizer: ``x <- base.update(grad f(x + radius g/||g||), ...)`` (Foret et al.,
    Alg. 1; the paper's baseline: SGD base, lr 0.5, rho 0.05, SRR_NOTES §8)."""
    radius = positive(radius, "radius")
    _check_optimizer(base)

    def init(params) -> SAMState:
        return SAMState(base.init(as_vector(params, "params")), 0)

    def update(grad_fn, state: SAMState, params, step, /, *, rng=None):
        d = sam_direction(grad_fn, params, radius=radius)
        new_x, bs = base.update(d, state.base, params, step)
        return new_x, SAMState(bs, state.n_grad_evals + 2)

    return OracleOptimizer(init, update)


# ------------------------------------------------------------------------------------- Entropy-SGD


class LangevinResult(NamedTuple):
    mean: np.ndarray                 # mu_L, the exponential average of the chain (estimate of <x'>)
    last: np.ndarray                 # x'_L
    n_grad_evals: int                # L
    samples: np.ndarray | None       # (L, n) chain x'_1..x'_L when keep_samples=True


def entropy_sgd_langevin(
    grad_fn: Callable,
    x,
    /,
    *,
    gamma: float,
    n_steps: int,
    lr: float,
    noise: float,
    alpha: float,
    rng: np.random.Generator,
    keep_samples: bool = False,
) -> LangevinResult:
    """Entropy-SGD's inner loop (Chaudhari et al. 2017, Alg. 1, lines 3-6): SGLD on the local Gibbs
    measure ``p(x') ∝ exp(-[f(x') + (gamma/2)||x - x'||^2] / noise^2)``::

        x' <- x;  mu <- x;  for l = 1..L:
            x'  <- x' - lr * [grad f(x') + gamma (x' - x)] + noise * sqrt(2 lr) * xi,   xi ~ N(0, I)
            mu  <- (1 - alpha) mu + alpha x'

    With ``noise = 1`` the target is exactly ``exp(-f(x') - gamma/2 ||x - x'||^2)``.  (Chaudhari et
    al. write the noise as ``sqrt(lr) * eps * xi``: their ``eps`` is ``sqrt(2) * noise``.)  For
    finite ``lr`` the chain is the unadjusted Langevin algorithm: on a quadratic ``f`` with Hessian
    ``Q`` it has the Gibbs mean exactly and covariance ``noise^2 (M (I - lr M / 2))^{-1}``,
    ``M = Q + gamma I`` (-> the Gibbs covariance ``noise^2 M^{-1}`` as ``lr -> 0``).
    """
    x = as_vector(x, "x")
    gamma = positive(gamma, "gamma")
    n_steps = positive_int(n_steps, "n_steps")
    lr = positive(lr, "inner lr")
    noise = positive(noise, "noise", allow_zero=True)
    alpha = positive(alpha, "alpha")
    if alpha > 1.0:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError("entropy_sgd_langevin needs rng=np.random.Generator")
    xp, mu = x.copy(), x.copy()
    scale = noise * np.sqrt(2.0 * lr)
    samples = np.empty((n_steps, x.size)) if keep_samples else None
    for l in range(n_steps):
        drift = finite_output(grad_fn(xp), "grad_fn", n=x.size) + gamma * (xp - x)
        xp = xp - lr * drift + scale * rng.standard_normal(x.size)
        mu = (1.0 - alpha) * mu + alpha * xp
        if keep_samples:
            samples[l] = xp
    return LangevinResult(mu, xp, n_steps, samples)


class EntropySGDState(NamedTuple):
    base: Any            # base optimizer state (Nesterov SGD in the authors' configuration)
    count: int           # outer steps taken (t in the scoping gamma_t = gamma (1 + scoping)^t)
    n_grad_evals: int


def entropy_sgd(
    base: Optimizer | None = None,
    /,
    *,
    L: int = 20,
    gamma: float = 0.03,
    scoping: float = 0.0,
    inner_lr: float = 0.1,
    noise: float = 1e-4,
    alpha: float = 0.25,
) -> OracleOptimizer:
    """Entropy-SGD (Chaudhari et al. 2017, Alg. 1): descend the negative local entropy, whose gradient
    is ``-grad F(x; gamma) = gamma (x - <x'>)``, ``<x'>`` the mean of the local Gibbs measure, estimated
    by ``L`` SGLD steps (:func:`entropy_sgd_langevin`)::

        gamma_t = gamma (1 + scoping)^t;   mu = Langevin(x; gamma_t, L, ...).mean
        x <- base.update(gamma_t (x - mu), ...)

    ``L = 0``: no inner loop; the direction is ``grad f_B(x)``, so Entropy-SGD *is* its base
    optimizer.  The paper's experiments (SRR_NOTES §8) built Entropy-SGD with ``L = 0``, momentum 0.9,
    Nesterov, lr 0.1: that baseline was plain Nesterov SGD.  ``base`` defaults to that optimizer,
    ``sgd(0.1, momentum=0.9, nesterov=True)``.  ``update`` needs ``rng`` when ``L > 0``.
    """
    base = sgd(0.1, momentum=0.9, nesterov=True) if base is None else base
    _check_optimizer(base)
    L = positive_int(L, "L", minimum=0)
    gamma = positive(gamma, "gamma")
    scoping = positive(scoping, "scoping", allow_zero=True)
    inner = {"lr": positive(inner_lr, "inner_lr"), "noise": positive(noise, "noise", allow_zero=True),
             "alpha": positive(alpha, "alpha")}
    if inner["alpha"] > 1.0:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")

    def init(params) -> EntropySGDState:
        return EntropySGDState(base.init(as_vector(params, "params")), 0, 0)

    def update(grad_fn, state: EntropySGDState, params, step, /, *, rng=None):
        x = as_vector(params, "params")
        if L == 0:
            d, n_eval = finite_output(grad_fn(x), "grad_fn", n=x.size), 1
        else:
            g_t = gamma * (1.0 + scoping) ** state.count
            res = entropy_sgd_langevin(grad_fn, x, gamma=g_t, n_steps=L, rng=rng, **inner)
            d, n_eval = g_t * (x - res.mean), L
        new_x, bs = base.update(d, state.base, x, step)
        return new_x, EntropySGDState(bs, state.count + 1, state.n_grad_evals + n_eval)

    return OracleOptimizer(init, update)


# ------------------------------------------------------------------------------ SWA / Asym. Valley


class SWAState(NamedTuple):
    base: Any
    mean: np.ndarray     # running arithmetic mean of the snapshots (zeros before the first)
    n_averaged: int
    count: int           # updates taken


def swa(base: Optimizer, /, *, start: int, period: int = 1) -> Optimizer:
    """Stochastic Weight Averaging (Izmailov et al. 2018, Alg. 1): run ``base``; after update number
    ``c`` (1-based) with ``c >= start`` and ``(c - start) % period == 0`` add the iterate to the
    running mean ``w_swa <- (n w_swa + x) / (n + 1)``.  Use a constant lr or :func:`cyclic_lr` with
    ``period`` = its cycle (snapshots at the cycle's low-lr end); for per-epoch snapshots set
    ``period`` to the number of batches per epoch.  :func:`swa_average` reads ``w_swa``.

    Asymmetric Valley (He, Huang & Yuan 2019) is this average: their result is that on a valley
    whose walls have different curvature, the average of SGD iterates sits on the flat side of the
    minimum, i.e. is biased toward flatness (the authors' baseline, SRR_NOTES §8, runs SWA with an SGD
    base, lr 0.5).  ``params`` returned by ``update`` are the base optimizer's iterates, not the mean.
    """
    _check_optimizer(base)
    start = positive_int(start, "start")
    period = positive_int(period, "period")

    def init(params) -> SWAState:
        x = as_vector(params, "params")
        return SWAState(base.init(x), np.zeros_like(x), 0, 0)

    def update(direction, state: SWAState, params, step):
        new_x, bs = base.update(direction, state.base, params, step)
        c = state.count + 1
        mean, n = state.mean, state.n_averaged
        if c >= start and (c - start) % period == 0:
            mean, n = mean + (new_x - mean) / (n + 1), n + 1
        return new_x, SWAState(bs, mean, n, c)

    return Optimizer(init, update)


def swa_average(state: SWAState, /) -> np.ndarray:
    """``w_swa``, the arithmetic mean of the snapshots collected so far (a copy)."""
    if not isinstance(state, SWAState):
        raise ValueError(f"expected an SWAState, got {type(state).__name__}")
    if state.n_averaged == 0:
        raise ValueError("no snapshot averaged yet: the update count has not reached `start`")
    return state.mean.copy()


def cyclic_lr(a1: float, a2: float, /, *, cycle: int) -> Callable[[int], float]:
    """SWA's cyclic schedule (Izmailov et al. 2018, Eq. 2): for step ``k >= 0``,
    ``t = ((k mod cycle) + 1) / cycle``, ``a_k = (1 - t) a1 + t a2``; decreases from near ``a1`` to
    ``a2`` at the end of each cycle (``a1 >= a2 > 0``)."""
    a1, a2 = positive(a1, "a1"), positive(a2, "a2")
    if a2 > a1:
        raise ValueError(f"cyclic_lr needs a1 >= a2, got a1={a1}, a2={a2}")
    cycle = positive_int(cycle, "cycle")

    def schedule(k) -> float:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
            raise ValueError(f"schedule index k must be an integer >= 0, got {k!r}")
        t = ((int(k) % cycle) + 1) / cycle
        return (1.0 - t) * a1 + t * a2

    return schedule


# ------------------------------------------------------------------------------------------- K-FAC


class KFACState(NamedTuple):
    factors: Any         # running (exponentially averaged) KFACFactors, None before the first step
    inverse: Any         # KFACInverse in use
    base: Any            # momentum-SGD state
    count: int


def kfac_optimizer(
    spec,
    /,
    *,
    lr=1e-3,
    momentum: float = 0.9,
    damping: float = 1e-3,
    stat_decay: float = 0.95,
    kl_clip: float | None = 1e-3,
    t_cov: int = 10,
    t_inv: int = 100,
    fisher: str = "ggn",
) -> Optimizer:
    """K-FAC as an optimizer for the MLP ``spec`` (Martens & Grosse 2015; SRR_NOTES §8 baseline with
    defaults lr 1e-3, momentum 0.9, damping 1e-3, kl_clip 1e-3, TCov 10, TInv 100).  At update ``c``
    (0-based)::

        if c % t_cov == 0:  F <- stat_decay F + (1 - stat_decay) F_batch    (F <- F_batch at c = 0)
        if c % t_inv == 0:  eigendecompose F (srtheory.kfac.kfac_inverse, damping)
        p  = (G (x) A + damping I)^{-1} d                  per layer, d = the given direction
        nu = min(1, sqrt(kl_clip / (a_k^2 p.d)))           (kl_clip=None: nu = 1)
        b  <- momentum b + a_k nu p;   x <- x - b           (heavy ball; = torch's SGD for constant a)

    ``update(direction, state, params, step, *, batch=(X, T), rng=None)``; ``direction`` is usually
    ``grad f_B`` (it may include a regulariser's term), ``batch`` feeds the factors (``rng`` for
    ``fisher="sampled"``).
    """
    lr = as_schedule(lr)
    damping = positive(damping, "damping", allow_zero=True)
    stat_decay = positive(stat_decay, "stat_decay", allow_zero=True)
    if stat_decay >= 1.0:
        raise ValueError(f"stat_decay must be in [0, 1), got {stat_decay}")
    kl_clip = None if kl_clip is None else positive(kl_clip, "kl_clip")
    t_cov, t_inv = positive_int(t_cov, "t_cov"), positive_int(t_inv, "t_inv")
    if fisher not in _kfac.FISHERS:
        raise ValueError(f"fisher must be one of {_kfac.FISHERS}, got {fisher!r}")
    if not isinstance(spec, MLPSpec):
        raise ValueError(f"spec must be an srtheory.mlp.MLPSpec, got {type(spec).__name__}")
    base = sgd(1.0, momentum=momentum)  # lr applied here, so that nu can use a_k

    def init(params) -> KFACState:
        x = as_vector(params, "params", n=spec.n_params)
        return KFACState(None, None, base.init(x), 0)

    def update(direction, state: KFACState, params, step, /, *, batch=None, rng=None):
        x = as_vector(params, "params", n=spec.n_params)
        d = as_vector(direction, "direction", n=spec.n_params)
        if batch is None or len(batch) != 2:
            raise ValueError("kfac_optimizer.update needs batch=(X, T) for the Kronecker factors")
        c, factors, inverse = state.count, state.factors, state.inverse
        if c % t_cov == 0 or factors is None:
            new = _kfac.kfac_factors(spec, x, batch[0], batch[1], fisher=fisher, rng=rng)
            factors = new if factors is None else _kfac.KFACFactors(
                tuple(stat_decay * o + (1.0 - stat_decay) * n for o, n in zip(factors.A, new.A)),
                tuple(stat_decay * o + (1.0 - stat_decay) * n for o, n in zip(factors.G, new.G)),
            )
        if c % t_inv == 0 or inverse is None:
            inverse = _kfac.kfac_inverse(factors, damping=damping)
        p = _kfac.kfac_precondition(inverse, d)
        a = lr(step)
        nu = 1.0
        if kl_clip is not None:
            vg = a * a * float(p @ d)
            if vg > kl_clip:
                nu = float(np.sqrt(kl_clip / vg))
        new_x, bs = base.update(a * nu * p, state.base, x, 0)
        return new_x, KFACState(factors, inverse, bs, c + 1)

    return Optimizer(init, update)


def _check_optimizer(opt) -> None:
    if not (hasattr(opt, "init") and hasattr(opt, "update") and callable(opt.init) and callable(opt.update)):
        raise ValueError(f"base must be an Optimizer(init, update), got {type(opt).__name__}")
