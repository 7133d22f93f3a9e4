"""The result of every eigen-solver of :mod:`srtheory.spectral`, on either backend: :class:`EigResult`.

Its ``residual`` is ``||A v - lambda v||`` of the returned pair, computed from a matvec of that
very vector (never stale), so that ``EigResult.interval`` provably contains an eigenvalue of
``A`` (Krylov--Bogoliubov bound).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["EigResult"]


class EigResult(NamedTuple):
    """One eigenpair estimate ``(eigval, eigvec)`` of a symmetric ``A`` and how good it is.

    Fields:
      rho: ``|eigval|``.
      eigval: signed eigenvalue estimate, the Rayleigh quotient ``eigvec^T A eigvec``.
      eigvec: unit 2-norm vector, shape ``(n,)``: a float64 ``ndarray`` (a copy) for a NumPy
        start vector; a ``torch.Tensor`` on the start vector's device and dtype for a torch one.
      residual: ``||A eigvec - eigval eigvec||_2`` of the returned pair, from a matvec of
        ``eigvec`` itself (never a stale value).
      n_matvecs: every call of the matvec, including a final residual recomputation.
      converged: the solver's stopping rule fired (its meaning is documented per solver; under
        ``power_iteration(criteria="paper")`` it does *not* certify accuracy).
      n_iter: iterations of the solver.
      lambda_max, lambda_min: largest / smallest algebraic eigenvalue estimates, where the
        method provides them (else ``None``).
      tie: a ``+-rho`` tie (eigenvalues ``+rho`` and ``-rho``) was detected.
      asymmetry: ``|u.Au' - u'.Au| / ||A||`` measured on two of the solver's own products (free;
        ``None`` when not probed: ``check_symmetry=False`` or a run of one iterate).  Above
        ``max(tol, sqrt(eps))`` the operator is not symmetric and ``converged`` is False.
      notes: what the solver noticed and did, in words (a start that was an eigenvector and was
        restarted, an asymmetric operator, a residual that stagnated above ``tol``, an exhausted
        Krylov space whose residual failed the test); empty when there is nothing to say.
    """

    rho: float
    eigval: float
    eigvec: np.ndarray  # or torch.Tensor (the backend of v0)
    residual: float
    n_matvecs: int
    converged: bool
    n_iter: int
    lambda_max: float | None = None
    lambda_min: float | None = None
    tie: bool = False
    asymmetry: float | None = None
    notes: tuple[str, ...] = ()

    @property
    def interval(self) -> tuple[float, float]:
        """``(eigval - residual, eigval + residual)``, which contains an eigenvalue of ``A``.

        Krylov--Bogoliubov (residual) bound: for symmetric ``A``, unit ``v`` and any real
        ``theta``, ``min_i |lambda_i - theta| <= ||A v - theta v||``.  Exact up to the rounding
        in the computed residual (about ``eps * ||A||``).
        """
        return (self.eigval - self.residual, self.eigval + self.residual)
