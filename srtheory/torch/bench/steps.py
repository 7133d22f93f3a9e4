"""Step rows of ``srtheory bench``: what each row runs (:data:`STEP_ROWS`), the median time
per optimizer step (CPU: methods interleaved step by step; CUDA or ``--blocks``: one block per
method), matvecs and gradients per step from SRR's counters, and peak memory per method."""

from __future__ import annotations

import math
import statistics
import time
import warnings

import torch
from torch.nn import functional as F

from srtheory.spectral import EigConfig
from srtheory.torch import curvature as tc
from srtheory.torch._graph import inspect_modules
from srtheory.torch.memory import cpu_peak_bytes
from srtheory.torch.norms import composite_norms
from srtheory.torch.optim import SRR, SRRConfig

# What each step row runs (printed with the tables, so every ratio names its configuration).
STEP_ROWS = {
    "sgd": ("SGD", "torch.optim.SGD(lr=1e-3, momentum=0.9): 1 gradient"),
    "sam": ("SAM", "2 gradients (radius 0.05), then the SGD step"),
    "naive_exact": (
        "naive exact (one graph)",
        (
            "∇L (create_graph), Hv (create_graph), ∇(vᵀHv) in one double-backprop graph, "
            "fixed v; then the SGD step"
        ),
    ),
    "srr_exact": (
        "SRR-exact, 1 power step",
        (
            "SRR(derivative='exact', max_iter=1, skip_nonconverged=False): one warm-started "
            "power step per training step -- the same autograd work as the naive row"
        ),
    ),
    "srr_exact_default": (
        "SRR-exact, default solve",
        (
            "SRR(derivative='exact') defaults: power iteration from the stored vector until the "
            "paper's stopping rule (tol 1e-3, <= 100 matvecs), skip the penalty if unconverged"
        ),
    ),
    "srr_fd": (
        "SRR-fd, 1 power step",
        "SRR(derivative='fd', max_iter=1, skip_nonconverged=False): 3 plain gradients per step",
    ),
    "srr_fd_default": (
        "SRR-fd, default solve",
        "SRR(derivative='fd') defaults: as SRR-exact default, 2 gradients per matvec",
    ),
}


def _make_step(kind, model, x, y, device):
    """(step callable, optimizer with SRR counters or None) for the row ``kind`` of
    :data:`STEP_ROWS` on ``model`` and the batch ``(x, y)``."""
    params = list(model.parameters())

    def loss_fn():
        return F.cross_entropy(model(x), y)

    if kind == "sgd":
        opt = torch.optim.SGD(params, lr=1e-3, momentum=0.9)

        def step():
            opt.zero_grad()
            loss_fn().backward()
            opt.step()

        return step, None
    if kind == "sam":
        opt = torch.optim.SGD(params, lr=1e-3, momentum=0.9)
        return _sam_step(opt, params, loss_fn, radius=0.05), None
    if kind == "naive_exact":
        opt = torch.optim.SGD(params, lr=1e-3, momentum=0.9)
        n = sum(p.numel() for p in params)
        v = torch.full((n,), 1.0 / math.sqrt(n), device=device, dtype=params[0].dtype)

        def step():
            with warnings.catch_warnings():
                # the naive step is the reference cost, also where torch's fused BatchNorm
                # makes its third-order term wrong (resnet_bn): the warning is expected there
                warnings.simplefilter("ignore", RuntimeWarning)
                d = tc.fused_derivatives(loss_fn, params, v, method="exact")
            direction = d.grad + 1e-3 * d.third_order
            for p, di in zip(params, torch.split(direction, [p.numel() for p in params])):
                p.grad = di.view_as(p)
            opt.step()

        return step, None
    method = "exact" if kind.startswith("srr_exact") else "fd"
    report = inspect_modules(model)
    if method == "fd" and report.nonsmooth:
        # SRR refuses fd here (a ValueError at the first step): the loss is not C² along the step
        return None, {"refused": f"fd refused: non-smooth {', '.join(report.nonsmooth)}"}
    # the exact step through BatchNorm in training mode runs on composite_norms (torch's fused
    # layer has a wrong third derivative), switched on around each SRR step only
    composite = method == "exact" and bool(report.bad_third_order)
    budget = {} if kind.endswith("_default") else {"eig": EigConfig(max_iter=1), "skip_nonconverged": False}
    opt = SRR(
        params,
        torch.optim.SGD,
        srr=SRRConfig(mu=1e-3, derivative=method, **budget),
        lr=1e-3,
        momentum=0.9,
        model=model,
    )

    def closure():
        if method == "exact":
            return loss_fn()
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    def step():
        if composite:
            composite_norms(model)
            try:
                opt.step(closure)
            finally:
                composite_norms(model, enable=False)
        else:
            opt.step(closure)

    return step, opt


def _bench_steps(model, x, y, device, cfg):
    """Median time per step of each row of ``STEP_ROWS`` on one batch, and peak memory.

    CPU (``interleave``): the methods take turns, one step each per round, each on its own copy
    of the weights (swapped in and out of the model outside the timed region), so a change of
    machine load hits every method alike and the ratios stay meaningful on a shared machine;
    peak memory from a separate, untimed pass per method (:func:`_cpu_peak_mb`).
    CUDA: one block of steps per method (a dedicated card; peak memory is per block)."""
    init = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def fresh(kind):
        """(step callable, optimizer with SRR counters or None), starting from ``init``."""
        model.load_state_dict(init)
        return _make_step(kind, model, x, y, device)

    kinds = [k for k in STEP_ROWS if cfg["default_budget_rows"] or not k.endswith("_default")]
    interleave = device.type != "cuda" and not cfg["blocks"]
    out = {}
    refused = {}
    for k in list(kinds):
        step, info = fresh(k)
        if step is None:
            refused[k] = info["refused"]
            kinds.remove(k)
            print(f"[bench]   {k:18s} {info['refused']}", flush=True)
    if interleave:
        runners = {k: fresh(k) for k in kinds}
        weights = {k: {n: t.clone() for n, t in init.items()} for k in kinds}
        times = {k: [] for k in kinds}
        counts0 = {}
        for rnd in range(cfg["warmup"] + cfg["steps"]):
            if rnd == cfg["warmup"]:
                counts0 = {k: _srr_counts(runners[k][1]) for k in kinds}
            for k in kinds:
                model.load_state_dict(weights[k])
                t0 = time.perf_counter()
                runners[k][0]()
                dt = time.perf_counter() - t0
                if rnd >= cfg["warmup"]:
                    times[k].append(dt)
                weights[k] = {n: t.detach().clone() for n, t in model.state_dict().items()}
        for k in kinds:
            model.load_state_dict(init)
            peak = _cpu_peak_mb(k, model, x, y, device) if device.type == "cpu" else None
            out[k] = _step_record(times[k], peak, runners[k][1], counts0[k], cfg["steps"])
            print(f"[bench]   {k:18s} {out[k]['ms']:9.2f} ms", flush=True)
    else:
        for k in kinds:
            step, opt = fresh(k)
            times, peak, c0 = _time(step, device, cfg["warmup"], cfg["steps"], opt)
            if device.type == "cpu":
                model.load_state_dict(init)
                peak = _cpu_peak_mb(k, model, x, y, device)
            out[k] = _step_record(times, peak, opt, c0, cfg["steps"])
            print(f"[bench]   {k:18s} {out[k]['ms']:9.2f} ms", flush=True)
            del step, opt
    base = out["sgd"]
    for k, why in refused.items():
        out[k] = {"refused": why, "ms": None, "peak_mb": None}
    for rec in out.values():
        if rec.get("refused"):
            rec["x_sgd"] = rec["mem_x_sgd"] = None
            continue
        rec["x_sgd"] = rec["ms"] / base["ms"]
        rec["mem_x_sgd"] = (
            (rec["peak_mb"] / base["peak_mb"]) if (rec["peak_mb"] and base["peak_mb"]) else None
        )
    model.load_state_dict(init)
    return out


def _srr_counts(opt):
    return None if opt is None else (opt.counters.n_matvecs, opt.counters.n_grad_evals)


def _step_record(times, peak, opt, counts0, steps):
    rec = {
        "ms": 1e3 * statistics.median(times),
        "ms_min": 1e3 * min(times),
        "peak_mb": peak,
        "matvecs_per_step": None,
        "grads_per_step": None,
    }
    if opt is not None and counts0 is not None:
        mv, ng = _srr_counts(opt)
        rec["matvecs_per_step"] = (mv - counts0[0]) / steps
        rec["grads_per_step"] = (ng - counts0[1]) / steps
    return rec


def _sam_step(opt, params, loss_fn, *, radius):
    """SAM (Foret et al. 2021): gradient at w + r·g/‖g‖, applied at w (2 gradients)."""

    def step():
        opt.zero_grad()
        loss_fn().backward()
        with torch.no_grad():
            gnorm = torch.sqrt(sum((p.grad**2).sum() for p in params))
            shifts = [radius * p.grad / (gnorm + 1e-12) for p in params]
            for p, e in zip(params, shifts):
                p.add_(e)
        opt.zero_grad()
        loss_fn().backward()
        with torch.no_grad():
            for p, e in zip(params, shifts):
                p.sub_(e)
        opt.step()

    return step


def _time(step, device, warmup, steps, opt=None):
    for _ in range(warmup):
        step()
    _sync(device)
    c0 = _srr_counts(opt)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        _sync(device)
        times.append(time.perf_counter() - t0)
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return times, peak, c0


def _cpu_peak_mb(kind, model, x, y, device, *, steps=2):
    """Peak live CPU-allocator memory (MiB) of ``steps`` steps of the row ``kind``: the CPU
    counterpart of ``torch.cuda.max_memory_allocated`` on a fresh card.  Everything the method
    holds is allocated inside the measured call (:func:`srtheory.torch.memory.cpu_peak_bytes`):
    a deep copy of the model, a copy of the batch, the optimizer and its state, every step's
    graph and buffers.  ``None`` (with a warning) where this torch's profiler cannot tell."""
    import copy

    def run_steps():
        m = copy.deepcopy(model)
        step, _opt = _make_step(kind, m, x.clone(), y.clone(), device)
        for _ in range(steps):
            step()

    try:
        return cpu_peak_bytes(run_steps) / 2**20
    except RuntimeError as exc:
        warnings.warn(f"srtheory bench: CPU peak memory not measured ({exc})", stacklevel=2)
        return None


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)
