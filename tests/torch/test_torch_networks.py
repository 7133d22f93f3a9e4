"""The torch backend on the networks people train: ReLU, BatchNorm, frozen layers,
data loaders, half precision, non-deterministic losses.  Each test names what the code before
the fixes did (measured with the old code at the same commit's parent)."""

import math
import warnings

import pytest

torch = pytest.importorskip("torch")

from torch import nn
from torch.nn import functional as F

from srtheory.spectral import EigConfig
from srtheory.torch import SRR, SRRConfig
from srtheory.torch import curvature as tc
from srtheory.torch.data import data_hvp_operator, data_loss, data_spectral_radius
from srtheory.torch.eigenpairs import eigenpairs
from srtheory.torch.norms import composite_norms
from srtheory.torch.spectral import spectral_radius

torch.set_num_threads(1)


def _flat(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def _fd_closure(opt, model, x, y):
    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        return loss

    return closure


def _cheap(mu=0.1, derivative="fd", **kw):
    return SRRConfig(mu=mu, derivative=derivative, eig=EigConfig(max_iter=1),
                     skip_nonconverged=False, **kw)


def _relu_cnn(dtype=torch.float64, bn=False):
    torch.manual_seed(0)
    layers = [nn.Conv2d(1, 4, 3)]
    if bn:
        layers.append(nn.BatchNorm2d(4))
    layers += [nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 3 * 3, 3)]
    model = nn.Sequential(*layers).to(dtype)
    x = torch.randn(16, 1, 8, 8, dtype=dtype)
    y = torch.randint(0, 3, (16,))
    return model, x, y


def _dense_rho(loss_fn, model):
    n = sum(p.numel() for p in model.parameters())
    op = tc.hvp_operator(loss_fn, model)
    H = torch.stack([op(e) for e in torch.eye(n, dtype=torch.float64)])
    return float(torch.linalg.eigvalsh(0.5 * (H + H.T)).abs().max())


# ------------------------------------------------------------------ fd on non-smooth networks


def test_fd_refused_on_relu_maxpool_network_and_nothing_changes():
    """Before: SRR's fd step on a ReLU network ran, reported the (wrong) ρ as converged and
    applied the penalty (PyHessian's ResNet: ρ 136.8 for a true 9.74).  Now: a ValueError
    naming the operations, before any parameter, buffer, counter or RNG changes."""
    model, x, y = _relu_cnn(bn=True)
    before = _flat(model)
    buffers = [b.clone() for b in model.buffers()]
    opt = SRR(model.parameters(), torch.optim.SGD, lr=0.1, srr=_cheap(), model=model)
    rng = torch.get_rng_state()
    with pytest.raises(ValueError, match=r"C².*max_pool2d, relu"):
        opt.step(_fd_closure(opt, model, x, y))
    assert torch.equal(_flat(model), before)
    assert all(torch.equal(a, b) for a, b in zip(buffers, model.buffers()))
    assert opt.counters.steps == 0 and torch.equal(torch.get_rng_state(), rng)
    assert all(p.grad is None for p in model.parameters())
    # the standalone functions refuse too
    n = before.numel()
    for fn in (lambda: tc.hvp(lambda: F.cross_entropy(model(x), y), model, torch.ones(n),
                              method="fd"),
               lambda: tc.third_order(lambda: F.cross_entropy(model(x), y), model,
                                      torch.ones(n, dtype=torch.float64), method="fd")):
        with pytest.raises(ValueError, match="relu"):
            fn()


def test_exact_is_right_on_the_relu_network_where_fd_is_refused():
    """The exact method is the one that is correct on ReLU networks: its ρ matches the dense
    Hessian of the same loss (float64)."""
    model, x, y = _relu_cnn()
    lf = lambda: F.cross_entropy(model(x), y)
    rho = _dense_rho(lf, model)
    n = sum(p.numel() for p in model.parameters())
    res = spectral_radius(tc.hvp_operator(lf, model), torch.ones(n, dtype=torch.float64), tol=1e-10)
    assert res.converged and abs(res.rho - rho) <= 1e-8 * rho
    opt = SRR(model.parameters(), torch.optim.SGD, lr=0.0,
              srr=SRRConfig(mu=0.1, derivative="exact", eig=EigConfig(method="lanczos", tol=1e-9)))
    opt.step(lf)
    assert opt.last_step.converged and abs(opt.last_step.rho - rho) <= 1e-6 * rho


def test_fd_still_allowed_on_smooth_networks_negative_control():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.GELU(), nn.Linear(6, 3), nn.Softplus()).double()
    x, y = torch.randn(8, 4, dtype=torch.float64), torch.randint(0, 3, (8,))
    opt = SRR(model.parameters(), torch.optim.SGD, lr=0.1, srr=_cheap())
    opt.step(_fd_closure(opt, model, x, y))
    assert opt.counters.steps == 1


def test_fd_refused_from_modules_when_the_closure_returns_a_float():
    """No graph to inspect (the closure returns loss.item()): the model's modules are used."""
    model, x, y = _relu_cnn()
    opt = SRR(model.parameters(), torch.optim.SGD, lr=0.1, srr=_cheap(), model=model)

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        return loss.item()

    with pytest.raises(ValueError, match="ReLU"):
        opt.step(closure)


# ------------------------------------------------------------------ closures


def test_fd_closure_without_backward_raises_naming_both_styles():
    """Before: trained nothing -- parameters unchanged, ρ = 0, converged=True, no error."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2)).double()
    x, y = torch.randn(8, 4, dtype=torch.float64), torch.randint(0, 2, (8,))
    opt = SRR(model.parameters(), torch.optim.SGD, lr=0.1, srr=SRRConfig(derivative="fd"))
    before = _flat(model)
    with pytest.raises(RuntimeError, match=r"loss\.backward\(\).*derivative='exact'") as err:
        opt.step(lambda: F.cross_entropy(model(x), y))
    assert "opt.zero_grad()" in str(err.value)
    assert torch.equal(_flat(model), before) and opt.counters.steps == 0


# ------------------------------------------------------------------ half precision


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_refused(dtype):
    """Before: bfloat16 gave ρ 8.81 for a true 4.28, counted as converged and applied."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2)).to(dtype)
    x, y = torch.randn(8, 4, dtype=dtype), torch.randint(0, 2, (8,))
    before = _flat(model)
    for derivative in ("fd", "exact"):
        opt = SRR(model.parameters(), torch.optim.SGD, lr=0.1, srr=_cheap(derivative=derivative))
        closure = (_fd_closure(opt, model, x, y) if derivative == "fd"
                   else (lambda: F.cross_entropy(model(x), y)))
        with pytest.raises(ValueError, match=r"float32.*autocast"):
            opt.step(closure)
    n = before.numel()
    for method in ("exact", "fd"):
        with pytest.raises(ValueError, match=str(dtype).replace("torch.", "")):
            tc.hvp(lambda: F.cross_entropy(model(x), y), model, torch.ones(n, dtype=dtype),
                   method=method)
    assert torch.equal(_flat(model), before)


# ------------------------------------------------------------------ normalisation layers


class _BN(nn.Module):
    def __init__(self, norm="bn"):
        super().__init__()
        self.lin = nn.Linear(4, 6)
        self.norm = nn.BatchNorm1d(6) if norm == "bn" else nn.LayerNorm(6)
        self.out = nn.Linear(6, 3)

    def forward(self, x):
        return self.out(torch.tanh(self.norm(self.lin(x))))


def _bn_problem(norm="bn"):
    torch.manual_seed(0)
    net = _BN(norm).double()
    with torch.no_grad():
        net.norm.weight.uniform_(0.5, 1.5)
        net.norm.bias.normal_()
    return net, torch.randn(16, 4, dtype=torch.float64), torch.randint(0, 3, (16,))


@pytest.mark.parametrize("norm", ["bn", "ln"])
def test_exact_without_model_warns_from_the_graph(norm):
    """Before: derivative='exact' through BatchNorm/LayerNorm without model= warned nothing
    (third-order term 26 % off)."""
    net, x, y = _bn_problem(norm)
    opt = SRR(net.parameters(), torch.optim.SGD, lr=0.1, srr=_cheap(derivative="exact"))
    name = "batch_norm" if norm == "bn" else "layer_norm"
    with pytest.warns(RuntimeWarning, match=name):
        opt.step(lambda: F.cross_entropy(net(x), y))
    with pytest.warns(RuntimeWarning, match=name):
        tc.fused_derivatives(lambda: F.cross_entropy(net(x), y), net,
                             torch.ones(sum(p.numel() for p in net.parameters()),
                                        dtype=torch.float64))


@pytest.mark.parametrize("norm", ["bn", "ln"])
def test_composite_norms_make_the_exact_third_order_right(norm):
    """composite_norms: same outputs and running statistics as torch's layers, and an exact
    third-order term that matches finite differences (torch's fused layer: ~26 % off), with no
    warning from SRR."""
    net, x, y = _bn_problem(norm)
    ref = _BN(norm).double()
    ref.load_state_dict(net.state_dict())
    composite_norms(net)
    assert torch.allclose(net(x), ref(x), rtol=1e-12, atol=1e-12)
    for b1, b2 in zip(net.buffers(), ref.buffers()):
        assert torch.allclose(b1.double(), b2.double(), rtol=1e-12, atol=1e-14)
    n = sum(p.numel() for p in net.parameters())
    v = torch.randn(n, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    v /= v.norm()
    errs = {}
    for tag, m in (("composite", net), ("torch", ref)):
        lf = lambda m=m: F.cross_entropy(m(x), y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ex = tc.fused_derivatives(lf, m, v, method="exact").third_order
        fd = tc.fused_derivatives(lf, m, v, method="fd", eps=1e-3).third_order
        errs[tag] = float((ex - fd).norm() / fd.norm())
    # observed 6e-6 (composite) vs 0.13-0.26 (torch's fused layers)
    assert errs["composite"] <= 1e-4 and errs["torch"] >= 0.05, errs
    opt = SRR(net.parameters(), torch.optim.SGD, lr=0.1, srr=_cheap(derivative="exact"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step(lambda: F.cross_entropy(net(x), y))
    composite_norms(net, enable=False)
    assert "forward" not in vars(net.norm)


def test_eval_mode_batchnorm_does_not_warn():
    """Before: SRR(derivative='exact', model=m) warned for every BatchNorm, eval mode included,
    and advised fd (wrong on the ReLU networks that use BatchNorm)."""
    net, x, y = _bn_problem()
    net.eval()
    opt = SRR(net.parameters(), torch.optim.SGD, lr=0.1, srr=_cheap(derivative="exact"), model=net)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step(lambda: F.cross_entropy(net(x), y))


# ------------------------------------------------------------------ non-determinism


def test_standalone_fd_hvp_replays_the_rng_dropout():
    """Before: two hvp(method='fd') calls on a dropout model differed by 38-100 %, and each
    product mixed masks.  Now each call replays the RNG state: the masks are shared, the fd
    product matches the exact one of the same mask."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Dropout(0.5), nn.Linear(8, 2)).double()
    x, y = torch.randn(16, 4, dtype=torch.float64), torch.randint(0, 2, (16,))
    lf = lambda: F.cross_entropy(model(x), y)
    n = sum(p.numel() for p in model.parameters())
    v = torch.randn(n, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    torch.manual_seed(5)
    a = tc.hvp(lf, model, v, method="fd")
    after_a = torch.rand(1)
    torch.manual_seed(5)
    b = tc.hvp(lf, model, v, method="fd")
    torch.manual_seed(5)
    exact = tc.hvp(lf, model, v)
    after_exact = torch.rand(1)
    assert torch.equal(a, b)
    assert float((a - exact).norm() / exact.norm()) < 1e-6
    assert torch.equal(after_a, after_exact)  # the RNG continues as after one pass


def test_determinism_check_rejects_a_loader_inside_the_closure():
    """Opt-in check: a closure that draws a new batch each call is refused (SRR and standalone);
    the same closure on a fixed batch passes (negative control)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2)).double()
    batches = [(torch.randn(8, 4, dtype=torch.float64), torch.randint(0, 2, (8,)))
               for _ in range(50)]
    it = iter(batches)

    def drawing_loss():
        x, y = next(it)
        return F.cross_entropy(model(x), y)

    with pytest.raises(ValueError, match="check_determinism"):
        tc.hvp_operator(drawing_loss, model, check_determinism=True)
    for derivative in ("fd", "exact"):
        opt = SRR(model.parameters(), torch.optim.SGD, lr=0.1, srr=_cheap(derivative=derivative),
                  check_determinism=True)

        def closure(opt=opt, derivative=derivative):
            loss = drawing_loss()
            if derivative == "fd":
                opt.zero_grad()
                loss.backward()
            return loss

        before = _flat(model)
        with pytest.raises(ValueError, match="check_determinism"):
            opt.step(closure)
        assert torch.equal(_flat(model), before)
    x, y = batches[0]
    tc.hvp_operator(lambda: F.cross_entropy(model(x), y), model, check_determinism=True)
    opt = SRR(model.parameters(), torch.optim.SGD, lr=0.1, srr=_cheap(), check_determinism=True)
    opt.step(_fd_closure(opt, model, x, y))
    with pytest.raises(ValueError, match="check_determinism"):
        SRR(model.parameters(), torch.optim.SGD, lr=0.1, check_determinism=1)


def test_standalone_functions_restore_buffers_of_a_module():
    net, x, y = _bn_problem()
    state = [b.clone() for b in net.buffers()]
    n = sum(p.numel() for p in net.parameters())
    v = torch.ones(n, dtype=torch.float64)
    lf = lambda: F.cross_entropy(net(x), y)
    tc.hvp(lf, net, v, method="fd")
    tc.hvp(lf, net, v)
    assert all(torch.equal(a, b) for a, b in zip(state, net.buffers()))
    assert int(net.norm.num_batches_tracked) == 0


# ------------------------------------------------------------------ frozen parameters


def test_frozen_parameters_are_skipped_in_model_order():
    """Before: hvp(loss, model, v) / hvp_operator(loss, model) used frozen parameters and torch
    raised 'One of the differentiated Tensors does not require grad'."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    for p in model[0].parameters():
        p.requires_grad_(False)
    x, y = torch.randn(6, 3, dtype=torch.float64), torch.randn(6, 2, dtype=torch.float64)
    lf = lambda: F.mse_loss(model(x), y, reduction="sum")
    trainable = [p for p in model.parameters() if p.requires_grad]
    n = sum(p.numel() for p in trainable)
    v = torch.randn(n, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    ref = tc.hvp(lf, trainable, v)
    for method in ("double_backward", "fd"):
        hv = tc.hvp(lf, model, v, method=method)
        assert hv.shape == (n,)
        assert float((hv - ref).norm() / ref.norm()) < (1e-12 if method != "fd" else 1e-6)
    func = tc.hvp(tc.module_loss(model, nn.MSELoss(reduction="sum"), x, target=y), model, v,
                  method="func")
    assert float((func - ref).norm() / ref.norm()) < 1e-12
    with pytest.raises(ValueError, match="does not require grad"):
        tc.hvp(lf, list(model.parameters()), torch.ones(n + 16, dtype=torch.float64))


# ------------------------------------------------------------------ method="func"


def test_func_falls_back_on_training_mode_batchnorm():
    """Before: torch's raw error ('mutate a captured Tensor')."""
    net, x, y = _bn_problem()
    lf = tc.module_loss(net, nn.CrossEntropyLoss(), x, target=y)
    n = sum(p.numel() for p in net.parameters())
    v = torch.randn(n, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    with pytest.warns(RuntimeWarning, match="falling back.*double_backward"):
        hv = tc.hvp(lf, net, v, method="func")
    ref = tc.hvp(lambda: F.cross_entropy(net(x), y), net, v)
    assert float((hv - ref).norm() / ref.norm()) < 1e-12


# ------------------------------------------------------------------ NaN losses


def test_nan_loss_error_names_the_loss():
    """Before: 'matvec returned NaN or inf' -- a function the user never wrote."""
    w = nn.Parameter(torch.tensor([1.0, 2.0], dtype=torch.float64))
    lf = lambda: (w**2).sum() * float("nan")
    with pytest.raises(ValueError, match=r"loss_fn returned nan at w"):
        spectral_radius(tc.hvp_operator(lf, [w]), torch.ones(2, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"loss_fn returned nan at w"):
        tc.hvp(lf, [w], torch.ones(2, dtype=torch.float64), method="fd")

    # finite at w, NaN at the finite-difference points: SRR names the closure's loss
    opt = SRR([w], torch.optim.SGD, lr=0.1, srr=_cheap())

    def closure():
        opt.zero_grad()
        loss = (w**2).sum()
        if not torch.equal(w.detach(), torch.tensor([1.0, 2.0], dtype=torch.float64)):
            loss = loss * float("nan")
        loss.backward()
        return loss

    with pytest.raises(ValueError, match=r"closure's loss is nan at w ± ε·v"):
        opt.step(closure)
    assert torch.equal(w.detach(), torch.tensor([1.0, 2.0], dtype=torch.float64))


# ------------------------------------------------------------------ data loader


def _loader_problem():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3)).double()
    X = torch.randn(23, 4, dtype=torch.float64)
    Y = torch.randint(0, 3, (23,))
    ds = torch.utils.data.TensorDataset(X, Y)
    return model, X, Y, ds


def test_data_operator_weights_an_uneven_last_batch():
    """23 samples in batches of 8, 8, 7: H v = Σ (N_b/N) H_b v equals the full-batch Hessian;
    the uniform 1/3 weights (negative control) do not."""
    model, X, Y, ds = _loader_problem()
    loader = torch.utils.data.DataLoader(ds, batch_size=8, shuffle=False)
    mv = data_hvp_operator(model, nn.CrossEntropyLoss(), loader)
    assert mv.batch_sizes == (8, 8, 7) and mv.n_samples == 23
    n = sum(p.numel() for p in model.parameters())
    v = torch.randn(n, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    full = lambda: F.cross_entropy(model(X), Y)
    ref = tc.hvp(full, model, v)
    assert float((mv(v) - ref).norm() / ref.norm()) < 1e-13
    uniform = sum(tc.hvp(lambda xb=xb, yb=yb: F.cross_entropy(model(xb), yb), model, v) / 3
                  for xb, yb in loader)
    assert float((uniform - ref).norm() / ref.norm()) > 1e-3
    assert abs(data_loss(model, nn.CrossEntropyLoss(), loader) - float(full().detach())) < 1e-14
    s = nn.CrossEntropyLoss(reduction="sum")
    ref_sum = tc.hvp(lambda: F.cross_entropy(model(X), Y, reduction="sum"), model, v)
    assert float((data_hvp_operator(model, s, loader)(v) - ref_sum).norm() / ref_sum.norm()) < 1e-13
    res = data_spectral_radius(model, nn.CrossEntropyLoss(), loader, tol=1e-10)
    assert res.converged and abs(res.rho - _dense_rho(full, model)) < 1e-8 * res.rho


def test_data_operator_refuses_changing_batches_and_bad_input():
    model, X, Y, ds = _loader_problem()
    # a loader shuffling with torch's global RNG is replayed (each pass the same permutation);
    # one with its own generator draws new batches every pass: caught by check_determinism
    own = torch.Generator().manual_seed(0)
    shuffled = torch.utils.data.DataLoader(ds, batch_size=5, shuffle=True, drop_last=True,
                                           generator=own)
    n = sum(p.numel() for p in model.parameters())
    with pytest.raises(ValueError, match="check_determinism"):
        data_hvp_operator(model, nn.CrossEntropyLoss(), shuffled, check_determinism=True)
    replayed = torch.utils.data.DataLoader(ds, batch_size=5, shuffle=True, drop_last=True)
    mv = data_hvp_operator(model, nn.CrossEntropyLoss(), replayed, check_determinism=True)
    v = torch.ones(n, dtype=torch.float64)
    assert torch.equal(mv(v), mv(v))
    torch.manual_seed(0)
    growing = [(X[:8], Y[:8])]
    mv = data_hvp_operator(model, nn.CrossEntropyLoss(), growing)
    growing.append((X[8:], Y[8:]))
    with pytest.raises(ValueError, match="changed between passes"):
        mv(torch.ones(n, dtype=torch.float64))
    for args, kw, match in [
        ((model, nn.CrossEntropyLoss(), iter([(X, Y)])), {}, "one-shot"),
        ((model, nn.CrossEntropyLoss(), []), {}, "empty"),
        ((model, nn.CrossEntropyLoss(), [(X, Y)]), {"reduction": "sum"}, "agree"),
        ((model, nn.CrossEntropyLoss(), [X]), {}, "pair"),
        ((3, nn.CrossEntropyLoss(), [(X, Y)]), {}, "nn.Module"),
    ]:
        with pytest.raises(ValueError, match=match):
            data_hvp_operator(*args, **kw)


# ------------------------------------------------------------------ top-k eigenpairs


@pytest.mark.parametrize("which", ["LM", "LA", "SA"])
def test_eigenpairs_match_eigh(which):
    g = torch.Generator().manual_seed(0)
    Q, _ = torch.linalg.qr(torch.randn(60, 60, generator=g, dtype=torch.float64))
    lam = torch.cat([torch.tensor([9.0, -8.5, 8.0, 7.0, -6.0], dtype=torch.float64),
                     torch.linspace(-3, 3, 55, dtype=torch.float64)])
    A = Q @ torch.diag(lam) @ Q.T
    res = eigenpairs(lambda v: A @ v, torch.ones(60, dtype=torch.float64), k=4, which=which,
                     tol=1e-10, max_iter=60)
    key = {"LM": -lam.abs(), "LA": -lam, "SA": lam}[which]
    expected = lam[torch.argsort(key)][:4]
    assert torch.allclose(res.eigvals, expected, rtol=1e-9, atol=1e-9)
    assert bool(res.converged.all())
    for j in range(4):
        y = res.eigvecs[:, j]
        assert float((A @ y - res.eigvals[j] * y).norm()) <= res.residuals[j] * 1.0001 + 1e-12
    assert torch.allclose(res.eigvecs.T @ res.eigvecs, torch.eye(4, dtype=torch.float64),
                          atol=1e-10)


def test_eigenpairs_flags_an_unconverged_budget_and_checks_input():
    """Negative control: 6 steps cannot resolve 4 pairs of a 200-dim spectrum to 1e-10; the
    recomputed residuals say so (converged False), they are not hidden."""
    g = torch.Generator().manual_seed(1)
    d = torch.linspace(1, 2, 200, dtype=torch.float64)
    res = eigenpairs(lambda v: d * v, torch.randn(200, generator=g, dtype=torch.float64), k=4,
                     tol=1e-10, max_iter=6)
    assert not bool(res.converged.all()) and res.n_iter == 6
    for kw, match in [({"k": 0}, "k must"), ({"which": "X"}, "which"), ({"tol": 0}, "tol"),
                      ({"max_iter": 0}, "max_iter")]:
        with pytest.raises(ValueError, match=match):
            eigenpairs(lambda v: v, torch.ones(5, dtype=torch.float64), **kw)


def test_eigenpairs_on_a_network_hessian_float32():
    """Top-3 of a ReLU CNN's Hessian in float32 against the float64 dense eigenvalues."""
    model, x, y = _relu_cnn(dtype=torch.float64)
    full = lambda: F.cross_entropy(model(x), y)
    n = sum(p.numel() for p in model.parameters())
    op = tc.hvp_operator(full, model)
    H = torch.stack([op(e) for e in torch.eye(n, dtype=torch.float64)])
    ev = torch.linalg.eigvalsh(0.5 * (H + H.T))
    expected = ev[torch.argsort(ev.abs(), descending=True)][:3]
    m32 = model.float()
    x32 = x.float()
    res = eigenpairs(tc.hvp_operator(lambda: F.cross_entropy(m32(x32), y), m32),
                     torch.ones(n), k=3, tol=1e-4, max_iter=n)
    # float32: the products carry ~1e-6 relative rounding; eigenvalues to 1e-4 relative
    assert torch.allclose(res.eigvals, expected, rtol=1e-4, atol=1e-4 * float(expected.abs()[0]))
    assert math.isfinite(float(res.residuals.max()))
