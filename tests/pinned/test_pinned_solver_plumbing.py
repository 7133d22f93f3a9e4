"""Contracts of the solvers' shared plumbing (:mod:`srtheory.spectral._common`) that the other
tests left open (found by mutation testing, see MUTATION.md): the power-of-two output scale is
decided at the first *nonzero* product, the symmetry probe refuses an asymmetry strictly above
``max(tol, sqrt(eps))``, and the start probe restarts from ``v + g`` (``g`` the generic unit
vector made orthogonal to ``v``).

Small diagonal or dense operators: every case runs in milliseconds and is deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from srtheory.spectral import generic_start, lanczos, power_iteration, spectral_radius

_EPS = float(np.finfo(np.float64).eps)


@pytest.mark.parametrize("solve", [lanczos, spectral_radius, power_iteration])
def test_a_zero_first_product_leaves_the_output_scale_undecided(solve):
    """``A = 2^600 diag(1, 0, 1/2)`` from ``e_2``: the first product is exactly zero (the start
    is in the null space), so the scale is decided by the next, nonzero product (the start
    probe's), which is then brought into range.  Deciding "no scaling" from the zero product
    would leave products of size ``2^600``, whose squared norms overflow: Lanczos then reported
    ``0.43 * 2^600`` as converged."""
    s = 2.0**600
    d = np.array([s, 0.0, 0.5 * s])
    res = solve(lambda x: d * x, np.array([0.0, 1.0, 0.0]))
    assert res.converged and "restarted" in res.notes[0]
    rel = 1e-3 if solve is power_iteration else 1e-12  # power iteration at its paper tol 1e-3
    assert res.eigval / s == pytest.approx(1.0, rel=rel)
    assert "inf" not in res.notes[0]


def test_lanczos_symmetry_probe_accepts_an_asymmetry_equal_to_sqrt_eps():
    """The probe refuses an asymmetry *above* ``max(tol, sqrt(eps))``.  ``[[0, 1 - 2^-26], [1,
    0]]`` from ``e_1`` measures exactly ``|beta_0 - q_0.A q_1| / max(||A q_0||, ||A q_1||) =
    2^-26 = sqrt(eps)``: recorded, not refused (no note); twice that is refused."""
    sq = 2.0**-26
    assert sq == np.sqrt(_EPS)
    # closures: a dense matrix is refused up front unless symmetric to 100 eps
    B = np.array([[0.0, 1.0 - sq], [1.0, 0.0]])
    ok = lanczos(lambda x: B @ x, np.array([1.0, 0.0]))
    assert ok.asymmetry == sq
    # (its residual, 7e-9, misses the default tol 1e-10: that note is the exhausted space's)
    assert not any(s.startswith("the operator is not symmetric") for s in ok.notes)
    C = np.array([[0.0, 1.0 - 2 * sq], [1.0, 0.0]])
    bad = lanczos(lambda x: C @ x, np.array([1.0, 0.0]))
    assert bad.asymmetry > sq and not bad.converged
    assert bad.notes[0].startswith("the operator is not symmetric")


def test_the_start_probe_restarts_from_the_start_plus_the_orthogonal_generic_vector():
    """A start that is exactly an eigenvector of a non-dominant eigenvalue is restarted from
    ``normalize(v + g)``, with ``g`` the generic unit vector made orthogonal to ``v`` (half the
    warm start kept).  With a budget of two steps, power iteration evaluates that restart
    vector and returns it (up to the sign flip of step 2.3)."""
    A = np.diag([1.0, 3.0, -2.0, 0.5])
    v = np.array([1.0, 0.0, 0.0, 0.0])
    g = generic_start(4)
    g = g - (g @ v) * v
    g /= np.linalg.norm(g)
    expected = (v + g) / np.linalg.norm(v + g)
    res = power_iteration(A, v, max_iter=2)
    assert "restarted" in res.notes[0]
    sign = np.sign(res.eigvec @ expected)
    np.testing.assert_allclose(sign * res.eigvec, expected, rtol=0, atol=1e-15)
    assert res.eigval == pytest.approx(sign * (expected @ A @ expected), abs=1e-14)


@pytest.mark.parametrize("n", [2, 3, 8, 50])
def test_the_orthogonal_generic_direction_exists_even_for_the_generic_vector_itself(n):
    """The direction the start probe and the power variant's second run use, ``g - (g.u) u``, is
    orthogonal to ``u`` and of size at least 0.5 for a random ``u`` and for ``u = g`` itself,
    where ``g`` is useless (its projection is rounding) and ``g`` with alternating signs is
    taken instead."""
    from srtheory.backend import ops_for
    from srtheory.spectral._common import _orthogonal_generic

    ops = ops_for(np.zeros(n))
    g = generic_start(n)
    rng = np.random.default_rng(n)
    for u in (g, rng.standard_normal(n)):
        u = u / np.linalg.norm(u)
        w = _orthogonal_generic(ops, u, n)
        assert abs(w @ u) <= 1e-15 * n and np.linalg.norm(w) >= 0.5
    signs = (-1.0) ** np.arange(n)
    np.testing.assert_array_equal(_orthogonal_generic(ops, g, n),
                                  signs * g - ((signs * g) @ g) * g)


def _with_eigenvector_g(eigenvalues):
    """A symmetric matrix whose first eigenvector is :func:`generic_start` itself."""
    n = len(eigenvalues)
    g = generic_start(n)
    Q, _ = np.linalg.qr(np.c_[g, np.random.default_rng(0).standard_normal((n, n - 1))])
    Q[:, 0] = g
    A = Q @ np.diag(eigenvalues) @ Q.T
    return (A + A.T) / 2, g


def test_power_variant_finds_the_tie_when_the_start_is_the_generic_vector_and_dominant():
    """The start is :func:`generic_start` and it is the dominant eigenvector (eigenvalue 3, with
    -3 also in the spectrum).  The second run cannot start from what is left of the start (only
    rounding) nor from the generic vector (the same vector): the alternating-sign fallback
    finds -3 and the tie.  Before, the generic fallback left rounding, the code fell back to the
    start itself, and ``lambda_min = 3``, ``tie=False`` came back as converged."""
    A, g = _with_eigenvector_g([3.0, -3.0, 1.0, 0.5])
    res = spectral_radius(A, g, method="power")
    assert res.converged and res.tie
    assert (res.lambda_max, res.lambda_min) == pytest.approx((3.0, -3.0), abs=1e-12)


def test_the_start_probe_restarts_a_start_that_is_the_generic_vector_and_not_dominant():
    """A start equal to :func:`generic_start` that is an eigenvector of the non-dominant
    eigenvalue 1 (the dominant is -3): the probe needs a direction orthogonal to the start, which
    the generic vector is not; it takes the alternating-sign one, sees ``||A h|| > 1`` and
    restarts, so power iteration finds -3."""
    A, g = _with_eigenvector_g([1.0, -3.0, 0.5, 0.2])
    res = power_iteration(A, g, tol=1e-10, criteria="residual")
    assert "restarted" in res.notes[0]
    assert res.converged and res.eigval == pytest.approx(-3.0, abs=1e-9)
