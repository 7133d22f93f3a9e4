"""Shared core of the claim checks: the :class:`Claim` result type, the registry row type
:class:`ClaimSpec`, the registry's text tables (statements, assumptions, proof and test files) and
the small helpers every ``check_C0N`` uses (budget, generator, option validation, result assembly).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

import numpy as np

__all__ = ["BUDGETS", "Claim", "ClaimSpec"]

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
# registry tables (statements, assumptions, proof and test files of C01-C08)
# =============================================================================================

_STATEMENTS = {
    "C01": "where the top-|λ| eigenvalue is simple, ∇ρ = sign(λ*)∇³f[v*,v*,·]; "
    "at a ±λ tie only one-sided derivatives (Kato max/min) exist",
    "C02": "power iteration (sign flip): |θ−λ₁| ≤ spread·tan²θ₀·|λ₂/λ₁|^{2k}, "
    "sin∠ ≤ tanθ₀|λ₂/λ₁|^k, |θ−λ| ≤ ‖r‖, ‖r‖²/δ",
    "C03": "Lanczos, random start: Kaniel–Paige per start; "
    "P[rel. err ≥ ε] ≤ 1.648√n e^{−√ε(2k−1)} (Kuczyński–Woźniakowski)",
    "C04": "warm start: Hessian moves ≤ δ ⇒ power iterations "
    "≤ 2 + log(4·spread·(ε_prev + δ/(g−δ))/(τρ))/log|λ₁/λ₂| (Davis–Kahan)",
    "C05": "FD third-order term: error ≤ ε²M₅/12 + (4η + 2Lu(‖x‖+2ε))/ε² + 2uL/ε + O(u); "
    "slopes +2 and −2; also at the default step",
    "C06": "minibatch bias: 0 ≤ E ρ(H_B) − ρ(H) ≤ √((N−b)/((N−1)b)·σ²_F), non-increasing in b",
    "C07": "descent lemma: a ≤ 1/L ⇒ h(x − a∇h) ≤ h(x) − a(1 − La/2)‖∇h‖² ≤ h(x) − (a/2)‖∇h‖²",
    "C08": "SRR-SGD where h is smooth on the region visited (simple top eigenvalue with a gap, hinge of "
    "constant sign), Σa=∞, Σa²<∞, unbiased noise, Σa‖e‖<∞: h(x_k) converges and ∇h(x_k) → 0 a.s.",
    "C09": "nonsmooth SRR-SGD on h = f + μE_B(ρ(H_B) − K)₊ (definable f, i.i.d. batches, Σa=∞, "
    "Σa²<∞, top-eigenvalue error → 0): limit points Clarke-critical, h(x_k) converges a.s.",
    "C10": "gap-free ρ: ρ̂ = ‖Av‖ after k power steps, P[(ρ²−ρ̂²)/ρ² ≥ η] ≤ √(2(n−1)/(πkη))(1−η)^{k/2}; "
    "two-ended Lanczos P[(ρ−ρ̂)/ρ ≥ ε] ≤ 1.648√n e^{−√(ε/2)(2k−1)}",
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
    "C09": "C09_nonsmooth_convergence.md",
    "C10": "C10_gap_free_radius.md",
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
    "C09": "test_C09_nonsmooth_convergence.py",
    "C10": "test_C10_gap_free_radius.py",
}
_ASSUMPTIONS = {
    "C01": "f ∈ C³ near x; top-|λ| eigenvalue simple, −λ* not an eigenvalue",
    "C02": "A symmetric; |λ₁| > |λ₂| ≥ …; start not ⟂ q₁",
    "C03": "A symmetric, n ≥ 3; A ⪰ 0 with λ₁ > 0 (proved bound), A ≻ 0 (KW); start uniform on the "
    "sphere; exact-arithmetic Lanczos (full reorth.)",
    "C04": "‖H_{t+1} − H_t‖ ≤ δ, 2δ < ρ − |λ₂| (implies δ < g); |λ₂/λ₁| ≤ r < 1; residual known",
    "C05": "f ∈ C⁵ on the segment, ‖∇⁵f[v⁴,·]‖ ≤ M₅; ‖∇²f‖ ≤ L near it; gradient rounding ≤ η",
    "C06": "H_B the mean of a uniform batch (E H_B = H); ρ = ‖·‖₂ convex",
    "C07": "∇h L-Lipschitz on the segment; 0 < a ≤ 1/L",
    "C08": "h ≥ h_inf, ∇h L-Lipschitz on a convex X holding the iterates (SRR: top eigenvalue simple "
    "with gap ≥ g and ρ − K of one sign on X); Σa=∞, Σa²<∞; E[w|F]=0, E‖w‖²≤A+B‖∇h‖²; "
    "Σa_k‖e_k‖<∞, ‖e_k‖ bounded",
    "C09": "f_B ∈ C³ definable (o-minimal); batches i.i.d. uniform; Σa=∞, Σa²<∞; iterates bounded; "
    "max_B E[min(1, η_k(B)) | F_k] → 0 for the top-eigenvalue error η_k(B) (failed solve: η = ρ)",
    "C10": "A symmetric, n ≥ 3, ρ > 0; start uniform on the sphere; fixed number of matvecs",
}


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
