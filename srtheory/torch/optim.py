"""``SRR``: spectral radius regularization (Algorithm 2 of SRR_NOTES §6) as a torch optimizer.

Each step minimises h(w) = L(w) + μ·max(0, ρ(w) − K) on the closure's batch: it estimates the
dominant eigenpair (λ, v) of the batch Hessian with a warm-started eigen-solver (Algorithm 1),
forms the direction p = ∇L + μ·1[ρ > K]·sign(λ)·∇³L[v, v, ·] (Lemma A / SRR_NOTES §5.1) with the
SRR step shared with the NumPy reference (:func:`srtheory.srr_step.srr_step`: skip, sign, warm
start), writes p into ``param.grad`` and calls the base optimizer's ``step()`` (Algorithm 2 step
2.5).  Its options are the reference's :class:`~srtheory.srr_step.SRRConfig`, same names and
defaults.

Conventions are SAM's (``SRR(params, torch.optim.SGD, srr=SRRConfig(mu=1e-3), lr=0.1)``): the wrapped base
optimizer (a class plus its keyword arguments, or an instance) shares ``param_groups`` with this
one, so learning-rate schedulers may attach to either; ``step(closure)`` runs the closure under
``torch.enable_grad()`` and returns the loss of its first call.

The closure contract
--------------------
``SRRConfig(derivative="fd")`` works with the standard closure::

    def closure():
        opt.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        return loss

It is called 1 + 2·(number of matvecs) times per step: at w, and at w ± εu for each Hessian-vector
product Hu ≈ [∇L(w+εu) − ∇L(w−εu)]/2ε of the eigen-solve; the gradients at w ± εv of the final
eigenvector also give ∇³L[v, v, ·] ≈ [∇L(w+εv) − 2∇L(w) + ∇L(w−εv)]/ε² (SRR_NOTES §5.4, one step
ε = u^(1/4)·max(1, ‖w‖) for both: the rule of ``default_fd_step`` for a unit vector).  The parameters are perturbed in place and restored bit for bit
afterwards (also if the closure raises).  SRR sets every ``param.grad`` to ``None`` before each
call and reads the gradients the closure's ``backward()`` leaves there, so only plain backward
passes are used (it works under ``DistributedDataParallel``: each backward all-reduces as usual).
The cheap mode ``eig=EigConfig(max_iter=1), skip_nonconverged=False`` (one warm-started power
step per training step) costs 3 gradients and gradient-sized extra memory per step::

    cheap = SRRConfig(mu=1e-3, K=0.0, derivative="fd", eig=EigConfig(max_iter=1),
                      skip_nonconverged=False)
    opt = SRR(model.parameters(), torch.optim.SGD, srr=cheap, lr=0.1, momentum=0.9, model=model)
    loss = opt.step(closure)
    opt.counters.eigen_solves, opt.last_step.rho

``derivative="exact"`` (the default, as in the reference) differentiates the closure's loss three times in one graph (∇L with
``create_graph``, Hv, ∇(vᵀHv)).  Its closure must return the loss **with its graph intact**: it
must *not* call ``loss.backward()`` (zeroing gradients is harmless)::

    def closure():
        return criterion(model(x), y)

A closure that calls ``backward()`` frees the graph; SRR then raises a ``RuntimeError`` saying so.
The exact method needs double backward, which ``DistributedDataParallel`` does not support: use
``derivative="fd"`` there.

Which derivative is correct where
---------------------------------
* ``derivative="fd"`` needs a loss that is **C² along the step** w ± εv (C³ for the third-order
  term).  Across the kinks of ReLU, max-pooling, abs, clamp, hardtanh, leaky ReLU, ... the central
  differences are wrong (PyHessian's ReLU ResNet: ρ 136.8 for a true 9.74, counted as converged).
  SRR inspects the loss's autograd graph at every step (or, when the closure returns no graph,
  ``model``'s modules) and raises a ``ValueError`` naming the non-smooth operations, before any
  state changes.  Use it with smooth activations (GELU, SiLU, softplus, tanh) and average pooling.
* ``derivative="exact"`` is right almost everywhere, ReLU and max-pooling included, except for a
  **torch defect (measured on torch 2.13, float64)**: the third derivative that autograd produces
  through ``F.batch_norm`` with batch statistics (training mode), ``F.layer_norm`` and
  ``F.instance_norm`` is wrong (relative errors 26 %, 22 % and 13 % on small tests, while Hv is
  right).  Eval-mode BatchNorm (an affine map), ``F.group_norm``, GELU, softplus, SiLU, tanh and
  log-softmax are correct.  SRR warns (once) when the loss's graph holds an affected layer, with or
  without ``model=``.  The fix that keeps the exact method: :func:`srtheory.torch.norms.composite_norms`
  rewrites the layers from mean/var (same outputs and running statistics, exact third
  derivatives) -- the correct SRR step on the common ReLU + BatchNorm networks.
* Half precision (float16/bfloat16 parameters) is refused with a ``ValueError``: keep float32
  master weights (the forward may run under ``torch.autocast``).
* ``check_determinism=True`` evaluates the closure twice at w per step (RNG replayed; one more
  pass) and raises if loss or gradient differ -- a closure that draws a new batch, randomness
  outside torch's global RNG.
* A closure that returns a loss but never calls ``backward()`` under ``derivative="fd"`` raises
  a ``RuntimeError`` naming the two closure styles; a NaN/inf loss raises a ``ValueError`` naming
  the point (w, or w ± εv) with parameters and state unchanged.

Declared choices
----------------
* **BatchNorm / running buffers**: pass ``model=`` and every buffer of the model is saved after the
  first closure call and restored after the extra passes at w ± εv, so running statistics are
  updated once per step, by the pass at w, exactly as in plain training.  Without ``model=`` SRR
  cannot see buffers (it only knows parameters); it warns when the graph holds training-mode
  batch norm.
* **Workspace**: the fd step keeps its parameter-sized vectors (g₀, the saved w, d₊ and, for a
  one-product solve, H·v) between steps instead of allocating them anew (fresh multi-megabyte
  CPU allocations page-fault, ~0.5-1 ms each at 657 k float32 weights); after ``step()`` the
  ``.grad`` tensors are views of it, overwritten by the next step (as in-place gradient
  accumulation would).
* **Dropout and other randomness**: all passes of one step see the same random numbers: the
  torch RNG state (CPU, and CUDA of the parameters' devices) is captured before the first call,
  re-installed before each extra call, and left afterwards where the first call left it.  The
  regularised function is thus the batch loss with this step's dropout mask fixed (for the exact
  method this holds automatically: one forward pass).
* **Train/eval mode**: SRR never changes it; the closure runs in whatever mode the model is in
  (normally ``train()``: BatchNorm normalises with batch statistics in every pass, consistently).
* **Eigenvector**: starts at the reference's deterministic generic vector
  (:func:`srtheory.spectral.generic_start`; not the paper's 1/√n·**1**, which lies in the null
  space of a translation-invariant loss's Hessian); refreshed by the
  eigen-solver every ``refresh_every`` steps starting from the stored vector (warm start), and
  reused unchanged in between (then ρ is its Rayleigh quotient, one matvec).  After a solve the
  stored vector is, as in :func:`srtheory.algorithms.srr_train`: the returned one if the solve
  converged; v₀ if it did not and the step is skipped (``skip_nonconverged``, the default, with
  ``reset_on_failure``).  With ``skip_nonconverged=False`` an unconverged power solve stores one
  more power step ``Hv/‖Hv‖`` (Algorithm 1's iterate after ``max_iter``), so ``max_iter=1``
  runs Algorithm 1 one iteration per training step across batches.

Defaults are :class:`~srtheory.srr_step.SRRConfig`'s, the same as for
:func:`srtheory.training.srr_train` (power iteration, ``tol=1e-3``, ``max_iter=100``, skip and
reset on a failed solve); μ may be a schedule of the SRR *step* index here (the optimizer does not
know epochs: set ``opt.srr = dataclasses.replace(opt.srr, mu=...)`` per epoch, or pass
``mu=lambda k: schedule(k // n_batches)``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import NamedTuple

import torch

from srtheory.curvature import fd_step
from srtheory.spectral import EigResult, eig_solve
from srtheory.srr_step import SRRConfig, srr_step
from srtheory.torch._graph import (
    HALF,
    half_precision_message,
    inspect_graph,
    inspect_modules,
    nonsmooth_fd_message,
)
from srtheory.torch._util import RNGState, all_finite, flatten, unflatten
from srtheory.torch.curvature import _hv_from_graph, _third_from_hv

__all__ = ["SRR", "SRRConfig", "SRRCounters", "SRRStepInfo"]

# the two closure contracts, named by every error about a closure
_CLOSURE_STYLES = (
    "The two closure styles: derivative='fd' -- `def closure(): opt.zero_grad(); "
    "loss = criterion(model(x), y); loss.backward(); return loss`; derivative='exact' -- "
    "`def closure(): return criterion(model(x), y)` (no backward)"
)


class SRRCounters(NamedTuple):
    """Running totals of an :class:`SRR` optimizer (``opt.counters``)."""

    steps: int = 0
    eigen_solves: int = 0  # eigen-solver runs (refresh steps with mu > 0)
    nonconverged: int = 0  # solves whose stopping rule did not fire within srr.eig.max_iter
    skipped: int = 0  # steps whose penalty was dropped (skip_nonconverged=True and not converged)
    penalized: int = 0  # steps with rho > K, i.e. with the third-order term applied
    n_matvecs: int = 0
    n_grad_evals: int = 0  # closure calls (fd) or traced gradients (exact)


class SRRStepInfo(NamedTuple):
    """What the last step saw (``opt.last_step``)."""

    loss: float
    mu: float
    rho: float | None
    eigval: float | None
    residual: float | None
    converged: bool | None  # None on steps without an eigen-solve
    penalized: bool
    skipped: bool
    refreshed: bool
    n_grad_evals: int


class SRR(torch.optim.Optimizer):
    """Spectral radius regularization, Algorithm 2 of SRR_NOTES §6, wrapping a base optimizer.

    Args:
        params: parameters or parameter groups (may be ``None`` when ``base_optimizer`` is an
            instance; its groups are used).
        base_optimizer: an optimizer class (instantiated with ``**base_kwargs`` on this
            optimizer's groups) or an optimizer instance.
        srr: the SRR step's options, :class:`~srtheory.srr_step.SRRConfig` -- the same value as
            for :func:`srtheory.training.srr_train`: ``mu`` (a number or ``mu(step)``, step =
            0, 1, … counts SRR steps), ``K``, the eigen-solve ``eig``
            (:class:`~srtheory.spectral.EigConfig`), ``derivative`` (``"exact"``: double backprop,
            §5.2; ``"fd"``: three plain gradients per power step, §5.4; see the module docstring
            for the closure each needs), ``eps`` (fd step; default the rule of
            ``default_fd_step(order=2)`` for the dtype, fixed for the step), ``code_faithful``,
            ``skip_nonconverged`` and ``reset_on_failure``.
        refresh_every: run the solver every k-th step; in between reuse the stored eigenvector.
        model: the ``nn.Module`` whose buffers (BatchNorm statistics) must be protected from the
            extra forward passes of ``derivative="fd"`` (also inspected for non-smooth layers
            when the closure returns no graph).
        check_determinism: evaluate the closure twice at w every step and raise if the two
            disagree (module docstring); off by default (it costs one more pass).
        **base_kwargs: keyword arguments of the base optimizer class (``lr``, ``momentum``, …).
    """

    def __init__(
        self,
        params=None,
        base_optimizer=torch.optim.SGD,
        *,
        srr: SRRConfig = SRRConfig(),  # noqa: B008 (frozen: an immutable default)
        refresh_every: int = 1,
        model: torch.nn.Module | None = None,
        check_determinism: bool = False,
        **base_kwargs,
    ):
        if not isinstance(srr, SRRConfig):
            raise ValueError(f"srr must be an SRRConfig, got {type(srr).__name__}")  # noqa: TRY004
        if (
            isinstance(refresh_every, bool)
            or not isinstance(refresh_every, int)
            or refresh_every < 1
        ):
            raise ValueError(f"refresh_every must be an integer >= 1, got {refresh_every!r}")
        if model is not None and not isinstance(model, torch.nn.Module):
            raise ValueError(f"model must be an nn.Module or None, got {type(model).__name__}")
        if not isinstance(check_determinism, bool):
            raise ValueError(  # noqa: TRY004
                f"check_determinism must be True or False, got {check_determinism!r}"
            )

        if isinstance(base_optimizer, torch.optim.Optimizer):
            if base_kwargs:
                raise ValueError(
                    f"base_optimizer is an instance; keyword arguments {sorted(base_kwargs)} "
                    "would be ignored (pass the class to have them applied)"
                )
            if params is not None:
                own = {id(p) for g in base_optimizer.param_groups for p in g["params"]}
                given = params.parameters() if isinstance(params, torch.nn.Module) else params
                given = [
                    p
                    for item in given
                    for p in (item["params"] if isinstance(item, dict) else [item])
                ]
                if {id(p) for p in given} != own:
                    raise ValueError("params differ from the base optimizer instance's parameters")
            super().__init__(
                [{"params": list(g["params"])} for g in base_optimizer.param_groups], {}
            )
            self.base_optimizer = base_optimizer
        elif isinstance(base_optimizer, type) and issubclass(base_optimizer, torch.optim.Optimizer):
            if params is None:
                raise ValueError(
                    "params is None; expected parameters when base_optimizer is a class"
                )
            super().__init__(params, {})
            self.base_optimizer = base_optimizer(self.param_groups, **base_kwargs)
        else:
            raise ValueError(
                "base_optimizer must be a torch.optim.Optimizer class or instance, "
                f"got {base_optimizer!r}"
            )
        self.param_groups = self.base_optimizer.param_groups  # shared, as in SAM

        self._srr = srr
        self.refresh_every = refresh_every
        self.model = model
        self.check_determinism = check_determinism
        self._warned = set()
        self._ws = None  # the fd step's workspace (_workspace)
        self._counters = SRRCounters()
        self._eigvec_flat = (None, [])  # (flat vector, the views of it stored in self.state)
        self.last_step: SRRStepInfo | None = None

    # ------------------------------------------------------------------ public API

    @property
    def counters(self) -> SRRCounters:
        return self._counters

    @property
    def srr(self) -> SRRConfig:
        """The step's options (an :class:`~srtheory.srr_step.SRRConfig`; assign a new one to
        change them between steps, e.g. ``dataclasses.replace(opt.srr, mu=...)``)."""
        return self._srr

    @srr.setter
    def srr(self, value: SRRConfig) -> None:
        if not isinstance(value, SRRConfig):
            raise ValueError(f"srr must be an SRRConfig, got {type(value).__name__}")  # noqa: TRY004
        self._srr = value

    @property
    def eigenvector(self) -> torch.Tensor:
        """The stored (warm-start) eigenvector as a flat tensor (v₀ before the first step)."""
        return self._get_eigvec(self._params()).clone()

    def zero_grad(self, set_to_none: bool = True) -> None:
        """As ``torch.optim.Optimizer.zero_grad``, without its profiler record (the closure calls
        it once per gradient: three times per cheap fd step)."""
        if not set_to_none:
            return super().zero_grad(set_to_none=False)
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None
        return None

    def mu_at(self, step: int) -> float:
        """μ at SRR step ``step`` (``self.srr.mu_at``)."""
        return self._srr.mu_at(step)

    def step(self, closure: Callable | None = None):
        """One SRR step (Algorithm 2, step 2) on the closure's batch; returns the closure's loss."""
        if closure is None:
            raise RuntimeError(
                "SRR.step() needs a closure: opt.step(closure) where closure re-evaluates the loss "
                "(derivative='fd': zero_grad, loss, loss.backward(), return loss; "
                "derivative='exact': return the loss without calling backward)"
            )
        params = self._params()
        half = sorted({str(p.dtype) for p in params if p.dtype in HALF})
        if half:
            raise ValueError(half_precision_message("SRR", ", ".join(half)))
        k = self._counters.steps
        mu = self.mu_at(k)
        refresh = k % self.refresh_every == 0
        if self._srr.derivative == "fd":
            loss, g0, rec = self._fd_pass(closure, params, mu, refresh)
        else:
            loss, g0, rec = self._exact_pass(closure, params, mu, refresh)
        direction = g0
        c = self._counters._asdict()
        c["steps"] += 1
        c["n_grad_evals"] += rec["n_grad"]
        c["n_matvecs"] += rec.get("n_mv", 0)
        penalized = skipped = False
        res = rec.get("res")
        if res is not None:
            # Algorithm 2 steps 2.3-2.4 (the reference's step): skip a failed solve, else
            # p = ∇L + μ·1[ρ > K]·sign(λ)·∇³L[v, v, ·] (Lemma A), and the next warm start
            step = srr_step(
                g0,
                res,
                lambda: rec["third"],
                mu=mu,
                config=self._srr,
                restart=lambda: _v0(rec["v_next"]),
                keep=lambda: rec["v_next"],
                failed=refresh and not res.converged,
                out=rec.get("out"),
                third_scale=rec.get("third_scale", 1.0),
            )
            direction, skipped, penalized = (
                step.direction,
                step.decision.skipped,
                step.decision.penalized,
            )
            rec["v_next"] = step.next_start
            c["eigen_solves"] += int(refresh)
            c["nonconverged"] += int(step.decision.failed)
            c["skipped"] += int(skipped)
            c["penalized"] += int(penalized)
        if not all_finite(direction):
            raise ValueError(
                "SRR step direction contains NaN or inf (from the closure's gradients or the "
                "third-order term); parameters and optimizer state were left unchanged"
            )
        if res is not None:
            self._set_eigvec(params, rec["v_next"])
        self._counters = SRRCounters(**c)
        with torch.no_grad():
            # views of the direction: a vector private to this step (g0 is a fresh copy of the
            # closure's gradient, and g0 + μ·s·∇ρ a new tensor), so no clone is needed
            for p, d in zip(params, unflatten(direction, params)):
                p.grad = d
        self.base_optimizer.step()
        if isinstance(loss, torch.Tensor):
            lossf = float(loss.detach())
        else:
            lossf = float("nan") if loss is None else float(loss)
        self.last_step = SRRStepInfo(
            lossf,
            mu,
            None if res is None else res.rho,
            None if res is None else res.eigval,
            None if res is None else res.residual,
            (bool(res.converged) if (res is not None and refresh) else None),
            penalized,
            skipped,
            bool(refresh and res is not None),
            rec["n_grad"],
        )
        return loss

    def state_dict(self):
        sd = super().state_dict()  # param_groups and this optimizer's per-parameter state (eigvec)
        # the eigenvector is replaced (not updated in place) at each step: copy the per-parameter
        # dicts so that a state_dict taken now keeps today's vector
        sd["state"] = {k: dict(v) for k, v in sd["state"].items()}
        sd["base"] = self.base_optimizer.state_dict()
        sd["srr"] = {"counters": self._counters._asdict()}
        return sd

    def load_state_dict(self, state_dict):
        sd = dict(state_dict)
        base, srr = sd.pop("base", None), sd.pop("srr", None)
        if base is None or srr is None:
            raise ValueError(
                "state_dict lacks the 'base' and 'srr' entries written by SRR.state_dict()"
            )
        super().load_state_dict(sd)
        self.base_optimizer.load_state_dict(base)
        self.param_groups = self.base_optimizer.param_groups  # re-link after loading
        self._counters = SRRCounters(**srr["counters"])

    # ------------------------------------------------------------------ the two methods

    def _fd_pass(self, closure, params, mu, refresh):
        rng = _RNG(params)
        buffers_of = list(self.model.buffers()) if self.model is not None else []
        # the buffers before the step: put back if the first pass is refused (no state changed)
        before = [b.detach().clone() for b in buffers_of]
        try:
            loss, grads = self._call_grads(closure, params)
            if all(g is None for g in grads):
                raise RuntimeError(
                    "SRR(derivative='fd'): the closure left no gradients: it must call "
                    f"loss.backward().  {_CLOSURE_STYLES}"
                )
            self._check_loss_value(loss, "at w")
            if mu > 0.0:
                self._inspect(loss, "fd")
                if self.check_determinism:
                    self._check_deterministic_fd(closure, params, loss, grads, rng)
        except BaseException:
            with torch.no_grad():
                for b, s in zip(buffers_of, before):
                    b.copy_(s)
            rng.restore()
            for p in params:
                p.grad = None
            raise
        del before
        if mu == 0.0:
            g0 = flatten([torch.zeros_like(p) if g is None else g for g, p in zip(grads, params)])
            del grads
            for p in params:
                p.grad = None
            return loss, g0, {"n_grad": 1}
        # The step's parameter-sized vectors live in a workspace kept between steps (g₀, the
        # saved w, d₊): fresh multi-megabyte allocations page-fault on every step (measured
        # ~1 ms each for 657 k float32 weights on one CPU thread).  d₋ is formed in the closure's
        # own gradient tensors.  After the step the .grad tensors are views of the workspace
        # (overwritten by the next step, as torch's own in-place gradient accumulation does).
        ws = self._workspace(params)
        g0, w_saved, dp = ws["g0"], ws["saved"], ws["dp"]
        g0v, saved, dpv = ws["g0v"], ws["savedv"], ws["dpv"]
        with torch.no_grad():
            for gi, p, o in zip(grads, params, g0v):
                if gi is None:
                    o.zero_()
                else:
                    o.copy_(gi)
        del grads
        for p in params:
            p.grad = None  # the closure's gradient tensors: dropped once copied
        rng_after = _RNG(params)
        buffers = [b.detach().clone() for b in buffers_of]
        data = [p.detach() for p in params]
        with torch.no_grad():
            torch._foreach_copy_(saved, data)
        n_grad = 1
        if self._srr.eps is None:
            # default_fd_step(w, u, order=2) for a unit u: u^(1/4)·max(1, ‖w‖₂), fixed for this step
            wnorm = float(torch.linalg.vector_norm(w_saved))
            eps_step = fd_step(wnorm, 1.0, order=2, unit_roundoff=torch.finfo(params[0].dtype).eps)
        else:
            eps_step = self._srr.eps
        multi = data[0].device.type != "cpu"  # multi-tensor kernels where launches cost
        # one product per step (a reused vector, or one power step): its output may live in the
        # workspace -- nothing holds it beyond this step (the solver keeps no old products then)
        eig = self._srr.eig
        single = (not refresh) or (eig.method == "power" and eig.max_iter == 1)

        def matvec(u):
            # SRR_NOTES §5.4 at the unit vector û = u/‖u‖, ε fixed for the step:
            #   d± = ∇L(w ± εû) − ∇L(w),  H u ≈ ‖u‖·(d₊ − d₋)/(2ε),  ∇³L[û, û, ·] ≈ (d₊ + d₋)/ε².
            # Differences taken against g₀ first (nearly exact in floating point).
            nonlocal n_grad
            nu = float(torch.linalg.vector_norm(u))
            uv = unflatten(u, params)
            for c in (1.0, -1.0):
                a = c * eps_step / nu
                with torch.no_grad():
                    if multi:
                        torch._foreach_copy_(data, saved)
                        torch._foreach_add_(data, uv, alpha=a)
                    else:
                        for d, s, ui in zip(data, saved, uv):
                            torch.add(s, ui, alpha=a, out=d)
                rng.restore()
                lossc, gr = self._call_grads(closure, params)
                for p in params:
                    p.grad = None  # the closure's gradients: ours now, consumed below
                self._check_loss_value(lossc, "at w ± ε·v (a finite-difference point)")
                if c < 0:
                    if single:  # the solve's only product: a workspace vector (no page faults)
                        hu, huv = ws["hu"], ws["huv"]
                    else:  # a fresh output per product (a solver may keep several)
                        hu = torch.empty_like(u)
                        huv = unflatten(hu, params)
                with torch.no_grad():
                    for i, (gi, g0i, dpi) in enumerate(zip(gr, g0v, dpv)):
                        if c > 0:  # d₊ = ∇L(w + εû) − g₀ into the workspace
                            if gi is None:
                                torch.neg(g0i, out=dpi)
                            else:
                                torch.sub(gi, g0i, out=dpi)
                        else:  # d₋ in the closure's own gradient tensor; Hu ∝ d₊ − d₋, ε²∇³ = d₊ + d₋
                            dmi = torch.neg(g0i) if gi is None else gi.sub_(g0i)
                            torch.sub(dpi, dmi, out=huv[i])
                            dpi.add_(dmi)
                del gr
                n_grad += 1
            return hu.mul_(nu / (2.0 * eps_step))

        try:
            res, n_mv, hv = self._solve(matvec, self._get_eigvec(params), refresh)
            if hv is None:  # the returned vector was not the last one multiplied (see _solve)
                matvec(res.eigvec)
                n_mv += 1
            # ε²·∇³L[v, v, ·] of the last matvec's unit vector (= ±eigvec; even in ±v); the
            # 1/ε² is applied inside the direction's fused add (third_scale), not as a pass here
            third = dp
        finally:
            with torch.no_grad():
                torch._foreach_copy_(data, saved)
                for b, s in zip(buffers_of, buffers):
                    b.copy_(s)
            rng_after.restore()
        v_next = self._next_vector(res, hv, refresh)
        return (
            loss,
            g0,
            {"n_grad": n_grad, "n_mv": n_mv, "res": res, "third": third, "v_next": v_next,
             "out": third, "third_scale": 1.0 / (eps_step * eps_step)},
        )

    def _exact_pass(self, closure, params, mu, refresh):
        for p in params:
            p.grad = None
        rng = _RNG(params) if self.check_determinism else None
        with torch.enable_grad():
            loss = closure()
            if not isinstance(loss, torch.Tensor) or not loss.requires_grad:
                raise RuntimeError(
                    "SRR(derivative='exact') needs the closure to return the loss tensor with its "
                    f"graph (got {type(loss).__name__} without grad).  {_CLOSURE_STYLES}"
                )
            self._check_loss_value(loss, "at w")
            if mu > 0.0:
                self._inspect(loss, "exact")
                if self.check_determinism:
                    self._check_deterministic_exact(closure, loss, rng)
            try:
                g = torch.autograd.grad(loss, params, create_graph=mu > 0.0, allow_unused=True)
            except RuntimeError as exc:
                raise RuntimeError(
                    "SRR(derivative='exact') needs the closure to return the loss with its graph "
                    "intact: do not call loss.backward() in the closure (derivative='fd' works with "
                    "that closure)"
                ) from exc
            g = [torch.zeros_like(p) if gi is None else gi for gi, p in zip(g, params)]
            g0 = flatten(g).detach()
            if mu == 0.0:
                return loss, g0, {"n_grad": 1}
            cache = {}

            def matvec(u):
                hv = _hv_from_graph(g, params, u, create_graph=True)
                cache["last"] = (u, hv)
                out = flatten(hv).detach()
                if not all_finite(out):
                    raise ValueError(
                        "SRR(derivative='exact'): the Hessian-vector product of the closure's "
                        "loss is NaN or inf (the loss is finite); parameters and optimizer state "
                        "were left unchanged"
                    )
                return out

            res, n_mv, hv = self._solve(matvec, self._get_eigvec(params), refresh)
            u, hv_graph = cache["last"]
            if hv is None:  # the returned vector was not the last one multiplied (see _solve)
                matvec(res.eigvec)
                n_mv += 1
                u, hv_graph = cache["last"]
            third = flatten(_third_from_hv(hv_graph, params, u)).detach()
        v_next = self._next_vector(res, hv, refresh)
        return loss, g0, {"n_grad": 1, "n_mv": n_mv, "res": res, "third": third, "v_next": v_next}

    # ------------------------------------------------------------------ checks

    def _check_loss_value(self, loss, where):
        if isinstance(loss, torch.Tensor):
            if loss.numel() == 1 and not bool(torch.isfinite(loss.detach()).all()):
                raise ValueError(
                    f"the closure's loss is {float(loss.detach())} {where}; expected a finite "
                    "loss, not NaN or inf (parameters and optimizer state were left unchanged)"
                )
        elif isinstance(loss, (int, float)) and not math.isfinite(loss):
            raise ValueError(
                f"the closure's loss is {loss} {where}; expected a finite loss, not NaN or inf "
                "(parameters and optimizer state were left unchanged)"
            )

    def _inspect(self, loss, method):
        """Refuse or warn from the loss's autograd graph (srtheory.torch._graph), or from the
        model's modules where the closure returned no graph."""
        if isinstance(loss, torch.Tensor) and loss.grad_fn is not None:
            rep = inspect_graph(loss)
        elif self.model is not None:
            rep = inspect_modules(self.model)
        else:
            return
        if method == "fd":
            if rep.nonsmooth:
                raise ValueError(nonsmooth_fd_message("SRR(derivative='fd')", rep.nonsmooth))
            if rep.train_batch_norm and self.model is None:
                self._warn_once(
                    "fd-stats",
                    "SRR(derivative='fd') without model=: the loss graph holds batch norm in "
                    "training mode, and each extra forward pass at w ± ε·v updates its running "
                    "statistics (2 more updates per matvec).  Pass model=your_model to have "
                    "them restored after every step.",
                )
        elif rep.bad_third_order:
            self._warn_once(
                "exact-norm",
                f"SRR(derivative='exact'): torch's third derivative through "
                f"{', '.join(rep.bad_third_order)} is wrong (torch 2.13: 13-26 % relative error; "
                "Hv is right), so the penalty's direction is off.  Use "
                "srtheory.torch.norms.composite_norms(model) (the same layers from mean/var, "
                "exact higher derivatives), or derivative='fd' if the loss is otherwise smooth.",
            )

    def _warn_once(self, key, message):
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(message, RuntimeWarning, stacklevel=4)

    def _check_deterministic_fd(self, closure, params, loss, grads, rng):
        after = _RNG(params)
        rng.restore()
        buffers = (
            [b.detach().clone() for b in self.model.buffers()] if self.model is not None else []
        )
        try:
            loss2, grads2 = self._call_grads(closure, params)
        finally:
            if self.model is not None:
                with torch.no_grad():
                    for b, s in zip(self.model.buffers(), buffers):
                        b.copy_(s)
            after.restore()
        dg = [
            (a if a is not None else torch.zeros_like(p)) - (b if b is not None else 0.0)
            for a, b, p in zip(grads2, grads, params)
        ]
        num = float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(dg))))
        den = float(
            torch.linalg.vector_norm(
                torch.stack([torch.linalg.vector_norm(g) for g in grads if g is not None])
            )
        )
        for p, g in zip(params, grads):
            p.grad = g
        _check_agree(float(loss.detach()) if isinstance(loss, torch.Tensor) else loss,
                     float(loss2.detach()) if isinstance(loss2, torch.Tensor) else loss2,
                     num, den, params[0].dtype)

    def _check_deterministic_exact(self, closure, loss, rng):
        after = _RNG(self._params())
        rng.restore()
        buffers = (
            [b.detach().clone() for b in self.model.buffers()] if self.model is not None else []
        )
        try:
            with torch.enable_grad():
                loss2 = closure()
        finally:
            if self.model is not None:
                with torch.no_grad():
                    for b, s in zip(self.model.buffers(), buffers):
                        b.copy_(s)
            after.restore()
        _check_agree(float(loss.detach()), float(loss2.detach()), 0.0, 1.0, loss.dtype)

    # ------------------------------------------------------------------ helpers

    def _solve(self, matvec, v, refresh):
        """Run the eigen-solver from v (refresh) or evaluate the Rayleigh quotient of v (reuse).

        Returns (EigResult, number of matvecs, ``(y, s)`` with H·eigvec = s·y, or None).  It is
        not None exactly when ``eigvec`` is ± the vector of the last matvec (then the caller's
        cached products of that matvec belong to ``eigvec``, and no further matvec is needed)."""
        last = {}

        def mv(u):
            y = matvec(u)
            last["u"], last["y"] = u, y
            return y

        if refresh:
            res = eig_solve(mv, v, self._srr.eig)
            hv = None
            same = _same_direction(last["u"], res.eigvec)
            if same:
                hv = (last["y"], float(same))  # H·eigvec = same·y (no negated copy made)
            return res, res.n_matvecs, hv
        v = v / torch.linalg.vector_norm(v)
        hv = mv(v)
        lam = float(torch.dot(v, hv))
        r = float(torch.linalg.vector_norm(hv - lam * v))
        return EigResult(abs(lam), lam, v, r, 1, False, 0), 1, (hv, 1.0)

    def _next_vector(self, res, hv, refresh):
        eig = self._srr.eig
        if (
            not refresh
            or res.converged
            or hv is None
            or eig.method != "power"
            or eig.alpha is not None
            or eig.precond is not None
        ):
            return res.eigvec.detach().clone()
        # Algorithm 1 step 2.8 once more: the iterate after max_iter (v ← w/‖w‖, sign-aligned)
        y, sgn = hv  # H·eigvec = sgn·y
        s = (1.0 if res.eigval >= 0 else -1.0) * sgn
        nrm = float(torch.linalg.vector_norm(y))
        # a fresh tensor: _set_eigvec stores views of it without copying
        return (y * (s / nrm)).detach() if nrm > 0 else res.eigvec.detach().clone()

    def _params(self):
        params = [p for g in self.param_groups for p in g["params"] if p.requires_grad]
        if not params:
            raise ValueError("SRR has no parameters that require grad")
        return params

    def _get_eigvec(self, params):
        if all("eigvec" in self.state[p] for p in params):
            parts = [self.state[p]["eigvec"] for p in params]
            # the views _set_eigvec stored (nothing changes them in place): hand over their flat
            # vector instead of a copy; after load_state_dict the state holds other tensors
            flat, views = self._eigvec_flat
            if len(views) == len(parts) and all(a is b for a, b in zip(parts, views)):
                return flat
            return flatten(parts)
        n = sum(p.numel() for p in params)
        return _generic(n, params[0])

    def _set_eigvec(self, params, v):
        # v is always a fresh tensor private to this step (_next_vector, _v0 or a clone), never
        # changed afterwards: store views of it (the stored vector is replaced, never updated in
        # place, so a state_dict taken earlier keeps its own vector)
        v = v.detach()
        views = unflatten(v, params)
        for p, vi in zip(params, views):
            self.state[p]["eigvec"] = vi
        self._eigvec_flat = (v, views)

    def _workspace(self, params):
        """The fd step's parameter-sized vectors (g₀, saved w, d₊, and H·v of a one-product step) and their per-parameter views, allocated
        once per (parameter shapes, dtype, device) and reused by every step."""
        key = (tuple(p.shape for p in params), params[0].dtype, params[0].device)
        ws = self._ws
        if ws is None or ws["key"] != key:
            self._ws = None  # drop the old one before allocating
            n = sum(p.numel() for p in params)
            ws = {"key": key}
            for name in ("g0", "saved", "dp", "hu"):
                ws[name] = torch.empty(n, dtype=params[0].dtype, device=params[0].device)
                ws[name + "v"] = unflatten(ws[name], params)
            self._ws = ws
        return ws

    @staticmethod
    def _call_grads(closure, params):
        """Call the closure (``.grad`` set to ``None`` first); return its loss and the list of
        the ``.grad`` tensors it left (``None`` where a parameter got none)."""
        for p in params:
            p.grad = None
        with torch.enable_grad():
            loss = closure()
        return loss, [p.grad for p in params]


def _check_agree(l1, l2, dg, g, dtype):
    """Two evaluations of the loss at the same w (RNG replayed) must agree to rounding."""
    u = torch.finfo(dtype).eps
    tol_l = 64 * u * max(1.0, abs(l1))
    if not (abs(l1 - l2) <= tol_l and dg <= 1e3 * u * max(g, 1e-30)):
        raise ValueError(
            "check_determinism: two evaluations of the closure at the same parameters (torch's "
            f"RNG replayed) differ: loss {l1!r} vs {l2!r}, gradient difference {dg:.3e} of "
            f"norm {g:.3e}.  The curvature of a loss that changes between calls is meaningless: "
            "fix the batch outside the closure (do not draw from a data loader inside it) and "
            "use randomness from torch's global RNG only (SRR replays it), or turn dropout off."
        )


_RNG = RNGState  # (kept under its old private name)


def _same_direction(u, v) -> int:
    """+1 if u == v, -1 if u == -v exactly, else 0 (the solver returns the vector it last passed
    to matvec, maybe negated).  ``v`` is negated in place and back (exact; no n-sized
    allocation, which costs page faults on the CPU); the sign is read from one entry first."""
    if u.shape != v.shape or u.numel() == 0:
        return 0
    i = int(torch.argmax(u.abs())) if not bool(u[0]) else 0
    a, b = float(u[i]), float(v[i])
    if a == b and torch.equal(u, v):
        return 1
    if a == -b:
        v.neg_()
        try:
            same = torch.equal(u, v)
        finally:
            v.neg_()
        return -1 if same else 0
    return 0


def _generic(n: int, like: torch.Tensor) -> torch.Tensor:
    """The start and reset vector: :func:`srtheory.spectral.generic_start` (the reference's)."""
    from srtheory.spectral import generic_start

    return torch.as_tensor(generic_start(n), dtype=like.dtype, device=like.device)


def _v0(like: torch.Tensor) -> torch.Tensor:
    return _generic(like.numel(), like)
