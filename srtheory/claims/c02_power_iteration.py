"""Claim C02 -- the paper's power iteration: rates, residual bounds, no gap.

Proof: ``proofs/C02_power_iteration.md``; test: ``tests/claims/test_C02_power_iteration.py``.
"""

from __future__ import annotations

import math
import time

import numpy as np

from srtheory.claims._core import Claim, _budget, _claim, _rng, _unit
from srtheory.testing import planted_symmetric, tolerance

__all__ = ["check_C02"]


def check_C02(*, budget="quick", rng=None, ratio=0.8, tie=False) -> Claim:
    """Claim C02 (Lemma B, proofs/C02_power_iteration.md) for ``spectral.power_iteration``.

    Planted symmetric ``A`` (dominant eigenvalue of random sign, ``|λ₂/λ₁| = ratio``), random
    start.  For every iteration count ``k`` (``j = k − 1`` updates) the returned pair satisfies
    ``|θ − λ₁| ≤ spread·tan²θ₀·ratio^{2j}``, ``sin∠(v, q₁) ≤ tanθ₀·ratio^j``, and
    ``|θ − λ| ≤ ‖r‖``, ``|θ − λ| ≤ ‖r‖²/δ`` (``λ`` nearest eigenvalue, ``δ`` distance to the
    rest); the fitted rate of ``|θ − λ₁|`` is ``ratio²`` within 10 % (tightness).  Then, at finite
    tolerances ``τ ∈ {1e-4, 1e-8}`` (``criteria="residual"``) on the same spectrum with the dominant
    eigenvalue made **negative** (so the sign flip of step 2.3 is exercised): the run stops with
    ``‖r‖ ≤ τ|θ|`` within the count of C04 item 3 (``δ = 0``, start angle ``θ₀``), returns
    ``θ < 0`` with ``|θ − λ₁| ≤ ‖r‖²/δ`` and ``sin∠(v, q₁) ≤ ‖r‖/min_{i≠1}|λ_i − θ|``.  Observed /
    bound: ``|θ − λ₁|/ρ`` and its bound at the last iterate.  Negative control ``tie=True``:
    ``λ_n = −λ₁`` (no gap), the bound computed with the assumed ``ratio`` fails and the Rayleigh
    quotient stalls at ``λ₁(c_a² − c_b²)/(c_a² + c_b²)`` (proof, item 6).
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
    fin_ok = _finite_tolerance_phase(power_iteration, lam, Q, v0, c, tan0, spread, ratio, detail)
    ok = all(v <= 1.0 for v in worst.values()) and abs(rate_ratio - 1.0) <= 0.1 and fin_ok
    last_bound = spread * tan0**2 * ratio ** (2 * js[-1]) + floor_val
    return _claim("C02", errs[-1] / rho, last_bound / rho, ok, detail, t0)


def _finite_tolerance_phase(power_iteration, lam, Q, v0, c, tan0, spread, ratio, detail) -> bool:
    """C02 at finite tolerances on ``−sign(λ₁)·A`` (dominant eigenvalue −1): stopping count, sign,
    Kato-Temple and the residual angle bound.  Writes ``finite_tol_*`` entries into ``detail``."""
    from srtheory.claims.c04_warm_start import _c04_count_bound

    lam_neg = -np.sign(lam[0]) * lam  # dominant eigenvalue -1, same |λ| and spread
    A = (Q * lam_neg) @ Q.T
    A = 0.5 * (A + A.T)
    n = lam.size
    floor = tolerance(factor=10.0 * n)
    ok = True
    worst = {"count": 0.0, "kato_temple": 0.0, "angle": 0.0, "sign_error": 0.0}
    for tau in (1e-4, 1e-8):
        res = power_iteration(A, v0, tol=tau, max_iter=10_000, criteria="residual")
        k_bound = _c04_count_bound(tan0, ratio, spread, 1.0, tau)
        theta, v, r = res.eigval, res.eigvec, res.residual
        d = np.abs(lam_neg - theta)
        i_near = int(np.argmin(d))
        delta = float(np.min(np.delete(d, i_near)))
        gap1 = float(np.min(np.abs(np.delete(lam_neg, 0) - theta)))
        sin_angle = float(np.linalg.norm(v - (Q[:, 0] @ v) * Q[:, 0]))
        ok = ok and res.converged and r <= tau * abs(theta) and theta < 0.0 and i_near == 0
        worst["count"] = max(worst["count"], res.n_iter / k_bound)
        worst["kato_temple"] = max(worst["kato_temple"], d[0] / (r**2 / delta + floor))
        worst["angle"] = max(worst["angle"], sin_angle / (r / gap1 + floor))
        worst["sign_error"] = max(worst["sign_error"], abs(theta - lam_neg[0]))
        detail[f"finite_tol_{tau:g}_iterations"] = int(res.n_iter)
        detail[f"finite_tol_{tau:g}_count_bound"] = float(k_bound)
    for key, val in worst.items():
        detail[f"finite_tol_worst_{key}" + ("" if key == "sign_error" else "_ratio")] = float(val)
    detail["finite_tol_stop_sign_and_residual_ok"] = bool(ok)
    return bool(ok and max(worst["count"], worst["kato_temple"], worst["angle"]) <= 1.0)


def _power_expansion(lam, c, j) -> float:
    """Rayleigh quotient of ``A^j v0`` in exact arithmetic, from the expansion (C02, step 1)."""
    s = c**2 * (lam / lam[0]) ** (2 * j)
    return float(lam[0] * np.sum(s * lam / lam[0]) / np.sum(s))


def _power_error(lam, c, j) -> float:
    """``|θ_j − λ₁|`` from the expansion, without cancellation: ``|Σ s_i (λ_i − λ₁)| / Σ s_i``."""
    s = c**2 * (lam / lam[0]) ** (2 * j)
    return float(abs(np.sum(s[1:] * (lam[1:] - lam[0]))) / np.sum(s))
