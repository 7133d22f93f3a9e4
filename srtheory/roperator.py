"""The paper's explicit derivation: Pearlmutter's R-operator and its second-order extension R²
for a sigmoid MLP with squared-error loss (SRR_NOTES §5.3).

For a direction ``V`` in weight space, ``R{q} = d/dt q(W + tV)|₀`` and
``R²{q} = d²/dt² q(W + tV)|₀``.  Applied to the weight gradient they give

    R{∂E/∂W}  = H V                     (the Hessian-vector product, weights block)
    R²{∂E/∂W} = ∇³E[V, V, ·] = Vᵀ(∇H)V   (the third-order term of Eq. (5.1), weights block)

Network (layer ``i = 1..L``, one column per sample)::

    a_i = W_i y_{i-1} + b_i,    y_i = σ(a_i),    y_0 = input,    E = ½ Σ_samples ‖y_L − t‖²

Biases are held fixed and not perturbed, as in the authors' test code.  The network is the shared
MLP of :mod:`srtheory.mlp` (sigmoid hidden layers) with σ applied to its output as well;
:func:`r_operator` takes its pre-activations ``a_i`` from that forward pass and is otherwise written
from the recursions alone (no autodiff); :func:`sigmoid_mlp_loss` is the same network as an
autograd-differentiable function of the flattened weights, to check it against.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import autograd.numpy as anp
import numpy as np

from srtheory.mlp import mlp_forward, mlp_layers, mlp_pack, mlp_spec, phi

__all__ = [
    "ROpResult",
    "flatten_layers",
    "r_operator",
    "sigmoid_mlp_loss",
    "unflatten_layers",
]


class ROpResult(NamedTuple):
    """Output of :func:`r_operator`; lists have one array per layer, shaped like ``W_i``.

    Attributes:
        loss: ``E = ½ Σ ‖y_L − t‖²``.
        grad: ``∂E/∂W_i``.
        hvp: ``R{∂E/∂W_i}`` -- the weights block of ``H V``.
        third_order: ``R²{∂E/∂W_i}`` -- the weights block of ``∇³E[V, V, ·]``.
    """

    loss: float
    grad: list
    hvp: list
    third_order: list


def r_operator(weights: Sequence, biases: Sequence, directions: Sequence, X, T, /) -> ROpResult:
    """Loss, gradient, ``H V`` and ``∇³E[V, V, ·]`` of a sigmoid MLP by the R and R² recursions
    of SRR_NOTES §5.3 (forward pass, then backward pass), with ``V = directions``.

    Forward, ``i = 1..L`` (``R y_0 = R² y_0 = 0``)::

        a_i  = W_i y_{i-1} + b_i                y_i  = σ(a_i)
        Ra_i = V_i y_{i-1} + W_i Ry_{i-1}        Ry_i = σ'(a_i)⊙Ra_i
        R²a_i = W_i R²y_{i-1} + 2 V_i Ry_{i-1}   R²y_i = σ'(a_i)⊙R²a_i + σ''(a_i)⊙(Ra_i)²

    Backward, ``i = L..1`` (``δy_L = y_L − t``, ``Rδy_L = Ry_L``, ``R²δy_L = R²y_L`` since
    ``E'' = 1``, ``E''' = 0``)::

        δa_i   = σ'⊙δy_i
        Rδa_i  = σ'⊙Rδy_i + σ''⊙Ra_i⊙δy_i
        R²δa_i = σ'⊙R²δy_i + 2σ''⊙Ra_i⊙Rδy_i + σ''⊙R²a_i⊙δy_i + σ'''⊙(Ra_i)²⊙δy_i
        ∂E/∂W_i     = δa_i y_{i-1}ᵀ
        R{∂E/∂W_i}  = Rδa_i y_{i-1}ᵀ + δa_i (Ry_{i-1})ᵀ
        R²{∂E/∂W_i} = R²δa_i y_{i-1}ᵀ + 2 Rδa_i (Ry_{i-1})ᵀ + δa_i (R²y_{i-1})ᵀ
        δy_{i-1}   = W_iᵀ δa_i
        Rδy_{i-1}  = W_iᵀ Rδa_i + V_iᵀ δa_i
        R²δy_{i-1} = W_iᵀ R²δa_i + 2 V_iᵀ Rδa_i

    with ``σ' = σ(1−σ)``, ``σ'' = σ(1−σ)(1−2σ)``, ``σ''' = σ(1−σ)(6σ²−6σ+1)``; products over
    samples are summed (the loss sums over samples).

    Args:
        weights: ``[W_1, ..., W_L]``, ``W_i`` of shape ``(d_i, d_{i-1})``.
        biases: ``[b_1, ..., b_L]``, ``b_i`` of shape ``(d_i,)`` (held fixed).
        directions: ``[V_1, ..., V_L]``, shaped like the weights.
        X: inputs, shape ``(N, d_0)`` (one sample per row).
        T: targets, shape ``(N, d_L)``.

    Returns:
        :class:`ROpResult` ``(loss, grad, hvp, third_order)``; nothing passed in is modified.

    Raises:
        ValueError: mismatched list lengths or layer shapes, empty lists, non-finite entries.

    Example (one 1×1 layer, one sample; checked against autograd in the tests):
        >>> r = r_operator([np.array([[0.0]])], [np.zeros(1)], [np.array([[1.0]])],
        ...                np.array([[1.0]]), np.array([[0.0]]))
        >>> float(r.loss), r.grad[0].tolist(), r.hvp[0].tolist(), r.third_order[0].tolist()
        (0.125, [[0.125]], [[0.0625]], [[-0.0625]])
    """
    Ws, bs, Vs, X, T = _check_mlp(weights, biases, directions, X, T)
    # forward pass: pre-activations a_i from the shared MLP (rows are samples there, so transposed
    # to one column per sample), then values, R- and R²-derivatives of pre-activations and outputs
    spec = _spec(X, Ws)
    pre = mlp_layers(spec, mlp_pack(spec, zip(Ws, bs)), X)[1]
    y, Ry, R2y = [X.T], [np.zeros_like(X.T)], [np.zeros_like(X.T)]
    Ra, R2a, sig = [], [], []
    for W, V, s_i in zip(Ws, Vs, pre):
        a = np.ascontiguousarray(s_i.T)
        ra = V @ y[-1] + W @ Ry[-1]
        r2a = W @ R2y[-1] + 2.0 * V @ Ry[-1]
        s = _sigmoid_derivatives(a)
        y.append(s[0])
        Ry.append(s[1] * ra)
        R2y.append(s[1] * r2a + s[2] * ra**2)
        Ra.append(ra)
        R2a.append(r2a)
        sig.append(s)
    resid = y[-1] - T.T
    loss = 0.5 * float(np.sum(resid**2))
    # backward pass
    dy, Rdy, R2dy = resid, Ry[-1], R2y[-1]
    L = len(Ws)
    grad, hv, t3 = [None] * L, [None] * L, [None] * L
    for i in reversed(range(L)):
        _, s1, s2, s3 = sig[i]
        ra, r2a = Ra[i], R2a[i]
        da = s1 * dy
        Rda = s1 * Rdy + s2 * ra * dy
        R2da = s1 * R2dy + 2.0 * s2 * ra * Rdy + s2 * r2a * dy + s3 * ra**2 * dy
        grad[i] = da @ y[i].T
        hv[i] = Rda @ y[i].T + da @ Ry[i].T
        t3[i] = R2da @ y[i].T + 2.0 * Rda @ Ry[i].T + da @ R2y[i].T
        W, V = Ws[i], Vs[i]
        dy, Rdy, R2dy = W.T @ da, W.T @ Rda + V.T @ da, W.T @ R2da + 2.0 * V.T @ Rda
    return ROpResult(loss=loss, grad=grad, hvp=hv, third_order=t3)


def sigmoid_mlp_loss(flat_weights, shapes, biases, X, T, /):
    """``E(W) = ½ Σ ‖y_L − t‖²`` of the sigmoid MLP of SRR_NOTES §5.3 as a function of the
    flattened weights -- autograd-differentiable in ``flat_weights`` (the reference that
    :func:`r_operator` is checked against).

    Args:
        flat_weights: the weights flattened by :func:`flatten_layers`.
        shapes: the per-layer weight shapes from :func:`flatten_layers`.
        biases, X, T: as in :func:`r_operator`.

    Example (the same network as :func:`r_operator`'s example):
        >>> float(sigmoid_mlp_loss(np.zeros(1), [(1, 1)], [np.zeros(1)], np.array([[1.0]]), np.array([[0.0]])))
        0.125
    """
    Ws = unflatten_layers(flat_weights, shapes)
    X = np.asarray(X, dtype=np.float64)
    spec = _spec(X, Ws)
    bs = [np.asarray(b, dtype=np.float64) for b in biases]
    theta = anp.concatenate([p for W, b in zip(Ws, bs) for p in (anp.ravel(W), b)])
    y = _sigmoid(mlp_forward(spec, theta, X))  # the §5.3 network: sigmoid on the output layer too
    # summed in (output, sample) order, as r_operator's column-per-sample residual
    return 0.5 * anp.sum(anp.ravel(anp.transpose(y - np.asarray(T, dtype=np.float64))) ** 2)


def flatten_layers(arrays: Sequence, /) -> tuple[np.ndarray, list]:
    """Concatenate per-layer arrays into one float64 vector; return ``(flat, shapes)``.

    Example:
        >>> flat, shapes = flatten_layers([np.ones((2, 3)), np.zeros((1, 2))])
        >>> flat.shape, shapes
        ((8,), [(2, 3), (1, 2)])
    """
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    if not arrays:
        raise ValueError("expected at least one layer array, got an empty list")
    shapes = [a.shape for a in arrays]
    return np.concatenate([a.ravel() for a in arrays]), shapes


def unflatten_layers(flat, shapes, /) -> list:
    """Inverse of :func:`flatten_layers` (works on autograd boxes too, by slicing and reshaping)."""
    sizes = [int(np.prod(s)) for s in shapes]
    if np.shape(flat) != (sum(sizes),):
        raise ValueError(
            f"flat vector has shape {np.shape(flat)}, expected ({sum(sizes)},) for layer shapes {list(shapes)}"
        )
    out, start = [], 0
    for shape, size in zip(shapes, sizes):
        out.append(anp.reshape(flat[start : start + size], shape))
        start += size
    return out


# --------------------------------------------------------------------------------------------
# private helpers


def _sigmoid(a):
    # σ(a) = 1/(1+e^{-a}) written as (1 + tanh(a/2))/2: no overflow for large |a|.
    return phi("sigmoid", a)


def _spec(X, Ws):
    """The shared MLP (:mod:`srtheory.mlp`) with these layer weights and sigmoid hidden layers."""
    return mlp_spec((np.shape(X)[1],) + tuple(np.shape(W)[0] for W in Ws), activation="sigmoid")


def _sigmoid_derivatives(a):
    """``(σ, σ', σ'', σ''')`` at ``a``: σ' = σ(1−σ), σ'' = σ'(1−2σ), σ''' = σ'(6σ²−6σ+1)."""
    s = _sigmoid(a)
    s1 = s * (1.0 - s)
    return s, s1, s1 * (1.0 - 2.0 * s), s1 * (6.0 * s**2 - 6.0 * s + 1.0)


def _check_mlp(weights, biases, directions, X, T):
    Ws = [_finite_array(w, f"weights[{i}]", 2) for i, w in enumerate(weights)]
    bs = [_finite_array(b, f"biases[{i}]", 1) for i, b in enumerate(biases)]
    Vs = [_finite_array(v, f"directions[{i}]", 2) for i, v in enumerate(directions)]
    if not Ws:
        raise ValueError("weights must be a non-empty list of layer matrices")
    if not (len(Ws) == len(bs) == len(Vs)):
        raise ValueError(
            f"weights, biases and directions must have one entry per layer; got lengths "
            f"{len(Ws)}, {len(bs)}, {len(Vs)}"
        )
    X = _finite_array(X, "X", 2)
    T = _finite_array(T, "T", 2)
    fan_in = X.shape[1]
    for i, (W, b, V) in enumerate(zip(Ws, bs, Vs)):
        if W.shape[1] != fan_in:
            raise ValueError(f"weights[{i}] has shape {W.shape}; expected {fan_in} columns")
        if b.shape != (W.shape[0],):
            raise ValueError(f"biases[{i}] has shape {b.shape}; expected ({W.shape[0]},)")
        if V.shape != W.shape:
            raise ValueError(
                f"directions[{i}] has shape {V.shape}; expected {W.shape} like weights[{i}]"
            )
        fan_in = W.shape[0]
    if T.shape != (X.shape[0], fan_in):
        raise ValueError(
            f"T has shape {T.shape}; expected ({X.shape[0]}, {fan_in}) (samples, outputs)"
        )
    return Ws, bs, Vs, X, T


def _finite_array(a, name: str, ndim: int) -> np.ndarray:
    arr = np.array(a, dtype=np.float64, copy=True)
    if arr.ndim != ndim or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty {ndim}-D array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf; expected finite values")
    return arr
