"""Base optimizers as pure (init, update) pairs: one shared suite every optimizer passes, then the
exact update rules against hand-unrolled recurrences, schedules, and bad input."""

import math

import numpy as np
import pytest

from srtheory.optimizers import (
    AdamState,
    Optimizer,
    SGDState,
    adam,
    as_schedule,
    constant,
    inverse_sqrt,
    inverse_time,
    sgd,
    step_decay,
)
from srtheory.testing import tolerance

OPTIMIZERS = {
    "sgd": lambda: sgd(0.1),
    "sgd_momentum": lambda: sgd(0.05, momentum=0.9),
    "sgd_nesterov": lambda: sgd(0.05, momentum=0.9, nesterov=True),
    "sgd_schedule": lambda: sgd(inverse_time(0.2)),
    "sgd_wd": lambda: sgd(0.1, weight_decay=1e-2),
    "adam": lambda: adam(0.05),
}
A = np.diag([1.0, 4.0, 0.5])  # quadratic 0.5 x^T A x


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_shared_suite(name):
    opt = OPTIMIZERS[name]()
    assert isinstance(opt, Optimizer)
    x = np.array([1.0, -2.0, 0.5])
    state = opt.init(x)
    assert isinstance(state, tuple) and hasattr(state, "_fields")  # explicit NamedTuple state
    # pure: same inputs -> same outputs, inputs untouched
    g = A @ x
    x_keep, g_keep = x.copy(), g.copy()
    out1 = opt.update(g, state, x, 0)
    out2 = opt.update(g, state, x, 0)
    assert np.array_equal(out1[0], out2[0])
    assert np.array_equal(x, x_keep) and np.array_equal(g, g_keep)
    assert out1[1].count == state.count + 1
    # a descent method on a convex quadratic
    for k in range(400):
        x, state = opt.update(A @ x, state, x, k if name != "sgd_schedule" else min(k, 3))
    assert np.linalg.norm(x) < 1e-2


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_shared_suite_rejects_bad_shapes(name):
    opt = OPTIMIZERS[name]()
    x = np.ones(3)
    state = opt.init(x)
    with pytest.raises(ValueError, match="direction"):
        opt.update(np.ones(2), state, x, 0)
    with pytest.raises(ValueError, match="NaN"):
        opt.update(np.array([1.0, np.nan, 0.0]), state, x, 0)


def test_sgd_plain_step_is_x_minus_a_p_exactly():
    opt = sgd(0.3)
    x, p = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    new, st = opt.update(p, opt.init(x), x, 7)
    assert np.array_equal(new, x - 0.3 * p)
    assert isinstance(st, SGDState)


def test_sgd_momentum_and_nesterov_recurrences():
    ps = [np.array([1.0, -1.0]), np.array([0.5, 2.0]), np.array([-3.0, 0.25])]
    for nesterov in (False, True):
        opt = sgd(0.1, momentum=0.9, nesterov=nesterov)
        x = np.array([0.3, 0.4])
        st = opt.init(x)
        xr, b = x.copy(), np.zeros(2)
        for k, p in enumerate(ps):
            x, st = opt.update(p, st, x, k)
            b = 0.9 * b + p                    # b_k = m b_{k-1} + p_k
            xr = xr - 0.1 * ((p + 0.9 * b) if nesterov else b)
            np.testing.assert_allclose(x, xr, rtol=tolerance(factor=10))
        # negative control: heavy ball and Nesterov differ
    a, b_ = sgd(0.1, momentum=0.9), sgd(0.1, momentum=0.9, nesterov=True)
    x0 = np.zeros(2)
    sa, sb = a.init(x0), b_.init(x0)
    xa, sa = a.update(ps[0], sa, x0, 0)
    xb, sb = b_.update(ps[0], sb, x0, 0)
    assert not np.allclose(xa, xb)


def test_weight_decay_adds_wd_x():
    x, p = np.array([2.0, -1.0]), np.array([0.0, 0.0])
    opt = sgd(0.5, weight_decay=0.1)
    new, _ = opt.update(p, opt.init(x), x, 0)
    np.testing.assert_allclose(new, x - 0.5 * 0.1 * x, rtol=tolerance(factor=10))


def test_adam_recurrence_and_first_step_is_sign_step():
    opt = adam(0.01, eps=1e-8)
    x = np.array([1.0, 1.0, 1.0])
    p = np.array([3.0, -1e-3, 0.0])
    x1, st = opt.update(p, opt.init(x), x, 0)
    assert isinstance(st, AdamState) and st.count == 1
    # bias-corrected first step: m_hat = p, v_hat = p^2, step = lr p / (|p| + eps)
    np.testing.assert_allclose(x1, x - 0.01 * p / (np.abs(p) + 1e-8), rtol=tolerance(factor=10))
    # second step by the hand formulas
    p2 = np.array([-1.0, 2.0, 0.5])
    x2, _st2 = opt.update(p2, st, x1, 1)
    m = 0.9 * (0.1 * p) + 0.1 * p2
    v = 0.999 * (0.001 * p * p) + 0.001 * p2 * p2
    ref = x1 - 0.01 * (m / (1 - 0.9**2)) / (np.sqrt(v / (1 - 0.999**2)) + 1e-8)
    np.testing.assert_allclose(x2, ref, rtol=tolerance(factor=10))


def test_schedules():
    assert constant(0.3)(0) == constant(0.3)(100) == 0.3
    assert [inverse_time(1.0)(k) for k in range(4)] == [1.0, 0.5, 1 / 3, 0.25]
    assert inverse_sqrt(2.0)(4) == pytest.approx(2.0 / 3.0)
    sd = step_decay(0.1, boundaries=(150, 225))
    assert (sd(0), sd(149)) == (0.1, 0.1)
    assert sd(150) == pytest.approx(0.01) and sd(300) == pytest.approx(0.001)
    # Robbins-Monro: inverse_time sums diverge, squares converge (partial sums as evidence)
    a = np.array([inverse_time(1.0)(k) for k in range(100000)])
    assert a.sum() > 12 and (a * a).sum() < math.pi**2 / 6 + 1e-12


def test_schedule_feeds_the_step_index():
    opt = sgd(inverse_time(1.0))
    x, p = np.zeros(1), np.ones(1)
    st = opt.init(x)
    assert opt.update(p, st, x, 0)[0][0] == -1.0
    assert opt.update(p, st, x, 3)[0][0] == -0.25


@pytest.mark.parametrize("make", [
    lambda: sgd(-0.1), lambda: sgd(0.1, momentum=1.0), lambda: sgd(0.1, momentum=-0.5),
    lambda: sgd(0.1, nesterov=True), lambda: adam(0.0), lambda: adam(0.1, b1=1.0),
    lambda: inverse_time(0.0), lambda: step_decay(0.1, boundaries=(5, 2)),
    lambda: as_schedule(lambda k: -1.0), lambda: sgd(float("inf")),
])
def test_bad_hyperparameters(make):
    with pytest.raises(ValueError):
        make()


@pytest.mark.parametrize("k", [-1, 1.5, True])
def test_bad_schedule_index(k):
    with pytest.raises(ValueError, match="schedule index"):
        inverse_time(1.0)(k)
