"""Claim C09 (proofs/C09_nonsmooth_convergence.md): the stochastic subgradient iteration of SRR on
h = f + μE_B(ρ(H_B) − K)₊ converges to a Clarke-critical point where the hinge is at its kink and
the negative dominant eigenvalue is double; controls break Σa² < ∞ and the code's sign."""

import pytest

from srtheory import claims


@pytest.fixture(scope="module")
def result():
    return claims.check_C09()


def test_converges_to_the_clarke_critical_point(result):
    assert result.holds, dict(result.detail)
    assert result.observed <= result.bound
    d = result.detail
    assert d["median_terminal_distance"] <= 0.02
    assert d["hinge_active_fraction"] > 0.5  # the penalty acts on the way in
    assert d["near_kink_fraction"] > 0.5  # ... and the iterates live at the kink rho = K
    assert d["skipped_fraction"] == 0.0  # every solve certified: no O(1) bias from skips


def test_negative_control_constant_step_has_a_floor():
    res = claims.check_C09(schedule="constant")
    assert not res.holds
    assert res.observed > 0.5


def test_negative_control_code_wrong_dropped_sign_is_caught():
    # the authors' code drops sign(lambda*): the dominant eigenvalue is negative here, so the
    # penalty direction is reversed and the iterates are pushed away from the critical point
    res = claims.check_C09(code_faithful=True)
    assert not res.holds
    assert res.detail["median_terminal_distance"] > 0.5


def test_bad_options_are_rejected():
    with pytest.raises(ValueError, match="schedule"):
        claims.check_C09(schedule="cosine")
    with pytest.raises(ValueError, match="code_faithful"):
        claims.check_C09(code_faithful="yes")


def test_negative_control_code_wrong_one_ended_solver_is_caught(monkeypatch):
    # planted bug: rho taken from the largest Ritz value only; the dominant eigenvalue is negative,
    # so the solver reports rho < K, the penalty never acts and the iterates settle elsewhere
    # (planted where srr_train's eig_solve dispatches EigConfig(method="spectral_radius"))
    from srtheory import spectral
    from srtheory.spectral import config

    calls = []

    def one_ended(matvec, v0, /, *, method="lanczos", tol=1e-8, max_iter=None, **kw):
        calls.append(tol)
        return spectral.lanczos(matvec, v0, tol=tol, max_iter=max_iter or 300, which="LA")

    monkeypatch.setattr(config, "spectral_radius", one_ended)
    res = claims.check_C09()
    assert calls  # the check reached the planted solver through srr_train
    assert not res.holds


def test_the_check_runs_srr_train_with_the_theorems_options(monkeypatch):
    # the check is srr_train with i.i.d. batches, two-ended Lanczos and a vanishing tolerance
    # schedule tau_k (assumptions (I), (E)); a planted srr_train that ignores the regularizer fails
    from srtheory import training

    seen = {}
    real = training.srr_train

    def spy(objective, x0=None, /, **kw):
        seen.update(kw)
        return real(objective, x0, **kw)

    monkeypatch.setattr(training, "srr_train", spy)
    res = claims.check_C09()
    assert res.holds
    assert seen["batch_size"].draw == "iid"
    eig = seen["srr"].eig
    assert eig.method == "spectral_radius" and callable(eig.tol)
    assert eig.tol_at(1000) < eig.tol_at(0) and eig.tol_at(10**6) < 1e-10
