"""``SAM``: sharpness-aware minimization (Foret et al. 2021, Alg. 1) as a torch optimizer, the
baseline the paper compares SRR with (SRR_NOTES §8).

The torch twin of :func:`srtheory.baselines.sam`: with ``g = ∇L(w)`` over all parameters,

    ε̂ = r·g/‖g‖₂   (ε̂ = 0 when g = 0),    d = ∇L(w + ε̂),    w ← base step from w with direction d.

Conventions are :class:`~srtheory.torch.optim.SRR`'s: it wraps a base optimizer (a class plus its
keyword arguments, or an instance) whose ``param_groups`` it shares, and ``step(closure)`` takes
the standard closure that zeroes the gradients, computes the loss, calls ``backward()`` and returns
the loss.  The closure is called twice per step (at w and at w + ε̂); the returned loss is the one
at w.  The parameters are restored to w (bit for bit) before the base step, so the base optimizer's state
(momentum, Adam's moments) sees only the perturbed gradient, as in the reference.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["SAM"]


class SAM(torch.optim.Optimizer):
    """SAM with radius ``rho`` around a base optimizer (module docstring).

    Args:
        params: parameters or parameter groups (``None`` when ``base_optimizer`` is an instance).
        base_optimizer: an optimizer class (built with ``**base_kwargs`` on these groups) or an
            optimizer instance.
        rho: the neighbourhood radius r > 0 (the paper's SAM baseline used 0.05).
    """

    def __init__(self, params=None, base_optimizer=torch.optim.SGD, *, rho: float = 0.05, **base_kwargs):
        if isinstance(rho, bool) or not isinstance(rho, (int, float)) or not rho > 0 or rho == float("inf"):
            raise ValueError(f"rho must be a finite number > 0, got {rho!r}")
        if isinstance(base_optimizer, torch.optim.Optimizer):
            if base_kwargs:
                raise ValueError(
                    f"base_optimizer is an instance; keyword arguments {sorted(base_kwargs)} "
                    "would be ignored (pass the class to have them applied)"
                )
            super().__init__([{"params": list(g["params"])} for g in base_optimizer.param_groups], {})
            self.base_optimizer = base_optimizer
        elif isinstance(base_optimizer, type) and issubclass(base_optimizer, torch.optim.Optimizer):
            if params is None:
                raise ValueError("params is None; expected parameters when base_optimizer is a class")
            super().__init__(params, {})
            self.base_optimizer = base_optimizer(self.param_groups, **base_kwargs)
        else:
            raise ValueError(  # noqa: TRY004 (as SRR: a bad argument value)
                f"base_optimizer must be a torch.optim.Optimizer class or instance, got {base_optimizer!r}"
            )
        self.param_groups = self.base_optimizer.param_groups
        self.rho = float(rho)
        self.n_grad_evals = 0

    def _params(self):
        return [p for g in self.param_groups for p in g["params"] if p.requires_grad]

    @torch.no_grad()
    def step(self, closure: Callable | None = None):
        """One SAM step; returns the closure's loss at the current point."""
        if closure is None:
            raise RuntimeError(
                "SAM.step() needs a closure that zeroes the gradients, computes the loss, calls "
                "loss.backward() and returns the loss"
            )
        params = self._params()
        with torch.enable_grad():
            loss = closure()
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
        if not torch.isfinite(norm):
            raise ValueError("SAM: the gradient at w is not finite")
        scale = self.rho / norm if norm > 0 else torch.zeros_like(norm)
        saved = [p.detach().clone() for p in params]
        for p, g in zip(params, grads):
            p.add_(g * scale)
        try:
            with torch.enable_grad():
                closure()
        finally:
            for p, w in zip(params, saved):
                p.copy_(w)  # back to w bit for bit
        self.n_grad_evals += 2
        self.base_optimizer.step()
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.base_optimizer.zero_grad(set_to_none=set_to_none)
