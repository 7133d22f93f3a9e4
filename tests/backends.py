"""The eigen-solvers under test, one object per backend: NumPy float64 (the reference), torch
float64 and torch float32.

The solvers are written once (:mod:`srtheory.backend`); these objects run them from a start vector
of each backend on the same NumPy test problem and hand the result back with a float64 NumPy
``eigvec``, so every checker of ``tests/test_spectral.py`` applies unchanged.  Tolerances come from
the dtype: ``round`` is the rounding allowance of a recomputed residual or Rayleigh quotient
(``1000 eps``: n-term dot products with n <= 300), and ``tol(t)`` raises a requested solver
tolerance to what the dtype can reach on these problems (``100 eps``: the residual floor of an
n <= 300 planted matrix is about ``sqrt(n) eps ||A||``; float64 requests are all above that).
A looser float32 tolerance (``1000 eps``) let single-end Lanczos stop on the second-largest
eigenvalue (0.4105 for 0.4241, a gap of 1.4 %) before the top one had entered the Krylov space.
"""

from __future__ import annotations

import numpy as np
import pytest

from srtheory import spectral


class Backend:
    def __init__(self, name: str, dtype: str | None):
        self.name, self.dtype = name, dtype
        self.eps = float(np.finfo(dtype or "float64").eps)
        self.round = 1000 * self.eps

    def __repr__(self) -> str:
        return self.name

    def tol(self, t: float) -> float:
        return max(t, 100 * self.eps)

    def _solve(self, solver: str, A, v0, **kw):
        fn = getattr(spectral, solver)
        if self.dtype is None:
            return fn(A, v0, **kw)
        import torch

        dt = getattr(torch, self.dtype)
        if callable(A):

            def mv(x, A=A):
                return torch.as_tensor(np.asarray(A(x.double().numpy())), dtype=dt)
        else:
            mv = torch.as_tensor(np.asarray(A), dtype=dt)
        if callable(kw.get("precond")):
            p = kw["precond"]
            kw["precond"] = lambda r: torch.as_tensor(np.asarray(p(r.double().numpy())), dtype=dt)
        res = fn(mv, torch.as_tensor(np.asarray(v0, dtype=float), dtype=dt), **kw)
        return res._replace(eigvec=res.eigvec.double().numpy())

    def power_iteration(self, A, v0, **kw):
        return self._solve("power_iteration", A, v0, **kw)

    def lanczos(self, A, v0, **kw):
        return self._solve("lanczos", A, v0, **kw)

    def spectral_radius(self, A, v0, **kw):
        return self._solve("spectral_radius", A, v0, **kw)


def _params():
    out = [pytest.param(Backend("numpy", None), id="numpy")]
    for dt in ("float64", "float32"):
        out.append(pytest.param(Backend(f"torch-{dt}", dt), id=f"torch-{dt}",
                                marks=pytest.mark.skipif(_no_torch(), reason="torch not installed")))
    return out


def _no_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return True
    return False


#: parametrize a test over the three backends: ``@pytest.mark.parametrize("be", BACKENDS)``
BACKENDS = _params()
NUMPY = Backend("numpy", None)
