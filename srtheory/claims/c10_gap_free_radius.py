"""Claim C10 -- gap-free estimates of the spectral radius by the library's solvers.

Proof: ``proofs/C10_gap_free_radius.md``; test: ``tests/claims/test_C10_gap_free_radius.py``.

SRR drives the top eigenvalues of the Hessian together (clusters, ``±ρ`` ties), where the rates of
C02-C04 say nothing.  The bounds checked here do not depend on any gap:

* power iteration (``spectral.power_iteration``, classic update): ``ρ̂ = ‖Av‖ = √(θ² + ‖r‖²)`` of the
  returned pair is ``≤ ρ``, and ``ρ̂²`` is the Rayleigh quotient of ``A²`` at ``A^j v₀``, so
  ``P[(ρ² − ρ̂²)/ρ² ≥ η] ≤ √(2(n−1)/π) · √(M_j(η)/η)`` with
  ``M_j(η) = max_{t∈[0,1−η]} t^j(1 − η − t) ≤ (1 − η)^{j+1}/(j+1)`` (proved, proof part 2);
* two-ended Lanczos (``spectral.spectral_radius(method="lanczos")``): ``ρ̂ = max(|θ_max|, |θ_min|) ≤ ρ``
  and ``P[(ρ − ρ̂)/ρ ≥ ε] ≤ 4√(2(n−1)/(πε)) e^{−√ε(k−1)}`` (C03 item 3 on ``A + ρI``), and the
  cited Kuczyński-Woźniakowski form ``1.648√n e^{−√(ε/2)(2k−1)}``.

The solvers are looked up on :mod:`srtheory.spectral` at call time, so a test can plant a broken
solver there and see the check fail.
"""

from __future__ import annotations

import math
import time

import numpy as np

from srtheory.claims._core import Claim, _budget, _choice, _claim, _rng
from srtheory.testing import tolerance

__all__ = ["check_C10"]

_SPECTRA = ("tie", "cluster_negative")


def check_C10(
    *,
    budget="quick",
    rng=None,
    start="random",
    estimator="norm",
    k_power=30,
    k_lanczos=15,
    p=0.1,
    alpha=1e-3,
) -> Claim:
    """Claim C10 (proofs/C10_gap_free_radius.md): gap-free bounds for ``ρ`` from the library's
    power iteration and two-ended Lanczos, on planted spectra with tied / clustered top eigenvalues.

    Two planted spectra (``n`` = 120, quick): ``"tie"`` -- ``+1, −1, 0.9995, −0.999`` on top of a
    bulk uniform in ``±[0, 0.9]``; ``"cluster_negative"`` -- ``−1, −0.9998, −0.999, −0.995`` on
    top of the same bulk (dominant eigenvalue negative, gaps ``≤ 2e-4``).  From ``m`` independent
    Gaussian starts (quick 200) each solver runs a fixed number of matvecs (``k_power`` power
    steps, ``criteria="residual"``, ``tol=1e-300``; ``k_lanczos`` Lanczos steps).  Per run:
    ``ρ̂ ≤ ρ(1 + 10nu)`` (the estimates are certified lower bounds).  In probability: at the
    ``ε(p)`` where each bound equals ``p``, the number of runs with relative error ``≥ ε(p)``
    must not exceed the ``1 − alpha`` quantile of ``Binomial(m, p)`` (a true claim fails the
    check with probability ``≤ alpha`` per comparison).

    Observed / bound: the largest ratio (empirical ``(1 − p)``-quantile of the relative error) /
    ``ε(p)`` over solvers, bounds and spectra; bound 1.

    Controls: ``start="ones"`` breaks the random start (every top eigenvector is orthogonal to
    ``1``: the estimates miss ``ρ`` by ``≥ 0.1`` on every run); ``estimator="rayleigh"`` uses
    power iteration's ``|θ|`` instead of ``‖Av‖`` (not gap-free: at the ``±ρ`` tie it stalls
    at ``ρ|a² − b²|/(a² + b²)``, C02 item 6).
    """
    from scipy.stats import binom

    from srtheory import spectral  # looked up at call time (planted-bug tests patch it)

    t0 = time.perf_counter()
    deep = _budget(budget)
    rng = _rng(rng, 1010)
    _choice(start, "start", ("random", "ones"))
    _choice(estimator, "estimator", ("norm", "rayleigh"))
    for name, k in (("k_power", k_power), ("k_lanczos", k_lanczos)):
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 2 <= k <= 200:
            raise ValueError(f"{name} must be an integer in [2, 200], got {k!r}")
    if not (0.0 < p < 1.0 and 0.0 < alpha < 1.0):
        raise ValueError(f"p and alpha must lie in (0, 1), got p={p!r}, alpha={alpha!r}")
    n = 300 if deep else 120
    m = 1000 if deep else 200
    allowed = int(binom.ppf(1.0 - alpha, m, p))
    floor = tolerance(factor=10.0 * n)
    eps_power = _eps_power(n, k_power - 1, p)
    eps_lanczos = _eps_lanczos_proved(n, k_lanczos, p)
    eps_kw = _eps_lanczos_kw(n, k_lanczos, p)
    detail: dict[str, object] = {
        "n": n,
        "starts": m,
        "p": p,
        "allowed_exceedances": allowed,
        "eps_power": eps_power,
        "eps_lanczos_proved": eps_lanczos,
        "eps_lanczos_kw": eps_kw,
        "k_power": int(k_power),
        "k_lanczos": int(k_lanczos),
        "false_alarm_probability": alpha,
    }
    ok, worst_ratio, upper_ratio = True, 0.0, 0.0
    for kind in _SPECTRA:
        A, rho = _planted(kind, n, rng)
        errs_p, errs_l = [], []
        for _ in range(m):
            v0 = rng.standard_normal(n) if start == "random" else np.ones(n)
            pw = spectral.power_iteration(
                A, v0, tol=1e-300, max_iter=int(k_power), criteria="residual"
            )
            if pw.n_iter != k_power:  # pragma: no cover - the solver must run exactly k steps
                raise AssertionError(f"power_iteration ran {pw.n_iter} steps, expected {k_power}")
            rho_p = math.hypot(pw.eigval, pw.residual) if estimator == "norm" else abs(pw.eigval)
            ln = spectral.spectral_radius(
                A, v0, method="lanczos", tol=1e-300, max_iter=int(k_lanczos)
            )
            upper_ratio = max(upper_ratio, rho_p / rho, ln.rho / rho)
            errs_p.append((rho - rho_p) / rho)
            errs_l.append((rho - ln.rho) / rho)
        errs_p, errs_l = np.array(errs_p), np.array(errs_l)
        for label, errs, eps in (
            ("power", errs_p, eps_power),
            ("lanczos_proved", errs_l, eps_lanczos),
            ("lanczos_kw", errs_l, eps_kw),
        ):
            exceed = int(np.sum(errs >= eps))
            q = float(np.quantile(errs, 1.0 - p))
            detail[f"{kind}_{label}_exceedances"] = exceed
            detail[f"{kind}_{label}_quantile"] = q
            worst_ratio = max(worst_ratio, q / eps)
            ok = ok and exceed <= allowed
        detail[f"{kind}_power_median_rel_err"] = float(np.median(errs_p))
        detail[f"{kind}_lanczos_median_rel_err"] = float(np.median(errs_l))
    detail["max_estimate_over_rho"] = upper_ratio
    ok = ok and upper_ratio <= 1.0 + floor
    return _claim("C10", worst_ratio, 1.0, ok, detail, t0)


def _planted(kind: str, n: int, rng: np.random.Generator):
    """``(A, ρ)`` with the top group's eigenvectors orthogonal to the all-ones vector."""
    top = (1.0, -1.0, 0.9995, -0.999) if kind == "tie" else (-1.0, -0.9998, -0.999, -0.995)
    bulk = rng.uniform(0.0, 0.9, size=n - len(top)) * rng.choice([-1.0, 1.0], size=n - len(top))
    lam = np.concatenate([top, bulk])
    Z = rng.standard_normal((n, n))
    Z[:, : len(top)] -= Z[:, : len(top)].mean(axis=0)  # top group orthogonal to 1 (control)
    Q = np.linalg.qr(Z)[0]
    A = (Q * lam) @ Q.T
    return 0.5 * (A + A.T), float(np.max(np.abs(lam)))


def _power_prob(n: int, j: int, eta: float) -> float:
    """Proved bound on ``P[(ρ² − ρ̂²)/ρ² ≥ η]`` after ``j`` power updates (proof part 2)."""
    if eta >= 1.0:
        return 0.0
    if j == 0:
        log_m = math.log1p(-eta)
    else:
        log_m = (j + 1) * math.log1p(-eta) + j * math.log(j) - (j + 1) * math.log(j + 1)
    return min(1.0, math.sqrt(2.0 * (n - 1) / math.pi) * math.exp(0.5 * (log_m - math.log(eta))))


def _bisect_eps(prob, p: float) -> float:
    """Smallest ``ε ∈ (0, 1)`` (to bisection accuracy) with ``prob(ε) ≤ p``; ``prob`` decreasing."""
    lo, hi = 1e-14, 1.0 - 1e-12
    if prob(hi) > p:
        return 1.0
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if prob(mid) > p else (lo, mid)
    return hi


def _eps_power(n: int, j: int, p: float) -> float:
    """``ε`` with ``P[(ρ − ρ̂)/ρ ≥ ε] ≤ p`` for power iteration: ``(ρ−ρ̂)/ρ ≥ ε`` implies
    ``(ρ² − ρ̂²)/ρ² ≥ ε(2 − ε)``."""
    return _bisect_eps(lambda e: _power_prob(n, j, e * (2.0 - e)), p)


def _eps_lanczos_proved(n: int, k: int, p: float) -> float:
    return _bisect_eps(
        lambda e: (
            4.0 * math.sqrt(2.0 * (n - 1) / (math.pi * e)) * math.exp(-math.sqrt(e) * (k - 1))
        ),
        p,
    )


def _eps_lanczos_kw(n: int, k: int, p: float) -> float:
    return _bisect_eps(
        lambda e: 1.648 * math.sqrt(n) * math.exp(-math.sqrt(e / 2.0) * (2 * k - 1)), p
    )
