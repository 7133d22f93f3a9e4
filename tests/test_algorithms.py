"""minimize (GD / SAM / SRR) and srr_train (Algorithm 2) on the zoo, where the answers are known:
escape from the sharp basin above the hand-computed mu_escape and not below; the 1-D trap (large mu
slides to an inflection point); balancing of matrix factorization; the sign of grad rho on the
negative ridge; chattering at a repeated top eigenvalue; determinism; bad input."""

import itertools
import warnings
from dataclasses import replace

import numpy as np
import pytest

from srtheory import objectives as O
from srtheory import oracle
from srtheory.algorithms import (
    ChatteringWarning,
    Checkpoint,
    EpochEnd,
    Monitor,
    NonFiniteLossError,
    PrecondRefresh,
    SRRConfig,
    _sam_direction,
    minimize,
    srr_train,
)
from srtheory.optimizers import adam, inverse_time, sgd
from srtheory.spectral import EigConfig
from srtheory.testing import tolerance

SF2 = O.get("sharp_flat_2d")
SF1 = O.get("sharp_flat_1d")
# minimize's eigen-solve before the options were unified (Lanczos to 1e-10): kept where the tests'
# thresholds were calibrated with it
LANCZOS = EigConfig(method="lanczos", tol=1e-10, max_iter=300)


def _srr(mu, K=0.0, eig=LANCZOS, **kw):
    return SRRConfig(mu=mu, K=K, eig=eig, **kw)


# ----------------------------------------------------------------- sharp -> flat

@pytest.fixture(scope="module")
def escape_runs():
    mu_esc = SF2.extras["mu_escape"]
    runs = {
        "gd": minimize(SF2.f, SF2.x0, method="gd", lr=0.04, max_iter=250),
        "below": minimize(SF2.f, SF2.x0, method="srr", srr=_srr(0.85 * mu_esc), lr=0.04, max_iter=250),
        "far_above": minimize(SF2.f, SF2.x0, method="srr", srr=_srr(3.0 * mu_esc), lr=0.04,
                              max_iter=250, monitor=Monitor(warn=False)),
    }
    with pytest.warns(ChatteringWarning):
        runs["above"] = minimize(SF2.f, SF2.x0, method="srr", srr=_srr(1.15 * mu_esc), lr=0.04,
                                 max_iter=250)
    return runs


def test_srr_above_mu_escape_leaves_the_bottom_and_stalls_at_the_rho_tie(escape_runs):
    """Above mu_escape the bottom of the hole is no longer a stationary point of h, but on the way
    out the negative radial eigenvalue overtakes the tangential one (a +-rho tie at
    ``extras["tie_point"]``): with the exact rho the iterate stalls there and chatters.

    Found when the solvers began restarting invariant starts: before, the warm start stayed on
    the tangential eigenvector along the axis, rho was wrong on 15 of the first 60 steps
    (e.g. 8.005 for a true 9.247) and the run 'escaped' to the flat minimum."""
    r = escape_runs["above"]
    tie = SF2.extras["tie_point"]
    assert r.chattering and r.n_eigvec_flips >= 10
    assert tie - 0.05 < r.x[0] < tie + 0.15 and abs(r.x[1]) < 1e-12  # at the tie, not at the bottom
    tail = r.history.x[-50:, 0]
    assert abs(np.mean(tail) - tie) < 0.1
    # every rho of the run is the dense oracle's (Lanczos to 1e-10)
    dense = np.array([oracle.rho(SF2.f, x) for x in r.history.x[:-1]])
    assert np.max(np.abs(r.history.rho - dense) / dense) < 1e-8
    # the tie: |radial| = tangential at tie_point, and along the axis h has a corner minimum there
    lam = np.linalg.eigvalsh(oracle.hessian(SF2.f, np.array([tie, 0.0])))
    assert lam[0] < 0 < lam[1] and abs(lam[0] + lam[1]) < 1e-8 * lam[1]
    mu = 1.15 * SF2.extras["mu_escape"]

    def h(x1):
        return SF2.f(np.array([x1, 0.0])) + mu * oracle.rho(SF2.f, np.array([x1, 0.0]))

    d = 1e-4
    assert h(tie - d) > h(tie) < h(tie + d)


def test_srr_far_above_mu_escape_crosses_the_tie_and_ends_in_the_flat_minimum(escape_runs):
    # with 3 mu_escape the steps near the rim are long enough to cross the kink of rho
    r = escape_runs["far_above"]
    flat = SF2.minimum("flat")
    assert np.linalg.norm(r.x - flat.x) < 1e-3
    # rho at the end vs the stored flat value (flat rho = b + (a/s^2) e^{-c^2/2s^2}: Hessian is
    # nearly constant b I around 0, so a 1e-3 displacement moves rho by < 1e-6)
    assert r.rho == pytest.approx(flat.rho, rel=1e-6)
    assert r.fun == pytest.approx(flat.f, abs=1e-6)
    assert r.n_eig_nonconverged == 0


def test_gd_stays_in_the_sharp_minimum(escape_runs):
    r = escape_runs["gd"]
    sharp = SF2.minimum("sharp")
    assert r.success and np.linalg.norm(r.x - sharp.x) <= tolerance(factor=100)
    assert r.rho == pytest.approx(sharp.rho, rel=tolerance(factor=1e6))  # Lanczos tol 1e-10


def test_srr_below_mu_escape_stays_although_h_prefers_flat(escape_runs):
    """0.85 mu_escape > mu_prefer: h is lower at the flat minimum, but the hole of h survives."""
    r = escape_runs["below"]
    assert 0.85 * SF2.extras["mu_escape"] > SF2.extras["mu_prefer"]
    sharp, barrier = SF2.minimum("sharp"), SF2.saddles[0]
    assert r.success and r.x[0] > barrier.x[0]       # still in the sharp basin, converged
    assert r.x[0] < sharp.x[0]                        # pushed up the wall towards lower rho
    assert SF2.minimum("flat").rho < r.rho < sharp.rho  # rho lowered, not flat
    assert r.rho == pytest.approx(oracle.rho(SF2.f, r.x), rel=tolerance(factor=1e6))  # Lanczos tol 1e-10


def test_1d_large_mu_slides_to_the_inflection_point():
    """The trap: in 1-D rho = |f''| vanishes between the hole and the barrier, so with mu far above
    mu_prefer SRR does not reach the flat basin; it parks near the inflection point (rho ~ 0)."""
    mu = 2.5 * SF1.extras["mu_prefer"]
    r = minimize(SF1.f, SF1.x0, method="srr", srr=_srr(mu), lr=0.01, max_iter=300)
    infl = SF1.extras["inflection_points"][1]  # the one between the barrier and the hole
    sharp, barrier = SF1.minimum("sharp"), SF1.saddles[0]
    tail_x, tail_rho, tail_f = r.history.x[-50:, 0], r.history.rho[-50:], r.history.f[-50:]
    # it cycles around the kink of |f''| at the inflection point (h has a corner minimum there)
    assert abs(np.mean(tail_x) - infl) < 0.02 and np.ptp(tail_x) < 0.1
    assert np.all(r.history.x[:, 0] > barrier.x[0])   # never crossed into the flat basin
    assert np.median(tail_rho) < 0.2 * sharp.rho       # flat-ish ...
    assert np.mean(tail_f) > sharp.f + 0.2             # ... but a much worse loss
    # a small mu keeps it near the sharp bottom (negative control of the slide)
    r_small = minimize(SF1.f, SF1.x0, method="srr", srr=_srr(0.5 * SF1.extras["mu_prefer"]), lr=0.01,
                       max_iter=300)
    assert abs(r_small.x[0] - sharp.x[0]) < 0.1 and r_small.rho > 0.5 * sharp.rho


# ----------------------------------------------------------------- rho <= K: SRR == base optimizer

@pytest.mark.parametrize("opt", [lambda: sgd(0.03), lambda: sgd(0.02, momentum=0.9), lambda: adam(0.02)])
def test_srr_equals_base_optimizer_step_for_step_when_rho_below_K(opt):
    K = SF2.lipschitz_grad + 1.0  # rho <= L < K everywhere
    a = minimize(SF2.f, [1.2, 0.3], method="gd", optimizer=opt(), max_iter=40, gtol=0.0)
    b = minimize(SF2.f, [1.2, 0.3], method="srr", optimizer=opt(), srr=_srr(10.0, K), max_iter=40, gtol=0.0)
    assert np.array_equal(a.history.x, b.history.x)
    assert b.n_third == 0 and b.n_hvp > 0
    # negative control: with K below rho the trajectories differ
    c = minimize(SF2.f, [1.2, 0.3], method="srr", optimizer=opt(), srr=_srr(0.01), max_iter=40, gtol=0.0)
    assert not np.array_equal(a.history.x, c.history.x)


def test_srr_train_equals_plain_training_when_rho_below_K():
    obj = O.get("mlp_tanh_regression")
    kw = {"optimizer": sgd(inverse_time(0.3)), "epochs": 2, "batch_size": 16}
    a = srr_train(obj, rng=np.random.default_rng(3), srr=SRRConfig(mu=0.0), **kw)
    b = srr_train(obj, rng=np.random.default_rng(3), srr=SRRConfig(mu=0.5, K=1e6), **kw)
    assert np.array_equal(a.x, b.x) and b.n_active == 0 and b.n_third == 0


# ----------------------------------------------------------------- matrix factorization

def test_srr_moves_towards_the_balanced_minimum():
    obj = O.get("matrix_factorization")
    gd = minimize(obj.f, obj.x0, method="gd", lr=0.02, max_iter=200)
    srr = minimize(obj.f, obj.x0, method="srr", srr=_srr(0.05), lr=0.02, max_iter=200)

    def ratio(x):
        return np.linalg.norm(x[:2]) / np.linalg.norm(x[2:])

    start = ratio(np.array(obj.x0))
    assert start == pytest.approx(4.0, rel=0.02)
    assert abs(ratio(gd.x) - start) < 0.05            # GD keeps the imbalance (|u|^2-|v|^2 conserved)
    assert ratio(srr.x) < 0.6 * start                  # SRR balances
    balanced, unbalanced = obj.minimum("balanced"), obj.minimum("unbalanced")
    assert balanced.rho < srr.rho < 0.75 * gd.rho
    assert gd.rho == pytest.approx(unbalanced.rho, rel=0.02)
    # rho along the SRR run decreases overall
    assert srr.history.rho[-1] < 0.75 * srr.history.rho[0]


# ----------------------------------------------------------------- sign of grad rho

def test_correct_sign_lowers_rho_code_faithful_does_not():
    obj = O.get("negative_ridge")
    x0 = np.array([0.2, 0.5])
    kw = {"method": "srr", "lr": 0.01, "max_iter": 5, "gtol": 0.0}
    right = minimize(obj.f, x0, srr=_srr(0.05), **kw)
    code = minimize(obj.f, x0, srr=_srr(0.05, code_faithful=True), **kw)
    gd = minimize(obj.f, x0, method="gd", lr=0.01, max_iter=5, gtol=0.0)
    assert np.all(right.history.eig_converged)
    # on the path the dominant eigenvalue is negative: lambda = 12 x1^2 - 4
    assert np.all(12 * right.history.x[:, 0] ** 2 - 4 < -1)
    assert right.rho < gd.rho < code.rho
    assert np.all(np.diff(right.history.rho) < 0)          # each step lowers rho
    assert np.all(np.diff(code.history.rho) < 0)           # (GD's own descent also lowers it)...
    assert np.all(right.history.rho[1:] < code.history.rho[1:])  # ...but code_faithful fights it
    # the difference is exactly the sign: the regularizer moves x1 in opposite directions
    assert (right.x[0] - gd.x[0]) > 0 > (code.x[0] - gd.x[0])


# ----------------------------------------------------------------- chattering at a repeated eigenvalue

def test_chattering_at_isotropic_bottom_is_reported():
    obj = O.get("isotropic_cubic")
    with pytest.warns(ChatteringWarning, match="flipped"):
        r = minimize(obj.f, obj.x0, method="srr", srr=_srr(0.1), lr=0.1, max_iter=120)
    assert r.chattering and r.n_eigvec_flips > 30 and not r.success
    # it hovers at the cone's tip (rho = 1 + 2k|x|) instead of converging
    assert np.linalg.norm(r.x) < 0.05 and np.all(np.linalg.norm(r.history.x[-20:], axis=1) > 1e-4)
    # GD on f alone converges there (negative control: no flips without the penalty)
    g = minimize(obj.f, obj.x0, method="gd", lr=0.1, max_iter=400, gtol=1e-10)
    assert g.success and not g.chattering and g.n_eigvec_flips == 0


def test_no_chattering_on_a_simple_top_eigenvalue():
    r = minimize(SF2.f, SF2.x0, method="srr", srr=_srr(0.02), lr=0.04, max_iter=100)
    assert not r.chattering and r.n_eigvec_flips == 0  # (filterwarnings=error: no warning either)


def test_chattering_warning_can_be_silenced_but_is_still_counted():
    obj = O.get("isotropic_cubic")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = minimize(obj.f, obj.x0, method="srr", srr=_srr(0.1), lr=0.1, max_iter=60,
                     monitor=Monitor(warn=False))
    assert r.chattering


# ----------------------------------------------------------------- minimize basics

def test_gd_and_sam_counts_and_final_rho():
    obj = O.get("rosenbrock")
    g = minimize(obj.f, obj.x0, method="gd", lr=1e-3, max_iter=30)
    s = minimize(obj.f, obj.x0, method="sam", lr=1e-3, max_iter=30, sam_radius=0.01)
    assert g.nit == s.nit == 30 and g.n_grad == 31 and s.n_grad == 61 and g.n_hvp == 0
    assert g.rho == pytest.approx(oracle.rho(obj.f, g.x), rel=tolerance(factor=1e6))  # Lanczos tol 1e-10
    assert g.fun == float(obj.f(g.x)) and g.history.f.shape == (31,) and g.history.rho is None


def test_sam_step_is_gradient_at_the_perturbed_point():
    from autograd import grad, value_and_grad

    f = O.get("rosenbrock").f
    x = np.array([-0.5, 0.7])
    r = minimize(f, x, method="sam", lr=1e-3, max_iter=1, sam_radius=0.05, gtol=0.0)
    g = grad(f)(x)
    expected = x - 1e-3 * grad(f)(x + 0.05 * g / np.linalg.norm(g))
    np.testing.assert_allclose(r.x, expected, rtol=tolerance(factor=10))
    # at a stationary point SAM does not move (g = 0: no ascent direction)
    xs = np.array([1.0, 1.0])
    assert np.array_equal(_sam_direction(value_and_grad(f), xs, grad(f)(xs), 0.05), np.zeros(2))


def test_minimize_converges_and_reports_success():
    obj = O.get("saddle_quartic")
    r = minimize(obj.f, [0.7, 0.8], method="gd", lr=0.2, max_iter=500, gtol=1e-9)
    assert r.success and np.linalg.norm(r.x - np.array([1.0, 1.0])) < 1e-8 and r.rho == pytest.approx(3.0)


def test_srr_with_power_iteration_and_alg1b_update():
    """EigConfig(method='power') (Alg. 1) and the Alg. 1b update with an identity preconditioner."""
    kw = {"method": "srr", "lr": 0.04, "max_iter": 50}
    a = minimize(SF2.f, SF2.x0, srr=_srr(0.02, eig=EigConfig(tol=1e-8, max_iter=300)), **kw)
    b = minimize(SF2.f, SF2.x0, srr=_srr(0.02, eig=EigConfig(tol=1e-8, max_iter=500,
                                                           alpha=lambda i: 0.05, precond=lambda r: r)), **kw)
    c = minimize(SF2.f, SF2.x0, srr=_srr(0.02), **kw)
    assert np.linalg.norm(a.x - c.x) < 1e-5 and np.linalg.norm(b.x - c.x) < 1e-5
    with pytest.raises(ValueError, match="1b options"):
        EigConfig(method="lanczos", precond=lambda r: r)


def test_one_default_for_every_entry_point():
    """minimize, srr_train and the torch optimizer share SRRConfig(): the paper's eigen-solve."""
    import inspect

    defaults = [inspect.signature(fn).parameters["srr"].default for fn in (minimize, srr_train)]
    assert defaults == [SRRConfig(), SRRConfig()]
    assert SRRConfig().eig == EigConfig(method="power", tol=1e-3, max_iter=100, criteria="paper")


@pytest.mark.parametrize("kwargs,match", [
    ({"method": "srr", "srr": SRRConfig(mu=lambda k: -1.0)}, r"mu\(0\)"),
    ({"method": "newton"}, "method"), ({"method": "srr", "srr": {"mu": 0.1}}, "SRRConfig"),
    ({"monitor": None}, "Monitor"),
    ({"method": "sam", "sam_radius": 0.0}, "sam_radius"), ({"max_iter": -1}, "max_iter"),
])
def test_minimize_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        minimize(SF2.f, SF2.x0, **kwargs)


@pytest.mark.parametrize("make,match", [
    (lambda: SRRConfig(mu=-1.0), "SRRConfig.mu"), (lambda: SRRConfig(K=-1.0), "SRRConfig.K"),
    (lambda: SRRConfig(eig="power"), "SRRConfig.eig"), (lambda: EigConfig(method="qr"), "method"),
    (lambda: SRRConfig(derivative="exakt"), "SRRConfig.derivative"),
    (lambda: SRRConfig(eps=0.0), "SRRConfig.eps"), (lambda: SRRConfig(code_faithful=1), "code_faithful"),
    (lambda: Monitor(chatter_cos=1.5), "chatter_cos"), (lambda: Monitor(chatter_min=0), "chatter_min"),
    (lambda: EpochEnd(val_mode="best"), "val_mode"), (lambda: EpochEnd(rho_report="test"), "rho_report"),
    (lambda: EpochEnd(cv_eps=1e-3, cv_window=1), "cv_window"),
    (lambda: EpochEnd(validation=3.0), "validation"),
    (lambda: PrecondRefresh(lambda x, b: None, every=0), "every"),
])
def test_config_objects_reject_bad_options(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_minimize_nan_mid_run_keeps_last_good_state():
    def f(x):
        return (x[0] - 3.0) ** 2 + (np.nan if x[0] > 1.0 else 0.0)

    x0 = np.array([0.0])
    with pytest.raises(NonFiniteLossError, match="not finite") as info:
        minimize(f, x0, method="gd", lr=0.1, max_iter=100)
    good = info.value.last_good
    assert isinstance(info.value, ValueError) and isinstance(good, Checkpoint)
    assert np.isfinite(f(good.x)) and good.x[0] <= 1.0      # the last iterate with a finite loss
    # resuming from it reproduces the bad step (the state is intact, not a later one)
    nxt, _ = sgd(0.1).update(2 * (good.x - 3.0), good.opt_state, good.x, good.step)
    assert nxt[0] > 1.0
    assert x0[0] == 0.0                                      # the caller's array untouched


# ----------------------------------------------------------------- Algorithm 2

MLP = O.get("mlp_tanh_regression")


def _train(seed=0, **kw):
    opts = {"srr": SRRConfig(mu=0.01), "optimizer": sgd(inverse_time(0.5)), "epochs": 3, "batch_size": 16}
    opts.update(kw)
    return srr_train(MLP, rng=np.random.default_rng(seed), **opts)


def test_srr_train_is_reproducible_bit_for_bit():
    a, b = _train(seed=11), _train(seed=11)
    assert np.array_equal(a.x, b.x)
    for fa, fb in zip(a.history, b.history):
        assert fa is None or np.array_equal(fa, fb)
    assert a.n_hvp == b.n_hvp and a.flip_steps == b.flip_steps
    c = _train(seed=12)  # negative control: another seed, other batches, other weights
    assert not np.array_equal(a.x, c.x)


def test_srr_train_lowers_rho_and_reports_counts():
    plain = _train(srr=SRRConfig(mu=0.0), epochs=4)
    reg = _train(srr=SRRConfig(mu=0.05), epochs=4)
    assert reg.n_active == reg.n_batches == 16 and reg.n_skipped == 0 and reg.n_third == 16
    assert plain.n_third == 0 and plain.n_active == 0
    assert reg.history.rho[-1] < plain.history.rho[-1]
    assert np.all(np.isfinite(reg.history.h)) and reg.history.h.shape == (4,)
    np.testing.assert_allclose(reg.history.h, reg.history.f + 0.05 * reg.history.rho, rtol=1e-15)


def test_non_converging_eigen_solve_skips_the_regularizer_every_batch():
    skip = _train(srr=SRRConfig(mu=0.05, eig=EigConfig(max_iter=1, tol=1e-300)))
    plain = _train(srr=SRRConfig(mu=0.0))
    assert skip.n_skipped == skip.n_eig_nonconverged == skip.n_batches == 12
    assert skip.n_active == 0 and np.array_equal(skip.x, plain.x)  # run state intact = base optimizer
    assert list(skip.history.n_skipped) == [4, 4, 4]
    assert not np.any(skip.history.rho_converged)


def test_minimize_counts_skips_too():
    kw = {"lr": 0.04, "max_iter": 10, "gtol": 0.0}
    r = minimize(SF2.f, [1.2, 0.3], method="srr", srr=_srr(0.1, eig=EigConfig(max_iter=1, tol=1e-300)),
                 **kw)
    assert r.n_eig_nonconverged == 10 and r.n_third == 0 and not np.any(r.history.eig_converged)
    assert np.array_equal(r.x, minimize(SF2.f, [1.2, 0.3], method="gd", **kw).x)


def test_srr_train_nan_mid_run():
    calls = {"n": 0}

    class Poisoned:
        n_samples, x0 = MLP.n_samples, MLP.x0
        batches = MLP.batches

        @staticmethod
        def loss(x, batch):
            calls["n"] += 1
            return MLP.loss(x, batch) + (np.nan if calls["n"] > 30 else 0.0)

    with pytest.raises(NonFiniteLossError, match="epoch") as info:
        srr_train(Poisoned(), rng=np.random.default_rng(0), srr=SRRConfig(mu=0.0), optimizer=sgd(0.1),
                  epochs=5, batch_size=16)
    good = info.value.last_good
    assert np.all(np.isfinite(good.x)) and good.epoch >= 1 and good.opt_state.count == good.step
    assert np.isfinite(MLP.loss(good.x, np.arange(MLP.n_samples)))


@pytest.mark.parametrize("kwargs,match", [
    ({"srr": SRRConfig(mu=lambda k: 0.1 if k < 1 else -1.0)}, r"mu\(1\)"),
    ({"epochs": 0}, "epochs"), ({"epoch_end": {"val_mode": "max"}}, "EpochEnd"),
    ({"srr": SRRConfig(eig=EigConfig(method="lanczos")), "precond_refresh": PrecondRefresh(lambda x, b: None)},
     "precond_refresh"),
])
def test_srr_train_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _train(**kwargs)


def test_srr_train_needs_a_generator_and_a_minibatch_objective():
    with pytest.raises(ValueError, match="Generator"):
        srr_train(MLP, rng=0)
    with pytest.raises(ValueError, match="loss"):
        srr_train(O.get("rosenbrock"), rng=np.random.default_rng(0))


def test_best_validation_selection_and_cv_stopping():
    scores = iter([3.0, 1.0, 2.0, 5.0])
    r = _train(epochs=4, epoch_end=EpochEnd(validation=lambda x: next(scores)))
    assert r.best_epoch == 1 and list(r.history.val) == [3.0, 1.0, 2.0, 5.0]
    assert not np.array_equal(r.x_best, r.x)
    scores = iter([3.0, 1.0, 2.0, 5.0])
    r = _train(epochs=4, epoch_end=EpochEnd(validation=lambda x: next(scores), val_mode="max"))
    assert r.best_epoch == 3 and np.array_equal(r.x_best, r.x)
    # coefficient-of-variation rule: a huge eps stops at min_epochs; None never stops early
    stop = _train(epochs=6, epoch_end=EpochEnd(cv_eps=1e3, cv_window=2, min_epochs=2))
    assert stop.stopped_by == "cv" and stop.epochs_run == 2
    full = _train(epochs=3)
    assert full.stopped_by == "epochs" and full.epochs_run == 3


def test_learning_rate_schedule_reads_the_epoch():
    seen = []
    base = sgd(inverse_time(0.1))

    def update(p, s, x, step):
        seen.append(step)
        return base.update(p, s, x, step)

    from srtheory.optimizers import Optimizer

    _train(optimizer=Optimizer(base.init, update), epochs=3)
    assert seen == [0] * 4 + [1] * 4 + [2] * 4


def test_precond_factory_is_rebuilt_every_precond_every_batches():
    built = []

    def factory(x, batch):
        built.append(len(batch))
        return lambda r: r

    r = _train(srr=SRRConfig(mu=0.01, eig=EigConfig(alpha=lambda i: 0.5, max_iter=200)),
               precond_refresh=PrecondRefresh(factory, every=4), epochs=2)
    assert len(built) == 2 and r.n_batches == 8


def test_adam_base_optimizer_and_classification():
    obj = O.get("mlp_sigmoid_classification")
    r = srr_train(obj, rng=np.random.default_rng(0), srr=SRRConfig(mu=0.01), optimizer=adam(0.05),
                  epochs=3, batch_size=32, epoch_end=EpochEnd(validation=obj.accuracy, val_mode="max"))
    assert r.history.f[-1] < r.history.f[0] and 0 <= r.history.val.max() <= 1


def test_theorem_c_empirical_h_settles_and_grad_h_vanishes():
    """SRR_NOTES §7 Theorem C / §11.3, empirically: Robbins-Monro steps a0/(1+k) with zero-mean
    minibatch noise (a linear term whose sample mean is exactly 0, so f and H are the noiseless
    ones): h(x_k) settles and ||grad h(x_k)|| -> 0 (here: drops 10x from epoch 1 to epoch 10)."""
    import autograd.numpy as anp

    from srtheory.curvature import hvp_operator
    from srtheory.regularizer import regularized_grad
    from srtheory.spectral import spectral_radius

    xi = np.random.default_rng(1).standard_normal((64, 2))
    xi -= xi.mean(axis=0)

    class Noisy:
        n_samples, x0 = 64, np.array([1.3, 0.1])
        batches = O.StochasticObjective.batches

        @staticmethod
        def loss(x, batch):
            return SF2.f(x) + anp.dot(anp.mean(xi[batch], axis=0), x)

    def grad_h_norm(x):
        eig = spectral_radius(hvp_operator(SF2.f, x), np.full(2, 2**-0.5), tol=1e-12)
        return np.linalg.norm(regularized_grad(SF2.f, x, mu=0.02, K=0.0, eig=eig))

    kw = {"srr": SRRConfig(mu=0.02, eig=EigConfig(method="lanczos", tol=1e-10)),
          "optimizer": sgd(inverse_time(0.04)), "batch_size": 8}
    one = srr_train(Noisy(), rng=np.random.default_rng(0), epochs=1, **kw)
    ten = srr_train(Noisy(), rng=np.random.default_rng(0), epochs=10,
                    epoch_end=EpochEnd(cv_eps=1e-4, cv_window=3, min_epochs=10), **kw)
    assert grad_h_norm(ten.x) < 0.1 * grad_h_norm(one.x)
    assert np.std(ten.history.h[-3:]) / abs(np.mean(ten.history.h[-3:])) < 1e-3  # h settles
    assert ten.stopped_by == "cv"                                                 # and the CV rule sees it
    # negative control: a constant step does not make the noise average out as well
    const = srr_train(Noisy(), rng=np.random.default_rng(0), epochs=10,
                      **{**kw, "optimizer": sgd(0.04 * 8)})
    assert grad_h_norm(const.x) > grad_h_norm(ten.x)


def test_srr_train_with_kfac_preconditioned_alg1b_end_to_end():
    """Algorithm 2 with Alg. 1b's K-FAC preconditioner rebuilt from the current batch every 4
    batches (the forest run's ``kfac_batch``), on the zoo's tanh MLP: the preconditioned solves
    converge (nothing skipped), the penalty is active, and the run ends where the plain
    power-iteration run ends (both solve the same eigenproblems, to different accuracy)."""
    from srtheory.kfac import kfac_factors, kfac_preconditioner
    from srtheory.mlp import mlp_spec

    obj = O.get("mlp_tanh_regression")
    spec = mlp_spec((2, 3, 1), activation="tanh", loss="squared")  # the zoo net, same flat layout
    X, y = obj.extras["X"], obj.extras["y"]
    built = []

    def factory(x, batch):
        built.append(len(batch))
        return kfac_preconditioner(kfac_factors(spec, x, X[batch], y[batch][:, None]), damping=1.0)

    common = dict(epochs=3, batch_size=16, optimizer=sgd(inverse_time(0.2)))
    eig = EigConfig(method="power", tol=1e-8, max_iter=2000)
    # alpha a number: no step rejection.  A *callable* constant alpha stalls here, because the
    # authors' rejection rule (||r|| grew -> restore v, try alpha(i+1)) meets a non-monotone
    # residual and a schedule that never shrinks.
    kf = srr_train(obj, rng=np.random.default_rng(3),
                   srr=SRRConfig(mu=0.05, eig=replace(eig, alpha=0.3)),
                   precond_refresh=PrecondRefresh(factory, every=4), **common)
    plain = srr_train(obj, rng=np.random.default_rng(3), srr=SRRConfig(mu=0.05, eig=eig), **common)
    assert built and kf.n_skipped == 0 and kf.n_eig_nonconverged == 0 and kf.n_active == kf.n_batches
    assert np.linalg.norm(kf.x - plain.x) <= 1e-4 * np.linalg.norm(plain.x)
    # negative control: alpha = 3 breaks the step-size condition; the paper's relative-change
    # tests then fire on a wrong pair (residual ~1.5 at the start), and the run leaves the plain one
    bad = srr_train(obj, rng=np.random.default_rng(3), srr=SRRConfig(mu=0.05, eig=replace(eig, alpha=3.0)),
                    precond_refresh=PrecondRefresh(factory, every=4), monitor=Monitor(warn=False),
                    **common)  # its wrong pairs also flip: chattering
    assert np.linalg.norm(bad.x - plain.x) > 1e-4 * np.linalg.norm(plain.x)


def test_rho_report_mean_is_the_batch_size_weighted_mean_over_the_epoch():
    """rho_report="mean" (the authors' rho_test option): rho = sum_B |B| rho_B(x) / N at the end of
    the epoch, checked against the oracle on batches of unequal size (24, 24, 16 of N = 64)."""
    kw = {"epochs": 1, "batch_size": 24,
          "srr": SRRConfig(mu=0.01, eig=EigConfig(method="lanczos", tol=1e-10, max_iter=13))}
    mean = _train(seed=5, epoch_end=EpochEnd(rho_report="mean"), **kw)
    one = _train(seed=5, **kw)
    # the report setting does not touch training: same weights, same batches, bit for bit
    assert np.array_equal(mean.x, one.x) and np.array_equal(mean.history.f, one.history.f)
    rng = np.random.default_rng(5)
    batches = list(MLP.batches(rng, 24))
    r_b = int(rng.integers(len(batches)))
    rhos = np.array([oracle.rho(lambda z, b=b: MLP.loss(z, b), mean.x) for b in batches])
    sizes = np.array([len(b) for b in batches])
    assert list(sizes) == [24, 24, 16]
    weighted = float(sizes @ rhos) / MLP.n_samples
    tol = 1e-8 * weighted
    assert abs(mean.history.rho[0] - weighted) <= tol and bool(mean.history.rho_converged[0])
    assert abs(one.history.rho[0] - rhos[r_b]) <= 1e-8 * rhos[r_b]  # the default: batch r_b only
    # negative controls: the plain mean over batches and the report batch alone differ by far more
    assert abs(float(np.mean(rhos)) - weighted) > 100 * tol
    assert abs(rhos[r_b] - weighted) > 100 * tol
    assert mean.n_hvp > one.n_hvp  # one solve per batch instead of one


def test_rho_report_rejects_unknown_setting():
    with pytest.raises(ValueError, match="rho_report"):
        EpochEnd(rho_report="test")


# ----------------------------------------------------------------- behaviours pinned against mutants

def _recording_sgd(lr, seen):
    """sgd(lr) that records (x, p) at every step."""
    from srtheory.optimizers import Optimizer

    base = sgd(lr)

    def update(p, s, x, step):
        seen.append((x.copy(), np.array(p, copy=True)))
        return base.update(p, s, x, step)

    return Optimizer(base.init, update)


def test_srr_train_uses_the_minibatch_curvature():
    """Algorithm 2 step 2.2: the eigen-solve and grad rho are those of H_B, the minibatch's Hessian,
    not the full data's: every step's direction is grad f_B + mu sign(lambda_B) grad^3 f_B[v_B, v_B, .]
    with (lambda_B, v_B) the dense oracle's top eigenpair of H_B(x)."""
    import autograd.numpy as anp
    from autograd import grad

    mu, seen, seed = 0.05, [], 7
    srr_train(MLP, rng=np.random.default_rng(seed), optimizer=_recording_sgd(0.2, seen),
              srr=SRRConfig(mu=mu, eig=EigConfig(method="lanczos", tol=1e-10, max_iter=13)),
              epochs=1, batch_size=16)
    batches = list(MLP.batches(np.random.default_rng(seed), 16))
    assert len(seen) == len(batches) == 4

    def direction(f, x):
        lam, vec = np.linalg.eigh(oracle.hessian(f, x))
        k = int(np.argmax(np.abs(lam)))
        v = vec[:, k]  # grad^3 f[v, v, .] = grad of z -> v . H(z) v, by nested autodiff
        third = grad(lambda z: anp.dot(v, grad(lambda y: anp.dot(grad(f)(y), v))(z)))(x)
        return grad(f)(x) + mu * np.sign(lam[k]) * third

    full_idx = np.arange(MLP.n_samples)
    for (x, p), b in zip(seen, batches):
        fb = lambda z, b=b: MLP.loss(z, b)
        expected = direction(fb, x)
        tol = 1e-6 * np.linalg.norm(expected)
        assert np.linalg.norm(p - expected) <= tol
        # negative control: the full data's curvature gives a direction far from this one
        g_b = grad(fb)(x)
        full = direction(lambda z: MLP.loss(z, full_idx), x) - grad(lambda z: MLP.loss(z, full_idx))(x) + g_b
        assert np.linalg.norm(full - expected) > 100 * tol


@pytest.mark.parametrize("K_of_rho", [0.5, 1e3])
def test_epoch_h_is_f_plus_mu_times_the_hinge_at_K(K_of_rho):
    """EpochHistory.h = f + mu max(0, rho - K): K inside the range of rho (the hinge is active and
    shifted) and far above it (h = f)."""
    mu = 0.05
    rho0 = _train(srr=SRRConfig(mu=mu), epochs=2).history.rho
    K = K_of_rho * float(np.min(rho0))
    r = _train(srr=SRRConfig(mu=mu, K=K), epochs=2)
    hist = r.history
    np.testing.assert_allclose(hist.h, hist.f + mu * np.maximum(0.0, hist.rho - K), rtol=1e-15)
    if K_of_rho > 1:
        assert np.array_equal(hist.h, hist.f) and r.n_active == 0
    else:
        assert np.all(hist.rho > K) and r.n_active > 0
        # negative control: without K (or without the hinge) h would differ by mu K
        assert np.all(np.abs(hist.f + mu * hist.rho - hist.h) > 0.9 * mu * K)


def test_epoch_loss_weights_batches_by_their_size():
    """EpochHistory.f = sum_B |B| f_B(x) / N over the epoch's batches, which is the full training
    loss at the epoch's end weights; the batches here are uneven (24, 24, 16 of N = 64)."""
    seed = 3
    r = _train(seed=seed, epochs=1, batch_size=24)
    batches = list(MLP.batches(np.random.default_rng(seed), 24))
    assert [len(b) for b in batches] == [24, 24, 16]
    full = float(MLP.loss(r.x, np.arange(MLP.n_samples)))
    assert abs(r.history.f[0] - full) <= 1e-13 * full
    # negative control: the unweighted mean of the batch losses is far from it
    unweighted = float(np.mean([MLP.loss(r.x, b) for b in batches]))
    assert abs(unweighted - full) > 1e-6 * full


def _recorded_solves(monkeypatch):
    """Every eig_solve of a run (training steps, then the epoch's report solve): (start, result)."""
    from srtheory import spectral

    calls, real = [], spectral.eig_solve

    def eig_solve(op, v, config):
        res = real(op, v, config)
        calls.append((np.array(v, copy=True), res))
        return res

    monkeypatch.setattr(spectral, "eig_solve", eig_solve)
    return calls


@pytest.mark.parametrize("reset", [True, False])
def test_warm_start_reset_after_a_failed_solve_and_kept_after_a_converged_one(monkeypatch, reset):
    """Algorithm 1 step 4 (SRRConfig.reset_on_failure): after a solve that did not converge the
    next solve starts from v0; with reset_on_failure=False, and after every converged solve, from
    the vector the solve returned."""
    from srtheory.spectral import generic_start

    v0 = generic_start(MLP.x0.size)
    fail = EigConfig(max_iter=2, tol=1e-300)  # never converges; returns A v0 / ||A v0|| != v0
    calls = _recorded_solves(monkeypatch)
    r = _train(srr=SRRConfig(mu=0.05, eig=fail, reset_on_failure=reset), epochs=1)
    assert len(calls) == 5 and not any(res.converged for _, res in calls)
    assert r.n_skipped == 4
    for (_, res), (nxt, _) in itertools.pairwise(calls):
        if reset:
            assert np.array_equal(nxt, v0)
        else:
            assert np.array_equal(nxt, res.eigvec) and abs(float(nxt @ v0)) < 1 - 1e-3
    assert np.array_equal(calls[0][0], v0)
    # converged solves: each warm start is the previous solve's eigenvector, never v0 again
    calls.clear()
    _train(srr=SRRConfig(mu=0.05, reset_on_failure=reset), epochs=1)
    assert len(calls) == 5 and all(res.converged for _, res in calls)
    for (_, res), (nxt, _) in itertools.pairwise(calls):
        assert np.array_equal(nxt, res.eigvec) and not np.array_equal(nxt, v0)


# ------------------------------------------- options of the convergence theorems (C08, C09)

def test_eigen_tolerance_schedule_is_used_step_by_step(monkeypatch):
    from srtheory import spectral

    tols, real = [], spectral.eig_solve

    def eig_solve(op, v, config):
        tols.append(config.tol)
        return real(op, v, config)

    monkeypatch.setattr(spectral, "eig_solve", eig_solve)
    r = _train(srr=SRRConfig(mu=0.01, eig=EigConfig(tol=lambda k: 1e-3 / (k + 1))), epochs=2)
    # 4 training solves per epoch, then the report solve with the next step's tau
    assert tols == [1e-3 / (k + 1) for k in (0, 1, 2, 3, 4, 4, 5, 6, 7, 8)]
    assert r.n_batches == 8
    # a constant schedule is the plain tolerance, bit for bit
    a = _train(srr=SRRConfig(mu=0.01, eig=EigConfig(tol=lambda k: 1e-3)))
    b = _train(srr=SRRConfig(mu=0.01, eig=EigConfig(tol=1e-3)))
    assert np.array_equal(a.x, b.x) and a.n_hvp == b.n_hvp


@pytest.mark.parametrize("bad", [0.0, float("nan"), -1.0, float("inf")])
def test_eigen_tolerance_schedule_is_checked_at_the_step_it_fails(bad):
    # negative control: the schedule turns bad at step 5 (the second epoch's second batch)
    eig = EigConfig(tol=lambda k: 1e-3 if k < 5 else bad)
    with pytest.raises(ValueError, match=r"EigConfig\.tol\(5\).*step 5"):
        _train(srr=SRRConfig(mu=0.01, eig=eig), epochs=2)


def test_eig_solve_needs_a_resolved_tolerance():
    sched = EigConfig(tol=lambda k: 1e-6 * 2.0**-k)
    from srtheory.spectral import eig_solve

    with pytest.raises(ValueError, match="schedule"):
        eig_solve(np.diag([1.0, -3.0]), np.ones(2), sched)
    assert sched.at(3).tol == 1e-6 / 8 and sched.tol_at(3) == 1e-6 / 8
    plain = EigConfig(tol=1e-4)
    assert plain.at(7) is plain and plain.tol_at(7) == 1e-4
    res = eig_solve(np.diag([1.0, -3.0]), np.ones(2), sched.at(0))
    assert res.converged and abs(res.eigval + 3.0) < 1e-5


def _recorded_batches(monkeypatch):
    from srtheory import regularizer, training

    seen, real = [], regularizer.batch_function

    def batch_function(loss, batch):
        seen.append(np.array(batch, copy=True))
        return real(loss, batch)

    monkeypatch.setattr(training, "batch_function", batch_function)
    return seen


def test_iid_sampling_draws_with_replacement_reproducibly(monkeypatch):
    from srtheory.training import Sampling

    seen = _recorded_batches(monkeypatch)
    N = MLP.n_samples
    a = _train(srr=SRRConfig(mu=0.0), batch_size=Sampling(N, draw="iid"), epochs=6, seed=5)
    batches = seen[::2]  # each epoch: the training step's batch, then the report solve's (the same)
    assert len(seen) == 12 and all(np.array_equal(x, y) for x, y in zip(seen[::2], seen[1::2]))
    assert a.n_batches == 6  # ceil(N / N) = 1 step per epoch
    # a batch of N uniform draws with replacement holds about N (1 - 1/e) distinct samples;
    # a reshuffled epoch (a permutation) holds all N
    distinct = np.array([len(np.unique(b)) for b in batches]) / N
    assert np.all(distinct < 0.8) and abs(distinct.mean() - (1 - np.exp(-1))) < 0.08
    assert all(b.min() >= 0 and b.max() < N for b in batches)
    seen.clear()
    _train(srr=SRRConfig(mu=0.0), batch_size=N, epochs=1)
    assert len(np.unique(seen[0])) == N  # control: reshuffling never repeats a sample
    b = _train(srr=SRRConfig(mu=0.0), batch_size=Sampling(N, draw="iid"), epochs=6, seed=5)
    assert np.array_equal(a.x, b.x)  # reproducible from rng


def test_iid_sampling_steps_per_epoch_and_default_is_reshuffling():
    from srtheory.training import Sampling

    r = _train(batch_size=Sampling(16, draw="iid", per_epoch=3), epochs=2)
    assert r.n_batches == 6 and r.history.f.shape == (2,)
    # the default and an explicit Sampling(b) are the old reshuffling, bit for bit
    a, b = _train(seed=4), _train(seed=4, batch_size=Sampling(16))
    assert np.array_equal(a.x, b.x) and np.array_equal(a.history.h, b.history.h)


@pytest.mark.parametrize(("make", "match"), [
    (lambda S: S(0), "Sampling.size"),
    (lambda S: S(4, draw="with_replacement"), "Sampling.draw"),
    (lambda S: S(4, per_epoch=2), "Sampling.per_epoch"),
    (lambda S: S(4, draw="iid", per_epoch=0), "Sampling.per_epoch"),
])
def test_sampling_rejects_bad_options(make, match):
    from srtheory.training import Sampling

    with pytest.raises(ValueError, match=match):
        make(Sampling)
