"""Claim C04 -- warm start: iteration count via Davis-Kahan.

Proof: ``proofs/C04_warm_start.md``; test: ``tests/claims/test_C04_warm_start.py``.
"""

from __future__ import annotations

import math
import time

import numpy as np

from srtheory.claims._core import Claim, _budget, _choice, _claim, _eigh, _rng
from srtheory.testing import random_orthogonal

__all__ = ["check_C04"]


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
