"""Executable claims C01-C08 of ``proofs/`` and the ``srtheory verify`` command.

The paper's theorem statements are not available (SRR_NOTES §7, §12); ``proofs/`` states and
proves the project's own precise versions (marked there as the project's reconstruction).  Each
claim has one check here, in the PEPit style: it computes the *observed* quantity and the
*bound* the proof gives, on synthetic non-convex objectives with known answers, and returns both
in a :class:`Claim` (``holds`` says whether every inequality of the claim held, not only the
headline one).  Each check also has a negative-control mode that breaks one assumption of its
claim, under which the conclusion visibly fails (``holds=False``).

=====  ==========================================================  =============================
ID     claim (proof file)                                          negative control (keyword)
=====  ==========================================================  =============================
C01    ∇ρ = sign(λ*)∇³f[v*,v*,·] where λ* is simple; one-sided     ``at="tie"`` / ``"repeated"``,
       derivatives at a ±λ tie (Kato)                              ``code_faithful=True``
C02    power iteration of Alg. 1: |λ₂/λ₁|^{2k}, |λ₂/λ₁|^k,        ``tie=True``
       residual bounds ‖r‖, ‖r‖²/δ
C03    Lanczos from a random start: Kaniel-Paige per start and     ``start="ones"``
       Kuczyński-Woźniakowski in probability
C04    warm start: iteration count from Davis-Kahan                ``path="crossing"``
C05    third-order finite differences: ε²/12·M₅ + 4η/ε²            ``smooth=False``
C06    minibatch bias 0 ≤ E ρ(H_B) − ρ(H) ≤ √(tr Cov H_B)          ``functional="lambda_min"``
C07    descent lemma for a ≤ 1/L                                   ``step_factor=2.5``
C08    almost-sure convergence of SRR-SGD                          ``schedule="constant"``,
                                                                   ``eigen_error="constant"``,
                                                                   ``schedule="inverse_sqrt"``
=====  ==========================================================  =============================

Checks may be dense (they are references): they use :mod:`srtheory.oracle` and closed-form
Hessians of their own objectives; the algorithms under test take matvecs as usual.
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

import autograd.numpy as anp
import numpy as np

from srtheory.testing import planted_symmetric, random_orthogonal, tolerance

__all__ = [
    "BUDGETS",
    "CLAIMS",
    "Claim",
    "ClaimSpec",
    "CubicSine",
    "RotatedSeparable",
    "check_C01",
    "check_C02",
    "check_C03",
    "check_C04",
    "check_C05",
    "check_C06",
    "check_C07",
    "check_C08",
    "configure",
    "format_table",
    "make_cubic_sine",
    "make_separable",
    "run",
    "verify",
]

BUDGETS = ("quick", "deep")
_U = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class Claim:
    """Result of one claim check: the observed value next to the proved bound (PEPit style).

    ``holds`` is True iff every inequality the claim asserts held in the check (the headline
    ``observed <= bound`` and the secondary ones listed in ``detail``).  ``lower`` is set for
    two-sided claims (``lower <= observed <= bound``).
    """

    id: str
    statement: str
    observed: float
    bound: float
    holds: bool
    detail: Mapping[str, object] = field(default_factory=dict)
    seconds: float = 0.0
    lower: float | None = None


class ClaimSpec(NamedTuple):
    """A registry row: the claim, where it is proved and tested, and its check."""

    id: str
    statement: str
    assumptions: str
    proof: str
    test: str
    check: Callable[..., Claim]


# =============================================================================================
# Synthetic non-convex objectives with closed-form derivatives (the checks' ground truth)
# =============================================================================================


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
    ``L_h = max(w₁(1 + c|μ − 1|), max_j (w_j + γ))`` (Claims C07, C08).
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
    eigenvalue is simple everywhere -- the objective of Claims C07 and C08."""
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


# =============================================================================================
# small helpers
# =============================================================================================


def _budget(budget) -> bool:
    if budget not in BUDGETS:
        raise ValueError(f"budget must be one of {BUDGETS}, got {budget!r}")
    return budget == "deep"


def _rng(rng, seed: int) -> np.random.Generator:
    if rng is None:
        return np.random.default_rng(seed)
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy Generator or None, got {type(rng).__name__}")  # noqa: TRY004 (contract: ValueError)
    return rng


def _choice(value, name, allowed):
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
    return value


def _claim(cid, observed, bound, ok, detail, t0, lower=None) -> Claim:
    observed, bound = float(observed), float(bound)
    holds = bool(ok) and np.isfinite(observed) and observed <= bound
    if lower is not None:
        holds = holds and observed >= lower
    return Claim(
        id=cid,
        statement=_STATEMENTS[cid],
        observed=observed,
        bound=bound,
        holds=bool(holds),
        detail=MappingProxyType(dict(detail)),
        seconds=time.perf_counter() - t0,
        lower=None if lower is None else float(lower),
    )


def _eigh(H):
    """Dense symmetric eigen-decomposition, eigenvalues ascending (reference only)."""
    return np.linalg.eigh(0.5 * (H + H.T))


def _unit(v):
    return v / np.linalg.norm(v)


# =============================================================================================
# C01 -- gradient of the spectral radius (Kato / Magnus), one-sided derivatives at a tie
# =============================================================================================


def _one_sided(fun, t):
    """Second-order one-sided differences ``(D+, D-)`` of a scalar function of ``t`` at 0."""
    f0, fp, fp2, fm, fm2 = fun(0.0), fun(t), fun(2 * t), fun(-t), fun(-2 * t)
    d_plus = (-3.0 * f0 + 4.0 * fp - fp2) / (2.0 * t)
    d_minus = (3.0 * f0 - 4.0 * fm + fm2) / (2.0 * t)
    return d_plus, d_minus


def check_C01(*, budget="quick", rng=None, at="generic", code_faithful=False) -> Claim:
    """Claim C01 (Lemma A of SRR_NOTES §7, proofs/C01_eigenvalue_gradient.md).

    ``at="generic"``: at points where the top-|λ| eigenvalue is simple, the library's
    ``spectral_radius_grad`` (``sign(λ*)·∇³f[v*, v*, ·]``, eigenpair from ``spectral_radius``)
    matches central differences of the dense ρ (``oracle.grad_rho_fd``); and at a planted
    ``±λ`` tie the one-sided derivatives of ρ equal Kato's ``max``/``min`` of the two branch
    derivatives and differ.  Observed: the largest relative error; bound: the finite-difference
    accuracy of the reference.  Negative controls: ``at="tie"`` / ``at="repeated"`` ask the
    gradient formula for the one-sided derivatives at a ``±λ`` tie / a repeated top eigenvalue
    (zoo ``isotropic_cubic`` at 0), ``code_faithful=True`` drops ``sign(λ*)``.
    """
    from srtheory import objectives, oracle
    from srtheory.eigengrad import spectral_radius_grad
    from srtheory.spectral import spectral_radius

    t0 = time.perf_counter()
    deep = _budget(budget)
    rng = _rng(rng, 101)
    _choice(at, "at", ("generic", "tie", "repeated"))
    n = 6
    # FD reference: central differences of the dense rho with h = u^(1/3) max(1,|x|): error about
    # u^(2/3) (3.7e-11) times the scale of rho and its third derivative (<= ~30 here, ratio to
    # |grad rho| up to ~30 more).  1e3 u^(2/3) = 3.7e-8 leaves two orders of room; the failures it
    # must catch (dropped sign, tie) are O(1).
    tol_grad = tolerance(factor=1e3, power=2.0 / 3.0)
    # Kato check: second-order one-sided differences with t = 1e-5: truncation t^2 |rho'''| ~ 1e-9,
    # rounding u rho / t ~ 1e-10; relative to branch derivatives of size ~1.
    tol_kato = tolerance(factor=1e2, power=0.5)  # 1.5e-6
    t_fd = 1e-5

    detail = {}
    if at == "generic":
        errors, n_points = [], 0
        cases = []
        for eigs in ((3.0, -2.0, 1.2, 0.6, -0.4, 0.1), (-3.0, 2.0, -1.2, 0.6, 0.4, -0.1)):
            obj = make_cubic_sine(eigs, rng)
            for _ in range(4 if deep else 2):
                cases.append((obj.f, 0.3 * rng.standard_normal(n)))
        ridge = objectives.get("negative_ridge")
        cases.append((ridge.f, np.array([0.2, 0.3])))  # dominant eigenvalue 12 x1^2 - 4 < 0
        mlp = objectives.get("mlp_tanh_regression")
        cases.append((mlp.f, np.array(mlp.x0)))
        neg = 0
        for f, x in cases:
            H = oracle.hessian(f, x)
            if not oracle.top_eigen_simple(H, rtol=0.05):
                continue
            eig = spectral_radius(H, rng.standard_normal(x.size), tol=1e-13)
            neg += eig.eigval < 0
            g = spectral_radius_grad(f, x, eig, code_faithful=code_faithful)
            ref = oracle.grad_rho_fd(f, x, stencil=5)  # 5-point: robust on steep rho
            errors.append(float(np.linalg.norm(g - ref) / max(np.linalg.norm(ref), 1.0)))
            n_points += 1
        detail.update(points=n_points, negative_dominant_points=int(neg), grad_rel_err=max(errors))
        # Kato at a planted tie: rho = max(lambda_a, -lambda_b) near 0
        tie = _c01_tie(rng, n, n_dirs=6 if deep else 3, t_fd=t_fd)
        detail.update(kato_rel_err=tie["kato_err"], tie_one_sided_gap=tie["min_gap"])
        observed = max(max(errors), tie["kato_err"])
        ok = tie["kato_err"] <= tol_kato and tie["min_gap"] > 10 * tol_kato and n_points >= 4
        return _claim("C01", observed, tol_grad, ok, detail, t0)

    # negative controls: the gradient formula asked at a non-differentiable point
    if at == "tie":
        obj = make_cubic_sine((3.0, -3.0, 1.0, 0.5, -0.2, 0.1), rng)
        f, x = obj.f, np.zeros(n)
    else:
        f, x = objectives.get("isotropic_cubic").f, np.zeros(2)
    H = oracle.hessian(f, x)
    eig = spectral_radius(H, rng.standard_normal(x.size), tol=1e-13)
    g = spectral_radius_grad(f, x, eig, code_faithful=code_faithful)
    worst = 0.0
    for _ in range(6 if deep else 3):
        d = _unit(rng.standard_normal(x.size))
        dp, dm = _one_sided(lambda t, d=d: oracle.rho(f, x + t * d), t_fd)
        pred = float(g @ d)
        worst = max(worst, max(abs(dp - pred), abs(dm - pred)) / max(1.0, abs(pred)))
    detail.update(at=at, formula_vs_one_sided=worst, tie_flag=bool(eig.tie))
    return _claim("C01", worst, tol_grad, True, detail, t0)


def _c01_tie(rng, n, *, n_dirs, t_fd):
    from srtheory import oracle
    from srtheory.curvature import third_order

    obj = make_cubic_sine((3.0, -3.0, 1.0, 0.5, -0.2, 0.1), rng)
    x0 = np.zeros(n)
    _, Q = _eigh(obj.A)
    qa, qb = Q[:, -1], Q[:, 0]  # +3 and -3
    grad_a = third_order(obj.f, x0, qa)  # ∇λ_a = ∇³f[q_a, q_a, ·]  (library, exact)
    grad_b = third_order(obj.f, x0, qb)
    kato_err, min_gap = 0.0, np.inf
    for _ in range(n_dirs):
        d = _unit(rng.standard_normal(n))
        alpha, beta = float(grad_a @ d), float(grad_b @ d)
        pred_plus, pred_minus = max(alpha, -beta), min(alpha, -beta)
        dp, dm = _one_sided(lambda t, d=d: oracle.rho(obj.f, x0 + t * d), t_fd)
        scale = max(1.0, abs(alpha), abs(beta))
        kato_err = max(kato_err, abs(dp - pred_plus) / scale, abs(dm - pred_minus) / scale)
        min_gap = min(min_gap, (dp - dm) / scale)
    return {"kato_err": kato_err, "min_gap": min_gap}


# =============================================================================================
# C02 -- the paper's power iteration: rates, residual bounds, no gap
# =============================================================================================


def check_C02(*, budget="quick", rng=None, ratio=0.8, tie=False) -> Claim:
    """Claim C02 (Lemma B, proofs/C02_power_iteration.md) for ``spectral.power_iteration``.

    Planted symmetric ``A`` (dominant eigenvalue of random sign, ``|λ₂/λ₁| = ratio``), random
    start.  For every iteration count ``k`` (``j = k − 1`` updates) the returned pair satisfies
    ``|θ − λ₁| ≤ spread·tan²θ₀·ratio^{2j}``, ``sin∠(v, q₁) ≤ tanθ₀·ratio^j``, and
    ``|θ − λ| ≤ ‖r‖``, ``|θ − λ| ≤ ‖r‖²/δ`` (``λ`` nearest eigenvalue, ``δ`` distance to the
    rest); the fitted rate of ``|θ − λ₁|`` is ``ratio²`` within 10 % (tightness).  Observed /
    bound: ``|θ − λ₁|/ρ`` and its bound at the last iterate.  Negative control ``tie=True``:
    ``λ_n = −λ₁`` (no gap), the bound computed with the assumed ``ratio`` fails and the Rayleigh
    quotient stalls at ``λ₁(c_a² − c_b²)/(c_a² + c_b²)`` (proof, §no gap).
    """
    from srtheory.spectral import power_iteration

    t0 = time.perf_counter()
    deep = _budget(budget)
    rng = _rng(rng, 202)
    if not 0.0 < ratio < 1.0:
        raise ValueError(f"ratio must be in (0, 1), got {ratio!r}")
    n = 80 if deep else 40
    sign = rng.choice([-1.0, 1.0])
    lam = np.empty(n)
    lam[0] = sign
    lam[1] = rng.choice([-1.0, 1.0]) * ratio
    lam[2:] = rng.uniform(-0.6 * ratio, 0.6 * ratio, size=n - 2)
    if tie:
        lam[-1] = -sign
    A, Q = planted_symmetric(lam, rng)
    v0 = rng.standard_normal(n)
    c = Q.T @ _unit(v0)
    tan0 = math.sqrt(max(1.0 - c[0] ** 2, 0.0)) / abs(c[0])
    spread = float(np.max(np.abs(lam - lam[0])))
    rho = 1.0
    # rounding floor of a computed Rayleigh quotient / angle: about n u ||A|| (factor 10 for the
    # accumulation over the iteration); the vector floor is that divided by the gap 1 - ratio.
    floor_val = tolerance(factor=10.0 * n) * rho
    floor_vec = floor_val / (1.0 - ratio)
    target = 1e-10  # run until the bound predicts |theta - lambda_1| <= 1e-10 rho
    K = math.ceil(math.log(target / (spread * tan0**2)) / (2 * math.log(ratio))) + 2
    K = max(5, min(K, 600))
    worst = {"value": 0.0, "vector": 0.0, "residual": 0.0, "kato_temple": 0.0, "expansion": 0.0}
    errs, js = [], []
    for k in range(1, K + 1):
        res = power_iteration(A, v0, tol=1e-300, max_iter=k, criteria="residual")
        j = res.n_iter - 1
        theta, v = res.eigval, res.eigvec
        err = abs(theta - lam[0])
        b_val = spread * tan0**2 * ratio ** (2 * j) + floor_val
        s = float(np.linalg.norm(v - (Q[:, 0] @ v) * Q[:, 0]))
        b_vec = tan0 * ratio**j + floor_vec
        d = np.abs(lam - theta)
        i_near = int(np.argmin(d))
        delta = float(np.min(np.delete(d, i_near)))
        worst["value"] = max(worst["value"], err / b_val)
        worst["vector"] = max(worst["vector"], s / b_vec)
        worst["residual"] = max(worst["residual"], d[i_near] / (res.residual + floor_val))
        worst["kato_temple"] = max(
            worst["kato_temple"], d[i_near] / (res.residual**2 / delta + floor_val)
        )
        worst["expansion"] = max(
            worst["expansion"], abs(theta - _power_expansion(lam, c, j)) / (10 * floor_val)
        )
        errs.append(err)
        js.append(j)
    errs, js = np.array(errs), np.array(js)
    # tightness: the exact-arithmetic expansion θ_j = Σ c_i² λ_i^{2j+1} / Σ c_i² λ_i^{2j} (proof,
    # step 1) contracts |θ_j − λ₁| by ratio² per step once the λ₂ term dominates; evaluate it
    # analytically far out (no rounding floor) to show the bound's rate is attained.
    j_far = math.ceil(math.log(1e-12) / (2 * math.log(0.6))) + js[-1]
    e_far = [_power_error(lam, c, j) for j in (j_far, j_far + 1)]
    rate_ratio = math.log(e_far[1] / e_far[0]) / (2 * math.log(ratio))
    detail = {f"worst_{k}_ratio": v for k, v in worst.items()}
    detail.update(
        iterations=K,
        tan_theta0=tan0,
        fitted_rate_over_predicted=rate_ratio,
        dominant_sign=float(sign),
        tie=bool(tie),
        observed_tail_rate=float(errs[-1] / errs[-2]) if errs[-2] > 0 else 0.0,
    )
    if tie:
        # no-gap prediction: RQ -> lambda_1 (c_a^2 - c_b^2)/(c_a^2 + c_b^2)
        ca2, cb2 = c[0] ** 2, c[-1] ** 2
        detail["no_gap_predicted_rq"] = float(lam[0] * (ca2 - cb2) / (ca2 + cb2))
        detail["no_gap_observed_rq"] = float(res.eigval)
    ok = all(v <= 1.0 for v in worst.values()) and abs(rate_ratio - 1.0) <= 0.1
    last_bound = spread * tan0**2 * ratio ** (2 * js[-1]) + floor_val
    return _claim("C02", errs[-1] / rho, last_bound / rho, ok, detail, t0)


# =============================================================================================
# C03 -- Lanczos from a random start: Kaniel-Paige and Kuczynski-Wozniakowski
# =============================================================================================


def _power_expansion(lam, c, j) -> float:
    """Rayleigh quotient of ``A^j v0`` in exact arithmetic, from the expansion (C02, step 1)."""
    s = c**2 * (lam / lam[0]) ** (2 * j)
    return float(lam[0] * np.sum(s * lam / lam[0]) / np.sum(s))


def _power_error(lam, c, j) -> float:
    """``|θ_j − λ₁|`` from the expansion, without cancellation: ``|Σ s_i (λ_i − λ₁)| / Σ s_i``."""
    s = c**2 * (lam / lam[0]) ** (2 * j)
    return float(abs(np.sum(s[1:] * (lam[1:] - lam[0]))) / np.sum(s))


def _c03_proved_eps(n: int, k: int, p: float) -> float:
    """ε solving ``4√((n−1)/π) e^{−√(2ε)(k−1)} / √ε = p`` (gap-free bound proved in C03, item 3)."""

    def prob(e):
        return (
            4.0
            * math.sqrt((n - 1) / math.pi)
            * math.exp(-math.sqrt(2 * e) * (k - 1))
            / math.sqrt(e)
        )

    lo, hi = 1e-12, 1.0
    if prob(hi) > p:
        return 1.0
    for _ in range(200):  # bisection: prob is decreasing in e
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if prob(mid) > p else (lo, mid)
    return hi


def _chebyshev(k: int, x: float) -> float:
    return math.cosh(k * math.acosh(x)) if x >= 1.0 else math.cos(k * math.acos(x))


def check_C03(*, budget="quick", rng=None, start="random", k=12, p=0.1, alpha=1e-3) -> Claim:
    """Claim C03 (proofs/C03_lanczos.md) for ``spectral.lanczos(which="LA")``.

    PSD planted spectrum (``λ₁ = 1``, ``λ₂ = 0.9``, the rest uniform in ``[0, 0.9]``), ``n``
    large, ``k`` Lanczos steps from ``m`` independent starts uniform on the sphere.  Per start:
    Kaniel-Paige ``λ₁ − θ ≤ (λ₁ − λ_n)(tanθ₀ / T_{k−1}(1 + 2γ))²``.  In probability:
    Kuczyński-Woźniakowski ``P[(λ₁ − θ)/λ₁ ≥ ε] ≤ 1.648 √n e^{−√ε (2k − 1)} =: p`` at
    ``ε = ε(p)``; the count of exceedances must not exceed the ``1 − alpha`` binomial quantile
    (the check wrongly rejects a true claim with probability ≤ ``alpha``).  Observed / bound:
    the empirical ``(1 − p)``-quantile of the relative error vs ``ε(p)``.  Negative control
    ``start="ones"``: the paper's deterministic ``1/√n`` start with ``q₁ ⟂ 1`` -- every "start"
    misses ``λ₁`` and the probabilistic bound fails.
    """
    from scipy.stats import binom

    from srtheory.spectral import lanczos

    t0 = time.perf_counter()
    deep = _budget(budget)
    rng = _rng(rng, 303)
    _choice(start, "start", ("random", "ones"))
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 2 <= k <= 100:
        raise ValueError(f"k must be an integer in [2, 100], got {k!r}")
    if not (0.0 < p < 1.0 and 0.0 < alpha < 1.0):
        raise ValueError(f"p and alpha must lie in (0, 1), got p={p!r}, alpha={alpha!r}")
    n = 400 if deep else 200
    m = 2000 if deep else 200
    lam = np.concatenate([[1.0, 0.9], rng.uniform(0.0, 0.9, size=n - 2)])
    # eigenvector basis with q1 orthogonal to the all-ones vector (matters only for start="ones")
    Z = rng.standard_normal((n, n))
    Z[:, 0] -= Z[:, 0].mean()
    Q = np.linalg.qr(Z)[0]
    A = (Q * lam) @ Q.T
    A = 0.5 * (A + A.T)
    gamma = (lam[0] - lam[1]) / (lam[1] - lam.min())
    cheb = _chebyshev(k - 1, 1.0 + 2.0 * gamma)
    eps_p = (math.log(1.648 * math.sqrt(n) / p) / (2 * k - 1)) ** 2
    eps_proved = _c03_proved_eps(n, k, p)
    floor = tolerance(factor=10.0 * n)
    rel_errs, kp_ratio = [], 0.0
    for _ in range(m):
        v0 = rng.standard_normal(n) if start == "random" else np.ones(n)
        res = lanczos(A, v0, tol=1e-300, max_iter=k, which="LA")
        if res.n_iter != k:
            raise AssertionError(
                f"lanczos ran {res.n_iter} steps, expected {k}"
            )  # pragma: no cover
        err = lam[0] - res.eigval
        c = Q.T @ _unit(v0)
        tan0 = math.sqrt(max(1.0 - c[0] ** 2, 0.0)) / max(abs(c[0]), 1e-300)
        kp = (lam[0] - lam.min()) * (tan0 / cheb) ** 2 + floor
        kp_ratio = max(kp_ratio, err / kp)
        rel_errs.append(err / lam[0])
    rel_errs = np.array(rel_errs)
    exceed = int(np.sum(rel_errs >= eps_p))
    exceed_proved = int(np.sum(rel_errs >= eps_proved))
    allowed = int(binom.ppf(1.0 - alpha, m, p))
    q_obs = float(np.quantile(rel_errs, 1.0 - p))
    detail = {
        "starts": m,
        "n": n,
        "k": k,
        "p": p,
        "eps_p": eps_p,
        "exceedances": exceed,
        "allowed_exceedances": allowed,
        "kaniel_paige_worst_ratio": kp_ratio,
        "eps_p_proved": eps_proved,
        "exceedances_proved": exceed_proved,
        "median_rel_err": float(np.median(rel_errs)),
        "false_alarm_probability": alpha,
    }
    ok = (
        exceed <= allowed
        and exceed_proved <= allowed
        and min(rel_errs) >= -floor
        and (kp_ratio <= 1.0 or start != "random")
    )
    return _claim("C03", q_obs, eps_p, ok, detail, t0)


# =============================================================================================
# C04 -- warm start: iteration count via Davis-Kahan
# =============================================================================================


def _c04_count_bound(tan0, r, spread, rho, tau, cap=10**6) -> float:
    """Smallest ``j`` with ``spread·s_j ≤ τ(ρ − spread·s_j²)``, ``s_j = min(1, tan0·r^j)``; +1."""
    if not np.isfinite(tan0):
        return math.inf
    for j in range(cap):
        s = min(1.0, tan0 * r**j)
        if spread * s <= tau * (rho - spread * s * s):
            return j + 1.0
        if r >= 1.0 and j > 0:
            return math.inf
    return math.inf


def _warm_bound(delta, gap, eps_prev, r, spread, rho, tau) -> tuple[float, float]:
    """Claim C04's count bound from (δ, g, previous residual angle, r): returns (bound, tanφ0)."""
    if not delta < gap:
        return math.inf, math.inf
    dk = min(1.0, delta / (gap - delta))  # Davis-Kahan sin bound
    phi0 = math.asin(min(1.0, eps_prev)) + math.asin(dk)
    if phi0 >= math.pi / 2:
        return math.inf, math.inf
    tan0 = math.tan(phi0)
    return _c04_count_bound(tan0, r, spread, rho, tau), tan0


def check_C04(*, budget="quick", rng=None, path="srr", tol=1e-8, assumed_gap=None) -> Claim:
    """Claim C04 (proofs/C04_warm_start.md): warm-started ``power_iteration`` along a path.

    ``path="srr"``: gradient descent on ``h = f + μρ`` for the zoo's ``mlp_tanh_regression``
    (Algorithm 2 full batch), the power iteration (``criteria="residual"``, tolerance ``tol``)
    warm-started at each step from the previous step's eigenvector.  Along the path the check
    measures ``δ = max ‖H_{t+1} − H_t‖₂``, ``g = min gap``, ``r = max |λ₂/λ₁|`` and the previous
    residual angle, and the bound ``k(δ, g, r)`` of the claim (Davis-Kahan + the power-iteration
    rate).  Observed / bound: the largest warm-started iteration count vs ``k(δ, g, r)``.
    Negative control ``path="crossing"``: a planted path whose top two eigenvalues cross, with
    the gap assumed from the start of the path (``assumed_gap``): the assumption is false and the
    count blows past the bound.
    """
    from srtheory import objectives, oracle
    from srtheory.regularizer import regularized_grad
    from srtheory.spectral import power_iteration

    t0 = time.perf_counter()
    deep = _budget(budget)
    rng = _rng(rng, 404)
    _choice(path, "path", ("srr", "crossing"))
    steps = 60 if deep else 25
    if path == "srr":
        obj = objectives.get("mlp_tanh_regression")
        f, x, mu, a = obj.f, np.array(obj.x0), 0.1, 0.02
        n = obj.dim
    else:
        from scipy.linalg import expm

        f = x = mu = a = None
        n = 12
        Qb = random_orthogonal(n, rng)
        base = np.concatenate([[2.0, 1.4], rng.uniform(-1.0, 1.0, n - 2)])
        S = np.zeros((n, n))
        S[2, 3], S[3, 2] = 0.02, -0.02  # a slow rotation on top of the crossing
        H_list = []
        for t in range(steps + 1):
            lam_t = base.copy()
            lam_t[0] = 2.0 - 1.2 * t / steps  # crosses lambda_2 = 1.4 half way
            Qt = expm(t * S) @ Qb
            Ht = (Qt * lam_t) @ Qt.T
            H_list.append(0.5 * (Ht + Ht.T))
    v = np.ones(n) / math.sqrt(n)  # Algorithm 1's initial v0 = 1/sqrt(n)
    counts, cold_counts, deltas, gaps, ratios, spreads, rhos, eps_prev_list = (
        [],
        [],
        [],
        [],
        [],
        [],
        [],
        [],
    )
    ratio_all, abs_gaps = [], []
    H_prev = None
    prev = None
    for t in range(steps + 1):
        if path == "srr":
            H = oracle.hessian(f, x)
        else:
            H = H_list[t]
        lam, Q = _eigh(H)
        order = np.argsort(-np.abs(lam))
        lam, Q = lam[order], Q[:, order]
        res = power_iteration(H, v, tol=tol, max_iter=20000, criteria="residual")
        cold = power_iteration(H, np.ones(H.shape[0]), tol=tol, max_iter=20000, criteria="residual")
        if t > 0:
            counts.append(res.n_iter)
            cold_counts.append(cold.n_iter)
            deltas.append(float(np.linalg.norm(H - H_prev, 2)))
            ratios.append(abs(lam[1]) / abs(lam[0]))
            spreads.append(float(np.max(np.abs(lam[1:] - lam[0]))))
            rhos.append(abs(lam[0]))
            eps_prev_list.append(prev)
        gaps.append(float(np.min(np.abs(lam[1:] - lam[0]))))
        abs_gaps.append(float(abs(lam[0]) - abs(lam[1])))
        ratio_all.append(abs(lam[1]) / abs(lam[0]))
        # residual angle of the returned vector: sin <= ||r|| / min_{i != 1} |theta - lambda_i|
        sep = float(np.min(np.abs(lam[1:] - res.eigval)))
        prev = res.residual / sep if sep > 0 else 1.0
        H_prev, v = H, res.eigvec
        if path == "srr":  # Algorithm 2 steps 2.3-2.5 (full batch, plain SGD step)
            x = x - a * regularized_grad(f, x, mu=mu, K=0.0, eig=res)
    delta, r, spread, rho = max(deltas), max(ratios), max(spreads), min(rhos)
    gap = min(gaps)
    if path == "crossing":  # the gap and ratio a user would assume from the start of the path
        gap, r = gaps[0], ratio_all[0]
    if assumed_gap is not None:
        gap = float(assumed_gap)
    eps_prev = max(eps_prev_list)
    bound, tan0 = _warm_bound(delta, gap, eps_prev, r, spread, rho, tol)
    asym = (
        math.log(max(tan0, 1e-300) * spread / (tol * rho)) / math.log(1.0 / r)
        if np.isfinite(tan0)
        else math.inf
    )
    detail = {
        "path": path,
        "steps": steps,
        "delta_max": delta,
        "gap_used": gap,
        "gap_min_observed": min(gaps),
        "ratio_used": r,
        "ratio_max_observed": max(ratios),
        "tan_phi0_bound": tan0,
        "warm_mean": float(np.mean(counts)),
        "cold_mean": float(np.mean(cold_counts)),
        "log_formula": asym,
        "eps_prev_max": eps_prev,
    }
    # assumptions: delta < g (Davis-Kahan) and delta < (rho - |lambda_2|)/2 (dominance persists)
    ok = (delta < gap and 2 * delta < min(abs_gaps)) or path == "crossing"
    detail["abs_gap_min_observed"] = min(abs_gaps)
    return _claim("C04", max(counts), bound, ok, detail, t0)


# =============================================================================================
# C05 -- finite-difference third-order term: truncation eps^2, rounding u/eps^2
# =============================================================================================


def check_C05(*, budget="quick", rng=None, smooth=True) -> Claim:
    """Claim C05 (proofs/C05_finite_differences.md) for ``curvature.third_order(method="fd")``.

    On :class:`CubicSine` (non-convex, ``M₅`` known), for ``ε`` on a log grid, the error of
    ``D(ε) = [∇f(x+εv) − 2∇f(x) + ∇f(x−εv)]/ε²`` against the closed-form ``∇³f[v, v, ·]`` obeys
    ``‖D(ε) − ∇³f[v,v,·]‖ ≤ ε²M₅‖v‖⁴/12 + (4η + 2Lu(‖x‖+ε‖v‖))/ε² + 4u‖T‖`` with ``η`` the
    gradient's rounding bound; the fitted slopes are 2 (truncation range) and −2 (rounding range).
    Observed / bound: the largest ratio error/bound over the grid, bound 1.  Negative control
    ``smooth=False`` adds ``w·max(0, c₀ᵀ(x − x₀))^{3.5}`` with its kink at ``x``: ``f`` is only C³
    there, the error is ``∝ ε^{1/2}`` and exceeds the C⁵ bound.
    """
    from srtheory.curvature import third_order

    t0 = time.perf_counter()
    deep = _budget(budget)
    rng = _rng(rng, 505)
    n = 6
    obj = make_cubic_sine((2.0, -1.5, 1.0, 0.5, -0.3, 0.2), rng, m=8, scale=1.0)
    n_dirs = 6 if deep else 3
    eps_grid = np.logspace(-6.5, -0.5, 25)
    trunc = eps_grid >= 10**-1.7
    round_ = eps_grid <= 10**-5.0
    worst, slopes_t, slopes_r = 0.0, [], []
    c0 = _unit(rng.standard_normal(n))
    for _ in range(n_dirs):
        x = 0.5 * rng.standard_normal(n)
        v = _unit(rng.standard_normal(n))
        if smooth:
            f = obj.f
        else:
            x0k = x.copy()
            if c0 @ v < 0:
                v = -v

            def f(z, x0k=x0k):  # only C^3 at z = x0k: max(0, c0.(z - x0k))^3.5
                return obj.f(z) + anp.maximum(anp.dot(c0, z - x0k), 0.0) ** 3.5

        exact = obj.third(x, v)  # the kink term's third derivative is 0 at the kink
        m5 = obj.m5(v)
        xs = [x + e * v for e in (-eps_grid[-1], 0.0, eps_grid[-1])]
        eta = max(obj.grad_rounding(z) for z in xs)
        lip = float(np.linalg.norm(obj.hessian(x), 2)) + 2.0 * float(
            np.sum(np.abs(obj.b) * np.linalg.norm(obj.C, axis=1) ** 3)
            + np.sum(np.abs(obj.w) * np.linalg.norm(obj.D, axis=1) ** 3)
        )
        errs, bounds = [], []
        for e in eps_grid:
            d = third_order(f, x, v, method="fd", eps=float(e))
            err = float(np.linalg.norm(d - exact))
            b = (
                e**2 * m5 / 12.0
                + (4.0 * eta + 2.0 * lip * _U * (np.linalg.norm(x) + e)) / e**2
                + 4.0 * _U * np.linalg.norm(exact)
            )
            errs.append(err)
            bounds.append(b)
        errs, bounds = np.array(errs), np.array(bounds)
        worst = max(worst, float(np.max(errs / bounds)))
        slopes_t.append(float(np.polyfit(np.log(eps_grid[trunc]), np.log(errs[trunc]), 1)[0]))
        slopes_r.append(
            float(
                np.polyfit(np.log(eps_grid[round_]), np.log(np.maximum(errs[round_], 1e-300)), 1)[0]
            )
        )
    st, sr = float(np.median(slopes_t)), float(np.median(slopes_r))
    detail = {
        "truncation_slope": st,
        "rounding_slope": sr,
        "directions": n_dirs,
        "eps_range": (float(eps_grid[0]), float(eps_grid[-1])),
        "smooth": bool(smooth),
    }
    # slopes: truncation exactly 2 asymptotically (leading term eps^2/12 grad^5 f[v^4]); the fit on
    # [0.02, 0.3] sees the next term (eps^4) as a bias of ~0.05.  Rounding: the error is a sum of
    # quasi-random roundings divided by eps^2; over 1.5 decades its log fluctuates by ~ln 2, so
    # the fitted slope is -2 to within ~0.4.
    ok = abs(st - 2.0) <= 0.25 and abs(sr + 2.0) <= 0.5
    return _claim("C05", worst, 1.0, ok, detail, t0)


# =============================================================================================
# C06 -- minibatch bias of rho (Jensen), quantified by the minibatch covariance
# =============================================================================================


def check_C06(*, budget="quick", rng=None, functional="rho", sampling="uniform", z=3.09) -> Claim:
    """Claim C06 (proofs/C06_minibatch_bias.md) on the zoo's ``mlp_tanh_regression`` at ``x0``.

    Per-sample Hessians ``H_i`` (dense oracle), ``H = mean H_i``; uniform batches without
    replacement of size ``b``.  For each ``b``: ``L(b) ≤ E ρ(H_B) − ρ(H) ≤ U(b)`` with
    ``U(b) = √((N−b)/((N−1)b) · σ²)``, ``σ² = mean ‖H_i − H‖_F²`` and ``L(b)`` the (pathwise
    smaller) 2×2 Rayleigh-Ritz lower bound, and the gap is non-increasing in ``b``.
    ``E`` is exact (enumeration) for ``b ≤ 2`` and Monte Carlo otherwise, judged at ``z``
    standard errors (``z = 3.09``: one-sided false-alarm probability 1e-3 per comparison).
    Observed / bound: the gap at ``b = 2`` vs ``[L(2), U(2)]``.  Negative control:
    ``functional="lambda_min"`` (concave, not convex: the inequality reverses).  ``sampling=
    "biased"`` (batches only from the quarter of the samples with smallest ``ρ(H_i)``, so
    ``E H_B ≠ H``) voids the claim's proof; on this objective the gap stays positive anyway
    (single-sample Hessians are far spikier than their mean), so it is a diagnostic, not a control.
    """
    from itertools import combinations

    from srtheory import objectives, oracle

    t0 = time.perf_counter()
    deep = _budget(budget)
    rng = _rng(rng, 606)
    _choice(functional, "functional", ("rho", "lambda_min"))
    _choice(sampling, "sampling", ("uniform", "biased"))
    obj = objectives.get("mlp_tanh_regression")
    x = np.array(obj.x0)
    N = obj.n_samples
    Hi = np.array([oracle.hessian(lambda z, i=i: obj.loss(z, np.array([i])), x) for i in range(N)])
    H = Hi.mean(axis=0)

    def fn(M):
        ev = np.linalg.eigvalsh(M)
        return np.max(np.abs(ev), axis=-1) if functional == "rho" else ev[..., 0]

    lamH, QH = _eigh(H)
    top = int(np.argmax(np.abs(lamH)))
    q1, sgn = QH[:, top], np.sign(lamH[top])
    pool = np.arange(N)
    if sampling == "biased":
        pool = np.argsort(fn(Hi))[: N // 4]
    sigma2 = float(np.mean(np.sum((Hi - H) ** 2, axis=(1, 2))))
    sizes = (1, 2, 4, 8, 16) if deep else (1, 2, 4, 8)
    M = 20000 if deep else 4000
    rows, ok = [], True
    for b in sizes:
        if b <= 2:
            batches = np.array(list(combinations(pool, b)))
        else:
            batches = np.array([rng.choice(pool, size=b, replace=False) for _ in range(M)])
        HB = Hi[batches].mean(axis=1)
        vals = fn(HB)
        gap = float(vals.mean() - fn(H))
        se = 0.0 if b <= 2 else float(vals.std(ddof=1) / math.sqrt(len(vals)))
        U = math.sqrt((N - b) / ((N - 1) * b) * sigma2)
        # 2x2 Rayleigh-Ritz on span{q1, p}, p = normalised (I - q1 q1^T) E q1: lambda of the
        # compression (in the dominant sign's direction) <= rho(H_B) pathwise (interlacing)
        E = HB - H
        Eq = E @ q1
        P = Eq - np.outer(Eq @ q1, q1)
        pn = np.linalg.norm(P, axis=1, keepdims=True)
        P = np.where(pn > 0, P / np.maximum(pn, 1e-300), 0.0)
        a11 = q1 @ H @ q1 + Eq @ q1
        a12 = np.einsum("bi,bi->b", P, Eq)
        a22 = np.einsum("bi,bij,bj->b", P, HB, P)
        mid, rad = 0.5 * (a11 + a22), np.sqrt(0.25 * (a11 - a22) ** 2 + a12**2)
        comp = mid + rad if sgn > 0 else -(mid - rad)
        L = float(comp.mean() - abs(lamH[top])) if functional == "rho" else -math.inf
        rows.append({"b": int(b), "gap": gap, "se": se, "lower": L, "upper": U})
        ok = ok and gap >= -z * se - tolerance(factor=100) and gap <= U + z * se
        if functional == "rho" and sampling == "uniform":
            ok = ok and L <= gap + z * se + tolerance(factor=100)
    for r0, r1 in itertools.pairwise(rows):
        ok = ok and r1["gap"] <= r0["gap"] + z * (r0["se"] + r1["se"]) + tolerance(factor=100)
    detail = {
        "N": N,
        "sigma2_frobenius": sigma2,
        "rows": tuple(rows),
        "functional": functional,
        "sampling": sampling,
        "z": z,
    }
    r2 = rows[1]
    lower = r2["lower"] if (functional == "rho" and sampling == "uniform") else 0.0
    return _claim("C06", r2["gap"], r2["upper"], ok, detail, t0, lower=lower)


# =============================================================================================
# C07 -- descent lemma
# =============================================================================================


def check_C07(*, budget="quick", rng=None, step_factor=1.0, mu=0.5, points=None) -> Claim:
    """Claim C07 (proofs/C07_descent.md): one step ``x⁺ = x − a∇h(x)`` with ``a = step_factor/L``.

    Objectives with an exact gradient-Lipschitz constant: :class:`RotatedSeparable` with the
    SRR penalty (``h = f + μ(ρ − K)``, ρ smooth everywhere) and the zoo's ``sharp_flat_2d``
    (``μ = 0``, stored ``lipschitz_grad``).  For ``a ≤ 1/L`` the claim gives
    ``h(x⁺) − h(x) ≤ −a(1 − La/2)‖∇h‖² ≤ −(a/2)‖∇h‖²``.  Observed: ``max (h(x⁺) − h(x))/(a‖∇h‖²)``
    over the points; bound ``−1/2`` (plus the rounding of the two ``h`` values).  Negative control
    ``step_factor=2.5`` (``a > 2/L``): steps along the stiffest direction increase ``h``.
    """
    from srtheory import objectives
    from srtheory.curvature import gradient

    t0 = time.perf_counter()
    deep = _budget(budget)
    rng = _rng(rng, 707)
    if not step_factor > 0:
        raise ValueError(f"step_factor must be > 0, got {step_factor!r}")
    n_pts = (2000 if deep else 300) if points is None else points.shape[0]
    obj = make_separable(6, rng)
    K = 1.0
    L = obj.lipschitz_h(mu)
    a = step_factor / L
    if points is None:
        X = 3.0 * rng.standard_normal((n_pts, 6))
        # include points whose gradient lies along the stiffest direction (where the lemma is tight)
        X[: n_pts // 10] = 0.0
        X[: n_pts // 10, 0] = rng.uniform(-3, 3, n_pts // 10)
        X[: n_pts // 10] = X[: n_pts // 10] @ obj.Q.T
    else:
        X = np.array(points, dtype=float)
        if X.ndim != 2 or X.shape[1] != 6 or not np.all(np.isfinite(X)):
            raise ValueError(f"points must be a finite (m, 6) array, got shape {X.shape}")
    Y = X @ obj.Q
    G = obj.grad_h_y(Y, mu, K)
    Yp = Y - a * G
    h0, h1 = obj.h_y(Y, mu, K), obj.h_y(Yp, mu, K)
    g2 = np.sum(G**2, axis=-1)
    keep = g2 > 1e-12
    slack = 16 * _U * (np.abs(h0) + np.abs(h1))
    norm_change = (h1 - h0 - slack)[keep] / (a * g2[keep])
    observed = float(np.max(norm_change))
    # zoo objective with a stored global L (mu = 0)
    zoo = objectives.get("sharp_flat_2d")
    Lz = float(zoo.lipschitz_grad)
    az = step_factor / Lz
    zoo_max = -math.inf
    for _ in range(60 if deep else 20):
        x = rng.uniform(-2, 2, size=2)
        g = gradient(zoo.f, x)
        gg = float(g @ g)
        if gg < 1e-12:
            continue
        f0, f1 = float(zoo.f(x)), float(zoo.f(x - az * g))
        zoo_max = max(zoo_max, (f1 - f0 - 16 * _U * (abs(f0) + abs(f1))) / (az * gg))
    observed = max(observed, zoo_max)
    detail = {
        "L_h": L,
        "step": a,
        "mu": mu,
        "points": int(keep.sum()),
        "lemma_amount": -(1 - L * a / 2),
        "zoo_L": Lz,
        "zoo_max_normalized_change": zoo_max,
        "fraction_increasing": float(np.mean(norm_change > 0)),
    }
    return _claim("C07", observed, -0.5, True, detail, t0)


# =============================================================================================
# C08 -- almost-sure convergence of SRR-SGD (statistical check)
# =============================================================================================


def _c08_run(
    obj,
    *,
    m,
    T,
    schedule,
    eigen_error,
    rng,
    A=4.0,
    k0=20.0,
    sigma=0.5,
    s0=1.0,
    mu=0.5,
    K=1.0,
    checkpoints=(),
):
    """SRR-SGD ``y_{k+1} = y_k − a_k(∇h(y_k) + e_k + w_k)`` for ``m`` trajectories at once.

    Run in the eigen-coordinates ``y = Qᵀx`` of :class:`RotatedSeparable` (SGD with isotropic
    Gaussian noise is rotation-equivariant, so this is exactly the run in ``x``).  The regularizer
    gradient is the one Algorithm 2 computes from an approximate eigenvector
    ``v̂ = (q₁ + s_k q₂)/‖·‖`` (power iteration's error lies mostly along ``q₂``, Claim C02):
    ``sign(λ̂)∇³f[v̂, v̂, ·]``, so the eigen
    error ``e_k = μ(∇³f[v̂,v̂,·] − ∇³f[q₁,q₁,·])`` is ``O(s_k²)``.
    """
    n = obj.n
    Y = rng.uniform(-3.0, 3.0, size=(m, n))
    a0 = A / k0
    grad_sq = np.zeros((len(checkpoints), m))
    h_osc = np.zeros((len(checkpoints), m))
    windows = [(c // 2, c) for c in checkpoints]
    acc = np.zeros((len(checkpoints), m))
    hmin = np.full((len(checkpoints), m), np.inf)
    hmax = np.full((len(checkpoints), m), -np.inf)
    for k in range(T):
        if schedule == "inverse_time":
            a = A / (k + k0)
        elif schedule == "inverse_sqrt":
            a = a0 * math.sqrt(k0 / (k + k0))
        else:
            a = a0
        s = s0 * math.sqrt(k0 / (k + k0)) if eigen_error == "summable" else s0
        g = obj.grad_h_y(Y, mu, K)
        for i, (lo, hi) in enumerate(windows):
            if lo <= k < hi:
                acc[i] += np.sum(g**2, axis=1)
                hv = obj.h_y(Y, mu, K)
                hmin[i] = np.minimum(hmin[i], hv)
                hmax[i] = np.maximum(hmax[i], hv)
        # eigenvector error: alpha_j = (q_j^T v_hat)^2
        # power iteration's error is dominated by the second eigenvector (Claim C02): z = q_2
        alpha = np.zeros((m, n))
        alpha[:, 0], alpha[:, 1] = 1.0 / (1.0 + s * s), s * s / (1.0 + s * s)
        d3 = obj.d3phi(Y)
        e = d3 * alpha
        e[:, 0] -= d3[:, 0]  # computed minus exact regularizer gradient (exact: d3[:,0] e_1)
        Y = Y - a * (g + mu * e + sigma * rng.standard_normal((m, n)))
    for i, (lo, hi) in enumerate(windows):
        grad_sq[i] = acc[i] / (hi - lo)
        h_osc[i] = hmax[i] - hmin[i]
    return grad_sq, h_osc


def check_C08(
    *,
    budget="quick",
    rng=None,
    schedule="inverse_time",
    eigen_error="summable",
    alpha=0.01,
    threshold=0.5,
) -> Claim:
    """Claim C08 (proofs/C08_as_convergence.md): SRR-SGD converges almost surely -- statistically.

    ``m`` seeded trajectories of SRR-SGD on :class:`RotatedSeparable` (non-convex, ``h`` bounded
    below with ``L``-Lipschitz gradient, simple top eigenvalue everywhere) with unbiased Gaussian
    gradient noise and the eigen-solver error of an eigenvector at angle ``s_k``.  Statistic:
    ``G_i(T)`` = the mean of ``‖∇h(x_k)‖²`` over the window ``(T/2, T]`` of trajectory ``i``; the
    conclusion ``∇h(x_k) → 0`` is tested as ``median_i G_i(T)/G_i(T/8) ≤ threshold`` at the
    bootstrap upper ``1 − alpha`` quantile (false-alarm probability ≈ ``alpha``), and ``h(x_k)``
    converging as the same for the window oscillation ``max − min`` of ``h``.  Negative controls:
    ``schedule="constant"`` (noise
    floor), ``eigen_error="constant"`` (``s_k = s₀``: bias floor), ``schedule="inverse_sqrt"``
    (``Σa² = ∞``; not refuted in finite time, but slower: see ``detail``).
    """
    t0 = time.perf_counter()
    deep = _budget(budget)
    rng = _rng(rng, 808)
    if not (0.0 < alpha < 1.0 and 0.0 < threshold < 1.0):
        raise ValueError(f"alpha and threshold must lie in (0, 1), got {alpha!r}, {threshold!r}")
    _choice(schedule, "schedule", ("inverse_time", "constant", "inverse_sqrt"))
    _choice(eigen_error, "eigen_error", ("summable", "constant"))
    obj = make_separable(6, np.random.default_rng(8080))
    m, T = (256, 160000) if deep else (64, 16000)
    cps = (T // 8, T)
    gsq, osc = _c08_run(
        obj, m=m, T=T, schedule=schedule, eigen_error=eigen_error, rng=rng, checkpoints=cps
    )
    # per-trajectory decay ratios; the median is robust to the few trajectories that are still in
    # transit near a saddle at T (a.s. convergence has no rate; the ODE time sum a_k ~ log k)
    R, R_osc = gsq[1] / gsq[0], osc[1] / osc[0]
    B = 2000 if deep else 500
    idx = rng.integers(0, m, size=(B, m))
    upper = float(np.quantile(np.median(R[idx], axis=1), 1 - alpha))
    upper_osc = float(np.quantile(np.median(R_osc[idx], axis=1), 1 - alpha))
    detail = {
        "trajectories": m,
        "steps": T,
        "schedule": schedule,
        "eigen_error": eigen_error,
        "median_G_T_over_8": float(np.median(gsq[0])),
        "median_G_T": float(np.median(gsq[1])),
        "median_ratio": float(np.median(R)),
        "median_ratio_upper": upper,
        "fraction_ratio_below_threshold": float(np.mean(R <= threshold)),
        "median_h_osc_ratio": float(np.median(R_osc)),
        "h_osc_ratio_upper": upper_osc,
        "median_h_osc_T": float(np.median(osc[1])),
        "false_alarm_probability": alpha,
        "max_grad_norm_T": float(np.sqrt(np.max(gsq[1]))),
    }
    return _claim("C08", upper, threshold, upper_osc <= threshold, detail, t0)


# =============================================================================================
# registry and the `srtheory verify` command
# =============================================================================================

_STATEMENTS = {
    "C01": "where the top-|λ| eigenvalue is simple, ∇ρ = sign(λ*)∇³f[v*,v*,·]; "
    "at a ±λ tie only one-sided derivatives (Kato max/min) exist",
    "C02": "power iteration (sign flip): |θ−λ₁| ≤ spread·tan²θ₀·|λ₂/λ₁|^{2k}, "
    "sin∠ ≤ tanθ₀|λ₂/λ₁|^k, |θ−λ| ≤ ‖r‖, ‖r‖²/δ",
    "C03": "Lanczos, random start: Kaniel–Paige per start; "
    "P[rel. err ≥ ε] ≤ 1.648√n e^{−√ε(2k−1)} (Kuczyński–Woźniakowski)",
    "C04": "warm start: Hessian moves ≤ δ < g ⇒ power iterations "
    "≤ k(δ,g) = O(log(δ/(g·tol))/log|λ₁/λ₂|) (Davis–Kahan)",
    "C05": "FD third-order term: error ≤ ε²M₅‖v‖⁴/12 + O(u/ε²); slopes +2 and −2",
    "C06": "minibatch bias: 0 ≤ E ρ(H_B) − ρ(H) ≤ √((N−b)/((N−1)b)·σ²_F), non-increasing in b",
    "C07": "descent lemma: a ≤ 1/L ⇒ h(x − a∇h) ≤ h(x) − a(1 − La/2)‖∇h‖² ≤ h(x) − (a/2)‖∇h‖²",
    "C08": "SRR-SGD, Σa=∞, Σa²<∞, unbiased noise, Σa‖e‖<∞: h(x_k) converges and ∇h(x_k) → 0 a.s.",
}

_PROOFS = {
    "C01": "C01_eigenvalue_gradient.md",
    "C02": "C02_power_iteration.md",
    "C03": "C03_lanczos.md",
    "C04": "C04_warm_start.md",
    "C05": "C05_finite_differences.md",
    "C06": "C06_minibatch_bias.md",
    "C07": "C07_descent.md",
    "C08": "C08_as_convergence.md",
}
_TESTS = {
    "C01": "test_C01_eigenvalue_gradient.py",
    "C02": "test_C02_power_iteration.py",
    "C03": "test_C03_lanczos.py",
    "C04": "test_C04_warm_start.py",
    "C05": "test_C05_finite_differences.py",
    "C06": "test_C06_minibatch_bias.py",
    "C07": "test_C07_descent.py",
    "C08": "test_C08_as_convergence.py",
}
_ASSUMPTIONS = {
    "C01": "f ∈ C³ near x; top-|λ| eigenvalue simple, −λ* not an eigenvalue",
    "C02": "A symmetric; |λ₁| > |λ₂| ≥ …; start not ⟂ q₁",
    "C03": "A symmetric PSD; start uniform on the sphere; exact-arithmetic Lanczos (full reorth.)",
    "C04": "‖H_{t+1} − H_t‖ ≤ δ < g (gap of H_t), 2δ < ρ − |λ₂|; |λ₂/λ₁| ≤ r < 1; residual known",
    "C05": "f ∈ C⁵ on the segment, ‖∇⁵f[v⁴,·]‖ ≤ M₅; gradient rounding ≤ η",
    "C06": "H_B the mean of a uniform batch (E H_B = H); ρ = ‖·‖₂ convex",
    "C07": "∇h L-Lipschitz on the segment; 0 < a ≤ 1/L",
    "C08": "h ≥ h_inf, ∇h L-Lipschitz; Σa=∞, Σa²<∞; E[w|F]=0, E‖w‖²≤A+B‖∇h‖²; "
    "Σa_k‖e_k‖<∞, ‖e_k‖ bounded",
}

_CHECKS = {
    "C01": check_C01,
    "C02": check_C02,
    "C03": check_C03,
    "C04": check_C04,
    "C05": check_C05,
    "C06": check_C06,
    "C07": check_C07,
    "C08": check_C08,
}

CLAIMS: dict[str, ClaimSpec] = {
    cid: ClaimSpec(
        cid,
        _STATEMENTS[cid],
        _ASSUMPTIONS[cid],
        f"proofs/{_PROOFS[cid]}",
        f"tests/claims/{_TESTS[cid]}",
        _CHECKS[cid],
    )
    for cid in sorted(_CHECKS)
}


def verify(ids=None, /, *, budget="quick", progress=None) -> list[Claim]:
    """Run the checks of ``ids`` (default: all, in order) at ``budget``; a check that raises is a
    failed claim (its error in ``detail``).  ``progress(msg)`` receives one line per claim."""
    _budget(budget)
    ids = list(CLAIMS) if ids is None else list(ids)
    out = []
    for cid in ids:
        if cid not in CLAIMS:
            raise ValueError(f"unknown claim {cid!r}; expected one of {sorted(CLAIMS)}")
        if progress:
            progress(f"[{cid}] running ({budget}) ...")
        t0 = time.perf_counter()
        try:
            res = CLAIMS[cid].check(budget=budget)
        except Exception as exc:  # noqa: BLE001 -- reported as a failed claim, never swallowed
            res = Claim(
                cid,
                _STATEMENTS[cid],
                math.nan,
                math.nan,
                False,
                MappingProxyType({"error": f"{type(exc).__name__}: {exc}"}),
                time.perf_counter() - t0,
            )
        out.append(res)
        if progress:
            progress(f"[{cid}] {'holds' if res.holds else 'FAILS'} in {res.seconds:.1f} s")
    return out


def format_table(results: list[Claim], /, *, width: int = 70) -> str:
    """Plain-text table: ID, statement, observed, bound, holds, time."""
    lines = [
        f"{'ID':<4} {'statement':<{width}} {'observed':>11} {'bound':>23} {'holds':>5} {'time':>7}"
    ]
    for r in results:
        st = r.statement if len(r.statement) <= width else r.statement[: width - 1] + "…"
        bound = f"{r.bound:.3g}" if r.lower is None else f"[{r.lower:.3g}, {r.bound:.3g}]"
        lines.append(
            f"{r.id:<4} {st:<{width}} {r.observed:>11.3g} {bound:>23} "
            f"{'yes' if r.holds else 'NO':>5} {r.seconds:>6.1f}s"
        )
        if "error" in r.detail:
            lines.append(f"     error: {r.detail['error']}")
    return "\n".join(lines)


def configure(parser: argparse.ArgumentParser) -> None:
    """Options of ``srtheory verify``."""
    parser.add_argument(
        "--claim",
        action="append",
        metavar="ID",
        choices=sorted(CLAIMS),
        help="check only this claim (repeatable); default: all",
    )
    parser.add_argument(
        "--deep", action="store_true", help="larger budget (more points, starts, trajectories)"
    )
    parser.add_argument("--detail", action="store_true", help="also print each check's detail")


def run(args) -> int:
    """``srtheory verify``: run the checks, print the table; exit status 1 if any claim fails."""
    budget = "deep" if args.deep else "quick"
    t0 = time.perf_counter()
    results = verify(
        args.claim, budget=budget, progress=lambda m: print(m, file=sys.stderr, flush=True)
    )
    print(format_table(results))
    if getattr(args, "detail", False):
        for r in results:
            print(f"\n{r.id}:")
            for k, v in r.detail.items():
                print(f"  {k}: {v}")
    n_bad = sum(not r.holds for r in results)
    print(
        f"\n{len(results) - n_bad}/{len(results)} claims hold ({budget} budget, "
        f"{time.perf_counter() - t0:.1f} s); proofs in proofs/, index proofs/README.md"
    )
    return 1 if n_bad else 0
