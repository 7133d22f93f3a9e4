"""Claim C03 (proofs/C03_lanczos.md): Lanczos from a random start -- Kaniel-Paige per start and
the Kuczyński-Woźniakowski probability bound, checked over many starts."""

import numpy as np

from srtheory import claims


def test_probabilistic_and_per_start_bounds_hold():
    res = claims.check_C03()
    assert res.holds, dict(res.detail)
    d = res.detail
    assert d["exceedances"] <= d["allowed_exceedances"]
    assert d["kaniel_paige_worst_ratio"] <= 1.0
    assert res.observed <= res.bound


def test_bound_is_not_vacuous_here():
    # some starts do exceed eps(p): the statistic is informative, not identically zero
    res = claims.check_C03()
    assert res.detail["exceedances"] > 0


def test_negative_control_deterministic_start_orthogonal_to_q1_fails():
    res = claims.check_C03(start="ones")
    assert not res.holds
    assert res.detail["exceedances"] == res.detail["starts"]
    # the Krylov space stays orthogonal to q1, so the Ritz value is <= lambda_2 = 0.9: error >= 0.1
    assert res.observed >= 0.1 - 1e-9


def test_other_seed_also_holds():
    assert claims.check_C03(rng=np.random.default_rng(7)).holds


def test_negative_control_code_wrong_overshooting_estimate_is_caught(monkeypatch):
    # planted bug: a Lanczos that reports the upper end of its residual interval, eigval + residual,
    # as the eigenvalue; Courant-Fischer (theta_k <= lambda_1) is violated and the check fails
    from srtheory import spectral

    real = spectral.lanczos

    def overshoot(*args, **kwargs):
        res = real(*args, **kwargs)
        return res._replace(eigval=res.eigval + res.residual)

    monkeypatch.setattr(spectral, "lanczos", overshoot)
    assert not claims.check_C03().holds
