"""``SRR``: spectral radius regularization (Algorithm 2 of SRR_NOTES §6) as a torch optimizer.

Each step minimises h(w) = L(w) + μ·max(0, ρ(w) − K) on the closure's batch: it estimates the
dominant eigenpair (λ, v) of the batch Hessian with a warm-started eigen-solver (Algorithm 1),
forms the direction p = ∇L + μ·1[ρ > K]·sign(λ)·∇³L[v, v, ·] (Lemma A / SRR_NOTES §5.1), writes p
into ``param.grad`` and calls the base optimizer's ``step()`` (Algorithm 2 step 2.5).

Conventions are SAM's (``SRR(params, torch.optim.SGD, lr=0.1, mu=1e-3)``): the wrapped base
optimizer (a class plus its keyword arguments, or an instance) shares ``param_groups`` with this
one, so learning-rate schedulers may attach to either; ``step(closure)`` runs the closure under
``torch.enable_grad()`` and returns the loss of its first call.

The closure contract
--------------------
``method="fd"`` (default) works with the standard closure::

    def closure():
        opt.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        return loss

It is called 1 + 2·(number of matvecs) times per step: at w, and at w ± εu for each Hessian-vector
product Hu ≈ [∇L(w+εu) − ∇L(w−εu)]/2ε of the eigen-solve; the gradients at w ± εv of the final
eigenvector also give ∇³L[v, v, ·] ≈ [∇L(w+εv) − 2∇L(w) + ∇L(w−εv)]/ε² (SRR_NOTES §5.4, one step
ε = u^(1/4)·max(1, ‖w‖) for both).  The parameters are perturbed in place and restored bit for bit
afterwards (also if the closure raises).  SRR sets every ``param.grad`` to ``None`` before each
call and reads the gradients the closure's ``backward()`` leaves there, so only plain backward
passes are used (it works under ``DistributedDataParallel``: each backward all-reduces as usual).
The cheap mode ``eig_max_iter=1, skip_nonconverged=False`` (one warm-started power step per
training step) costs 3 gradients and gradient-sized extra memory per step::

    opt = SRR(model.parameters(), torch.optim.SGD, lr=0.1, momentum=0.9, mu=1e-3, K=0.0,
              eig_max_iter=1, skip_nonconverged=False, model=model)
    loss = opt.step(closure)
    opt.counters.eigen_solves, opt.last_step.rho

``method="exact"`` differentiates the closure's loss three times in one graph (∇L with
``create_graph``, Hv, ∇(vᵀHv)).  Its closure must return the loss **with its graph intact**: it
must *not* call ``loss.backward()`` (zeroing gradients is harmless)::

    def closure():
        return criterion(model(x), y)

A closure that calls ``backward()`` frees the graph; SRR then raises a ``RuntimeError`` saying so.
The exact method needs double backward, which ``DistributedDataParallel`` does not support: use
``method="fd"`` there.

**Known torch defect (measured on torch 2.13, float64):** the third derivative that autograd
produces through ``F.batch_norm`` in training mode, ``F.layer_norm`` and ``F.instance_norm`` is
wrong (relative errors 25 %, 22 % and 13 % on small tests, while Hv is right and a hand-written
BatchNorm from mean/var agrees with finite differences to 1e-8).  ``F.group_norm``, GELU,
softplus, SiLU, tanh and log-softmax are correct.  Use ``method="fd"`` with those normalisation
layers; ``SRR(model=..., method="exact")`` warns when the model contains one.

Declared choices
----------------
* **BatchNorm / running buffers**: pass ``model=`` and every buffer of the model is saved after the
  first closure call and restored after the extra passes at w ± εv, so running statistics are
  updated once per step, by the pass at w, exactly as in plain training.  Without ``model=`` SRR
  cannot see buffers (it only knows parameters).
* **Dropout and other randomness**: all passes of one step see the same random numbers: the
  torch RNG state (CPU, and CUDA of the parameters' devices) is captured before the first call,
  re-installed before each extra call, and left afterwards where the first call left it.  The
  regularised function is thus the batch loss with this step's dropout mask fixed (for the exact
  method this holds automatically: one forward pass).
* **Train/eval mode**: SRR never changes it; the closure runs in whatever mode the model is in
  (normally ``train()``: BatchNorm normalises with batch statistics in every pass, consistently).
* **Eigenvector**: starts at v₀ = 1/√n·**1** (Algorithm 1, deterministic); refreshed by the
  eigen-solver every ``refresh_every`` steps starting from the stored vector (warm start), and
  reused unchanged in between (then ρ is its Rayleigh quotient, one matvec).  After a solve the
  stored vector is, as in :func:`srtheory.algorithms.srr_train`: the returned one if the solve
  converged; v₀ if it did not and the step is skipped (``skip_nonconverged``, the default, with
  ``reset_on_failure``).  With ``skip_nonconverged=False`` an unconverged power solve stores one
  more power step ``Hv/‖Hv‖`` (Algorithm 1's iterate after ``max_iter``), so ``eig_max_iter=1``
  runs Algorithm 1 one iteration per training step across batches.

Defaults mirror :func:`srtheory.algorithms.srr_train` (``eig_tol=1e-3``, ``eig_max_iter=100``,
skip and reset on a failed solve); μ may be a schedule of the SRR *step* index here (the optimizer
does not know epochs: set ``opt.mu`` per epoch, or pass ``lambda k: schedule(k // n_batches)``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import NamedTuple

import torch

from srtheory.torch._util import all_finite, flatten, unflatten
from srtheory.torch.curvature import _hv_from_graph, _third_from_hv
from srtheory.torch.spectral import EigResult, lanczos, power_iteration, spectral_radius

__all__ = ["SRR", "SRRCounters", "SRRStepInfo"]

_EIG_METHODS = ("power", "lanczos", "spectral_radius")
# modules through which torch 2.13's autograd gives a wrong third derivative (module docstring)
_BAD_THIRD_ORDER = (torch.nn.modules.batchnorm._NormBase, torch.nn.LayerNorm)


class SRRCounters(NamedTuple):
    """Running totals of an :class:`SRR` optimizer (``opt.counters``)."""

    steps: int = 0
    eigen_solves: int = 0  # eigen-solver runs (refresh steps with mu > 0)
    nonconverged: int = 0  # solves whose stopping rule did not fire within eig_max_iter
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
        mu: μ ≥ 0, a number or a callable ``mu(step) -> float`` (step = 0, 1, … counts SRR steps).
        K: the bound K ≥ 0 of the hinge max(0, ρ − K).
        method: ``"fd"`` (three plain gradients per step, SRR_NOTES §5.4) or ``"exact"`` (double
            backprop, §5.2); see the module docstring for the closure each needs.
        eigensolver: ``"power"`` (Algorithm 1), ``"lanczos"`` or ``"spectral_radius"`` (Lanczos for
            both extremes), as ``eig_method`` of :func:`srtheory.algorithms.srr_train`.
        eig_tol, eig_max_iter, eig_criteria, alpha: the solver's tolerance, budget of iterations
            per refresh, and (power) stopping criteria ("paper" or "residual") and Algorithm 1b
            step size.
        refresh_every: run the solver every k-th step; in between reuse the stored eigenvector.
        eps: finite-difference step for ``method="fd"`` (default: ``default_fd_step(order=2)``
            for the dtype, recomputed at every matvec).
        skip_nonconverged: the code's ``ignore_bad_vals`` (always on in ``srr_train``): drop the
            penalty on a step whose solve did not converge.  ``False`` applies the penalty with the
            unconverged estimate -- the cheap mode ``eig_max_iter=1, skip_nonconverged=False``
            runs one warm-started power step per training step (3 gradients per fd step).
        reset_on_failure: on a skipped step reset the eigenvector to v₀ (Algorithm 1 step 4, as
            ``srr_train``); else keep the returned vector.
        code_faithful: drop sign(λ) from ∇ρ as the authors' code does (§5.4 caveat).
        model: the ``nn.Module`` whose buffers (BatchNorm statistics) must be protected from the
            extra forward passes of ``method="fd"``.
        **base_kwargs: keyword arguments of the base optimizer class (``lr``, ``momentum``, …).
    """

    def __init__(
        self,
        params=None,
        base_optimizer=torch.optim.SGD,
        *,
        mu=0.01,
        K: float = 0.0,
        method: str = "fd",
        eigensolver: str = "power",
        eig_tol: float = 1e-3,
        eig_max_iter: int = 100,
        eig_criteria: str = "paper",
        alpha=None,
        refresh_every: int = 1,
        eps: float | None = None,
        skip_nonconverged: bool = True,
        reset_on_failure: bool = True,
        code_faithful: bool = False,
        model: torch.nn.Module | None = None,
        **base_kwargs,
    ):
        if method not in ("fd", "exact"):
            raise ValueError(f"method must be 'fd' or 'exact', got {method!r}")
        if eigensolver not in _EIG_METHODS:
            raise ValueError(f"eigensolver must be one of {_EIG_METHODS}, got {eigensolver!r}")
        if alpha is not None and eigensolver != "power":
            raise ValueError("alpha (Algorithm 1b step size) needs eigensolver='power'")
        if (
            alpha is not None
            and not callable(alpha)
            and not (isinstance(alpha, (int, float)) and alpha > 0 and math.isfinite(alpha))
        ):
            raise ValueError(
                f"alpha must be None, a number > 0 or a callable i -> alpha_i, got {alpha!r}"
            )
        if eig_criteria not in ("paper", "residual"):
            raise ValueError(f"eig_criteria must be 'paper' or 'residual', got {eig_criteria!r}")
        if not callable(mu):
            _nonneg(mu, "mu")
        _nonneg(K, "K")
        if not (isinstance(eig_tol, (int, float)) and eig_tol > 0 and math.isfinite(eig_tol)):
            raise ValueError(f"eig_tol must be finite and > 0, got {eig_tol!r}")
        for name, val in (("eig_max_iter", eig_max_iter), ("refresh_every", refresh_every)):
            if isinstance(val, bool) or not isinstance(val, int) or val < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {val!r}")
        if eps is not None and not (eps > 0 and math.isfinite(eps)):
            raise ValueError(f"eps must be finite and > 0, got {eps!r}")
        if model is not None and not isinstance(model, torch.nn.Module):
            raise ValueError(f"model must be an nn.Module or None, got {type(model).__name__}")

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

        self.mu, self.K = mu, float(K)
        self.method, self.eigensolver = method, eigensolver
        self.eig_tol, self.eig_max_iter, self.eig_criteria = (
            float(eig_tol),
            eig_max_iter,
            eig_criteria,
        )
        self.alpha, self.refresh_every, self.eps = alpha, refresh_every, eps
        self.skip_nonconverged, self.reset_on_failure = (
            bool(skip_nonconverged),
            bool(reset_on_failure),
        )
        self.code_faithful = bool(code_faithful)
        self.model = model
        if method == "exact" and model is not None:
            bad = sorted(
                {type(m).__name__ for m in model.modules() if isinstance(m, _BAD_THIRD_ORDER)}
            )
            if bad:
                warnings.warn(
                    f"SRR(method='exact'): torch's third derivative through {bad} is wrong "
                    "(see the srtheory.torch.optim docstring); use method='fd' for this model",
                    RuntimeWarning,
                    stacklevel=2,
                )
        self._counters = SRRCounters()
        self._eigvec_flat = (None, [])  # (flat vector, the views of it stored in self.state)
        self.last_step: SRRStepInfo | None = None

    # ------------------------------------------------------------------ public API

    @property
    def counters(self) -> SRRCounters:
        return self._counters

    @property
    def eigenvector(self) -> torch.Tensor:
        """The stored (warm-start) eigenvector as a flat tensor (v₀ before the first step)."""
        return self._get_eigvec(self._params()).clone()

    def mu_at(self, step: int) -> float:
        mu = self.mu(step) if callable(self.mu) else self.mu
        return _nonneg(mu, f"mu({step})" if callable(self.mu) else "mu")

    def step(self, closure: Callable | None = None):
        """One SRR step (Algorithm 2, step 2) on the closure's batch; returns the closure's loss."""
        if closure is None:
            raise RuntimeError(
                "SRR.step() needs a closure: opt.step(closure) where closure re-evaluates the loss "
                "(method='fd': zero_grad, loss, loss.backward(), return loss; method='exact': "
                "return the loss without calling backward)"
            )
        params = self._params()
        k = self._counters.steps
        mu = self.mu_at(k)
        refresh = k % self.refresh_every == 0
        if self.method == "fd":
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
            if refresh:
                c["eigen_solves"] += 1
                c["nonconverged"] += int(not res.converged)
            if refresh and self.skip_nonconverged and not res.converged:
                skipped = True
                c["skipped"] += 1
                rec["v_next"] = (
                    _v0(rec["v_next"]) if self.reset_on_failure else res.eigvec.detach().clone()
                )
            elif res.rho > self.K:
                # Algorithm 2 step 2.3-2.4: p = ∇L + μ·∇g, ∇g = sign(λ)·∇³L[v, v, ·] (Lemma A)
                penalized = True
                c["penalized"] += 1
                s = 1.0 if (self.code_faithful or res.eigval >= 0) else -1.0
                direction = torch.add(g0, rec["third"], alpha=mu * s)
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
        loss, g0 = self._call(closure, params)
        if mu == 0.0:
            return loss, g0, {"n_grad": 1}
        rng_after = _RNG(params)
        buffers = (
            [b.detach().clone() for b in self.model.buffers()] if self.model is not None else []
        )
        # multi-tensor (_foreach) copies and shifts: one kernel launch per list instead of one
        # per parameter tensor, and a single host sync for ‖w‖ (what matters on a GPU)
        data = [p.detach() for p in params]
        saved = [d.clone() for d in data]
        cache = {}
        n_grad = 1
        if self.eps is None:
            # default_fd_step(w, u, order=2) for a unit u: u^(1/4)·max(1, ‖w‖₂), fixed for this step
            wnorm = float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(saved))))
            eps_step = torch.finfo(params[0].dtype).eps ** 0.25 * max(1.0, wnorm)
        else:
            eps_step = self.eps

        def matvec(u):
            # SRR_NOTES §5.4 at the unit vector û = u/‖u‖, ε fixed for the step:
            #   d± = ∇L(w ± εû) − ∇L(w),  H u ≈ ‖u‖·(d₊ − d₋)/(2ε),  ∇³L[û, û, ·] ≈ (d₊ + d₋)/ε².
            # Differences taken against g₀ first (nearly exact in floating point), in place, so
            # that a matvec holds two parameter-sized vectors beyond its input.
            nonlocal n_grad
            nu = float(torch.linalg.vector_norm(u))
            d = []
            for c in (1.0, -1.0):
                with torch.no_grad():
                    torch._foreach_copy_(data, saved)
                    torch._foreach_add_(data, unflatten(u, params), alpha=c * eps_step / nu)
                rng.restore()
                d.append(self._call(closure, params)[1].sub_(g0))
                n_grad += 1
            hu = torch.sub(d[0], d[1]).mul_(nu / (2.0 * eps_step))
            cache["last"] = d[0].add_(d[1])  # ε²·∇³L[û, û, ·], for the vector returned last
            return hu

        try:
            res, n_mv, hv = self._solve(matvec, self._get_eigvec(params), refresh)
            if hv is None:  # the returned vector was not the last one multiplied (see _solve)
                matvec(res.eigvec)
                n_mv += 1
            third = cache.pop("last").div_(eps_step * eps_step)
        finally:
            with torch.no_grad():
                torch._foreach_copy_(data, saved)
                if self.model is not None:
                    for b, s in zip(self.model.buffers(), buffers):
                        b.copy_(s)
            rng_after.restore()
        v_next = self._next_vector(res, hv, refresh)
        return (
            loss,
            g0,
            {"n_grad": n_grad, "n_mv": n_mv, "res": res, "third": third, "v_next": v_next},
        )

    def _exact_pass(self, closure, params, mu, refresh):
        for p in params:
            p.grad = None
        with torch.enable_grad():
            loss = closure()
            if not isinstance(loss, torch.Tensor) or not loss.requires_grad:
                raise RuntimeError(
                    "SRR(method='exact') needs the closure to return the loss tensor with its "
                    f"graph (got {type(loss).__name__} without grad)"
                )
            try:
                g = torch.autograd.grad(loss, params, create_graph=mu > 0.0, allow_unused=True)
            except RuntimeError as exc:
                raise RuntimeError(
                    "SRR(method='exact') needs the closure to return the loss with its graph "
                    "intact: do not call loss.backward() in the closure (method='fd' works with "
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
                return flatten(hv).detach()

            res, n_mv, hv = self._solve(matvec, self._get_eigvec(params), refresh)
            u, hv_graph = cache["last"]
            if hv is None:  # the returned vector was not the last one multiplied (see _solve)
                matvec(res.eigvec)
                n_mv += 1
                u, hv_graph = cache["last"]
            third = flatten(_third_from_hv(hv_graph, params, u)).detach()
        v_next = self._next_vector(res, hv, refresh)
        return loss, g0, {"n_grad": 1, "n_mv": n_mv, "res": res, "third": third, "v_next": v_next}

    # ------------------------------------------------------------------ helpers

    def _solve(self, matvec, v, refresh):
        """Run the eigen-solver from v (refresh) or evaluate the Rayleigh quotient of v (reuse).

        Returns (EigResult, number of matvecs, H·eigvec or None).  ``H·eigvec`` is not None
        exactly when ``eigvec`` is ± the vector of the last matvec (then the caller's cached
        products of that matvec belong to ``eigvec``, and no further matvec is needed)."""
        last = {}

        def mv(u):
            y = matvec(u)
            last["u"], last["y"] = u, y
            return y

        if refresh:
            if self.eigensolver == "power":
                res = power_iteration(
                    mv,
                    v,
                    tol=self.eig_tol,
                    max_iter=self.eig_max_iter,
                    alpha=self.alpha,
                    criteria=self.eig_criteria,
                )
            elif self.eigensolver == "lanczos":
                res = lanczos(mv, v, tol=self.eig_tol, max_iter=self.eig_max_iter, which="LM")
            else:
                res = spectral_radius(
                    mv, v, method="lanczos", tol=self.eig_tol, max_iter=self.eig_max_iter
                )
            hv = None
            if _same_direction(last["u"], res.eigvec):
                hv = last["y"] if torch.dot(last["u"], res.eigvec) > 0 else -last["y"]
            return res, res.n_matvecs, hv
        v = v / torch.linalg.vector_norm(v)
        hv = mv(v)
        lam = float(torch.dot(v, hv))
        r = float(torch.linalg.vector_norm(hv - lam * v))
        return EigResult(abs(lam), lam, v, r, 1, False, 0), 1, hv

    def _next_vector(self, res, hv, refresh):
        if (
            not refresh
            or res.converged
            or hv is None
            or self.eigensolver != "power"
            or self.alpha is not None
        ):
            return res.eigvec.detach().clone()
        # Algorithm 1 step 2.8 once more: the iterate after max_iter (v ← w/‖w‖, sign-aligned)
        s = 1.0 if res.eigval >= 0 else -1.0
        nrm = torch.linalg.vector_norm(hv)
        # a fresh tensor: _set_eigvec stores views of it without copying
        return (hv * (s / float(nrm))).detach() if float(nrm) > 0 else res.eigvec.detach().clone()

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
        return torch.full((n,), 1.0 / math.sqrt(n), dtype=params[0].dtype, device=params[0].device)

    def _set_eigvec(self, params, v):
        # v is always a fresh tensor private to this step (_next_vector, _v0 or a clone), never
        # changed afterwards: store views of it (the stored vector is replaced, never updated in
        # place, so a state_dict taken earlier keeps its own vector)
        v = v.detach()
        views = unflatten(v, params)
        for p, vi in zip(params, views):
            self.state[p]["eigvec"] = vi
        self._eigvec_flat = (v, views)

    @staticmethod
    def _call(closure, params):
        for p in params:
            p.grad = None
        with torch.enable_grad():
            loss = closure()
        # flatten copies; finiteness is checked once per step, on the final direction.  The
        # closure's .grad tensors are dropped once copied (one parameter-sized vector less held)
        g = flatten([torch.zeros_like(p) if p.grad is None else p.grad for p in params]).detach()
        for p in params:
            p.grad = None
        return loss, g


class _RNG:
    """Snapshot of torch's RNG state (CPU and the CUDA devices holding ``params``)."""

    def __init__(self, params):
        self.cpu = torch.get_rng_state()
        self.devices = sorted({p.device.index or 0 for p in params if p.device.type == "cuda"})
        self.cuda = [torch.cuda.get_rng_state(d) for d in self.devices]

    def restore(self):
        torch.set_rng_state(self.cpu)
        for d, s in zip(self.devices, self.cuda):
            torch.cuda.set_rng_state(s, d)


def _same_direction(u, v) -> bool:
    """u = ±v exactly (the solver returns the vector it last passed to matvec, maybe negated)."""
    return u.shape == v.shape and (torch.equal(u, v) or torch.equal(u, -v))


def _v0(like: torch.Tensor) -> torch.Tensor:
    n = like.numel()
    return torch.full_like(like, 1.0 / math.sqrt(n))


def _nonneg(x, name) -> float:
    try:
        x = float(x)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number >= 0, got {x!r}") from None
    if not (x >= 0 and math.isfinite(x)):
        raise ValueError(f"{name} must be finite and >= 0, got {x!r}")
    return x
