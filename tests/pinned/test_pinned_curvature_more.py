"""More contracts of srtheory.curvature left open by the other tests (found by mutation testing,
MUTATION.md): the extra arguments that ``traceable`` forwards, the name ``f`` in the
not-traceable error of the curvature entry points, the input checks of ``hvp_operator``, the real
scalar dtypes ``f`` may return, and that only autograd's "independent of input" warning is
silenced -- the user's own warnings get through."""

from __future__ import annotations

import warnings

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

from srtheory import curvature
from srtheory.curvature import NotTraceableError, hvp_operator, traceable


def cubic(x):
    return anp.sum(x**3) / 6.0


def test_traceable_forwards_extra_positional_and_keyword_arguments():
    """``traceable(f)`` is ``f`` unchanged on success: a data-dependent ``loss(x, batch, *, scale)``
    gets its batch and keywords, plain and traced, with the value and gradient of ``loss``."""

    def loss(y, batch, *, scale):
        return scale * anp.sum(y * batch) + anp.sum(y**2)

    x, batch = np.array([0.5, -1.0]), np.array([1.0, 2.0])
    wrapped = traceable(loss)
    assert wrapped(x, batch, scale=2.0) == loss(x, batch, scale=2.0)
    g = autograd.grad(wrapped)(x, batch, scale=2.0)
    assert np.array_equal(g, 2.0 * batch + 2.0 * x)


@pytest.mark.parametrize(
    "call",
    [
        lambda f, x, v: curvature.gradient(f, x),
        lambda f, x, v: curvature.hvp(f, x, v),
        lambda f, x, v: curvature.fused_derivatives(f, x, v, method="fd"),
        lambda f, x, v: hvp_operator(f, x),
        lambda f, x, v: autograd.grad(traceable(f))(x),  # the default name
    ],
)
def test_not_traceable_error_names_the_argument_f(call):
    """A loss that leaves autograd (``float()`` of a traced value) is reported as the argument
    ``f`` that cannot be differentiated, like the other bad inputs are named by their argument."""

    def f(y):
        return float(y[0]) ** 2 + anp.sum(y**2)

    x, v = np.array([0.5, -1.0]), np.array([1.0, 0.0])
    with pytest.raises(NotTraceableError, match=r"^f cannot be differentiated by autograd"):
        call(f, x, v)


@pytest.mark.parametrize("method", ["exact", "fd"])
def test_hvp_operator_checks_its_inputs_by_name(method):
    """``hvp_operator`` rejects a bad point and a bad ``eps`` up front, and its ``matvec`` a bad
    ``v``, each error naming the argument."""
    x = np.array([0.5, -1.0])
    with pytest.raises(ValueError, match=r"^x must be a 1-D vector"):
        hvp_operator(cubic, x.reshape(2, 1), method=method)
    with pytest.raises(ValueError, match=r"^x contains NaN or inf"):
        hvp_operator(cubic, np.array([0.5, np.inf]), method=method)
    with pytest.raises(ValueError, match=r"^eps must be finite and > 0, got -0\.001$"):
        hvp_operator(cubic, x, method=method, eps=-1e-3)
    with pytest.raises(ValueError, match=r"^eps must be a real number"):
        hvp_operator(cubic, x, method=method, eps="small")
    mv = hvp_operator(cubic, x, method=method)
    with pytest.raises(ValueError, match=r"^v must have length 2, got length 3$"):
        mv(np.ones(3))
    with pytest.raises(ValueError, match=r"^v contains NaN or inf"):
        mv(np.array([1.0, np.nan]))


def test_f_may_return_a_float32_or_an_integer_scalar():
    """``f`` must return a real scalar -- any floating or integer dtype, not only float64: a
    float32 loss is differentiated as usual, and an integer-valued (constant) ``f`` has zero
    derivatives."""
    x, v = np.array([0.5, -1.0]), np.array([1.0, 2.0])

    def f32(y):
        return anp.sum(y**2).astype(np.float32)

    assert np.allclose(curvature.gradient(f32, x), 2.0 * x)
    assert np.allclose(curvature.hvp(f32, x, v), 2.0 * v)
    assert np.allclose(curvature.gradient(lambda y: np.float32(1.5), x), 0.0)

    for const in (lambda y: 3, lambda y: np.int32(-2)):
        assert np.array_equal(curvature.gradient(const, x), np.zeros(2))
        d = curvature.fused_derivatives(const, x, v)
        assert not np.any(d.grad) and not np.any(d.hvp) and not np.any(d.third_order)
        assert not np.any(hvp_operator(const, x)(v))


@pytest.mark.parametrize(
    "call",
    [
        lambda f, x, v: curvature.gradient(f, x),
        lambda f, x, v: curvature.hvp(f, x, v),
        lambda f, x, v: curvature.fused_derivatives(f, x, v),
        lambda f, x, v: hvp_operator(f, x)(v),
    ],
)
def test_warnings_of_f_itself_are_not_swallowed(call):
    """Only autograd's "Output seems independent of input" warning is silenced while tracing;
    a warning that ``f`` itself issues reaches the caller."""

    def f(y):
        warnings.warn("f's own warning", UserWarning, stacklevel=2)
        return cubic(y)

    x, v = np.array([0.5, -1.0]), np.array([1.0, 2.0])
    with pytest.warns(UserWarning, match="f's own warning"):
        call(f, x, v)
