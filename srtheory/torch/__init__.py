"""Torch backend of srtheory: the NumPy reference's names and semantics on torch tensors.

* :mod:`srtheory.torch.curvature` -- ``gradient``, ``hvp`` (double backprop, ``torch.func``
  forward-over-reverse, finite differences), ``third_order`` and ``fused_derivatives``
  (SRR_NOTES §5.1-§5.4) for a loss closure and a parameter list.
* :mod:`srtheory.torch.spectral` -- ``power_iteration`` (Algorithm 1 of SRR_NOTES §6),
  ``lanczos`` and ``spectral_radius`` returning the reference's ``EigResult`` fields.
* :mod:`srtheory.torch.optim` -- ``SRR``, Algorithm 2 as a ``torch.optim.Optimizer`` in SAM's
  conventions (wraps a base optimizer, ``step(closure)``).
* :mod:`srtheory.torch.models` -- the small networks of the parity tests (with autograd.numpy
  twins) and the ResNet-18-shaped GroupNorm CNN of the benchmark.
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
from srtheory.torch.memory import cpu_peak_bytes  # noqa: E402
from srtheory.torch.optim import SRR, SRRCounters, SRRStepInfo  # noqa: E402
from srtheory.torch.spectral import EigResult, lanczos, power_iteration, spectral_radius  # noqa: E402

__all__ = [
    "Derivatives",
    "EigResult",
    "SRR",
    "SRRCounters",
    "SRRStepInfo",
    "cpu_peak_bytes",
    "default_fd_step",
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
