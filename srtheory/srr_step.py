"""The regularized step shared by :func:`srtheory.algorithms.minimize` and
:func:`srtheory.training.srr_train` (Algorithm 2 steps 2.2-2.4 of SRR_NOTES §6), and how its
failures are reported.

The step: an eigen-solve of ``H(x)`` warm-started from the previous eigenvector (Algorithm 1
power iteration, with ``alpha``/``precond`` the Alg. 1b update; Lanczos; or the spectral radius
with both extremes); if it did not converge the regularizer is skipped and the warm start reset
(Alg. 1 step 4, counted); otherwise ``p = g + mu 1[rho > K] grad rho`` (Lemma A).

Two failure modes are reported, never hidden:

* **chattering** at a repeated top eigenvalue (rho not differentiable, §5.1): every step whose
  eigenvector turned by more than ``arccos(chatter_cos)`` against the previous one is counted
  (``n_eigvec_flips``, ``flip_steps``); when there are ``chatter_min`` or more and they are at
  least 10 % of the regularized steps, ``chattering`` is set and a :class:`ChatteringWarning`
  is issued;
* a non-finite loss or direction raises :class:`NonFiniteLossError` carrying ``last_good``, the
  :class:`Checkpoint` (weights, optimizer state, warm start, position) before the bad step.

The underscored helpers are internal to the package (used by both entry points).
"""

from __future__ import annotations

import sys
from typing import Any, NamedTuple

import numpy as np

from srtheory._validation import as_vector, positive, positive_int

__all__ = ["ChatteringWarning", "Checkpoint", "NonFiniteLossError"]

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


def _value_grad(vg, x):
    fx, g = vg(x)
    return float(fx), np.asarray(g, dtype=np.float64)


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
