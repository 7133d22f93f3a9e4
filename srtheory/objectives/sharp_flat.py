"""``sharp_flat_1d`` and ``sharp_flat_2d``: a wide quadratic bowl with a narrow Gaussian hole.

``f(x) = (b/2)|x|^2 - a exp(-|x - c|^2 / (2 s^2))``: the flat minimum (``rho ~ b``), the sharp,
deeper minimum in the hole (``rho ~ b + a/s^2``) and the barrier between them, found by bracketed
root finding on the closed-form derivatives along the axis through 0 and c; the thresholds
``mu_prefer`` and ``mu_escape`` of the regularized objective, and the 1-D inflection points.

The derivations that docstrings and ``notes`` here cite as "(module docstring)" are in the
docstring of the package, :mod:`srtheory.objectives`.
"""

from __future__ import annotations

import math
from types import MappingProxyType

import autograd.numpy as anp
import numpy as np
from scipy.optimize import brentq

from srtheory.objectives.base import KnownMinimum, Objective, _frozen, _register

__all__ = ["SHARP_FLAT_1D", "SHARP_FLAT_2D"]


# ---------------------------------------------------------------- bowl with a Gaussian hole

_B, _A, _C1, _S = 1.0, 1.5, 1.5, 0.25  # bowl curvature, hole depth, hole centre, hole width
_ROOT_TOL = 4.0 * np.finfo(float).eps  # brentq xtol, relative: the stored points are exact to ~1e-15


def _hole_1d(x, b=_B, a=_A, c=_C1, s=_S):
    """f, f', f'' and the 2-D tangential eigenvalue of the bowl + hole along its axis (floats)."""
    t = x - c
    e = math.exp(-t * t / (2 * s * s))
    f = 0.5 * b * x * x - a * e
    df = b * x + (a / s**2) * t * e
    d2f = b + (a / s**2) * (1 - t * t / s**2) * e
    tang = b + (a / s**2) * e
    return f, df, d2f, tang


def _axis_roots():
    """Critical points of the axis function (flat minimum, barrier, sharp minimum) and the
    inflection points of the hole, by bracketed root finding on closed-form derivatives."""
    df = lambda x: _hole_1d(x)[1]
    d2f = lambda x: _hole_1d(x)[2]
    grid = np.linspace(-1.0, 3.0, 4001)
    vals = np.array([df(g) for g in grid])
    crit = [brentq(df, grid[i], grid[i + 1], xtol=1e-300, rtol=_ROOT_TOL)
            for i in range(grid.size - 1) if vals[i] == 0 or vals[i] * vals[i + 1] < 0]
    vals2 = np.array([d2f(g) for g in grid])
    infl = [brentq(d2f, grid[i], grid[i + 1], xtol=1e-300, rtol=_ROOT_TOL)
            for i in range(grid.size - 1) if vals2[i] * vals2[i + 1] < 0]
    return sorted(crit), sorted(infl)


def _tie_point(b=_B, a=_A, c=_C1, s=_S) -> float:
    """x1 on the axis (between the barrier and the hole's bottom) where the radial eigenvalue,
    negative there, reaches minus the tangential one: ``|radial| = tangential``, a ``+-rho`` tie
    (module docstring of the package).  Root of ``2b + (a/s^2)(2 - t^2/s^2) e = 0``, ``t < 0``."""

    def g(t):
        return 2 * b + (a / s**2) * (2 - t * t / s**2) * math.exp(-t * t / (2 * s * s))

    return c + brentq(g, -2.5 * s, -math.sqrt(2) * s, xtol=1e-300, rtol=_ROOT_TOL)


def _escape_threshold(b=_B, a=_A, c=_C1, s=_S) -> tuple[float, float, float]:
    """(mu_escape, tau, a_crit) from the cubic tau^3 - c tau^2 + c s^2 = 0 (module docstring)."""
    roots = np.roots([1.0, -c, 0.0, c * s * s])
    real = sorted(r.real for r in roots if abs(r.imag) < 1e-12 and s < r.real < c)
    tau = brentq(lambda t: t**3 - c * t * t + c * s * s, real[0] - 1e-6, real[0] + 1e-6,
                 xtol=1e-300, rtol=_ROOT_TOL)
    a_crit = b * s * s * math.exp(tau * tau / (2 * s * s)) / (tau * tau / (s * s) - 1.0)
    return s * s * (1.0 - a_crit / a), tau, a_crit


def _make_sharp_flat():
    (x_flat, x_barrier, x_sharp), infl = _axis_roots()
    prec = 1e-12
    # 1-D: H = f''
    recs1 = {}
    for x, label in ((x_flat, "flat"), (x_sharp, "sharp"), (x_barrier, "saddle")):
        f, _, d2f, tang = _hole_1d(x)
        recs1[label] = KnownMinimum(_frozen([x]), f, abs(d2f), _frozen([d2f]), label, prec)
    mu_prefer_1d = (recs1["flat"].f - recs1["sharp"].f) / (recs1["sharp"].rho - recs1["flat"].rho)

    def f1(x):
        t = x[0] - _C1
        return 0.5 * _B * x[0] ** 2 - _A * anp.exp(-t * t / (2 * _S**2))

    ob1 = Objective(
        name="sharp_flat_1d", f=f1, dim=1, x0=_frozen([x_sharp]),
        minima=(recs1["sharp"], recs1["flat"]), saddles=(recs1["saddle"],),
        lipschitz_grad=_B + _A / _S**2,
        notes="bowl b x^2/2 with a Gaussian hole (depth a, width s) at c; in 1-D rho = |f''| "
              "vanishes at the inflection points, so GD on h never leaves the hole and large mu "
              "slides to an inflection point (module docstring)",
        extras=MappingProxyType({
            "b": _B, "a": _A, "c": _C1, "s": _S,
            "mu_prefer": mu_prefer_1d,
            "inflection_points": tuple(infl),
        }),
        bounds=((-1.0, 2.5),),
    )
    # 2-D: eigenvalues (f'', tangential) on the axis x2 = 0
    recs2 = {}
    for x, label in ((x_flat, "flat"), (x_sharp, "sharp"), (x_barrier, "saddle")):
        f, _, d2f, tang = _hole_1d(x)
        eigs = np.sort([d2f, tang])
        recs2[label] = KnownMinimum(_frozen([x, 0.0]), f, float(np.max(np.abs(eigs))),
                                    _frozen(eigs), label, prec)
    mu_prefer_2d = (recs2["flat"].f - recs2["sharp"].f) / (recs2["sharp"].rho - recs2["flat"].rho)
    mu_escape, tau, a_crit = _escape_threshold()

    def f2(x):
        d0 = x[0] - _C1
        return 0.5 * _B * (x[0] ** 2 + x[1] ** 2) - _A * anp.exp(-(d0 * d0 + x[1] ** 2) / (2 * _S**2))

    ob2 = Objective(
        name="sharp_flat_2d", f=f2, dim=2, x0=_frozen([x_sharp, 0.0]),
        minima=(recs2["sharp"], recs2["flat"]), saddles=(recs2["saddle"],),
        lipschitz_grad=_B + _A / _S**2,
        notes="bowl b|x|^2/2 with a Gaussian hole at (c, 0); where the tangential eigenvalue is rho "
              "(K = 0) the penalty scales the hole depth by (1 - mu/s^2), so above mu_escape the "
              "hole's bottom is no longer a minimum of h; on the rim (x1 = tie_point) the negative "
              "radial eigenvalue takes over, a +-rho tie where small steps stall (module docstring)",
        extras=MappingProxyType({
            "b": _B, "a": _A, "c": (_C1, 0.0), "s": _S,
            "mu_prefer": mu_prefer_2d, "mu_escape": mu_escape,
            "escape_tau": tau, "escape_depth": a_crit, "tie_point": _tie_point(),
        }),
        bounds=((-0.75, 2.25), (-0.75, 0.75)),
    )
    return ob1, ob2


SHARP_FLAT_1D, SHARP_FLAT_2D = (_register(o) for o in _make_sharp_flat())
