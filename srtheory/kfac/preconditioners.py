"""The other preconditioners ``P`` of Alg. 1b (SRR_NOTES §6, step 2.8): Jacobi on a curvature
diagonal, the Hutchinson estimate of that diagonal from matvecs, and the normalisation of
whatever ``P`` a caller passes (None, a positive diagonal, or a callable).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from srtheory._validation import as_vector, finite_output, positive, positive_int

__all__ = ["as_preconditioner", "diagonal_estimate", "jacobi_preconditioner"]


def jacobi_preconditioner(diagonal, /, *, damping: float = 0.0) -> Callable:
    """Generic (Jacobi) preconditioner for Alg. 1b: ``P(r)_i = r_i / (|d_i| + damping)``.

    ``d`` is a curvature diagonal (exact, or :func:`diagonal_estimate`); its absolute value keeps
    ``P`` positive definite for an indefinite Hessian.
    """
    d = np.abs(as_vector(diagonal, "diagonal"))
    damping = positive(damping, "damping", allow_zero=True)
    denom = d + damping
    if not np.all(denom > 0):
        raise ValueError("jacobi_preconditioner: |diagonal| + damping has zeros; expected damping > 0")
    return lambda r: as_vector(r, "r", n=d.size) / denom


def diagonal_estimate(matvec: Callable, n: int, /, *, rng: np.random.Generator, n_probes: int = 10) -> np.ndarray:
    """Hutchinson/Bekas estimate ``diag(H) ~ (1/m) sum_j z_j * (H z_j)``, ``z_j`` Rademacher
    (unbiased: ``E[z z^T] = I``); ``m = n_probes`` matvecs."""
    n = positive_int(n, "n")
    m = positive_int(n_probes, "n_probes")
    acc = np.zeros(n)
    for _ in range(m):
        z = rng.choice(np.array([-1.0, 1.0]), size=n)
        acc += z * finite_output(matvec(z), "matvec", n=n)
    return acc / m


def as_preconditioner(precond, /, *, n: int) -> Callable:
    """Normalise the ``P`` of Alg. 1b: None -> identity; a 1-D array ``d`` -> ``r / d`` (``d > 0``);
    a callable -> wrapped so that it must return a finite vector of length ``n``."""
    n = positive_int(n, "n")
    if precond is None:
        return lambda r: as_vector(r, "r", n=n)
    if callable(precond):
        return lambda r: finite_output(precond(as_vector(r, "r", n=n)), "preconditioner", n=n)
    d = as_vector(precond, "preconditioner diagonal", n=n)
    if not np.all(d > 0):
        raise ValueError("preconditioner diagonal must be > 0 everywhere")
    return lambda r: as_vector(r, "r", n=n) / d
