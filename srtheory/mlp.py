"""The multilayer perceptron: one flat parameter layout, one forward pass, the losses.

Every MLP in srtheory is this one: the zoo's ``mlp_*`` objectives, K-FAC
(:mod:`srtheory.kfac`), the experiments' model (:mod:`srtheory.experiments`), ``srtheory radius``,
the autograd.numpy twin of the torch parity models (:mod:`srtheory.torch.models`) and the
sigmoid network of the R-operator (:mod:`srtheory.roperator`).  All functions are pure and
written with autograd.numpy, so autograd differentiates them to any order.

Network
-------
Widths ``sizes = (d_0, ..., d_L)``.  Samples are rows: ``h_0 = X`` of shape ``(N, d_0)``, and layer
``l = 0..L-1`` computes the pre-activation ``s_l = h_l W_l^T + b_l`` (shape ``(N, d_{l+1})``);
hidden layers apply ``phi`` (``h_{l+1} = phi(s_l)``: tanh, sigmoid, softplus or relu), the last
layer is linear: the output is ``y = s_{L-1}``.

Flat layout
-----------
``theta = [vec(W_0), b_0, vec(W_1), b_1, ..., vec(W_{L-1}), b_{L-1}]`` with ``W_l`` of shape
``(d_{l+1}, d_l)`` flattened row-major (C order) and ``b_l`` of length ``d_{l+1}``.  This is
``torch.nn.Linear``'s ``(weight, bias)`` in ``model.parameters()`` order, so a torch ``Sequential``
of Linear layers and this module share their parameter vector by concatenation.
``n_params = sum_l d_{l+1} (d_l + 1)``.  K-FAC works on the homogeneous blocks
``Wbar_l = [W_l | b_l]`` of shape ``(d_{l+1}, d_l + 1)``: ``theta[homogeneous_index(sizes)]`` lists
them, each flattened row-major (see :func:`homogeneous_index`).

Losses
------
Means over the samples of a per-sample loss ``l_n`` of the output ``y_n``:

* ``"squared"``: ``l_n = 1/2 ||y_n - t_n||^2``, targets ``T`` of shape ``(N, d_L)``;
* ``"softmax_ce"``: ``l_n = -log softmax(y_n)[t_n]``, integer labels ``T`` of shape ``(N,)``;
* ``"logistic"``: ``l_n = log(1 + exp(-t_n y_n))``, one output, labels ``t_n = +-1`` of shape ``(N,)``.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from typing import NamedTuple

import autograd.numpy as anp
import numpy as np

from srtheory._validation import as_vector, positive_int

__all__ = [
    "ACTIVATIONS",
    "INITS",
    "LOSSES",
    "MLPSpec",
    "check_data",
    "check_inputs",
    "dphi",
    "homogeneous_index",
    "mlp_forward",
    "mlp_init",
    "mlp_layers",
    "mlp_loss",
    "mlp_objective",
    "mlp_pack",
    "mlp_spec",
    "mlp_unpack",
    "output_loss",
    "phi",
]

ACTIVATIONS = ("tanh", "sigmoid", "softplus", "relu")
LOSSES = ("squared", "softmax_ce", "logistic")
INITS = ("glorot", "lecun")


class MLPSpec(NamedTuple):
    """Shape of an MLP: widths ``(d_0, ..., d_L)``, hidden activation, loss (module docstring)."""

    sizes: tuple[int, ...]
    activation: str = "tanh"
    loss: str = "squared"

    @property
    def shapes(self) -> tuple[tuple[int, int], ...]:
        """``(d_{l+1}, d_l)`` per layer: the shape of ``W_l`` (``b_l`` has length ``d_{l+1}``)."""
        return tuple(zip(self.sizes[1:], self.sizes[:-1]))

    @property
    def n_params(self) -> int:
        return int(sum(r * (c + 1) for r, c in self.shapes))

    @property
    def offsets(self) -> tuple[int, ...]:
        """Start of each layer's ``[vec(W_l), b_l]`` in ``theta`` (plus the total at the end)."""
        out = [0]
        for r, c in self.shapes:
            out.append(out[-1] + r * (c + 1))
        return tuple(out)


def mlp_spec(sizes, /, *, activation: str = "tanh", loss: str = "squared") -> MLPSpec:
    """Validate and build an :class:`MLPSpec`."""
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
    if loss == "logistic" and sizes[-1] != 1:
        raise ValueError(f"the logistic loss needs one output, got d_L = {sizes[-1]}")
    return MLPSpec(sizes, activation, loss)


# ------------------------------------------------------------------------------------- layout


def mlp_unpack(spec: MLPSpec, theta, /) -> list:
    """``theta -> [(W_0, b_0), ..., (W_{L-1}, b_{L-1})]`` by slicing and reshaping (views of a NumPy
    ``theta``; works on autograd boxes too).  Only the length is checked."""
    if np.shape(theta) != (spec.n_params,):
        raise ValueError(
            f"theta has shape {np.shape(theta)}; expected ({spec.n_params},) for sizes {spec.sizes}"
        )
    out, start = [], 0
    for rows, cols in spec.shapes:
        W = anp.reshape(theta[start : start + rows * cols], (rows, cols))
        start += rows * cols
        out.append((W, theta[start : start + rows]))
        start += rows
    return out


def mlp_pack(spec: MLPSpec, layers, /) -> np.ndarray:
    """Inverse of :func:`mlp_unpack`: ``[(W_l, b_l)]`` -> ``theta`` (float64, shapes checked)."""
    layers = list(layers)
    if len(layers) != len(spec.shapes):
        raise ValueError(f"expected {len(spec.shapes)} (W, b) layers, got {len(layers)}")
    out = []
    for i, ((W, b), (rows, cols)) in enumerate(zip(layers, spec.shapes)):
        W, b = np.asarray(W, dtype=np.float64), np.asarray(b, dtype=np.float64)
        if W.shape != (rows, cols) or b.shape != (rows,):
            raise ValueError(
                f"layer {i} has W {W.shape}, b {b.shape}; expected ({rows}, {cols}), ({rows},)"
            )
        out += [W.reshape(-1), b]
    return as_vector(np.concatenate(out), "packed parameters")


def homogeneous_index(sizes, /) -> np.ndarray:
    """Index ``idx`` with ``theta[idx] = [vec(Wbar_0), vec(Wbar_1), ...]``, ``Wbar_l = [W_l | b_l]``
    of shape ``(d_{l+1}, d_l + 1)`` flattened row-major (the order of K-FAC's Kronecker factors).
    Back: ``theta = theta_h[np.argsort(idx)]``.  ``sizes`` may be an :class:`MLPSpec`."""
    sizes = sizes.sizes if isinstance(sizes, MLPSpec) else tuple(int(s) for s in sizes)
    idx, start = [], 0
    for cols, rows in pairwise(sizes):
        w = start + np.arange(rows * cols).reshape(rows, cols)
        b = start + rows * cols + np.arange(rows)
        idx.append(np.hstack([w, b[:, None]]).reshape(-1))
        start += rows * (cols + 1)
    return np.concatenate(idx)


def mlp_init(spec: MLPSpec, /, *, rng: np.random.Generator, scheme: str = "glorot") -> np.ndarray:
    """Gaussian weights, zero biases, layer by layer from ``rng``:

    * ``"glorot"``: ``W_l ~ N(0, 2 / (d_l + d_{l+1}))``, drawn as a ``(d_{l+1}, d_l)`` array;
    * ``"lecun"``: ``W_l ~ N(0, 1 / d_l)``, drawn as a ``(d_l, d_{l+1})`` array (inputs-major) and
      transposed -- the draw order of the experiments' committed results.
    """
    if scheme not in INITS:
        raise ValueError(f"scheme must be one of {INITS}, got {scheme!r}")
    layers = []
    for rows, cols in spec.shapes:
        if scheme == "glorot":
            W = rng.standard_normal((rows, cols)) * np.sqrt(2.0 / (rows + cols))
        else:
            W = (rng.standard_normal(cols * rows) / np.sqrt(cols)).reshape(cols, rows).T
        layers.append((W, np.zeros(rows)))
    return mlp_pack(spec, layers)


# ------------------------------------------------------------------------------ forward, losses


def phi(name: str, s):
    """The hidden activation ``phi`` (sigmoid as ``(1 + tanh(s/2))/2``: no overflow)."""
    if name == "tanh":
        return anp.tanh(s)
    if name == "sigmoid":
        return 0.5 * (anp.tanh(0.5 * s) + 1.0)
    if name == "softplus":
        return anp.logaddexp(0.0, s)
    if name == "relu":
        return anp.maximum(s, 0.0)
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {name!r}")


def dphi(name: str, s) -> np.ndarray:
    """``phi'(s)`` (NumPy; for explicit back-propagation)."""
    if name == "tanh":
        return 1.0 - np.tanh(s) ** 2
    if name == "sigmoid":
        sg = 0.5 * (np.tanh(0.5 * s) + 1.0)
        return sg * (1.0 - sg)
    if name == "softplus":
        return 0.5 * (np.tanh(0.5 * s) + 1.0)
    if name == "relu":
        return (s > 0).astype(np.float64)
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {name!r}")


def mlp_layers(spec: MLPSpec, theta, X, /) -> tuple[list, list]:
    """The forward pass, layer by layer: ``(inputs, pre)`` with ``inputs[l] = h_l`` (``(N, d_l)``)
    and ``pre[l] = s_l = h_l W_l^T + b_l`` (``(N, d_{l+1})``); the output is ``pre[-1]``.
    Autograd-able in ``theta``; K-FAC and the R-operator read the per-layer values from here."""
    inputs, pre, h = [], [], X
    layers = mlp_unpack(spec, theta)
    for i, (W, b) in enumerate(layers):
        s = anp.dot(h, anp.transpose(W)) + b
        inputs.append(h)
        pre.append(s)
        if i < len(layers) - 1:
            h = phi(spec.activation, s)
    return inputs, pre


def mlp_forward(spec: MLPSpec, theta, X, /):
    """Network output ``y = s_{L-1}`` of shape ``(N, d_L)`` for inputs ``X`` of shape ``(N, d_0)``."""
    return mlp_layers(spec, theta, X)[1][-1]


def output_loss(kind: str, y, T, /):
    """Mean over rows of the per-sample loss ``kind`` (module docstring) of outputs ``y`` ``(N, d_L)``."""
    if kind == "squared":
        return 0.5 * anp.mean(anp.sum((y - T) ** 2, axis=1))
    if kind == "softmax_ce":
        z = y - anp.max(y, axis=1, keepdims=True)
        return -anp.mean(z[np.arange(z.shape[0]), T] - anp.log(anp.sum(anp.exp(z), axis=1)))
    if kind == "logistic":
        return anp.mean(anp.logaddexp(0.0, -T * y[:, 0]))
    raise ValueError(f"loss must be one of {LOSSES}, got {kind!r}")


def mlp_loss(spec: MLPSpec, theta, X, T, /):
    """Mean loss ``(1/N) sum_n l_n`` of the network on ``(X, T)``; autograd-able in ``theta``."""
    return output_loss(spec.loss, mlp_forward(spec, theta, X), T)


def mlp_objective(spec: MLPSpec, X, T, /) -> Callable:
    """``theta -> mlp_loss(spec, theta, X, T)`` with ``X, T`` checked once (for curvature code)."""
    X, T = check_data(spec, X, T)
    return lambda theta: mlp_loss(spec, theta, X, T)


# -------------------------------------------------------------------------------------- checks


def check_inputs(spec: MLPSpec, X, /) -> np.ndarray:
    """``X`` as a finite float64 array of shape ``(N, d_0)``, ``N >= 1`` (a copy)."""
    X = np.array(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != spec.sizes[0] or X.shape[0] < 1:
        raise ValueError(f"X must have shape (N, {spec.sizes[0]}) with N >= 1, got {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or inf")
    return X


def check_data(spec: MLPSpec, X, T, /) -> tuple[np.ndarray, np.ndarray]:
    """``(X, T)`` checked against ``spec`` and its loss (shapes, finiteness, label range)."""
    X = check_inputs(spec, X)
    n = X.shape[0]
    if T is None:
        raise ValueError("targets T are required")
    if spec.loss == "squared":
        T = np.array(T, dtype=np.float64)
        if T.shape != (n, spec.sizes[-1]) or not np.all(np.isfinite(T)):
            raise ValueError(f"T must be finite with shape ({n}, {spec.sizes[-1]}), got {T.shape}")
    elif spec.loss == "logistic":
        T = np.array(T, dtype=np.float64)
        if T.shape != (n,) or not np.all(np.abs(T) == 1.0):
            raise ValueError(f"T must be labels +-1 of shape ({n},), got {T.shape}")
    else:
        T = np.asarray(T)
        if T.shape != (n,) or not np.issubdtype(T.dtype, np.integer):
            raise ValueError(f"T must be integer labels of shape ({n},), got {T.dtype} {T.shape}")
        if T.min() < 0 or T.max() >= spec.sizes[-1]:
            raise ValueError(
                f"labels must lie in [0, {spec.sizes[-1]}), got range [{T.min()}, {T.max()}]"
            )
    return X, T
