"""Baselines of SRR_NOTES §8, each tested for what it is:

* SAM: the direction is grad f at x + rho g/||g|| (autograd at that point); the checker rejects
  the gradient at x and the unnormalised perturbation;
* Entropy-SGD: the inner SGLD chain samples the local Gibbs measure (mean and covariance of a
  quadratic's chain against the closed form); L = 0 is Nesterov SGD step for step;
* SWA: the average is the arithmetic mean of the snapshot iterates; on an asymmetric valley it
  sits on the flat side (He et al. 2019);
* K-FAC: one step is x - lr P(g); on linear least squares one undamped step is Newton's.
"""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

from srtheory.baselines import (
    KFACState,
    cyclic_lr,
    entropy_sgd,
    entropy_sgd_langevin,
    kfac_optimizer,
    sam,
    sam_direction,
    sam_perturbation,
    swa,
    swa_average,
)
from srtheory.kfac import kfac_factors, kfac_inverse, kfac_precondition
from srtheory.mlp import homogeneous_index, mlp_init, mlp_objective, mlp_spec
from srtheory.optimizers import constant, sgd
from srtheory.testing import assert_close, tolerance


def _f(x):
    """A non-quadratic test function (so grad f(x + e) != grad f(x) + H e)."""
    return anp.sum(anp.cos(x) * x**2) + 0.25 * anp.sum(x**4) + x[0] * x[1]


_GRAD = autograd.grad(_f)


# --------------------------------------------------------------------------------------------- SAM


def check_sam_direction(direction_fn, x, radius):
    """Checker: ``direction_fn(grad_fn, x, radius)`` must equal autograd's grad at x + radius g/||g||."""
    g = _GRAD(x)
    want = _GRAD(x + radius * g / np.linalg.norm(g))
    assert_close(direction_fn(_GRAD, x, radius), want, rtol=tolerance(factor=10), what="SAM direction")


@pytest.mark.parametrize("radius", [0.05, 0.5])
def test_sam_direction_is_gradient_at_perturbed_point(rng, radius):
    x = rng.standard_normal(4)
    check_sam_direction(lambda gf, y, r: sam_direction(gf, y, radius=r), x, radius)
    # precomputed g gives the same
    np.testing.assert_array_equal(sam_direction(_GRAD, x, radius=radius, grad=_GRAD(x)),
                                  sam_direction(_GRAD, x, radius=radius))


def test_sam_checker_rejects_wrong_variants(rng):
    x = rng.standard_normal(4)
    with pytest.raises(AssertionError):  # gradient at x: plain GD
        check_sam_direction(lambda gf, y, r: gf(y), x, 0.05)
    with pytest.raises(AssertionError):  # perturbation not normalised
        check_sam_direction(lambda gf, y, r: gf(y + r * gf(y)), x, 0.05)


def test_sam_perturbation_norm_and_stationary_point():
    e = sam_perturbation(np.array([3.0, 4.0]), radius=0.5)
    np.testing.assert_allclose(e, [0.3, 0.4], rtol=tolerance(), atol=0)
    np.testing.assert_array_equal(sam_perturbation(np.zeros(2), radius=0.5), np.zeros(2))
    # at a stationary point SAM does not move
    np.testing.assert_array_equal(sam_direction(_GRAD, np.zeros(3), radius=0.1), np.zeros(3))


def test_sam_optimizer_step(rng):
    x = rng.standard_normal(3)
    opt = sam(sgd(0.1), radius=0.05)
    st = opt.init(x)
    x1, st1 = opt.update(_GRAD, st, x, 0)
    g = _GRAD(x)
    np.testing.assert_array_equal(x1, x - 0.1 * sam_direction(_GRAD, x, radius=0.05))
    assert not np.allclose(x1, x - 0.1 * g)
    assert st1.n_grad_evals == 2
    np.testing.assert_array_equal(st.base.velocity, np.zeros(3))  # state not mutated


# ------------------------------------------------------------------------------------- Entropy-SGD

_Q = np.array([[2.0, 0.6], [0.6, 1.0]])
_C = np.array([1.0, -0.5])


def _quad_grad(y):
    return _Q @ (y - _C)


def check_gibbs_samples(samples, mean, cov, *, n_batches=50, z=5.0):
    """Checker: batch-means z-test of the sample mean and second central moment against (mean, cov).

    Batches of ~2000 steps are ~35 integrated autocorrelation times of the slowest mode
    (m = 1.74, lr = 0.02: tau = (2 - lr m)/(lr m) ~ 56 steps), so batch means are nearly independent; each entry must lie within ``z`` standard errors (z = 5: a false alarm has
    probability ~6e-7 per entry; the seed is fixed anyway)."""
    b = np.array_split(samples, n_batches)
    means = np.array([s.mean(0) for s in b])
    moms = np.array([np.einsum("ti,tj->ij", s - mean, s - mean) / len(s) for s in b])
    se_m = means.std(0, ddof=1) / np.sqrt(n_batches)
    se_c = moms.std(0, ddof=1) / np.sqrt(n_batches)
    if not np.all(np.abs(means.mean(0) - mean) <= z * se_m):
        raise AssertionError(f"chain mean {means.mean(0)} != {mean} (se {se_m})")
    if not np.all(np.abs(moms.mean(0) - cov) <= z * se_c):
        raise AssertionError(f"chain covariance {moms.mean(0)} != {cov} (se {se_c})")


@pytest.fixture(scope="module")
def gibbs_chain():
    # f(x') = 1/2 (x'-c)^T Q (x'-c); target p(x') ∝ exp(-f(x') - gamma/2 ||x - x'||^2) (noise = 1):
    # Gaussian with M = Q + gamma I, mean M^{-1}(Q c + gamma x), covariance M^{-1}.
    x, gamma, lr = np.array([0.3, 0.2]), 1.0, 0.02
    res = entropy_sgd_langevin(_quad_grad, x, gamma=gamma, n_steps=100_000, lr=lr, noise=1.0,
                               alpha=0.25, rng=np.random.default_rng(1), keep_samples=True)
    M = _Q + gamma * np.eye(2)
    mean = np.linalg.solve(M, _Q @ _C + gamma * x)
    cov_ula = np.linalg.inv(M @ (np.eye(2) - lr * M / 2))  # exact stationary cov of the discrete chain
    return res, res.samples[2000:], mean, cov_ula, M, lr


def test_langevin_chain_samples_local_gibbs_measure(gibbs_chain):
    res, samples, mean, cov_ula, M, lr = gibbs_chain
    assert res.n_grad_evals == 100_000
    check_gibbs_samples(samples, mean, cov_ula)
    # The discrete chain's covariance tends to the Gibbs covariance M^{-1}: relative gap per mode
    # is 1/(1 - lr m/2) - 1 <= lr lambda_max(M)/(2 - lr lambda_max(M)) = 0.034 here.
    cov = np.linalg.inv(M)
    lmax = np.linalg.eigvalsh(M).max()
    assert np.linalg.norm(cov_ula - cov, 2) <= lr * lmax / (2 - lr * lmax) * np.linalg.norm(cov, 2)


def test_gibbs_checker_rejects_wrong_measure(gibbs_chain):
    _, samples, mean, cov_ula, _, _ = gibbs_chain
    # negative controls: the measure without the coupling term (gamma = 0: mean c, cov Q^{-1}),
    # and the right mean at twice the temperature
    with pytest.raises(AssertionError):
        check_gibbs_samples(samples, _C, np.linalg.inv(_Q))
    with pytest.raises(AssertionError, match="covariance"):
        check_gibbs_samples(samples, mean, 2 * cov_ula)


def test_langevin_average_is_exponential_moving_average(rng):
    x = np.array([0.3, 0.2])
    res = entropy_sgd_langevin(_quad_grad, x, gamma=0.5, n_steps=30, lr=0.05, noise=0.1, alpha=0.3,
                               rng=rng, keep_samples=True)
    # mu_L = (1-a)^L x + sum_l a (1-a)^(L-l) x'_l
    w = 0.3 * 0.7 ** np.arange(29, -1, -1)
    assert_close(res.mean, 0.7**30 * x + w @ res.samples, rtol=tolerance(factor=100), what="EMA")
    np.testing.assert_array_equal(res.last, res.samples[-1])
    # without noise the chain is deterministic gradient descent on f + gamma/2 ||x - x'||^2
    det = entropy_sgd_langevin(_quad_grad, x, gamma=0.5, n_steps=3, lr=0.05, noise=0.0, alpha=0.3, rng=rng)
    y = x.copy()
    for _ in range(3):
        y = y - 0.05 * (_quad_grad(y) + 0.5 * (y - x))
    np.testing.assert_array_equal(det.last, y)


def test_entropy_sgd_L0_is_nesterov_sgd_step_for_step(rng):
    # The authors' configuration (L = 0, lr 0.1, momentum 0.9, Nesterov): plain Nesterov SGD,
    # written out here in the PyTorch convention b <- m b + g;  x <- x - lr (g + m b).
    opt = entropy_sgd(L=0)
    x = rng.standard_normal(3)
    st = opt.init(x)
    y, b = x.copy(), np.zeros(3)
    for k in range(25):
        x, st = opt.update(_GRAD, st, x, k)
        g = _GRAD(y)
        b = 0.9 * b + g
        y = y - 0.1 * (g + 0.9 * b)
        np.testing.assert_array_equal(x, y)
    assert st.n_grad_evals == 25 and st.count == 25


def test_entropy_sgd_with_langevin_step(rng):
    # One outer step with L > 0 is base.update(gamma (x - mu)) with mu the chain's average.
    x = np.array([0.3, 0.2])
    opt = entropy_sgd(sgd(1.0), L=50, gamma=0.5, scoping=0.1, inner_lr=0.05, noise=0.01, alpha=0.25)
    st = opt.init(x)
    seed = 11
    x1, st1 = opt.update(_quad_grad, st, x, 0, rng=np.random.default_rng(seed))
    mu = entropy_sgd_langevin(_quad_grad, x, gamma=0.5, n_steps=50, lr=0.05, noise=0.01, alpha=0.25,
                              rng=np.random.default_rng(seed)).mean
    np.testing.assert_array_equal(x1, x - 0.5 * (x - mu))
    assert st1.n_grad_evals == 50
    # scoping: the second step uses gamma_1 = 0.5 * 1.1
    x2, _ = opt.update(_quad_grad, st1, x1, 1, rng=np.random.default_rng(seed))
    mu2 = entropy_sgd_langevin(_quad_grad, x1, gamma=0.55, n_steps=50, lr=0.05, noise=0.01, alpha=0.25,
                               rng=np.random.default_rng(seed)).mean
    assert_close(x2, x1 - 0.55 * (x1 - mu2), rtol=tolerance(factor=10), what="scoped step")
    # the outer step moves toward the Gibbs mean, i.e. toward the minimum c of f
    assert np.linalg.norm(x1 - _C) < np.linalg.norm(x - _C)


# --------------------------------------------------------------------------------------------- SWA


def test_swa_is_arithmetic_mean_of_snapshots(rng):
    base = sgd(cyclic_lr(0.1, 0.01, cycle=4), momentum=0.5)
    opt = swa(base, start=6, period=4)
    x = rng.standard_normal(3)
    st, bst, y = opt.init(x), base.init(x), x.copy()
    snaps, after_start = [], []
    for k in range(30):
        x, st = opt.update(_GRAD(x), st, x, k)
        y, bst = base.update(_GRAD(y), bst, y, k)
        np.testing.assert_array_equal(x, y)  # SWA does not change the trajectory
        if k + 1 >= 6:
            after_start.append(y)
            if (k + 1 - 6) % 4 == 0:
                snaps.append(y)
    assert st.n_averaged == len(snaps) == 7  # after updates 6, 10, ..., 30
    # running mean vs np.mean: both are means of 7 vectors, rounding <= ~7 eps relative
    assert_close(swa_average(st), np.mean(snaps, axis=0), rtol=tolerance(factor=20), what="SWA mean")
    # negative control: the same check rejects the mean of every iterate since `start` (period 1)
    with pytest.raises(AssertionError):
        assert_close(swa_average(st), np.mean(after_start, axis=0), rtol=tolerance(factor=20), what="all")


def test_cyclic_lr_values():
    s = cyclic_lr(0.1, 0.01, cycle=4)
    vals = [s(k) for k in range(8)]
    np.testing.assert_allclose(vals[:4], [0.0775, 0.055, 0.0325, 0.01], rtol=tolerance(factor=10))
    assert vals[4:] == vals[:4]
    with pytest.raises(ValueError, match="a1 >= a2"):
        cyclic_lr(0.01, 0.1, cycle=3)
    with pytest.raises(ValueError):
        s(-1)


def test_swa_average_on_asymmetric_valley_lies_on_flat_side():
    # He, Huang & Yuan 2019: f(x) = a_- x^2 (x < 0), a_+ x^2 (x >= 0) with a_- = 10 a_+ (sharp left
    # wall, flat right wall), noisy gradients, constant lr.  The minimizer is 0; the SWA average
    # is biased to the flat side x > 0.  Standard error of the mean from batch means; require > 6 SE.
    rng = np.random.default_rng(5)
    a_m, a_p = 10.0, 1.0

    def noisy_grad(x):
        return np.where(x < 0, 2 * a_m * x, 2 * a_p * x) + rng.standard_normal(1)

    base = sgd(0.05)
    opt = swa(base, start=200)
    x = np.array([0.0])
    st = opt.init(x)
    xs = []
    for k in range(20_000):
        x, st = opt.update(noisy_grad(x), st, x, k)
        if k + 1 >= 200:
            xs.append(x[0])
    w = swa_average(st)[0]
    se = np.std([np.mean(b) for b in np.array_split(xs, 40)], ddof=1) / np.sqrt(40)
    assert w > 6 * se
    # the bias is a small shift on the flat side, not an escape from the valley
    assert a_p * w**2 < 0.05


# ------------------------------------------------------------------------------------------- K-FAC


def _mlp_batch(rng):
    spec = mlp_spec((3, 4, 2), activation="tanh", loss="squared")
    X = rng.standard_normal((16, 3))
    T = rng.standard_normal((16, 2))
    return spec, mlp_init(spec, rng=rng), X, T


def test_kfac_step_is_preconditioned_gradient_step(rng):
    spec, theta, X, T = _mlp_batch(rng)
    g = autograd.grad(mlp_objective(spec, X, T))(theta)
    opt = kfac_optimizer(spec, lr=0.1, momentum=0.0, damping=1e-2, kl_clip=None, t_cov=1, t_inv=1)
    st = opt.init(theta)
    x1, st1 = opt.update(g, st, theta, 0, batch=(X, T))
    F = kfac_factors(spec, theta, X)
    p = kfac_precondition(kfac_inverse(F, damping=1e-2), g)
    assert_close(x1, theta - 0.1 * p, rtol=tolerance(factor=10), what="K-FAC step")
    assert isinstance(st1, KFACState) and st1.count == 1
    # second step: running factors are stat_decay * F0 + (1 - stat_decay) * F1
    g1 = autograd.grad(mlp_objective(spec, X, T))(x1)
    _, st2 = opt.update(g1, st1, x1, 1, batch=(X, T))
    F1 = kfac_factors(spec, x1, X)
    for l in range(2):
        assert_close(st2.factors.G[l], 0.95 * F.G[l] + 0.05 * F1.G[l], rtol=tolerance(factor=10), what="EMA G")
    # negative control: the plain gradient step differs
    assert not np.allclose(x1, theta - 0.1 * g)


def test_kfac_one_step_solves_linear_least_squares(rng):
    # One linear layer, squared error: K-FAC's curvature is the exact Hessian, so one undamped step
    # with lr 1 is Newton's step and lands on the least-squares solution (gradient ~ cond * eps).
    spec = mlp_spec((4, 2), loss="squared")
    X = rng.standard_normal((40, 4))
    T = rng.standard_normal((40, 2))
    theta = rng.standard_normal(spec.n_params)
    f = mlp_objective(spec, X, T)
    opt = kfac_optimizer(spec, lr=1.0, momentum=0.0, damping=0.0, kl_clip=None)
    x1, _ = opt.update(autograd.grad(f)(theta), opt.init(theta), theta, 0, batch=(X, T))
    Xb = np.hstack([X, np.ones((40, 1))])
    W = np.linalg.lstsq(Xb, T, rcond=None)[0].T  # (2, 5) = [W | b], the homogeneous block
    want = np.concatenate([W[:, :-1].reshape(-1), W[:, -1]])  # the flat layout [vec(W), b]
    np.testing.assert_array_equal(want, W.reshape(-1)[np.argsort(homogeneous_index(spec))])
    assert_close(x1, want, rtol=tolerance(factor=100), what="one K-FAC step vs lstsq")
    # negative control: a gradient step with the same lr does not
    x_gd, _ = sgd(1.0).update(autograd.grad(f)(theta), sgd(1.0).init(theta), theta, 0)
    assert np.linalg.norm(x_gd - want) > 1e-2


def test_kfac_kl_clip_bounds_the_step(rng):
    spec, theta, X, T = _mlp_batch(rng)
    g = 100.0 * autograd.grad(mlp_objective(spec, X, T))(theta)
    opt = kfac_optimizer(spec, lr=0.5, momentum=0.0, damping=1e-2, kl_clip=1e-3)
    x1, _ = opt.update(g, opt.init(theta), theta, 0, batch=(X, T))
    p = kfac_precondition(kfac_factors(spec, theta, X), g, damping=1e-2)
    step = theta - x1  # = lr * nu * p, and when clipping is active lr^2 nu^2 p.g = kl_clip
    nu = np.linalg.norm(step) / (0.5 * np.linalg.norm(p))
    assert nu < 1
    assert (0.5 * nu) ** 2 * float(p @ g) == pytest.approx(1e-3, rel=tolerance(factor=100))


def test_kfac_reuses_factors_between_t_cov_updates(rng):
    spec, theta, X, T = _mlp_batch(rng)
    g = autograd.grad(mlp_objective(spec, X, T))(theta)
    opt = kfac_optimizer(spec, lr=0.1, t_cov=3, t_inv=3)
    st = opt.init(theta)
    x, st = opt.update(g, st, theta, 0, batch=(X, T))
    F0 = st.factors
    x, st = opt.update(g, st, x, 1, batch=(X + 1.0, T))  # c = 1: no new statistics
    assert st.factors is F0
    x, st = opt.update(g, st, x, 2, batch=(X, T))
    x, st = opt.update(g, st, x, 3, batch=(X, T))  # c = 3: refresh
    assert st.factors is not F0


# ---------------------------------------------------------------------------------------- bad input


def test_bad_inputs(rng):
    with pytest.raises(ValueError, match="radius"):
        sam_direction(_GRAD, np.ones(2), radius=0.0)
    with pytest.raises(ValueError, match="radius"):
        sam(sgd(0.1), radius=-1.0)
    with pytest.raises(ValueError, match="NaN"):
        sam_direction(lambda x: x * np.nan, np.ones(2), radius=0.1)
    with pytest.raises(ValueError, match="base"):
        sam(object())
    with pytest.raises(ValueError, match="L"):
        entropy_sgd(L=-1)
    with pytest.raises(ValueError, match="alpha"):
        entropy_sgd(alpha=1.5)
    opt = entropy_sgd(L=3)
    with pytest.raises(ValueError, match="rng"):
        opt.update(_GRAD, opt.init(np.ones(2)), np.ones(2), 0)
    with pytest.raises(ValueError, match="gamma"):
        entropy_sgd_langevin(_GRAD, np.ones(2), gamma=0.0, n_steps=1, lr=0.1, noise=1.0, alpha=0.5, rng=rng)
    with pytest.raises(ValueError, match="start"):
        swa(sgd(0.1), start=0)
    with pytest.raises(ValueError, match="no snapshot"):
        swa_average(swa(sgd(0.1), start=5).init(np.ones(2)))
    spec, theta, X, T = _mlp_batch(rng)
    opt = kfac_optimizer(spec)
    with pytest.raises(ValueError, match="batch"):
        opt.update(np.ones(spec.n_params), opt.init(theta), theta, 0)
    with pytest.raises(ValueError, match="length"):
        opt.init(theta[:-1])
    with pytest.raises(ValueError, match="stat_decay"):
        kfac_optimizer(spec, stat_decay=1.0)
    with pytest.raises(ValueError, match="spec"):
        kfac_optimizer((3, 4, 2))
    with pytest.raises(ValueError, match="rng"):
        o = kfac_optimizer(spec, fisher="sampled")
        o.update(np.ones(spec.n_params), o.init(theta), theta, 0, batch=(X, T))
    assert constant(0.1)(3) == 0.1
