"""Contracts of srtheory.eigengrad that the other tests left open (found by mutation testing,
MUTATION.md)."""

from __future__ import annotations

from typing import NamedTuple

import autograd.numpy as anp
import numpy as np

from srtheory.eigengrad import eigenvalue_grad, spectral_radius_grad


class Eig(NamedTuple):
    eigval: float
    eigvec: np.ndarray


def f(x):
    return x[0] ** 3 / 6.0 + x[0] * x[1] ** 2 / 2.0


def test_default_method_is_the_exact_one():
    """Without ``method`` both gradients are the exact double back-propagation, bit for bit.
    ``f = x0³/6 + x0·x1²/2`` has ``H = [[x0, x1], [x1, x0]]`` and ``∇³f[v, v, ·] = (v0² + v1²,
    2 v0 v1)``."""
    x = np.array([-2.0, 0.5])
    v = np.array([0.6, 0.8])
    eig = Eig(-2.0, v)
    assert np.array_equal(eigenvalue_grad(f, x, eig), eigenvalue_grad(f, x, eig, method="exact"))
    assert np.array_equal(spectral_radius_grad(f, x, eig),
                          spectral_radius_grad(f, x, eig, method="exact"))
    np.testing.assert_allclose(eigenvalue_grad(f, x, eig), [1.0, 0.96], rtol=1e-15)
    np.testing.assert_allclose(spectral_radius_grad(f, x, eig), [-1.0, -0.96], rtol=1e-15)


def test_eigenvalue_grad_accepts_a_zero_eigenvalue():
    """``∇λ*`` needs no sign, so ``λ* = 0`` is fine here (unlike ``∇ρ``)."""
    x = np.zeros(2)
    g = eigenvalue_grad(lambda y: anp.sum(y**3) / 6.0, x, Eig(0.0, np.array([1.0, 0.0])))
    assert np.array_equal(g, [1.0, 0.0])


def test_fd_step_is_passed_through_to_the_third_order_term():
    from srtheory.curvature import third_order

    x, v = np.array([-2.0, 0.5]), np.array([0.6, 0.8])
    eig = Eig(-2.0, v)
    for eps in (None, 0.05):
        want = third_order(f, x, v, method="fd", eps=eps)
        assert np.array_equal(eigenvalue_grad(f, x, eig, method="fd", eps=eps), want)
        assert np.array_equal(spectral_radius_grad(f, x, eig, method="fd", eps=eps), -want)
    assert not np.array_equal(eigenvalue_grad(f, x, eig, method="fd", eps=0.05),
                              eigenvalue_grad(f, x, eig, method="fd"))


def test_an_eigenvector_of_the_wrong_length_is_refused_naming_it():
    """``eig.eigvec`` must have the length of ``x`` (a ``ValueError`` naming ``eig.eigvec``),
    for both gradients."""
    import pytest

    x = np.array([-2.0, 0.5])
    for grad in (eigenvalue_grad, spectral_radius_grad):
        with pytest.raises(ValueError, match=r"^eig\.eigvec "):
            grad(f, x, Eig(-2.0, np.array([0.6, 0.8, 0.0])))


def test_unit_norm_is_checked_to_exactly_a_million_ulps():
    """``‖v‖`` may differ from 1 by at most ``1e6 eps`` (inclusive): ``v = 1 + 1e6 eps`` (exactly
    representable, so ``|‖v‖ - 1|`` is the bound itself) is accepted, one more ulp is refused."""
    import pytest

    eps = float(np.finfo(np.float64).eps)
    x = np.array([0.5])

    def cube(y):
        return y[0] ** 3 / 6.0  # H = x, grad^3 f[v, v] = v^2

    at = eigenvalue_grad(cube, x, Eig(0.5, np.array([1.0 + 1e6 * eps])))
    assert at[0] == (1.0 + 1e6 * eps) ** 2
    with pytest.raises(ValueError, match=r"^eig\.eigvec must have unit 2-norm"):
        eigenvalue_grad(cube, x, Eig(0.5, np.array([1.0 + (1e6 + 1) * eps])))
