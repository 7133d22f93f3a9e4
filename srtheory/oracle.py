"""The dense oracle: full Hessians, third-derivative tensors, ``eigh`` and finite differences of ρ.

This is the **test and check oracle** of the project, and the only module that forms dense
Hessians or calls ``eigh``.  Tests, claim checks and notebooks compare the matrix-free algorithms
(:mod:`srtheory.curvature`, :mod:`srtheory.spectral`, :mod:`srtheory.eigengrad`) against it; no
algorithm ever calls it.  Its cost is ``O(n)`` gradients per Hessian and ``O(n²)`` per
third-derivative tensor, so it is meant for small ``n``.

Its derivatives use autograd's own ``jacobian``/``grad`` -- a code path independent of the
vector-Jacobian products of :mod:`srtheory.curvature` that it checks.

Objects (SRR_NOTES §4-§5): ``H(x) = ∇²f(x)``, ``ρ(x) = max_i |λ_i(H(x))|``, the eigenvalue of
largest modulus ``λ*`` with unit eigenvector ``v*``, and ``∇ρ`` by central differences of ρ.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from autograd import grad as _ag_grad
from autograd import jacobian as _ag_jacobian

from srtheory._validation import as_vector, positive

__all__ = [
    "DenseSpectralRadius",
    "GapInfo",
    "dense_spectral_radius",
    "eigh_sorted",
    "grad_rho_fd",
    "hessian",
    "rho",
    "third_derivative",
    "top_eigen_simple",
]

#: largest ``n`` accepted by :func:`third_derivative` (an ``n³`` tensor from ``n²`` reverse passes).
MAX_THIRD_DERIVATIVE_DIM = 64


class GapInfo(NamedTuple):
    """How isolated the eigenvalue of largest modulus is.

    Attributes:
        second_eigval: the signed eigenvalue of second-largest modulus (``nan`` when ``n = 1``).
        abs_gap: ``ρ − |second_eigval|`` (0 for a repeated top eigenvalue or a ``±ρ`` tie;
            ``ρ`` when ``n = 1``).
        rel_gap: ``abs_gap / ρ`` (``0`` when ``ρ = 0``).
        tie: ``−λ*`` is (numerically) an eigenvalue too, i.e. an eigenvalue of opposite sign and
            the same modulus exists -- ρ is not differentiable there (SRR_NOTES §5.1).
    """

    second_eigval: float
    abs_gap: float
    rel_gap: float
    tie: bool


class DenseSpectralRadius(NamedTuple):
    """Result of :func:`dense_spectral_radius`: ``(rho, eigval, eigvec, gap_info)``."""

    rho: float
    eigval: float
    eigvec: np.ndarray
    gap_info: GapInfo


def hessian(f: Callable, x, /) -> np.ndarray:
    """Dense ``H(x) = ∇²f(x)`` (SRR_NOTES §4) -- oracle only, never used by an algorithm.

    Computed as autograd's Jacobian of autograd's gradient, then symmetrised,
    ``(J + Jᵀ)/2``; the discarded antisymmetric part is rounding error only.

    Example:
        >>> hessian(lambda x: x[0] ** 2 * x[1], np.array([1.0, 2.0]))
        array([[4., 2.],
               [2., 0.]])
    """
    x = as_vector(x, "x")
    _check_callable(f, x)
    with _independent_ok():
        h = np.asarray(_ag_jacobian(_ag_grad(f))(x), dtype=np.float64)
    h = _finite(h, "Hessian", (x.size, x.size))
    return 0.5 * (h + h.T)


def third_derivative(f: Callable, x, /) -> np.ndarray:
    """Dense ``T = ∇³f(x)``, ``T[i, j, k] = ∂³f/∂x_i∂x_j∂x_k`` -- oracle only, small ``n``.

    The tensor behind Eq. (5.1) (SRR_NOTES §5.1): ``∇³f[v, v, ·] = einsum("ijk,i,j->k", T, v, v)``.
    Not symmetrised, so tests can check its total symmetry.  Raises ``ValueError`` for
    ``n > MAX_THIRD_DERIVATIVE_DIM`` (64).
    """
    x = as_vector(x, "x")
    _check_callable(f, x)
    if x.size > MAX_THIRD_DERIVATIVE_DIM:
        raise ValueError(
            f"third_derivative is for small n (<= {MAX_THIRD_DERIVATIVE_DIM}); got n = {x.size}"
        )
    with _independent_ok():
        t = np.asarray(_ag_jacobian(_ag_jacobian(_ag_grad(f)))(x), dtype=np.float64)
    return _finite(t, "third derivative", (x.size,) * 3)


def eigh_sorted(A, /, *, by: str = "abs") -> tuple[np.ndarray, np.ndarray]:
    """Eigen-decomposition of a symmetric matrix, sorted -- the dense reference for Algorithm 1.

    Args:
        A: symmetric ``n × n`` array (checked to ``100·u·max|A|``).
        by: ``"abs"`` (default): decreasing ``|λ|``, ties in modulus broken by larger ``λ`` first;
            ``"value"``: decreasing ``λ``.

    Returns:
        ``(eigvals, eigvecs)`` with ``A @ eigvecs[:, i] = eigvals[i] * eigvecs[:, i]``; each
        eigenvector's largest-modulus entry is made positive (a deterministic sign).
    """
    a = _symmetric(A)
    if by not in ("abs", "value"):
        raise ValueError(f"by must be 'abs' or 'value', got {by!r}")
    lam, q = np.linalg.eigh(a)
    order = np.lexsort((-lam, -np.abs(lam))) if by == "abs" else np.argsort(-lam, kind="stable")
    lam, q = lam[order], q[:, order]
    idx = np.argmax(np.abs(q), axis=0)
    signs = np.sign(q[idx, np.arange(q.shape[1])])
    signs[signs == 0] = 1.0
    return lam, q * signs


def dense_spectral_radius(A, /) -> DenseSpectralRadius:
    """``ρ(A) = max_i |λ_i|`` with the signed ``λ*`` and unit ``v*`` by dense ``eigh`` (SRR_NOTES §4).

    Returns:
        ``DenseSpectralRadius(rho, eigval, eigvec, gap_info)``; ``gap_info`` (:class:`GapInfo`)
        tells whether ``λ*`` is isolated (``abs_gap > 0``) and whether ``−λ*`` is also an
        eigenvalue (``tie``, judged to ``100·n·u·ρ``).

    Example:
        >>> r = dense_spectral_radius(np.diag([1.0, -3.0, 2.0]))
        >>> float(r.rho), float(r.eigval), r.eigvec.tolist(), float(r.gap_info.abs_gap)
        (3.0, -3.0, [0.0, 1.0, 0.0], 1.0)
    """
    lam, q = eigh_sorted(A)
    top = float(lam[0])
    r = abs(top)
    if lam.size == 1:
        gap = GapInfo(
            second_eigval=float("nan"), abs_gap=r, rel_gap=1.0 if r > 0 else 0.0, tie=False
        )
    else:
        second = float(lam[1])
        abs_gap = r - abs(second)
        tie_tol = 100.0 * lam.size * np.finfo(np.float64).eps * r
        tie = bool(np.any(np.abs(lam[1:] + top) <= tie_tol)) and r > 0
        gap = GapInfo(
            second_eigval=second, abs_gap=abs_gap, rel_gap=abs_gap / r if r > 0 else 0.0, tie=tie
        )
    return DenseSpectralRadius(rho=r, eigval=top, eigvec=q[:, 0].copy(), gap_info=gap)


def rho(f: Callable, x, /) -> float:
    """``ρ(x) = max_i |λ_i(∇²f(x))|`` -- the spectral radius of SRR_NOTES §4, by dense ``eigh``."""
    return float(dense_spectral_radius(hessian(f, x)).rho)


def grad_rho_fd(f: Callable, x, /, *, h: float | None = None, stencil: int = 3) -> np.ndarray:
    """Central differences of the dense ρ along each axis ``e_k``.

    The reference for ``∇ρ = sign(λ*)·∇³f[v*, v*, ·]`` (Lemma A, SRR_NOTES §5.1 and §5.4)::

        stencil=3:  (ρ(x + h e_k) − ρ(x − h e_k)) / (2h)                 truncation  h²/6 ·|∂ₖ³ρ|
        stencil=5:  (−ρ(x+2h e_k) + 8ρ(x+h e_k) − 8ρ(x−h e_k) + ρ(x−2h e_k)) / (12h)
                    (Richardson extrapolation of the 3-point rule)       truncation  h⁴/30·|∂ₖ⁵ρ|

    Rounding is ``≈ u·ρ/h`` (3-point) and ``≈ 1.5·u·ρ/h`` (5-point), from ``eigh`` and the dense
    Hessian.  Default ``h = u^(1/3)·max(1, ‖x‖_∞)`` for both: for ``stencil=3`` it balances the
    two terms (error ``O(u^(2/3))`` relative to the scale of ρ and ∂³ρ); for ``stencil=5`` it
    keeps the same rounding and makes truncation negligible even when ρ has large high
    derivatives (a small eigen-gap, or a steep ``f``) -- the robust choice for checks.

    Only meaningful where ρ is differentiable, i.e. where :func:`top_eigen_simple` holds on the
    whole segment ``x ± 2h e_k``.  Costs ``2n`` (3-point) or ``4n`` (5-point) dense Hessians.
    """
    x = as_vector(x, "x")
    if h is None:
        h = np.finfo(np.float64).eps ** (1.0 / 3.0) * max(1.0, float(np.max(np.abs(x))))
    else:
        h = positive(h, "h")
    if isinstance(stencil, bool) or stencil not in (3, 5):
        raise ValueError(f"stencil must be 3 or 5 (points), got {stencil!r}")
    # (offset in units of h, weight) of the difference quotient; the sum is divided by h
    if stencil == 3:
        rule = ((1, 0.5), (-1, -0.5))
    else:
        rule = ((2, -1 / 12), (1, 8 / 12), (-1, -8 / 12), (-2, 1 / 12))
    g = np.empty(x.size)
    for k in range(x.size):
        if x[k] + h == x[k] or x[k] - h == x[k]:
            raise ValueError(f"h={h:.3e} is too small: x[{k}] ± h rounds to x[{k}]")
        total = 0.0
        for offset, weight in rule:
            y = x.copy()
            y[k] += offset * h
            total += weight * rho(f, y)
        g[k] = total / h
    return g


def top_eigen_simple(A, /, *, rtol: float) -> bool:
    """True if the eigenvalue of largest modulus is simple and not tied with its negative.

    That is, ``ρ − |λ₂| > rtol·ρ`` with ``λ₂`` the eigenvalue of second-largest modulus -- the
    hypothesis of Lemma A (SRR_NOTES §7) under which ``ρ`` is differentiable and
    ``∇ρ = sign(λ*)·∇³f[v*, v*, ·]``.  A zero matrix (``ρ = 0``) is never simple.

    Example:
        >>> top_eigen_simple(np.diag([2.0, -2.0, 1.0]), rtol=1e-8), top_eigen_simple(np.diag([2.0, 1.0]), rtol=0.1)
        (False, True)
    """
    rtol = positive(rtol, "rtol", allow_zero=True)
    res = dense_spectral_radius(A)
    return bool(res.rho > 0 and res.gap_info.abs_gap > rtol * res.rho)


# --------------------------------------------------------------------------------------------
# private helpers


class _independent_ok(warnings.catch_warnings):
    """Silence autograd's "Output seems independent of input" (exact zeros are correct there)."""

    def __enter__(self):
        out = super().__enter__()
        warnings.filterwarnings("ignore", message="Output seems independent of input")
        return out


def _check_callable(f, x) -> None:
    """``f`` must be callable and return a finite real scalar at ``x``."""
    if not callable(f):
        raise ValueError(f"f must be callable (x -> scalar), got {type(f).__name__}")
    out = np.asarray(f(x))
    if not (np.issubdtype(out.dtype, np.floating) or np.issubdtype(out.dtype, np.integer)):
        raise ValueError(f"f must return a real scalar, got a value of dtype {out.dtype}")
    if out.size != 1:
        raise ValueError(f"f must return a scalar, got an array of shape {out.shape}")
    if not np.all(np.isfinite(out)):
        raise ValueError("f(x) is NaN or inf; expected a finite value")


def _finite(arr: np.ndarray, what: str, shape: tuple) -> np.ndarray:
    if arr.shape != shape:
        raise ValueError(f"{what} has shape {arr.shape}, expected {shape}: does f return a scalar?")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} contains NaN or inf; expected finite values")
    return arr


def _symmetric(A) -> np.ndarray:
    a = np.array(A, dtype=np.float64, copy=True)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise ValueError(f"expected a non-empty square matrix, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("matrix contains NaN or inf; expected finite values")
    asym = float(np.max(np.abs(a - a.T)))
    allowed = 100.0 * np.finfo(np.float64).eps * float(np.max(np.abs(a)))
    if asym > allowed:
        raise ValueError(f"matrix is not symmetric: max |A - A^T| = {asym:.3e} > {allowed:.3e}")
    return 0.5 * (a + a.T)
