"""Claim C07 -- descent lemma.

Proof: ``proofs/C07_descent.md``; test: ``tests/claims/test_C07_descent.py``.
"""

from __future__ import annotations

import math
import time

import numpy as np

from srtheory.claims._core import _U, Claim, _budget, _claim, _rng
from srtheory.claims.synthetic import make_separable

__all__ = ["check_C07"]


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
