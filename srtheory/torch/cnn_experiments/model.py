"""The small CNN of the digit experiments, for 8x8 single-channel images, float32.

``Conv2d(1, c, 3, padding=1) -> act -> AvgPool2d(2) -> Conv2d(c, 2c, 3, padding=1) -> act ->
Flatten -> Linear(2c * 4 * 4, 10)``; with ``c = 8`` it has 3 818 weights.  Average pooling (not
max pooling) keeps the GELU variant smooth everywhere, so SRR's finite-difference step is valid on
it; the ReLU variant differs only in its activation.  The network is small on purpose: ρ of the
full training-set Hessian is computed at every selected model and along training on 2 CPU cores.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["digit_cnn", "predictor"]

_ACT = {"relu": nn.ReLU, "gelu": nn.GELU}


def digit_cnn(*, activation: str, channels: int = 8, seed: int = 0) -> nn.Sequential:
    """The digit CNN (module docstring) with PyTorch's default initialisation drawn from a
    generator seeded by ``seed`` (so every method of a seed starts from the same weights)."""
    if activation not in _ACT:
        raise ValueError(f"activation must be one of {sorted(_ACT)}, got {activation!r}")
    act = _ACT[activation]
    c = int(channels)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        model = nn.Sequential(
            nn.Conv2d(1, c, 3, padding=1), act(), nn.AvgPool2d(2),
            nn.Conv2d(c, 2 * c, 3, padding=1), act(),
            nn.Flatten(), nn.Linear(2 * c * 16, 10),
        )
    return model.float()


def as_images(X) -> torch.Tensor:
    """Flat 8x8 inputs ``(n, 64)`` (NumPy or torch) as a float32 ``(n, 1, 8, 8)`` tensor."""
    t = torch.as_tensor(X, dtype=torch.float32)
    return t.reshape(-1, 1, 8, 8)


def predictor(model: nn.Module):
    """``predict(X) -> labels`` (NumPy ints) for flat 8x8 inputs, evaluated without gradients."""

    def predict(X):
        with torch.no_grad():
            return model(as_images(X)).argmax(dim=1).numpy()

    return predict
