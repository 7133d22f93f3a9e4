"""The eigen-solve of an SRR step as one configuration object: :class:`EigConfig`, :func:`eig_solve`.

Algorithm 2 of SRR_NOTES §6 runs, at every step, an eigen-solve of the minibatch Hessian
warm-started from the previous eigenvector (step 2.2).  Which solver, its tolerance, its budget and
the Algorithm 1b options are one frozen value, validated once, shared by every entry point
(:func:`srtheory.minimize`, :func:`srtheory.srr_train`, :class:`srtheory.torch.SRR`) and by both
backends; :func:`eig_solve` is the single dispatch.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from srtheory._validation import positive, positive_int
from srtheory.spectral.krylov import lanczos
from srtheory.spectral.power import power_iteration
from srtheory.spectral.radius import spectral_radius
from srtheory.spectral.result import EigResult

__all__ = ["EIG_METHODS", "EigConfig", "eig_solve"]

#: the solvers an SRR step can use
EIG_METHODS = ("power", "lanczos", "spectral_radius")


@dataclass(frozen=True)
class EigConfig:
    """How an SRR step estimates ``(rho_B, v)`` (Algorithm 2 step 2.2 of SRR_NOTES §6).

    Fields:
      method: ``"power"`` -- Algorithm 1, the paper's warm-started power iteration
        (:func:`~srtheory.spectral.power_iteration`; with ``alpha``/``precond`` the update of
        Algorithm 1b); ``"lanczos"`` -- :func:`~srtheory.spectral.lanczos` for the
        largest-magnitude pair; ``"spectral_radius"`` -- :func:`~srtheory.spectral.spectral_radius`
        (Lanczos for both extremes, ``+-rho`` ties).
      tol: stopping tolerance ``epsilon_p`` (paper default ``1e-3``), ``> 0``; or a schedule
        ``k -> tau_k`` over the SRR steps (:func:`~srtheory.training.srr_train` solves step ``k``
        with ``tau_k``, checked finite ``> 0`` at every use: :meth:`tol_at`, :meth:`at`).
        :func:`eig_solve` itself takes a number: resolve a schedule with :meth:`at` first.
      max_iter: iteration budget ``M_p`` per solve, ``>= 1`` (default 100).
      criteria: ``"paper"`` (the three tests of Algorithm 1 step 2.6) or ``"residual"``
        (``||r|| <= tol |lambda|``); power iteration only.
      alpha: Algorithm 1b step size: ``None``, a number ``> 0`` or a schedule ``i -> alpha_i``;
        power iteration only.
      precond: Algorithm 1b preconditioner ``r -> P(r)`` (e.g. K-FAC); power iteration only.
      check_symmetry: the solvers' free symmetry probe (``EigResult.asymmetry``); on by default.

    Every field is checked when the value is made (``ValueError`` naming the field and what it
    expected), so a bad option fails before any training state is touched.
    """

    method: str = "power"
    tol: float = 1e-3
    max_iter: int = 100
    criteria: str = "paper"
    alpha: Any = None
    precond: Any = None
    check_symmetry: bool = True

    def __post_init__(self):
        if self.method not in EIG_METHODS:
            raise ValueError(f"EigConfig.method must be one of {EIG_METHODS}, got {self.method!r}")
        if not callable(self.tol):
            object.__setattr__(self, "tol", positive(self.tol, "EigConfig.tol"))
        object.__setattr__(self, "max_iter", positive_int(self.max_iter, "EigConfig.max_iter"))
        if self.criteria not in ("paper", "residual"):
            raise ValueError(
                f"EigConfig.criteria must be 'paper' or 'residual', got {self.criteria!r}"
            )
        if self.alpha is not None and not callable(self.alpha):
            object.__setattr__(self, "alpha", positive(self.alpha, "EigConfig.alpha"))
        if self.precond is not None and not callable(self.precond):
            raise ValueError(
                "EigConfig.precond must be a callable r -> P(r) or None, "
                f"got {type(self.precond).__name__}"
            )
        if self.method != "power":
            extra = [
                name
                for name, given in (
                    ("alpha", self.alpha is not None),
                    ("precond", self.precond is not None),
                    ("criteria", self.criteria != "paper"),
                )
                if given
            ]
            if extra:
                raise ValueError(
                    f"EigConfig: {', '.join(extra)} (Algorithm 1 / 1b options) need "
                    f"method='power', got method={self.method!r}"
                )


    def tol_at(self, k: int) -> float:
        """The tolerance of the solve at step ``k``: ``tol``, or the schedule's ``tol(k)`` checked
        finite ``> 0`` (``ValueError`` naming the step)."""
        if callable(self.tol):
            return positive(self.tol(k), f"EigConfig.tol({k}) (the tolerance schedule at step {k})")
        return self.tol

    def at(self, k: int) -> EigConfig:
        """This configuration with ``tol`` fixed to :meth:`tol_at` ``(k)`` (itself when ``tol`` is a
        number)."""
        if not callable(self.tol):
            return self
        return replace(self, tol=self.tol_at(k))


def eig_solve(matvec, v0, config: EigConfig, /) -> EigResult:
    """Run the eigen-solve that ``config`` names from the warm start ``v0`` (Alg. 2 step 2.2).

    ``matvec`` and ``v0`` are NumPy (float64) or torch (any floating dtype, any device): the
    solvers are written once for both array libraries.  Returns the solver's
    :class:`~srtheory.spectral.EigResult` unchanged.

    Example:
      >>> import numpy as np
      >>> res = eig_solve(np.diag([1.0, -3.0]), np.array([1.0, 1.0]), EigConfig(tol=1e-12))
      >>> round(res.eigval, 8), res.converged
      (-3.0, True)
    """
    if not isinstance(config, EigConfig):
        raise ValueError(f"config must be an EigConfig, got {type(config).__name__}")
    if callable(config.tol):
        raise ValueError("EigConfig.tol is a schedule k -> tau_k; eig_solve needs a number: "  # noqa: TRY004
                         "pass config.at(k), the configuration of step k")
    if config.method == "power":
        return power_iteration(
            matvec,
            v0,
            tol=config.tol,
            max_iter=config.max_iter,
            alpha=config.alpha,
            precond=config.precond,
            criteria=config.criteria,
            check_symmetry=config.check_symmetry,
        )
    if config.method == "lanczos":
        return lanczos(
            matvec,
            v0,
            tol=config.tol,
            max_iter=config.max_iter,
            which="LM",
            check_symmetry=config.check_symmetry,
        )
    return spectral_radius(
        matvec,
        v0,
        method="lanczos",
        tol=config.tol,
        max_iter=config.max_iter,
        check_symmetry=config.check_symmetry,
    )
