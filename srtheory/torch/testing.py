"""Torch side of :mod:`srtheory.testing`: a dense oracle for any loss, a zoo of models, HVP problems.

* :func:`dense_hessian` -- ``H = nabla^2 L(w)`` of a loss closure ``loss_fn()`` with respect to a
  parameter list, in float64, one double-backward row per parameter (size-guarded);
* :func:`dense_third_derivative` -- ``T[i, j, k] = d^3 L / dw_i dw_j dw_k`` (the tensor behind
  ``nabla^3 L[v, v, .]`` of SRR_NOTES §5.1), small ``n`` only;
* :func:`model_zoo` -- small models with known properties (:class:`ModelLoss`): a smooth tanh
  MLP, a regression whose dominant Hessian eigenvalue is negative, a ReLU CNN (piecewise-linear:
  finite-difference HVPs break there), a BatchNorm model in eval mode;
* :func:`hvp_problems` -- the zoo as :class:`~srtheory.testing.HvpProblem` s for
  :func:`srtheory.testing.check_hvp` (``hvp(loss_fn, params, v)``);
* :class:`QuadraticModel` -- a module whose loss Hessian *is* a given matvec, so that a library
  that only accepts a model and a criterion (PyHessian) can be run on the catalogue's planted
  operators, every product counted by the harness.

The oracle is independent of the model: it only calls ``loss_fn()`` and ``torch.autograd.grad``.
Everything is computed in float64 (a float32 model is evaluated on a float64 copy of its
parameters only through the caller's closure, so pass a float64 model for an exact oracle).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from srtheory.testing.problems import HvpProblem
from srtheory.torch._util import as_param_list, flatten

__all__ = [
    "MAX_HESSIAN_DIM",
    "MAX_THIRD_DERIVATIVE_DIM",
    "ModelLoss",
    "QuadraticModel",
    "dense_hessian",
    "dense_third_derivative",
    "hvp_problems",
    "model_zoo",
]

#: largest parameter count :func:`dense_hessian` accepts (n double-backward passes, n^2 floats)
MAX_HESSIAN_DIM = 4096
#: largest parameter count :func:`dense_third_derivative` accepts (n^2 passes, n^3 floats)
MAX_THIRD_DERIVATIVE_DIM = 64


def dense_hessian(loss_fn: Callable, params, /, *, max_dim: int = MAX_HESSIAN_DIM) -> np.ndarray:
    """Dense ``H[i, j] = d^2 L / dw_i dw_j`` at the current parameters, float64 NumPy, symmetrised.

    Row ``i`` is ``d (g . e_i) / dw`` with ``g = nabla L`` built once with ``create_graph=True``
    (``n`` double-backward passes).  The antisymmetric part discarded by ``(H + H^T)/2`` is
    rounding only for a twice-differentiable loss.

    Raises:
      ValueError: ``n > max_dim`` (say so rather than run out of memory), the loss is not a
        finite scalar, or the parameters are not floating point.
    """
    params = as_param_list(params)
    n = sum(p.numel() for p in params)
    if n > max_dim:
        raise ValueError(
            f"dense_hessian is an oracle for small models: {n} parameters > max_dim={max_dim} "
            f"({n}^2 float64 = {8 * n * n / 2**20:.0f} MiB and {n} backward passes); "
            "raise max_dim deliberately or use a smaller model"
        )
    with torch.enable_grad():
        loss = _scalar(loss_fn())
        g = flatten(_grads(loss, params, create_graph=True))
        rows = []
        for i in range(n):
            row = _grads(g[i], params, retain_graph=True) if g.requires_grad else None
            rows.append(
                torch.zeros(n, dtype=torch.float64) if row is None
                else flatten(row).detach().to("cpu", torch.float64)
            )
    H = torch.stack(rows).numpy()
    if not np.all(np.isfinite(H)):
        raise ValueError("the Hessian has NaN or inf entries")
    return 0.5 * (H + H.T)


def dense_third_derivative(
    loss_fn: Callable, params, /, *, max_dim: int = MAX_THIRD_DERIVATIVE_DIM
) -> np.ndarray:
    """Dense ``T[i, j, k] = d^3 L / dw_i dw_j dw_k`` (float64, not symmetrised), ``n^2`` passes.

    ``nabla^3 L[v, v, .] = einsum("ijk,i,j->k", T, v, v)`` (SRR_NOTES §5.1, Eq. (5.1)).

    Raises:
      ValueError: ``n > max_dim`` (default 64: an ``n^3`` tensor), or a non-scalar loss.
    """
    params = as_param_list(params)
    n = sum(p.numel() for p in params)
    if n > max_dim:
        raise ValueError(
            f"dense_third_derivative is for tiny models: {n} parameters > max_dim={max_dim} "
            f"({n}^3 float64 = {8 * n**3 / 2**20:.0f} MiB and {n * n} backward passes)"
        )
    T = np.zeros((n, n, n))
    with torch.enable_grad():
        g = flatten(_grads(_scalar(loss_fn()), params, create_graph=True))
        for i in range(n):
            if not g.requires_grad:
                break
            hi = _grads(g[i], params, create_graph=True, retain_graph=True)
            hi = flatten(hi) if hi is not None else torch.zeros(n, dtype=g.dtype)
            for j in range(n):
                if hi.requires_grad:
                    tij = _grads(hi[j], params, retain_graph=True)
                    if tij is not None:
                        T[i, j] = flatten(tij).detach().to("cpu", torch.float64).numpy()
    return T


class ModelLoss:
    """``loss_fn()`` = ``criterion(model(inputs), target)``: a closure that also carries its parts,
    so libraries that want a model, a criterion and data (PyHessian, hessian-eigenthings,
    curvlinops) can be handed the same loss.

    Fields: ``model``, ``criterion`` (an ``nn.Module`` loss), ``inputs``, ``target``, ``name``,
    ``description``.
    """

    def __init__(self, model, criterion, inputs, target, *, name="", description=""):
        self.model, self.criterion, self.inputs, self.target = model, criterion, inputs, target
        self.name, self.description = name, description

    @property
    def params(self) -> list[torch.Tensor]:
        return [p for p in self.model.parameters() if p.requires_grad]

    def __call__(self, tensors=None):
        """The loss at the model's parameters, or at ``tensors`` (a tuple in ``params`` order,
        through ``torch.func.functional_call``, as ``srtheory.torch.hvp(method="func")`` calls it)."""
        if tensors is None:
            return self.criterion(self.model(self.inputs), self.target)
        names = [n for n, p in self.model.named_parameters() if p.requires_grad]
        out = torch.func.functional_call(self.model, dict(zip(names, tensors)), (self.inputs,))
        return self.criterion(out, self.target)

    def __repr__(self) -> str:
        return f"ModelLoss({self.name!r}, {sum(p.numel() for p in self.params)} parameters)"


def model_zoo(*, dtype=torch.float64, seed: int = 0) -> tuple[ModelLoss, ...]:
    """Four small models with known properties, deterministic for ``seed``:

    * ``smooth_mlp`` -- 4-8-3 tanh MLP, mean squared error (67 parameters): smooth, indefinite;
    * ``negative_dominant`` -- 3-6-1 tanh regression on targets far from the outputs (31
      parameters): the Hessian's eigenvalue of largest modulus is negative (checked when built:
      ``lambda_min < -1.2 lambda_max``);
    * ``relu_cnn`` -- Conv2d(1, 3, 3) -> ReLU -> Linear on 6 x 6 images, cross-entropy (177
      parameters): piecewise linear in the input, so central differences of gradients can cross a
      kink and HVPs by finite differences are wrong;
    * ``batchnorm_eval`` -- Linear -> BatchNorm1d (eval mode, non-trivial running statistics) ->
      tanh -> Linear, mean squared error (42 parameters including BatchNorm's affine weights).
    """
    g = torch.Generator().manual_seed(seed)

    def randn(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float64).to(dtype)

    out = []
    torch_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)  # nn init; restored below (no global side effect)
        mlp = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)).to(dtype)
        out.append(ModelLoss(mlp, nn.MSELoss(), randn(20, 4), randn(20, 3), name="smooth_mlp",
                             description="4-8-3 tanh MLP, MSE"))
        out.append(_negative_dominant(randn, dtype))
        cnn = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(48, 3)).to(dtype)
        labels = torch.randint(0, 3, (10,), generator=g)
        out.append(ModelLoss(cnn, nn.CrossEntropyLoss(), randn(10, 1, 6, 6), labels,
                             name="relu_cnn", description="Conv-ReLU-Linear, cross-entropy"))
        bn = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.Tanh(), nn.Linear(5, 2)).to(dtype)
        with torch.no_grad():
            bn[1].running_mean.copy_(0.3 * randn(5))
            bn[1].running_var.copy_(0.5 + randn(5).abs())
            bn[1].weight.copy_(1.0 + 0.2 * randn(5))
            bn[1].bias.copy_(0.1 * randn(5))
        bn.eval()
        out.append(ModelLoss(bn, nn.MSELoss(), randn(12, 3), randn(12, 2), name="batchnorm_eval",
                             description="Linear-BatchNorm(eval)-tanh-Linear, MSE"))
    finally:
        torch.random.set_rng_state(torch_state)
    return tuple(out)


def hvp_problems(*, dtype=torch.float64, seed: int = 0) -> tuple[HvpProblem, ...]:
    """The :func:`model_zoo` as HVP problems: ``f`` is the :class:`ModelLoss`, ``x`` its parameter
    list, ``H`` its :func:`dense_hessian` (computed on a float64 copy when ``dtype`` is lower, so
    the reference is exact whatever the precision under test)."""
    exact = {m.name: m for m in model_zoo(dtype=torch.float64, seed=seed)}
    out = []
    for m in model_zoo(dtype=dtype, seed=seed):
        H = dense_hessian(exact[m.name], exact[m.name].params)
        out.append(HvpProblem(m.name, "network", m, m.params, H, m.description, backend="torch"))
    return tuple(out)


class QuadraticModel(nn.Module):
    """A model whose loss is ``L(w) = w^T A w / 2`` at ``w = 0`` for a matvec ``A``.

    ``forward(x)`` ignores ``x`` and returns ``L(w)``; use it with the criterion
    ``lambda out, target: out``.  Its gradient ``A w`` and every Hessian-vector product go through
    ``matvec`` (custom autograd functions; products at ``w = 0`` are zero and skip the matvec), so a
    library that differentiates a model twice computes exactly ``A v`` with one call of ``matvec``
    per product.  ``A`` must be symmetric.
    """

    def __init__(self, matvec: Callable, n: int, *, dtype=torch.float64, device=None):
        super().__init__()
        self.matvec = matvec
        self.w = nn.Parameter(torch.zeros(n, dtype=dtype, device=device))

    def forward(self, x=None):
        return _Quadratic.apply(self.w, self.matvec)


# ---------------------------------------------------------------------------------------------
# private helpers
# ---------------------------------------------------------------------------------------------


class _Apply(torch.autograd.Function):
    """``y = A x`` with ``A`` symmetric: backward is ``A g``, through the same matvec."""

    @staticmethod
    def forward(ctx, x, matvec):
        ctx.matvec = matvec
        if not bool(torch.any(x)):
            return torch.zeros_like(x)
        return matvec(x.detach()).to(x.dtype)

    @staticmethod
    def backward(ctx, g):
        return _Apply.apply(g, ctx.matvec), None


class _Quadratic(torch.autograd.Function):
    """``L = w^T A w / 2``; ``dL/dw = A w`` (differentiable again, through :class:`_Apply`)."""

    @staticmethod
    def forward(ctx, w, matvec):
        ctx.save_for_backward(w)
        ctx.matvec = matvec
        if not bool(torch.any(w)):
            return torch.zeros((), dtype=w.dtype, device=w.device)
        return 0.5 * torch.dot(w, matvec(w.detach()).to(w.dtype))

    @staticmethod
    def backward(ctx, g):
        (w,) = ctx.saved_tensors
        return g * _Apply.apply(w, ctx.matvec), None


def _negative_dominant(randn, dtype):
    """A tanh regression whose Hessian has ``lambda_min < -1.2 lambda_max``.

    Hidden pre-activations are pushed positive (bias 1.5), where ``tanh'' < 0``; output weights are
    positive (3) and the targets lie below the outputs (``y = -offset``), so the residual term
    ``(2/N) sum_i r_i w2_k tanh''(z_ik) x_i x_i^T`` of the first layer's block is negative definite
    and, for a large enough offset, dominates the positive Gauss--Newton part.  The offset is the
    first of (2, 4, 8, 16, 32) at which the dense Hessian shows it."""
    X = randn(16, 3)
    noise = 0.1 * randn(16, 1)
    for offset in (2.0, 4.0, 8.0, 16.0, 32.0):
        torch.manual_seed(1)
        model = nn.Sequential(nn.Linear(3, 6), nn.Tanh(), nn.Linear(6, 1)).to(dtype)
        with torch.no_grad():
            model[0].bias.fill_(1.5)
            model[2].weight.fill_(3.0)
        target = noise - offset
        m = ModelLoss(model, nn.MSELoss(), X, target, name="negative_dominant",
                      description=f"3-6-1 tanh regression, targets near {-offset:g}")
        lam = np.linalg.eigvalsh(dense_hessian(m, m.params))
        if lam[0] < -1.2 * lam[-1]:
            return m
    raise AssertionError("no target offset gave a negative dominant eigenvalue")  # pragma: no cover


def _scalar(loss):
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise ValueError(f"loss_fn() must return a scalar tensor, got {type(loss).__name__}")
    if not bool(torch.isfinite(loss).all()):
        raise ValueError(f"loss_fn() returned {float(loss)}")
    return loss.reshape(())


def _grads(y, params, **kw):
    gs = torch.autograd.grad(y, params, allow_unused=True, **kw)
    if all(g is None for g in gs):
        return None
    return [torch.zeros_like(p) if g is None else g for g, p in zip(gs, params)]
