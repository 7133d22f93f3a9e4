"""Claim C07 (proofs/C07_descent.md): with ∇h L-Lipschitz and a ≤ 1/L, one gradient step decreases h
by at least a(1 − La/2)‖∇h‖² ≥ (a/2)‖∇h‖²; above 2/L it can increase h.  The step and the values are
the library's (regularized_grad with a spectral_radius eigenpair, regularized_objective)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from srtheory import claims, eigengrad, regularizer
from srtheory.curvature import gradient
from srtheory.eigengrad import spectral_radius_grad
from srtheory.spectral import spectral_radius
from srtheory.testing import assert_close, tolerance


@settings(max_examples=20)
@given(factor=st.floats(0.05, 1.0), pts=arrays(np.float64, (8, 6), elements=st.floats(-4.0, 4.0)))
def test_descent_for_steps_up_to_one_over_L(factor, pts):
    res = claims.check_C07(step_factor=factor, points=pts)
    assert res.holds, dict(res.detail)
    assert res.observed <= -(1.0 - factor / 2.0) + 1e-9 or res.detail["points"] == 0


def test_descent_lemma_is_tight_at_one_over_L():
    res = claims.check_C07()
    assert res.holds
    assert res.observed > -0.6  # points along the stiffest direction nearly attain -1/2


def test_descent_with_a_negative_dominant_eigenvalue():
    res = claims.check_C07(dominant="negative", mu=3.0)
    assert res.holds, dict(res.detail)
    assert res.detail["library_matches_closed_form"] and res.detail["lemma_amount_holds"]


def test_check_runs_the_library_gradient_and_objective(monkeypatch):
    calls = {"grad": 0, "obj": 0}
    real_g, real_h = regularizer.regularized_grad, regularizer.regularized_objective

    def spy_g(*a, **k):
        calls["grad"] += 1
        return real_g(*a, **k)

    def spy_h(*a, **k):
        calls["obj"] += 1
        return real_h(*a, **k)

    monkeypatch.setattr(regularizer, "regularized_grad", spy_g)
    monkeypatch.setattr(regularizer, "regularized_objective", spy_h)
    res = claims.check_C07()
    assert res.holds
    assert calls["grad"] >= res.detail["points"] + 1 and calls["obj"] >= 2 * res.detail["points"]
    assert res.detail["library_vs_closed_form_max_rel"] <= 1e-8


def test_code_control_sign_of_lambda_dropped_is_caught():
    # the authors' gradient of rho without sign(lambda), where the dominant eigenvalue is negative:
    # the step is no longer -grad h and the descent inequality itself fails
    res = claims.check_C07(dominant="negative", mu=3.0, code_faithful=True)
    assert not res.holds
    assert res.observed > res.bound
    assert not res.detail["library_matches_closed_form"]


def test_code_control_penalty_gradient_scaled_wrongly_is_caught(monkeypatch):
    real = eigengrad.eigenvalue_grad
    monkeypatch.setattr(eigengrad, "eigenvalue_grad", lambda *a, **k: 3.0 * real(*a, **k))
    res = claims.check_C07()
    assert not res.holds
    assert res.observed > res.bound
    assert not res.detail["library_matches_closed_form"]


def test_negative_control_step_above_two_over_L_increases_h():
    res = claims.check_C07(step_factor=2.5)
    assert not res.holds
    assert res.observed > 0.0
    assert res.detail["fraction_increasing"] > 0.0


def test_separable_closed_forms_match_the_library(rng):
    obj = claims.make_separable(5, rng)
    x = rng.standard_normal(5)
    y = obj.Q.T @ x
    tol = tolerance(factor=100)
    assert_close(gradient(obj.f, x), obj.Q @ obj.dphi(y), rtol=tol, what="gradient")
    H = obj.Q @ np.diag(obj.d2phi(y)) @ obj.Q.T
    eig = spectral_radius(H, np.ones(5), tol=1e-13)
    assert eig.eigval > 0 and abs(eig.rho - obj.rho_y(y)) <= tol * eig.rho
    # ∇ρ = w1 c sin(y1) q1 (Lemma A in closed form) against the library's sign(λ)∇³f[v, v, ·]
    assert_close(
        spectral_radius_grad(obj.f, x, eig),
        obj.w1 * obj.c * np.sin(y[0]) * obj.Q[:, 0],
        rtol=tolerance(factor=1e4),
        atol=tolerance(factor=1e4),
    )
