"""Claim C07 -- descent lemma.

Proof: ``proofs/C07_descent.md``; test: ``tests/claims/test_C07_descent.py``.
"""

from __future__ import annotations

import math
import time

import numpy as np

from srtheory.claims._core import _U, Claim, _budget, _choice, _claim, _rng
from srtheory.claims.synthetic import make_separable

__all__ = ["check_C07"]

_EIG_TOL = 1e-12  # relative residual of the library's eigen-solves (Lanczos)
_REF_RTOL = 1e-8  # library ∇h and h against the closed forms


def check_C07(*, budget="quick", rng=None, step_factor=1.0, mu=0.5, points=None,
              dominant="positive", code_faithful=False) -> Claim:
    """Claim C07 (proofs/C07_descent.md): one step ``x⁺ = x − a∇h(x)`` with ``a = step_factor/L``.

    The step is the library's: ``∇h = regularizer.regularized_grad`` (eigenpair from
    ``spectral.spectral_radius`` on ``curvature.hvp_operator``, third-order term by the library)
    and ``h = regularizer.regularized_objective`` at ``x`` and ``x⁺`` (its own Lanczos solve at
    ``x⁺``).  Objective: :class:`RotatedSeparable` ``f`` (``dominant="positive"``) or ``−f``
    (``"negative"``: the dominant eigenvalue is ``−ρ < 0``, so ``sign(λ)`` matters) with the SRR
    penalty ``h = ±f + μ(ρ − K)``, ``K = 1 < min ρ``: the hinge never switches and the top
    eigenvalue is simple everywhere, so ``h`` is C^∞ along every step with the exact global
    constant ``L = max(w₁(1 + c|μ ∓ 1|), max_j (w_j + γ))``.  The closed forms of ``∇h`` and ``h``
    are the reference: the library's must agree to ``1e-8`` relative.  Plus the zoo's
    ``sharp_flat_2d`` (``μ = 0``, stored ``lipschitz_grad``) through ``regularized_grad``.  For
    ``a ≤ 1/L`` the claim gives ``h(x⁺) − h(x) ≤ −a(1 − La/2)‖∇h‖² ≤ −(a/2)‖∇h‖²``.  Observed:
    ``max (h(x⁺) − h(x) − slack)/(a‖∇h‖²)`` over the points; bound ``−1/2``; the sharper
    ``−(1 − La/2)`` and the reference agreement are also required.  Negative controls:
    ``step_factor=2.5`` (``a > 2/L``, the assumption broken: steps along the stiffest direction
    increase ``h``); ``dominant="negative", code_faithful=True`` (the code wrong: the gradient of
    ``ρ`` without ``sign(λ)``).
    """
    from srtheory import curvature, objectives, regularizer, spectral

    t0 = time.perf_counter()
    deep = _budget(budget)
    rng = _rng(rng, 707)
    _choice(dominant, "dominant", ("positive", "negative"))
    if not step_factor > 0:
        raise ValueError(f"step_factor must be > 0, got {step_factor!r}")
    if not (isinstance(mu, (int, float)) and math.isfinite(mu) and mu >= 0):
        raise ValueError(f"mu must be a finite number >= 0, got {mu!r}")
    n_pts = (1000 if deep else 100) if points is None else np.shape(points)[0]
    base = make_separable(6, rng)
    s = 1.0 if dominant == "positive" else -1.0
    K = 1.0
    if s > 0:
        f = base.f
        L = base.lipschitz_h(mu)
    else:
        def f(z):
            return -base.f(z)

        L = float(max(base.w1 * (1.0 + base.c * (1.0 + mu)), np.max(base.w + base.gamma)))
    a = step_factor / L
    if points is None:
        X = 3.0 * rng.standard_normal((n_pts, 6))
        # include points whose gradient lies along the stiffest direction (where the lemma is tight)
        k = max(n_pts // 5, 1)
        X[:k] = 0.0
        X[:k, 0] = rng.uniform(-3, 3, k)
        X[:k] = X[:k] @ base.Q.T
    else:
        X = np.array(points, dtype=float)
        if X.ndim != 2 or X.shape[1] != 6 or not np.all(np.isfinite(X)):
            raise ValueError(f"points must be a finite (m, 6) array, got shape {X.shape}")

    def grad_ref(y):  # closed-form ∇h in y coordinates (ρ = w₁(1 − c cos y₁) > K: hinge active)
        g = s * base.dphi(y)
        g[0] += mu * base.w1 * base.c * math.sin(y[0])
        return g

    def h_ref(y):
        return s * float(np.sum(base.phi(y))) + mu * (float(base.rho_y(y)) - K)

    start = regularizer.generic_start(6)
    rows, ref_err, all_conv, lemma_ok = [], 0.0, True, True
    lemma_amount = -(1.0 - L * a / 2.0)
    for x in X:
        eig = spectral.spectral_radius(curvature.hvp_operator(f, x), start, tol=_EIG_TOL)
        all_conv = all_conv and bool(eig.converged)
        g = regularizer.regularized_grad(f, x, mu=mu, K=K, eig=eig, code_faithful=code_faithful)
        h0 = regularizer.regularized_objective(f, x, mu=mu, K=K, eig=eig)
        xp = x - a * g
        h1 = regularizer.regularized_objective(f, xp, mu=mu, K=K, eig_tol=_EIG_TOL)
        y = base.Q.T @ x
        gr = base.Q @ grad_ref(y)
        ref_err = max(
            ref_err,
            float(np.linalg.norm(g - gr) / max(np.linalg.norm(gr), 1.0)),
            abs(h0 - h_ref(y)) / max(abs(h_ref(y)), 1.0),
        )
        gg = float(g @ g)
        if gg <= 1e-12:
            continue
        # rounding of the two h values and the eigen-solves' error in ρ (≤ tol·ρ each)
        slack = 16 * _U * (abs(h0) + abs(h1)) + mu * 2 * _EIG_TOL * base.w1 * (1 + base.c)
        r = (h1 - h0 - slack) / (a * gg)
        rows.append(r)
        lemma_ok = lemma_ok and r <= lemma_amount + 1e-9
    norm_change = np.array(rows) if rows else np.array([-math.inf])
    observed = float(np.max(norm_change))
    # zoo objective with a stored global L (mu = 0: ∇h = ∇f through the same library call)
    zoo = objectives.get("sharp_flat_2d")
    Lz = float(zoo.lipschitz_grad)
    az = step_factor / Lz
    zoo_max = -math.inf
    for _ in range(60 if deep else 20):
        x = rng.uniform(-2, 2, size=2)
        g = regularizer.regularized_grad(zoo.f, x, mu=0.0, K=K, eig=0.0)
        gg = float(g @ g)
        if gg < 1e-12:
            continue
        f0 = regularizer.regularized_objective(zoo.f, x, mu=0.0, K=K, eig=0.0)
        f1 = regularizer.regularized_objective(zoo.f, x - az * g, mu=0.0, K=K, eig=0.0)
        zr = (f1 - f0 - 16 * _U * (abs(f0) + abs(f1))) / (az * gg)
        zoo_max = max(zoo_max, zr)
        lemma_ok = lemma_ok and zr <= -(1.0 - Lz * az / 2.0) + 1e-9
    observed = max(observed, zoo_max)
    ref_ok = ref_err <= _REF_RTOL
    ok = ref_ok and all_conv and lemma_ok
    detail = {
        "L_h": L,
        "step": a,
        "mu": mu,
        "dominant": dominant,
        "code_faithful": code_faithful,
        "points": len(rows),
        "lemma_amount": lemma_amount,
        "lemma_amount_holds": lemma_ok,
        "library_vs_closed_form_max_rel": ref_err,
        "library_matches_closed_form": ref_ok,
        "eig_all_converged": all_conv,
        "zoo_L": Lz,
        "zoo_max_normalized_change": zoo_max,
        "fraction_increasing": float(np.mean(norm_change > 0)),
    }
    return _claim("C07", observed, -0.5, ok, detail, t0)
