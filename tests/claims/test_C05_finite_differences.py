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
