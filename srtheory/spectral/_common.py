"""Private helpers shared by the solvers of :mod:`srtheory.spectral` (both backends).

The counted and checked matvec (:class:`_Counted`), the input checks (:func:`_setup`, which also
picks the array operations from the start vector's type, :mod:`srtheory.backend`), the
:class:`~srtheory.spectral.result.EigResult` constructor (:func:`_result`), one matvec for the
exact residual of a candidate eigenvector (:func:`_checked_pair`), and the float64 constants.
"""

from __future__ import annotations

import numpy as np

from srtheory._validation import positive, positive_int
from srtheory.backend import ops_for
from srtheory.spectral.result import EigResult

_EPS = float(np.finfo(np.float64).eps)
_TINY = float(np.finfo(np.float64).tiny)


class _Counted:
    """Matvec wrapper: counts calls, hands the matvec a copy of its argument (so a matvec that
    writes into its input cannot corrupt the iteration) and checks every output (finite, shape
    ``(n,)``, cast to the start vector's dtype and device)."""

    def __init__(self, mv, n: int, ops, like):
        self.mv, self.n, self.ops, self.like, self.count = mv, n, ops, like, 0

    def __call__(self, v):
        self.count += 1
        return self.ops.checked(self.mv(self.ops.copy(v)), "matvec", self.n, self.like)


def _setup(matvec, v0, tol, max_iter):
    """Checked ``(counted matvec, private copy of v0, tol, max_iter, ops)``."""
    ops = ops_for(v0)
    raw, v, n = ops.prepare(matvec, v0)
    tol = positive(tol, "tol")
    max_iter = positive_int(max_iter, "max_iter")
    return _Counted(raw, n, ops, v), v, tol, max_iter, ops


def _result(ops, pair, *, n_mv, converged, n_iter, lambda_max=None, lambda_min=None, tie=False):
    vec, eigval, res = pair
    return EigResult(
        rho=abs(float(eigval)),
        eigval=float(eigval),
        eigvec=ops.export(vec),
        residual=float(res),
        n_matvecs=int(n_mv),
        converged=bool(converged),
        n_iter=int(n_iter),
        lambda_max=None if lambda_max is None else float(lambda_max),
        lambda_min=None if lambda_min is None else float(lambda_min),
        tie=bool(tie),
    )


def _checked_pair(ops, mv, x):
    """Normalise ``x``, apply ``A`` once, return ``(x, Rayleigh quotient, exact residual)``."""
    x = ops.normalize(x)
    y = mv(x)
    theta = ops.dot(x, y)
    return x, theta, ops.norm(ops.sub_scaled(y, x, theta))
