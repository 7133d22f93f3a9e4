"""Claim C01 -- gradient of the spectral radius (Kato / Magnus), one-sided derivatives at a tie.

Proof: ``proofs/C01_eigenvalue_gradient.md``; test: ``tests/claims/test_C01_eigenvalue_gradient.py``.
"""

from __future__ import annotations

import time

import numpy as np

from srtheory.claims._core import Claim, _budget, _choice, _claim, _eigh, _rng, _unit
from srtheory.claims.synthetic import make_cubic_sine
from srtheory.testing import tolerance

__all__ = ["check_C01"]


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


def _one_sided(fun, t):
    """Second-order one-sided differences ``(D+, D-)`` of a scalar function of ``t`` at 0."""
    f0, fp, fp2, fm, fm2 = fun(0.0), fun(t), fun(2 * t), fun(-t), fun(-2 * t)
    d_plus = (-3.0 * f0 + 4.0 * fp - fp2) / (2.0 * t)
    d_minus = (3.0 * f0 - 4.0 * fm + fm2) / (2.0 * t)
    return d_plus, d_minus


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
