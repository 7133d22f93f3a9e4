"""Synthetic non-convex objectives with closed-form derivatives: the claim checks' ground truth.

:class:`CubicSine` (planted Hessian spectrum at 0, bounded fifth derivative; Claims C01, C05) and
:class:`RotatedSeparable` (exact spectra and gradient-Lipschitz constant; Claim C07).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import autograd.numpy as anp
import numpy as np

from srtheory.claims._core import _U
from srtheory.testing import planted_symmetric, random_orthogonal

__all__ = ["CubicSine", "RotatedSeparable", "make_cubic_sine", "make_separable"]


@dataclass(frozen=True, eq=False)
class CubicSine:
    r"""``f(x) = ½xᵀAx + Σ_j b_j (c_jᵀx)³/6 + Σ_j w_j sin(d_jᵀx)``: non-convex, C^∞, closed forms.

    At ``x = 0`` the Hessian is exactly ``A`` (the cubic and sine terms have zero second
    derivative there), so a planted spectrum of ``A`` -- e.g. a ``±λ`` tie -- is the spectrum
    of ``H(0)``.  The fifth derivative is ``∇⁵f[v,v,v,v,·] = Σ_j w_j cos(d_jᵀx)(d_jᵀv)⁴ d_j``,
    so ``M₅(v) = Σ_j |w_j| (d_jᵀv)⁴ ‖d_j‖`` bounds it everywhere (Claim C05).
    """

    A: np.ndarray
    C: np.ndarray
    b: np.ndarray
    D: np.ndarray
    w: np.ndarray

    def f(self, x):
        """The objective, written with ``autograd.numpy`` (differentiable by the library)."""
        return (
            0.5 * anp.dot(x, anp.dot(self.A, x))
            + anp.sum(self.b * anp.dot(self.C, x) ** 3) / 6.0
            + anp.sum(self.w * anp.sin(anp.dot(self.D, x)))
        )

    def grad(self, x):
        return (
            self.A @ x
            + self.C.T @ (0.5 * self.b * (self.C @ x) ** 2)
            + self.D.T @ (self.w * np.cos(self.D @ x))
        )

    def hessian(self, x):
        return (
            self.A
            + (self.C.T * (self.b * (self.C @ x))) @ self.C
            - (self.D.T * (self.w * np.sin(self.D @ x))) @ self.D
        )

    def third(self, x, v):
        """``∇³f(x)[v, v, ·]``."""
        return self.C.T @ (self.b * (self.C @ v) ** 2) - self.D.T @ (
            self.w * np.cos(self.D @ x) * (self.D @ v) ** 2
        )

    def hessian_dot(self, x, d):
        """``d/dt H(x + t d)`` at ``t = 0``."""
        return (self.C.T * (self.b * (self.C @ d))) @ self.C - (
            self.D.T * (self.w * np.cos(self.D @ x) * (self.D @ d))
        ) @ self.D

    def m5(self, v):
        """Global bound on ``‖∇⁵f[v, v, v, v, ·]‖``."""
        return float(np.sum(np.abs(self.w) * (self.D @ v) ** 4 * np.linalg.norm(self.D, axis=1)))

    def grad_rounding(self, x):
        """First-order bound on the absolute rounding error (2-norm) of a computed ``∇f(x)``.

        Standard dot-product error analysis (Higham, *Accuracy and Stability*, §3.1): each sum of
        ``k`` products is accurate to ``γ_k Σ|terms|`` with ``γ_k ≈ k u``; the argument of
        ``cos`` carries an error ``γ_n |d_j|ᵀ|x|`` and ``cos`` adds one ulp.
        """
        n, m = self.A.shape[0], self.w.size
        ax = np.abs(x)
        terms = (
            np.abs(self.A) @ ax
            + np.abs(self.C).T @ (0.5 * np.abs(self.b) * (np.abs(self.C) @ ax) ** 2)
            + np.abs(self.D).T @ (np.abs(self.w) * (2.0 + np.abs(self.D) @ ax))
        )
        return float((n + m + 5) * _U * np.linalg.norm(terms))


def make_cubic_sine(
    eigenvalues, rng: np.random.Generator, /, *, m: int | None = None, scale: float = 0.5
):
    """A :class:`CubicSine` whose ``H(0) = A`` has the given (planted) eigenvalues."""
    A, _ = planted_symmetric(eigenvalues, rng)
    n = A.shape[0]
    m = n if m is None else m
    return CubicSine(
        A=A,
        C=rng.standard_normal((m, n)) / math.sqrt(n),
        b=scale * rng.standard_normal(m),
        D=rng.standard_normal((m, n)) / math.sqrt(n),
        w=scale * rng.standard_normal(m),
    )


@dataclass(frozen=True, eq=False)
class RotatedSeparable:
    r"""``f(x) = Σ_j φ_j(q_jᵀx)``, ``Q = [q_1 … q_n]`` orthogonal -- exact spectra and constants.

    ``φ_1(t) = w₁(t²/2 + c cos t)``, ``φ_j(t) = w_j sin(t + p_j) + γt²/2`` (``j ≥ 2``): the
    Hessian is ``Q diag(φ''(y)) Qᵀ`` (``y = Qᵀx``) with ``φ_1'' = w₁(1 − c cos y₁) ∈ [w₁(1−c),
    w₁(1+c)]`` and ``φ_j'' = γ − w_j sin(y_j + p_j) ∈ [γ − w_j, γ + w_j]`` (indefinite when
    ``w_j > γ``: non-convex).  If ``w₁(1 − c) > max_j (w_j + γ)`` the top eigenvalue is simple
    everywhere, so ``ρ(x) = w₁(1 − c cos y₁)`` is C^∞ with ``∇ρ = w₁ c sin(y₁) q₁``, and
    ``h = f + μ(ρ − K)`` (for ``K < w₁(1 − c)``) has the exact global gradient-Lipschitz constant
    ``L_h = max(w₁(1 + c|μ − 1|), max_j (w_j + γ))`` (Claim C07).
    """

    Q: np.ndarray
    w1: float
    c: float
    w: np.ndarray
    p: np.ndarray
    gamma: float

    @property
    def n(self) -> int:
        return self.Q.shape[0]

    def f(self, x):
        """The objective in ``x`` (``autograd.numpy``)."""
        y = anp.dot(self.Q.T, x)
        return self.w1 * (0.5 * y[0] ** 2 + self.c * anp.cos(y[0])) + anp.sum(
            self.w * anp.sin(y[1:] + self.p) + 0.5 * self.gamma * y[1:] ** 2
        )

    # derivatives of φ in the eigen-coordinates y, vectorised over leading axes
    def phi(self, y):
        out = self.w * np.sin(y[..., 1:] + self.p) + 0.5 * self.gamma * y[..., 1:] ** 2
        return np.concatenate(
            [(self.w1 * (0.5 * y[..., :1] ** 2 + self.c * np.cos(y[..., :1]))), out], axis=-1
        )

    def dphi(self, y):
        out = self.w * np.cos(y[..., 1:] + self.p) + self.gamma * y[..., 1:]
        return np.concatenate([self.w1 * (y[..., :1] - self.c * np.sin(y[..., :1])), out], axis=-1)

    def d2phi(self, y):
        out = self.gamma - self.w * np.sin(y[..., 1:] + self.p)
        return np.concatenate([self.w1 * (1.0 - self.c * np.cos(y[..., :1])), out], axis=-1)

    def d3phi(self, y):
        out = -self.w * np.cos(y[..., 1:] + self.p)
        return np.concatenate([self.w1 * self.c * np.sin(y[..., :1]), out], axis=-1)

    def rho_y(self, y):
        return self.w1 * (1.0 - self.c * np.cos(y[..., 0]))

    def h_y(self, y, mu, K):
        return np.sum(self.phi(y), axis=-1) + mu * np.maximum(self.rho_y(y) - K, 0.0)

    def grad_h_y(self, y, mu, K):
        g = self.dphi(y)
        active = (self.rho_y(y) > K).astype(float)
        g[..., 0] += mu * active * self.w1 * self.c * np.sin(y[..., 0])
        return g

    def lipschitz_h(self, mu) -> float:
        return float(max(self.w1 * (1.0 + self.c * abs(mu - 1.0)), np.max(self.w + self.gamma)))

    def simple_top(self) -> bool:
        return bool(self.w1 * (1.0 - self.c) > np.max(self.w + self.gamma))


def make_separable(
    n: int, rng: np.random.Generator, /, *, w1=4.0, c=0.3, gamma=0.5, w_range=(0.8, 1.5)
):
    """A :class:`RotatedSeparable` (random ``Q``, weights ``w_j ∈ w_range``, phases ``p_j``) whose top
    eigenvalue is simple everywhere -- the objective of Claim C07."""
    obj = RotatedSeparable(
        Q=random_orthogonal(n, rng),
        w1=float(w1),
        c=float(c),
        w=rng.uniform(*w_range, size=n - 1),
        p=rng.uniform(0.0, 2 * np.pi, size=n - 1),
        gamma=float(gamma),
    )
    if not obj.simple_top():  # pragma: no cover - construction guard
        raise ValueError("RotatedSeparable: w1 (1 - c) must exceed max(w_j + gamma)")
    return obj
