"""Numerical helpers of :mod:`srtheory.testing`: dtype-derived tolerances, planted spectra, errors.

* :func:`tolerance` -- tolerances derived from the floating-point type, never bare constants.
* :func:`planted_symmetric` -- symmetric matrices ``Q diag(lam) Q^T`` with a chosen spectrum.
* :func:`assert_close` -- a comparison that reports the observed error next to the allowance.

Only NumPy is needed here.  ``tolerance`` also accepts a torch dtype (through its name), so the
same allowance rule serves both backends.
"""

from __future__ import annotations

import numpy as np

__all__ = ["assert_close", "planted_symmetric", "random_orthogonal", "relative_error", "tolerance"]


def tolerance(dtype=np.float64, /, *, factor: float = 1.0, power: float = 1.0) -> float:
    """Tolerance ``factor * eps(dtype) ** power``.

    ``power`` expresses an error order in units of the machine epsilon: a central difference
    with an optimal step is accurate to about ``eps ** (2/3)``, a second difference to
    ``eps ** (1/2)``.  Every tolerance in the tests goes through this function, and each
    ``factor`` larger than about 100 carries a comment saying why.
    """
    if not factor > 0:
        raise ValueError(f"tolerance factor must be positive, got {factor!r}")
    if not power > 0:
        raise ValueError(f"tolerance power must be positive, got {power!r}")
    eps = float(np.finfo(_numpy_dtype(dtype)).eps)
    return float(factor) * eps ** float(power)


def relative_error(observed, expected, /) -> float:
    """``||observed - expected|| / max(||expected||, tiny)`` in the 2-norm (or absolute value)."""
    observed = np.asarray(observed, dtype=float)
    expected = np.asarray(expected, dtype=float)
    scale = max(float(np.linalg.norm(expected)), np.finfo(float).tiny)
    return float(np.linalg.norm(observed - expected)) / scale


def assert_close(observed, expected, /, *, rtol: float, atol: float = 0.0, what: str = "value") -> None:
    """Raise ``AssertionError`` unless ``||obs - exp|| <= atol + rtol * ||exp||``.

    The message states the observed error and the allowance, so a failure tells by how much.
    """
    observed = np.asarray(observed, dtype=float)
    expected = np.asarray(expected, dtype=float)
    if observed.shape != expected.shape:
        raise AssertionError(f"{what}: shape {observed.shape} != expected shape {expected.shape}")
    err = float(np.linalg.norm(observed - expected))
    allowed = atol + rtol * float(np.linalg.norm(expected))
    if not err <= allowed:
        raise AssertionError(
            f"{what}: error {err:.3e} exceeds allowance {allowed:.3e} "
            f"(rtol={rtol:.1e}, atol={atol:.1e}, |expected|={np.linalg.norm(expected):.3e})"
        )


def random_orthogonal(n: int, /, rng: np.random.Generator) -> np.ndarray:
    """Haar-distributed orthogonal ``n x n`` matrix (QR of a Gaussian matrix, signs fixed)."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    z = rng.standard_normal((n, n))
    q, r = np.linalg.qr(z)
    return q * np.sign(np.diag(r))


def planted_symmetric(eigenvalues, /, rng: np.random.Generator):
    """Return ``(A, Q)`` with ``A = Q diag(eigenvalues) Q^T`` exactly symmetric.

    Column ``Q[:, i]`` is the eigenvector of ``eigenvalues[i]``.
    """
    lam = np.asarray(eigenvalues, dtype=float)
    if lam.ndim != 1 or lam.size < 1:
        raise ValueError(f"eigenvalues must be a non-empty 1-D array, got shape {lam.shape}")
    if not np.all(np.isfinite(lam)):
        raise ValueError("eigenvalues must be finite")
    q = random_orthogonal(lam.size, rng)
    a = (q * lam) @ q.T
    a = 0.5 * (a + a.T)
    return a, q


def _numpy_dtype(dtype) -> np.dtype:
    """The NumPy dtype of ``dtype``: a NumPy dtype or type, or a torch dtype (``torch.float32`` ->
    ``float32``, matched by name so that torch is never imported here)."""
    if type(dtype).__module__.partition(".")[0] == "torch":
        name = str(dtype).rpartition(".")[2]
        if name == "bfloat16":
            raise ValueError("bfloat16 has no NumPy dtype; pass its eps explicitly")
        return np.dtype(name)
    return np.dtype(dtype)
