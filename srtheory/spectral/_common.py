"""Private helpers shared by the solvers of :mod:`srtheory.spectral`.

The counted and checked matvec (:class:`_Counted`), the input checks (:func:`_setup`), the
:class:`~srtheory.spectral.result.EigResult` constructor (:func:`_result`), one matvec for the
exact residual of a candidate eigenvector (:func:`_checked_pair`), and the float64 constants.
"""

from __future__ import annotations

import numpy as np

from srtheory._validation import as_vector, finite_output, positive, positive_int
from srtheory.operators import as_matvec
from srtheory.spectral.result import EigResult

_EPS = float(np.finfo(np.float64).eps)
_TINY = float(np.finfo(np.float64).tiny)


class _Counted:
    """Matvec wrapper: counts calls and checks every output (finite, shape (n,))."""

    def __init__(self, mv, n: int):
        self.mv, self.n, self.count = mv, n, 0

    def __call__(self, v: np.ndarray) -> np.ndarray:
        self.count += 1
        return finite_output(self.mv(v.copy()), "matvec", n=self.n)


def _setup(matvec, v0, tol, max_iter):
    mv, n = as_matvec(matvec)
    v = as_vector(v0, "v0", n=n, nonzero=True)
    tol = positive(tol, "tol")
    max_iter = positive_int(max_iter, "max_iter")
    return _Counted(mv, v.size), v, tol, max_iter


def _result(pair, *, n_mv, converged, n_iter, lambda_max=None, lambda_min=None, tie=False):
    vec, eigval, res = pair
    return EigResult(
        rho=abs(float(eigval)),
        eigval=float(eigval),
        eigvec=np.array(vec, dtype=np.float64),
        residual=float(res),
        n_matvecs=int(n_mv),
        converged=bool(converged),
        n_iter=int(n_iter),
        lambda_max=None if lambda_max is None else float(lambda_max),
        lambda_min=None if lambda_min is None else float(lambda_min),
        tie=bool(tie),
    )


def _checked_pair(mv, x):
    """Normalise ``x``, apply ``A`` once, return ``(x, Rayleigh quotient, exact residual)``."""
    x = x / np.linalg.norm(x)
    y = mv(x)
    theta = float(x @ y)
    return x, theta, float(np.linalg.norm(y - theta * x))
