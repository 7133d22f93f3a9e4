"""Contracts of srtheory.training.srr_train that the other tests left open (found by mutation
testing, MUTATION.md): the default number of epochs, the names in its input errors, how the
model's size is found, and the end-of-epoch rho (its options and its matvec count)."""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
import pytest

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
    assert r.chattering and all(w.filename == __file__ for w in rec)
    # the flips are reported by step (one batch per epoch: step = epoch), and the last eigenvector
    # is handed back as the warm start of a continuation
    assert isinstance(r.flip_steps, tuple) and len(r.flip_steps) == r.n_eigvec_flips
    assert list(r.flip_steps) == sorted(set(r.flip_steps)) and 0 < r.flip_steps[0]
    assert r.flip_steps[-1] < r.n_batches == 60
    assert r.eigvec.shape == (2,) and abs(np.linalg.norm(r.eigvec) - 1.0) < 1e-12
