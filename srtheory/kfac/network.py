"""The plain MLP that K-FAC works on, with explicit per-sample back-propagation.

Widths ``(d_0, ..., d_L)``, hidden activation ``phi``, loss, and the flat layout of ``theta`` as
homogeneous blocks ``Wbar_l = [W_l | b_l]`` flattened row-major: all of it is set out in the
package docstring (:mod:`srtheory.kfac`), which is what "the module docstring" below refers to.
:func:`mlp_backprop` returns the per-layer inputs ``abar`` and pre-activation gradients
``delta`` from which :func:`srtheory.kfac.kfac_factors` (Alg. 1b of SRR_NOTES §6, step 1) builds
the Kronecker factors; the private forward/backward helpers at the end are shared with it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import autograd.numpy as anp
import numpy as np

from srtheory._validation import as_vector, positive_int

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "Backprop",
    "MLPSpec",
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
