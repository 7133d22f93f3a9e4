"""The tolerance and planted-spectrum helpers are themselves checked: a value just inside a
tolerance passes, one just outside fails."""

import numpy as np
import pytest

from srtheory.testing import assert_close, planted_symmetric, random_orthogonal, relative_error, tolerance


def test_tolerance_is_a_multiple_of_eps():
    eps64 = np.finfo(np.float64).eps
    assert tolerance(np.float64) == eps64
    assert tolerance(np.float64, factor=10) == 10 * eps64
    assert tolerance(np.float32, factor=2) == 2 * float(np.finfo(np.float32).eps)
    assert tolerance(np.float64, power=0.5) == pytest.approx(np.sqrt(eps64))


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan")])
def test_tolerance_rejects_nonpositive_factor(bad):
    with pytest.raises(ValueError, match="factor"):
        tolerance(np.float64, factor=bad)


def test_assert_close_just_inside_and_just_outside():
    expected = np.array([3.0, 4.0])  # norm 5
    rtol = tolerance(np.float64, factor=1e6)
    inside = expected + np.array([0.99 * 5 * rtol, 0.0])
    outside = expected + np.array([1.01 * 5 * rtol, 0.0])
    assert_close(inside, expected, rtol=rtol)
    with pytest.raises(AssertionError, match="exceeds allowance"):
        assert_close(outside, expected, rtol=rtol)


def test_assert_close_rejects_shape_mismatch():
    with pytest.raises(AssertionError, match="shape"):
        assert_close(np.zeros(2), np.zeros(3), rtol=1.0)


def test_relative_error_of_exact_value_is_zero():
    assert relative_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert relative_error([1.0, 2.0], [1.0, 1.0]) == pytest.approx(1 / np.sqrt(2))


def test_planted_symmetric_has_the_planted_spectrum(rng):
    lam = np.array([-5.0, 3.0, 1e-3, 2.0])
    a, q = planted_symmetric(lam, rng)
    np.testing.assert_array_equal(a, a.T)
    np.testing.assert_allclose(q.T @ q, np.eye(4), atol=tolerance(factor=50))
    np.testing.assert_allclose(np.linalg.eigvalsh(a), np.sort(lam), atol=tolerance(factor=100) * 5)
    np.testing.assert_allclose(a @ q[:, 0], lam[0] * q[:, 0], atol=tolerance(factor=100) * 5)


def test_planted_symmetric_negative_control(rng):
    """A wrong spectrum must not pass the same check."""
    a, _ = planted_symmetric(np.array([1.0, 2.0, 3.0]), rng)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(np.linalg.eigvalsh(a), [1.0, 2.0, 3.1], atol=1e-6)


def test_random_orthogonal_and_bad_input(rng):
    q = random_orthogonal(5, rng)
    np.testing.assert_allclose(q @ q.T, np.eye(5), atol=tolerance(factor=50))
    with pytest.raises(ValueError):
        random_orthogonal(0, rng)
    with pytest.raises(ValueError):
        planted_symmetric(np.array([1.0, np.nan]), rng)
