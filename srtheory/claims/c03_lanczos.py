"""Claim C03 -- Lanczos from a random start: Kaniel-Paige and Kuczynski-Wozniakowski.

Proof: ``proofs/C03_lanczos.md``; test: ``tests/claims/test_C03_lanczos.py``.
"""

from __future__ import annotations

import math
import time

import numpy as np

from srtheory.claims._core import Claim, _budget, _choice, _claim, _rng, _unit
from srtheory.testing import tolerance

__all__ = ["check_C03"]


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
