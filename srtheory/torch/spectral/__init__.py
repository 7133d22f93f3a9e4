"""Eigen-solvers on torch tensors: the paper's power iteration, Lanczos, spectral radius.

A line-by-line port of :mod:`srtheory.spectral` (the specification: same algorithms, stopping
rules, counts and result fields) for a ``matvec`` taking and returning flat 1-D tensors on any
device.  Scalars that steer the iteration are read back as Python floats (one device sync per
iteration); the small Lanczos tridiagonal and the 2×2 Rayleigh-Ritz problems are solved with
NumPy in float64 on the host, exactly as in the reference.  A dense symmetric ``torch.Tensor``
may be passed in place of ``matvec``.

What is where, module for module as in :mod:`srtheory.spectral` (the four public names are
importable from ``srtheory.torch.spectral`` itself):

* :mod:`~srtheory.torch.spectral.result` -- :class:`EigResult`;
* :mod:`~srtheory.torch.spectral.power` -- :func:`power_iteration` (Algorithm 1 and 1b);
* :mod:`~srtheory.torch.spectral.krylov` -- :func:`lanczos` and the Lanczos run that
  :func:`spectral_radius` shares;
* :mod:`~srtheory.torch.spectral.radius` -- :func:`spectral_radius` and its power iteration
  with a Rayleigh-Ritz step on the last two iterates;
* ``srtheory.torch.spectral._common`` -- private helpers: the reference's (counted and checked
  matvec, input checks, result constructor, exact residual of a candidate, constants) and the
  torch-only ``_norm``, ``_check_out``, ``_positive``, ``_nonneg``.

"""

from srtheory.torch.spectral.krylov import lanczos
from srtheory.torch.spectral.power import power_iteration
from srtheory.torch.spectral.radius import spectral_radius
from srtheory.torch.spectral.result import EigResult

__all__ = ["EigResult", "power_iteration", "lanczos", "spectral_radius"]
