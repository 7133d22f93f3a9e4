"""Networks for the parity tests and the benchmark.

* :func:`mlp` and :func:`small_cnn`: small torch networks whose parameters, flattened in
  ``model.parameters()`` order (row-major), are the flat vector ``x`` of their autograd.numpy twins
  :func:`numpy_mlp_loss` (the shared MLP of :mod:`srtheory.mlp`, whose layout this is) and
  :func:`numpy_small_cnn_loss` -- the same function in both backends,
  so every torch result can be checked against the NumPy reference (``srtheory.curvature``,
  ``srtheory.spectral``, ``srtheory.oracle``) at the same point.
* :func:`resnet18_gn`: a ResNet-18-shaped CNN with GroupNorm and GELU for 32×32×3 inputs (11.2 M
  parameters at ``width=64``), the benchmark network of SRR_NOTES §13.3.
"""

from __future__ import annotations

import math

import autograd.numpy as anp
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from srtheory.mlp import mlp_loss, mlp_spec, output_loss, phi

__all__ = [
    "ACTIVATIONS",
    "flat_params",
    "mlp",
    "mlp_gelu",
    "numpy_mlp_loss",
    "numpy_small_cnn_loss",
    "resnet18_gn",
    "small_cnn",
    "torch_loss",
]

ACTIVATIONS = ("tanh", "sigmoid", "softplus")
_TORCH_ACT = {"tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "softplus": nn.Softplus}
_LOSS_NAMES = {"mse": "squared", "ce": "softmax_ce"}  # torch_loss's names -> srtheory.mlp's


def _np_act(name):
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {name!r}")
    return lambda z: phi(name, z)


def mlp(sizes, /, *, activation: str = "tanh", dtype=torch.float64, seed: int = 0) -> nn.Sequential:
    """``Linear(sizes[0], sizes[1]) → act → … → Linear(sizes[-2], sizes[-1])`` (no last activation),
    initialised from ``torch.Generator().manual_seed(seed)`` (PyTorch's default Linear init)."""
    if len(sizes) < 2 or any(int(s) < 1 for s in sizes):
        raise ValueError(f"sizes must list >= 2 positive layer widths, got {sizes!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(_TORCH_ACT[activation]())
    model = nn.Sequential(*layers).to(dtype)
    _reinit(model, seed)
    return model


def mlp_gelu(sizes, /) -> nn.Sequential:
    """Benchmark MLP: Linear layers with GELU between them, PyTorch default init (from the global
    seed).  ``[3072, 1024, 1024, 10]`` has 4.2 M parameters (the benchmark MLP of SRR_NOTES §13.3)."""
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.GELU())
    return nn.Sequential(*layers)


def small_cnn(
    *,
    in_channels: int = 1,
    channels: int = 3,
    image: int = 6,
    classes: int = 3,
    kernel: int = 3,
    activation: str = "tanh",
    dtype=torch.float64,
    seed: int = 0,
) -> nn.Sequential:
    """``Conv2d(in_channels, channels, kernel) → act → flatten → Linear(…, classes)``."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    out = image - kernel + 1
    if out < 1:
        raise ValueError(f"image ({image}) must be >= kernel ({kernel})")
    model = nn.Sequential(
        nn.Conv2d(in_channels, channels, kernel),
        _TORCH_ACT[activation](),
        nn.Flatten(),
        nn.Linear(channels * out * out, classes),
    ).to(dtype)
    _reinit(model, seed)
    return model


def flat_params(model: nn.Module, /) -> np.ndarray:
    """The model's parameters as one float64 NumPy vector (the twins' ``x``)."""
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()]).double().cpu().numpy()


def torch_loss(model: nn.Module, X: torch.Tensor, Y: torch.Tensor, /, *, loss: str = "mse"):
    """Zero-argument loss closure ``L(w)`` of ``model`` on the batch (X, Y), matching the twins:
    ``"mse"``: mean over samples of ½‖out − Y‖²; ``"ce"``: mean softmax cross-entropy (Y labels)."""
    if loss == "mse":
        return lambda: 0.5 * ((model(X) - Y) ** 2).sum(dim=1).mean()
    if loss == "ce":
        return lambda: F.cross_entropy(model(X), Y)
    raise ValueError(f"loss must be 'mse' or 'ce', got {loss!r}")


def numpy_mlp_loss(sizes, X, Y, /, *, activation: str = "tanh", loss: str = "mse"):
    """autograd.numpy twin of ``torch_loss(mlp(sizes, activation=…), X, Y, loss=…)``: the shared MLP
    :func:`srtheory.mlp.mlp_loss` as a function of the flat parameter vector, whose layout (per layer:
    weight (out, in) row-major, then bias) is :func:`mlp`'s ``parameters()`` order."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    if loss not in _LOSS_NAMES:
        raise ValueError(f"loss must be 'mse' or 'ce', got {loss!r}")
    spec = mlp_spec(sizes, activation=activation, loss=_LOSS_NAMES[loss])
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=int if loss == "ce" else None)
    return lambda x: mlp_loss(spec, x, X, Y)


def numpy_small_cnn_loss(
    X,
    Y,
    /,
    *,
    in_channels=1,
    channels=3,
    image=6,
    classes=3,
    kernel=3,
    activation="tanh",
    loss="ce",
):
    """autograd.numpy twin of :func:`small_cnn` (valid cross-correlation as ``nn.Conv2d``)."""
    act = _np_act(activation)
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y)
    out = image - kernel + 1
    nW, nb = channels * in_channels * kernel * kernel, channels
    nL = classes * channels * out * out

    def f(x):
        W = anp.reshape(x[:nW], (channels, in_channels, kernel, kernel))
        b = x[nW : nW + nb]
        L = anp.reshape(x[nW + nb : nW + nb + nL], (classes, channels * out * out))
        c = x[nW + nb + nL :]
        z = 0.0
        for a in range(kernel):
            for d in range(kernel):
                z = z + anp.einsum(
                    "oc,ncij->noij", W[:, :, a, d], X[:, :, a : a + out, d : d + out]
                )
        z = act(z + anp.reshape(b, (1, channels, 1, 1)))
        h = anp.dot(anp.reshape(z, (X.shape[0], -1)), L.T) + c
        return _np_loss(h, Y, loss)

    return f


def resnet18_gn(*, num_classes: int = 10, width: int = 64, in_channels: int = 3) -> nn.Module:
    """ResNet-18 layout (CIFAR stem: 3×3 conv, no max-pool; stages of 2 BasicBlocks with widths
    w, 2w, 4w, 8w, strides 1, 2, 2, 2; global average pool; linear) with GroupNorm and GELU.
    ``width=64`` gives 11.2 M parameters, the benchmark network of SRR_NOTES §13.3."""
    return _ResNet18GN(num_classes, width, in_channels)


def resnet18_bn(*, num_classes: int = 10, width: int = 64, in_channels: int = 3) -> nn.Module:
    """The same ResNet-18 layout with BatchNorm2d and ReLU -- the architecture people train.
    Finite differences are wrong on it (ReLU kinks) and torch's fused BatchNorm has a wrong
    third derivative in training mode, so the correct SRR step is ``derivative="exact"`` after
    :func:`srtheory.torch.norms.composite_norms` (what the benchmark's SRR rows run)."""
    return _ResNet18GN(num_classes, width, in_channels, norm=nn.BatchNorm2d, act=nn.ReLU)


# ----------------------------------------------------------------------------- private helpers


def _np_loss(h, Y, loss):
    if loss not in _LOSS_NAMES:
        raise ValueError(f"loss must be 'mse' or 'ce', got {loss!r}")
    return output_loss(_LOSS_NAMES[loss], h, np.asarray(Y, dtype=int) if loss == "ce" else Y)


def _reinit(model, seed):
    gen = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for p in model.parameters():
            fan_in = p[0].numel() if p.ndim > 1 else p.numel()
            bound = 1.0 / math.sqrt(max(fan_in, 1))
            p.copy_((torch.rand(p.shape, generator=gen, dtype=torch.float64) * 2 - 1) * bound)


def _gn(c):
    return nn.GroupNorm(math.gcd(32, c), c)


class _Block(nn.Module):
    def __init__(self, cin, cout, stride, norm=_gn, act=nn.GELU):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.n1 = norm(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.n2 = norm(cout)
        self.act1, self.act2 = act(), act()
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), norm(cout))

    def forward(self, x):
        y = self.act1(self.n1(self.conv1(x)))
        y = self.n2(self.conv2(y))
        return self.act2(y + (x if self.short is None else self.short(x)))


class _ResNet18GN(nn.Module):
    def __init__(self, num_classes, width, in_channels, norm=_gn, act=nn.GELU):
        super().__init__()
        w = int(width)
        self.stem = nn.Sequential(nn.Conv2d(in_channels, w, 3, 1, 1, bias=False), norm(w), act())
        blocks, cin = [], w
        for mult, stride in ((1, 1), (2, 2), (4, 2), (8, 2)):
            blocks += [_Block(cin, w * mult, stride, norm, act),
                       _Block(w * mult, w * mult, 1, norm, act)]
            cin = w * mult
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))
