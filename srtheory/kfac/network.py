"""K-FAC's explicit per-sample back-propagation through the shared MLP (:mod:`srtheory.mlp`).

The network, its flat layout and its losses are those of :mod:`srtheory.mlp`; the forward values
come from its single forward pass (:func:`srtheory.mlp.mlp_layers`).  :func:`mlp_backprop` returns
the per-layer inputs ``abar = [h_l, 1]`` and pre-activation gradients ``delta`` from which
:func:`srtheory.kfac.kfac_factors` (Alg. 1b of SRR_NOTES §6, step 1) builds the Kronecker factors;
the private helpers at the end are shared with it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from srtheory._validation import as_vector
from srtheory.mlp import MLPSpec, check_data, dphi, mlp_layers, mlp_unpack, output_loss

__all__ = ["Backprop", "mlp_backprop"]


class Backprop(NamedTuple):
    """One forward/backward pass: per-layer inputs ``abar`` (N, d_l+1) and pre-activation
    gradients ``delta`` (N, d_{l+1}) of the per-sample losses, plus the mean loss.

    ``grad()``: the gradient of the mean loss in the flat layout of :mod:`srtheory.mlp`, from the
    homogeneous blocks ``delta_l^T abar_l / N = [dW_l | db_l]``."""

    abar: tuple[np.ndarray, ...]
    delta: tuple[np.ndarray, ...]
    loss: float

    def grad(self) -> np.ndarray:
        n = self.abar[0].shape[0]
        out = []
        for a, d in zip(self.abar, self.delta):
            g = d.T @ a / n
            out += [g[:, :-1].reshape(-1), g[:, -1]]
        return np.concatenate(out)


def mlp_backprop(spec: MLPSpec, theta, X, T, /) -> Backprop:
    """Per-sample back-propagation: ``delta_{L-1} = dl_n/dy``, ``delta_{l-1} = (delta_l W_l) * phi'(s_{l-1})``."""
    X, T = check_data(spec, X, T)
    abar, pre, weights = _forward_cache(spec, theta, X)
    y = pre[-1]
    if spec.loss == "squared":
        out_grad = y - T
    elif spec.loss == "softmax_ce":
        out_grad = _softmax(y)
        out_grad[np.arange(X.shape[0]), T] -= 1.0
    else:
        raise ValueError(
            f"K-FAC back-propagation supports the losses 'squared' and 'softmax_ce', got {spec.loss!r}"
        )
    loss = float(output_loss(spec.loss, y, T))
    delta = _backward(spec, weights, pre, out_grad)
    return Backprop(tuple(abar), tuple(delta), loss)


# ----------------------------------------------------------------------------- private helpers


def _softmax(y):
    e = np.exp(y - y.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _forward_cache(spec, theta, X):
    """From the shared forward pass: layer inputs with a bias column, pre-activations, weights."""
    theta = as_vector(theta, "theta", n=spec.n_params)
    inputs, pre = mlp_layers(spec, theta, X)
    abar = [np.hstack([h, np.ones((h.shape[0], 1))]) for h in inputs]
    return abar, pre, [W for W, _ in mlp_unpack(spec, theta)]


def _backward(spec, weights, pre, out_grad):
    """Pre-activation gradients of each layer from output-side vectors (rows of ``out_grad``)."""
    delta = [None] * len(weights)
    d = out_grad
    for i in range(len(weights) - 1, -1, -1):
        delta[i] = d
        if i > 0:
            d = (d @ weights[i]) * dphi(spec.activation, pre[i - 1])
    return delta
