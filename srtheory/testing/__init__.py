"""Testing tools: srtheory as the correctness oracle for any eigen-solver or Hessian-vector product.

Check your own backend against exact answers::

    import srtheory.testing as st
    st.check_eigensolver(my_solver, raise_=True)   # my_solver(matvec, v0) -> (eigval, eigvec)
    st.check_hvp(my_hvp, raise_=True)              # my_hvp(f, x, v) -> H(x) v

What is here (all importable from ``srtheory.testing``; NumPy only unless said):

* the hard-problem catalogue as plain data -- :func:`eigen_problems` (:class:`EigenProblem`:
  generic, negative dominant, near and exact ``+-rho`` ties, repeated top, clustered, zero, tiny
  and huge scales, ill-conditioned; each with its exact spectrum and the answer's definition) and
  :func:`hvp_problems` (:class:`HvpProblem`: functions with known Hessians);
  :mod:`srtheory.testing.problems`;
* the same as hypothesis strategies -- :mod:`srtheory.testing.strategies` (``catalogue_problem``
  draws any catalogue kind at a drawn size and seed; ``planted`` / ``eigen_problem`` draw planted
  spectra over scales 1e-6..1e6; it imports hypothesis, which is optional, and is loaded on first
  access of ``srtheory.testing.strategies``);
* :func:`verify_eigenpair` -- a matrix-free certificate of a claimed eigenpair (residual, the
  interval that holds an eigenvalue, dominance given a bound on the rest);
  :mod:`srtheory.testing.certificate`;
* :func:`check_eigensolver`, :func:`check_hvp` -- the conformance suite, returning a
  :class:`ConformanceReport` (a table; :meth:`~ConformanceReport.raise_if_failed`);
  :mod:`srtheory.testing.conformance`;
* :func:`eigensolver_cases`, :func:`hvp_cases` -- pytest parametrization over the catalogue, one
  test per problem in a third-party suite; :mod:`srtheory.testing.cases`;
* :func:`tolerance`, :func:`planted_symmetric`, :func:`random_orthogonal`, :func:`assert_close`,
  :func:`relative_error` -- dtype-derived tolerances and planted spectra;
  :mod:`srtheory.testing.numerics`.

The torch side (dense Hessian and third-derivative oracle for any loss, a zoo of models with known
properties, torch HVP problems) is :mod:`srtheory.torch.testing`.
"""

from srtheory.testing.cases import eigensolver_cases, hvp_cases
from srtheory.testing.certificate import EigenpairCertificate, verify_eigenpair
from srtheory.testing.conformance import (
    CaseResult,
    ConformanceError,
    ConformanceReport,
    check_eigensolver,
    check_hvp,
    machine_description,
)
from srtheory.testing.numerics import (
    assert_close,
    planted_symmetric,
    random_orthogonal,
    relative_error,
    tolerance,
)
from srtheory.testing.problems import (
    EIGEN_KINDS,
    EigenProblem,
    HvpProblem,
    eigen_problems,
    hvp_problems,
)

__all__ = [
    "EIGEN_KINDS",
    "CaseResult",
    "ConformanceError",
    "ConformanceReport",
    "EigenProblem",
    "EigenpairCertificate",
    "HvpProblem",
    "assert_close",
    "check_eigensolver",
    "check_hvp",
    "eigen_problems",
    "eigensolver_cases",
    "hvp_cases",
    "hvp_problems",
    "machine_description",
    "planted_symmetric",
    "random_orthogonal",
    "relative_error",
    "tolerance",
    "verify_eigenpair",
]


def __getattr__(name):
    """``srtheory.testing.strategies`` on first access (it imports hypothesis, an optional
    dependency)."""
    if name == "strategies":
        import importlib

        return importlib.import_module("srtheory.testing.strategies")
    raise AttributeError(f"module 'srtheory.testing' has no attribute {name!r}")
