"""Eigen-solvers for the spectral radius of a symmetric operator given as a matvec.

* :func:`power_iteration` -- Algorithm 1 of SRR_NOTES §6, the paper's warm-started power
  iteration, step for step (sign flip, residual, the three stopping tests, step size and
  preconditioner of Algorithm 1b).
* :func:`lanczos` -- Lanczos with full reorthogonalisation and a Ritz-residual stopping rule.
* :func:`spectral_radius` -- ``rho = max(|lambda_max|, |lambda_min|)`` with both extremes and
  detection of a ``+-rho`` tie, by Lanczos (default) or by power iteration.

All of them return an :class:`EigResult` whose ``residual`` is ``||A v - lambda v||`` of the
returned pair, computed from a matvec of that very vector (never stale), so that
``EigResult.interval`` provably contains an eigenvalue of ``A`` (Krylov--Bogoliubov bound).

What is where (the four public names are importable from ``srtheory.spectral`` itself;
:mod:`srtheory.torch.spectral` has the same modules):

* :mod:`~srtheory.spectral.result` -- :class:`EigResult`;
* :mod:`~srtheory.spectral.power` -- :func:`power_iteration` (Algorithm 1 and 1b);
* :mod:`~srtheory.spectral.krylov` -- :func:`lanczos` and the Lanczos run that
  :func:`spectral_radius` shares;
* :mod:`~srtheory.spectral.radius` -- :func:`spectral_radius` and its power iteration with a
  Rayleigh--Ritz step on the last two iterates;
* ``srtheory.spectral._common`` -- private helpers of all three: the counted and checked
  matvec, the input checks, the :class:`EigResult` constructor, the exact residual of a
  candidate eigenvector, the float64 constants.

"""

from srtheory.spectral._common import generic_start
from srtheory.spectral.config import EIG_METHODS, EigConfig, eig_solve
from srtheory.spectral.krylov import lanczos
from srtheory.spectral.power import power_iteration
from srtheory.spectral.radius import spectral_radius
from srtheory.spectral.result import EigResult

__all__ = [
    "EIG_METHODS", "EigConfig", "EigResult", "eig_solve", "generic_start", "lanczos",
    "power_iteration", "spectral_radius",
]
