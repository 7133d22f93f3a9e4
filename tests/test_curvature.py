"""Tests of srtheory.curvature: H v, ∇³f[v, v, ·] and their finite-difference versions
(SRR_NOTES §5.1-§5.4), checked against the dense oracle and against the identities of the
derivation (linearity, symmetry, Taylor error orders)."""

from __future__ import annotations

import doctest
from collections.abc import Callable
from typing import NamedTuple

import autograd.numpy as anp
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import srtheory
from srtheory import curvature, oracle
from srtheory.curvature import (
    Derivatives,
    default_fd_step,
    fused_derivatives,
    gradient,
    hvp,
    hvp_operator,
    third_order,
)
from srtheory.testing import assert_close, tolerance

U = float(np.finfo(np.float64).eps)


# ---------------------------------------------------------------------------------------------
# synthetic smooth non-convex test functions (also imported by the other curvature-side tests)


class Problem(NamedTuple):
    f: Callable
    x: np.ndarray
    v: np.ndarray
    w: np.ndarray


def make_smooth(n: int, seed: int, *, sign: float = 1.0) -> Callable:
    """A C∞ non-convex ``f: Rⁿ → R`` with random coefficients: sines, tanh ridges, an exponential
    ridge, a cubic and an indefinite quadratic, so every derivative order is non-trivial."""
    rng = np.random.default_rng(seed)
    m = n + 2
    A = rng.standard_normal((m, n)) / np.sqrt(n)
    c = rng.uniform(0.0, 2.0 * np.pi, m)
    a = rng.standard_normal(m)
    B = rng.standard_normal((m, n)) / np.sqrt(n)
    d = rng.standard_normal(m)
    e = rng.standard_normal(n) / np.sqrt(n)
    g = rng.standard_normal((2, n)) / np.sqrt(n)
    S = rng.standard_normal((n, n))
    S = 0.25 * (S + S.T)

    def f(x):
        z = anp.dot(A, x) + c
        ridge = anp.dot(g, x)
        return sign * (
            anp.sum(a * anp.sin(z))
            + anp.sum(d * anp.tanh(anp.dot(B, x)))
            + 0.2 * anp.exp(0.5 * anp.dot(e, x))
            + anp.sum(ridge**3) / 6.0
            + 0.5 * anp.dot(x, anp.dot(S, x))
        )

    return f


def make_problem(n: int, seed: int, *, sign: float = 1.0) -> Problem:
    rng = np.random.default_rng(seed + 1)
    return Problem(
        f=make_smooth(n, seed, sign=sign),
        x=rng.standard_normal(n),
        v=rng.standard_normal(n),
        w=rng.standard_normal(n),
    )


problems = st.builds(make_problem, st.integers(2, 8), st.integers(0, 2**31 - 1))


def fourth_along(f, x, v) -> np.ndarray:
    """``∇⁴f[v, v, v, ·]`` = d/dt ∇³f(x+tv)[v, v, ·], by a central difference of the exact third
    order (step ``u^(1/3)``: relative accuracy ~1e-10, ample for the bounds below)."""
    h = U ** (1 / 3) / np.linalg.norm(v)
    return (third_order(f, x + h * v, v) - third_order(f, x - h * v, v)) / (2 * h)


def fifth_along(f, x, v) -> np.ndarray:
    """``∇⁵f[v, v, v, v, ·]`` by a second difference of the exact third order (step ``u^(1/4)``)."""
    h = U ** (1 / 4) / np.linalg.norm(v)
    t0 = third_order(f, x, v)
    return (third_order(f, x + h * v, v) - 2 * t0 + third_order(f, x - h * v, v)) / h**2


def check_hvp_against_dense(matvec, H, vectors, /) -> None:
    """Checker: ``matvec(v) == H v`` for every column of ``vectors`` to rounding accuracy.

    Allowance ``100·n·u·‖H‖‖v‖``: the backward pass and ``H @ v`` each round ``O(n)`` terms.
    """
    n = H.shape[0]
    scale = np.linalg.norm(H, 2)
    for v in vectors.T:
        assert_close(
            matvec(v),
            H @ v,
            rtol=0,
            atol=tolerance(factor=100 * n) * scale * np.linalg.norm(v),
            what="H v vs dense",
        )


# ---------------------------------------------------------------------------------------------
# exact H v: identities of the derivation


@given(problems, st.floats(-3, 3), st.floats(-3, 3))
def test_hvp_is_linear_in_v(p, alpha, beta):
    hv, hw = hvp(p.f, p.x, p.v), hvp(p.f, p.x, p.w)
    combo = hvp(p.f, p.x, alpha * p.v + beta * p.w)
    scale = abs(alpha) * np.linalg.norm(hv) + abs(beta) * np.linalg.norm(hw) + np.linalg.norm(combo)
    assert_close(combo, alpha * hv + beta * hw, rtol=0, atol=tolerance(factor=100) * scale)


@given(problems)
def test_hvp_is_symmetric(p):
    # uᵀ H w = wᵀ H u (H = ∇²f is symmetric)
    lhs = p.v @ hvp(p.f, p.x, p.w)
    rhs = p.w @ hvp(p.f, p.x, p.v)
    scale = np.linalg.norm(p.v) * np.linalg.norm(p.w) * np.linalg.norm(oracle.hessian(p.f, p.x), 2)
    assert abs(lhs - rhs) <= tolerance(factor=100) * scale


@given(problems)
def test_hvp_matches_dense_hessian(p):
    H = oracle.hessian(p.f, p.x)
    check_hvp_against_dense(lambda v: hvp(p.f, p.x, v), H, np.column_stack([p.v, p.w]))
    check_hvp_against_dense(hvp_operator(p.f, p.x), H, np.eye(p.x.size))


def test_hvp_checker_rejects_perturbed_hvp(rng):
    # negative control: an H v off by 1e-3 (relative, or as H + 1e-3 I) must be caught
    p = make_problem(5, 7)
    H = oracle.hessian(p.f, p.x)
    V = rng.standard_normal((5, 3))
    check_hvp_against_dense(lambda v: hvp(p.f, p.x, v), H, V)  # the genuine one passes
    with pytest.raises(AssertionError):
        check_hvp_against_dense(lambda v: hvp(p.f, p.x, v) * (1 + 1e-3), H, V)
    with pytest.raises(AssertionError):
        check_hvp_against_dense(lambda v: hvp(p.f, p.x, v) + 1e-3 * v, H, V)


def test_hvp_operator_reuses_one_trace_and_validates():
    p = make_problem(4, 3)
    mv = hvp_operator(p.f, p.x)
    assert mv.n == 4
    assert_close(mv(p.v), hvp(p.f, p.x, p.v), rtol=tolerance(factor=10))
    assert_close(hvp_operator(p.f, p.x, method="fd")(p.v), hvp(p.f, p.x, p.v, method="fd"), rtol=0)
    with pytest.raises(ValueError, match="length 4"):
        mv(np.ones(3))
    with pytest.raises(ValueError, match="NaN or inf"):
        mv(np.array([1.0, np.nan, 0.0, 0.0]))


# ---------------------------------------------------------------------------------------------
# exact third-order term


@given(problems)
def test_third_order_contracts_dense_third_derivative(p):
    T = oracle.third_derivative(p.f, p.x)
    expected = np.einsum("ijk,i,j->k", T, p.v, p.v)
    scale = np.linalg.norm(T.reshape(p.x.size, -1), 2) * np.linalg.norm(p.v) ** 2
    assert_close(third_order(p.f, p.x, p.v), expected, rtol=0, atol=tolerance(factor=100) * scale)


@given(problems)
@example(make_problem(2, 531))  # rounding error of q ~ ||H|| once escaped a scale without ||H||
def test_third_order_is_gradient_of_vHv(p):
    # ∇ₓ(vᵀH(x)v) with v fixed, against central differences of x ↦ vᵀH(x)v from the dense oracle
    q = lambda y: p.v @ oracle.hessian(p.f, y) @ p.v
    h = U ** (1 / 3)
    fd = np.array([(q(p.x + h * e) - q(p.x - h * e)) / (2 * h) for e in np.eye(p.x.size)])
    exact = third_order(p.f, p.x, p.v)
    # central difference, step u^(1/3): error ~ u^(2/3)·(scale of q and its 3rd derivative).
    # The rounding part is u·|q|/h with |q| <= ||H||·||v||², so ||H|| belongs in the scale: without
    # it the dev profile found make_problem(2, 531) (||v||² = 0.019, ||H|| ~ 50) at 50·u^(2/3)·scale.
    H = oracle.hessian(p.f, p.x)
    scale = np.linalg.norm(p.v) ** 2 * max(1.0, np.linalg.norm(exact), np.linalg.norm(H, 2))
    assert_close(fd, exact, rtol=0, atol=tolerance(factor=30, power=2 / 3) * scale)


def test_third_order_of_quadratic_is_zero_without_warnings():
    # vᵀHv is constant for a quadratic: autograd's "independent of input" warning must not leak
    S = np.array([[2.0, 1.0], [1.0, -3.0]])
    f = lambda x: 0.5 * anp.dot(x, anp.dot(S, x))
    x, v = np.array([0.3, -1.0]), np.array([1.0, 2.0])
    assert np.array_equal(third_order(f, x, v), np.zeros(2))
    assert_close(hvp(f, x, v), S @ v, rtol=tolerance(factor=10))
    assert np.array_equal(hvp(lambda x: anp.sum(3.0 * x), x, v), np.zeros(2))


@given(problems)
def test_fused_exact_matches_separate_calls_and_traces_f_once(p):
    calls = []

    def counted(x):
        calls.append(1)
        return p.f(x)

    d = fused_derivatives(counted, p.x, p.v)
    assert isinstance(d, Derivatives) and d.n_grad_evals == 1 and len(calls) == 1
    assert_close(d.grad, gradient(p.f, p.x), rtol=tolerance(factor=10))
    assert_close(d.hvp, hvp(p.f, p.x, p.v), rtol=tolerance(factor=10))
    assert_close(d.third_order, third_order(p.f, p.x, p.v), rtol=tolerance(factor=10))


# ---------------------------------------------------------------------------------------------
# finite differences: error bounds, leading terms, and the ε² / rounding slopes


def fd_error_bound(f, x, v, /, *, order: int, eps: float) -> float:
    """The error bound documented in ``default_fd_step``, evaluated for a test problem::

        order 1:  2·ε²/6 ·‖∇⁴f[v,v,v,·]‖ + 4u·g/ε
        order 2:  2·ε²/12·‖∇⁵f[v,v,v,v,·]‖ + 4·4u·g/ε²,    g = ‖∇f‖ + ‖x‖‖H v‖

    (``g`` adds the rounding of forming ``x ± εv`` to that of the gradients).  The factor 2 on the
    truncation term covers the variation of the derivative over ``x ± εv`` (ε ≤ 1e-4 here); the
    factor 4 on the rounding term: over 80 random problems (err − trunc)/(u·g/ε^order) was at
    most 0.79 for order 1 and 0.65·4 for order 2 (medians 0.14 and 0.15), so it leaves 5x.
    """
    g = np.linalg.norm(gradient(f, x)) + np.linalg.norm(x) * np.linalg.norm(hvp(f, x, v))
    if order == 1:
        return (
            2 * eps**2 / 6 * np.linalg.norm(fourth_along(f, x, v)) + tolerance(factor=4) * g / eps
        )
    trunc = eps**2 / 12 * np.linalg.norm(fifth_along(f, x, v))
    return 2 * trunc + 4 * tolerance(factor=4) * g / eps**2


@given(problems)
def test_fd_hvp_within_documented_bound(p):
    # default_fd_step: |fd − Hv| ≤ ε²/6·‖∇⁴f[v,v,v,·]‖ + rounding of order u‖∇f‖/ε
    eps = default_fd_step(p.x, p.v, order=1)
    err = np.linalg.norm(hvp(p.f, p.x, p.v, method="fd") - hvp(p.f, p.x, p.v))
    assert err <= fd_error_bound(p.f, p.x, p.v, order=1, eps=eps)


@given(problems)
def test_fd_third_order_within_documented_bound(p):
    # default_fd_step: |fd − ∇³f[v,v,·]| ≤ ε²/12·‖∇⁵f[v,v,v,v,·]‖ + rounding of order 4u‖∇f‖/ε²
    eps = default_fd_step(p.x, p.v, order=2)
    err = np.linalg.norm(third_order(p.f, p.x, p.v, method="fd") - third_order(p.f, p.x, p.v))
    assert err <= fd_error_bound(p.f, p.x, p.v, order=2, eps=eps)


@pytest.mark.parametrize("n, seed", [(3, 11), (6, 12)])
def test_fd_errors_follow_leading_taylor_term(n, seed):
    # at a moderate step truncation dominates and equals its leading Taylor term:
    # fd Hv − Hv = ε²/6·∇⁴f[v³,·] + O(ε⁴),  fd ∇³ − ∇³ = ε²/12·∇⁵f[v⁴,·] + O(ε⁴)
    p = make_problem(n, seed)
    v = p.v / np.linalg.norm(p.v)
    eps = 1e-2
    e1 = hvp(p.f, p.x, v, method="fd", eps=eps) - hvp(p.f, p.x, v)
    e2 = third_order(p.f, p.x, v, method="fd", eps=eps) - third_order(p.f, p.x, v)
    # relative mismatch is O(ε²) = 1e-4 times derivative ratios of order 1-10
    assert_close(e1, eps**2 / 6 * fourth_along(p.f, p.x, v), rtol=1e-2)
    assert_close(e2, eps**2 / 12 * fifth_along(p.f, p.x, v), rtol=1e-2)


def _loglog_slope(eps, errs):
    return float(np.polyfit(np.log(eps), np.log(errs), 1)[0])


def test_fd_error_slopes_truncation_then_rounding():
    # error ~ C ε² while truncation dominates, ~ u/ε (Hv) or u/ε² (third order) once rounding does
    p = make_problem(5, 2024)
    v = p.v / np.linalg.norm(p.v)
    exact1, exact2 = hvp(p.f, p.x, v), third_order(p.f, p.x, v)
    err1 = lambda e: np.linalg.norm(hvp(p.f, p.x, v, method="fd", eps=e) - exact1)
    err2 = lambda e: np.linalg.norm(third_order(p.f, p.x, v, method="fd", eps=e) - exact2)
    trunc_eps = np.logspace(-3, -1.5, 7)
    slope_t1 = _loglog_slope(trunc_eps, [err1(e) for e in trunc_eps])
    slope_t2 = _loglog_slope(trunc_eps, [err2(e) for e in trunc_eps])
    round_eps1 = np.logspace(-12, -9, 13)
    round_eps2 = np.logspace(-8, -6, 13)
    slope_r1 = _loglog_slope(round_eps1, [err1(e) for e in round_eps1])
    slope_r2 = _loglog_slope(round_eps2, [err2(e) for e in round_eps2])
    assert abs(slope_t1 - 2) < 0.05 and abs(slope_t2 - 2) < 0.05, (slope_t1, slope_t2)
    # rounding errors are erratic point to point; the fitted slope over 2-3 decades is stable
    # (over 6 seeds: -0.95..-1.05 for H v, -1.85..-2.08 for the third order)
    assert abs(slope_r1 + 1) < 0.35, slope_r1
    assert abs(slope_r2 + 2) < 0.35, slope_r2
    # and the default steps sit near the bottom of the V: not worse than both ends of the sweep
    assert err1(default_fd_step(p.x, v, order=1)) < min(err1(1e-3), err1(1e-10))
    assert err2(default_fd_step(p.x, v, order=2)) < min(err2(1e-2), err2(1e-6))


def test_fused_fd_uses_exactly_three_gradients():
    p = make_problem(4, 5)
    calls = []

    def counted(x):
        calls.append(np.array(x, dtype=float, copy=True) if not hasattr(x, "_value") else x._value)
        return p.f(x)

    eps = 1e-4
    d = fused_derivatives(counted, p.x, p.v, method="fd", eps=eps)
    assert d.n_grad_evals == 3 and len(calls) == 3
    points = sorted(map(tuple, calls))
    assert sorted(map(tuple, [p.x, p.x + eps * p.v, p.x - eps * p.v])) == points
    assert_close(d.grad, gradient(p.f, p.x), rtol=0)
    assert_close(d.hvp, hvp(p.f, p.x, p.v, method="fd", eps=eps), rtol=tolerance(factor=10))
    assert_close(
        d.third_order, third_order(p.f, p.x, p.v, method="fd", eps=eps), rtol=tolerance(factor=10)
    )


def test_default_fd_step_rule():
    x, v = np.array([0.0, 0.0]), np.array([3.0, 4.0])
    assert default_fd_step(x, v, order=1) == pytest.approx(U ** (1 / 3) / 5, rel=1e-14)
    assert default_fd_step(x, v, order=2) == pytest.approx(U ** (1 / 4) / 5, rel=1e-14)
    big = np.array([30.0, 40.0])  # scales with max(1, ‖x‖)
    assert default_fd_step(big, v, order=1) == pytest.approx(50 * U ** (1 / 3) / 5, rel=1e-14)
    u32 = float(np.finfo(np.float32).eps)
    assert default_fd_step(x, v, order=2, dtype=np.float32) == pytest.approx(u32 ** (1 / 4) / 5)
    for bad in (0, 3, True, 1.5):
        with pytest.raises(ValueError, match="order"):
            default_fd_step(x, v, order=bad)
    with pytest.raises(ValueError, match="zero vector"):
        default_fd_step(x, np.zeros(2), order=1)
    with pytest.raises(ValueError, match="dtype"):
        default_fd_step(x, v, order=1, dtype=np.int64)


# ---------------------------------------------------------------------------------------------
# bad input, no mutation, public names, docstring examples


def _bad_calls(f, x, v):
    yield "x contains NaN", lambda: hvp(f, np.array([np.nan, 0.0]), v)
    yield "x contains NaN or inf", lambda: third_order(f, np.array([np.inf, 0.0]), v)
    yield "v contains NaN", lambda: hvp(f, x, np.array([1.0, np.nan]))
    yield (
        "v contains NaN or inf",
        lambda: fused_derivatives(f, x, np.array([np.inf, 0.0]), method="fd"),
    )
    yield "x must be a 1-D", lambda: hvp(f, np.ones((2, 1)), v)
    yield "v must have length 2", lambda: third_order(f, x, np.ones(3))
    yield "x must be non-empty", lambda: gradient(f, np.array([]))
    yield "f must return a scalar", lambda: hvp(lambda y: y * 2.0, x, v)
    yield "f must return a scalar", lambda: gradient(lambda y: anp.outer(y, y), x)
    yield "real scalar", lambda: gradient(lambda y: 1j * y[0], x)
    yield "NaN or inf", lambda: gradient(lambda y: y[0] * np.inf, x)
    yield "f must be callable", lambda: hvp(3.0, x, v)
    yield "zero vector", lambda: hvp(f, x, np.zeros(2), method="fd")
    yield "zero vector", lambda: third_order(f, x, np.zeros(2), method="fd")
    yield "zero vector", lambda: fused_derivatives(f, x, np.zeros(2), method="fd")
    yield "method must be one of", lambda: hvp(f, x, v, method="forward")
    yield "eps must be finite and > 0", lambda: hvp(f, x, v, method="fd", eps=0.0)
    yield "eps must be finite and > 0", lambda: third_order(f, x, v, method="fd", eps=np.nan)
    yield "too small", lambda: third_order(f, np.array([1e8, 1e8]), v, method="fd", eps=1e-300)


@pytest.mark.parametrize(
    "match, call", list(_bad_calls(make_smooth(2, 0), np.array([0.5, -1.0]), np.array([1.0, 2.0])))
)
def test_bad_input_raises_value_error(match, call):
    with pytest.raises(ValueError, match=match):
        call()


def test_exact_paths_accept_zero_v_and_do_not_mutate_inputs():
    p = make_problem(3, 9)
    x0, v0 = p.x.copy(), p.v.copy()
    assert np.array_equal(hvp(p.f, p.x, np.zeros(3)), np.zeros(3))
    assert np.array_equal(third_order(p.f, p.x, np.zeros(3)), np.zeros(3))
    for method in ("exact", "fd"):
        out = fused_derivatives(p.f, p.x, p.v, method=method)
        out.grad[:] = 0.0  # results are fresh arrays
        hvp(p.f, p.x, p.v, method=method)
        third_order(p.f, p.x, p.v, method=method)
    assert np.array_equal(p.x, x0) and np.array_equal(p.v, v0)


def test_public_names_exported():
    for name in (
        "gradient",
        "hvp",
        "third_order",
        "fused_derivatives",
        "Derivatives",
        "hvp_operator",
        "default_fd_step",
    ):
        assert getattr(srtheory, name) is getattr(curvature, name)


def test_docstring_examples_run():
    result = doctest.testmod(curvature, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
