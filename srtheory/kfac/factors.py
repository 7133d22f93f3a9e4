"""K-FAC proper (Martens & Grosse 2015; Alg. 1b of SRR_NOTES §6, steps 1 and 2.8).

Per layer, ``A = E[abar abar^T]`` and ``G = E[g g^T]`` (:func:`kfac_factors`, with the curvature
flavours ``"ggn"``, ``"empirical"``, ``"sampled"``), their eigendecompositions
(:func:`kfac_inverse`), and the damped preconditioner ``P(r) = (G (x) A + damping I)^{-1} r``
(:func:`kfac_precondition`, :func:`kfac_preconditioner`), and the damped curvature
``G (x) A + damping I`` itself (:func:`kfac_multiply`).
"The module docstring" below means the package docstring (:mod:`srtheory.kfac`), which fixes the
flat layout (gathered into homogeneous blocks inside) and the ``(G (x) A)`` order.

The only ``eigh`` calls here are of the small K-FAC factors ``A`` and ``G`` -- that is the
algorithm of Alg. 1b (step 2), not a dense Hessian; dense references live in :mod:`srtheory.oracle`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from srtheory._validation import as_vector, finite_output, positive
from srtheory.kfac.network import _backward, _forward_cache, _softmax
from srtheory.mlp import MLPSpec, check_data, check_inputs, homogeneous_index

__all__ = [
    "FISHERS",
    "KFACFactors",
    "KFACInverse",
    "kfac_factors",
    "kfac_inverse",
    "kfac_multiply",
    "kfac_precondition",
    "kfac_preconditioner",
]

FISHERS = ("ggn", "empirical", "sampled")


class KFACFactors(NamedTuple):
    """Per-layer Kronecker factors: ``A[l] = (1/N) sum_n abar abar^T`` of shape (d_l+1, d_l+1)
    and ``G[l] = (1/N) sum_n g g^T`` of shape (d_{l+1}, d_{l+1}); block l of the curvature is
    approximated by ``G[l] (x) A[l]`` in the homogeneous ``[W_l | b_l]`` order of the module docstring."""

    A: tuple[np.ndarray, ...]
    G: tuple[np.ndarray, ...]

    @property
    def shapes(self) -> tuple[tuple[int, int], ...]:
        return tuple((g.shape[0], a.shape[0]) for a, g in zip(self.A, self.G))

    @property
    def n_params(self) -> int:
        return int(sum(r * c for r, c in self.shapes))


class KFACInverse(NamedTuple):
    """Eigendecompositions ``A = QA diag(sA) QA^T``, ``G = QG diag(sG) QG^T`` and the damping:
    represents ``(G (x) A + damping I)^{-1}`` per layer."""

    QA: tuple[np.ndarray, ...]
    sA: tuple[np.ndarray, ...]
    QG: tuple[np.ndarray, ...]
    sG: tuple[np.ndarray, ...]
    damping: float

    @property
    def shapes(self) -> tuple[tuple[int, int], ...]:
        return tuple((g.size, a.size) for a, g in zip(self.sA, self.sG))

    @property
    def n_params(self) -> int:
        return int(sum(r * c for r, c in self.shapes))


def kfac_factors(spec: MLPSpec, theta, X, T=None, /, *, fisher: str = "ggn", rng=None) -> KFACFactors:
    """Kronecker factors ``A_l = E[abar abar^T]``, ``G_l = E[g g^T]`` (Martens & Grosse 2015, Sec. 3;
    Alg. 1b of SRR_NOTES §6, step 1).

    ``fisher="ggn"``: ``G_l = (1/N) sum_n sum_k g_{nk} g_{nk}^T`` with ``g_{nk}`` the back-propagation
    of column k of a square root ``S_n`` of the output Hessian (``S_n S_n^T = H_n``; ``I`` for squared
    error, ``diag(sqrt p) - p sqrt(p)^T`` for softmax cross-entropy); ``T`` is not used.
    ``"empirical"``: ``g_n`` = back-propagated ``dl_n/dy`` with the given ``T``.  ``"sampled"``: the
    same with ``T`` drawn from the model (``t ~ N(y, I)`` or ``t ~ Categorical(softmax(y))``) via ``rng``.
    """
    if fisher not in FISHERS:
        raise ValueError(f"fisher must be one of {FISHERS}, got {fisher!r}")
    if spec.loss not in ("squared", "softmax_ce"):
        raise ValueError(f"K-FAC supports the losses 'squared' and 'softmax_ce', got {spec.loss!r}")
    X = check_inputs(spec, X)
    n = X.shape[0]
    abar, pre, weights = _forward_cache(spec, theta, X)
    y = pre[-1]
    if fisher == "ggn":
        if spec.loss == "squared":
            roots = np.broadcast_to(np.eye(y.shape[1]), (n,) + (y.shape[1],) * 2)
        else:
            p = _softmax(y)
            sq = np.sqrt(p)
            # S_n = diag(sqrt p) - p sqrt(p)^T, so S_n S_n^T = diag(p) - p p^T (softmax CE Hessian)
            roots = sq[:, :, None] * np.eye(y.shape[1]) - p[:, :, None] * sq[:, None, :]
        k = y.shape[1]
        # column k of S_n is the output-side vector of "virtual sample" (n, k)
        out = np.transpose(roots, (0, 2, 1)).reshape(n * k, y.shape[1])
        rep = [np.repeat(s, k, axis=0) for s in pre]
        delta = _backward(spec, weights, rep, out)
    else:
        if fisher == "empirical":
            _, T = check_data(spec, X, T)
        else:
            if not isinstance(rng, np.random.Generator):
                raise ValueError("fisher='sampled' needs rng=np.random.Generator")
            if spec.loss == "squared":
                T = y + rng.standard_normal(y.shape)
            else:
                p = _softmax(y)
                u = rng.random((n, 1))
                T = np.minimum((np.cumsum(p, axis=1) < u).sum(axis=1), y.shape[1] - 1)
        if spec.loss == "squared":
            out = y - T
        else:
            out = _softmax(y)
            out[np.arange(n), T] -= 1.0
        delta = _backward(spec, weights, pre, out)
    A = tuple(_sym(a.T @ a / n) for a in abar)
    G = tuple(_sym(d.T @ d / n) for d in delta)
    for l, (a, g) in enumerate(zip(A, G)):
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(g))):
            raise ValueError(f"K-FAC factors of layer {l} contain NaN or inf (diverged parameters?)")
    return KFACFactors(A, G)


def kfac_inverse(factors: KFACFactors, /, *, damping: float = 0.0) -> KFACInverse:
    """Eigendecompose each factor once: ``(G (x) A + damping I)^{-1}
    = (QG (x) QA) diag(1 / (sG_i sA_j + damping)) (QG (x) QA)^T`` (Alg. 1b, step 2).

    Eigenvalues below zero (round-off of a PSD matrix) are clipped to 0.  ``damping=0`` is the
    authors' setting; it raises ``ValueError`` when some ``G (x) A`` block is numerically singular
    (fewer samples than inputs, dead ReLUs, ...), which a positive damping cures.
    """
    damping = positive(damping, "damping", allow_zero=True)
    if not isinstance(factors, KFACFactors):
        raise ValueError(f"expected KFACFactors, got {type(factors).__name__}")
    QA, sA, QG, sG = [], [], [], []
    for l, (a, g) in enumerate(zip(factors.A, factors.G)):
        ea, qa = np.linalg.eigh(a)
        eg, qg = np.linalg.eigh(g)
        ea, eg = np.maximum(ea, 0.0), np.maximum(eg, 0.0)
        denom = np.outer(eg, ea) + damping
        floor = np.finfo(np.float64).eps * max(a.shape[0], g.shape[0]) * max(float(denom.max()), 0.0)
        if not float(denom.min()) > floor:
            raise ValueError(
                f"K-FAC block of layer {l} is singular: smallest eigenvalue product "
                f"{float(denom.min()):.3e} <= {floor:.3e}; expected damping > 0"
            )
        QA.append(qa), sA.append(ea), QG.append(qg), sG.append(eg)
    return KFACInverse(tuple(QA), tuple(sA), tuple(QG), tuple(sG), damping)


def kfac_precondition(factors, r, /, *, damping: float | None = None) -> np.ndarray:
    """``P(r) = (G^{-1} (x) A^{-1}) r`` per layer (Alg. 1b, step 2.8), damped:
    ``P(r) = (G (x) A + damping I)^{-1} r``, i.e. block ``R -> QG [(QG^T R QA) / (sG sA^T + damping)] QA^T``.

    ``factors`` is a :class:`KFACInverse` (reused; ``damping`` must be None) or
    :class:`KFACFactors` (decomposed on the fly with ``damping``, default 0).
    """
    inv = _as_inverse(factors, damping)
    idx = _homogeneous(inv.shapes)
    r = as_vector(r, "r", n=inv.n_params)[idx]
    out, start = [], 0
    for qa, ea, qg, eg, (rows, cols) in zip(inv.QA, inv.sA, inv.QG, inv.sG, inv.shapes):
        R = r[start : start + rows * cols].reshape(rows, cols)
        start += rows * cols
        rt = (qg.T @ R @ qa) / (np.outer(eg, ea) + inv.damping)
        out.append((qg @ rt @ qa.T).reshape(-1))
    return finite_output(_scatter(np.concatenate(out), idx), "kfac_precondition", n=inv.n_params)


def kfac_multiply(factors: KFACFactors, v, /, *, damping: float = 0.0) -> np.ndarray:
    """``(G (x) A + damping I) v`` per layer, i.e. block ``V -> G V A + damping V`` (the K-FAC
    curvature itself; ``kfac_precondition`` inverts it)."""
    damping = positive(damping, "damping", allow_zero=True)
    idx = _homogeneous(factors.shapes)
    v = as_vector(v, "v", n=factors.n_params)[idx]
    out, start = [], 0
    for a, g, (rows, cols) in zip(factors.A, factors.G, factors.shapes):
        V = v[start : start + rows * cols].reshape(rows, cols)
        start += rows * cols
        out.append((g @ V @ a + damping * V).reshape(-1))
    return _scatter(np.concatenate(out), idx)


def kfac_preconditioner(factors: KFACFactors, /, *, damping: float = 0.0) -> Callable:
    """Callable ``r -> P(r)`` for ``srtheory.spectral.power_iteration(..., precond=...)`` (Alg. 1b);
    the factors are eigendecomposed once, here."""
    inv = kfac_inverse(factors, damping=damping)
    return lambda r: kfac_precondition(inv, r)


# ----------------------------------------------------------------------------- private helpers


def _sym(m):
    return 0.5 * (m + m.T)


def _homogeneous(shapes):
    """``homogeneous_index`` of the MLP whose layer blocks ``[W_l | b_l]`` have these shapes."""
    if any(shapes[i][0] + 1 != shapes[i + 1][1] for i in range(len(shapes) - 1)):
        raise ValueError(f"layer blocks {shapes} do not chain into an MLP")
    return homogeneous_index((shapes[0][1] - 1,) + tuple(rows for rows, _ in shapes))


def _scatter(h, idx):
    """Blocks ``[vec(Wbar_0), ...]`` back to the flat layout: ``out[idx] = h``."""
    out = np.empty_like(h)
    out[idx] = h
    return out


def _as_inverse(factors, damping):
    if isinstance(factors, KFACInverse):
        if damping is not None:
            raise ValueError("damping is fixed inside a KFACInverse; pass damping=None")
        return factors
    if isinstance(factors, KFACFactors):
        return kfac_inverse(factors, damping=0.0 if damping is None else damping)
    raise ValueError(f"expected KFACFactors or KFACInverse, got {type(factors).__name__}")
