"""The zoo: every stored minimum, saddle, spectrum, rho and threshold checked against the dense
oracle (eigh of the autograd Hessian), each checker with a negative control."""

from dataclasses import replace

import autograd
import numpy as np
import pytest

from srtheory import objectives as O
from srtheory import oracle
from srtheory.regularizer import regularized_objective
from srtheory.testing import tolerance

ALL = O.names()
DETERMINISTIC_POINTS = [
    (name, rec)
    for name in ALL
    for rec in O.get(name).minima + O.get(name).saddles
]


def check_record(obj, rec):
    """A stored critical point: gradient ~ 0, f, Hessian spectrum and rho as stored (dense oracle).

    Allowance: the record's stated precision, or ``100 u`` times the curvature scale (points found
    by a root finder to ``4 u`` relative; gradient error ~ |H| * dx).
    """
    x = np.array(rec.x)
    scale = max(1.0, rec.rho or 1.0, float(np.max(np.abs(x))))
    allow = max(rec.precision * scale, tolerance(factor=100) * scale)
    g = autograd.grad(obj.f)(x)
    assert np.max(np.abs(g)) <= allow, f"{obj.name}/{rec.label}: |grad| = {np.max(np.abs(g)):.2e}"
    assert abs(float(obj.f(x)) - rec.f) <= allow, f"{obj.name}/{rec.label}: f"
    H = oracle.hessian(obj.f, x)
    if rec.hessian_eigs is not None:
        eigs = np.linalg.eigvalsh(H)
        err = np.max(np.abs(eigs - np.asarray(rec.hessian_eigs)))
        assert err <= allow, f"{obj.name}/{rec.label}: eigenvalues off by {err:.2e}"
    if rec.rho is not None:
        err = abs(oracle.dense_spectral_radius(H).rho - rec.rho)
        assert err <= allow, f"{obj.name}/{rec.label}: rho off by {err:.2e} (allowed {allow:.1e})"


@pytest.mark.parametrize("name,rec", DETERMINISTIC_POINTS,
                         ids=[f"{n}-{r.label}-{i}" for i, (n, r) in enumerate(DETERMINISTIC_POINTS)])
def test_stored_points_match_dense_oracle(name, rec):
    check_record(O.get(name), rec)


@pytest.mark.parametrize("field,delta", [("rho", 1e-6), ("f", 1e-6), ("x", 1e-5)])
def test_record_checker_rejects_a_wrong_record(field, delta):
    """Negative control: a stored value off by delta must be caught."""
    obj = O.get("sharp_flat_2d")
    rec = obj.minimum("sharp")
    bad = replace(rec, **{field: getattr(rec, field) + delta})
    with pytest.raises(AssertionError):
        check_record(obj, bad)


def test_checker_rejects_wrong_eigenvalues():
    obj = O.get("rosenbrock")
    rec = obj.minima[0]
    with pytest.raises(AssertionError):
        check_record(obj, replace(rec, hessian_eigs=np.array(rec.hessian_eigs) * (1 + 1e-9)))


@pytest.mark.parametrize("name", ALL)
def test_every_entry_is_well_formed(name):
    obj = O.get(name)
    assert obj.name == name and obj.dim == obj.x0.size and obj.x0.ndim == 1
    assert np.isfinite(float(obj.f(np.array(obj.x0))))
    assert obj.notes
    for rec in obj.minima + obj.saddles:
        assert rec.x.shape == (obj.dim,)
        if rec.hessian_eigs is not None:
            assert np.all(np.diff(rec.hessian_eigs) >= 0)
            assert rec.rho == pytest.approx(np.max(np.abs(rec.hessian_eigs)), rel=1e-15)


def test_get_unknown_name_lists_the_zoo():
    with pytest.raises(ValueError, match="unknown objective 'nope'.*rosenbrock"):
        O.get("nope")


def test_minimum_lookup_by_label():
    assert O.get("matrix_factorization").minimum("balanced").rho == 4.0
    with pytest.raises(ValueError, match="no minimum labelled 'deep'"):
        O.get("sharp_flat_2d").minimum("deep")


@pytest.mark.parametrize("name", [n for n in ALL if O.get(n).lipschitz_grad is not None])
def test_lipschitz_constant_bounds_rho(name, rng):
    """rho(H(x)) <= L_grad on random points of the plotting box, and it is attained at the hole."""
    obj = O.get(name)
    lo = np.array([b[0] for b in obj.bounds])
    hi = np.array([b[1] for b in obj.bounds])
    for _ in range(20):
        x = lo + (hi - lo) * rng.random(obj.dim)
        assert oracle.rho(obj.f, x) <= obj.lipschitz_grad * (1 + tolerance(factor=10))
    c = np.array(obj.extras["c"], dtype=float).reshape(obj.dim)
    # at the hole centre rho = b + a/s^2 e^{-0} = L exactly (b|c|^2 term has Hessian b I)
    assert oracle.rho(obj.f, c) == pytest.approx(obj.lipschitz_grad, rel=tolerance(factor=100))


# ----------------------------------------------------------------- sharp / flat thresholds

@pytest.mark.parametrize("name", ["sharp_flat_1d", "sharp_flat_2d"])
def test_sharp_is_deeper_and_sharper_and_mu_prefer_balances_h(name):
    obj = O.get(name)
    sharp, flat = obj.minimum("sharp"), obj.minimum("flat")
    assert sharp.f < flat.f and sharp.rho > 10 * flat.rho
    mu = obj.extras["mu_prefer"]
    h_sharp = regularized_objective(obj.f, sharp.x, mu=mu, K=0.0)
    h_flat = regularized_objective(obj.f, flat.x, mu=mu, K=0.0)
    # n <= 2: Lanczos is exact after n steps (invariant Krylov space), so only rounding of h and
    # of mu_prefer's formula remains: |h| ~ 1, mu rho ~ 0.4 -> 1e3 u = 2.2e-13
    assert h_sharp == pytest.approx(h_flat, abs=tolerance(factor=1e3))
    # on either side of mu_prefer the order of h flips (negative control of the balance)
    for factor, sharp_lower in ((0.9, True), (1.1, False)):
        hs = regularized_objective(obj.f, sharp.x, mu=factor * mu, K=0.0)
        hf = regularized_objective(obj.f, flat.x, mu=factor * mu, K=0.0)
        assert (hs < hf) == sharp_lower


def test_escape_threshold_is_the_degenerate_critical_point():
    """At depth a_crit the hole's minimum and the barrier merge at x1 = c - tau: f' = f'' = 0."""
    e = O.get("sharp_flat_2d").extras
    b, s, c1 = e["b"], e["s"], e["c"][0]
    a_crit, tau = e["escape_depth"], e["escape_tau"]

    def f_crit(x):
        return 0.5 * b * x**2 - a_crit * np.exp(-((x - c1) ** 2) / (2 * s * s))

    x = c1 - tau
    d1 = autograd.grad(f_crit)(x)
    d2 = autograd.grad(autograd.grad(f_crit))(x)
    # tau is a root to 4u relative; f'' has scale a/s^2 ~ 8 and f''' ~ a/s^3 ~ 30: 1e3 u covers it
    assert abs(d1) <= tolerance(factor=100) and abs(d2) <= tolerance(factor=1e3)
    assert e["mu_escape"] == pytest.approx(s * s * (1 - a_crit / e["a"]), rel=1e-15)
    assert e["mu_prefer"] < e["mu_escape"] < s * s


def test_hand_formula_for_h_on_the_axis():
    """Where the tangential eigenvalue dominates, f + mu rho = (b/2)|x|^2 - a(1 - mu/s^2) e + mu b."""
    obj = O.get("sharp_flat_2d")
    e = obj.extras
    b, a, s, c1 = e["b"], e["a"], e["s"], e["c"][0]
    mu = 0.03
    for x1 in (0.0, 0.5, 1.2, c1 - e["escape_tau"], obj.minimum("sharp").x[0], c1):
        x = np.array([x1, 0.0])
        ex = np.exp(-((x1 - c1) ** 2) / (2 * s * s))
        h_formula = 0.5 * b * x1**2 - a * (1 - mu / s**2) * ex + mu * b
        h_dense = float(obj.f(x)) + mu * oracle.rho(obj.f, x)
        assert h_dense == pytest.approx(h_formula, abs=tolerance(factor=100))


def test_1d_inflection_points_have_zero_curvature():
    obj = O.get("sharp_flat_1d")
    for p in obj.extras["inflection_points"]:
        # root of f'' to 4u relative; |f'''| ~ a/s^3 ~ 100 there: 1e3 u = 2.2e-13 covers 100 * 4u * 1.5
        assert abs(oracle.hessian(obj.f, np.array([p]))[0, 0]) <= tolerance(factor=1e3)
    # negative control: half-way between two of them the curvature is far from 0
    mid = 0.5 * sum(obj.extras["inflection_points"][1:3])
    assert abs(oracle.hessian(obj.f, np.array([mid]))[0, 0]) > 1.0


# ----------------------------------------------------------------- special landscapes

def test_negative_ridge_has_negative_dominant_eigenvalue_near_the_ridge():
    obj = O.get("negative_ridge")
    for x1 in (0.0, 0.2, 0.4, -0.45):
        r = oracle.dense_spectral_radius(oracle.hessian(obj.f, np.array([x1, 0.3])))
        assert r.eigval < 0 and r.eigval == pytest.approx(12 * x1**2 - 4, abs=tolerance(factor=100))
    r = oracle.dense_spectral_radius(oracle.hessian(obj.f, np.array([0.8, 0.0])))
    assert r.eigval > 0  # negative control: outside |x1| < 1/2 it is positive


def test_isotropic_cubic_spectrum_is_a_cone(rng):
    obj = O.get("isotropic_cubic")
    k = obj.extras["kappa"]
    assert not oracle.top_eigen_simple(oracle.hessian(obj.f, np.zeros(2)), rtol=1e-12)
    for _ in range(5):
        x = 0.4 * rng.standard_normal(2)
        eigs = np.linalg.eigvalsh(oracle.hessian(obj.f, x))
        r = np.linalg.norm(x)
        np.testing.assert_allclose(eigs, [1 - 2 * k * r, 1 + 2 * k * r], atol=tolerance(factor=100))
        assert oracle.top_eigen_simple(oracle.hessian(obj.f, x), rtol=1e-6)


@pytest.mark.parametrize("t", [0.5, 0.8, 1.0, 1.7, 3.0])
def test_matrix_factorization_rescaled_minima(t):
    obj = O.get("matrix_factorization")
    rec = O._mf_minimum(t, "t")
    check_record(obj, rec)
    sigma = obj.extras["sigma"]
    assert rec.rho == pytest.approx(sigma * (t * t + 1 / t**2), rel=1e-15)
    assert rec.rho >= obj.minimum("balanced").rho


# ----------------------------------------------------------------- minibatch objectives

MLPS = [n for n in ALL if n.startswith("mlp_")]


@pytest.mark.parametrize("name", MLPS)
def test_minibatches_cover_the_data_and_average_to_f(name, rng):
    obj = O.get(name)
    x = np.array(obj.x0)
    batches = list(obj.batches(rng, 10))
    assert np.array_equal(np.sort(np.concatenate(batches)), np.arange(obj.n_samples))
    weighted = sum(len(b) * float(obj.loss(x, b)) for b in batches) / obj.n_samples
    assert weighted == pytest.approx(float(obj.f(x)), rel=tolerance(factor=100))
    assert np.isfinite(obj.val_loss(x))


def test_batches_depend_only_on_the_generator():
    obj = O.get("mlp_tanh_regression")
    a = list(obj.batches(np.random.default_rng(5), 7))
    b = list(obj.batches(np.random.default_rng(5), 7))
    c = list(obj.batches(np.random.default_rng(6), 7))
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not all(np.array_equal(u, v) for u, v in zip(a, c))


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_batch_size(bad, rng):
    with pytest.raises(ValueError, match="batch_size"):
        list(O.get("mlp_tanh_regression").batches(rng, bad))


def test_bad_batch_index_array():
    obj = O.get("mlp_tanh_regression")
    with pytest.raises(ValueError, match="batch"):
        obj.loss(np.array(obj.x0), np.array([], dtype=int))


def test_classification_accuracy_and_labels():
    obj = O.get("mlp_tanh_classification")
    y = obj.extras["y"]
    assert set(np.unique(y)) == {-1.0, 1.0}
    acc = obj.accuracy(np.array(obj.x0))
    assert 0.0 <= acc <= 1.0
    assert O.get("mlp_tanh_regression").accuracy is None  # accuracy only for classification


def test_zoo_arrays_are_read_only():
    obj = O.get("rosenbrock")
    with pytest.raises(ValueError):
        obj.x0[0] = 3.0
    with pytest.raises(ValueError):
        obj.minima[0].x[0] = 3.0
