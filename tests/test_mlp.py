"""The shared MLP (:mod:`srtheory.mlp`): layout, forward pass, losses, init.

Checked against the definitions written out independently here (the per-layer formulas the six
former implementations used), against central finite differences, and with negative controls
(a transposed layout and a perturbed parameter are detected).
"""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

from srtheory.mlp import (
    ACTIVATIONS,
    LOSSES,
    check_data,
    dphi,
    homogeneous_index,
    mlp_forward,
    mlp_init,
    mlp_layers,
    mlp_loss,
    mlp_objective,
    mlp_pack,
    mlp_spec,
    mlp_unpack,
    output_loss,
    phi,
)
from srtheory.testing import assert_close, tolerance


def _reference_forward(layers, X, act):
    """The network written out layer by layer from (W, b) arrays (no flat vector involved)."""
    f = {"tanh": np.tanh, "sigmoid": lambda s: 1.0 / (1.0 + np.exp(-s)),
         "softplus": lambda s: np.log1p(np.exp(s)), "relu": lambda s: np.maximum(s, 0.0)}[act]
    h = X
    for i, (W, b) in enumerate(layers):
        h = h @ W.T + b
        if i < len(layers) - 1:
            h = f(h)
    return h


def _problem(rng, sizes=(3, 4, 5, 2), activation="tanh", loss="squared", n=6):
    spec = mlp_spec(sizes, activation=activation, loss=loss)
    theta = rng.standard_normal(spec.n_params)
    X = rng.standard_normal((n, sizes[0]))
    if loss == "squared":
        T = rng.standard_normal((n, sizes[-1]))
    elif loss == "logistic":
        T = rng.choice([-1.0, 1.0], size=n)
    else:
        T = rng.integers(0, sizes[-1], size=n)
    return spec, theta, X, T


# ------------------------------------------------------------------------------------ layout


def test_pack_unpack_roundtrip_and_layout(rng):
    spec = mlp_spec((3, 4, 2))
    assert spec.shapes == ((4, 3), (2, 4)) and spec.n_params == 4 * 4 + 2 * 5
    assert spec.offsets == (0, 16, 26)
    theta = rng.standard_normal(spec.n_params)
    layers = mlp_unpack(spec, theta)
    assert [(W.shape, b.shape) for W, b in layers] == [((4, 3), (4,)), ((2, 4), (2,))]
    np.testing.assert_array_equal(mlp_pack(spec, layers), theta)
    # [vec(W_0) row-major, b_0, vec(W_1), b_1]: W_0[o, j] at o * d_0 + j, b_0 right after W_0
    assert layers[0][0][2, 1] == theta[2 * 3 + 1]
    assert layers[0][1][3] == theta[12 + 3]
    assert layers[1][0][1, 2] == theta[16 + 1 * 4 + 2]
    assert layers[1][1][0] == theta[16 + 8]
    # unpack returns views: no copies of the parameters
    assert all(np.shares_memory(W, theta) and np.shares_memory(b, theta) for W, b in layers)
    with pytest.raises(ValueError, match="shape"):
        mlp_unpack(spec, theta[:-1])
    with pytest.raises(ValueError, match="layer 1"):
        mlp_pack(spec, [layers[0], (layers[1][0].T, layers[1][1])])


def test_layout_is_torch_linear_parameter_order():
    torch = pytest.importorskip("torch")
    from srtheory.torch.models import flat_params, mlp

    model = mlp([3, 4, 2], activation="sigmoid", seed=1)
    spec = mlp_spec((3, 4, 2), activation="sigmoid")
    x = flat_params(model)
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    for (W, b), lin in zip(mlp_unpack(spec, x), linears):
        np.testing.assert_array_equal(W, lin.weight.detach().numpy())
        np.testing.assert_array_equal(b, lin.bias.detach().numpy())
    X = np.random.default_rng(0).standard_normal((5, 3))
    with torch.no_grad():
        want = model(torch.from_numpy(X)).numpy()
    assert_close(mlp_forward(spec, x, X), want, rtol=tolerance(factor=10), what="torch forward")


def test_homogeneous_index(rng):
    spec = mlp_spec((3, 4, 2))
    theta = rng.standard_normal(spec.n_params)
    idx = homogeneous_index(spec)
    np.testing.assert_array_equal(np.sort(idx), np.arange(spec.n_params))
    want = np.concatenate([np.hstack([W, b[:, None]]).reshape(-1) for W, b in mlp_unpack(spec, theta)])
    np.testing.assert_array_equal(theta[idx], want)
    np.testing.assert_array_equal(homogeneous_index((3, 4, 2)), idx)


# ------------------------------------------------------------------------------ forward, loss


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_forward_matches_layer_by_layer_definition(rng, activation):
    spec, theta, X, _ = _problem(rng, activation=activation)
    layers = [(np.array(W), np.array(b)) for W, b in mlp_unpack(spec, theta)]
    want = _reference_forward(layers, X, activation)
    assert_close(mlp_forward(spec, theta, X), want, rtol=tolerance(factor=10), what="forward")
    inputs, pre = mlp_layers(spec, theta, X)
    assert [h.shape for h in inputs] == [(6, 3), (6, 4), (6, 5)]
    np.testing.assert_array_equal(inputs[1], phi(activation, pre[0]))
    # negative control: reading each W_l column-major (the transposed layout) is detected
    wrong = [(W.reshape(-1).reshape(W.shape[::-1]).T, b) for W, b in layers]
    with pytest.raises(AssertionError):
        assert_close(mlp_forward(spec, theta, X), _reference_forward(wrong, X, activation),
                     rtol=tolerance(factor=10), what="transposed layout")


def test_losses_match_their_definitions(rng):
    spec, theta, X, T = _problem(rng, loss="squared")
    y = mlp_forward(spec, theta, X)
    want = np.mean([0.5 * np.sum((y[n] - T[n]) ** 2) for n in range(6)])
    assert float(mlp_loss(spec, theta, X, T)) == pytest.approx(want, rel=tolerance(factor=10))
    spec, theta, X, T = _problem(rng, loss="softmax_ce")
    y = mlp_forward(spec, theta, X)
    want = np.mean([np.log(np.sum(np.exp(y[n]))) - y[n, T[n]] for n in range(6)])
    assert float(mlp_loss(spec, theta, X, T)) == pytest.approx(want, rel=tolerance(factor=10))
    spec, theta, X, T = _problem(rng, sizes=(3, 4, 1), loss="logistic")
    y = mlp_forward(spec, theta, X)[:, 0]
    want = np.mean(np.log1p(np.exp(-T * y)))
    assert float(mlp_loss(spec, theta, X, T)) == pytest.approx(want, rel=tolerance(factor=10))
    with pytest.raises(ValueError, match="loss"):
        output_loss("hinge", y[:, None], T)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "softplus"])
def test_gradient_matches_central_differences(rng, activation, loss):
    sizes = (3, 4, 1) if loss == "logistic" else (3, 4, 3)
    spec, theta, X, T = _problem(rng, sizes=sizes, activation=activation, loss=loss)
    f = mlp_objective(spec, X, T)
    g = autograd.grad(f)(theta)
    eps = 1e-5  # central differences: truncation ~ eps^2 * f''', rounding ~ u / eps
    fd = np.array([(f(theta + eps * e) - f(theta - eps * e)) / (2 * eps) for e in np.eye(spec.n_params)])
    assert_close(g, fd, rtol=1e-7, atol=1e-9, what="gradient vs central differences")
    # negative control: a perturbed parameter changes the gradient beyond that tolerance
    with pytest.raises(AssertionError):
        assert_close(autograd.grad(f)(theta + 1e-3 * np.eye(spec.n_params)[0]), fd, rtol=1e-7, atol=1e-9,
                     what="perturbed")


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dphi_is_the_derivative_of_phi(activation):
    s = np.linspace(-3.0, 3.0, 13) + 0.05  # avoids relu's kink at 0
    d = autograd.elementwise_grad(lambda z: phi(activation, z))(s)
    assert_close(dphi(activation, s), d, rtol=tolerance(factor=10), atol=tolerance(), what="phi'")


def test_matches_the_former_zoo_formula_bit_for_bit():
    # The zoo's mlp_* objectives used [W1 (3x2), b1, w2, b2] with this forward pass before the
    # network moved here; the shared one computes the same floating-point operations.
    from srtheory import objectives

    obj = objectives.get("mlp_tanh_regression")
    X, y, x = obj.extras["X"], obj.extras["y"], np.asarray(obj.x0, dtype=float)

    def former(x):
        W1, b1, w2 = anp.reshape(x[:6], (3, 2)), x[6:9], x[9:12]
        return 0.5 * anp.mean((anp.dot(anp.tanh(anp.dot(X, W1.T) + b1), w2) + x[-1] - y) ** 2)

    spec = mlp_spec((2, 3, 1), activation="tanh")
    assert float(mlp_loss(spec, x, X, y[:, None])) == float(former(x))
    assert float(obj.f(x)) == float(former(x))
    assert_close(autograd.grad(obj.f)(x), autograd.grad(former)(x), rtol=tolerance(), what="zoo gradient")
    # negative control: the exact comparison sees a change of 1e-12 in one weight
    x1 = x.copy()
    x1[0] += 1e-12
    assert float(mlp_loss(spec, x1, X, y[:, None])) != float(former(x))


# -------------------------------------------------------------------------------------- init


def test_init_schemes(rng):
    spec = mlp_spec((30, 40, 20))
    g = mlp_unpack(spec, mlp_init(spec, rng=np.random.default_rng(0)))
    for (W, b), (rows, cols) in zip(g, spec.shapes):
        assert np.all(b == 0.0)
        assert np.std(W) == pytest.approx(np.sqrt(2.0 / (rows + cols)), rel=0.1)
    # "lecun": N(0, 1/fan_in), drawn inputs-major (the experiments' draw order)
    lecun = mlp_init(spec, rng=np.random.default_rng(1), scheme="lecun")
    r = np.random.default_rng(1)
    want = [(r.standard_normal(30 * 40) / np.sqrt(30)).reshape(30, 40).T.reshape(-1), np.zeros(40),
            (r.standard_normal(40 * 20) / np.sqrt(40)).reshape(40, 20).T.reshape(-1), np.zeros(20)]
    np.testing.assert_array_equal(lecun, np.concatenate(want))
    with pytest.raises(ValueError, match="scheme"):
        mlp_init(spec, rng=rng, scheme="he")


def test_bad_inputs():
    with pytest.raises(ValueError, match="activation"):
        mlp_spec((2, 2), activation="gelu")
    with pytest.raises(ValueError, match="loss"):
        mlp_spec((2, 2), loss="hinge")
    with pytest.raises(ValueError, match="at least"):
        mlp_spec((2,))
    with pytest.raises(ValueError, match="2 outputs"):
        mlp_spec((2, 1), loss="softmax_ce")
    with pytest.raises(ValueError, match="one output"):
        mlp_spec((2, 2), loss="logistic")
    with pytest.raises(ValueError, match="activation"):
        phi("gelu", 0.0)
    spec = mlp_spec((2, 3), loss="softmax_ce")
    with pytest.raises(ValueError, match="labels"):
        check_data(spec, np.zeros((2, 2)), np.array([0, 3]))
    with pytest.raises(ValueError, match="shape"):
        check_data(spec, np.zeros((2, 3)), np.array([0, 1]))
    with pytest.raises(ValueError, match="NaN"):
        check_data(spec, np.full((2, 2), np.nan), np.array([0, 1]))
    with pytest.raises(ValueError, match="required"):
        check_data(spec, np.zeros((2, 2)), None)
    with pytest.raises(ValueError, match=r"\+-1"):
        check_data(mlp_spec((2, 1), loss="logistic"), np.zeros((2, 2)), np.array([1.0, 0.0]))
