"""Curvature of a torch loss: gradient, Hessian-vector product and the third-order term.

Mirror of :mod:`srtheory.curvature` (SRR_NOTES §5) for a loss *closure* and a parameter list:

* ``loss_fn`` is a zero-argument callable returning the scalar loss computed from the tensors in
  ``params`` (e.g. ``lambda: F.cross_entropy(model(x), y)``).  ``method="func"`` (``torch.func``
  forward-over-reverse) needs a *functional* loss instead: ``loss_fn(tensors)`` must evaluate the
  loss at the given tuple of parameter tensors; :func:`module_loss` builds a loss that works both
  ways.
* ``params`` is a list of tensors (or an ``nn.Module``); vectors are flat 1-D tensors of the total
  parameter count (parameter order, row-major), or tuples of tensors shaped like ``params``.
  Results are flat 1-D tensors.

* ``params`` given as an ``nn.Module`` means its parameters **that require grad**, in
  ``model.parameters()`` order (frozen ones, ``requires_grad=False``, are skipped: vectors have
  the trainable count); a list must hold only tensors that require grad.

What each method needs of the loss:

* ``"exact"`` / ``"double_backward"`` and ``"func"``: autograd's derivatives; correct almost
  everywhere also through ReLU, max-pooling and other piecewise-smooth operations.
  Caution (torch 2.13): ``"exact"`` third-order terms through ``F.batch_norm`` with batch
  statistics (training mode), ``F.layer_norm`` and ``F.instance_norm`` are wrong -- autograd's
  derivative of their double backward is inexact (measured 13-26 % relative error; Hv is
  right); :func:`fused_derivatives` warns when the loss's graph holds one.  Eval-mode batch norm
  and ``F.group_norm`` are exact; :func:`srtheory.torch.norms.composite_norms` rewrites the
  layers so that the exact method is right.
* ``"fd"``: the loss must be **C² along the step** w ± εv (C³ for the third-order term): the
  central differences cross the kinks of ReLU, max-pooling, abs, clamp, ... and are then wrong
  (measured on a ReLU ResNet: Hv relative errors 2-4 in float32, ρ 136.8 for a true 9.74).  The
  fd paths inspect the loss's autograd graph at the first evaluation and raise a ``ValueError``
  naming the non-smooth operations found.

Parameters in float16/bfloat16 are refused (``ValueError``): curvature needs float32 or float64.

Side effects: the finite-difference paths perturb the parameters *in place* (so a plain closure
over a model works) and restore them bit for bit from a saved copy afterwards, also when
``loss_fn`` raises.  Every evaluation of the loss within one call (and within one operator of
:func:`hvp_operator`) sees the same torch RNG state (CPU and the parameters' CUDA devices: the
state at the call, or at the operator's creation), so dropout draws the same mask in every
pass; afterwards the RNG is left where the first evaluation left it.  When ``params`` is an
``nn.Module`` its buffers (BatchNorm running statistics) are restored after every call and every
matvec: measuring curvature does not train the model.  ``check_determinism=True`` evaluates the
loss twice at w (RNG replayed) and raises if the two differ (a data loader drawn inside the
closure, randomness from another generator): the curvature of a loss that changes between calls
is meaningless.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import NamedTuple

import torch

from srtheory.curvature import fd_step
from srtheory.torch._graph import (
    HALF,
    half_precision_message,
    inspect_graph,
    nonsmooth_fd_message,
)
from srtheory.torch._util import (
    RNGState,
    as_flat_vector,
    as_param_list,
    callable_or_raise,
    check_finite,
    check_loss,
    flatten,
    grads_or_zeros,
    unflatten,
)

__all__ = [
    "Derivatives",
    "default_fd_step",
    "fused_derivatives",
    "gradient",
    "hvp",
    "hvp_operator",
    "module_loss",
    "third_order",
]

_HVP_METHODS = ("double_backward", "exact", "func", "fd")


class Derivatives(NamedTuple):
    """Gradient, Hv and ∇(vᵀHv) at one point (the reference's ``Derivatives``), flat tensors."""

    grad: torch.Tensor
    hvp: torch.Tensor
    third_order: torch.Tensor
    n_grad_evals: int
    loss: float | None = None  # loss at the unperturbed parameters (torch extension)


def gradient(loss_fn: Callable, params, /) -> torch.Tensor:
    """∇L(w) as a flat tensor (one backward pass; SRR_NOTES §4, f = L)."""
    params = as_param_list(params)
    callable_or_raise(loss_fn, "loss_fn")
    with torch.enable_grad():
        loss = check_loss(loss_fn())
        g = torch.autograd.grad(loss, params, allow_unused=True)
    return check_finite(flatten(grads_or_zeros(g, params)).detach(), "gradient")


def default_fd_step(params, v, /, *, order: int, dtype=None) -> float:
    """Finite-difference step ε for the central differences of SRR_NOTES §5.4.

    The rule of :func:`srtheory.curvature.default_fd_step` (where it is derived): with ``u`` the
    machine epsilon of ``dtype`` (default: the parameters' dtype) and ``s = max(1, ‖w‖₂)``::

        order = 1 (H v ≈ [∇L(w+εv) − ∇L(w−εv)]/2ε):            ε = u^(1/3) · s / ‖v‖₂
        order = 2 (∇(vᵀHv) ≈ [∇L(w+εv) − 2∇L(w) + ∇L(w−εv)]/ε²): ε = u^(1/4) · s / ‖v‖₂

    balancing the O(ε²) truncation error against the O(u/ε) resp. O(u/ε²) rounding error.
    In float32 (u ≈ 1.2e-7) that is a step length of about 5e-3·s resp. 1.9e-2·s.
    """
    if isinstance(order, bool) or order not in (1, 2):
        raise ValueError(f"order must be 1 (H v) or 2 (third-order term), got {order!r}")
    params = as_param_list(params)
    vflat = as_flat_vector(v, params)
    dtype = params[0].dtype if dtype is None else dtype
    try:
        u = torch.finfo(dtype).eps
    except TypeError:
        raise ValueError(f"dtype must be a floating-point torch dtype, got {dtype!r}") from None
    vnorm = float(torch.linalg.vector_norm(vflat))
    if vnorm == 0.0:
        raise ValueError(
            "v is the zero vector; expected a nonzero direction for finite differences"
        )
    wnorm = float(torch.linalg.vector_norm(flatten([p.detach() for p in params])))
    return fd_step(wnorm, vnorm, order=order, unit_roundoff=u)


def hvp(
    loss_fn: Callable,
    params,
    v,
    /,
    *,
    method: str = "double_backward",
    eps=None,
    check_determinism: bool = False,
) -> torch.Tensor:
    """Hessian-vector product H(w) v (SRR_NOTES §5.2, ``Hv`` of the code's ``HVPOperator``).

    ``method``: ``"double_backward"`` (alias ``"exact"``): ∂/∂w (∇L(w)·v) by a second backward
    through the gradient graph; ``"func"``: ``torch.func.jvp`` of ``torch.func.grad``
    (forward-over-reverse; ``loss_fn`` must accept a tuple of parameter tensors, see
    :func:`module_loss`); ``"fd"``: [∇L(w+εv) − ∇L(w−εv)]/(2ε) (SRR_NOTES §5.4), ε from
    :func:`default_fd_step` with ``order=1`` unless given (the loss must be C² along the step;
    see the module docstring).
    """
    module, params = _module_and_params(params)
    callable_or_raise(loss_fn, "loss_fn")
    vflat = as_flat_vector(v, params)
    method = _check_method(method, _HVP_METHODS)
    if method in ("double_backward", "exact", "func"):
        op = hvp_operator(
            loss_fn, module if module is not None else params, method=method,
            check_determinism=check_determinism,
        )
        return op(vflat)
    with _Guard(params, module) as guard:
        if check_determinism:
            _check_deterministic(loss_fn, params, guard)
        eps = _fd_eps(params, vflat, eps, order=1)
        gp, gm = _grads_at(loss_fn, params, vflat, eps, (1.0, -1.0), guard=guard)[0]
    return check_finite((gp - gm) / (2.0 * eps), "hvp")


def third_order(
    loss_fn: Callable, params, v, /, *, method: str = "exact", eps=None
) -> torch.Tensor:
    """∇_w (vᵀH(w)v) = ∇³L(w)[v, v, ·] with v held fixed (SRR_NOTES §5.1; Lemma A without the sign).

    ``"exact"``: double backprop through the Hv graph (§5.2, the code's ``vGHv``);
    ``"fd"``: [∇L(w+εv) − 2∇L(w) + ∇L(w−εv)]/ε² (§5.4), ε from :func:`default_fd_step` with
    ``order=2`` unless given.
    """
    return fused_derivatives(loss_fn, params, v, method=method, eps=eps).third_order


def fused_derivatives(
    loss_fn: Callable, params, v, /, *, method: str = "exact", eps=None
) -> Derivatives:
    """Gradient ∇L, Hv and ∇(vᵀHv) at w together (what one SRR step needs, Algorithm 2 step 2).

    ``"exact"``: one graph: g = ∇L (create_graph), Hv = ∂(g·v)/∂w (create_graph),
    ∇(vᵀHv) = ∂(Hv·v)/∂w; ``n_grad_evals = 1`` (one traced gradient, differentiated twice
    more -- the reference's count).
    ``"fd"``: exactly three gradients g₀ = ∇L(w), g± = ∇L(w ± εv):
    Hv ≈ (g₊ − g₋)/(2ε), ∇(vᵀHv) ≈ (g₊ − 2g₀ + g₋)/ε²; the parameters are restored bit for bit.
    """
    module, params = _module_and_params(params)
    callable_or_raise(loss_fn, "loss_fn")
    vflat = as_flat_vector(v, params)
    method = _check_method(method, ("exact", "fd"))
    if method == "exact":
        with _Guard(params, module) as guard, torch.enable_grad():
            guard.replay()
            loss = _loss_at(loss_fn, "at w")
            rep = inspect_graph(loss)
            if rep.bad_third_order:
                warnings.warn(
                    f"fused_derivatives(method='exact'): torch's third derivative through "
                    f"{', '.join(rep.bad_third_order)} is wrong (torch 2.13: 13-26 % relative "
                    "error; Hv is right); use srtheory.torch.norms.composite_norms(model) or "
                    "method='fd' for a loss that is otherwise smooth",
                    RuntimeWarning,
                    stacklevel=3,
                )
            g = grads_or_zeros(
                torch.autograd.grad(loss, params, create_graph=True, allow_unused=True), params
            )
            hv = _hv_from_graph(g, params, vflat, create_graph=True)
            t = _third_from_hv(hv, params, vflat)
        out = Derivatives(
            flatten(g).detach(), flatten(hv).detach(), flatten(t).detach(), 1, float(loss.detach())
        )
    else:
        with _Guard(params, module) as guard:
            eps = _fd_eps(params, vflat, eps, order=2)
            (g0, gp, gm), loss = _grads_at(
                loss_fn, params, vflat, eps, (0.0, 1.0, -1.0), with_loss=True, guard=guard
            )
        # SRR_NOTES §5.4: Hv ≈ (g₊ − g₋)/(2ε),  ∇³L[v,v,·] ≈ ((g₊ − g₀) + (g₋ − g₀))/ε²
        out = Derivatives(
            g0, (gp - gm) / (2.0 * eps), ((gp - g0) + (gm - g0)) / (eps * eps), 3, loss
        )
    for name in ("grad", "hvp", "third_order"):
        check_finite(getattr(out, name), f"fused_derivatives ({name})")
    return out


def hvp_operator(
    loss_fn: Callable,
    params,
    /,
    *,
    method: str = "double_backward",
    eps=None,
    check_determinism: bool = False,
) -> Callable:
    """``matvec(v) -> H(w) v`` at the current w (the operator Algorithm 1 step 2.1 calls).

    For ``"double_backward"`` the gradient graph is built once and reused by every product (the
    code's cached batch gradient); ``"fd"`` costs two gradients per product; ``"func"`` one jvp
    (where ``torch.func`` cannot trace the loss -- ``nn.MSELoss`` with mean reduction and
    training-mode BatchNorm in torch 2.13 -- it falls back to double backward with a
    ``RuntimeWarning``).  All evaluations of the loss replay the RNG state at the operator's
    creation; a module's buffers are restored after each (module docstring).
    """
    module, params = _module_and_params(params)
    callable_or_raise(loss_fn, "loss_fn")
    method = _check_method(method, _HVP_METHODS)
    guard = _Guard(params, module)
    if method == "func":
        with guard:
            if check_determinism:
                _check_deterministic(lambda: loss_fn(tuple(params)), params, guard)
        fallback = {}

        def _fallback(exc):
            warnings.warn(
                f"method='func': torch.func cannot trace this loss ({exc.reason}); falling back "
                "to method='double_backward' (the same Hessian)",
                RuntimeWarning,
                stacklevel=3,
            )
            fn = loss_fn
            fallback["op"] = hvp_operator(
                lambda: fn(tuple(params)), module if module is not None else params,
                method="double_backward",
            )

        def matvec_func(v):
            vflat = as_flat_vector(v, params)
            if "op" not in fallback:
                try:
                    with guard:
                        guard.replay()
                        return _hvp_func(loss_fn, params, vflat)
                except _FuncUnsupported as exc:
                    _fallback(exc)
            return fallback["op"](vflat)

        return matvec_func
    if method in ("double_backward", "exact"):
        with guard, torch.enable_grad():
            if check_determinism:
                _check_deterministic(loss_fn, params, guard)
            guard.replay()
            loss = _loss_at(loss_fn, "at w")
            g = grads_or_zeros(
                torch.autograd.grad(loss, params, create_graph=True, allow_unused=True), params
            )

        def matvec(v):
            vflat = as_flat_vector(v, params)
            with torch.enable_grad():
                hv = _hv_from_graph(g, params, vflat, create_graph=False)
            return check_finite(flatten(hv).detach(), "hvp (the loss is finite at w)")

        return matvec

    with guard:
        if check_determinism:
            _check_deterministic(loss_fn, params, guard)

    def matvec_fd(v):
        vflat = as_flat_vector(v, params)
        with guard:
            e = _fd_eps(params, vflat, eps, order=1)
            gp, gm = _grads_at(loss_fn, params, vflat, e, (1.0, -1.0), guard=guard)[0]
        return check_finite((gp - gm) / (2.0 * e), "hvp")

    return matvec_fd


def module_loss(model: torch.nn.Module, criterion: Callable, *inputs, target=None) -> Callable:
    """A loss usable by every method: ``f()`` evaluates ``criterion(model(*inputs), target)`` with
    the model's own parameters; ``f(tensors)`` evaluates it at the given parameter tensors (in
    ``model.parameters()`` order, trainable ones only: frozen parameters keep their values) through
    ``torch.func.functional_call``."""
    names = [name for name, p in model.named_parameters() if p.requires_grad]

    def loss(tensors=None):
        if tensors is None:
            out = model(*inputs)
        else:
            out = torch.func.functional_call(model, dict(zip(names, tensors)), inputs)
        return criterion(out, target) if target is not None else criterion(out)

    return loss


# ----------------------------------------------------------------------------- private helpers


def _check_method(method, allowed):
    if method not in allowed:
        raise ValueError(f"method must be one of {allowed}, got {method!r}")
    return method


def _fd_eps(params, vflat, eps, *, order):
    if eps is None:
        return default_fd_step(params, vflat, order=order)
    eps = float(eps)
    if not (eps > 0 and eps < float("inf")):
        raise ValueError(f"eps must be finite and > 0, got {eps!r}")
    return eps


def _hv_from_graph(g, params, vflat, *, create_graph):
    """Hv = ∂(g·v)/∂w for a gradient g built with create_graph=True."""
    vs = unflatten(vflat, params)
    gv = sum((gi * vi).sum() for gi, vi in zip(g, vs))
    if not gv.requires_grad:  # the gradient does not depend on w: H = 0
        return [torch.zeros_like(p) for p in params]
    hv = torch.autograd.grad(
        gv, params, retain_graph=True, create_graph=create_graph, allow_unused=True
    )
    return grads_or_zeros(hv, params)


def _third_from_hv(hv, params, vflat):
    """∇(vᵀHv) = ∂(Hv·v)/∂w for an Hv built with create_graph=True (v fixed)."""
    vs = unflatten(vflat, params)
    vhv = sum((hi * vi).sum() for hi, vi in zip(hv, vs))
    if not vhv.requires_grad:  # Hv does not depend on w: third derivative is 0
        return [torch.zeros_like(p) for p in params]
    return grads_or_zeros(torch.autograd.grad(vhv, params, allow_unused=True), params)


def _hvp_func(loss_fn, params, vflat):
    def f(*ps):
        return check_loss(loss_fn(ps), "loss_fn(tensors)")

    argnums = tuple(range(len(params)))
    primals = tuple(p.detach() for p in params)
    tangents = tuple(unflatten(vflat, params))
    try:
        with warnings.catch_warnings():
            # torch 2.13 registers its jvp decompositions with torch.jit.script on first use and
            # warns that jit.script is deprecated: torch-internal, not actionable here.
            warnings.filterwarnings(
                "ignore",
                message=r".*torch\.jit\.script.* is deprecated",
                category=DeprecationWarning,
            )
            _, hv = torch.func.jvp(torch.func.grad(f, argnums=argnums), primals, tangents)
    except TypeError as exc:
        raise ValueError(
            "method='func' calls loss_fn(tensors) with a tuple of parameter tensors; build such a "
            "loss with srtheory.torch.curvature.module_loss(model, criterion, inputs, target=...)"
        ) from exc
    except RuntimeError as exc:
        msg = str(exc)
        if "ZeroTensors are immutable" in msg:
            raise _FuncUnsupported("a torch defect with nn.MSELoss(reduction='mean')") from exc
        if "mutate a captured Tensor" in msg or "in-place operation" in msg:
            raise _FuncUnsupported(
                "the loss updates a captured tensor in place, e.g. BatchNorm running "
                "statistics in training mode"
            ) from exc
        raise
    return check_finite(flatten(hv).detach(), "hvp")


class _FuncUnsupported(RuntimeError):
    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def _grads_at(loss_fn, params, vflat, eps, points, *, with_loss=False, guard=None):
    """Gradients at w + c·ε·v for c in ``points``, parameters set from a saved copy of w each
    time and restored exactly in ``finally``; the RNG replayed before each evaluation (``guard``).
    The first evaluation's graph is inspected: non-smooth operations are refused (module
    docstring).  Returns (list of flat grads, loss at c=0)."""
    half = sorted({str(p.dtype) for p in params if p.dtype in HALF})
    if half:
        raise ValueError(half_precision_message("finite differences", ", ".join(half)))
    vs = unflatten(vflat, params)
    saved = [p.detach().clone() for p in params]
    _check_shift(saved, vs, eps)
    out, loss0 = [], None
    try:
        for i, c in enumerate(points):
            with torch.no_grad():
                for p, s, vi in zip(params, saved, vs):
                    p.copy_(s if c == 0.0 else s + (c * eps) * vi)
            if guard is not None:
                guard.replay()
            where = "at w" if c == 0.0 else f"at w {'+' if c > 0 else '-'} {abs(c):g}·eps·v"
            with torch.enable_grad():
                loss = _loss_at(loss_fn, where)
                if i == 0:
                    rep = inspect_graph(loss)
                    if rep.nonsmooth:
                        raise ValueError(nonsmooth_fd_message("method='fd'", rep.nonsmooth))
                g = torch.autograd.grad(loss, params, allow_unused=True)
            out.append(flatten(grads_or_zeros(g, params)).detach())
            if c == 0.0:
                loss0 = float(loss.detach())
    finally:
        with torch.no_grad():
            for p, s in zip(params, saved):
                p.copy_(s)
    return (out, loss0) if with_loss else (out, None)


def _loss_at(loss_fn, where):
    """Evaluate the loss; a NaN/inf loss is reported as the loss's, with the point."""
    loss = check_loss(loss_fn())
    if not bool(torch.isfinite(loss.detach())):
        raise ValueError(
            f"loss_fn returned {float(loss.detach())} {where}; expected a finite loss (the "
            "Hessian of a NaN/inf loss is undefined)"
        )
    return loss


def _module_and_params(params):
    """(the module or None, its trainable parameters / the checked list).  Half precision is
    refused here for every curvature function."""
    if isinstance(params, torch.nn.Module):
        module = params
        params = [p for p in module.parameters() if p.requires_grad]
        if not params:
            raise ValueError("the module has no parameters that require grad")
    else:
        module = None
    params = as_param_list(params)
    for i, p in enumerate(params):
        if not p.requires_grad:
            raise ValueError(
                f"params[{i}] does not require grad; pass only trainable tensors (an nn.Module "
                "passed as params is filtered on requires_grad)"
            )
    half = sorted({str(p.dtype) for p in params if p.dtype in HALF})
    if half:
        raise ValueError(half_precision_message("curvature", ", ".join(half)))
    return module, params


class _Guard:
    """RNG replay and buffer protection for the standalone functions (module docstring).

    Made once per call or operator: snapshots torch's RNG state (CPU and the parameters' CUDA
    devices).  ``replay()`` re-installs it before each evaluation of the loss; leaving the
    outermost ``with`` block restores the module's buffers and leaves the RNG where the first
    evaluation left it (as after one ordinary pass)."""

    def __init__(self, params, module):
        self.params, self.module = params, module
        self.start = RNGState(params)
        self.after_first = None
        self.evaluated = False
        self.depth = 0
        self.buffers = []

    def replay(self):
        if self.evaluated and self.after_first is None:
            self.after_first = RNGState(self.params)
        self.start.restore()
        self.evaluated = True

    def __enter__(self):
        if self.depth == 0 and self.module is not None:
            # the loss runs on copies of the buffers, swapped in (not copied back in place: a
            # graph of the exact method may still hold them); the originals are never touched
            self.buffers = []
            for mod in self.module.modules():
                for name, b in list(mod._buffers.items()):
                    if b is not None:
                        mod._buffers[name] = b.detach().clone()
                        self.buffers.append((mod, name, b))
        self.depth += 1
        return self

    def __exit__(self, *exc):
        self.depth -= 1
        if self.depth == 0:
            for mod, name, b in self.buffers:
                mod._buffers[name] = b
            self.buffers = []
            if self.evaluated:
                if self.after_first is None:
                    self.after_first = RNGState(self.params)
                self.after_first.restore()
        return False


def _check_deterministic(loss_fn, params, guard):
    """Evaluate the loss and its gradient twice at w, the RNG replayed: they must agree."""
    vals = []
    for _ in range(2):
        guard.replay()
        with torch.enable_grad():
            loss = _loss_at(loss_fn, "at w")
            g = flatten(grads_or_zeros(torch.autograd.grad(loss, params, allow_unused=True),
                                       params)).detach()
        vals.append((float(loss.detach()), g))
    (l1, g1), (l2, g2) = vals
    u = torch.finfo(params[0].dtype).eps
    dg = float(torch.linalg.vector_norm(g1 - g2))
    gn = float(torch.linalg.vector_norm(g1))
    if not (abs(l1 - l2) <= 64 * u * max(1.0, abs(l1)) and dg <= 1e3 * u * max(gn, 1e-30)):
        raise ValueError(
            "check_determinism: two evaluations of loss_fn at the same parameters (torch's RNG "
            f"replayed) differ: loss {l1!r} vs {l2!r}, gradient difference {dg:.3e} of norm "
            f"{gn:.3e}.  The Hessian of a loss that changes between calls is meaningless: fix "
            "the batch outside loss_fn (do not draw from a data loader inside it), use torch's "
            "global RNG only (it is replayed), or put dropout layers in eval mode."
        )


def _check_shift(saved, vs, eps):
    """Reject a step that is lost to rounding (w ± εv == w) or overflows, as the reference does."""
    lost = True
    for s, vi in zip(saved, vs):
        shifted = s + eps * vi
        if not bool(torch.isfinite(shifted).all()):
            raise ValueError(f"w ± eps·v overflows (eps={eps:.3e}); choose a smaller eps")
        if lost and not torch.equal(shifted, s):
            lost = False
    if lost:
        raise ValueError(
            f"eps={eps:.3e} is too small: w ± eps·v rounds to w; expected eps·‖v‖ well above "
            "u·max(1, ‖w‖) (see default_fd_step)"
        )
