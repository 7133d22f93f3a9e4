"""Tests of srtheory.operators: dense / sparse / callable operators and the SciPy bridge."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg as sla
from hypothesis import given
from strategies import GAPPED, planted

from srtheory.operators import as_linear_operator, as_matvec
from srtheory.spectral import lanczos, spectral_radius
from srtheory.testing import planted_symmetric, tolerance

ROUND = tolerance(np.float64, factor=1000)  # factor > 100: n-term dot products, n <= 60


def test_dense_matrix_becomes_a_matvec(rng):
    A, _ = planted_symmetric(np.array([1.0, -2.0, 3.0]), rng)
    mv, n = as_matvec(A)
    v = rng.standard_normal(3)
    assert n == 3 and np.array_equal(mv(v), A @ v)
    A[0, 0] = 99.0  # the operator holds its own copy
    assert mv(v)[0] != (A @ v)[0]


def test_callable_passes_through_and_n_is_optional():
    f = lambda v: 2 * v
    assert as_matvec(f) == (f, None)
    assert as_matvec(f, n=4) == (f, 4)


def test_sparse_and_linear_operator_inputs(rng):
    A, _ = planted_symmetric(np.array([1.0, -2.0, 3.0, 0.5]), rng)
    v = rng.standard_normal(4)
    for op in (scipy.sparse.csr_matrix(A), sla.aslinearoperator(A)):
        mv, n = as_matvec(op)
        assert n == 4 and np.allclose(mv(v), A @ v, rtol=0, atol=ROUND * 3)


def test_symmetry_check_boundary():
    """The check accepts asymmetry up to 100 eps max|A| and rejects just above (negative control)."""
    allowed = tolerance(np.float64, factor=100)
    inside = np.array([[1.0, 0.0], [0.5 * allowed, 1.0]])
    as_matvec(inside)
    outside = np.array([[1.0, 0.0], [2.0 * allowed, 1.0]])
    with pytest.raises(ValueError, match="matrix is not symmetric: max \\|A - A\\^T\\| = "):
        as_matvec(outside)
    as_matvec(outside, check_symmetric=False)  # opt-out
    with pytest.raises(ValueError, match="not symmetric"):
        as_matvec(scipy.sparse.csr_matrix(np.array([[0.0, 1.0], [0.0, 0.0]])))


@pytest.mark.parametrize(
    "bad, kwargs, match",
    [
        (np.ones((2, 3)), {}, "square"),
        (np.ones(3), {}, "square 2-D"),
        (np.array([[1.0, np.nan], [np.nan, 1.0]]), {}, "NaN or inf"),
        (np.eye(3), {"n": 4}, "n=4"),
        ("not an operator", {}, "expected a matvec callable or a square matrix"),
        (np.eye(2), {"n": 0}, "n must be >= 1"),
    ],
)
def test_bad_operators_raise(bad, kwargs, match):
    with pytest.raises(ValueError, match=match):
        as_matvec(bad, **kwargs)


@given(p=planted(kinds=GAPPED, max_n=60))
def test_eigsh_on_the_bridge_agrees_with_our_solvers_and_eigh(p):
    n = p.A.shape[0]
    op = as_linear_operator(lambda v: p.A @ v, n)
    assert op.shape == (n, n) and op.dtype == np.float64
    x = np.arange(1.0, n + 1)
    assert np.allclose(op.matvec(x), p.A @ x, rtol=0, atol=ROUND * p.rho * n)
    assert np.allclose(op.rmatvec(x), op.matvec(x))
    true = np.linalg.eigh(p.A)[0]
    dominant = true[np.argmax(np.abs(true))]
    ours = spectral_radius(p.A, p.v0)
    assert abs(ours.eigval - dominant) <= ours.residual + ROUND * p.rho
    if n >= 3:  # ARPACK needs k < n
        theirs = sla.eigsh(op, k=1, which="LM", v0=p.v0, tol=1e-12, return_eigenvectors=False)[0]
        assert abs(theirs - ours.eigval) <= ours.residual + 1e-10 * p.rho


def test_bridge_accepts_column_vectors_and_matrices(rng):
    A, _ = planted_symmetric(np.array([1.0, -2.0, 3.0]), rng)
    op = as_linear_operator(A)  # a dense matrix works too
    X = rng.standard_normal((3, 2))
    assert np.allclose(op @ X, A @ X, atol=ROUND * 3)
    assert np.allclose(op.matvec(X[:, :1]).ravel(), A @ X[:, 0], atol=ROUND * 3)
    B, _ = planted_symmetric(np.concatenate([[5.0], np.linspace(-1, 1, 11)]), rng)
    lo = sla.lobpcg(
        as_linear_operator(B), rng.standard_normal((12, 1)), largest=True, tol=1e-9, maxiter=200
    )[0]
    assert abs(lo[0] - 5.0) <= 1e-7


def test_bridge_checks_what_the_callable_returns():
    op = as_linear_operator(lambda v: np.full(3, np.nan), 3)
    with pytest.raises(ValueError, match="matvec returned NaN or inf"):
        op.matvec(np.ones(3))
    op = as_linear_operator(lambda v: np.ones(2), 3)
    with pytest.raises(ValueError, match=r"matvec returned shape \(2,\)"):
        op.matvec(np.ones(3))
    with pytest.raises(ValueError, match="n is required"):
        as_linear_operator(lambda v: v)


def test_solvers_accept_a_linear_operator(rng):
    A, _ = planted_symmetric(np.array([1.0, -4.0, 2.0, 0.5]), rng)
    res = lanczos(sla.aslinearoperator(A), rng.standard_normal(4))
    assert res.converged and abs(res.eigval + 4.0) <= res.residual + ROUND * 4
