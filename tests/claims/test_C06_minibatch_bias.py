"""Claim C06 (proofs/C06_minibatch_bias.md): E ρ(H_B) ≥ ρ(E H_B) (ρ convex), the gap bounded by
the minibatch covariance and non-increasing in the batch size.  The per-batch ρ(H_B) comes from the
library's matrix-free path (batch_function → hvp_operator → spectral_radius), as in srr_train."""

import numpy as np

from srtheory import claims, regularizer, spectral


def test_bias_is_nonnegative_bounded_and_decreasing():
    res = claims.check_C06()
    assert res.holds, dict(res.detail)
    rows = res.detail["rows"]
    assert all(r["gap"] > 0 for r in rows)
    assert all(r["lower"] <= r["gap"] + 3.09 * r["se"] <= r["upper"] + 6.18 * r["se"] for r in rows)
    assert [r["b"] for r in rows] == sorted(r["b"] for r in rows)
    assert rows[-1]["gap"] < rows[0]["gap"]
    assert res.lower <= res.observed <= res.bound
    # the check ran the library's solver on every batch and it matched the dense reference
    assert res.detail["library_solves"] == sum(r["batches"] for r in rows)
    assert res.detail["library_all_converged"] and res.detail["library_matches_dense"]
    assert res.detail["library_vs_dense_max_rel"] <= 1e-9


def test_library_calls_are_the_ones_srr_train_makes(monkeypatch):
    seen = []
    real = regularizer.batch_function

    def spy(loss, batch):
        seen.append(np.asarray(batch).copy())
        return real(loss, batch)

    monkeypatch.setattr(regularizer, "batch_function", spy)
    res = claims.check_C06()
    assert res.holds
    assert len(seen) == res.detail["library_solves"]
    assert {len(b) for b in seen} == {r["b"] for r in res.detail["rows"]}


def test_negative_control_concave_functional_reverses_the_inequality():
    res = claims.check_C06(functional="lambda_min")
    assert not res.holds
    assert res.observed < 0.0  # E λ_min(H_B) < λ_min(H): Jensen the other way


def test_code_control_full_data_curvature_is_caught(monkeypatch):
    # a batch curvature built on the full data (the minibatch ignored): ρ(H_B) = ρ(H) for every B
    real = regularizer.batch_function

    def full_data(loss, batch):
        return real(loss, np.arange(64))

    monkeypatch.setattr(regularizer, "batch_function", full_data)
    res = claims.check_C06()
    assert not res.holds
    assert not res.detail["library_matches_dense"]
    assert abs(res.observed) < 1e-8 < res.lower  # no bias at all: below the Rayleigh-Ritz bound


def test_code_control_solver_returning_the_non_dominant_extreme_is_caught(monkeypatch):
    real = spectral.spectral_radius

    def wrong(matvec, v0, **kw):
        r = real(matvec, v0, **kw)
        small = min(abs(r.lambda_max), abs(r.lambda_min))
        return r._replace(rho=small)

    monkeypatch.setattr(spectral, "spectral_radius", wrong)
    res = claims.check_C06()
    assert not res.holds
    assert not res.detail["library_matches_dense"]


def test_biased_sampling_voids_the_proof_but_is_reported():
    # E H_B != H: the proof does not apply; the check still runs and reports the (here positive) gap
    res = claims.check_C06(sampling="biased")
    assert res.detail["sampling"] == "biased" and res.lower == 0.0
