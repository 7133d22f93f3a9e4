"""Claim C09 -- SRR-SGD on the nonsmooth objective h = f + μE_B(ρ(H_B) − K)₊: Clarke-critical limits.

Proof: ``proofs/C09_nonsmooth_convergence.md``; test: ``tests/claims/test_C09_nonsmooth_convergence.py``.

The check writes out the iteration of the theorem with the library's pieces (``curvature.gradient``,
``spectral.spectral_radius``, ``eigengrad.spectral_radius_grad``), because the options of
``srr_train`` that the theorem needs (i.i.d. batches, a top-accuracy guarantee) are still being
added; the library functions are looked up at call time, so a test can plant a broken one.
"""

from __future__ import annotations

import time

import autograd.numpy as anp
import numpy as np

from srtheory.claims._core import Claim, _budget, _choice, _claim, _rng

__all__ = ["check_C09"]

_KAPPA, _BETA = 0.5, 0.1


def _batch_loss(c):
    """``f_B(x) = −½‖x‖² − (κ/3)(x₁³ − 3x₁x₂²) + (β/4)‖x‖⁴ − c_Bᵀx``: at 0 the dominant eigenvalue −1
    of the Hessian is double and negative (eigenvalues ``−1 ∓ ‖x‖ + O(‖x‖²)``)."""

    def f(x):
        r2 = anp.dot(x, x)
        cubic = x[0] ** 3 - 3.0 * x[0] * x[1] ** 2
        return -0.5 * r2 - (_KAPPA / 3.0) * cubic + 0.25 * _BETA * r2**2 - anp.dot(c, x)

    return f


def check_C09(*, budget="quick", rng=None, schedule="robbins_monro", code_faithful=False) -> Claim:
    """Claim C09 (proofs/C09_nonsmooth_convergence.md): the stochastic subgradient iteration of SRR
    converges to the Clarke-critical point where the hinge is at its kink and the (negative)
    dominant eigenvalue is double.

    ``f_B`` as in :func:`_batch_loss` with 8 batches (``c_B`` = ``c̄`` + noise, ``‖c̄‖ = 0.2``),
    ``μ = 0.5``, ``K = 1`` (``ρ(0) = 1 = K``): 0 is the unique Clarke-critical point of ``h̃``
    within radius 0.1.  Each step draws a batch i.i.d., solves ``spectral_radius(method="lanczos")``
    from a fresh Gaussian start (exact here, ``n = 2``: assumption (E)), and moves along
    ``∇f_B + μ·1[ρ̂ > K]·spectral_radius_grad``.  ``a_k = 0.5/(k + 10)``; 6 trajectories (quick)
    from ``U[−0.15, 0.15]²``, ``T = 320`` steps.  Observed: median over trajectories of
    ``G(T)/G(T/8)``, ``G(t)`` the mean of ``‖x_k‖`` over ``k ∈ (t/2, t]``; bound 0.5; also the
    terminal median ``G(T) ≤ 0.02``.  Controls: ``schedule="constant"`` (``a = 0.05``: noise floor)
    and ``code_faithful=True`` (the authors' dropped ``sign(λ*)``: the penalty pushes away).
    """
    from srtheory import curvature, eigengrad, spectral

    t0 = time.perf_counter()
    deep = _budget(budget)
    rng = _rng(rng, 909)
    _choice(schedule, "schedule", ("robbins_monro", "constant"))
    if not isinstance(code_faithful, (bool, np.bool_)):
        raise ValueError(f"code_faithful must be True or False, got {code_faithful!r}")  # noqa: TRY004 (contract: ValueError)
    mu, K, n_batches = 0.5, 1.0, 8
    m, T = (16, 1200) if deep else (6, 320)
    c_bar = np.array([0.12, -0.16])  # ‖c̄‖ = 0.2 < μ
    noise = rng.standard_normal((n_batches, 2))
    noise -= noise.mean(axis=0)
    c_all = c_bar + 0.3 * noise
    losses = [_batch_loss(c) for c in c_all]

    def step_size(k):
        return 0.5 / (k + 10.0) if schedule == "robbins_monro" else 0.05

    dists = np.empty((m, T))
    hinge_active = kinks = 0
    for i in range(m):
        x = rng.uniform(-0.15, 0.15, size=2)
        for k in range(T):
            fb = losses[int(rng.integers(n_batches))]  # i.i.d. batch (assumption (I))
            d = np.asarray(curvature.gradient(fb, x), dtype=float)
            eig = spectral.spectral_radius(
                curvature.hvp_operator(fb, x), rng.standard_normal(2), method="lanczos", tol=1e-12
            )
            if eig.rho > K:
                hinge_active += 1
                d = d + mu * eigengrad.spectral_radius_grad(
                    fb, x, eig, code_faithful=bool(code_faithful)
                )
            x = x - step_size(k) * d
            if not np.all(np.isfinite(x)) or np.linalg.norm(x) > 1e3:
                dists[i, k:] = np.inf
                break
            dists[i, k] = float(np.linalg.norm(x))
            kinks += int(abs(eig.rho - K) < 1e-2)
    G_T = dists[:, T // 2 :].mean(axis=1)
    G_8 = dists[:, T // 16 : T // 8].mean(axis=1)
    with np.errstate(invalid="ignore"):
        ratios = np.where(np.isfinite(G_T), G_T / G_8, np.inf)
    observed = float(np.median(ratios))
    terminal = float(np.median(G_T))
    detail = {
        "trajectories": m,
        "steps": T,
        "schedule": schedule,
        "code_faithful": bool(code_faithful),
        "median_terminal_distance": terminal,
        "max_terminal_distance": float(np.max(G_T)),
        "hinge_active_fraction": hinge_active / (m * T),
        "near_kink_fraction": kinks / (m * T),
        "worst_ratio": float(np.max(ratios)),
    }
    ok = terminal <= 0.02
    return _claim("C09", observed, 0.5, ok, detail, t0)
