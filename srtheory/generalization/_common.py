"""Input checks shared by the §9 generalizability tests (private to :mod:`srtheory.generalization`)."""

from __future__ import annotations

import numpy as np


def _as_matrix(X, name: str) -> np.ndarray:
    arr = np.asarray(X, dtype=float)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return arr


def _as_labels(y, name: str, n_classes: int, n: int | None = None) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1 or (n is not None and arr.size != n):
        raise ValueError(f"{name} must be 1-D{'' if n is None else f' of length {n}'}, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer) and not np.all(arr == np.round(arr)):
        raise ValueError(f"{name} must hold integer class labels")
    arr = arr.astype(int)
    if arr.size and (arr.min() < 0 or arr.max() >= n_classes):
        raise ValueError(f"{name} must hold labels in [0, {n_classes}), got range [{arr.min()}, {arr.max()}]")
    return arr
