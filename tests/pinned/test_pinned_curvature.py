"""Contracts of srtheory.curvature that the other tests left open (found by mutation testing,
MUTATION.md): the input checks of fused_derivatives, and how traceable tells a function that is
not written with autograd.numpy from a bug of the function."""

from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

from srtheory import curvature
from srtheory.curvature import NotTraceableError, fused_derivatives, traceable


def cubic(x):
    return anp.sum(x**3) / 6.0


@pytest.mark.parametrize("method", ["exact", "fd"])
def test_fused_derivatives_checks_its_inputs_by_name(method):
    x = np.array([0.5, -1.0, 2.0])
    with pytest.raises(ValueError, match=r"^x must be a 1-D vector"):
        fused_derivatives(cubic, x.reshape(3, 1), np.ones(3), method=method)
    with pytest.raises(ValueError, match=r"^v must have length 3, got length 2$"):
        fused_derivatives(cubic, x, np.ones(2), method=method)
    with pytest.raises(ValueError, match=r"^v contains NaN or inf"):
        fused_derivatives(cubic, x, np.array([1.0, np.nan, 0.0]), method=method)


def test_fused_derivatives_zero_direction_fd_refused_exact_gives_zeros():
    """A zero ``v`` has no finite-difference step (``eps ∝ 1/‖v‖``); the exact path is bilinear
    in ``v`` and returns ``H·0 = 0`` and ``∇³f[0, 0, ·] = 0``."""
    x = np.array([0.5, -1.0, 2.0])
    with pytest.raises(ValueError, match=r"^v is the zero vector"):
        fused_derivatives(cubic, x, np.zeros(3), method="fd")
    with pytest.raises(ValueError, match=r"^v is the zero vector"):  # not blamed on the step
        fused_derivatives(cubic, x, np.zeros(3), method="fd", eps=1e-3)
    d = fused_derivatives(cubic, x, np.zeros(3), method="exact")
    assert np.array_equal(d.grad, x**2 / 2.0)
    assert not np.any(d.hvp) and not np.any(d.third_order)


def test_trace_error_named_by_autograd_is_reported_even_if_f_also_fails_on_plain_arrays():
    """``float(x)`` of a vector fails traced (autograd names its ``ArrayBox``) and untraced; the
    message that names the box is enough to say ``f`` is not written with autograd.numpy."""
    with pytest.raises(NotTraceableError, match="float"):
        autograd.grad(traceable(lambda y: float(y)))(np.array([0.5, -1.0]))


def test_trace_error_without_a_sign_is_confirmed_on_plain_arrays_with_all_arguments():
    """``np.asarray(x, dtype=float)`` fails traced without naming autograd; ``traceable`` then runs
    ``f`` once on the plain point with the *same* extra positional and keyword arguments."""

    def loss(y, batch, *, scale):
        return scale * float(np.asarray(y, dtype=float) @ batch)

    batch = np.array([1.0, 2.0])
    assert loss(np.array([0.5, -1.0]), batch, scale=2.0) == -3.0
    with pytest.raises(NotTraceableError, match="autograd.numpy"):
        autograd.grad(traceable(loss))(np.array([0.5, -1.0]), batch, scale=2.0)


def test_the_plain_retry_runs_on_a_copy_of_the_point():
    """The confirming call must not touch the caller's point, even when ``f`` writes into its
    argument."""

    def f(y):
        a = np.asarray(y, dtype=float)
        a *= 2.0
        return float(a.sum())

    x = np.array([0.5, -1.0])
    with pytest.raises(NotTraceableError):
        autograd.grad(traceable(f))(x)
    assert np.array_equal(x, [0.5, -1.0])


def test_a_bug_of_f_that_plain_arrays_hit_too_propagates_unchanged():
    def f(y):
        raise ValueError("f's own bug")

    with pytest.raises(ValueError, match="own bug") as info:
        autograd.grad(traceable(f))(np.array([0.5, -1.0]))
    assert not isinstance(info.value, NotTraceableError)


@pytest.mark.parametrize("fn", ["hvp", "third_order"])
@pytest.mark.parametrize("method", ["exact", "fd"])
def test_hvp_and_third_order_check_their_inputs_by_name(fn, method):
    call = getattr(curvature, fn)
    x = np.array([0.5, -1.0, 2.0])
    with pytest.raises(ValueError, match=r"^v must have length 3, got length 2$"):
        call(cubic, x, np.ones(2), method=method)
    if method == "fd":  # a zero direction is named as the culprit, also when eps is given
        with pytest.raises(ValueError, match=r"^v is the zero vector"):
            call(cubic, x, np.zeros(3), method=method, eps=1e-3)
    else:
        assert not np.any(call(cubic, x, np.zeros(3), method=method))


# f is finite at x = 0 but one of its derivatives is not: each entry point names the one that is
# not finite.  |t|^(1/2): the gradient; |t|^(3/2): H v; |t|^(5/2): the third-order term;
# c|t| and c t|t| (c near the overflow threshold): the finite-difference quotients overflow.
_KINK = {
    "grad": lambda y: anp.abs(y[0]) ** 0.5 + y[1] ** 2,
    "hvp": lambda y: anp.abs(y[0]) ** 1.5 + y[1] ** 2,
    "third": lambda y: anp.abs(y[0]) ** 2.5 + y[1] ** 2,
    "fd_hvp": lambda y: 1e308 * anp.abs(y[0]) + y[1] ** 2,
    "fd_third": lambda y: 1e306 * y[0] * anp.abs(y[0]) + y[1] ** 2,
}


@pytest.mark.parametrize(
    ("kink", "call", "what"),
    [
        ("grad", lambda f, x, v: curvature.gradient(f, x), "gradient of f"),
        ("grad", lambda f, x, v: fused_derivatives(f, x, v), "gradient of f"),
        ("hvp", lambda f, x, v: curvature.hvp(f, x, v), r"H\(x\) v"),
        ("hvp", lambda f, x, v: curvature.hvp_operator(f, x)(v), r"H\(x\) v"),
        ("hvp", lambda f, x, v: fused_derivatives(f, x, v), r"H\(x\) v"),
        ("third", lambda f, x, v: fused_derivatives(f, x, v), "third-order term"),
        ("third", lambda f, x, v: curvature.third_order(f, x, v), "third-order term"),
        ("fd_hvp", lambda f, x, v: curvature.hvp(f, x, v, method="fd"), r"fd H\(x\) v"),
        ("fd_hvp", lambda f, x, v: fused_derivatives(f, x, v, method="fd"), r"fd H\(x\) v"),
        ("fd_third", lambda f, x, v: curvature.third_order(f, x, v, method="fd"),
         "fd third-order term"),
    ],
)
def test_a_non_finite_derivative_is_reported_by_name(kink, call, what):
    x, v = np.zeros(2), np.array([1.0, 0.0])
    with np.errstate(all="ignore"), pytest.raises(
        ValueError, match=rf"^{what} returned NaN or inf; expected finite values$"
    ):
        call(_KINK[kink], x, v)


def test_default_fd_step_checks_its_inputs_by_name():
    with pytest.raises(ValueError, match=r"^x must be a 1-D vector"):
        curvature.default_fd_step(np.ones((2, 2)), np.ones(2), order=1)
    with pytest.raises(ValueError, match=r"^v must have length 3, got length 2$"):
        curvature.default_fd_step(np.ones(3), np.ones(2), order=1)
    with pytest.raises(ValueError, match=r"^v is the zero vector"):
        curvature.default_fd_step(np.ones(3), np.zeros(3), order=2)


@pytest.mark.parametrize("side", [1.0, -1.0])
def test_a_step_lost_to_rounding_on_either_side_is_refused(side):
    """``x ± eps·v`` must differ from ``x`` on *both* sides: with ``x = ±1`` and ``eps = 2^-53``
    one side rounds back to ``x`` (the spacing of floats is ``2^-52`` above 1, ``2^-53`` below)."""
    x, v = np.array([side]), np.ones(1)
    eps = 2.0**-53
    assert (x + eps * v == x)[0] != (x - eps * v == x)[0]  # exactly one side is lost
    with pytest.raises(ValueError, match=r"^eps=1\.110e-16 is too small: x ± eps·v rounds to x"):
        curvature.hvp(cubic, x, v, method="fd", eps=eps)


@pytest.mark.parametrize("side", [1.0, -1.0])
def test_a_step_that_overflows_on_either_side_is_refused(side):
    x, v = np.array([side * 1.5e308]), np.ones(1)
    with np.errstate(over="ignore"), pytest.raises(
        ValueError, match=r"^x ± eps·v overflows \(eps=1\.000e\+308\)"
    ):
        curvature.third_order(lambda y: anp.sum(y), x, v, method="fd", eps=1e308)
