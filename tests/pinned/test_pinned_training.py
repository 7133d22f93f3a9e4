"""Contracts of srtheory.training.srr_train that the other tests left open (found by mutation
testing, MUTATION.md): the default number of epochs, the names in its input errors, how the
model's size is found, and the end-of-epoch rho (its options and its matvec count)."""

from __future__ import annotations

from pathlib import Path

import autograd.numpy as anp
import numpy as np
import pytest

import srtheory
from srtheory.curvature import hvp_operator
from srtheory.optimizers import sgd
from srtheory.spectral import EigConfig, eig_solve, generic_start
from srtheory.srr_step import SRRConfig
from srtheory.training import EpochEnd, srr_train

_rng = np.random.default_rng(7)
A = _rng.standard_normal((8, 3))
Y = _rng.standard_normal(8)


class Tiny:
    """``mean_i (tanh(a_i . x) - y_i)^2 / 2`` over 8 samples, 3 weights; ``dim`` and ``x0``
    optional (the two ways srr_train learns the model's size)."""

    n_samples = 8

    def __init__(self, *, dim=None, x0=None):
        if dim is not None:
            self.dim = dim
        if x0 is not None:
            self.x0 = np.asarray(x0, dtype=float)

    @staticmethod
    def loss(x, batch):
        r = anp.tanh(anp.dot(A[batch], x)) - Y[batch]
        return 0.5 * anp.mean(r**2)

    def batches(self, rng, batch_size):
        perm = rng.permutation(self.n_samples)
        for start in range(0, self.n_samples, batch_size):
            yield perm[start:start + batch_size]


X0 = np.array([0.3, -0.2, 0.1])
_UNDER_MUTMUT = "mutants" in Path(srtheory.__file__).parts
PLAIN = {"srr": SRRConfig(mu=0.0), "optimizer": sgd(0.1)}


def test_default_is_ten_epochs():
    r = srr_train(Tiny(x0=X0), rng=np.random.default_rng(0), batch_size=8, **PLAIN)
    assert r.epochs_run == 10 and r.n_batches == 10 and len(r.history.f) == 10
    assert r.n_grad == 10  # one gradient per batch (mu = 0: nothing else)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"monitor": "quiet"}, r"^monitor must be a Monitor, got str$"),
        ({"epoch_end": None}, r"^epoch_end must be an? EpochEnd, got NoneType$"),
        ({"epochs": 0}, r"^epochs must be >= 1, got 0$"),
        ({"batch_size": 0}, r"^batch_size must be >= 1, got 0$"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        srr_train(Tiny(x0=X0), rng=np.random.default_rng(0), **{"batch_size": 8, **PLAIN, **kwargs})
    with pytest.raises(ValueError, match=r"^x0 must be a 1-D vector"):
        srr_train(Tiny(x0=X0), X0[None, :], rng=np.random.default_rng(0), batch_size=8, **PLAIN)


@pytest.mark.parametrize(
    ("objective", "source"),
    [
        (Tiny(dim=3), "objective.dim"),           # no x0 on the objective: its dim says
        (Tiny(x0=X0), "objective.x0"),            # no dim: the length of its x0 says
        (Tiny(dim=True, x0=X0), "objective.x0"),  # a bool is not a dimension
        (Tiny(dim=0, x0=X0), "objective.x0"),     # nor is 0
    ],
)
def test_a_start_of_the_wrong_length_is_refused_naming_where_the_size_came_from(objective, source):
    with pytest.raises(ValueError, match=rf"^x0 must have length 3 \(the model's number of "
                                         rf"parameters, {source}\), got length 4$"):
        srr_train(objective, np.zeros(4), rng=np.random.default_rng(0), batch_size=8, **PLAIN)


def test_without_dim_or_x0_the_given_start_is_taken():
    r = srr_train(Tiny(), X0, rng=np.random.default_rng(0), batch_size=8, epochs=1, **PLAIN)
    assert r.x.shape == (3,)


def test_end_of_epoch_rho_uses_the_options_and_counts_every_solve():
    """With ``mu = 0`` the only eigen-solves are the end-of-epoch ones: ``rho_report="mean"``
    solves on each batch, warm-started from the generic start, with the configured derivative and
    fd step; ``n_hvp`` is the sum of their matvecs and ``rho`` their ``|B|/N``-weighted mean."""
    eig_cfg = EigConfig(method="lanczos", tol=1e-10)
    cfg = SRRConfig(mu=0.0, derivative="fd", eps=0.05, eig=eig_cfg)
    r = srr_train(Tiny(x0=X0), rng=np.random.default_rng(3), srr=cfg, optimizer=sgd(0.1),
                  epochs=1, batch_size=3, epoch_end=EpochEnd(rho_report="mean"))
    batches = list(Tiny().batches(np.random.default_rng(3), 3))  # the same draws as the run
    assert [len(b) for b in batches] == [3, 3, 2]
    v = generic_start(3)
    for eps in (0.05, None):
        solves = [eig_solve(hvp_operator(lambda w, b=b: Tiny.loss(w, b), r.x, method="fd", eps=eps),
                            v, eig_cfg) for b in batches]
        rho = sum(len(b) / 8 * s.rho for b, s in zip(batches, solves, strict=True))
        if eps is not None:
            assert r.history.rho[0] == pytest.approx(rho, rel=1e-12, abs=0)
            assert r.n_hvp == sum(s.n_matvecs for s in solves)
        else:  # the default step gives another value: the configured one was used
            assert abs(r.history.rho[0] - rho) > 1e-9


class Cliff(Tiny):
    """Finite at the start, NaN once ``x[0]`` has moved below ``edge``."""

    def __init__(self, edge, **kw):
        super().__init__(**kw)
        self.edge = edge

    def loss(self, x, batch):
        return anp.sum(x) + (np.nan if x[0] < self.edge else 0.0)


def test_a_non_finite_first_loss_reports_the_start_as_last_good():
    from srtheory.srr_step import NonFiniteLossError

    with pytest.raises(NonFiniteLossError, match=r"^the minibatch loss is not finite") as info:
        srr_train(Cliff(1.0, x0=X0), rng=np.random.default_rng(0), batch_size=8, **PLAIN)
    good = info.value.last_good
    assert np.array_equal(good.x, X0) and np.array_equal(good.eigvec, generic_start(3))
    assert (good.epoch, good.batch, good.step) == (0, 0, 0)


def test_a_non_finite_loss_at_the_end_of_an_epoch_reports_the_state_after_the_step():
    """One batch per epoch: the step from ``x0`` (gradient ``(1, 1, 1)``, rate 0.1) crosses the
    cliff, so the end-of-epoch loss is the first non-finite one; ``last_good`` is that state, with
    the optimizer state and the position (epoch 0, batch 1 = after the epoch's only batch,
    step 1)."""
    from srtheory.srr_step import NonFiniteLossError

    with pytest.raises(NonFiniteLossError,
                       match=r"^the training loss is not finite at the end of epoch 0$") as info:
        srr_train(Cliff(0.25, x0=X0), rng=np.random.default_rng(0), batch_size=8,
                  srr=SRRConfig(mu=0.0), optimizer=sgd(0.1, momentum=0.5))
    good = info.value.last_good
    np.testing.assert_allclose(good.x, X0 - 0.1, rtol=0, atol=1e-15)
    assert good.opt_state.count == 1 and np.array_equal(good.opt_state.velocity, np.ones(3))
    assert (good.epoch, good.batch, good.step) == (0, 1, 1)
    assert np.array_equal(good.eigvec, generic_start(3))  # the warm start (mu = 0: never moved)


@pytest.mark.parametrize("mode", ["min", "max"])
def test_a_tied_validation_score_keeps_the_earlier_best_epoch(mode):
    r = srr_train(Tiny(x0=X0), rng=np.random.default_rng(0), batch_size=8, epochs=3,
                  epoch_end=EpochEnd(validation=lambda x: 1.0, val_mode=mode), **PLAIN)
    assert r.best_epoch == 0 and not np.array_equal(r.x_best, r.x)


class Isotropic(Tiny):
    """Every batch sees the isotropic cubic of the zoo (a repeated top eigenvalue at 0)."""

    def __init__(self):
        from srtheory import objectives as O

        self.f = O.get("isotropic_cubic").f
        self.x0 = np.asarray(O.get("isotropic_cubic").x0, dtype=float)

    def loss(self, x, batch):
        return self.f(x)


def test_chattering_in_training_is_warned_at_the_callers_line():
    from srtheory.srr_step import ChatteringWarning

    cfg = SRRConfig(mu=0.1, eig=EigConfig(method="lanczos", tol=1e-10))
    with pytest.warns(ChatteringWarning, match=r"^srr_train: the top eigenvector flipped") as rec:
        r = srr_train(Isotropic(), rng=np.random.default_rng(0), srr=cfg, optimizer=sgd(0.1),
                      epochs=60, batch_size=8)
    assert r.chattering
    if not _UNDER_MUTMUT:  # mutmut's trampoline adds a frame between the test and srr_train
        assert all(w.filename == __file__ for w in rec)
    # the flips are reported by step (one batch per epoch: step = epoch), and the last eigenvector
    # is handed back as the warm start of a continuation
    assert isinstance(r.flip_steps, tuple) and len(r.flip_steps) == r.n_eigvec_flips
    assert list(r.flip_steps) == sorted(set(r.flip_steps)) and 0 < r.flip_steps[0]
    assert r.flip_steps[-1] < r.n_batches == 60
    assert r.eigvec.shape == (2,) and abs(np.linalg.norm(r.eigvec) - 1.0) < 1e-12


# ---- the loop's remaining contracts (the second mutation pass over training.py, MUTATION.md)


def test_default_batch_size_is_thirty_two():
    """33 samples: batches of 32 make two batches per epoch (33 would make one)."""
    big = np.random.default_rng(1).standard_normal((33, 3))

    class Many(Tiny):
        n_samples = 33

        @staticmethod
        def loss(x, batch):
            return 0.5 * anp.mean((anp.tanh(anp.dot(big[batch], x)) - 0.1) ** 2)

    r = srr_train(Many(x0=X0), rng=np.random.default_rng(0), epochs=1, **PLAIN)
    assert r.n_batches == 2


def test_default_rate_is_one_tenth_and_lr_sets_it():
    """Without ``optimizer`` the step is ``sgd(lr)``, ``lr`` by default 0.1: the same iterates, bit
    for bit, as giving that optimizer."""

    def run(**extra):
        return srr_train(Tiny(x0=X0), rng=np.random.default_rng(0), batch_size=4, epochs=2,
                         srr=SRRConfig(mu=0.0), **extra).x

    assert np.array_equal(run(), run(optimizer=sgd(0.1)))
    assert np.array_equal(run(lr=0.03), run(optimizer=sgd(0.03)))
    assert not np.array_equal(run(lr=0.03), run())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"srr": "mu=0.1"}, r"^srr must be a SRRConfig, got str$"),
        ({"precond_refresh": print}, r"^precond_refresh must be a PrecondRefresh, got "),
    ],
)
def test_bad_configs_are_named(kwargs, message):
    args = {"batch_size": 8, **PLAIN, **kwargs}
    with pytest.raises(ValueError, match=message):
        srr_train(Tiny(x0=X0), rng=np.random.default_rng(0), **args)


def test_a_loss_written_with_plain_numpy_is_refused_naming_objective_loss():
    from srtheory.curvature import NotTraceableError

    class Plain(Tiny):
        @staticmethod
        def loss(x, batch):
            return float(np.sum(np.tanh(np.asarray(x))))

    with pytest.raises(NotTraceableError, match=r"^objective\.loss cannot be differentiated"):
        srr_train(Plain(x0=X0), rng=np.random.default_rng(0), batch_size=8, **PLAIN)


def test_the_mu_schedule_is_read_only_at_the_epochs_that_run():
    """A schedule that turns negative at epoch 1 is fine for a one-epoch run (checked at epoch 0
    before any state changes, then at each epoch as it starts)."""
    cfg = SRRConfig(mu=lambda k: 0.1 if k == 0 else -1.0)
    r = srr_train(Tiny(x0=X0), rng=np.random.default_rng(0), srr=cfg, optimizer=sgd(0.1),
                  epochs=1, batch_size=8)
    assert r.epochs_run == 1 and r.history.mu.tolist() == [0.1]
    with pytest.raises(ValueError, match=r"mu"):
        srr_train(Tiny(x0=X0), rng=np.random.default_rng(0), srr=cfg, optimizer=sgd(0.1),
                  epochs=2, batch_size=8)


def test_a_given_eigenvector_start_is_the_first_solves_start():
    """``v0`` is the warm start of the first solve (and the reset vector): two starts give two
    different first solves, so different iterates with a power step budget of one."""
    eig = EigConfig(method="power", max_iter=1, tol=1e-12)
    cfg = SRRConfig(mu=0.5, K=0.0, eig=eig, skip_nonconverged=False)
    runs = [srr_train(Tiny(x0=X0), rng=np.random.default_rng(0), srr=cfg, optimizer=sgd(0.1),
                      epochs=1, batch_size=8, v0=v0) for v0 in (None, [0.0, 0.0, 1.0])]
    assert not np.array_equal(runs[0].x, runs[1].x)
    # the start given as a vector is what the non-finite report hands back before any step
    from srtheory.srr_step import NonFiniteLossError

    with pytest.raises(NonFiniteLossError) as info:
        srr_train(Cliff(1.0, x0=X0), rng=np.random.default_rng(0), batch_size=8, v0=[0.0, 3.0, 4.0],
                  **PLAIN)
    np.testing.assert_allclose(info.value.last_good.eigvec, [0.0, 0.6, 0.8], rtol=0, atol=1e-15)


def test_last_good_at_the_start_carries_the_initial_optimizer_state():
    from srtheory.srr_step import NonFiniteLossError

    with pytest.raises(NonFiniteLossError) as info:
        srr_train(Cliff(1.0, x0=X0), rng=np.random.default_rng(0), batch_size=8,
                  srr=SRRConfig(mu=0.0), optimizer=sgd(0.1, momentum=0.5))
    state = info.value.last_good.opt_state
    assert state is not None and state.count == 0 and np.array_equal(state.velocity, np.zeros(3))


def test_a_non_finite_loss_mid_epoch_reports_the_previous_batch():
    """Batches of 2 (four per epoch), sgd 0.1 on ``sum(x)``: each step lowers ``x[0]`` by 0.1, so
    from 0.3 with the cliff at 0.05 the loss of the fourth batch (``x[0] = 0.0``) is the first
    non-finite one; ``last_good`` is the state at the third batch, with the warm start."""
    from srtheory.srr_step import NonFiniteLossError

    with pytest.raises(NonFiniteLossError, match=r"at epoch 0, batch 3") as info:
        srr_train(Cliff(0.05, x0=X0), rng=np.random.default_rng(0), batch_size=2, **PLAIN)
    good = info.value.last_good
    np.testing.assert_allclose(good.x, X0 - 0.2, rtol=0, atol=1e-15)
    assert (good.epoch, good.batch, good.step) == (0, 2, 2)
    assert np.array_equal(good.eigvec, generic_start(3))


def test_when_no_validation_score_is_finite_the_start_is_the_best():
    """``best_epoch = -1`` and ``x_best = x0``: no epoch was ever better than nothing."""
    r = srr_train(Tiny(x0=X0), rng=np.random.default_rng(0), batch_size=8, epochs=2,
                  epoch_end=EpochEnd(validation=lambda x: float("nan")), **PLAIN)
    assert r.best_epoch == -1 and np.array_equal(r.x_best, X0)
    assert np.isnan(r.history.val).all() and not np.array_equal(r.x, X0)


def test_the_preconditioner_is_built_from_the_current_weights_at_steps_0_every_2every():
    from srtheory.training import PrecondRefresh

    seen = []

    def factory(x, batch):
        seen.append(np.array(x))
        return lambda r: r

    eig = EigConfig(method="power", alpha=lambda i: 0.5, max_iter=200)
    r = srr_train(Tiny(x0=X0), rng=np.random.default_rng(0), srr=SRRConfig(mu=0.01, eig=eig),
                  optimizer=sgd(0.1), epochs=1, batch_size=1,
                  precond_refresh=PrecondRefresh(factory, every=3))
    assert r.n_batches == 8 and len(seen) == 3  # steps 0, 3, 6
    assert np.array_equal(seen[0], X0)  # the first build sees the start
    assert not np.array_equal(seen[1], X0)


def test_the_epoch_loss_divides_by_n_samples_under_reshuffling():
    """Algorithm 2 step 3: ``f = sum_B |B| f_B(x) / N`` with ``N = n_samples``; an objective whose
    ``batches`` yields only half of its samples gets half the mean (the sum over the batches
    drawn, divided by N)."""

    class Half(Tiny):
        def batches(self, rng, batch_size):
            yield np.arange(4)

    r = srr_train(Half(x0=X0), rng=np.random.default_rng(0), batch_size=4, epochs=1, **PLAIN)
    expected = 4 * float(Tiny.loss(r.x, np.arange(4))) / 8
    assert r.history.f[0] == pytest.approx(expected, rel=1e-14, abs=0)


def test_a_one_parameter_model_takes_its_size_from_dim():
    one = Tiny(dim=1, x0=np.array([0.3, 0.1]))  # dim says 1, x0 says 2: dim wins
    with pytest.raises(ValueError, match=r"length 1 \(the model's number of parameters, "
                                         r"objective\.dim\), got length 2"):
        srr_train(one, np.zeros(2), rng=np.random.default_rng(0), batch_size=8, **PLAIN)


def test_a_rebuilt_preconditioner_is_the_one_the_solver_uses():
    """Alg. 1b with ``precond_refresh``: the factory's ``P`` replaces ``srr.eig.precond`` (the
    solver applies the last one built; ``srr.eig.precond`` itself is never called)."""
    from srtheory.training import PrecondRefresh

    calls = {"built": 0, "config": 0}

    def built(r):
        calls["built"] += 1
        return r

    def configured(r):
        calls["config"] += 1
        return r

    eig = EigConfig(method="power", alpha=lambda i: 0.5, max_iter=50, precond=configured)
    srr_train(Tiny(x0=X0), rng=np.random.default_rng(0), srr=SRRConfig(mu=0.01, eig=eig),
              optimizer=sgd(0.1), epochs=1, batch_size=4,
              precond_refresh=PrecondRefresh(lambda x, batch: built, every=1))
    assert calls["built"] > 0 and calls["config"] == 0


def test_iid_epoch_loss_divides_by_the_samples_drawn():
    """With ``Sampling(draw="iid")`` the epoch's ``f`` is ``sum_B |B| f_B / sum_B |B|`` (the mean
    over the draws), not a division by ``n_samples``: one batch of 4 draws out of 8 samples."""
    from srtheory.training import Sampling

    r = srr_train(Tiny(x0=X0), rng=np.random.default_rng(0), epochs=1, srr=SRRConfig(mu=0.0),
                  optimizer=sgd(0.1), batch_size=Sampling(4, draw="iid", per_epoch=1))
    drawn = np.random.default_rng(0).integers(8, size=4)  # the run's only draw
    assert r.history.f[0] == pytest.approx(float(Tiny.loss(r.x, drawn)), rel=1e-14, abs=0)


def test_n_hvp_adds_the_end_of_epoch_solves_of_every_epoch():
    eig_cfg = EigConfig(method="lanczos", tol=1e-10)
    cfg = SRRConfig(mu=0.0, eig=eig_cfg)
    one = srr_train(Tiny(x0=X0), rng=np.random.default_rng(3), srr=cfg, optimizer=sgd(0.1),
                    epochs=1, batch_size=8)
    two = srr_train(Tiny(x0=X0), rng=np.random.default_rng(3), srr=cfg, optimizer=sgd(0.1),
                    epochs=2, batch_size=8)
    solve = eig_solve(hvp_operator(lambda w: Tiny.loss(w, np.arange(8)), two.x), generic_start(3),
                      eig_cfg)
    assert one.n_hvp > 0 and two.n_hvp == one.n_hvp + solve.n_matvecs


def _zero_loss_objective():
    class Zero(Tiny):
        @staticmethod
        def loss(x, batch):
            return 0.0 * anp.sum(x)

    return Zero(x0=X0)


def test_cv_rule_skips_a_zero_mean_window():
    """``h = 0`` every epoch: the coefficient of variation is undefined, so the rule never stops
    the run (and never divides by zero)."""
    r = srr_train(_zero_loss_objective(), rng=np.random.default_rng(0), batch_size=8, epochs=4,
                  epoch_end=EpochEnd(cv_eps=1e3, cv_window=2, min_epochs=0), **PLAIN)
    assert r.stopped_by == "epochs" and r.epochs_run == 4 and np.all(r.history.h == 0.0)


def test_cv_rule_stops_at_the_first_window_whose_cv_is_at_most_eps():
    """Algorithm 2 step 4: stop after epoch ``e`` (``e + 1 >= max(min_epochs, window)``) when
    ``std(h[e-w+1..e]) / |mean| <= cv_eps``.  ``cv_eps`` is set to the smallest such ratio over
    epochs 3..8 of a full run, so the run must stop exactly at the first epoch that reaches it
    (``<=``, not ``<``), before the last epoch."""
    full = srr_train(Tiny(x0=X0), rng=np.random.default_rng(0), batch_size=4, epochs=12, **PLAIN)
    w, first = 3, 4  # min_epochs = 4
    cvs = {e: float(np.std(full.history.h[e - w + 1:e + 1])) / abs(float(np.mean(
        full.history.h[e - w + 1:e + 1]))) for e in range(first - 1, 9)}
    eps = min(cvs.values())
    stop_at = min(e for e, c in cvs.items() if c <= eps)
    assert 0.0 < eps < 1.0 and stop_at < 11
    r = srr_train(Tiny(x0=X0), rng=np.random.default_rng(0), batch_size=4, epochs=12,
                  epoch_end=EpochEnd(cv_eps=eps, cv_window=w, min_epochs=first), **PLAIN)
    assert r.stopped_by == "cv" and r.epochs_run == stop_at + 1
    np.testing.assert_array_equal(r.history.h, full.history.h[:stop_at + 1])


def test_result_carries_the_final_optimizer_state_the_wall_time_and_no_val_without_validation():
    import time

    t0 = time.perf_counter()
    r = srr_train(Tiny(x0=X0), rng=np.random.default_rng(0), batch_size=4, epochs=2,
                  srr=SRRConfig(mu=0.0), optimizer=sgd(0.1, momentum=0.5))
    elapsed = time.perf_counter() - t0
    assert r.opt_state.count == r.n_batches == 4
    assert 0.0 < r.time <= elapsed
    assert r.history.val is None
    assert r.history.rho_converged.dtype == bool and r.history.n_skipped.dtype.kind == "i"
