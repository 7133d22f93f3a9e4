"""``matrix_factorization``: ``||u v^T - sigma p q^T||_F^2 / 2`` with u, v in R^2.

A continuum of equal-loss global minima ``u = t sqrt(sigma) p``, ``v = sqrt(sigma) q / t`` with
``rho = sigma (t^2 + 1/t^2)``; :func:`_mf_minimum` builds the record for any t (the balanced one,
t = 1, has the lowest rho).

The derivations that docstrings and ``notes`` here cite as "(module docstring)" are in the
docstring of the package, :mod:`srtheory.objectives`.
"""

from __future__ import annotations

import math
from types import MappingProxyType

import autograd.numpy as anp
import numpy as np

from srtheory.objectives.base import KnownMinimum, Objective, _frozen, _register

__all__: list[str] = []


# ---------------------------------------------------------------- matrix factorization

_MF_SIGMA = 2.0
_MF_P = np.array([0.6, 0.8])
_MF_Q = np.array([1.0, 0.0])
_MF_M = _MF_SIGMA * np.outer(_MF_P, _MF_Q)


def _matrix_factorization(x):
    u, v = x[:2], x[2:]
    r = anp.outer(u, v) - _MF_M
    return 0.5 * anp.sum(r * r)


def _mf_minimum(t: float, label: str) -> KnownMinimum:
    """u = t sqrt(s) p, v = sqrt(s) q / t: zero loss; Hessian J^T J has eigenvalues
    (0, |v|^2, |u|^2, |u|^2 + |v|^2) = s (0, 1/t^2, t^2, t^2 + 1/t^2) (module docstring)."""
    s = _MF_SIGMA
    x = np.concatenate([t * math.sqrt(s) * _MF_P, math.sqrt(s) * _MF_Q / t])
    eigs = np.sort([0.0, s / t**2, s * t**2, s * (t**2 + 1.0 / t**2)])
    return KnownMinimum(_frozen(x), 0.0, float(eigs[-1]), _frozen(eigs), label, 1e-15)


_register(Objective(
    name="matrix_factorization", f=_matrix_factorization, dim=4,
    x0=_frozen(_mf_minimum(2.0, "unbalanced").x + np.array([0.01, -0.01, 0.01, 0.02])),
    minima=(_mf_minimum(1.0, "balanced"), _mf_minimum(2.0, "unbalanced"), _mf_minimum(0.5, "unbalanced_v")),
    notes="|u v^T - sigma p q^T|^2/2, u, v in R^2, sigma = 2: equal-loss minima u = t sqrt(sigma) p, "
          "v = sqrt(sigma) q / t with rho = sigma (t^2 + 1/t^2), lowest (2 sigma) when balanced; "
          "gradient flow conserves |u|^2 - |v|^2",
    extras=MappingProxyType({"sigma": _MF_SIGMA, "p": tuple(_MF_P), "q": tuple(_MF_Q)}),
))
