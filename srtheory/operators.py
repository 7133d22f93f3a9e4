"""Symmetric operators as matvec callables, and the bridge to SciPy.

Every eigen-solver of :mod:`srtheory.spectral` works on a *matvec*, a callable ``v -> A v`` for a
symmetric ``A`` (in SRR, the mini-batch Hessian ``H_B`` of SRR_NOTES §6, Algorithm 1, step 2.1,
``w <- H_B v``).  These helpers let a user pass a dense matrix instead, and hand the same
operator to SciPy (``eigsh``, ``lobpcg``) to cross-check an answer.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse
import scipy.sparse.linalg

from srtheory._validation import finite_output, positive_int

__all__ = ["as_linear_operator", "as_matvec"]

Matvec = Callable[[np.ndarray], np.ndarray]


def as_matvec(
    A, /, *, n: int | None = None, check_symmetric: bool = True
) -> tuple[Matvec, int | None]:
    """Return ``(matvec, n)`` for a symmetric operator given as a callable or a matrix.

    The operator ``A`` stands for the Hessian ``H_B`` whose products ``w = H_B v`` Algorithm 1
    of SRR_NOTES §6 (step 2.1) consumes.  A dense matrix is accepted for convenience and checked
    to be symmetric,

    .. math::  \\max_{ij} |A_{ij} - A_{ji}| \\le 100\\,\\varepsilon \\max_{ij} |A_{ij}|,

    because the solvers rely on ``A = A^T`` (real eigenvalues, Rayleigh quotient bounds).

    Args:
      A: a callable ``v -> A v`` on 1-D float64 vectors, a dense square ``ndarray``, a SciPy
        sparse matrix, or a ``scipy.sparse.linalg.LinearOperator``.
      n: the dimension.  Optional for matrices (checked against their shape if given); for a
        plain callable it may stay ``None`` (the solvers then take it from ``v0``).
      check_symmetric: check a matrix for symmetry (default ``True``).

    Returns:
      ``(matvec, n)``; ``matvec`` never modifies its argument; ``n`` is ``None`` only when ``A``
      is a plain callable and ``n`` was not given.

    Raises:
      ValueError: not square, not finite, not symmetric, ``n`` inconsistent, or not an operator.

    Example:
      >>> import numpy as np
      >>> mv, n = as_matvec(np.array([[2.0, 1.0], [1.0, 3.0]]))
      >>> n, mv(np.array([1.0, 0.0])).tolist()
      (2, [2.0, 1.0])

    References:
      SRR_NOTES §6, Algorithm 1, step 2.1 (the HVP oracle ``u -> H_B u``).
    """
    if n is not None:
        n = positive_int(n, "n")
    if isinstance(A, scipy.sparse.linalg.LinearOperator):
        shape = tuple(A.shape)
        _check_square(shape, n)
        op = A
        return (lambda v: np.asarray(op.matvec(v), dtype=np.float64).reshape(-1)), shape[0]
    if scipy.sparse.issparse(A):
        mat = scipy.sparse.csr_matrix(A, dtype=np.float64, copy=True)
        _check_square(mat.shape, n)
        if mat.nnz and not np.all(np.isfinite(mat.data)):
            raise ValueError("matrix contains NaN or inf; expected finite entries")
        if check_symmetric:
            scale = float(abs(mat).max()) if mat.nnz else 0.0
            asym = float(abs(mat - mat.T).max()) if mat.nnz else 0.0
            _check_asymmetry(asym, scale)
        return (lambda v: np.asarray(mat @ v, dtype=np.float64).reshape(-1)), mat.shape[0]
    if callable(A) and not isinstance(A, np.ndarray):
        return A, n
    try:
        mat = np.array(A, dtype=np.float64, copy=True)
    except (TypeError, ValueError):
        raise ValueError(
            f"expected a matvec callable or a square matrix, got {type(A).__name__}"
        ) from None
    if mat.ndim != 2:
        raise ValueError(f"expected a square 2-D matrix, got an array of shape {mat.shape}")
    _check_square(mat.shape, n)
    if not np.all(np.isfinite(mat)):
        raise ValueError("matrix contains NaN or inf; expected finite entries")
    if check_symmetric:
        scale = float(np.max(np.abs(mat)))
        asym = float(np.max(np.abs(mat - mat.T)))
        _check_asymmetry(asym, scale)
    mat.setflags(write=False)
    return (lambda v: mat @ v), mat.shape[0]


def as_linear_operator(matvec, n: int | None = None, /) -> scipy.sparse.linalg.LinearOperator:
    """Wrap a symmetric matvec as a float64 ``scipy.sparse.linalg.LinearOperator``.

    The operator is declared symmetric (``rmatvec = matvec``), so ``eigsh`` and ``lobpcg`` can
    run on exactly the operator that Algorithm 1 of SRR_NOTES §6 iterates on (step 2.1,
    ``w = H_B v``), e.g. to cross-check :func:`srtheory.spectral.spectral_radius`.

    Args:
      matvec: a callable ``v -> A v`` (or anything :func:`as_matvec` accepts).
      n: the dimension; required for a plain callable.

    Returns:
      A ``LinearOperator`` of shape ``(n, n)`` and dtype float64.  Its products check what
      the callable returns (shape ``(n,)``, finite) and raise ``ValueError`` otherwise.

    Example:
      >>> import numpy as np, scipy.sparse.linalg as sla
      >>> A = np.diag([1.0, -4.0, 2.0])
      >>> op = as_linear_operator(lambda v: A @ v, 3)
      >>> lam = sla.eigsh(op, k=1, which="LM", v0=np.ones(3), return_eigenvectors=False)
      >>> round(float(lam[0]), 10)
      -4.0

    References:
      SRR_NOTES §6, Algorithm 1, step 2.1; SciPy ``LinearOperator``.
    """
    mv, n_inferred = as_matvec(matvec, n=n)
    if n_inferred is None:
        raise ValueError("n is required to wrap a matvec callable as a LinearOperator")
    size = n_inferred

    def _mv(x):
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        return finite_output(mv(x), "matvec", n=size)

    return scipy.sparse.linalg.LinearOperator(
        shape=(size, size), matvec=_mv, rmatvec=_mv, dtype=np.float64
    )


def _check_square(shape, n) -> None:
    if len(shape) != 2 or shape[0] != shape[1] or shape[0] < 1:
        raise ValueError(f"expected a non-empty square matrix, got shape {tuple(shape)}")
    if n is not None and shape[0] != n:
        raise ValueError(f"matrix has shape {tuple(shape)} but n={n} was given")


def _check_asymmetry(asym: float, scale: float) -> None:
    allowed = 100 * float(np.finfo(np.float64).eps) * scale
    if asym > allowed:
        raise ValueError(
            f"matrix is not symmetric: max |A - A^T| = {asym:.3e} > {allowed:.3e} "
            f"(100 eps * max |A|); the eigen-solvers need a symmetric A"
        )
