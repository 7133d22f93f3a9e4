"""The regularized objective of SRR_NOTES §4 and its gradient.

    h(x) = f(x) + mu * g(x),      g(x) = max(0, rho(x) - K),      rho(x) = max_i |lambda_i(H(x))|
    grad h(x) = grad f(x) + mu * 1[rho(x) > K] * grad rho(x),
    grad rho(x) = sign(lambda*) * grad^3 f(x)[v*, v*, .]                       (Lemma A, §5.1)

``mu >= 0`` is a number or a schedule ``mu(epoch)`` (§4: "it can also be a schedule"); ``K >= 0``
is the bound.  The minibatch forms (``f_B``, ``H_B`` of §4) are the same functions applied to
``lambda x: loss(x, batch)``; pass ``batch=`` and a two-argument ``loss`` to get them.

The penalty's gradient is real: it is computed from the third-order contraction
(:func:`srtheory.eigengrad.spectral_radius_grad`), not from a number added to the loss (the
published regularizer code that added rho as a plain float had no gradient at all).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np

from srtheory._validation import as_vector, positive
from srtheory.spectral._common import generic_start

__all__ = [
    "batch_function", "generic_start", "penalty", "regularized_grad", "regularized_objective",
    "resolve_mu",
]


def penalty(rho, /, *, K) -> float:
    """The hinge ``g = max(0, rho - K)`` of SRR_NOTES §4 (``rho >= 0``, ``K >= 0``).

    >>> penalty(3.0, K=1.0), penalty(0.5, K=1.0)
    (2.0, 0.0)
    """
    K = positive(K, "K", allow_zero=True)
    rho = positive(rho, "rho", allow_zero=True)
    return max(0.0, rho - K)


def resolve_mu(mu, /, *, epoch: int = 0) -> float:
    """The weight ``mu`` at ``epoch``: a number, or a schedule ``mu(epoch)`` (SRR_NOTES §4).

    Raises ``ValueError`` unless the value is finite and ``>= 0``.
    """
    if callable(mu):
        value = mu(epoch)
        return positive(value, f"mu({epoch})", allow_zero=True)
    return positive(mu, "mu", allow_zero=True)


def batch_function(loss: Callable, batch, /) -> Callable[[np.ndarray], float]:
    """``f_B = lambda x: loss(x, batch)`` -- the minibatch loss of §4 as a one-argument function."""
    if not callable(loss):
        raise ValueError(f"loss must be callable loss(x, batch), got {type(loss).__name__}")  # noqa: TRY004
    return lambda x: loss(x, batch)


def regularized_objective(f: Callable, x, /, *, mu, K, eig=None, epoch: int = 0, batch=None,
                          eig_tol: float = 1e-10) -> float:
    """``h(x) = f(x) + mu * max(0, rho(x) - K)`` -- the objective of SRR_NOTES §4.

    Args:
        f: ``f(x)`` (or ``f(x, batch)`` when ``batch`` is given: then this is ``h_B`` of §4).
        x: point (not modified).
        mu: weight ``>= 0`` or schedule ``mu(epoch)``.
        K: bound ``>= 0``.
        eig: an eigen-solve of ``H(x)`` (anything with ``.rho``); default: computed here with
            :func:`srtheory.spectral.spectral_radius` (Lanczos, relative tolerance ``eig_tol``,
            matrix-free) from :func:`generic_start`.
        epoch: passed to a ``mu`` schedule.

    Returns:
        ``h(x)`` as a float; ``ValueError`` for ``mu < 0``, ``K < 0`` or a non-finite value.
    """
    mu_v = resolve_mu(mu, epoch=epoch)
    K = positive(K, "K", allow_zero=True)
    fb = _one_arg(f, batch)
    x = as_vector(x, "x")
    fx = float(fb(x))
    if not np.isfinite(fx):
        raise ValueError(f"f(x) = {fx!r} is not finite; expected a finite loss")
    if eig is None:
        eig = _solve(fb, x, tol=eig_tol)
    return fx + mu_v * penalty(_rho_of(eig), K=K)


def regularized_grad(f: Callable, x, /, *, mu, K, eig, epoch: int = 0, batch=None,
                     derivative: str = "exact", eps: float | None = None,
                     code_faithful: bool = False) -> np.ndarray:
    """``grad h = grad f + mu * 1[rho > K] * grad rho`` -- SRR_NOTES §4 with Lemma A (§5.1).

    With ``v = eig.eigvec``, ``lambda = eig.eigval``: ``grad rho = sign(lambda) grad^3 f[v, v, .]``
    (``code_faithful=True`` drops ``sign(lambda)`` as the authors' code does, §5.4).  Where
    ``rho <= K`` (or ``mu == 0``) the third-order term is not computed and the result is
    ``grad f`` exactly.  This is the direction ``p`` of Algorithm 2 steps 2.3-2.4, computed by
    the same code as the training step (:func:`srtheory.srr_step.decide` and
    :func:`~srtheory.srr_step.penalized_direction`), without the training step's policy for a
    non-converged solve: the given ``eig`` is used as it is.

    Args:
        f, x, mu, K, epoch, batch: as in :func:`regularized_objective`.
        eig: the eigenpair of largest modulus of ``H(x)`` (an :class:`~srtheory.spectral.EigResult`
            or anything with ``rho``/``eigval`` and ``eigvec``); required (the caller owns the
            warm-started eigen-solve).
        derivative, eps: ``"exact"`` or ``"fd"`` third-order term and the fd step, as the fields
            of :class:`~srtheory.srr_step.SRRConfig` (and ``method``/``eps`` of
            :func:`srtheory.eigengrad.spectral_radius_grad`).
        code_faithful: drop ``sign(lambda)``.

    Returns:
        A new float64 array.
    """
    from srtheory.curvature import gradient
    from srtheory.eigengrad import _check_eig, eigenvalue_grad
    from srtheory.srr_step import SRRConfig, decide, penalized_direction

    mu_v = resolve_mu(mu, epoch=epoch)
    K = positive(K, "K", allow_zero=True)
    if eig is None:
        raise ValueError("eig is required: pass the eigen-solve of H(x) (e.g. spectral_radius(...))")
    config = SRRConfig(mu=mu_v, K=K, derivative=derivative, eps=eps, code_faithful=code_faithful)
    fb = _one_arg(f, batch)
    x = as_vector(x, "x")
    g = np.asarray(gradient(fb, x), dtype=np.float64)
    rho, eigval = _rho_of(eig), None
    if mu_v > 0.0 and rho > K:  # the penalty is active: eig must be a checked eigenpair (Lemma A)
        eigval, _ = _check_eig(eig, x.size, need_sign=not code_faithful)
    d = decide(rho, eigval, mu=mu_v, config=config)
    g = penalized_direction(
        g, lambda: eigenvalue_grad(fb, x, eig, method=derivative, eps=eps), mu=mu_v, decision=d
    )
    if not np.all(np.isfinite(g)):
        raise ValueError("the regularized gradient is not finite (NaN or inf in grad f or grad rho)")
    return g


# ------------------------------------------------------------------ private helpers

def _one_arg(f, batch):
    if not callable(f):
        raise ValueError(f"f must be callable, got {type(f).__name__}")  # noqa: TRY004
    return f if batch is None else batch_function(f, batch)


def _rho_of(eig) -> float:
    if hasattr(eig, "rho"):
        r = eig.rho
    elif hasattr(eig, "eigval"):
        r = abs(eig.eigval)
    elif isinstance(eig, numbers.Real):
        r = eig
    else:
        raise ValueError(f"eig must have .rho or .eigval (an EigResult), got {type(eig).__name__}")
    return positive(r, "eig.rho", allow_zero=True)


def _solve(f, x, *, tol: float):
    from srtheory.curvature import hvp_operator
    from srtheory.spectral import spectral_radius

    return spectral_radius(hvp_operator(f, x), generic_start(x.size), method="lanczos", tol=tol)
