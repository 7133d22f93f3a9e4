"""Eigen-solvers on torch tensors: the reference's own solvers, restricted to tensor inputs.

:mod:`srtheory.spectral` is written once against a small array-operations layer
(:mod:`srtheory.backend`) with a NumPy and a torch implementation, so the paper's power iteration,
Lanczos and the spectral radius run the same steps, stopping rules and counts on both backends.
This module offers them under the torch backend's names; each requires ``v0`` to be a
``torch.Tensor`` (a dense symmetric ``torch.Tensor`` may be passed in place of ``matvec``) and
returns an :class:`EigResult` whose ``eigvec`` is a tensor on ``v0``'s device and dtype.  Scalars
that steer the iteration are read back as Python floats (one device sync each); the Lanczos
tridiagonal and the 2 x 2 Rayleigh--Ritz problems are solved on the host in float64.
"""

from __future__ import annotations

import functools

import torch

from srtheory import spectral as _reference
from srtheory.spectral import EigResult

__all__ = ["EigResult", "lanczos", "power_iteration", "spectral_radius"]


def _tensor_start(solver):
    """``solver`` with the check that the start vector is a tensor (the torch backend's contract)."""

    @functools.wraps(solver)
    def solve(matvec, v0, /, **options):
        if not isinstance(v0, torch.Tensor):
            raise ValueError(f"v0 must be a torch.Tensor, got {type(v0).__name__}")
        return solver(matvec, v0, **options)

    return solve


power_iteration = _tensor_start(_reference.power_iteration)
lanczos = _tensor_start(_reference.lanczos)
spectral_radius = _tensor_start(_reference.spectral_radius)
