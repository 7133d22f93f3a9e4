"""Claim C04 (proofs/C04_warm_start.md): warm-started power iteration along an SRR run needs at
most k(δ, g) ≤ 2 + log(4·spread·(ε_prev + δ/(g − δ))/(τρ))/log|λ₁/λ₂| iterations (Davis-Kahan)."""

import math

import numpy as np
import pytest

from srtheory import claims


def test_iteration_counts_along_an_srr_run_obey_the_bound():
    res = claims.check_C04()
    assert res.holds, dict(res.detail)
    d = res.detail
    assert d["delta_max"] < d["gap_used"]
    assert d["warm_mean"] < d["cold_mean"]  # the warm start pays
    assert res.observed <= res.bound < math.inf


def test_count_bound_formula():
    # tan φ0 = 1e-3, r = 0.5, spread = rho = 1, tol 1e-8: need 2^-j 1e-3 <~ 1e-8 -> j = 17, count 18
    assert claims._c04_count_bound(1e-3, 0.5, 1.0, 1.0, 1e-8) == 18
    assert claims._warm_bound(0.5, 0.4, 0.0, 0.5, 1.0, 1.0, 1e-8)[0] == math.inf  # δ ≥ g: no bound


def test_negative_control_gap_closing_along_the_path_breaks_the_bound():
    res = claims.check_C04(path="crossing")
    assert not res.holds
    assert res.observed > 2 * res.bound
    assert res.detail["gap_min_observed"] < 0.1 * res.detail["gap_used"]


def test_bad_path_rejected():
    with pytest.raises(ValueError, match="path"):
        claims.check_C04(path="loop")


def test_negative_control_code_wrong_warm_start_ignored_is_caught(monkeypatch):
    # planted bug: a power iteration that ignores the vector it is given and starts from 1/sqrt(n)
    # every time (the warm start lost); the count then exceeds the warm-start bound
    from srtheory import spectral

    real = spectral.power_iteration

    def cold(matvec, v0, /, **kwargs):
        return real(matvec, np.ones(len(v0)), **kwargs)

    monkeypatch.setattr(spectral, "power_iteration", cold)
    res = claims.check_C04()
    assert not res.holds
    assert res.observed > res.bound
