"""Curvature of a loss along a direction: gradient, Hessian-vector product, third-order term.

SRR needs three derivative objects of ``f`` at the weights ``x`` and along the current eigenvector
estimate ``v`` (SRR_NOTES §5):

* ``∇f(x)``                                         -- the training gradient;
* ``H(x) v = ∇²f(x) v``                              -- the matvec of Algorithm 1 (§6);
* ``∇ₓ(vᵀH(x)v) = ∇³f(x)[v, v, ·]``  (v held fixed)  -- the gradient of λ, Eq. (5.1) of §5.1.

Each comes *exact* (``method="exact"``: reverse-mode autodiff with :mod:`autograd`, the
double-backprop scheme of §5.2) or by *finite differences of gradients* (``method="fd"``, §5.4)::

    H v          ≈ [∇f(x+εv) − ∇f(x−εv)] / (2ε)
    ∇³f[v, v, ·] ≈ [∇f(x+εv) − 2∇f(x) + ∇f(x−εv)] / ε²

so that one fd SRR step costs three gradients (:func:`fused_derivatives`).  The step rule and its
error orders are in :func:`default_fd_step`.

``f`` is a function of one 1-D float64 vector written with ``autograd.numpy``, returning a real
scalar.  A data-dependent loss ``loss(x, batch)`` is passed through a closure,
``lambda x: loss(x, batch)`` (see :func:`hvp`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import NamedTuple

import autograd.numpy as anp
import numpy as np
from autograd.core import make_vjp as _core_make_vjp
from autograd.tracer import getval, isbox

from srtheory._validation import as_vector, finite_output, positive

__all__ = [
    "Derivatives",
    "NotTraceableError",
    "default_fd_step",
    "fd_step",
    "fused_derivatives",
    "gradient",
    "hvp",
    "hvp_operator",
    "third_order",
    "traceable",
]

_METHODS = ("exact", "fd")


class NotTraceableError(ValueError, TypeError):
    """``f`` failed while autograd traced it: it is not written with ``autograd.numpy`` (it calls
    ``float()``, ``math.*``, ``.tolist()``, assigns in place or calls ``np.linalg`` on traced
    values).  Raised by every entry point that differentiates ``f`` (:func:`gradient`,
    :func:`hvp`, :func:`hvp_operator`, ..., :func:`srtheory.algorithms.minimize`,
    :func:`srtheory.training.srr_train`), with autograd's own error as ``__cause__``.  It is both a
    ``ValueError`` (the package's bad-input contract) and a ``TypeError`` (what autograd raised
    for most culprits)."""


_TRACE_SIGNS = ("ArrayBox", "dtype('O')", "object arrays", "dtype=object", "SequenceBox")


def traceable(f: Callable, /, name: str = "f") -> Callable:
    """``f`` unchanged, except that an error raised while autograd traces it (``x`` boxed) because
    ``f`` is not written with ``autograd.numpy`` becomes a :class:`NotTraceableError` saying so.

    An error counts as a tracing error when its message names autograd's boxes or object arrays
    (``ArrayBox``, ``dtype('O')``), or when it is a ``TypeError``/``ValueError``/``AttributeError``
    and ``f`` succeeds on the same point given as a plain array (one extra call, on the error path
    only).  Any other error -- a bug of ``f`` that plain arrays hit too -- propagates unchanged.
    Values are returned untouched, so results are bit for bit those of ``f``.
    """

    def traced(y, *args, **kwargs):
        try:
            return f(y, *args, **kwargs)
        except NotTraceableError:
            raise
        except (TypeError, ValueError, AttributeError) as err:
            if isbox(y) and _is_trace_error(f, y, err, args, kwargs):
                raise NotTraceableError(_not_traceable_message(name, err)) from err
            raise

    return traced


def _is_trace_error(f, y, err, args, kwargs) -> bool:
    if any(sign in str(err) for sign in _TRACE_SIGNS):
        return True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f(np.array(getval(y), copy=True), *args, **kwargs)
    except Exception:  # noqa: BLE001 -- f fails on plain arrays too: its own bug
        return False
    return True


def _not_traceable_message(name: str, err: BaseException) -> str:
    return (
        f"{name} cannot be differentiated by autograd: it failed while being traced "
        f"({type(err).__name__}: {err}).  Write {name} with autograd.numpy "
        "(import autograd.numpy as anp) and keep the traced values inside it -- the usual "
        "culprits: float(), .item() or .tolist() on them; math.* functions (math.exp -> anp.exp); "
        "in-place assignment (x[i] = ..., y[:] = ...; build arrays with anp.stack, "
        "anp.concatenate or anp.where instead); np.asarray(..., dtype=float); np.linalg "
        "(use anp.linalg) or scipy"
    )


class Derivatives(NamedTuple):
    """The three derivative objects of one SRR step at ``(x, v)`` (SRR_NOTES §5.1-§5.4).

    Attributes:
        grad: ``∇f(x)``.
        hvp: ``H(x) v``.
        third_order: ``∇ₓ(vᵀH(x)v) = ∇³f(x)[v, v, ·]``.
        n_grad_evals: number of points at which ``∇f`` was evaluated: 3 for ``method="fd"``
            (``x`` and ``x ± εv``); 1 for ``method="exact"`` (one traced gradient at ``x``,
            differentiated twice more -- about 4-5 gradient costs in all, §5.2).
    """

    grad: np.ndarray
    hvp: np.ndarray
    third_order: np.ndarray
    n_grad_evals: int


def gradient(f: Callable, x, /) -> np.ndarray:
    """``∇f(x)`` by reverse-mode autodiff -- the loss gradient ``∇f`` of SRR_NOTES §4.

    Args:
        f: ``f(x) -> scalar``, written with ``autograd.numpy``.
        x: 1-D float64 point (not modified).

    Returns:
        ``∇f(x)``, a new float64 array of the shape of ``x``.

    Raises:
        ValueError: ``x`` not a finite 1-D vector; ``f(x)`` not a finite real scalar; ``∇f(x)``
            not finite.

    Example:
        >>> import autograd.numpy as anp
        >>> gradient(lambda x: anp.sum(x ** 2), np.array([1.0, -2.0]))
        array([ 2., -4.])
    """
    x = as_vector(x, "x")
    return _grad_at(_scalar(f), x)


def hvp(f: Callable, x, v, /, *, method: str = "exact", eps: float | None = None) -> np.ndarray:
    """Hessian-vector product ``H(x) v`` -- the matvec of Algorithm 1 (SRR_NOTES §6, step "w = A v").

    * ``method="exact"``: ``H v = J_{∇f}(x)ᵀ v``, one reverse pass through the traced gradient
      (``H`` is symmetric, so the vector-Jacobian product of ``∇f`` is ``H v``; §5.2).
    * ``method="fd"``: the central difference of §5.4,
      ``H v ≈ [∇f(x+εv) − ∇f(x−εv)] / (2ε)``, with ``ε = default_fd_step(x, v, order=1)`` unless
      ``eps`` is given; error ``ε²/6·‖∇⁴f‖‖v‖³ + O(u‖∇f‖/ε)``.

    Args:
        f: ``f(x) -> scalar`` written with ``autograd.numpy``.
        x, v: 1-D float64 vectors of the same length (not modified).
        method: ``"exact"`` or ``"fd"``.
        eps: fd step (``method="fd"`` only); default :func:`default_fd_step`.

    Returns:
        ``H(x) v`` as a new float64 array.

    Raises:
        ValueError: non-finite or mis-shaped ``x``/``v``, a zero ``v`` with ``method="fd"``, a bad
            ``method``/``eps``, ``f`` not returning a finite real scalar, or a non-finite result.

    Example (a data-dependent loss through a closure; at ``w = 0`` the Hessian is the identity):
        >>> import autograd.numpy as anp
        >>> def loss(w, batch):
        ...     X, y = batch
        ...     return 0.5 * anp.sum((anp.tanh(X @ w) - y) ** 2)
        >>> batch = (np.eye(2), np.array([0.5, -0.5]))
        >>> hvp(lambda w: loss(w, batch), np.zeros(2), np.array([1.0, 0.0]))
        array([1., 0.])
    """
    method = _check_method(method)
    x = as_vector(x, "x")
    v = as_vector(v, "v", n=x.size, nonzero=(method == "fd"))
    fs = _scalar(f)
    if method == "exact":
        _, hv = _grad_and_hvp_exact(fs, x, v)
        return finite_output(hv, "H(x) v", n=x.size).copy()
    eps = _fd_eps(x, v, eps, order=1)
    xp, xm = _shifted(x, v, eps)
    # SRR_NOTES §5.4:  H v ≈ [∇f(x+εv) − ∇f(x−εv)] / (2ε)
    return finite_output((_grad_at(fs, xp) - _grad_at(fs, xm)) / (2.0 * eps), "fd H(x) v", n=x.size)


def third_order(
    f: Callable, x, v, /, *, method: str = "exact", eps: float | None = None
) -> np.ndarray:
    """``∇ₓ(vᵀH(x)v) = ∇³f(x)[v, v, ·]`` with ``v`` held fixed -- Eq. (5.1), SRR_NOTES §5.1.

    This is ``∇λ`` for a simple eigenpair ``(λ, v)`` of ``H(x)`` with ``‖v‖ = 1``, component ``k``
    being ``Σ_{i,j} v_i v_j ∂³f/∂x_i∂x_j∂x_k``.

    * ``method="exact"``: differentiate ``y ↦ H(y) v`` once more and contract with ``v`` -- the
      authors' double back-propagation (``vGHv``, §5.2): ``(∂(H v)/∂y)ᵀ v = ∇³f[v, v, ·]``.
    * ``method="fd"``: the second difference of §5.4,
      ``[∇f(x+εv) − 2∇f(x) + ∇f(x−εv)] / ε²``, ``ε = default_fd_step(x, v, order=2)`` unless
      given; error ``ε²/12·‖∇⁵f‖‖v‖⁴ + O(u‖∇f‖/ε²)``.

    Args, Returns, Raises: as :func:`hvp`.

    Example (``f = Σ x_i³/6`` has ``∇³f[v, v, ·] = v²`` elementwise):
        >>> third_order(lambda x: anp.sum(x ** 3) / 6.0, np.ones(3), np.array([1.0, 2.0, 3.0]))
        array([1., 4., 9.])
    """
    method = _check_method(method)
    x = as_vector(x, "x")
    v = as_vector(v, "v", n=x.size, nonzero=(method == "fd"))
    fs = _scalar(f)
    if method == "exact":
        return _fused_exact(fs, x, v).third_order
    eps = _fd_eps(x, v, eps, order=2)
    return _fused_fd(fs, x, v, eps).third_order


def default_fd_step(x, v, /, *, order: int, dtype=np.float64) -> float:
    """Default step ``ε`` for the finite differences of SRR_NOTES §5.4 along direction ``v``.

    Rule (``u`` = machine epsilon of ``dtype``, ``s = max(1, ‖x‖)``)::

        order = 1 (central difference, H v):         ε = u^(1/3) · s / ‖v‖
        order = 2 (second difference, ∇³f[v,v,·]):   ε = u^(1/4) · s / ‖v‖

    Derivation.  Put ``φ(t) = ∇f(x + t v)``, so ``φ'(0) = H v`` and ``φ''(0) = ∇³f[v, v, ·]``.
    Taylor expansion gives the truncation errors, and a gradient evaluated with relative error
    ``u`` gives the rounding errors (each difference quotient divides the rounding of its
    gradients by ``2ε`` resp. ``ε²``; the weights are 1+1 and 1+2+1)::

        order 1:  |[φ(ε) − φ(−ε)]/(2ε) − φ'(0)|        ≤ ε²/6 ·‖∇⁴f‖‖v‖³ + u‖∇f‖/ε
        order 2:  |[φ(ε) − 2φ(0) + φ(−ε)]/ε² − φ''(0)| ≤ ε²/12·‖∇⁵f‖‖v‖⁴ + 4u‖∇f‖/ε²

    (norms of the derivative tensors taken on the segment ``x ± εv``; forming ``x ± εv`` in
    floating point adds a term of the same rounding order, ``u‖x‖‖H‖/ε`` resp. ``u‖x‖‖∇³f‖/ε``).
    In terms of the step length ``h = ε‖v‖`` both bounds are proportional to ``‖v‖`` (order 1) or
    ``‖v‖²`` (order 2), so the best ``h`` does not depend on ``‖v‖``; minimising
    ``a h² + b u/h`` gives ``h ∝ u^(1/3)``, and ``a h² + b u/h²`` gives ``h ∝ u^(1/4)``.  Without
    knowledge of the derivative ratios we take the constant 1 and measure length in units of
    ``s = max(1, ‖x‖)`` (the usual choice, so that the step is not lost to the rounding of a large
    ``x``).  At this step the total error is ``O(u^(2/3))`` for order 1 and ``O(u^(1/2))`` for order
    2, relative to the derivative scales: about 4e-11 and 1.5e-8 in float64.

    Args:
        x: the point (1-D, finite).
        v: the direction (1-D, finite, nonzero, same length).
        order: 1 for ``H v``, 2 for the third-order term.
        dtype: floating type whose epsilon sets ``u`` (default float64).

    Returns:
        ``ε > 0`` as a Python float.

    Example:
        >>> print(f"{default_fd_step(np.zeros(2), np.array([3.0, 4.0]), order=1):.3e}")  # u^(1/3)/5
        1.211e-06
        >>> print(f"{default_fd_step(np.zeros(2), np.array([3.0, 4.0]), order=2):.3e}")  # u^(1/4)/5
        2.441e-05
    """
    x = as_vector(x, "x")
    v = as_vector(v, "v", n=x.size, nonzero=True)
    if isinstance(order, bool) or order not in (1, 2):
        raise ValueError(f"order must be 1 (H v) or 2 (third-order term), got {order!r}")
    try:
        u = float(np.finfo(np.dtype(dtype)).eps)
    except (TypeError, ValueError):
        raise ValueError(f"dtype must be a floating-point type, got {dtype!r}") from None
    return fd_step(float(np.linalg.norm(x)), float(np.linalg.norm(v)), order=order, unit_roundoff=u)


def fd_step(x_norm: float, v_norm: float, /, *, order: int, unit_roundoff: float) -> float:
    """The finite-difference step rule of SRR_NOTES §5.4, on norms: ``ε = u^(1/(order+2)) ·
    max(1, ‖x‖) / ‖v‖`` (derived in :func:`default_fd_step`).

    The one place the rule is written: :func:`default_fd_step` of both backends and the torch
    ``SRR`` optimizer's finite-difference pass (``v_norm = 1``) call it.  No checks (the callers
    check their inputs): ``x_norm >= 0``, ``v_norm > 0``, ``order`` 1 or 2, ``unit_roundoff`` the
    machine epsilon of the arithmetic.

        >>> fd_step(0.0, 5.0, order=2, unit_roundoff=2.0**-52) == default_fd_step(
        ...     np.zeros(2), np.array([3.0, 4.0]), order=2)
        True
    """
    # h = ε‖v‖ = u^(1/(order+2)) · max(1, ‖x‖): balances O(h²) truncation against O(u/h^order) rounding.
    return unit_roundoff ** (1.0 / (order + 2)) * max(1.0, x_norm) / v_norm


def fused_derivatives(
    f: Callable, x, v, /, *, method: str = "exact", eps: float | None = None
) -> Derivatives:
    """``∇f(x)``, ``H(x) v`` and ``∇³f(x)[v, v, ·]`` together -- the three inputs of one SRR step
    (Algorithm 2 of SRR_NOTES §6 with the gradient of Eq. (5.1)).

    * ``method="fd"``: exactly three gradient evaluations ``g₀ = ∇f(x)``, ``g± = ∇f(x ± εv)``,
      with one step ``ε`` (default ``default_fd_step(x, v, order=2)``) shared by both quotients::

          grad = g₀,   hvp = (g₊ − g₋)/(2ε),   third_order = (g₊ − 2g₀ + g₋)/ε²

      The shared step is the second-difference optimum, so ``hvp`` has truncation error
      ``ε²/6·‖∇⁴f‖‖v‖³ ≈ u^(1/2)`` here rather than ``u^(2/3)``; call :func:`hvp` when the
      more accurate matvec is needed.
    * ``method="exact"``: one traced gradient, its vector-Jacobian product with ``v`` (``H v``),
      and the vector-Jacobian product of ``y ↦ (∇f(y), H(y) v)`` with ``(0, v)``
      (``∇³f[v, v, ·]``) -- the single double-backprop graph of §5.2.

    Returns:
        :class:`Derivatives` ``(grad, hvp, third_order, n_grad_evals)``.

    Raises:
        ValueError: as :func:`hvp`.

    Example:
        >>> d = fused_derivatives(lambda x: anp.sum(x ** 3) / 6.0, np.ones(2), np.array([1.0, 2.0]), method="fd")
        >>> d.n_grad_evals, bool(np.allclose(d.third_order, [1.0, 4.0], rtol=1e-6))
        (3, True)
    """
    method = _check_method(method)
    x = as_vector(x, "x")
    v = as_vector(v, "v", n=x.size, nonzero=(method == "fd"))
    fs = _scalar(f)
    if method == "exact":
        return _fused_exact(fs, x, v)
    return _fused_fd(fs, x, v, _fd_eps(x, v, eps, order=2))


def hvp_operator(
    f: Callable, x, /, *, method: str = "exact", eps: float | None = None
) -> Callable[[np.ndarray], np.ndarray]:
    """The matvec ``v ↦ H(x) v`` at a fixed point -- the operator ``A`` of Algorithm 1 (SRR_NOTES §6).

    With ``method="exact"`` the gradient ``∇f`` is traced once at ``x``; each call is then one
    reverse pass (a vector-Jacobian product of the traced gradient, §5.2).  With ``method="fd"``
    each call costs two gradients (:func:`hvp`, ``eps`` per call by :func:`default_fd_step` unless
    fixed here; then the zero vector is rejected).

    Returns:
        ``matvec(v)``: checks ``v`` (finite, length ``n``) and returns ``H(x) v`` (finite) as a new
        array.  ``matvec.n`` is the dimension.

    Example:
        >>> mv = hvp_operator(lambda x: x[0] ** 2 * x[1], np.array([1.0, 2.0]))
        >>> mv(np.array([1.0, 0.0]))
        array([4., 2.])
    """
    method = _check_method(method)
    x = as_vector(x, "x")
    n = x.size
    fs = _scalar(f)
    if eps is not None:
        eps = positive(eps, "eps")
    if method == "exact":
        vjp_grad, _ = _vjp(lambda y: _traced_grad(fs, y), x)

        def matvec(v):
            v = as_vector(v, "v", n=n)
            return finite_output(vjp_grad(v), "H(x) v", n=n).copy()

    else:

        def matvec(v):
            return hvp(f, x, v, method="fd", eps=eps)

    matvec.n = n
    return matvec


# --------------------------------------------------------------------------------------------
# private helpers


def _check_method(method) -> str:
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    return method


def _vjp(fun, x):
    """autograd's ``make_vjp`` without the "Output seems independent of input" warning.

    That warning fires for legitimate inputs (a linear ``f`` has a constant gradient, a
    quadratic one a constant ``H v``); the answer -- zeros -- is then exact.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Output seems independent of input")
        return _core_make_vjp(fun, x)


def _scalar(f):
    """Wrap ``f`` so that it returns a 0-d value, or raise ``ValueError`` saying what it returned."""
    if not callable(f):
        raise ValueError(f"f must be callable (x -> scalar), got {type(f).__name__}")
    ft = traceable(f)

    def fs(y):
        out = ft(y)
        raw = np.asarray(getval(out))
        if raw.dtype == object or not (
            np.issubdtype(raw.dtype, np.floating) or np.issubdtype(raw.dtype, np.integer)
        ):
            raise ValueError(f"f must return a real scalar, got a value of dtype {raw.dtype}")
        if raw.size != 1:
            raise ValueError(f"f must return a scalar, got an array of shape {raw.shape}")
        if not np.isfinite(raw).all():
            raise ValueError(
                f"f returned {raw.reshape(())!r} (NaN or inf); expected a finite value"
            )
        return anp.reshape(out, ())

    return fs


def _traced_grad(fs, y):
    """``∇f(y)``, written so that it can itself be traced (differentiated again)."""
    vjp, _ = _vjp(fs, y)
    return vjp(np.ones(()))


def _grad_at(fs, x) -> np.ndarray:
    return finite_output(_traced_grad(fs, x), "gradient of f", n=x.size).copy()


def _grad_and_hvp_exact(fs, x, v):
    # H v = J_{∇f}(x)ᵀ v  (H symmetric): one reverse pass through the traced gradient.
    vjp_grad, g = _vjp(lambda y: _traced_grad(fs, y), x)
    return np.asarray(g), np.asarray(vjp_grad(v))


def _fused_exact(fs, x, v) -> Derivatives:
    n = x.size

    def grad_and_hv(y):
        vjp_grad, g = _vjp(lambda z: _traced_grad(fs, z), y)
        return anp.concatenate([g, vjp_grad(v)])

    # ∇³f[v, v, ·] = (∂(H v)/∂y)ᵀ v : cotangent (0, v) on the stacked output (∇f, H v).
    vjp_out, out = _vjp(grad_and_hv, x)
    t3 = vjp_out(np.concatenate([np.zeros(n), v]))
    out = np.asarray(out)
    return Derivatives(
        grad=finite_output(out[:n], "gradient of f", n=n).copy(),
        hvp=finite_output(out[n:], "H(x) v", n=n).copy(),
        third_order=finite_output(t3, "third-order term", n=n).copy(),
        n_grad_evals=1,
    )


def _fused_fd(fs, x, v, eps) -> Derivatives:
    xp, xm = _shifted(x, v, eps)
    g0, gp, gm = _grad_at(fs, x), _grad_at(fs, xp), _grad_at(fs, xm)
    n = x.size
    return Derivatives(
        grad=g0,
        # SRR_NOTES §5.4: H v ≈ [∇f(x+εv) − ∇f(x−εv)]/(2ε)
        hvp=finite_output((gp - gm) / (2.0 * eps), "fd H(x) v", n=n),
        # SRR_NOTES §5.4: ∇³f[v,v,·] ≈ [∇f(x+εv) − 2∇f(x) + ∇f(x−εv)]/ε²
        third_order=finite_output(
            ((gp - g0) + (gm - g0)) / (eps * eps), "fd third-order term", n=n
        ),
        n_grad_evals=3,
    )


def _fd_eps(x, v, eps, *, order: int) -> float:
    if eps is None:
        return default_fd_step(x, v, order=order)
    return positive(eps, "eps")


def _shifted(x, v, eps):
    xp, xm = x + eps * v, x - eps * v
    if not (np.all(np.isfinite(xp)) and np.all(np.isfinite(xm))):
        raise ValueError(f"x ± eps·v overflows (eps={eps:.3e}); choose a smaller eps")
    if np.array_equal(xp, x) or np.array_equal(xm, x):
        raise ValueError(
            f"eps={eps:.3e} is too small: x ± eps·v rounds to x; expected eps·‖v‖ well above "
            f"u·max(1, ‖x‖) (see default_fd_step)"
        )
    return xp, xm
