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
