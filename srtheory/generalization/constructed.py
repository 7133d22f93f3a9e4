"""Similarity-controlled constructed test sets, SRR_NOTES §9.5.

:func:`nearest_similarity` measures each candidate's similarity to its nearest reference point;
:func:`constructed_test_set` draws a test set with a deliberately irregular similarity histogram.
Randomness enters only as an ``rng`` argument.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from srtheory._validation import positive_int
from srtheory.generalization._common import _as_matrix

__all__ = ["nearest_similarity", "ConstructedSet", "constructed_test_set"]


def nearest_similarity(candidates, reference, /, *, metric: str = "cosine", chunk: int = 1024) -> np.ndarray:
    """Similarity of each candidate to its nearest reference point, SRR_NOTES §9.5 step 1.

    ``metric="cosine"``: ``max_r <c, r> / (||c|| ||r||)`` (higher = more similar);
    ``metric="euclidean"``: ``min_r ||c - r||`` (lower = more similar).  Rows are flattened, so
    images of shape ``(n, h, w)`` are accepted.  Computed in chunks of ``chunk`` candidates.
    """
    C = _as_matrix(np.reshape(np.asarray(candidates, dtype=float), (len(candidates), -1)), "candidates")
    R = _as_matrix(np.reshape(np.asarray(reference, dtype=float), (len(reference), -1)), "reference")
    if C.shape[1] != R.shape[1]:
        raise ValueError(f"candidates have {C.shape[1]} features, reference {R.shape[1]}")
    chunk = positive_int(chunk, "chunk")
    if metric == "cosine":
        nc, nr = np.linalg.norm(C, axis=1), np.linalg.norm(R, axis=1)
        if np.any(nc == 0) or np.any(nr == 0):
            raise ValueError("cosine similarity is undefined for an all-zero row")
        Cn, Rn = C / nc[:, None], R / nr[:, None]
        out = np.concatenate([np.max(Cn[s : s + chunk] @ Rn.T, axis=1) for s in range(0, len(C), chunk)])
        return np.clip(out, -1.0, 1.0)
    if metric == "euclidean":
        r2 = np.sum(R**2, axis=1)
        parts = []
        for s in range(0, len(C), chunk):
            c = C[s : s + chunk]
            d2 = np.sum(c**2, axis=1)[:, None] - 2 * c @ R.T + r2[None, :]
            parts.append(np.sqrt(np.maximum(np.min(d2, axis=1), 0.0)))
        return np.concatenate(parts)
    raise ValueError(f"metric must be 'cosine' or 'euclidean', got {metric!r}")


class ConstructedSet(NamedTuple):
    """A similarity-controlled test set (§9.5): ``indices`` into the candidate pool, the histogram
    ``counts`` of the chosen candidates' similarities over ``bin_edges``, and the emptied bins."""

    indices: np.ndarray
    bin_edges: np.ndarray
    counts: np.ndarray
    emptied: np.ndarray


def constructed_test_set(
    similarity,
    /,
    *,
    rng: np.random.Generator,
    bin_edges=None,
    n_bins: int = 20,
    n_empty: int = 5,
    max_per_bin: int = 50,
) -> ConstructedSet:
    """Build a test set with a deliberately irregular similarity histogram, SRR_NOTES §9.5 steps 2-5.

    The candidates' ``similarity`` values are binned over ``bin_edges`` (default: ``n_bins`` equal
    bins spanning the observed range); ``n_empty`` bins among the non-empty ones are chosen at
    random and left empty; every other bin gets ``m_b ~ U{1..max_per_bin}`` candidates drawn without
    replacement from those in it (all of them if fewer).  Candidates outside the edges are unused.
    """
    s = np.array(similarity, dtype=float)
    if s.ndim != 1 or s.size == 0 or not np.all(np.isfinite(s)):
        raise ValueError("similarity must be a non-empty finite 1-D array")
    max_per_bin = positive_int(max_per_bin, "max_per_bin")
    if bin_edges is None:
        n_bins = positive_int(n_bins, "n_bins")
        lo, hi = float(s.min()), float(s.max())
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, n_bins + 1)
    else:
        edges = np.array(bin_edges, dtype=float)
        if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
            raise ValueError("bin_edges must be a strictly increasing 1-D array of length >= 2")
    n_b = edges.size - 1
    which = np.clip(np.searchsorted(edges, s, side="right") - 1, 0, n_b - 1)
    inside = (s >= edges[0]) & (s <= edges[-1])
    nonempty = np.unique(which[inside])
    n_empty = positive_int(n_empty, "n_empty", minimum=0)
    if n_empty >= nonempty.size:
        raise ValueError(f"n_empty={n_empty} must be below the number of non-empty bins ({nonempty.size})")
    emptied = np.sort(rng.choice(nonempty, size=n_empty, replace=False))
    chosen = []
    for b in nonempty:
        if b in emptied:
            continue
        pool = np.flatnonzero(inside & (which == b))
        m = min(int(rng.integers(1, max_per_bin + 1)), pool.size)
        chosen.append(rng.choice(pool, size=m, replace=False))
    idx = np.concatenate(chosen)
    counts = np.bincount(which[idx], minlength=n_b)
    return ConstructedSet(idx, edges, counts, emptied)
