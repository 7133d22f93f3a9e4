"""Two-dimensional landscapes with closed-form critical points and spectra.

``negative_ridge`` (a dominant eigenvalue that is negative: the sign of Lemma A),
``isotropic_cubic`` (a repeated top eigenvalue at the minimum: ``rho`` is a cone),
``rosenbrock`` (the classic valley) and ``saddle_quartic`` (3^n critical points: minima, saddles,
a maximum).  The sharp/flat bowl with a hole is in :mod:`srtheory.objectives.sharp_flat`.
"""

from __future__ import annotations

import math
from types import MappingProxyType

import numpy as np

from srtheory.objectives.base import KnownMinimum, Objective, _frozen, _register

__all__: list[str] = []


# ---------------------------------------------------------------- negative-dominant ridge

def _negative_ridge(x):
    return (x[0] ** 2 - 1.0) ** 2 + 0.5 * x[1] ** 2


_register(Objective(
    name="negative_ridge", f=_negative_ridge, dim=2, x0=_frozen([0.2, 0.5]),
    minima=tuple(KnownMinimum(_frozen([s, 0.0]), 0.0, 8.0, _frozen([1.0, 8.0]), lab)
                 for s, lab in ((-1.0, "left"), (1.0, "right"))),
    saddles=(KnownMinimum(_frozen([0.0, 0.0]), 1.0, 4.0, _frozen([-4.0, 1.0]), "saddle"),),
    notes="(x1^2-1)^2 + x2^2/2: H = diag(12 x1^2 - 4, 1); for |x1| < 1/2 the dominant eigenvalue "
          "is negative, so grad rho = -grad lambda = (24 x1, 0) (Lemma A's sign(lambda))",
    extras=MappingProxyType({"negative_dominant_region": "|x1| < 1/2"}),
    bounds=((-1.5, 1.5), (-1.0, 1.0)),
))


# ---------------------------------------------------------------- isotropic well (repeated top eigenvalue)

_KAPPA = 0.5


def _isotropic_cubic(x):
    return 0.5 * (x[0] ** 2 + x[1] ** 2) + (_KAPPA / 3.0) * (x[0] ** 3 - 3.0 * x[0] * x[1] ** 2)


_register(Objective(
    name="isotropic_cubic", f=_isotropic_cubic, dim=2, x0=_frozen([0.3, 0.2]),
    minima=(KnownMinimum(_frozen([0.0, 0.0]), 0.0, 1.0, _frozen([1.0, 1.0]), "isotropic"),),
    # the three saddles of |x|^2/2 + (k/3) Re z^3: x = (-1/k, 0), (1/(2k), +-sqrt(3)/(2k)),
    # where |x| = 1/k and the eigenvalues are 1 -+ 2k|x| = (-1, 3)
    saddles=tuple(
        KnownMinimum(_frozen([math.cos(th) / _KAPPA, math.sin(th) / _KAPPA]), 1.0 / (6 * _KAPPA**2),
                     3.0, _frozen([-1.0, 3.0]), "saddle", 1e-15)
        for th in (math.pi, math.pi / 3, -math.pi / 3)
    ),
    notes="|x|^2/2 + (k/3)(x1^3 - 3 x1 x2^2), k = 1/2: eigenvalues 1 +- 2k|x|, so at the minimum the "
          "top eigenvalue is repeated and rho = 1 + 2k|x| is a cone (not differentiable): GD on h "
          "chatters around 0 with an eigenvector that flips",
    extras=MappingProxyType({"kappa": _KAPPA}),
    bounds=((-1.0, 1.0), (-1.0, 1.0)),
))


# ---------------------------------------------------------------- Rosenbrock and a saddle-rich quartic

def _rosenbrock(x):
    return (1.0 - x[0]) ** 2 + 100.0 * (x[1] - x[0] ** 2) ** 2


_ROS_EIGS = _frozen([(1002.0 - math.sqrt(1002404.0)) / 2.0, (1002.0 + math.sqrt(1002404.0)) / 2.0])
_register(Objective(
    name="rosenbrock", f=_rosenbrock, dim=2, x0=_frozen([-1.2, 1.0]),
    minima=(KnownMinimum(_frozen([1.0, 1.0]), 0.0, float(_ROS_EIGS[1]), _ROS_EIGS, "global", 1e-13),),
    notes="(1-x1)^2 + 100 (x2 - x1^2)^2; H(1,1) = [[802, -400], [-400, 200]], eigenvalues "
          "(1002 -+ sqrt(1002404))/2; the gradient is not globally Lipschitz",
    bounds=((-1.5, 1.5), (-0.5, 1.5)),
))

_QW = (1.0, 1.5)


def _saddle_quartic(x):
    return 0.25 * (_QW[0] * (x[0] ** 2 - 1.0) ** 2 + _QW[1] * (x[1] ** 2 - 1.0) ** 2)


def _quartic_points():
    """All 9 critical points: each coordinate in {-1, 0, 1}; eigenvalue w_i (3 x_i^2 - 1)."""
    minima, others = [], []
    for c0 in (-1.0, 0.0, 1.0):
        for c1 in (-1.0, 0.0, 1.0):
            x = np.array([c0, c1])
            eigs = np.sort([w * (3 * c * c - 1) for w, c in zip(_QW, x)])
            f = 0.25 * sum(w * (c * c - 1) ** 2 for w, c in zip(_QW, x))
            n_neg = int(np.sum(eigs < 0))
            label = {0: "minimum", 1: "saddle", 2: "maximum"}[n_neg]
            rec = KnownMinimum(_frozen(x), float(f), float(np.max(np.abs(eigs))), _frozen(eigs), label)
            (minima if n_neg == 0 else others).append(rec)
    return tuple(minima), tuple(others)


_QMIN, _QSAD = _quartic_points()
_register(Objective(
    name="saddle_quartic", f=_saddle_quartic, dim=2, x0=_frozen([0.05, -0.02]),
    minima=_QMIN, saddles=_QSAD,
    notes="sum_i w_i (x_i^2 - 1)^2 / 4, w = (1, 1.5): 4 minima (rho = 3), 4 saddles, a maximum at 0",
    bounds=((-1.6, 1.6), (-1.6, 1.6)),
))
