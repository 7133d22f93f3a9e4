"""Claim C05 -- finite-difference third-order term: truncation eps^2, rounding u/eps^2.

Proof: ``proofs/C05_finite_differences.md``; test: ``tests/claims/test_C05_finite_differences.py``.
"""

from __future__ import annotations

import time

import autograd.numpy as anp
import numpy as np

from srtheory.claims._core import _U, Claim, _budget, _claim, _rng, _unit
from srtheory.claims.synthetic import make_cubic_sine

__all__ = ["check_C05"]


def check_C05(*, budget="quick", rng=None, smooth=True) -> Claim:
    """Claim C05 (proofs/C05_finite_differences.md) for ``curvature.third_order(method="fd")``.

    On :class:`CubicSine` (non-convex, ``M₅`` known), for ``ε`` on a log grid, the error of
    ``D(ε) = [∇f(x+εv) − 2∇f(x) + ∇f(x−εv)]/ε²`` against the closed-form ``∇³f[v, v, ·]`` obeys
    ``‖D̂(ε) − T‖ ≤ ε²M₅/12 + (4η + 2Lu(‖x‖+2ε))/ε² + 2uL/ε + 3u(‖T‖ + ε²M₅/12)`` (``‖v‖ = 1``,
    ``η`` the gradient's rounding bound, ``L`` a Hessian bound near the segment); the fitted slopes
    are 2 (truncation range) and −2 (rounding range).  The same bound is checked at the library's
    default step ``curvature.default_fd_step(x, v, order=2)`` (``third_order`` called without
    ``eps``).  Observed / bound: the largest ratio error/bound over the grid and the default step,
    bound 1.  Negative control
    ``smooth=False`` adds ``w·max(0, c₀ᵀ(x − x₀))^{3.5}`` with its kink at ``x``: ``f`` is only C³
    there, the error is ``∝ ε^{1/2}`` and exceeds the C⁵ bound.
    """
    from srtheory.curvature import default_fd_step, third_order

    t0 = time.perf_counter()
    deep = _budget(budget)
    rng = _rng(rng, 505)
    n = 6
    obj = make_cubic_sine((2.0, -1.5, 1.0, 0.5, -0.3, 0.2), rng, m=8, scale=1.0)
    n_dirs = 6 if deep else 3
    eps_grid = np.logspace(-6.5, -0.5, 25)
    trunc = eps_grid >= 10**-1.7
    round_ = eps_grid <= 10**-5.0
    worst, slopes_t, slopes_r = 0.0, [], []
    worst_default, default_errs = 0.0, []
    c0 = _unit(rng.standard_normal(n))
    for _ in range(n_dirs):
        x = 0.5 * rng.standard_normal(n)
        v = _unit(rng.standard_normal(n))
        if smooth:
            f = obj.f
        else:
            x0k = x.copy()
            if c0 @ v < 0:
                v = -v

            def f(z, x0k=x0k):  # only C^3 at z = x0k: max(0, c0.(z - x0k))^3.5
                return obj.f(z) + anp.maximum(anp.dot(c0, z - x0k), 0.0) ** 3.5

        exact = obj.third(x, v)  # the kink term's third derivative is 0 at the kink
        m5 = obj.m5(v)
        xs = [x + e * v for e in (-eps_grid[-1], 0.0, eps_grid[-1])]
        eta = max(obj.grad_rounding(z) for z in xs)
        lip = float(np.linalg.norm(obj.hessian(x), 2)) + 2.0 * float(
            np.sum(np.abs(obj.b) * np.linalg.norm(obj.C, axis=1) ** 3)
            + np.sum(np.abs(obj.w) * np.linalg.norm(obj.D, axis=1) ** 3)
        )

        def bound(e, x=x, exact=exact, m5=m5, eta=eta, lip=lip):  # proofs/C05, item 2
            t_bar = np.linalg.norm(exact) + e**2 * m5 / 12.0
            return (
                e**2 * m5 / 12.0
                + (4.0 * eta + 2.0 * lip * _U * (np.linalg.norm(x) + 2.0 * e)) / e**2
                + 2.0 * _U * lip / e
                + 3.0 * _U * t_bar
            )

        errs, bounds = [], []
        for e in eps_grid:
            d = third_order(f, x, v, method="fd", eps=float(e))
            errs.append(float(np.linalg.norm(d - exact)))
            bounds.append(bound(e))
        errs, bounds = np.array(errs), np.array(bounds)
        worst = max(worst, float(np.max(errs / bounds)))
        # the library's default step (third_order without eps) against the same bound
        e_def = default_fd_step(x, v, order=2)
        err_def = float(np.linalg.norm(third_order(f, x, v, method="fd") - exact))
        worst_default = max(worst_default, float(err_def / bound(e_def)))
        default_errs.append(err_def)
        worst = max(worst, worst_default)
        slopes_t.append(float(np.polyfit(np.log(eps_grid[trunc]), np.log(errs[trunc]), 1)[0]))
        slopes_r.append(
            float(
                np.polyfit(np.log(eps_grid[round_]), np.log(np.maximum(errs[round_], 1e-300)), 1)[0]
            )
        )
    st, sr = float(np.median(slopes_t)), float(np.median(slopes_r))
    detail = {
        "truncation_slope": st,
        "rounding_slope": sr,
        "directions": n_dirs,
        "eps_range": (float(eps_grid[0]), float(eps_grid[-1])),
        "smooth": bool(smooth),
        "default_step_worst_ratio": worst_default,
        "default_step_max_error": float(max(default_errs)),
    }
    # slopes: truncation exactly 2 asymptotically (leading term eps^2/12 grad^5 f[v^4]); the fit on
    # [0.02, 0.3] sees the next term (eps^4) as a bias of ~0.05.  Rounding: the error is a sum of
    # quasi-random roundings divided by eps^2; over 1.5 decades its log fluctuates by ~ln 2, so
    # the fitted slope is -2 to within ~0.4.
    ok = abs(st - 2.0) <= 0.25 and abs(sr + 2.0) <= 0.5
    return _claim("C05", worst, 1.0, ok, detail, t0)
