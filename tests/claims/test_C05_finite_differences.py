"""Claim C05 (proofs/C05_finite_differences.md): the second difference of gradients estimates
∇³f[v, v, ·] with truncation ε²M₅‖v‖⁴/12 and rounding 4η/ε²; slopes +2 and −2."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from srtheory import claims


def test_error_below_bound_with_both_slopes():
    res = claims.check_C05()
    assert res.holds, dict(res.detail)
    assert abs(res.detail["truncation_slope"] - 2.0) <= 0.25
    assert abs(res.detail["rounding_slope"] + 2.0) <= 0.5


@settings(max_examples=5)
@given(seed=st.integers(0, 2**32 - 1))
def test_holds_for_other_objectives(seed):
    res = claims.check_C05(rng=np.random.default_rng(seed))
    assert res.holds, dict(res.detail)


def test_negative_control_only_c3_at_a_kink_breaks_the_rate():
    res = claims.check_C05(smooth=False)
    assert not res.holds
    assert res.observed > 10.0  # error far above the C^5 bound
    assert (
        abs(res.detail["truncation_slope"] - 0.5) < 0.2
    )  # error ~ eps^(1/2), as the proof predicts


def test_default_step_meets_the_bound():
    res = claims.check_C05()
    assert res.detail["default_step_worst_ratio"] <= 1.0
    assert res.detail["default_step_max_error"] < 1e-6  # O(sqrt(u)) attainable accuracy


def test_negative_control_code_wrong_one_sided_difference_is_caught(monkeypatch):
    # planted bug: a one-sided second difference [g(x+2ev) - 2g(x+ev) + g(x)]/e^2, accurate to
    # O(e) only; the check must report failure (slope 1, error above the O(e^2) bound)
    from srtheory import curvature

    def one_sided(f, x, v, /, *, method="exact", eps=None):
        e = curvature.default_fd_step(x, v, order=2) if eps is None else eps
        g = lambda z: np.asarray(curvature.gradient(f, z), dtype=float)
        return (g(x + 2 * e * v) - 2 * g(x + e * v) + g(x)) / (e * e)

    monkeypatch.setattr(curvature, "third_order", one_sided)
    res = claims.check_C05()
    assert not res.holds
    assert res.observed > 1.0
    assert abs(res.detail["truncation_slope"] - 1.0) < 0.3
