"""Torch backend of srtheory: the NumPy reference's names and semantics on torch tensors.

* :mod:`srtheory.torch.curvature` -- ``gradient``, ``hvp`` (double backprop, ``torch.func``
  forward-over-reverse, finite differences), ``third_order`` and ``fused_derivatives``
  (SRR_NOTES §5.1-§5.4) for a loss closure and a parameter list.
* :mod:`srtheory.torch.spectral` -- ``power_iteration`` (Algorithm 1 of SRR_NOTES §6),
  ``lanczos`` and ``spectral_radius`` returning the reference's ``EigResult`` fields.
* :mod:`srtheory.torch.optim` -- ``SRR``, Algorithm 2 as a ``torch.optim.Optimizer`` in SAM's
  conventions (wraps a base optimizer, ``step(closure)``).
* :mod:`srtheory.torch.sam` -- ``SAM`` (Foret et al.), the paper's baseline, in the same
  conventions (the twin of :func:`srtheory.baselines.sam`).
* :mod:`srtheory.torch.cnn_experiments` -- the digit experiments of ``srtheory cnn``: a small CNN
  trained with Adam, SAM and SRR on MNIST-5k and the UCI digits over many seeds (imported on use).
* :mod:`srtheory.torch.models` -- the small networks of the parity tests (with autograd.numpy
  twins) and the ResNet-18-shaped GroupNorm CNN of the benchmark.
* :mod:`srtheory.torch.data` -- ``data_hvp_operator``, ``data_spectral_radius``: the Hessian of the
  empirical risk over several batches (N_b/N weights, an uneven last batch included).
* :mod:`srtheory.torch.eigenpairs` -- ``eigenpairs(matvec, v0, k=...)``: top-k eigenpairs by
  Lanczos with honest per-pair residuals (the curvature spectrum).
* :mod:`srtheory.torch.norms` -- ``composite_norms(model)``: BatchNorm/LayerNorm from mean/var, so
  that the exact third derivatives through them are right (torch 2.13's fused layers are not).
* :mod:`srtheory.torch.memory` -- ``cpu_peak_bytes``, peak live bytes of torch's CPU allocator
  during a call (the benchmark's CPU memory column; memory regression tests).
* :mod:`srtheory.torch.bench` -- the ``srtheory bench`` command.

Nothing else in the package imports torch; this module needs it.
"""

try:
    import torch as _torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "srtheory.torch needs PyTorch, which is an optional extra. Install it with "
        '`pip install torch==2.13.0` (CPU build) or `pip install "srtheory[torch]"`.'
    ) from exc

from srtheory.torch.curvature import (  # noqa: E402
    Derivatives,
    default_fd_step,
    fused_derivatives,
    gradient,
    hvp,
    hvp_operator,
    module_loss,
    third_order,
)
from srtheory.torch.data import data_hvp_operator, data_spectral_radius  # noqa: E402
from srtheory.torch.eigenpairs import EigenPairs, eigenpairs  # noqa: E402
from srtheory.torch.memory import cpu_peak_bytes  # noqa: E402
from srtheory.torch.norms import composite_norms  # noqa: E402
from srtheory.torch.optim import SRR, SRRConfig, SRRCounters, SRRStepInfo  # noqa: E402
from srtheory.torch.sam import SAM  # noqa: E402
from srtheory.torch.spectral import EigResult, lanczos, power_iteration, spectral_radius  # noqa: E402

__all__ = [
    "Derivatives",
    "EigResult",
    "EigenPairs",
    "SAM",
    "SRR",
    "SRRConfig",
    "SRRCounters",
    "SRRStepInfo",
    "composite_norms",
    "cpu_peak_bytes",
    "data_hvp_operator",
    "data_spectral_radius",
    "default_fd_step",
    "eigenpairs",
    "fused_derivatives",
    "gradient",
    "hvp",
    "hvp_operator",
    "lanczos",
    "module_loss",
    "power_iteration",
    "spectral_radius",
    "third_order",
]
