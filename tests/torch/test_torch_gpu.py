"""The parity checks in float32, on CUDA (marker ``gpu``, skipped without a device) and on the CPU.

float32 tolerances (u₃₂ = 1.19e-7), each against the float64 NumPy reference at the same weights:

* exact gradient / Hv / ∇(vᵀHv): ``tolerance(float32, factor=10)`` = 1.2e-6 -- a handful of
  roundings per entry, summed over layers of width ≤ 6; observed ≤ 2e-7 on the CPU.
* fd, fused (step ε = u^(1/4)·s ≈ 0.019·s): truncation O(ε²) ≈ 3.5e-4 and rounding O(u/ε²)
  ≈ 3.5e-4, times derivative-ratio constants of O(1–10): ``tolerance(float32, factor=30,
  power=0.5)`` = 1.0e-2; observed ≤ 2.8e-3 (third order) and ≤ 2.5e-4 (Hv) on the CPU.
* fd Hv with the order-1 step (ε = u^(1/3)·s): O(u^(2/3)) = 2.4e-5; ``tolerance(float32,
  factor=10, power=2/3)`` = 2.4e-4; observed ≤ 4.8e-5.
* ρ by Lanczos at tol 1e-5: the Ritz residual bounds |θ − λ| ≤ 1e-5·|θ|; observed ≤ 1.4e-7.

On CUDA TF32 is switched off (it would round matmul/conv inputs to 10 mantissa bits, ~1e-3).
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from srtheory import curvature, oracle  # noqa: E402
from srtheory.testing import assert_close, planted_symmetric, tolerance  # noqa: E402
from srtheory.spectral import EigConfig  # noqa: E402
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

EXACT32 = tolerance(np.float32, factor=10)
FD32 = tolerance(np.float32, factor=30, power=0.5)
FD1_32 = tolerance(np.float32, factor=10, power=2 / 3)

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]


@pytest.fixture(autouse=True)
def _no_tf32():
    if not torch.cuda.is_available():
        yield
        return
    old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def _case(name, rng, device):
    if name == "cnn":
        X, Y = rng.standard_normal((5, 1, 6, 6)), rng.integers(0, 3, 5)
        model = small_cnn(seed=1)
        f = numpy_small_cnn_loss(X, Y)
        loss = "ce"
    else:
        sizes, act, loss = {
            "mlp_tanh_mse": ([3, 5, 2], "tanh", "mse"),
            "mlp_softplus_ce": ([3, 6, 3], "softplus", "ce"),
        }[name]
        X = rng.standard_normal((8, sizes[0]))
        Y = rng.integers(0, sizes[-1], 8) if loss == "ce" else rng.standard_normal((8, sizes[-1]))
        model = mlp(sizes, activation=act, seed=2)
        f = numpy_mlp_loss(sizes, X, Y, activation=act, loss=loss)
    x = flat_params(model)  # float64 weights; the float32 model rounds them, the reference uses x32
    model = model.to(device=device, dtype=torch.float32)
    x32 = flat_params(model)
    Yt = torch.tensor(Y, device=device)
    Yt = Yt.float() if loss == "mse" else Yt
    lf = torch_loss(model, torch.tensor(X, device=device, dtype=torch.float32), Yt, loss=loss)
    del x
    return model, lf, f, x32


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ["mlp_tanh_mse", "mlp_softplus_ce", "cnn"])
def test_float32_derivatives_match_reference(name, device, rng):
    model, lf, f, x = _case(name, rng, device)
    params = list(model.parameters())
    v = rng.standard_normal(x.size)
    vt = torch.tensor(v, device=device, dtype=torch.float32)
    ref = curvature.fused_derivatives(f, x, np.float32(v).astype(np.float64))
    ex = tc.fused_derivatives(lf, params, vt, method="exact")
    for field in ("grad", "hvp", "third_order"):
        assert_close(
            getattr(ex, field).double().cpu().numpy(),
            getattr(ref, field),
            rtol=EXACT32,
            what=f"float32 exact {field} on {device}",
        )
    fd = tc.fused_derivatives(lf, params, vt, method="fd")
    for field in ("hvp", "third_order"):
        assert_close(
            getattr(fd, field).double().cpu().numpy(),
            getattr(ref, field),
            rtol=FD32,
            what=f"float32 fd {field} on {device}",
        )
    h1 = tc.hvp(lf, params, vt, method="fd")
    assert_close(
        h1.double().cpu().numpy(), ref.hvp, rtol=FD1_32, what=f"float32 fd hvp on {device}"
    )
    res = ts.lanczos(tc.hvp_operator(lf, params), torch.ones_like(vt), tol=1e-5)
    rho = oracle.dense_spectral_radius(oracle.hessian(f, x)).rho
    assert res.converged and res.eigvec.device.type == device
    assert res.rho == pytest.approx(rho, rel=1e-5)


@pytest.mark.parametrize("device", DEVICES)
def test_float32_solvers_on_planted_spectrum(device, rng):
    A, _ = planted_symmetric(np.r_[-3.0, np.linspace(-1.0, 2.0, 39)], rng)
    At = torch.tensor(A, device=device, dtype=torch.float32)
    v0 = torch.ones(40, device=device)
    for res in (
        ts.lanczos(At, v0, tol=1e-5),
        ts.spectral_radius(At, v0, tol=1e-5),
        ts.power_iteration(At, v0, tol=1e-5, criteria="residual"),
    ):
        assert res.converged and res.eigval == pytest.approx(-3.0, rel=1e-5)
        # honest residual in float32: recomputation agrees to rounding (u₃₂·‖A‖·√n ≈ 1e-5 absolute)
        r = float((At @ res.eigvec - res.eigval * res.eigvec).norm())
        assert r == pytest.approx(res.residual, abs=100 * float(np.finfo(np.float32).eps) * 3.0)


@pytest.mark.parametrize("device", DEVICES)
def test_float32_srr_steps_track_float64(device, rng):
    """Four SRR-fd steps in float32 on the device vs the same steps in float64 on the CPU.
    The fd direction is accurate to ~FD32 relative and enters the weights scaled by lr·μ, so the
    weights agree to FD32 relative."""
    X, Y = rng.standard_normal((12, 3)), rng.standard_normal((12, 2))
    out = {}
    for dev, dtype in (("cpu", torch.float64), (device, torch.float32)):
        model = mlp([3, 5, 2], seed=5).to(device=dev, dtype=dtype)
        opt = SRR(
            model.parameters(),
            torch.optim.SGD,
            lr=0.1,
            srr=SRRConfig(
                mu=0.5, derivative="fd", eig=EigConfig(max_iter=1), skip_nonconverged=False
            ),
        )
        lf = torch_loss(
            model,
            torch.tensor(X, device=dev, dtype=dtype),
            torch.tensor(Y, device=dev, dtype=dtype),
        )

        def closure(opt=opt, lf=lf):
            opt.zero_grad()
            loss = lf()
            loss.backward()
            return loss

        for _ in range(4):
            opt.step(closure)
        out[dtype] = flat_params(model)
    assert_close(out[torch.float32], out[torch.float64], rtol=FD32, what=f"float32 SRR on {device}")
