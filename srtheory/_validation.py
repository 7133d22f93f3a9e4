"""Input checks shared by the algorithms: each raises ``ValueError`` saying what was wrong and
what was expected, before any state is touched."""

from __future__ import annotations

import numpy as np


def as_vector(x, /, name: str, *, n: int | None = None, nonzero: bool = False) -> np.ndarray:
    """Return ``x`` as a finite 1-D float64 array (a copy), or raise ``ValueError``."""
    arr = np.array(x, dtype=np.float64, copy=True)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D vector, got an array of shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must be non-empty")
    if n is not None and arr.size != n:
        raise ValueError(f"{name} must have length {n}, got length {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf; expected finite values")
    if nonzero and not np.any(arr):
        raise ValueError(f"{name} is the zero vector; expected a nonzero vector")
    return arr


def positive(value, /, name: str, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float that is > 0 (or >= 0), or raise ``ValueError``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    ok = v >= 0 if allow_zero else v > 0
    if not (np.isfinite(v) and ok):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {bound}, got {value!r}")
    return v


def positive_int(value, /, name: str, *, minimum: int = 1) -> int:
    """Return ``value`` as an int >= ``minimum``, or raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def finite_output(y, /, what: str, *, n: int | None = None) -> np.ndarray:
    """Check what a user callable returned: finite, 1-D, right length."""
    arr = np.asarray(y, dtype=np.float64)
    if arr.ndim != 1 or (n is not None and arr.size != n):
        raise ValueError(f"{what} returned shape {arr.shape}; expected ({n},)")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} returned NaN or inf; expected finite values")
    return arr
