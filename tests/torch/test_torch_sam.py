"""srtheory.torch.sam.SAM against the NumPy reference SAM (srtheory.baselines.sam) in float64."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from autograd import grad

from srtheory.baselines import sam
from srtheory.optimizers import adam, sgd
from srtheory.torch.models import flat_params, mlp, numpy_mlp_loss, torch_loss
from srtheory.torch.sam import SAM

torch.set_num_threads(1)

SIZES = (4, 5, 3)


def _problem(seed=0, n=16):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, SIZES[0]))
    y = rng.integers(0, SIZES[-1], size=n)
    return X, y


def _run_torch(base, lr, steps, radius, X, y, **kw):
    model = mlp(SIZES, activation="tanh", seed=3)
    opt = SAM(model.parameters(), base, rho=radius, lr=lr, **kw)
    lf = torch_loss(model, torch.tensor(X), torch.tensor(y), loss="ce")

    def closure():
        opt.zero_grad()
        loss = lf()
        loss.backward()
        return loss

    for _ in range(steps):
        opt.step(closure)
    return flat_params(model), opt


def _run_numpy(base, steps, radius, X, y):
    f = numpy_mlp_loss(SIZES, X, y, activation="tanh", loss="ce")
    x = flat_params(mlp(SIZES, activation="tanh", seed=3))
    opt = sam(base, radius=radius)
    state = opt.init(x)
    for k in range(steps):
        x, state = opt.update(grad(f), state, x, k)
    return x


@pytest.mark.parametrize("which", ["sgd", "adam"])
def test_torch_sam_matches_the_reference(which):
    X, y = _problem()
    if which == "sgd":
        got, opt = _run_torch(torch.optim.SGD, 0.3, 8, 0.05, X, y)
        want = _run_numpy(sgd(0.3), 8, 0.05, X, y)
    else:
        got, opt = _run_torch(torch.optim.Adam, 0.01, 8, 0.05, X, y, eps=1e-8)
        want = _run_numpy(adam(0.01), 8, 0.05, X, y)
    start = flat_params(mlp(SIZES, activation="tanh", seed=3))
    assert np.linalg.norm(got - start) > 1e-3  # it moved
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    assert opt.n_grad_evals == 16


def test_sam_differs_from_its_base_and_restores_the_point():
    # negative control: SAM is not the base optimizer (the perturbed gradient matters)
    X, y = _problem(1)
    got, _ = _run_torch(torch.optim.SGD, 0.3, 5, 0.2, X, y)
    model = mlp(SIZES, activation="tanh", seed=3)
    base = torch.optim.SGD(model.parameters(), lr=0.3)
    lf = torch_loss(model, torch.tensor(X), torch.tensor(y), loss="ce")
    for _ in range(5):
        base.zero_grad()
        lf().backward()
        base.step()
    assert np.linalg.norm(got - flat_params(model)) > 1e-4


def test_bad_arguments_are_rejected():
    model = mlp(SIZES, seed=0)
    with pytest.raises(ValueError, match="rho"):
        SAM(model.parameters(), torch.optim.SGD, rho=0.0, lr=0.1)
    with pytest.raises(ValueError, match="base_optimizer"):
        SAM(model.parameters(), object, lr=0.1)
    with pytest.raises(RuntimeError, match="closure"):
        SAM(model.parameters(), torch.optim.SGD, lr=0.1).step()
