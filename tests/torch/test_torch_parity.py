"""Parity of the torch backend with the NumPy reference, in float64 on the CPU.

The same networks exist in both backends (``srtheory.torch.models``: torch modules and their
autograd.numpy twins over the flat parameter vector), with identical weights.  Exact paths must
agree to near rounding; finite-difference paths within their O(ε²) truncation bound (plus the
rounding term), see each tolerance.
"""

import types

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from srtheory import algorithms, curvature, oracle, spectral  # noqa: E402
from srtheory.optimizers import sgd  # noqa: E402
from srtheory.testing import assert_close, tolerance  # noqa: E402
from srtheory.torch import SRR, SRRConfig  # noqa: E402
from srtheory.torch import curvature as tc  # noqa: E402
from srtheory.torch import spectral as ts  # noqa: E402
from srtheory.torch.models import (  # noqa: E402
    flat_params,
    mlp,
    numpy_mlp_loss,
    numpy_small_cnn_loss,
    small_cnn,
    torch_loss,
)

torch.set_num_threads(1)

# Near rounding for exact paths: both backends evaluate the same expressions in float64 with
# different summation orders; relative differences observed are ~1e-15 (a few hundred u at most
# after the ~30 matvecs of an eigen-solve).
EXACT = tolerance(np.float64, factor=100)
# fd paths: the step ε = u^(1/4)·s makes both the O(ε²) truncation and the O(u/ε²) rounding
# ~u^(1/2) ≈ 1.5e-8 relative (default_fd_step); the constants (‖∇⁴L‖, ‖∇⁵L‖ relative to the
# quantity) are O(1)–O(10) on these networks; observed ~1e-8 – 5e-8.
FD = tolerance(np.float64, factor=100, power=0.5)


def _case(name, rng):
    """(torch model, torch loss closure, numpy twin f, x) with identical weights and data."""
    if name == "cnn":
        X = rng.standard_normal((5, 1, 6, 6))
        Y = rng.integers(0, 3, 5)
        model = small_cnn(seed=1)
        f = numpy_small_cnn_loss(X, Y)
        lf = torch_loss(model, torch.tensor(X), torch.tensor(Y), loss="ce")
        return model, lf, f, flat_params(model)
    sizes, act, loss = {
        "mlp_tanh_mse": ([3, 5, 2], "tanh", "mse"),
        "mlp_sigmoid_mse": ([4, 4, 3, 2], "sigmoid", "mse"),
        "mlp_softplus_ce": ([3, 6, 3], "softplus", "ce"),
    }[name]
    X = rng.standard_normal((8, sizes[0]))
    Y = rng.integers(0, sizes[-1], 8) if loss == "ce" else rng.standard_normal((8, sizes[-1]))
    model = mlp(sizes, activation=act, seed=2)
    f = numpy_mlp_loss(sizes, X, Y, activation=act, loss=loss)
    lf = torch_loss(model, torch.tensor(X), torch.tensor(Y), loss=loss)
    return model, lf, f, flat_params(model)


CASES = ["mlp_tanh_mse", "mlp_sigmoid_mse", "mlp_softplus_ce", "cnn"]


@pytest.mark.parametrize("name", CASES)
def test_derivatives_match_reference(name, rng):
    model, lf, f, x = _case(name, rng)
    v = rng.standard_normal(x.size)
    vt = torch.tensor(v)
    params = list(model.parameters())
    assert_close(lf().item(), f(x), rtol=EXACT, what="loss")
    assert_close(
        tc.gradient(lf, params).numpy(), curvature.gradient(f, x), rtol=EXACT, what="gradient"
    )
    hv_ref = curvature.hvp(f, x, v)
    assert_close(hv_ref, oracle.hessian(f, x) @ v, rtol=EXACT, what="reference hvp vs dense")
    for method in ("double_backward", "exact"):
        assert_close(tc.hvp(lf, params, vt, method=method).numpy(), hv_ref, rtol=EXACT, what=method)
    ref = curvature.fused_derivatives(f, x, v, method="exact")
    got = tc.fused_derivatives(lf, params, vt, method="exact")
    for field in ("grad", "hvp", "third_order"):
        assert_close(
            getattr(got, field).numpy(), getattr(ref, field), rtol=EXACT, what=f"exact {field}"
        )
    assert got.n_grad_evals == ref.n_grad_evals
    assert_close(
        tc.third_order(lf, params, vt).numpy(), ref.third_order, rtol=EXACT, what="third_order"
    )
    # finite differences: same step rule as the reference, within the O(ε²) bound of the exact value
    assert tc.default_fd_step(params, vt, order=2) == pytest.approx(
        curvature.default_fd_step(x, v, order=2), rel=EXACT
    )
    fd = tc.fused_derivatives(lf, params, vt, method="fd")
    assert fd.n_grad_evals == 3
    assert_close(fd.hvp.numpy(), ref.hvp, rtol=FD, what="fd hvp")
    assert_close(fd.third_order.numpy(), ref.third_order, rtol=FD, what="fd third order")
    assert_close(
        tc.hvp(lf, params, vt, method="fd").numpy(), hv_ref, rtol=FD, what="fd hvp (order 1)"
    )
    # the torch fd equals the reference fd up to rounding amplified by 1/ε²: u/ε² ≈ u^(1/2)
    ref_fd = curvature.fused_derivatives(f, x, v, method="fd")
    assert_close(fd.third_order.numpy(), ref_fd.third_order, rtol=FD, what="fd vs reference fd")


def test_func_hvp_matches_reference(rng):
    X, Y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    model = mlp([3, 4, 2], seed=3)
    f = numpy_mlp_loss([3, 4, 2], X, Y)
    x, v = flat_params(model), rng.standard_normal(flat_params(model).size)
    loss = tc.module_loss(
        model,
        lambda out, t: 0.5 * ((out - t) ** 2).sum(dim=1).mean(),
        torch.tensor(X),
        target=torch.tensor(Y),
    )
    got = tc.hvp(loss, list(model.parameters()), torch.tensor(v), method="func")
    assert_close(got.numpy(), curvature.hvp(f, x, v), rtol=EXACT, what="torch.func hvp")


@pytest.mark.parametrize("name", ["mlp_tanh_mse", "mlp_softplus_ce", "cnn"])
def test_eigen_solvers_match_reference(name, rng):
    model, lf, f, x = _case(name, rng)
    params = list(model.parameters())
    mv_ref = curvature.hvp_operator(f, x)
    mv_t = tc.hvp_operator(lf, params)
    v0 = np.full(x.size, 1.0 / np.sqrt(x.size))
    dense = oracle.dense_spectral_radius(oracle.hessian(f, x))
    for solver, kw in [
        ("power_iteration", dict(tol=1e-3)),  # the paper's Algorithm 1 with its defaults
        ("lanczos", dict(tol=1e-10)),
        ("spectral_radius", dict(method="lanczos", tol=1e-10)),
    ]:
        ref = getattr(spectral, solver)(mv_ref, v0, **kw)
        got = getattr(ts, solver)(mv_t, torch.tensor(v0), **kw)
        assert (got.n_matvecs, got.n_iter, got.converged, got.tie) == (
            ref.n_matvecs,
            ref.n_iter,
            ref.converged,
            ref.tie,
        ), solver
        assert got.eigval == pytest.approx(ref.eigval, rel=EXACT, abs=EXACT)
        assert got.residual == pytest.approx(ref.residual, rel=1e-6, abs=EXACT * ref.rho)
        assert_close(
            got.eigvec.numpy(),
            ref.eigvec,
            rtol=max(EXACT, 1e3 * ref.residual / ref.rho),
            what=f"{solver} eigvec",
        )
        if solver != "power_iteration":
            assert got.rho == pytest.approx(dense.rho, rel=1e-9)


def _objective(f_factory, X, Y, n):
    """A deterministic two-batch StochasticObjective-like object for srr_train."""
    halves = [np.arange(0, n // 2), np.arange(n // 2, n)]

    def loss(x, batch):
        return f_factory(X[batch], Y[batch])(x)

    return types.SimpleNamespace(
        loss=loss, n_samples=n, batches=lambda rng, bs: iter(halves)
    ), halves


@pytest.mark.parametrize(
    ("method", "eig"),
    [("exact", "power"), ("fd", "power"), ("exact", "lanczos"), ("exact", "spectral_radius")],
)
def test_srr_steps_match_reference_srr_train(method, eig, rng):
    """Several SRR steps (2 epochs × 2 batches, SGD) against srtheory.algorithms.srr_train."""
    sizes = [3, 6, 2]
    n = 10
    X, Y = rng.standard_normal((n, sizes[0])), rng.standard_normal((n, sizes[-1]))
    model = mlp(sizes, activation="tanh", seed=4)
    x0 = flat_params(model)
    obj, halves = _objective(lambda Xb, Yb: numpy_mlp_loss(sizes, Xb, Yb), X, Y, n)
    lr = 0.2
    # one SRRConfig for both backends: the same options, the same names
    config = SRRConfig(
        mu=0.5, K=0.1, derivative=method, eig=spectral.EigConfig(method=eig, tol=1e-6, max_iter=200)
    )
    ref = algorithms.srr_train(
        obj,
        x0,
        rng=np.random.default_rng(0),
        srr=config,
        optimizer=sgd(lr),
        epochs=2,
        batch_size=n // 2,
        monitor=algorithms.Monitor(warn=False),
    )
    opt = SRR(model.parameters(), torch.optim.SGD, srr=config, lr=lr)
    Xt, Yt = torch.tensor(X), torch.tensor(Y)
    for _ in range(2):
        for b in halves:
            lf = torch_loss(model, Xt[b], Yt[b])
            if method == "fd":

                def closure(lf=lf):
                    opt.zero_grad()
                    loss = lf()
                    loss.backward()
                    return loss
            else:
                closure = lf
            opt.step(closure)
    c = opt.counters
    assert (c.steps, c.nonconverged, c.skipped) == (
        ref.n_batches,
        ref.n_eig_nonconverged,
        ref.n_skipped,
    )
    assert c.penalized == ref.n_active
    # exact: the same arithmetic up to summation order.  fd: the torch matvec uses the order-2
    # step (to reuse its gradients for the third-order term) where the reference matvec uses the
    # order-1 step, so each uses an O(u^(1/2)) accurate direction; after 4 SGD steps with lr 0.2
    # the weights agree to that order.
    rtol = EXACT if method == "exact" else FD
    assert_close(flat_params(model), ref.x, rtol=rtol, what=f"weights after 4 SRR steps ({method})")
    # observed: exact 1.6e-16 (weights), 3.4e-16 (eigenvector); fd 2.1e-9, 6.2e-9
    assert_close(opt.eigenvector.numpy(), ref.eigvec, rtol=rtol, what="warm-start eigenvector")
