"""Executable claims C01-C10 of ``proofs/`` and their registry (run them all with ``srtheory verify``).

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
C08    almost-sure convergence of SRR-SGD where h is smooth        ``schedule="constant"``,
       (srr_train; hinge active, uniform gap)                      ``eig_tol="fixed"``,
                                                                   ``code_faithful=True``
C09    nonsmooth SRR-SGD: Clarke-critical limit points (definable  ``schedule="constant"``,
       f, i.i.d. batches, top-eigenvalue error → 0)                 ``code_faithful=True``
C10    gap-free ρ: ‖Av‖ of power iteration (power on A²),           ``start="ones"``,
       two-ended Lanczos; random start                              ``estimator="rayleigh"``
=====  ==========================================================  =============================

Checks may be dense (they are references): they use :mod:`srtheory.oracle` and closed-form
Hessians of their own objectives; the algorithms under test take matvecs as usual.

Layout: :mod:`~srtheory.claims._core` (``Claim``, ``ClaimSpec``, registry tables, helpers),
:mod:`~srtheory.claims.synthetic` (``CubicSine``, ``RotatedSeparable``), one module per claim
(``c01_eigenvalue_gradient`` … ``c10_gap_free_radius``, named like the proof files), and
:mod:`~srtheory.claims.registry` (``CLAIMS``, ``verify``).  The ``srtheory verify`` command that
prints the table is :mod:`srtheory.commands.verify`.
"""

from __future__ import annotations

from srtheory.claims._core import BUDGETS, Claim, ClaimSpec
from srtheory.claims.c01_eigenvalue_gradient import check_C01
from srtheory.claims.c02_power_iteration import check_C02
from srtheory.claims.c03_lanczos import _chebyshev as _chebyshev
from srtheory.claims.c03_lanczos import check_C03
from srtheory.claims.c04_warm_start import _c04_count_bound as _c04_count_bound
from srtheory.claims.c04_warm_start import _warm_bound as _warm_bound
from srtheory.claims.c04_warm_start import check_C04
from srtheory.claims.c05_finite_differences import check_C05
from srtheory.claims.c06_minibatch_bias import check_C06
from srtheory.claims.c07_descent import check_C07
from srtheory.claims.c08_as_convergence import check_C08
from srtheory.claims.c09_nonsmooth_convergence import check_C09
from srtheory.claims.c10_gap_free_radius import check_C10
from srtheory.claims.registry import CLAIMS, verify
from srtheory.claims.synthetic import CubicSine, RotatedSeparable, make_cubic_sine, make_separable

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
    "check_C09",
    "check_C10",
    "make_cubic_sine",
    "make_separable",
    "verify",
]
