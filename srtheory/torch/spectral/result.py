"""The result of every eigen-solver of :mod:`srtheory.torch.spectral`: :class:`EigResult`.

The fields of :class:`srtheory.spectral.EigResult`, with ``eigvec`` a tensor on the matvec's
device and dtype.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

__all__ = ["EigResult"]


class EigResult(NamedTuple):
    """One eigenpair estimate of a symmetric ``A`` (fields of :class:`srtheory.spectral.EigResult`).

    ``eigvec`` is a unit 2-norm tensor on the matvec's device and dtype; the other fields are
    Python numbers.  ``residual = ‖A eigvec − eigval·eigvec‖₂`` of the returned pair, from a
    matvec of that very vector.
    """

    rho: float
    eigval: float
    eigvec: torch.Tensor
    residual: float
    n_matvecs: int
    converged: bool
    n_iter: int
    lambda_max: float | None = None
    lambda_min: float | None = None
    tie: bool = False

    @property
    def interval(self) -> tuple[float, float]:
        """``(eigval − residual, eigval + residual)``: contains an eigenvalue of ``A``
        (Krylov-Bogoliubov bound, ``A`` symmetric, ``‖eigvec‖ = 1``)."""
        return (self.eigval - self.residual, self.eigval + self.residual)
