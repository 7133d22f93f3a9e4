"""Gradient of the spectral radius, ``∇ρ(x) = sign(λ*)·∇³f(x)[v*, v*, ·]`` (Lemma A, SRR_NOTES §5.1).

For a simple eigenvalue ``λ`` of ``H(x) = ∇²f(x)`` with unit eigenvector ``v``, differentiating
``H v = λ v`` and using ``vᵀ∂v = 0`` gives ``∂λ/∂x_k = vᵀ(∂H/∂x_k)v``, i.e.
``∇λ = ∇³f[v, v, ·]``.  Since ``ρ = |λ*|`` for the eigenvalue of largest modulus,
``∇ρ = sign(λ*)·∇³f[v*, v*, ·]`` wherever ``λ*`` is simple and ``−λ*`` is not an eigenvalue.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np

from srtheory._validation import as_vector
from srtheory.curvature import third_order

__all__ = ["eigenvalue_grad", "spectral_radius_grad"]

# ‖eigvec‖₂ must be 1 to within this many units of roundoff: a vector normalised by any solver
# passes (its norm is 1 to a few u), one that is off by a real amount (1e-9 and up) does not.
_UNIT_NORM_ULPS = 1e6


def spectral_radius_grad(
    f: Callable,
    x,
    eig,
    /,
    *,
    method: str = "exact",
    eps: float | None = None,
    code_faithful: bool = False,
) -> np.ndarray:
    """``∇ρ(x) = sign(λ*)·∇³f(x)[v*, v*, ·]`` -- Lemma A / Eq. (5.1) of SRR_NOTES §5.1.

    With ``λ* = eig.eigval`` and ``v* = eig.eigvec`` (an eigenpair of largest modulus of
    ``H(x) = ∇²f(x)``, e.g. an :class:`~srtheory.spectral.EigResult`), this returns
    ``sign(λ*) · ∇ₓ(v*ᵀ H(x) v*)`` with ``v*`` held fixed, computed by
    :func:`srtheory.curvature.third_order` (``method="exact"``: double back-propagation, §5.2;
    ``method="fd"``: the second difference of gradients, §5.4, step ``eps``).

    ``code_faithful=True`` reproduces the authors' code (§5.4): their power iteration flips
    ``v → −v`` when the Rayleigh quotient is negative, and ``vᵀ(∇H)v`` is even in ``v``, so the
    code returns ``∇λ* = ∇³f[v*, v*, ·]`` **without** ``sign(λ*)``.  That is **wrong when the
    dominant eigenvalue is negative**: it is then ``−∇ρ``, and a step along it *raises* ρ.

    ρ is differentiable only where ``λ*`` is simple and ``−λ*`` is not also an eigenvalue
    (§5.1).  At a repeated or ``±ρ``-tied top eigenvalue the result is not a gradient of ρ; it is
    an element of the Clarke subdifferential only if ``eigvec`` is an *exact* eigenvector of
    ``±ρ`` (proofs/C01, (b)-(c)) -- an approximate one that mixes the tied eigenvectors,
    ``a q₊ + b q₋``, adds ``2ab·∇³f[q₊, q₋, ·]``, which can lie outside that set.  The accuracy of the result follows that of ``eigvec``: an eigenvector error of
    angle θ changes it by up to ``2·‖∇³f‖·θ`` (Lemma B's perturbation bound, §7).

    Args:
        f: ``f(x) -> scalar`` written with ``autograd.numpy``.
        x: 1-D float64 point (not modified).
        eig: any object with ``.eigval`` (finite real, signed) and ``.eigvec`` (finite, length
            ``len(x)``, unit 2-norm to ``1e6·u``).
        method: ``"exact"`` or ``"fd"``.
        eps: fd step; default ``default_fd_step(x, eigvec, order=2)``.
        code_faithful: drop ``sign(λ*)`` as the authors' code does.

    Returns:
        The gradient, a new float64 array of the shape of ``x``.

    Raises:
        ValueError: ``eig`` lacks ``eigval``/``eigvec``; ``eigvec`` not finite, wrong length or not
            of unit norm; ``eigval`` not a finite real number; ``eigval == 0`` with
            ``code_faithful=False`` (``sign(0)`` is undefined: ``ρ = |λ|`` has a kink there, and a
            zero dominant eigenvalue means ``H(x) = 0``); and every error of
            :func:`~srtheory.curvature.third_order`.

    Example (``f = x₀³/6 + x₁²/2`` has ``H = diag(x₀, 1)``; at ``x₀ = −2`` the dominant eigenvalue
    is ``λ* = x₀ = −2``, so ``ρ = −x₀`` and ``∇ρ = (−1, 0)``; the authors' code returns ``+∇λ*``):
        >>> from collections import namedtuple
        >>> Eig = namedtuple("Eig", "eigval eigvec")
        >>> f = lambda x: x[0] ** 3 / 6.0 + x[1] ** 2 / 2.0
        >>> eig = Eig(eigval=-2.0, eigvec=np.array([1.0, 0.0]))
        >>> spectral_radius_grad(f, np.array([-2.0, 0.0]), eig)
        array([-1., -0.])
        >>> spectral_radius_grad(f, np.array([-2.0, 0.0]), eig, code_faithful=True)
        array([1., 0.])
    """
    if not isinstance(code_faithful, (bool, np.bool_)):
        raise ValueError(f"code_faithful must be True or False, got {code_faithful!r}")
    eigval, grad_lambda = _grad_lambda(f, x, eig, method, eps, need_sign=not code_faithful)
    if code_faithful:
        return grad_lambda  # the authors' code: sign(λ*) dropped (§5.4)
    return np.sign(eigval) * grad_lambda  # ∇ρ = sign(λ*)·∇λ*  (Lemma A)


def eigenvalue_grad(
    f: Callable, x, eig, /, *, method: str = "exact", eps: float | None = None
) -> np.ndarray:
    """``∇λ*(x) = ∇³f(x)[v*, v*, ·]`` -- Eq. (5.1) of SRR_NOTES §5.1, the unsigned factor of
    Lemma A (``∇ρ = sign(λ*)·∇λ*``, :func:`spectral_radius_grad`).

    What an SRR step multiplies by ``μ·sign(λ*)`` (:func:`srtheory.srr_step.penalized_direction`).
    Arguments and errors as in :func:`spectral_radius_grad` (``eig.eigval`` may be 0 here).
    """
    return _grad_lambda(f, x, eig, method, eps, need_sign=False)[1]


def _grad_lambda(f, x, eig, method, eps, *, need_sign):
    x = as_vector(x, "x")
    eigval, eigvec = _check_eig(eig, x.size, need_sign=need_sign)
    # ∇λ* = ∇ₓ(v*ᵀ H(x) v*) with v* held fixed  (Eq. (5.1))
    return eigval, third_order(f, x, eigvec, method=method, eps=eps)


def _check_eig(eig, n: int, *, need_sign: bool) -> tuple[float, np.ndarray]:
    for attr in ("eigval", "eigvec"):
        if not hasattr(eig, attr):
            raise ValueError(
                f"eig must have attributes 'eigval' and 'eigvec' (e.g. an EigResult); "
                f"{type(eig).__name__} has no {attr!r}"
            )
    raw = eig.eigval
    if isinstance(raw, np.ndarray) and raw.size == 1:
        raw = raw.reshape(()).item()
    if isinstance(raw, (bool, np.bool_)) or not isinstance(raw, numbers.Real):
        raise ValueError(f"eig.eigval must be a real number, got {raw!r}")
    eigval = float(raw)
    if not np.isfinite(eigval):
        raise ValueError(f"eig.eigval must be finite, got {eigval!r}")
    if need_sign and eigval == 0.0:
        raise ValueError(
            "eig.eigval is 0: sign(λ*) is undefined and ρ = |λ*| is not differentiable there "
            "(a zero dominant eigenvalue means H(x) = 0); pass code_faithful=True for ∇λ* itself"
        )
    eigvec = as_vector(eig.eigvec, "eig.eigvec", n=n, nonzero=True)
    norm = float(np.linalg.norm(eigvec))
    allowed = _UNIT_NORM_ULPS * np.finfo(np.float64).eps
    if abs(norm - 1.0) > allowed:
        raise ValueError(
            f"eig.eigvec must have unit 2-norm (to {allowed:.1e}), got norm {norm!r}; "
            "normalise it (the formula sign(λ)·∇³f[v, v, ·] assumes ‖v‖ = 1)"
        )
    return eigval, eigvec
