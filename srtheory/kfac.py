"""K-FAC for plain MLPs: Kronecker factors, their damped inverse, and preconditioners for Alg. 1b.

SRR_NOTES §6, Algorithm 1b: every few batches the authors' code builds a K-FAC approximation
(Martens & Grosse 2015) of the curvature on the current batch and, in step 2.8 of Algorithm 1,
replaces the eigenvector update ``v <- normalize(v + alpha * r)`` by

    v <- normalize(v + alpha * P(r)),    r = H v - lambda v,    P(r) = (G^{-1} (x) A^{-1}) r

per layer, with ``A = E[a a^T]`` (layer inputs with a bias column) and ``G = E[g g^T]``
(back-propagated gradients with respect to the layer's pre-activations), both inverted through
their eigendecompositions.  The same factors make K-FAC the optimizer baseline of §8
(:func:`srtheory.baselines.kfac_optimizer`).

Network and flat parameter layout
---------------------------------
``spec = mlp_spec((d_0, ..., d_L), activation=..., loss=...)``.  Layer ``l = 0..L-1`` maps
``h_l`` (width ``d_l``; ``h_0 = x``) to the pre-activation ``s_l = W_l h_l + b_l`` (width
``d_{l+1}``); hidden layers apply ``phi`` (tanh, sigmoid, softplus or relu), the last layer is
linear.  Its parameters form the *homogeneous* block ``Wbar_l = [W_l | b_l]`` of shape
``(d_{l+1}, d_l + 1)``; ``theta`` is the concatenation over layers of ``Wbar_l`` flattened in
row-major (C) order.  With ``abar = [h_l; 1]`` the gradient of a sample's loss with respect to
``Wbar_l`` is ``g abar^T`` (``g = dloss/ds_l``), whose row-major flattening is ``kron(g, abar)``,
so the per-layer Fisher block is ``E[(g g^T) (x) (abar abar^T)] ~ G (x) A`` in exactly the
``(G (x) A)`` order written in the notes, and
``(G (x) A) vec(R) = vec(G R A)`` for a block ``R`` of shape ``(d_{l+1}, d_l + 1)``.

Losses are means over the samples: ``"squared"``, ``l_n = 1/2 ||y_n - t_n||^2`` (targets
``(N, d_L)``); ``"softmax_ce"``, ``l_n = -log softmax(y_n)[t_n]`` (integer labels ``(N,)``).

Curvature flavours (``fisher=``): ``"ggn"`` (default, deterministic): ``G = E_n[J_n^T H_n J_n]``
with ``H_n`` the Hessian of the loss in the network output, i.e. the exact expectation of the
model's Fisher; ``"empirical"``: ``g`` from the given targets (the authors' forest run,
``kfac_rand=False``); ``"sampled"``: ``g`` from targets drawn from the model's predictive
distribution (``kfac_rand=True``; needs ``rng``).

The only ``eigh`` calls here are of the small K-FAC factors ``A`` and ``G`` -- that is the
algorithm of Alg. 1b (step 2), not a dense Hessian; dense references live in :mod:`srtheory.oracle`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import autograd.numpy as anp
import numpy as np

from ._validation import as_vector, finite_output, positive, positive_int

__all__ = [
    "Backprop",
    "KFACFactors",
    "KFACInverse",
    "MLPSpec",
    "as_preconditioner",
    "diagonal_estimate",
    "jacobi_preconditioner",
    "kfac_factors",
    "kfac_inverse",
    "kfac_multiply",
    "kfac_precondition",
    "kfac_preconditioner",
    "mlp_backprop",
    "mlp_forward",
    "mlp_init",
    "mlp_loss",
    "mlp_objective",
    "mlp_pack",
    "mlp_separate_index",
    "mlp_spec",
    "mlp_unpack",
]

ACTIVATIONS = ("tanh", "sigmoid", "softplus", "relu")
LOSSES = ("squared", "softmax_ce")
FISHERS = ("ggn", "empirical", "sampled")


class MLPSpec(NamedTuple):
    """Shape of a plain MLP: widths ``(d_0, ..., d_L)``, hidden activation, loss."""

    sizes: tuple[int, ...]
    activation: str = "tanh"
    loss: str = "squared"

    @property
    def shapes(self) -> tuple[tuple[int, int], ...]:
        """``(d_{l+1}, d_l + 1)`` per layer: the homogeneous block ``[W_l | b_l]``."""
        return tuple((self.sizes[i + 1], self.sizes[i] + 1) for i in range(len(self.sizes) - 1))

    @property
    def n_params(self) -> int:
        return int(sum(r * c for r, c in self.shapes))

    @property
    def offsets(self) -> tuple[int, ...]:
        """Start of each layer's block in ``theta`` (plus the total at the end)."""
        out = [0]
        for r, c in self.shapes:
            out.append(out[-1] + r * c)
        return tuple(out)


def mlp_spec(sizes, /, *, activation: str = "tanh", loss: str = "squared") -> MLPSpec:
    """Validate and build an :class:`MLPSpec` (see the module docstring for the layout)."""
    sizes = tuple(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least input and output widths, got {sizes!r}")
    sizes = tuple(positive_int(s, "layer width") for s in sizes)
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    if loss == "softmax_ce" and sizes[-1] < 2:
        raise ValueError(f"softmax_ce needs at least 2 outputs, got d_L = {sizes[-1]}")
    return MLPSpec(sizes, activation, loss)


def mlp_unpack(spec: MLPSpec, theta, /) -> list[np.ndarray]:
    """``theta`` -> list of homogeneous blocks ``Wbar_l = [W_l | b_l]`` (copies)."""
    theta = as_vector(theta, "theta", n=spec.n_params)
    off = spec.offsets
    return [theta[off[i] : off[i + 1]].reshape(shape) for i, shape in enumerate(spec.shapes)]


def mlp_pack(spec: MLPSpec, blocks, /) -> np.ndarray:
    """Inverse of :func:`mlp_unpack`: row-major flattening of each block, concatenated."""
    blocks = list(blocks)
    if len(blocks) != len(spec.shapes):
        raise ValueError(f"expected {len(spec.shapes)} layer blocks, got {len(blocks)}")
    out = []
    for i, (b, shape) in enumerate(zip(blocks, spec.shapes)):
        b = np.asarray(b, dtype=np.float64)
        if b.shape != shape:
            raise ValueError(f"layer {i} block has shape {b.shape}; expected {shape}")
        out.append(b.reshape(-1))
    return as_vector(np.concatenate(out), "packed parameters")


def mlp_separate_index(spec: MLPSpec, /) -> np.ndarray:
    """Index ``idx`` with ``theta = theta_sep[idx]``, where ``theta_sep`` is the "separate" layout
    ``[vec_r(W_0), b_0, vec_r(W_1), b_1, ...]`` (the zoo's ``mlp_*`` objectives, a scalar output
    being ``W_{L-1}`` of shape (1, d)).  Back: ``theta_sep = theta[np.argsort(idx)]``.  A
    preconditioner ``P`` in this module's layout acts on ``r_sep`` as ``P(r_sep[idx])[np.argsort(idx)]``.
    """
    idx, start = [], 0
    for rows, cols in spec.shapes:
        w = start + np.arange(rows * (cols - 1)).reshape(rows, cols - 1)
        b = start + rows * (cols - 1) + np.arange(rows)
        idx.append(np.hstack([w, b[:, None]]).reshape(-1))
        start += rows * cols
    return np.concatenate(idx)


def mlp_init(spec: MLPSpec, /, *, rng: np.random.Generator) -> np.ndarray:
    """Glorot-scaled Gaussian weights, zero biases, in the flat layout."""
    blocks = []
    for d_out, d_in1 in spec.shapes:
        w = rng.standard_normal((d_out, d_in1 - 1)) * np.sqrt(2.0 / (d_out + d_in1 - 1))
        blocks.append(np.hstack([w, np.zeros((d_out, 1))]))
    return mlp_pack(spec, blocks)


def mlp_forward(spec: MLPSpec, theta, X, /):
    """Network output ``y = s_{L-1}`` for inputs ``X`` of shape ``(N, d_0)``; autograd-able."""
    h = X
    off = spec.offsets
    n_layers = len(spec.shapes)
    for i, shape in enumerate(spec.shapes):
        wbar = anp.reshape(theta[off[i] : off[i + 1]], shape)
        s = anp.dot(h, anp.transpose(wbar[:, :-1])) + wbar[:, -1]
        h = s if i == n_layers - 1 else _phi(spec.activation, s)
    return h


def mlp_loss(spec: MLPSpec, theta, X, T, /):
    """Mean loss ``(1/N) sum_n l_n`` (module docstring); autograd-able in ``theta``."""
    y = mlp_forward(spec, theta, X)
    if spec.loss == "squared":
        return 0.5 * anp.sum((y - T) ** 2) / y.shape[0]
    logz = _logsumexp_rows(y)
    picked = y[np.arange(y.shape[0]), T]
    return anp.mean(logz - picked)


def mlp_objective(spec: MLPSpec, X, T, /) -> Callable:
    """``theta -> mlp_loss(spec, theta, X, T)`` with ``X, T`` checked once (for curvature code)."""
    X, T = _check_data(spec, X, T)
    return lambda theta: mlp_loss(spec, theta, X, T)


class Backprop(NamedTuple):
    """One forward/backward pass: per-layer inputs ``abar`` (N, d_l+1) and pre-activation
    gradients ``delta`` (N, d_{l+1}) of the per-sample losses, plus the mean loss.

    ``grad = pack([delta_l^T abar_l / N])`` is the gradient of the mean loss."""

    abar: tuple[np.ndarray, ...]
    delta: tuple[np.ndarray, ...]
    loss: float

    def grad(self) -> np.ndarray:
        n = self.abar[0].shape[0]
        return np.concatenate([(d.T @ a / n).reshape(-1) for a, d in zip(self.abar, self.delta)])


def mlp_backprop(spec: MLPSpec, theta, X, T, /) -> Backprop:
    """Per-sample back-propagation: ``delta_{L-1} = dl_n/dy``, ``delta_{l-1} = (delta_l W_l) * phi'(s_{l-1})``."""
    X, T = _check_data(spec, X, T)
    blocks = mlp_unpack(spec, theta)
    abar, pre = _forward_cache(spec, blocks, X)
    y = pre[-1]
    if spec.loss == "squared":
        out_grad = y - T
        loss = 0.5 * float(np.sum(out_grad**2)) / X.shape[0]
    else:
        p = _softmax(y)
        out_grad = p.copy()
        out_grad[np.arange(X.shape[0]), T] -= 1.0
        loss = float(np.mean(_logsumexp_rows(y) - y[np.arange(X.shape[0]), T]))
    delta = _backward(spec, blocks, pre, out_grad)
    return Backprop(tuple(abar), tuple(delta), loss)


class KFACFactors(NamedTuple):
    """Per-layer Kronecker factors: ``A[l] = (1/N) sum_n abar abar^T`` of shape (d_l+1, d_l+1)
    and ``G[l] = (1/N) sum_n g g^T`` of shape (d_{l+1}, d_{l+1}); block l of the curvature is
    approximated by ``G[l] (x) A[l]`` in the flat layout of the module docstring."""

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
    blocks = mlp_unpack(spec, theta)
    X = _check_inputs(spec, X)
    n = X.shape[0]
    abar, pre = _forward_cache(spec, blocks, X)
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
        delta = _backward(spec, blocks, rep, out)
    else:
        if fisher == "empirical":
            _, T = _check_data(spec, X, T)
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
        delta = _backward(spec, blocks, pre, out)
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
    r = as_vector(r, "r", n=inv.n_params)
    out, start = [], 0
    for qa, ea, qg, eg, (rows, cols) in zip(inv.QA, inv.sA, inv.QG, inv.sG, inv.shapes):
        R = r[start : start + rows * cols].reshape(rows, cols)
        start += rows * cols
        rt = (qg.T @ R @ qa) / (np.outer(eg, ea) + inv.damping)
        out.append((qg @ rt @ qa.T).reshape(-1))
    return finite_output(np.concatenate(out), "kfac_precondition", n=inv.n_params)


def kfac_multiply(factors: KFACFactors, v, /, *, damping: float = 0.0) -> np.ndarray:
    """``(G (x) A + damping I) v`` per layer, i.e. block ``V -> G V A + damping V`` (the K-FAC
    curvature itself; ``kfac_precondition`` inverts it)."""
    damping = positive(damping, "damping", allow_zero=True)
    v = as_vector(v, "v", n=factors.n_params)
    out, start = [], 0
    for a, g, (rows, cols) in zip(factors.A, factors.G, factors.shapes):
        V = v[start : start + rows * cols].reshape(rows, cols)
        start += rows * cols
        out.append((g @ V @ a + damping * V).reshape(-1))
    return np.concatenate(out)


def kfac_preconditioner(factors: KFACFactors, /, *, damping: float = 0.0) -> Callable:
    """Callable ``r -> P(r)`` for ``srtheory.spectral.power_iteration(..., precond=...)`` (Alg. 1b);
    the factors are eigendecomposed once, here."""
    inv = kfac_inverse(factors, damping=damping)
    return lambda r: kfac_precondition(inv, r)


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


# ----------------------------------------------------------------------------- private helpers


def _phi(name, s):
    if name == "tanh":
        return anp.tanh(s)
    if name == "sigmoid":
        return 0.5 * (anp.tanh(0.5 * s) + 1.0)
    if name == "softplus":
        return anp.logaddexp(0.0, s)
    return anp.maximum(s, 0.0)


def _dphi(name, s):
    if name == "tanh":
        return 1.0 - np.tanh(s) ** 2
    if name == "sigmoid":
        sg = 0.5 * (np.tanh(0.5 * s) + 1.0)
        return sg * (1.0 - sg)
    if name == "softplus":
        return 0.5 * (np.tanh(0.5 * s) + 1.0)
    return (s > 0).astype(np.float64)


def _logsumexp_rows(y):
    m = anp.max(y, axis=1, keepdims=True)
    return anp.log(anp.sum(anp.exp(y - m), axis=1)) + m[:, 0]


def _softmax(y):
    e = np.exp(y - y.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _sym(m):
    return 0.5 * (m + m.T)


def _check_inputs(spec, X):
    X = np.array(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != spec.sizes[0] or X.shape[0] < 1:
        raise ValueError(f"X must have shape (N, {spec.sizes[0]}) with N >= 1, got {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or inf")
    return X


def _check_data(spec, X, T):
    X = _check_inputs(spec, X)
    n = X.shape[0]
    if T is None:
        raise ValueError("targets T are required")
    if spec.loss == "squared":
        T = np.array(T, dtype=np.float64)
        if T.shape != (n, spec.sizes[-1]) or not np.all(np.isfinite(T)):
            raise ValueError(f"T must be finite with shape ({n}, {spec.sizes[-1]}), got {T.shape}")
    else:
        T = np.asarray(T)
        if T.shape != (n,) or not np.issubdtype(T.dtype, np.integer):
            raise ValueError(f"T must be integer labels of shape ({n},), got {T.dtype} {T.shape}")
        if T.min() < 0 or T.max() >= spec.sizes[-1]:
            raise ValueError(f"labels must lie in [0, {spec.sizes[-1]}), got range [{T.min()}, {T.max()}]")
    return X, T


def _forward_cache(spec, blocks, X):
    """Layer inputs with bias column and pre-activations, layer by layer."""
    abar, pre, h = [], [], X
    for i, wbar in enumerate(blocks):
        a = np.hstack([h, np.ones((h.shape[0], 1))])
        s = a @ wbar.T
        abar.append(a), pre.append(s)
        h = _phi(spec.activation, s) if i < len(blocks) - 1 else s
    return abar, pre


def _backward(spec, blocks, pre, out_grad):
    """Pre-activation gradients of each layer from output-side vectors (rows of ``out_grad``)."""
    delta = [None] * len(blocks)
    d = out_grad
    for i in range(len(blocks) - 1, -1, -1):
        delta[i] = d
        if i > 0:
            d = (d @ blocks[i][:, :-1]) * _dphi(spec.activation, pre[i - 1])
    return delta


def _as_inverse(factors, damping):
    if isinstance(factors, KFACInverse):
        if damping is not None:
            raise ValueError("damping is fixed inside a KFACInverse; pass damping=None")
        return factors
    if isinstance(factors, KFACFactors):
        return kfac_inverse(factors, damping=0.0 if damping is None else damping)
    raise ValueError(f"expected KFACFactors or KFACInverse, got {type(factors).__name__}")
