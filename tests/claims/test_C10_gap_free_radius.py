"""Claim C10 (proofs/C10_gap_free_radius.md): gap-free bounds for ρ from the library's power
iteration (ρ̂ = ‖Av‖, i.e. power iteration on A²) and two-ended Lanczos, on planted spectra whose
top eigenvalues are tied (±ρ) or clustered; controls break the random start, swap in a
gap-dependent estimator, and plant bugs in the solvers."""

import itertools
import math

import numpy as np
import pytest

from srtheory import claims, spectral
from srtheory.claims.c10_gap_free_radius import _eps_power, _power_prob


def test_gap_free_bounds_hold_for_both_solvers():
    res = claims.check_C10()
    assert res.holds, dict(res.detail)
    d = res.detail
    for kind in ("tie", "cluster_negative"):
        for label in ("power", "lanczos_proved", "lanczos_kw"):
            assert d[f"{kind}_{label}_exceedances"] <= d["allowed_exceedances"]
    # the estimates are certified lower bounds of rho (up to rounding)
    assert d["max_estimate_over_rho"] <= 1.0 + 1e-12


def test_other_seed_also_holds():
    assert claims.check_C10(rng=np.random.default_rng(11)).holds


def test_power_bound_formula():
    # P bound is decreasing in eta, and the closed form (1-eta)^(j+1)/(j+1) dominates M_j
    n, j = 100, 20
    probs = [_power_prob(n, j, e) for e in (0.01, 0.05, 0.1, 0.3)]
    assert all(a >= b for a, b in itertools.pairwise(probs))
    for eta in (0.05, 0.2):
        simple = math.sqrt(2 * (n - 1) / math.pi) * math.sqrt(
            (1 - eta) ** (j + 1) / ((j + 1) * eta)
        )
        assert _power_prob(n, j, eta) <= simple + 1e-15
    eps = _eps_power(n, j, 0.1)
    assert _power_prob(n, j, eps * (2 - eps)) <= 0.1 + 1e-9


def test_negative_control_deterministic_start_fails():
    res = claims.check_C10(start="ones")
    assert not res.holds
    d = res.detail
    assert d["tie_power_exceedances"] == d["starts"]
    assert d["cluster_negative_lanczos_kw_exceedances"] == d["starts"]


def test_negative_control_rayleigh_estimator_is_not_gap_free():
    # |theta| of power iteration stalls at the ±rho tie (C02 item 6): the bound fails there only
    res = claims.check_C10(estimator="rayleigh")
    assert not res.holds
    assert res.detail["tie_power_exceedances"] > res.detail["allowed_exceedances"]


def test_negative_control_code_wrong_one_ended_lanczos_is_caught(monkeypatch):
    # planted bug: the spectral radius taken from the largest Ritz value only (which="LA"),
    # as if rho = lambda_max; wrong when the dominant eigenvalue is negative
    def one_ended(matvec, v0, /, *, method="lanczos", tol=1e-8, max_iter=None):
        return spectral.lanczos(matvec, v0, tol=tol, max_iter=max_iter or 300, which="LA")

    monkeypatch.setattr(spectral, "spectral_radius", one_ended)
    res = claims.check_C10()
    assert not res.holds
    assert res.detail["cluster_negative_lanczos_kw_exceedances"] == res.detail["starts"]


def test_negative_control_code_wrong_residual_after_flip_is_caught(monkeypatch):
    # planted bug: the sign flip of Algorithm 1 step 2.3 applied to lambda but the residual
    # formed with the unflipped vector, r = A v - |theta| v: the reported pair claims more
    # than rho (sqrt(theta^2 + r^2) > rho), which the certified upper bound catches
    real = spectral.power_iteration

    def flip_bug(*args, **kwargs):
        res = real(*args, **kwargs)
        bad = math.hypot(res.residual, res.eigval - abs(res.eigval))
        return res._replace(residual=bad)

    monkeypatch.setattr(spectral, "power_iteration", flip_bug)
    res = claims.check_C10()
    assert not res.holds
    assert res.detail["max_estimate_over_rho"] > 1.5


def test_bad_options_are_rejected():
    with pytest.raises(ValueError, match="start"):
        claims.check_C10(start="zeros")
    with pytest.raises(ValueError, match="k_power"):
        claims.check_C10(k_power=1)
