"""Claim C08 (proofs/C08_as_convergence.md): SRR-SGD converges where h is smooth.  The check runs
srtheory.training.srr_train with i.i.d. batches, a Robbins-Monro step and a vanishing residual
tolerance on an objective whose hinge is active everywhere with a uniform eigengap; controls break
Σa² < ∞ and Σ a_kτ_k < ∞, and plant two code errors (the dropped sign, a halved penalty term)."""

import pytest

from srtheory import claims


@pytest.fixture(scope="module")
def run():
    """The quick check, with srr_train spied on (the keywords it was called with)."""
    from srtheory import training

    seen = {}
    real = training.srr_train

    def spy(objective, x0=None, /, **kw):
        seen.update(kw)
        return real(objective, x0, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(training, "srr_train", spy)
        res = claims.check_C08()
    return res, seen


def test_gradient_of_h_decays_under_the_theorems_hypotheses(run):
    res, _ = run
    d = res.detail
    assert res.holds, dict(d)
    assert res.observed <= res.bound and d["worst_ratio"] <= 0.5
    assert d["left_region"] == 0  # (H1) is applied on X = {|x| <= 4}: every run stayed there
    assert d["hinge_active_fraction"] == 1.0 and d["skipped"] == 0  # h smooth along the runs
    assert d["max_eigen_error_over_bound"] <= 1.0  # Step 5's bound on the library's direction
    assert d["bound_tail_ratio"] <= 0.5 and d["median_h_osc_ratio"] <= 0.5
    assert d["median_grad_norm_T"] < 0.1


def test_the_check_runs_srr_train_with_the_theorems_options(run):
    res, seen = run
    assert seen["batch_size"].draw == "iid"  # (H3): martingale-difference noise
    srr = seen["srr"]
    assert srr.mu == 2.0 and srr.K == 1.0 and not srr.code_faithful
    eig = srr.eig
    assert eig.method == "power" and eig.criteria == "residual" and callable(eig.tol)
    assert eig.tol_at(1000) < eig.tol_at(0) / 50  # tau_k ~ 1/k: sum a_k tau_k < inf (H4)
    assert seen["optimizer"] is not None  # per-step a_k through the library's sgd
    assert res.detail["hvp_per_step"] > 2.0  # the warm-started solves do iterate (frames differ)


def test_negative_control_constant_step_noise_floor():
    res = claims.check_C08(schedule="constant")
    assert not res.holds
    assert res.observed > 0.5  # ‖∇h̃‖² does not decay: stationary noise floor
    assert res.detail["median_h_osc_ratio"] > 0.5  # nor does h̃ settle


def test_negative_control_fixed_eigen_tolerance_is_flagged(run):
    # Σ a_k τ_k = ∞ breaks (H4): the check flags it (the tail of Σ a_k ε_k does not shrink) and
    # the measured eigen error stays ~1e4 times larger; within 256 steps the conclusion itself is
    # not refuted (the warm start keeps the error small): H4 is sufficient, not necessary
    ok, _ = run
    res = claims.check_C08(eig_tol="fixed")
    assert not res.holds
    assert res.detail["bound_tail_ratio"] > 1.0
    assert res.detail["eigen_error_median_T"] > 100 * ok.detail["eigen_error_median_T"]
    assert res.observed <= 0.5


def test_negative_control_code_wrong_dropped_sign_is_caught():
    # the authors' code drops sign(λ*); the dominant eigenvalue is negative here, so the penalty
    # term pushes up ρ and every run leaves X (h̃ is bounded below only through the penalty)
    res = claims.check_C08(code_faithful=True)
    assert not res.holds
    assert res.detail["left_region"] == res.detail["trajectories"]


def test_negative_control_code_wrong_halved_penalty_gradient_is_caught(monkeypatch):
    # planted bug: the third-order term ∇³f[v, v, ·] comes back halved (a slip of a factor 2 in
    # the derivative code), planted where srr_train's SRR step asks for it
    from srtheory import eigengrad

    real = eigengrad.eigenvalue_grad
    calls = []

    def halved(*args, **kw):
        calls.append(1)
        return 0.5 * real(*args, **kw)

    monkeypatch.setattr(eigengrad, "eigenvalue_grad", halved)
    res = claims.check_C08()
    assert calls  # the check reached the planted code through srr_train
    assert not res.holds
    assert res.detail["max_eigen_error_over_bound"] > 10.0  # far outside Step 5's bound
    assert res.observed > 1.0  # and ∇h̃ does not decay


def test_bad_options_are_rejected():
    with pytest.raises(ValueError, match="schedule"):
        claims.check_C08(schedule="inverse_sqrt")
    with pytest.raises(ValueError, match="eig_tol"):
        claims.check_C08(eig_tol="paper")
    with pytest.raises(ValueError, match="code_faithful"):
        claims.check_C08(code_faithful="yes")
    with pytest.raises(ValueError, match="budget"):
        claims.check_C08(budget="forever")
