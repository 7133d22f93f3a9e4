"""Curvature of the empirical risk over a whole data set (several batches), as the peers offer.

For batches ``B_1, ..., B_m`` of sizes ``N_b`` (``N = sum N_b``, the last batch may be smaller)
and a criterion with ``reduction="mean"``, the empirical risk is

    L(w) = (1/N) sum_i l_i(w) = sum_b (N_b / N) L_b(w),     L_b = the batch's mean loss,

so ``H v = sum_b (N_b/N) H_b v`` -- weights ``N_b/N``, not ``1/m`` (which over-weights a short last
batch).  With ``reduction="sum"`` the weights are 1.  :func:`data_hvp_operator` returns this
matvec; each product runs one pass over the batches (a gradient graph and a double backward per
batch, nothing kept between batches: memory of one batch).  :func:`data_spectral_radius` is ρ of
the full-data Hessian with :func:`srtheory.torch.spectral.spectral_radius`.

``batches`` is anything iterable again and again that yields ``(inputs, targets)`` with the batch
dimension first -- a ``DataLoader`` with ``shuffle=False``, or a list.  Every pass must yield the
same batches: the sizes of each pass are checked against the first (a ``ValueError`` otherwise),
and ``check_determinism=True`` also compares the full-data loss of two passes.  Each pass replays
torch's RNG state from the operator's creation and the model's buffers (running statistics) are
restored after it, so dropout masks and BatchNorm statistics are the same in every product;
the model's train/eval mode is left as it is (the peers put it in ``eval()``; do so for the
Hessian of the deployed network).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from srtheory.torch._util import RNGState, as_flat_vector, flatten, grads_or_zeros, unflatten

__all__ = ["data_hvp_operator", "data_loss", "data_spectral_radius"]


def data_hvp_operator(
    model: torch.nn.Module,
    criterion: Callable,
    batches: Iterable,
    /,
    *,
    reduction: str | None = None,
    check_determinism: bool = False,
) -> Callable:
    """``matvec(v) -> H v`` for the empirical risk of ``criterion(model(x), y)`` over
    ``batches`` (module docstring).  ``v`` and the result are flat over the model's trainable
    parameters (``model.parameters()`` order, frozen ones skipped).  ``reduction`` defaults to the
    criterion's own ``reduction`` attribute (``"mean"`` when it has none); ``matvec.n_samples``
    and ``matvec.batch_sizes`` report what the first pass saw."""
    params, reduction = _setup(model, criterion, reduction)
    op = _DataPass(model, criterion, batches, params, reduction)
    if check_determinism:
        first = op.loss()
        second = op.loss()
        u = torch.finfo(params[0].dtype).eps
        if abs(first - second) > 64 * u * max(1.0, abs(first)):
            raise ValueError(
                f"check_determinism: two passes over the batches give the loss {first!r} and "
                f"{second!r}; the batches (or the model's randomness) change between passes: use "
                "a DataLoader with shuffle=False and no random augmentation"
            )

    def matvec(v):
        return op.hvp(as_flat_vector(v, params))

    matvec.n_samples = op.n_samples  # type: ignore[attr-defined]
    matvec.batch_sizes = op.batch_sizes  # type: ignore[attr-defined]
    return matvec


def data_loss(model, criterion, batches, /, *, reduction: str | None = None) -> float:
    """The empirical risk ``sum_b (N_b/N) L_b`` (``reduction="mean"``) or ``sum_b L_b``."""
    params, reduction = _setup(model, criterion, reduction)
    return _DataPass(model, criterion, batches, params, reduction).loss()


def data_spectral_radius(
    model, criterion, batches, /, *, reduction: str | None = None, v0=None, **solver_options
):
    """ρ of the full-data Hessian: :func:`srtheory.torch.spectral.spectral_radius` on
    :func:`data_hvp_operator` from ``v0`` (default ``1/sqrt(n)``, deterministic);
    ``solver_options`` go to the solver (``tol``, ``max_iter``, ``method``).  Each matvec is one
    pass over the data."""
    from srtheory.torch.spectral import spectral_radius

    params, _ = _setup(model, criterion, reduction)
    mv = data_hvp_operator(model, criterion, batches, reduction=reduction)
    n = sum(p.numel() for p in params)
    if v0 is None:
        v0 = torch.full((n,), n**-0.5, dtype=params[0].dtype, device=params[0].device)
    return spectral_radius(mv, v0, **solver_options)


def _setup(model, criterion, reduction):
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"model must be an nn.Module, got {type(model).__name__}")  # noqa: TRY004
    if not callable(criterion):
        raise ValueError(f"criterion must be callable, got {type(criterion).__name__}")  # noqa: TRY004
    own = getattr(criterion, "reduction", None)
    if reduction is None:
        reduction = own if own is not None else "mean"
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
    if own is not None and own != reduction:
        raise ValueError(
            f"reduction={reduction!r} but the criterion reduces with {own!r}; they must agree"
        )
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no parameters that require grad")
    if any(p.dtype in (torch.float16, torch.bfloat16) for p in params):
        raise ValueError(
            "half-precision parameters are refused: curvature needs float32 or float64 "
            "(model.float() first)"
        )
    return params, reduction


class _DataPass:
    def __init__(self, model, criterion, batches, params, reduction):
        if isinstance(batches, (str, bytes)) or not isinstance(batches, Iterable):
            raise ValueError(  # noqa: TRY004
                f"batches must be an iterable of (inputs, targets), got {type(batches).__name__}"
            )
        if iter(batches) is batches:
            raise ValueError(
                "batches is a one-shot iterator; every matvec needs another pass over the "
                "data: pass a DataLoader or a list"
            )
        self.model, self.criterion, self.batches = model, criterion, batches
        self.params, self.reduction = params, reduction
        self.rng = RNGState(params)
        self.batch_sizes = None
        sizes = [self._size(b) for b in batches]
        if not sizes:
            raise ValueError("batches is empty; expected at least one (inputs, targets) batch")
        self.batch_sizes = tuple(sizes)
        self.n_samples = sum(sizes)

    @staticmethod
    def _size(batch):
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise ValueError(
                f"each batch must be a pair (inputs, targets), got {type(batch).__name__}"
            )
        x = batch[0]
        if not isinstance(x, torch.Tensor) or x.ndim == 0:
            raise ValueError("batch inputs must be a tensor with the batch dimension first")
        return int(x.shape[0])

    def _weight(self, nb):
        return nb / self.n_samples if self.reduction == "mean" else 1.0

    def _passes(self):
        """Yield (weight, loss) per batch, with the RNG replayed and buffers restored."""
        buffers = [b.detach().clone() for b in self.model.buffers()]
        after = RNGState(self.params)
        self.rng.restore()
        sizes = []
        try:
            for batch in self.batches:
                nb = self._size(batch)
                sizes.append(nb)
                if len(sizes) > len(self.batch_sizes) or nb != self.batch_sizes[len(sizes) - 1]:
                    break
                x, y = batch
                loss = self.criterion(self.model(x), y)
                if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
                    raise ValueError("criterion must return a scalar tensor")
                if not bool(torch.isfinite(loss.detach())):
                    raise ValueError(
                        f"the loss of batch {len(sizes) - 1} is {float(loss.detach())}; expected "
                        "a finite loss"
                    )
                yield self._weight(nb), loss
        finally:
            with torch.no_grad():
                for b, s in zip(self.model.buffers(), buffers):
                    b.copy_(s)
            after.restore()
        if tuple(sizes) != self.batch_sizes:
            raise ValueError(
                f"the batches changed between passes: sizes {self.batch_sizes[:8]} (N = "
                f"{self.n_samples}) at first, now {tuple(sizes)[:8]}; every pass must yield the "
                "same batches (DataLoader with shuffle=False)"
            )

    def loss(self) -> float:
        total = 0.0
        with torch.no_grad():
            for w, loss in self._passes():
                total += w * float(loss)
        return total

    def hvp(self, vflat):
        vs = unflatten(vflat, self.params)
        out = torch.zeros_like(vflat)
        with torch.enable_grad():
            for w, loss in self._passes():
                g = grads_or_zeros(
                    torch.autograd.grad(loss, self.params, create_graph=True, allow_unused=True),
                    self.params,
                )
                gv = sum((gi * vi).sum() for gi, vi in zip(g, vs))
                if gv.requires_grad:
                    hv = grads_or_zeros(
                        torch.autograd.grad(gv, self.params, allow_unused=True), self.params
                    )
                    out.add_(flatten(hv).detach(), alpha=w)
        if not bool(torch.isfinite(out.sum())) and not bool(torch.isfinite(out).all()):
            raise ValueError("the full-data Hessian-vector product is NaN or inf")
        return out
