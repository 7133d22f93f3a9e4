"""srtheory.torch.spectral on planted spectra: the reference's algorithms, on torch tensors."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from srtheory import spectral  # noqa: E402
from srtheory.testing import planted_symmetric, tolerance  # noqa: E402
from srtheory.torch import spectral as ts  # noqa: E402

torch.set_num_threads(1)

EXACT = tolerance(np.float64, factor=100)


def _planted(eigs, rng):
    A, Q = planted_symmetric(np.asarray(eigs, dtype=float), rng)
    return torch.tensor(A), Q


SPECTRA = {
    "positive": np.r_[4.0, np.linspace(-1.0, 2.0, 29)],
    "negative_dominant": np.r_[-5.0, np.linspace(-1.0, 3.0, 29)],
    "tie": np.r_[2.0, -2.0, np.linspace(-1.0, 1.0, 28)],
}


@pytest.mark.parametrize("kind", ["positive", "negative_dominant"])
@pytest.mark.parametrize("solver", ["power_iteration", "lanczos", "spectral_radius"])
def test_solvers_find_planted_eigenpair(kind, solver, rng):
    eigs = SPECTRA[kind]
    A, Q = _planted(eigs, rng)
    v0 = torch.tensor(rng.standard_normal(A.shape[0]))
    kw = dict(tol=1e-10, criteria="residual") if solver == "power_iteration" else dict(tol=1e-10)
    if solver == "spectral_radius":
        kw["both_ends"] = True  # the other end resolved too (by default only separated)
    res = getattr(ts, solver)(lambda x: A @ x, v0, **kw)
    assert res.converged
    assert res.eigval == pytest.approx(eigs[0], rel=1e-9)
    assert res.rho == abs(res.eigval)
    assert float(res.eigvec.norm()) == pytest.approx(1.0, abs=EXACT)
    # the residual is honest: recompute it from the returned pair
    r = float((A @ res.eigvec - res.eigval * res.eigvec).norm())
    assert r == pytest.approx(res.residual, rel=1e-6, abs=EXACT * res.rho)
    lo, hi = res.interval
    assert np.any((eigs >= lo - EXACT) & (eigs <= hi + EXACT))
    # eigenvector matches the planted one up to sign
    assert abs(float(res.eigvec @ torch.tensor(Q[:, 0]))) == pytest.approx(1.0, abs=1e-8)
    if solver == "spectral_radius":
        assert res.lambda_max == pytest.approx(max(eigs), rel=1e-8)
        assert res.lambda_min == pytest.approx(min(eigs), rel=1e-8)
        assert not res.tie
        # default: the non-dominant end is a Ritz value inside the spectrum, below rho, and
        # the answer for rho is the same
        fast = ts.spectral_radius(lambda x: A @ x, v0, tol=1e-10)
        assert fast.converged and fast.eigval == pytest.approx(eigs[0], rel=1e-9)
        assert min(eigs) - EXACT <= fast.lambda_min <= fast.lambda_max <= max(eigs) + EXACT
        assert max(abs(fast.lambda_min), abs(fast.lambda_max)) == fast.rho
        assert fast.n_matvecs <= res.n_matvecs


@pytest.mark.parametrize("method", ["lanczos", "power"])
def test_spectral_radius_detects_tie(method, rng):
    A, _ = _planted(SPECTRA["tie"], rng)
    res = ts.spectral_radius(A, torch.tensor(rng.standard_normal(30)), method=method, tol=1e-8)
    assert res.tie and res.converged
    assert res.rho == pytest.approx(2.0, rel=1e-7)
    assert res.lambda_max == pytest.approx(2.0, rel=1e-7) and res.lambda_min == pytest.approx(
        -2.0, rel=1e-7
    )


@pytest.mark.parametrize("kind", list(SPECTRA))
def test_same_iterations_as_reference(kind, rng):
    """Same stopping rule, same counts and pairs as srtheory.spectral (dense matrix input)."""
    A, _ = _planted(SPECTRA[kind], rng)
    v0 = rng.standard_normal(30)
    cases = [
        ("power_iteration", dict(tol=1e-6)),
        ("power_iteration", dict(alpha=lambda i: 0.5 / (1 + i), max_iter=40)),
        ("power_iteration", {"tol": 1e-14, "max_iter": 7}),  # ends by its budget, unconverged
        # the authors' Alg. 1b schedule exp(-4i-2) is 0.0 from i = 186: both stop unconverged
        ("power_iteration", {"tol": 1e-14, "max_iter": 400, "alpha": lambda i: np.exp(-4 * i - 2)}),
        ("lanczos", dict(which="SA")),
        ("lanczos", {}),
    ]
    if kind == "tie":  # which="LM" between +2 and -2 is decided by rounding: not a parity question
        cases = cases[:-1]
    for name, kw in cases:
        ref = getattr(spectral, name)(A.numpy(), v0, **kw)
        got = getattr(ts, name)(A, torch.tensor(v0), **kw)
        assert (got.n_matvecs, got.n_iter, got.converged) == (
            ref.n_matvecs,
            ref.n_iter,
            ref.converged,
        )
        assert got.eigval == pytest.approx(ref.eigval, rel=EXACT, abs=EXACT)
        assert np.max(np.abs(got.eigvec.numpy() - ref.eigvec)) <= 1e-9


def test_paper_power_iteration_flips_sign(rng):
    A, _ = _planted(SPECTRA["negative_dominant"], rng)
    res = ts.power_iteration(
        A, torch.ones(30, dtype=torch.float64), tol=1e-12, criteria="residual", max_iter=5000
    )
    assert res.eigval < 0 and res.rho == -res.eigval


def test_float32_and_matvec_dtype(rng):
    A, _ = _planted(SPECTRA["positive"], rng)
    A32 = A.float()
    res = ts.lanczos(A32, torch.ones(30), tol=1e-5)
    assert res.eigvec.dtype == torch.float32
    # float32: Ritz residual relative tolerance 1e-5 ≫ u32 ≈ 1.2e-7 is attainable
    assert res.converged and res.eigval == pytest.approx(4.0, rel=1e-5)


def test_bad_input(rng):
    A, _ = _planted(SPECTRA["positive"], rng)
    v = torch.ones(30, dtype=torch.float64)
    with pytest.raises(ValueError, match="zero vector"):
        ts.power_iteration(A, torch.zeros(30, dtype=torch.float64))
    with pytest.raises(ValueError, match="NaN"):
        ts.lanczos(A, torch.full((30,), float("nan"), dtype=torch.float64))
    with pytest.raises(ValueError, match="shape"):
        ts.lanczos(A, torch.ones(31, dtype=torch.float64))
    with pytest.raises(ValueError, match="max_iter"):
        ts.power_iteration(A, v, max_iter=0)
    with pytest.raises(ValueError, match="not symmetric"):
        B = A.clone()
        B[0, 1] += 1.0
        ts.lanczos(B, v)
    with pytest.raises(ValueError, match="NaN or inf"):
        ts.power_iteration(lambda x: x * float("nan"), v)
    with pytest.raises(ValueError, match="which"):
        ts.lanczos(A, v, which="XX")
    with pytest.raises(ValueError, match="criteria"):
        ts.power_iteration(A, v, criteria="bogus")
    with pytest.raises(ValueError, match="torch.Tensor"):
        ts.lanczos(A, np.ones(30))
