"""Private helpers of the torch backend: parameter lists, flat vectors and input checks."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import torch


def as_param_list(params, /) -> list[torch.Tensor]:
    """Return ``params`` (a tensor, an iterable of tensors, or an ``nn.Module``) as a list."""
    if isinstance(params, torch.nn.Module):
        params = list(params.parameters())
    elif isinstance(params, torch.Tensor):
        params = [params]
    else:
        params = list(params)
    if not params:
        raise ValueError("params is empty; expected at least one tensor")
    for i, p in enumerate(params):
        if not isinstance(p, torch.Tensor):
            raise ValueError(f"params[{i}] is a {type(p).__name__}; expected a torch.Tensor")
        if not p.is_floating_point():
            raise ValueError(f"params[{i}] has dtype {p.dtype}; expected a floating-point tensor")
    return params


def numel(params: Sequence[torch.Tensor], /) -> int:
    return sum(p.numel() for p in params)


def flatten(tensors: Iterable[torch.Tensor], /) -> torch.Tensor:
    """Concatenate tensors into one flat 1-D tensor (parameter order, row-major)."""
    return torch.cat([t.reshape(-1) for t in tensors])


def unflatten(flat: torch.Tensor, params: Sequence[torch.Tensor], /) -> list[torch.Tensor]:
    """Split a flat vector into views shaped like ``params``."""
    out, start = [], 0
    for p in params:
        out.append(flat[start : start + p.numel()].view_as(p))
        start += p.numel()
    return out


def as_flat_vector(v, params: Sequence[torch.Tensor], /, name: str = "v") -> torch.Tensor:
    """Accept a flat 1-D tensor of the total parameter count, or a tuple/list shaped like
    ``params``; return a finite flat tensor on the parameters' device and dtype (never a view of
    the caller's storage that we would write to)."""
    n = numel(params)
    p0 = params[0]
    if isinstance(v, (list, tuple)):
        if len(v) != len(params):
            raise ValueError(
                f"{name} has {len(v)} parts; expected {len(params)} (one per parameter)"
            )
        parts = []
        for i, (vi, p) in enumerate(zip(v, params)):
            vi = torch.as_tensor(vi)
            if vi.shape != p.shape:
                raise ValueError(
                    f"{name}[{i}] has shape {tuple(vi.shape)}; expected {tuple(p.shape)}"
                )
            parts.append(vi.reshape(-1))
        flat = torch.cat([t.to(device=p0.device, dtype=p0.dtype) for t in parts])
    else:
        flat = torch.as_tensor(v)
        if flat.ndim != 1 or flat.numel() != n:
            raise ValueError(
                f"{name} has shape {tuple(flat.shape)}; expected a flat vector of shape ({n},) "
                "or a tuple of tensors shaped like params"
            )
        flat = flat.to(device=p0.device, dtype=p0.dtype)
    if not all_finite(flat):
        raise ValueError(f"{name} contains NaN or inf; expected finite values")
    return flat.detach()


def grads_or_zeros(grads, params: Sequence[torch.Tensor], /) -> list[torch.Tensor]:
    return [torch.zeros_like(p) if g is None else g for g, p in zip(grads, params)]


def check_loss(loss, /, what: str = "loss_fn") -> torch.Tensor:
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise ValueError(f"{what} must return a scalar tensor, got {type(loss).__name__}")
    if not loss.requires_grad:
        raise ValueError(
            f"{what} returned a tensor that does not require grad; it must be computed from the "
            "parameters with autograd enabled"
        )
    return loss.reshape(())


def check_finite(t: torch.Tensor, /, what: str) -> torch.Tensor:
    if not all_finite(t):
        raise ValueError(f"{what} returned NaN or inf; expected finite values")
    return t


def callable_or_raise(f, /, name: str) -> Callable:
    if not callable(f):
        raise ValueError(f"{name} must be callable, got {type(f).__name__}")
    return f


def all_finite(t: torch.Tensor, /) -> bool:
    """True iff every entry is finite.  Fast path: one reduction (a sum is finite when every
    entry is, unless it overflows); only a non-finite sum triggers the elementwise check."""
    if bool(torch.isfinite(t.sum())):
        return True
    return bool(torch.isfinite(t).all())


class RNGState:
    """Snapshot of torch's RNG state (CPU and the CUDA devices holding ``params``)."""

    def __init__(self, params):
        self.cpu = torch.get_rng_state()
        self.devices = sorted({p.device.index or 0 for p in params if p.device.type == "cuda"})
        self.cuda = [torch.cuda.get_rng_state(d) for d in self.devices]

    def restore(self):
        torch.set_rng_state(self.cpu)
        for d, s in zip(self.devices, self.cuda):
            torch.cuda.set_rng_state(s, d)
