"""srtheory.torch.curvature: HVP by three methods, third-order term, fused call, fd restore."""

import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from srtheory.testing import assert_close, tolerance  # noqa: E402
from srtheory.torch import curvature as tc  # noqa: E402
from srtheory.torch.models import mlp, torch_loss  # noqa: E402

torch.set_num_threads(1)

EXACT = tolerance(np.float64, factor=100)
FD2 = tolerance(
    np.float64, factor=100, power=0.5
)  # second difference: O(u^(1/2)), see default_fd_step
FD1 = tolerance(np.float64, factor=100, power=2 / 3)  # central difference, order-1 step: O(u^(2/3))


@pytest.fixture
def problem(rng):
    X = torch.tensor(rng.standard_normal((9, 3)))
    Y = torch.tensor(rng.standard_normal((9, 2)))
    model = mlp([3, 5, 2], activation="tanh", seed=7)
    params = list(model.parameters())
    n = sum(p.numel() for p in params)
    return model, params, torch_loss(model, X, Y), n


def test_import_without_torch_says_how_to_install():
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import srtheory, srtheory.curvature, srtheory.spectral\n"
        "try:\n    import srtheory.torch\nexcept ImportError as e:\n    print('MSG', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert (
        "pip install torch==2.13.0" in out.stdout and 'pip install "srtheory[torch]"' in out.stdout
    )


def test_reference_package_does_not_import_torch():
    code = (
        "import sys, srtheory, srtheory.curvature, srtheory.spectral, srtheory.eigengrad\n"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_hvp_methods_agree_and_are_symmetric(problem, rng):
    model, params, lf, n = problem
    u, v = (torch.tensor(rng.standard_normal(n)) for _ in range(2))
    hv = tc.hvp(lf, params, v)
    hu = tc.hvp(lf, params, u)
    # defining identity of a Hessian: uᵀHv = vᵀHu
    assert float(u @ hv) == pytest.approx(float(v @ hu), rel=EXACT)
    names = [name for name, _ in model.named_parameters()]
    X, Y = torch.tensor(rng.standard_normal((9, 3))), torch.tensor(rng.standard_normal((9, 2)))

    def crit(out, t):
        return 0.5 * ((out - t) ** 2).sum(dim=1).mean()

    floss = tc.module_loss(model, crit, X, target=Y)
    assert names  # module_loss works in parameter order
    assert_close(
        tc.hvp(floss, params, v, method="func").numpy(),
        tc.hvp(floss, params, v).numpy(),
        rtol=EXACT,
        what="func vs double backward",
    )
    assert_close(tc.hvp(lf, params, v, method="fd").numpy(), hv.numpy(), rtol=FD1, what="fd hvp")
    # the matvec operator reuses one gradient graph and gives the same products
    mv = tc.hvp_operator(lf, params)
    assert_close(mv(v).numpy(), hv.numpy(), rtol=EXACT, what="hvp_operator")


def test_tuple_vectors_accepted(problem, rng):
    _, params, lf, n = problem
    v = torch.tensor(rng.standard_normal(n))
    parts = tuple(t.clone() for t in torch.split(v, [p.numel() for p in params]))
    parts = tuple(t.view_as(p) for t, p in zip(parts, params))
    assert torch.equal(tc.hvp(lf, params, parts), tc.hvp(lf, params, v))
    assert torch.equal(tc.third_order(lf, params, parts), tc.third_order(lf, params, v))


def test_third_order_is_directional_derivative_of_vHv(problem, rng):
    """uᵀ∇(vᵀHv) = d/dt vᵀH(w + t u)v, checked by a central difference of exact HVPs."""
    _, params, lf, n = problem
    u, v = (torch.tensor(rng.standard_normal(n)) for _ in range(2))
    t3 = tc.third_order(lf, params, v)
    h = 1e-5
    saved = [p.detach().clone() for p in params]
    vals = []
    for c in (h, -h):
        with torch.no_grad():
            for p, s, ui in zip(params, saved, torch.split(u, [p.numel() for p in params])):
                p.copy_(s + c * ui.view_as(p))
        vals.append(float(v @ tc.hvp(lf, params, v)))
    with torch.no_grad():
        for p, s in zip(params, saved):
            p.copy_(s)
    fd = (vals[0] - vals[1]) / (2 * h)
    # central difference with h = 1e-5: truncation ~h²·|∇⁵L| ≈ 1e-10, rounding ~u/h ≈ 2e-11
    assert float(u @ t3) == pytest.approx(fd, rel=1e-7)
    # negative control: a third-order term off by 1e-3 fails the same check
    assert float(u @ (t3 * (1 + 1e-3))) != pytest.approx(fd, rel=1e-7)


def test_fused_exact_vs_fd(problem, rng):
    _, params, lf, n = problem
    v = torch.tensor(rng.standard_normal(n))
    v = v / v.norm()
    ex = tc.fused_derivatives(lf, params, v, method="exact")
    calls = []

    def counted():
        calls.append(1)
        return lf()

    fd = tc.fused_derivatives(counted, params, v, method="fd")
    assert len(calls) == 3 and fd.n_grad_evals == 3 and ex.n_grad_evals == 1
    assert torch.equal(fd.grad, ex.grad)
    assert fd.loss == ex.loss == pytest.approx(lf().item())
    assert_close(fd.hvp.numpy(), ex.hvp.numpy(), rtol=FD2, what="fd Hv")
    assert_close(fd.third_order.numpy(), ex.third_order.numpy(), rtol=FD2, what="fd third order")
    # negative control: the checker rejects a third-order term perturbed by 1e-3
    with pytest.raises(AssertionError):
        assert_close(fd.third_order.numpy() * (1 + 1e-3), ex.third_order.numpy(), rtol=FD2)


def test_fd_restores_parameters_exactly_even_on_error(problem, rng):
    _, params, lf, n = problem
    before = [p.detach().clone() for p in params]
    v = torch.tensor(rng.standard_normal(n))
    tc.fused_derivatives(lf, params, v, method="fd")
    tc.hvp(lf, params, v, method="fd")
    assert all(torch.equal(p, b) for p, b in zip(params, before))
    calls = []

    def failing():
        calls.append(1)
        if len(calls) == 2:  # raise at w + εv, with the parameters perturbed
            assert not all(torch.equal(p, b) for p, b in zip(params, before))
            raise RuntimeError("boom")
        return lf()

    with pytest.raises(RuntimeError, match="boom"):
        tc.fused_derivatives(failing, params, v, method="fd")
    assert len(calls) == 2
    assert all(torch.equal(p, b) for p, b in zip(params, before))


def test_default_fd_step_rule(problem):
    _, params, _, n = problem
    v = torch.full((n,), 2.0, dtype=torch.float64)
    w = torch.cat([p.detach().reshape(-1) for p in params]).norm().item()
    u = np.finfo(np.float64).eps
    assert tc.default_fd_step(params, v, order=1) == pytest.approx(
        u ** (1 / 3) * max(1, w) / v.norm().item()
    )
    assert tc.default_fd_step(params, v, order=2, dtype=torch.float32) == pytest.approx(
        np.finfo(np.float32).eps ** 0.25 * max(1, w) / v.norm().item()
    )
    with pytest.raises(ValueError, match="order"):
        tc.default_fd_step(params, v, order=3)


def test_bad_input_raises_value_error(problem):
    _, params, lf, n = problem
    v = torch.ones(n, dtype=torch.float64)
    with pytest.raises(ValueError, match="shape"):
        tc.hvp(lf, params, torch.ones(n + 1, dtype=torch.float64))
    with pytest.raises(ValueError, match="NaN"):
        tc.hvp(lf, params, torch.full((n,), float("nan"), dtype=torch.float64))
    with pytest.raises(ValueError, match="parts"):
        tc.hvp(lf, params, (v,))
    with pytest.raises(ValueError, match="method"):
        tc.hvp(lf, params, v, method="bogus")
    with pytest.raises(ValueError, match="callable"):
        tc.hvp(3.0, params, v)
    with pytest.raises(ValueError, match="scalar"):
        tc.gradient(lambda: params[0] * 1.0, params)
    with pytest.raises(ValueError, match="zero vector"):
        tc.fused_derivatives(lf, params, torch.zeros(n, dtype=torch.float64), method="fd")
    with pytest.raises(ValueError, match="too small"):
        tc.fused_derivatives(lf, params, v, method="fd", eps=1e-300)
    with pytest.raises(ValueError, match="module_loss"):
        tc.hvp(lf, params, v, method="func")  # a zero-argument closure cannot be used functionally
    with pytest.raises(ValueError, match="empty"):
        tc.gradient(lf, [])


def test_quadratic_loss_has_zero_third_order():
    w = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    A = torch.tensor([[2.0, 1.0], [1.0, 3.0]], dtype=torch.float64)

    def loss():
        return 0.5 * w @ A @ w

    d = tc.fused_derivatives(loss, [w], torch.tensor([1.0, 0.0], dtype=torch.float64))
    assert torch.equal(d.third_order, torch.zeros(2, dtype=torch.float64))
    assert torch.allclose(d.hvp, A[:, 0])
