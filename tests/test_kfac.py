"""K-FAC (SRR_NOTES §6, Algorithm 1b): factors, damped inverse, preconditioners.

The identities tested here, against dense references built by autograd / the oracle:
* the hand-written back-propagation gives autograd's gradient (so ``g`` and ``abar`` are right);
* with one sample, every layer's GGN / empirical-Fisher block IS ``G (x) A`` (exact Kronecker);
* for a one-layer linear model with squared error, the K-FAC block is the exact Hessian, so the
  preconditioned gradient equals the dense damped Newton solve ``(H + damping I)^{-1} g``;
* ``A``, ``G`` symmetric PSD; ``(G (x) A + damping I) P(r) = r``; ``P`` symmetric positive definite;
* Algorithm 1b (preconditioned power iteration) converges to the dense top eigenpair.
"""

import autograd
import numpy as np
import pytest

from srtheory import oracle
from srtheory.kfac import (
    KFACFactors,
    as_preconditioner,
    diagonal_estimate,
    jacobi_preconditioner,
    kfac_factors,
    kfac_inverse,
    kfac_multiply,
    kfac_precondition,
    kfac_preconditioner,
    mlp_backprop,
)
from srtheory.mlp import homogeneous_index, mlp_forward, mlp_init, mlp_objective, mlp_spec
from srtheory.testing import assert_close, tolerance

ACTS = ["tanh", "sigmoid", "softplus", "relu"]
LOSSES = ["squared", "softmax_ce"]


def _problem(rng, *, sizes=(3, 4, 5, 3), activation="tanh", loss="squared", n=7):
    spec = mlp_spec(sizes, activation=activation, loss=loss)
    theta = mlp_init(spec, rng=rng) + 0.1 * rng.standard_normal(spec.n_params)
    X = rng.standard_normal((n, sizes[0]))
    if loss == "squared":
        T = rng.standard_normal((n, sizes[-1]))
    else:
        T = rng.integers(0, sizes[-1], size=n)
    return spec, theta, X, T


def _blocks(M, spec):
    """Diagonal per-layer blocks of ``M`` (flat layout) in K-FAC's homogeneous ``[W | b]`` order."""
    h = homogeneous_index(spec)
    M, off = M[np.ix_(h, h)], spec.offsets
    return [M[off[i] : off[i + 1], off[i] : off[i + 1]] for i in range(len(spec.shapes))]


def _dense_ggn(spec, theta, X):
    """(1/N) sum_n J_n^T H_n J_n with J_n from autograd, H_n the output Hessian of the loss."""
    total = np.zeros((spec.n_params, spec.n_params))
    for x in X:
        J = autograd.jacobian(lambda t, x=x: mlp_forward(spec, t, x[None, :])[0])(theta)
        y = mlp_forward(spec, theta, x[None, :])[0]
        if spec.loss == "squared":
            H = np.eye(y.size)
        else:
            p = np.exp(y - y.max())
            p /= p.sum()
            H = np.diag(p) - np.outer(p, p)
        total += J.T @ H @ J
    return total / X.shape[0]


def assert_psd(M, *, what):
    """Checker: symmetric to round-off and no eigenvalue below -tol * max|eig|."""
    tol = tolerance(factor=100)
    scale = max(float(np.max(np.abs(M))), np.finfo(float).tiny)
    if not np.max(np.abs(M - M.T)) <= tol * scale:
        raise AssertionError(f"{what} is not symmetric")
    lo = float(np.linalg.eigvalsh(M).min())
    if not lo >= -tol * scale:
        raise AssertionError(f"{what} has eigenvalue {lo:.3e} < 0")


# ------------------------------------------------------------------------------- layout, backprop


def test_homogeneous_blocks_are_a_permutation_of_the_flat_layout(rng):
    # K-FAC reads theta as the blocks [W_l | b_l]; the gradient it builds from them (Backprop.grad)
    # is returned in the flat layout [vec(W_0), b_0, ...] of srtheory.mlp
    spec, theta, X, T = _problem(rng, sizes=(3, 4, 2))
    h = homogeneous_index(spec)
    np.testing.assert_array_equal(np.sort(h), np.arange(spec.n_params))
    bp = mlp_backprop(spec, theta, X, T)
    blocks = np.concatenate([(d.T @ a / X.shape[0]).reshape(-1) for a, d in zip(bp.abar, bp.delta)])
    np.testing.assert_array_equal(bp.grad()[h], blocks)
    with pytest.raises(AssertionError):  # negative control: the blocks are not the flat layout
        np.testing.assert_array_equal(bp.grad(), blocks)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTS)
def test_backprop_gradient_matches_autograd(rng, activation, loss):
    spec, theta, X, T = _problem(rng, activation=activation, loss=loss)
    f = mlp_objective(spec, X, T)
    bp = mlp_backprop(spec, theta, X, T)
    assert_close(bp.grad(), autograd.grad(f)(theta), rtol=tolerance(factor=100), what="backprop grad")
    assert bp.loss == pytest.approx(float(f(theta)), rel=tolerance(factor=10))


# ---------------------------------------------------------------------------- exactness identities


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTS)
def test_single_sample_blocks_are_exact_kronecker_products(rng, activation, loss):
    # With N = 1: GGN block l = (J_s^T H J_s) (x) (abar abar^T) = G_l (x) A_l exactly; same for the
    # empirical Fisher g g^T.  This checks every factor of every layer against autograd.
    spec, theta, X, T = _problem(rng, activation=activation, loss=loss, n=1)
    f = mlp_objective(spec, X, T)
    ggn = _dense_ggn(spec, theta, X)
    g = autograd.grad(f)(theta)
    for fisher, dense in (("ggn", ggn), ("empirical", np.outer(g, g))):
        F = kfac_factors(spec, theta, X, T, fisher=fisher)
        for l, block in enumerate(_blocks(dense, spec)):
            assert_close(np.kron(F.G[l], F.A[l]), block, rtol=tolerance(factor=100),
                         atol=tolerance(factor=100) * np.abs(dense).max(), what=f"{fisher} layer {l}")


def test_kronecker_identity_fails_for_many_samples_of_a_deep_net(rng):
    # Negative control for the check above: with N > 1 samples K-FAC is an approximation
    # (E[B (x) aa^T] != E[B] (x) E[aa^T]) and the same comparison must fail.
    spec, theta, X, _ = _problem(rng, n=6)
    F = kfac_factors(spec, theta, X)
    block = _blocks(_dense_ggn(spec, theta, X), spec)[0]
    with pytest.raises(AssertionError):
        assert_close(np.kron(F.G[0], F.A[0]), block, rtol=tolerance(factor=100), what="approx")


@pytest.mark.parametrize("damping", [0.0, 1e-3, 1.0])
def test_one_layer_linear_kfac_equals_dense_damped_newton(rng, damping):
    # One linear layer + squared error: H = GGN = I (x) A exactly, so K-FAC's preconditioned gradient
    # is the dense solve (H + damping I)^{-1} g.  Error ~ cond(H) * eps; cond <= ~10 here.
    spec = mlp_spec((4, 3), loss="squared")
    X = rng.standard_normal((30, 4))
    T = rng.standard_normal((30, 3))
    theta = rng.standard_normal(spec.n_params)
    f = mlp_objective(spec, X, T)
    H = oracle.hessian(f, theta)
    g = autograd.grad(f)(theta)
    F = kfac_factors(spec, theta, X)
    np.testing.assert_array_equal(F.G[0], np.eye(3))
    want = np.linalg.solve(H + damping * np.eye(spec.n_params), g)
    got = kfac_precondition(F, g, damping=damping)
    assert_close(got, want, rtol=tolerance(factor=100), what="K-FAC vs dense Newton")
    # negative control: the undamped solve differs from the damped one when damping is large
    if damping == 1.0:
        with pytest.raises(AssertionError):
            assert_close(kfac_precondition(F, g), want, rtol=tolerance(factor=100), what="wrong damping")


@pytest.mark.parametrize("fisher", ["ggn", "empirical", "sampled"])
@pytest.mark.parametrize("loss", LOSSES)
def test_factors_symmetric_psd(rng, fisher, loss):
    spec, theta, X, T = _problem(rng, activation="softplus", loss=loss, n=5)
    F = kfac_factors(spec, theta, X, T, fisher=fisher, rng=rng)
    for l, (a, g) in enumerate(zip(F.A, F.G)):
        np.testing.assert_array_equal(a, a.T)
        np.testing.assert_array_equal(g, g.T)
        assert_psd(a, what=f"A[{l}]")
        assert_psd(g, what=f"G[{l}]")


def test_psd_checker_rejects_indefinite_matrix():
    with pytest.raises(AssertionError, match="eigenvalue"):
        assert_psd(np.diag([1.0, -1e-3]), what="indefinite")
    with pytest.raises(AssertionError, match="symmetric"):
        assert_psd(np.array([[1.0, 0.1], [0.0, 1.0]]), what="asymmetric")


def test_sampled_fisher_is_unbiased_for_ggn():
    # E_t[G_sampled] = G_ggn (t ~ model).  Average of m = 400 draws for one sample: each entry's
    # relative standard error is ~ sqrt(2/m) ~ 0.07 of the diagonal scale; allow 4 standard errors.
    rng = np.random.default_rng(7)
    spec, theta, X, _ = _problem(rng, sizes=(2, 3, 3), loss="softmax_ce", n=1)
    exact = kfac_factors(spec, theta, X).G
    m = 400
    acc = [np.zeros_like(g) for g in exact]
    for _ in range(m):
        for acc_l, g in zip(acc, kfac_factors(spec, theta, X, fisher="sampled", rng=rng).G):
            acc_l += g / m
    for l, (est, g) in enumerate(zip(acc, exact)):
        scale = np.sqrt(np.outer(np.diag(g), np.diag(g)))
        assert np.all(np.abs(est - g) <= 4 * np.sqrt(2.0 / m) * scale + tolerance(factor=100)), l


# --------------------------------------------------------------------------------- inverse identities


@pytest.mark.parametrize("damping", [0.0, 1e-2, 10.0])
def test_precondition_inverts_damped_kronecker_product(rng, damping):
    spec, theta, X, _ = _problem(rng, sizes=(2, 3, 2), n=20)
    F = kfac_factors(spec, theta, X)
    inv = kfac_inverse(F, damping=damping)
    r = rng.standard_normal(spec.n_params)
    u = rng.standard_normal(spec.n_params)
    Pr = kfac_precondition(inv, r)
    # (G (x) A + damping I) P(r) = r, and P(M u) = u, in the block form V -> G V A + damping V
    assert_close(kfac_multiply(F, Pr, damping=damping), r, rtol=tolerance(factor=1e4),  # cond(GxA) ~ 1e2
                 what="M P r")
    assert_close(kfac_precondition(inv, kfac_multiply(F, u, damping=damping)), u, rtol=tolerance(factor=1e4),
                 what="P M u")
    # the block form equals the dense Kronecker matrix
    dense_h = np.zeros((spec.n_params,) * 2)  # in the homogeneous order of the blocks
    for l, (a, g) in enumerate(zip(F.A, F.G)):
        o = spec.offsets
        dense_h[o[l] : o[l + 1], o[l] : o[l + 1]] = np.kron(g, a)
    h = homogeneous_index(spec)
    dense = np.empty_like(dense_h)
    dense[np.ix_(h, h)] = dense_h  # the same matrix in the flat layout
    assert_close(kfac_multiply(F, u), dense @ u, rtol=tolerance(factor=100), what="block form")
    # P symmetric positive definite
    assert u @ kfac_precondition(inv, r) == pytest.approx(r @ kfac_precondition(inv, u), rel=tolerance(factor=1e4))
    assert r @ Pr > 0
    # KFACFactors in place of a KFACInverse gives the same answer
    np.testing.assert_allclose(kfac_precondition(F, r, damping=damping), Pr, rtol=0, atol=0)


def test_identity_check_rejects_wrong_inverse(rng):
    # negative control: dropping the damping inside P is detected by the M P r = r check
    spec, theta, X, _ = _problem(rng, sizes=(2, 3, 2), n=20)
    F = kfac_factors(spec, theta, X)
    r = rng.standard_normal(spec.n_params)
    with pytest.raises(AssertionError):
        assert_close(kfac_multiply(F, kfac_precondition(F, r, damping=0.0), damping=0.1), r,
                     rtol=tolerance(factor=1e4), what="wrong damping")


def test_undamped_singular_factors_raise(rng):
    # 2 samples, 4 inputs (+bias): A has rank 2, so G (x) A is singular; damping > 0 fixes it
    spec, theta, X, _ = _problem(rng, sizes=(4, 3), n=2)
    F = kfac_factors(spec, theta, X)
    with pytest.raises(ValueError, match="singular"):
        kfac_inverse(F, damping=0.0)
    assert np.all(np.isfinite(kfac_precondition(F, np.ones(spec.n_params), damping=1e-3)))


# ------------------------------------------------------------------------------ Algorithm 1b


def test_preconditioned_power_iteration_finds_dense_top_eigenpair():
    # Alg. 1b: v <- normalize(v + alpha P(Hv - lambda v)) with the K-FAC P of the same batch.
    # Step size: for P = (F + d I)^{-1} with F PSD the update is stable when
    # alpha * (lambda_max - lambda_min) / d < 2; here d = 1, spectrum in [-0.83, 2.10], alpha = 0.3.
    spectral = pytest.importorskip("srtheory.spectral")
    from srtheory.curvature import hvp_operator

    rng = np.random.default_rng(3)
    spec = mlp_spec((3, 5, 2), activation="tanh", loss="squared")
    X = rng.standard_normal((40, 3))
    T = np.tanh(X @ rng.standard_normal((3, 2)))
    theta = mlp_init(spec, rng=rng)
    f = mlp_objective(spec, X, T)
    dense = oracle.dense_spectral_radius(oracle.hessian(f, theta))
    assert dense.eigval > 0 and dense.gap_info.rel_gap > 0.2  # a well-separated target
    P = kfac_preconditioner(kfac_factors(spec, theta, X), damping=1.0)
    v0 = np.ones(spec.n_params) / np.sqrt(spec.n_params)
    res = spectral.power_iteration(hvp_operator(f, theta), v0, tol=1e-10, max_iter=2000, alpha=0.3,
                                   precond=P, criteria="residual")
    assert res.converged
    # eigenvalue error ~ residual^2 / gap, eigenvector error ~ residual / gap (gap = 0.44)
    assert res.eigval == pytest.approx(dense.eigval, rel=tolerance(factor=1e4))  # ||r|| <= 2e-10
    assert abs(res.eigvec @ dense.eigvec) == pytest.approx(1.0, abs=tolerance(factor=1e4))
    # negative control: above the stability bound (alpha = 1: 1 * 2.93 / 1 > 2) the same
    # iteration does not converge, so the check above is not vacuous
    bad = spectral.power_iteration(hvp_operator(f, theta), v0, tol=1e-10, max_iter=300, alpha=1.0,
                                   precond=P, criteria="residual")
    assert not bad.converged and abs(bad.eigval - dense.eigval) > 0.1


# ---------------------------------------------------------------------------- generic preconditioners


def test_diagonal_estimate_exact_for_diagonal_matrix_and_jacobi(rng):
    d = np.array([3.0, -2.0, 0.5, 4.0])
    est = diagonal_estimate(lambda v: d * v, 4, rng=rng, n_probes=1)
    np.testing.assert_array_equal(est, d)  # z_i^2 = 1 and no off-diagonal terms
    P = jacobi_preconditioner(est, damping=0.5)
    np.testing.assert_allclose(P(np.ones(4)), 1.0 / (np.abs(d) + 0.5), rtol=tolerance(), atol=0)
    # negative control: for a non-diagonal matrix one probe is not exact
    M = np.array([[1.0, 0.7], [0.7, 2.0]])
    assert not np.allclose(diagonal_estimate(lambda v: M @ v, 2, rng=rng, n_probes=1), np.diag(M))


def test_as_preconditioner_forms_and_errors():
    P = as_preconditioner(None, n=3)
    np.testing.assert_array_equal(P(np.array([1.0, 2.0, 3.0])), [1.0, 2.0, 3.0])
    P = as_preconditioner(np.array([2.0, 4.0, 8.0]), n=3)
    np.testing.assert_array_equal(P(np.ones(3)), [0.5, 0.25, 0.125])
    with pytest.raises(ValueError, match="> 0"):
        as_preconditioner(np.array([1.0, 0.0, 1.0]), n=3)
    bad = as_preconditioner(lambda r: r * np.nan, n=3)
    with pytest.raises(ValueError, match="NaN"):
        bad(np.ones(3))
    with pytest.raises(ValueError, match="damping"):
        jacobi_preconditioner(np.array([1.0, 0.0]))


# ---------------------------------------------------------------------------------------- bad input


def test_bad_inputs(rng):
    with pytest.raises(ValueError, match="K-FAC supports"):
        kfac_factors(mlp_spec((2, 1), loss="logistic"), np.zeros(3), np.zeros((1, 2)))
    spec, theta, X, T = _problem(rng, loss="softmax_ce")
    with pytest.raises(ValueError, match="length"):
        kfac_factors(spec, theta[:-1], X)
    with pytest.raises(ValueError, match="shape"):
        kfac_factors(spec, theta, X[:, :2])
    with pytest.raises(ValueError, match="labels"):
        mlp_backprop(spec, theta, X, T + 10)
    with pytest.raises(ValueError, match="rng"):
        kfac_factors(spec, theta, X, fisher="sampled")
    with pytest.raises(ValueError, match="fisher"):
        kfac_factors(spec, theta, X, fisher="true")
    with pytest.raises(ValueError, match="NaN"):
        kfac_factors(spec, theta, np.full_like(X, np.nan))
    F = kfac_factors(spec, theta, X)
    with pytest.raises(ValueError, match="damping"):
        kfac_inverse(F, damping=-1.0)
    inv = kfac_inverse(F, damping=0.1)
    with pytest.raises(ValueError, match="damping"):
        kfac_precondition(inv, np.ones(spec.n_params), damping=0.2)
    with pytest.raises(ValueError, match="NaN"):
        kfac_precondition(inv, np.full(spec.n_params, np.nan))
    with pytest.raises(ValueError, match="KFAC"):
        kfac_precondition(np.eye(3), np.ones(3))
    assert isinstance(F, KFACFactors)
