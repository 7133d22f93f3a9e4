"""Tests of srtheory.roperator: the R- and R²-operator recursions for a sigmoid MLP with squared
error (SRR_NOTES §5.3) against autograd and against the brute-force dense third-derivative tensor
(the check the authors' hessTest.m performs symbolically)."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from srtheory import oracle, roperator
from srtheory.curvature import fused_derivatives
from srtheory.roperator import (
    ROpResult,
    flatten_layers,
    r_operator,
    sigmoid_mlp_loss,
    unflatten_layers,
)
from srtheory.testing import assert_close, tolerance


def random_mlp(sizes, seed, *, n_samples=5):
    """Weights, biases, weight directions, inputs and targets of a sigmoid MLP ``sizes[0] → … → sizes[-1]``."""
    rng = np.random.default_rng(seed)
    Ws = [rng.standard_normal((sizes[i + 1], sizes[i])) for i in range(len(sizes) - 1)]
    bs = [rng.standard_normal(sizes[i + 1]) for i in range(len(sizes) - 1)]
    Vs = [rng.standard_normal(W.shape) for W in Ws]
    X = rng.standard_normal((n_samples, sizes[0]))
    T = rng.uniform(0.0, 1.0, (n_samples, sizes[-1]))
    return Ws, bs, Vs, X, T


def autograd_reference(Ws, bs, Vs, X, T):
    w, shapes = flatten_layers(Ws)
    v, _ = flatten_layers(Vs)
    loss = lambda flat: sigmoid_mlp_loss(flat, shapes, bs, X, T)
    return loss, w, v, fused_derivatives(loss, w, v)


def check_rop(result: ROpResult, reference, /) -> None:
    """Checker: every block of ``result`` equals autograd's to rounding (factor 100·u, relative)."""
    loss, w, _v, d = reference
    assert result.loss == pytest.approx(float(loss(w)), rel=tolerance(factor=100))
    for got, want, what in [
        (result.grad, d.grad, "grad"),
        (result.hvp, d.hvp, "H v"),
        (result.third_order, d.third_order, "third order"),
    ]:
        assert_close(flatten_layers(got)[0], want, rtol=tolerance(factor=100), what=what)


sizes = st.one_of(
    st.lists(st.integers(1, 4), min_size=3, max_size=3),  # 2 layers
    st.lists(st.integers(1, 4), min_size=4, max_size=4),  # 3 layers
)


@given(sizes, st.integers(0, 2**31 - 1), st.integers(1, 6))
def test_r_operator_equals_autograd(layer_sizes, seed, n_samples):
    Ws, bs, Vs, X, T = random_mlp(layer_sizes, seed, n_samples=n_samples)
    r = r_operator(Ws, bs, Vs, X, T)
    assert [g.shape for g in r.hvp] == [W.shape for W in Ws] == [t.shape for t in r.third_order]
    check_rop(r, autograd_reference(Ws, bs, Vs, X, T))


@pytest.mark.parametrize("layer_sizes, seed", [([2, 3, 1], 0), ([2, 2, 2, 1], 1)])
def test_r_operator_equals_brute_force_dense_derivatives(layer_sizes, seed):
    # the hessTest.m check: H v and ∇³E[v, v, ·] from the full Hessian and third-derivative tensor
    Ws, bs, Vs, X, T = random_mlp(layer_sizes, seed)
    loss, w, v, _ = autograd_reference(Ws, bs, Vs, X, T)
    H = oracle.hessian(loss, w)
    T3 = oracle.third_derivative(loss, w)
    r = r_operator(Ws, bs, Vs, X, T)
    assert_close(flatten_layers(r.hvp)[0], H @ v, rtol=tolerance(factor=100))
    assert_close(
        flatten_layers(r.third_order)[0],
        np.einsum("ijk,i,j->k", T3, v, v),
        rtol=tolerance(factor=100),
    )


def test_r_and_r2_scale_linearly_and_quadratically_in_direction():
    Ws, bs, Vs, X, T = random_mlp([3, 4, 2], 3)
    r1 = r_operator(Ws, bs, Vs, X, T)
    r3 = r_operator(Ws, bs, [-3.0 * V for V in Vs], X, T)
    for a, b in zip(r1.hvp, r3.hvp):
        assert_close(b, -3.0 * a, rtol=tolerance(factor=100))
    for a, b in zip(r1.third_order, r3.third_order):
        assert_close(b, 9.0 * a, rtol=tolerance(factor=100))
    r0 = r_operator(Ws, bs, [np.zeros_like(V) for V in Vs], X, T)
    assert all(np.array_equal(h, np.zeros_like(h)) for h in r0.hvp + r0.third_order)


def test_checker_rejects_a_wrong_recursion():
    # negative control: a third-order block off by a relative 1e-3, an H v block off by 1e-3·V
    Ws, bs, Vs, X, T = random_mlp([2, 3, 2], 4)
    ref = autograd_reference(Ws, bs, Vs, X, T)
    r = r_operator(Ws, bs, Vs, X, T)
    check_rop(r, ref)
    bad = r._replace(third_order=[t * (1 + 1e-3) for t in r.third_order])
    with pytest.raises(AssertionError):
        check_rop(bad, ref)
    bad = r._replace(hvp=[h + 1e-3 * V for h, V in zip(r.hvp, Vs)])
    with pytest.raises(AssertionError):
        check_rop(bad, ref)


def test_large_preactivations_do_not_overflow():
    Ws, bs, Vs, X, T = random_mlp([2, 3, 1], 5)
    Ws = [100.0 * W for W in Ws]  # saturated sigmoids: exp(-a) would overflow at |a| ~ 1e3
    r = r_operator(Ws, bs, Vs, 10.0 * X, T)
    assert np.isfinite(r.loss) and all(np.all(np.isfinite(t)) for t in r.third_order)


def test_flatten_roundtrip_and_no_mutation():
    Ws, bs, Vs, X, T = random_mlp([3, 2, 2, 1], 6)
    flat, shapes = flatten_layers(Ws)
    assert flat.shape == (sum(W.size for W in Ws),)
    assert all(np.array_equal(a, b) for a, b in zip(unflatten_layers(flat, shapes), Ws))
    copies = [[a.copy() for a in group] for group in (Ws, bs, Vs)] + [X.copy(), T.copy()]
    r_operator(Ws, bs, Vs, X, T)
    for before, after in zip(copies[:3], (Ws, bs, Vs)):
        assert all(np.array_equal(a, b) for a, b in zip(before, after))
    assert np.array_equal(copies[3], X) and np.array_equal(copies[4], T)


def _bad_calls():
    Ws, bs, Vs, X, T = random_mlp([2, 3, 1], 7)
    yield "non-empty list", lambda: r_operator([], [], [], X, T)
    yield "one entry per layer", lambda: r_operator(Ws, bs[:1] + bs, Vs, X, T)
    yield r"weights\[1\] has shape", lambda: r_operator([Ws[0], np.ones((1, 2))], bs, Vs, X, T)
    yield r"biases\[0\] has shape", lambda: r_operator(Ws, [np.ones(2), bs[1]], Vs, X, T)
    yield r"directions\[1\] has shape", lambda: r_operator(Ws, bs, [Vs[0], np.ones((3, 1))], X, T)
    yield "T has shape", lambda: r_operator(Ws, bs, Vs, X, np.ones((4, 1)))
    yield "X must be a non-empty 2-D", lambda: r_operator(Ws, bs, Vs, X[0], T)
    yield r"directions\[0\] contains NaN", lambda: r_operator(Ws, bs, [Vs[0] * np.nan, Vs[1]], X, T)
    yield "X contains NaN", lambda: r_operator(Ws, bs, Vs, X * np.inf, T)
    yield "flat vector has shape", lambda: unflatten_layers(np.ones(5), [(2, 3)])
    yield "at least one layer", lambda: flatten_layers([])


@pytest.mark.parametrize("match, call", list(_bad_calls()))
def test_bad_input_raises_value_error(match, call):
    with pytest.raises(ValueError, match=match):
        call()


def test_docstring_examples_run():
    result = doctest.testmod(roperator, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
