"""Tests of the dense oracle (srtheory.oracle) on functions and matrices with known answers:
the oracle is what every other check trusts, so it is checked against closed forms here."""

from __future__ import annotations

import doctest

import autograd.numpy as anp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_curvature import make_problem, problems

from srtheory import oracle
from srtheory.oracle import (
    dense_spectral_radius,
    eigh_sorted,
    grad_rho_fd,
    hessian,
    rho,
    third_derivative,
    top_eigen_simple,
)
from srtheory.testing import assert_close, planted_symmetric, tolerance

U = float(np.finfo(np.float64).eps)


def cubic_problem(n, seed):
    """``f(x) = ½xᵀSx + Σ_{ijk} C_ijk x_i x_j x_k / 6`` with ``C`` totally symmetric:
    ``H(x) = S + C[x, ·, ·]`` and ``∇³f = C`` exactly."""
    rng = np.random.default_rng(seed)
    S = rng.standard_normal((n, n))
    S = S + S.T
    G = rng.standard_normal((n, n, n))
    C = (
        sum(
            np.transpose(G, p)
            for p in [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]
        )
        / 6
    )

    def f(x):
        return 0.5 * anp.dot(x, anp.dot(S, x)) + anp.einsum("ijk,i,j,k->", C, x, x, x) / 6.0

    return f, S, C, rng.standard_normal(n)


@pytest.mark.parametrize("n, seed", [(2, 0), (4, 1), (7, 2)])
def test_hessian_and_third_derivative_match_closed_form(n, seed):
    f, S, C, x = cubic_problem(n, seed)
    H = hessian(f, x)
    assert_close(H, S + np.einsum("ijk,k->ij", C, x), rtol=tolerance(factor=100))
    assert np.array_equal(H, H.T)
    assert_close(third_derivative(f, x), C, rtol=tolerance(factor=100))


@given(problems)
def test_third_derivative_is_totally_symmetric(p):
    T = third_derivative(p.f, p.x)
    scale = np.max(np.abs(T))
    for perm in [(1, 0, 2), (0, 2, 1), (2, 1, 0)]:
        assert np.max(np.abs(T - np.transpose(T, perm))) <= tolerance(factor=100) * scale


@given(st.integers(1, 12), st.integers(0, 2**31 - 1), st.sampled_from([1e-6, 1.0, 1e6]))
def test_eigh_sorted_orders_by_modulus_and_reconstructs(n, seed, scale):
    rng = np.random.default_rng(seed)
    lam = scale * rng.standard_normal(n)
    A, _ = planted_symmetric(lam, rng)
    vals, vecs = eigh_sorted(A)
    assert np.all(np.diff(np.abs(vals)) <= tolerance(factor=100) * scale * n)
    assert_close(np.sort(vals), np.sort(lam), rtol=tolerance(factor=100 * n))
    assert_close(vecs.T @ vecs, np.eye(n), rtol=0, atol=tolerance(factor=100 * n))
    assert_close((vecs * vals) @ vecs.T, A, rtol=tolerance(factor=100 * n))
    # deterministic sign: the largest-modulus entry of each eigenvector is positive
    assert np.all(vecs[np.argmax(np.abs(vecs), axis=0), np.arange(n)] > 0)
    by_value, _ = eigh_sorted(A, by="value")
    assert np.all(np.diff(by_value) <= 0)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_dense_spectral_radius_planted(sign, rng):
    lam = np.array([sign * 5.0, -4.0 * sign, 1.0, 0.5, -0.1])
    A, Q = planted_symmetric(lam, rng)
    r = dense_spectral_radius(A)
    assert r.rho == pytest.approx(5.0, rel=tolerance(factor=100))
    assert r.eigval == pytest.approx(sign * 5.0, rel=tolerance(factor=100))
    assert abs(abs(r.eigvec @ Q[:, 0]) - 1.0) <= tolerance(factor=100)
    assert r.gap_info.second_eigval == pytest.approx(-4.0 * sign, rel=tolerance(factor=100))
    assert r.gap_info.abs_gap == pytest.approx(1.0, rel=tolerance(factor=1e3))
    assert r.gap_info.rel_gap == pytest.approx(0.2, rel=tolerance(factor=1e3))
    assert not r.gap_info.tie
    assert top_eigen_simple(A, rtol=0.1) and not top_eigen_simple(A, rtol=0.3)


def test_top_eigen_simple_rejects_ties_and_repeats(rng):
    tie, _ = planted_symmetric([3.0, -3.0, 1.0], rng)
    rep, _ = planted_symmetric([3.0, 3.0, 1.0], rng)
    simple, _ = planted_symmetric([3.0, -2.9, 1.0], rng)
    assert dense_spectral_radius(tie).gap_info.tie
    assert not top_eigen_simple(tie, rtol=tolerance(factor=1e3))
    assert not top_eigen_simple(rep, rtol=tolerance(factor=1e3))
    assert not dense_spectral_radius(rep).gap_info.tie
    assert top_eigen_simple(simple, rtol=0.01)
    assert not top_eigen_simple(np.zeros((3, 3)), rtol=0.0)
    r1 = dense_spectral_radius(np.array([[-2.0]]))
    assert (r1.rho, r1.eigval, r1.gap_info.abs_gap, r1.gap_info.tie) == (2.0, -2.0, 2.0, False)


def test_rho_and_grad_rho_fd_closed_form():
    # f = Σ x_i³/6 ⇒ H = diag(x), ρ = max|x_i|, ∇ρ = sign(x_k) e_k at the largest |x_k|
    f = lambda x: anp.sum(x**3) / 6.0
    for x, k in [(np.array([0.5, -2.0, 1.0]), 1), (np.array([3.0, -2.0, 1.0]), 0)]:
        assert rho(f, x) == pytest.approx(abs(x[k]), rel=tolerance(factor=10))
        expected = np.zeros(3)
        expected[k] = np.sign(x[k])
        assert_close(grad_rho_fd(f, x), expected, rtol=tolerance(factor=100, power=2 / 3))
        assert_close(grad_rho_fd(f, x, h=1e-3), expected, rtol=tolerance(factor=100, power=2 / 3))
        assert_close(
            grad_rho_fd(f, x, stencil=5), expected, rtol=tolerance(factor=100, power=2 / 3)
        )


def test_five_point_stencil_removes_the_h_squared_term():
    # f = x₀⁵/20 has H = diag(x₀³, 0), so ρ = |x₀|³; at x₀ = 2: ∂ρ = 12, ∂³ρ = 6, ∂⁵ρ = 0.
    # The 3-point rule errs by exactly h²/6·6 = h²; the 5-point rule only by rounding ~u·ρ/h.
    f = lambda x: x[0] ** 5 / 20.0 + 0.0 * x[1] ** 2
    x, h = np.array([2.0, 0.0]), 1e-2
    rounding = tolerance(factor=100) * 8.0 / h
    assert abs(grad_rho_fd(f, x, h=h)[0] - 12.0 - h**2) <= rounding
    assert abs(grad_rho_fd(f, x, h=h, stencil=5)[0] - 12.0) <= rounding


def test_grad_rho_fd_matches_an_independent_quadratic_model(rng):
    # ρ of H(x) = S + C[x] along each axis, by eigvalsh directly (no autograd involved)
    f, S, C, x = cubic_problem(4, 5)

    def rho_direct(y):
        return np.max(np.abs(np.linalg.eigvalsh(S + np.einsum("ijk,k->ij", C, y))))

    h = U ** (1 / 3) * max(1.0, np.max(np.abs(x)))  # the documented default step
    expected = np.array(
        [(rho_direct(x + h * e) - rho_direct(x - h * e)) / (2 * h) for e in np.eye(4)]
    )
    # same differences of the same ρ: they differ only by the rounding of the two Hessians and
    # eigen-solvers, u·ρ/h ~ u^(2/3)·ρ (observed 1e-9 with ρ = 4.3: 0.2 of the allowance)
    scale = rho_direct(x)
    assert_close(
        grad_rho_fd(f, x), expected, rtol=0, atol=tolerance(factor=30, power=2 / 3) * scale
    )


def test_oracle_does_not_mutate_inputs():
    p = make_problem(3, 4)
    x0 = p.x.copy()
    hessian(p.f, p.x)
    third_derivative(p.f, p.x)
    grad_rho_fd(p.f, p.x)
    A = hessian(p.f, p.x)
    A0 = A.copy()
    eigh_sorted(A)
    dense_spectral_radius(A)
    assert np.array_equal(p.x, x0) and np.array_equal(A, A0)


@pytest.mark.parametrize(
    "match, call",
    [
        ("not symmetric", lambda: eigh_sorted(np.array([[1.0, 2.0], [0.0, 1.0]]))),
        ("square", lambda: dense_spectral_radius(np.ones((2, 3)))),
        ("square", lambda: top_eigen_simple(np.ones(3), rtol=0.1)),
        ("NaN or inf", lambda: dense_spectral_radius(np.array([[np.nan]]))),
        ("by must be", lambda: eigh_sorted(np.eye(2), by="magnitude")),
        ("rtol must be", lambda: top_eigen_simple(np.eye(2), rtol=-1.0)),
        ("x contains NaN", lambda: hessian(lambda x: anp.sum(x), np.array([np.nan]))),
        ("must return a scalar", lambda: hessian(lambda x: x * 2.0, np.ones(2))),
        ("real scalar", lambda: rho(lambda x: 1j * x[0], np.ones(2))),
        ("small n", lambda: third_derivative(lambda x: anp.sum(x**3), np.ones(65))),
        ("h must be finite", lambda: grad_rho_fd(lambda x: anp.sum(x**3), np.ones(2), h=0.0)),
        ("stencil must be", lambda: grad_rho_fd(lambda x: anp.sum(x**3), np.ones(2), stencil=4)),
        ("too small", lambda: grad_rho_fd(lambda x: anp.sum(x**3), np.array([1e10, 1.0]), h=1e-10)),
        ("callable", lambda: hessian(2.0, np.ones(2))),
    ],
)
def test_bad_input_raises_value_error(match, call):
    with pytest.raises(ValueError, match=match):
        call()


def test_linear_function_has_zero_hessian_without_warnings():
    f = lambda x: anp.sum(2.0 * x)
    assert np.array_equal(hessian(f, np.ones(3)), np.zeros((3, 3)))
    assert np.array_equal(third_derivative(f, np.ones(2)), np.zeros((2, 2, 2)))


def test_docstring_examples_run():
    result = doctest.testmod(oracle, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
