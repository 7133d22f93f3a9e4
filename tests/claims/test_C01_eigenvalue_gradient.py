"""Claim C01 (proofs/C01_eigenvalue_gradient.md): ∇ρ = sign(λ*)∇³f[v*, v*, ·] where λ* is simple;
one-sided derivatives at a ±λ tie / repeated eigenvalue (Kato)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from srtheory import claims, oracle
from srtheory.curvature import gradient, third_order
from srtheory.eigengrad import spectral_radius_grad
from srtheory.spectral import spectral_radius
from srtheory.testing import assert_close, tolerance


def test_claim_holds_on_generic_points_and_at_the_tie():
    res = claims.check_C01()
    assert res.holds, res
    assert res.observed <= res.bound
    assert res.detail["negative_dominant_points"] >= 2  # the sign of Lemma A is exercised
    assert res.detail["tie_one_sided_gap"] > 1e-2  # the one-sided derivatives visibly differ


@pytest.mark.parametrize("at", ["tie", "repeated"])
def test_negative_control_gradient_formula_at_a_nonsimple_top_eigenvalue_fails(at):
    res = claims.check_C01(at=at)
    assert not res.holds
    assert res.observed > 1e4 * res.bound  # O(1) disagreement, not a rounding effect


def test_negative_control_code_faithful_gradient_drops_the_sign():
    res = claims.check_C01(code_faithful=True)
    assert not res.holds
    assert res.detail["grad_rel_err"] > 0.5


def test_cubic_sine_closed_forms_match_the_library(rng):
    obj = claims.make_cubic_sine((3.0, -2.0, 1.0, 0.5), rng)
    x, v = 0.4 * rng.standard_normal(4), rng.standard_normal(4)
    tol = tolerance(factor=100, power=1.0)
    assert_close(gradient(obj.f, x), obj.grad(x), rtol=tol, what="gradient")
    assert_close(oracle.hessian(obj.f, x), obj.hessian(x), rtol=tol, what="Hessian")
    assert_close(third_order(obj.f, x, v), obj.third(x, v), rtol=tol, what="third order")
    # the Hessian at 0 is exactly A (planted spectrum, incl. ties)
    assert np.array_equal(obj.hessian(np.zeros(4)), obj.A)


@settings(max_examples=10)
@given(seed=st.integers(0, 2**32 - 1), negative=st.booleans())
def test_gradient_formula_matches_dense_finite_differences(seed, negative):
    rng = np.random.default_rng(seed)
    eigs = np.array([3.0, -1.5, 1.0, 0.5, -0.2])
    obj = claims.make_cubic_sine(-eigs if negative else eigs, rng)
    x = 0.2 * rng.standard_normal(5)
    H = obj.hessian(x)
    if not oracle.top_eigen_simple(H, rtol=0.1):
        return  # the claim's assumption does not hold at this point
    eig = spectral_radius(H, rng.standard_normal(5), tol=1e-13)
    g = spectral_radius_grad(obj.f, x, eig)
    # identity of the derivation: sign(λ)∇³f[v, v, ·] in closed form
    assert_close(
        g,
        np.sign(eig.eigval) * obj.third(x, eig.eigvec),
        rtol=tolerance(factor=1e4),
        atol=tolerance(factor=1e4),
    )
    # and the derivative of the dense ρ (error of the FD reference: ~u^(2/3) times the scales)
    ref = oracle.grad_rho_fd(obj.f, x)
    assert_close(
        g, ref, rtol=tolerance(factor=1e3, power=2 / 3), atol=tolerance(factor=1e3, power=2 / 3)
    )


def test_bad_options_are_rejected():
    with pytest.raises(ValueError, match="budget"):
        claims.check_C01(budget="huge")
    with pytest.raises(ValueError, match="at"):
        claims.check_C01(at="nowhere")
