"""Hypothesis strategies for symmetric matrices with planted spectra ``A = Q diag(lam) Q^T``.

Importing this module imports hypothesis (an optional dependency: ``pip install hypothesis``);
nothing else in :mod:`srtheory.testing` does.

Every example carries its exact spectrum, so tests compare the solvers against the truth (and
against ``numpy.linalg.eigh`` as the dense oracle).  Kinds:

* ``generic``: dominant ``+rho``, the rest in ``[-g rho, g rho]`` with ``g = |lam_2/lam_1| < 1``;
* ``negative_dominant``: the same with dominant ``-rho``;
* ``near_tie``: ``|lam_2| = (1 - delta) rho`` with ``delta`` in ``[1e-4, 1e-2]``, either sign;
* ``clustered``: eigenvalues in 2-4 tight clusters (relative width 1e-4), the dominant cluster
  kept apart from the others;
* ``exact_tie``: eigenvalues ``+rho`` and ``-rho`` both present.

Scales ``rho`` range over ``1e-6 .. 1e6``; sizes are mostly small (fast), sometimes up to
``max_n``.  Bulk values come from a NumPy generator seeded by hypothesis (so examples shrink
and replay); everything is finite and bounded.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

try:
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - exercised only without hypothesis
    raise ImportError(
        "srtheory.testing.strategies needs hypothesis (pip install hypothesis); the rest of "
        "srtheory.testing works without it"
    ) from exc

from srtheory.testing.numerics import planted_symmetric
from srtheory.testing.problems import EIGEN_KINDS, EigenProblem, eigen_problems

__all__ = [
    "GAPPED", "KINDS", "Planted", "catalogue_problem", "eigen_problem", "nonzero_scalars",
    "planted", "planted_from", "sizes", "spectra",
]

KINDS = ("generic", "negative_dominant", "near_tie", "clustered", "exact_tie")
GAPPED = ("generic", "negative_dominant")


class Planted(NamedTuple):
    """A drawn problem: matrix, exact spectrum, eigenvectors, a generic start, kind, ratio."""

    A: np.ndarray
    eigenvalues: np.ndarray  # exact spectrum; eigenvalues[0] is a dominant one
    Q: np.ndarray  # Q[:, i] is the eigenvector of eigenvalues[i]
    v0: np.ndarray  # a generic start vector
    kind: str
    ratio: float  # |lam_2| / |lam_1| (1.0 at an exact tie)

    def __repr__(self) -> str:  # short: hypothesis prints failing examples
        lam = np.array2string(self.eigenvalues[:6], precision=17, separator=", ")
        return (
            f"Planted(kind={self.kind!r}, n={self.eigenvalues.size}, ratio={self.ratio!r}, "
            f"eigenvalues[:6]={lam})"
        )

    @property
    def rho(self) -> float:
        return float(np.max(np.abs(self.eigenvalues)))


def sizes(min_n: int = 1, max_n: int = 300) -> st.SearchStrategy[int]:
    """Mostly small sizes, sometimes medium, rarely ``max_n``."""
    small = st.integers(min_n, max(min_n, min(10, max_n)))
    options = [small, small]
    if max_n > 10:
        options.append(st.integers(max(min_n, 11), min(60, max_n)))
    if max_n > 60:
        options.append(st.just(max_n))
    return st.one_of(*options)


@st.composite
def spectra(draw, *, kinds=KINDS, min_n: int = 2, max_n: int = 300, ratio=(0.05, 0.9)):
    """``(eigenvalues, kind, ratio)``; ``eigenvalues[0]`` is dominant (``|.| = rho``)."""
    kind = draw(st.sampled_from(kinds))
    n = draw(sizes(max(min_n, 2 if kind in ("near_tie", "exact_tie") else 1), max_n))
    if kind == "clustered":
        n = max(n, 2)
    rho = 10.0 ** draw(st.floats(-6.0, 6.0, allow_nan=False))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind in GAPPED:
        g = draw(st.floats(*ratio))
        lam = np.concatenate([[rho], g * rho * rng.uniform(-1.0, 1.0, n - 1)])
        if n > 1:
            lam[1] = g * rho * rng.choice([-1.0, 1.0])  # |lam_2/lam_1| = g exactly
        if kind == "negative_dominant":
            lam[0] = -rho
        r = g if n > 1 else 0.0
    elif kind == "near_tie":
        delta = 10.0 ** draw(st.floats(-4.0, -2.0))
        s2 = draw(st.sampled_from([-1.0, 1.0]))
        lam = np.concatenate([[rho, s2 * (1 - delta) * rho], 0.5 * rho * rng.uniform(-1, 1, n - 2)])
        lam *= draw(st.sampled_from([-1.0, 1.0]))
        r = 1 - delta
    elif kind == "exact_tie":
        lam = np.concatenate([[rho, -rho], 0.7 * rho * rng.uniform(-1, 1, n - 2)])
        r = 1.0
    else:  # clustered
        k = min(n, draw(st.integers(2, 4)))
        centers = np.concatenate([[rho], 0.6 * rho * rng.uniform(-1, 1, k - 1)])
        centers[0] *= draw(st.sampled_from([-1.0, 1.0]))
        labels = np.concatenate([np.arange(k), rng.integers(0, k, n - k)])
        lam = centers[labels] * (1.0 + 1e-4 * rng.uniform(-1, 1, n))
        lam[0] = centers[0]
        lam = np.clip(lam, -rho, rho)
        lam[0] = centers[0]
        r = float(np.sort(np.abs(lam))[-2] / rho)
    return np.asarray(lam, dtype=np.float64), kind, float(r)


@st.composite
def planted(draw, *, kinds=KINDS, min_n: int = 1, max_n: int = 300, ratio=(0.05, 0.9)) -> Planted:
    """A :class:`Planted` problem (matrix, exact spectrum, eigenvectors, start vector)."""
    lam, kind, r = draw(spectra(kinds=kinds, min_n=min_n, max_n=max_n, ratio=ratio))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    A, Q = planted_symmetric(lam, rng)
    v0 = rng.standard_normal(lam.size)
    return Planted(A, lam, Q, v0, kind, r)


def nonzero_scalars(lo: float = 1e-3, hi: float = 1e3) -> st.SearchStrategy[float]:
    """Scalars ``c`` with ``lo <= |c| <= hi``, either sign."""
    mag = st.floats(np.log10(lo), np.log10(hi)).map(lambda e: 10.0**e)
    return st.tuples(mag, st.sampled_from([-1.0, 1.0])).map(lambda t: t[0] * t[1])


def planted_from(eigenvalues, seed: int, *, kind: str = "generic") -> Planted:
    """A :class:`Planted` problem from an explicit spectrum (for pinned ``@example`` cases)."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    rng = np.random.default_rng(seed)
    A, Q = planted_symmetric(lam, rng)
    mags = np.sort(np.abs(lam))
    ratio = float(mags[-2] / mags[-1]) if lam.size > 1 else 0.0
    return Planted(A, lam, Q, rng.standard_normal(lam.size), kind, ratio)


@st.composite
def eigen_problem(draw, *, kinds=KINDS, min_n: int = 1, max_n: int = 300) -> EigenProblem:
    """A drawn :class:`~srtheory.testing.EigenProblem` (what :func:`~srtheory.testing.check_eigensolver`
    takes), from :func:`planted`: ``answers`` holds both signs at an exact tie."""
    p = draw(planted(kinds=kinds, min_n=min_n, max_n=max_n))
    order = np.lexsort((-p.eigenvalues, -np.abs(p.eigenvalues)))
    lam, Q = p.eigenvalues[order], p.Q[:, order]
    rho = p.rho
    answers = (rho, -rho) if p.kind == "exact_tie" else (float(lam[0]),)
    return EigenProblem(f"{p.kind}[n={lam.size}]", p.kind, p.A, lam, Q, p.v0, answers, repr(p))


@st.composite
def catalogue_problem(
    draw, *, kinds=EIGEN_KINDS, min_n: int = 6, max_n: int = 80, dtype=np.float64
) -> EigenProblem:
    """A problem of :func:`~srtheory.testing.eigen_problems` (every catalogue kind: repeated top,
    zero operator, tiny and huge scales, ill-conditioned too) at a drawn size and seed."""
    kind = draw(st.sampled_from(kinds))
    n = draw(st.integers(max(min_n, 6), max(min_n, max_n, 6)))
    seed = draw(st.integers(0, 2**32 - 1))
    return eigen_problems(n=n, seed=seed, dtype=dtype, kinds=(kind,))[0]
