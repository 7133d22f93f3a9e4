"""``srtheory bench``: cost of an SRR step and speed of the spectral radius, on torch models.

For each model (the ResNet-18-shaped GroupNorm CNN of PEERS.md and an MLP) on one random batch:

* time per optimizer step (median of ``--steps`` after ``--warmup``) of every row of
  :data:`STEP_ROWS`: SGD, SAM (2 gradients), the naive exact step (one double-backprop graph for
  ∇L, Hv and ∇(vᵀHv), then the base step), SRR-exact and SRR-fd with one warm-started power step
  per training step (``eig_max_iter=1, skip_nonconverged=False``: the configuration comparable
  to the naive step), and with ``--default-solve`` SRR with its default eigen-solver budget;
  matvecs and gradients per step from the optimizer's counters; ratios to the SGD step of the
  same run; peak memory per method (CUDA ``max_memory_allocated``; on the CPU the peak of live
  bytes of torch's allocator, from an untimed profiling pass, :func:`_cpu_peak_mb`).
  On the CPU the methods take turns step by step (a load change on a shared machine hits all
  alike); on CUDA (or with ``--blocks``) each method runs one block of steps;
* time and matvec count for the spectral radius to relative error ``--target`` (1e-6), against a
  long Lanczos reference (full reorthogonalisation, tol 1e-12): Lanczos stopped by its
  Ritz-residual rule at tol 1e-3 and 1e-5 (the eigenvalue error is ~ residual²/gap), and the
  paper's power iteration (Algorithm 1, criteria "residual" and "paper", tol 1e-3); PyHessian
  0.1 and hessian-eigenthings 1.0.0a5 on the same model, batch and loss when they are importable
  (benchmark-only extras, never dependencies; skipped with a note otherwise): each with its
  default settings (what it returns, its own flag, its error) and to the target (the
  hessian-eigenthings Lanczos with more steps; the power iterations with an oracle stop).

Prints a Markdown table and writes ``bench.json`` and ``bench.md`` to ``--out``.  ``--quick``
shrinks everything so a CPU run takes well under a minute.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import statistics
import sys
import time
import warnings

import torch
from torch.nn import functional as F

from srtheory.torch import curvature as tc
from srtheory.torch._util import cpu_peak_bytes
from srtheory.torch.models import mlp_gelu, resnet18_gn
from srtheory.torch.optim import SRR
from srtheory.torch.spectral import lanczos, power_iteration

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="reduced CPU size (< 1 minute)")
    parser.add_argument(
        "--device", default="auto", help="auto (cuda if present), cpu, cuda, cuda:1, ..."
    )
    parser.add_argument(
        "--dtype",
        default=None,
        choices=["float32", "float64"],
        help="default float32; float64 with --quick (so a 1e-6 error is resolvable)",
    )
    parser.add_argument("--models", default="resnet,mlp", help="comma list of: resnet, mlp")
    parser.add_argument("--batch", type=int, default=None, help="batch size (default 128; quick 8)")
    parser.add_argument(
        "--width", type=int, default=None, help="ResNet width (default 64; quick 8)"
    )
    parser.add_argument("--image", type=int, default=None, help="image side (default 32; quick 12)")
    parser.add_argument(
        "--steps", type=int, default=None, help="timed steps per method (default 10; quick 5)"
    )
    parser.add_argument(
        "--warmup", type=int, default=None, help="untimed steps first (default 3; quick 1)"
    )
    parser.add_argument(
        "--target", type=float, default=1e-6, help="relative error for the spectral radius"
    )
    parser.add_argument(
        "--ref-steps",
        type=int,
        default=None,
        help="Lanczos steps of the reference (80; quick 60); timed Lanczos runs get half",
    )
    parser.add_argument(
        "--out", default="bench_results", help="directory for bench.json and bench.md"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--peer-iters",
        type=int,
        default=None,
        help="iteration cap of the peers' oracle runs (default 200; quick 100)",
    )
    parser.add_argument(
        "--blocks",
        action="store_true",
        help="time one block of steps per method (always so on CUDA; the CPU default "
        "interleaves the methods step by step)",
    )
    parser.add_argument(
        "--no-radius",
        action="store_true",
        help="step rows only (skip the spectral-radius comparison, e.g. for a full-size CPU run)",
    )
    parser.add_argument(
        "--default-solve",
        action="store_true",
        help="also time SRR with its default eigen-solver budget (up to 100 matvecs per step)",
    )


def run(args) -> int:
    q = args.quick
    cfg = {
        "batch": args.batch or (8 if q else 128),
        "width": args.width or (8 if q else 64),
        "image": args.image or (12 if q else 32),
        "steps": args.steps or (5 if q else 10),
        "warmup": args.warmup if args.warmup is not None else (1 if q else 3),
        "ref_steps": args.ref_steps or (60 if q else 80),
        "target": args.target,
        "power_iters": 40 if q else 200,
        "peer_iters": args.peer_iters or (100 if q else 200),
        "default_budget_rows": args.default_solve,
        "blocks": args.blocks,
        "radius": not args.no_radius,
        "mlp_sizes": [3 * 12 * 12, 128, 128, 10] if q else [3 * 32 * 32, 1024, 1024, 10],
    }
    if args.image is not None:
        cfg["mlp_sizes"][0] = 3 * args.image * args.image
    device = torch.device(
        "cuda"
        if (args.device == "auto" and torch.cuda.is_available())
        else ("cpu" if args.device == "auto" else args.device)
    )
    args.dtype = args.dtype or ("float64" if q else "float32")
    dtype = getattr(torch, args.dtype)
    meta = _meta(device, args, cfg)
    results = {"meta": meta, "models": {}}
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        if name not in ("resnet", "mlp"):
            print(f"srtheory bench: unknown model {name!r} (expected resnet, mlp)", file=sys.stderr)
            return 2
        torch.manual_seed(args.seed)
        if name == "resnet":
            model = resnet18_gn(width=cfg["width"])
            x = torch.randn(cfg["batch"], 3, cfg["image"], cfg["image"])
        else:
            model = mlp_gelu(cfg["mlp_sizes"])
            x = torch.randn(cfg["batch"], cfg["mlp_sizes"][0])
        y = torch.randint(0, 10, (cfg["batch"],))
        model, x, y = (
            model.to(device=device, dtype=dtype),
            x.to(device=device, dtype=dtype),
            y.to(device),
        )
        n_params = sum(p.numel() for p in model.parameters())
        print(
            f"[bench] {name}: {n_params / 1e6:.3f} M parameters, batch {cfg['batch']}, "
            f"{device}, {args.dtype}",
            flush=True,
        )
        entry = {"n_params": n_params, "steps": _bench_steps(model, x, y, device, cfg)}
        if not args.no_radius:
            entry["spectral_radius"] = _bench_radius(model, x, y, device, cfg)
        results["models"][name] = entry
    md = _markdown(results)
    print(md)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "bench.json"), "w") as fh:
        json.dump(results, fh, indent=2)
    with open(os.path.join(args.out, "bench.md"), "w") as fh:
        fh.write(md + "\n")
    print(f"[bench] wrote {os.path.join(args.out, 'bench.json')} and bench.md")
    return 0


# ----------------------------------------------------------------------------- step timings


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
            "SRR(method='exact', eig_max_iter=1, skip_nonconverged=False): one warm-started "
            "power step per training step -- the same autograd work as the naive row"
        ),
    ),
    "srr_exact_default": (
        "SRR-exact, default solve",
        (
            "SRR(method='exact') defaults: power iteration from the stored vector until the "
            "paper's stopping rule (tol 1e-3, <= 100 matvecs), skip the penalty if unconverged"
        ),
    ),
    "srr_fd": (
        "SRR-fd, 1 power step",
        "SRR(method='fd', eig_max_iter=1, skip_nonconverged=False): 3 plain gradients per step",
    ),
    "srr_fd_default": (
        "SRR-fd, default solve",
        "SRR(method='fd') defaults: as SRR-exact default, 2 gradients per matvec",
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
            d = tc.fused_derivatives(loss_fn, params, v, method="exact")
            direction = d.grad + 1e-3 * d.third_order
            for p, di in zip(params, torch.split(direction, [p.numel() for p in params])):
                p.grad = di.view_as(p)
            opt.step()

        return step, None
    method = "exact" if kind.startswith("srr_exact") else "fd"
    budget = {} if kind.endswith("_default") else {"eig_max_iter": 1, "skip_nonconverged": False}
    opt = SRR(
        params,
        torch.optim.SGD,
        lr=1e-3,
        momentum=0.9,
        mu=1e-3,
        method=method,
        model=model,
        **budget,
    )

    def closure():
        if method == "exact":
            return loss_fn()
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    def step():
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
    for rec in out.values():
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
    holds is allocated inside the measured call (:func:`srtheory.torch._util.cpu_peak_bytes`):
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


# ----------------------------------------------------------------------------- spectral radius


def _bench_radius(model, x, y, device, cfg):
    params = list(model.parameters())
    n = sum(p.numel() for p in params)

    def loss_fn():
        return F.cross_entropy(model(x), y)

    gen = torch.Generator().manual_seed(1)
    v0 = torch.randn(n, generator=gen, dtype=torch.float64).to(device=device, dtype=params[0].dtype)
    ref = lanczos(
        tc.hvp_operator(loss_fn, params), v0, tol=1e-12, max_iter=cfg["ref_steps"], which="LM"
    )
    rho_ref = ref.rho
    out = {
        "reference": {
            "rho": rho_ref,
            "n_matvecs": ref.n_matvecs,
            "residual_rel": ref.residual / rho_ref,
            "method": f"Lanczos, full reorthogonalisation, tol 1e-12, <= {cfg['ref_steps']} steps",
        }
    }
    runs = {}
    # Lanczos stopped by its Ritz-residual rule at several tolerances; the eigenvalue error is
    # about residual²/gap, so a loose residual tolerance can already give a 1e-6 eigenvalue.
    for tol in (1e-3, 1e-5):
        # capped at half the reference's steps, so a timed run is never the reference itself
        runs[f"lanczos_tol{tol:g}"] = lambda mv, tol=tol: lanczos(
            mv, v0, tol=tol, max_iter=max(cfg["ref_steps"] // 2, 1), which="LM"
        )
    runs["power_residual"] = lambda mv: power_iteration(
        mv, v0, tol=1e-3, max_iter=cfg["power_iters"], criteria="residual"
    )
    runs["power_paper"] = lambda mv: power_iteration(
        mv, v0, tol=1e-3, max_iter=cfg["power_iters"], criteria="paper"
    )
    for name, solve in runs.items():
        _sync(device)
        t0 = time.perf_counter()
        res = solve(tc.hvp_operator(loss_fn, params))  # includes building the gradient graph
        _sync(device)
        dt = time.perf_counter() - t0
        err = abs(res.rho - rho_ref) / rho_ref
        out[name] = {
            "s": dt,
            "n_matvecs": res.n_matvecs,
            "rel_error": err,
            "converged": res.converged,
            "reached_target": err <= cfg["target"],
        }
        print(
            f"[bench]   rho {name:18s} {dt:8.3f} s  {res.n_matvecs:4d} matvecs  rel.err {err:.1e}",
            flush=True,
        )
    hit = [k for k in runs if k.startswith("lanczos") and out[k]["reached_target"]]
    out["fastest_to_target"] = min(hit, key=lambda k: out[k]["s"]) if hit else None
    out["pyhessian"] = _try_pyhessian(model, x, y, device, rho_ref, cfg)
    out["hessian_eigenthings"] = _try_eigenthings(model, x, y, device, rho_ref, cfg)
    out["summary"] = _radius_summary(out, cfg["target"])
    return out


def _radius_summary(out, target):
    """The issue's comparison: srtheory's fastest run to the target vs the peers' power iteration
    (with the error their settings left) -- None where a side is missing."""
    best = out["fastest_to_target"]
    if best is None:
        return None
    rows = {
        "hessian-eigenthings power_iteration_one, defaults": out["hessian_eigenthings"].get(
            "power_default"
        ),
        "hessian-eigenthings power_iteration_one, oracle stop at the target": out[
            "hessian_eigenthings"
        ].get("power_oracle"),
        "PyHessian eigenvalues(), defaults": out["pyhessian"].get("default"),
    }
    summary = {"srtheory": best, "srtheory_s": out[best]["s"], "vs": {}}
    for label, rec in rows.items():
        if rec and rec.get("s"):
            summary["vs"][label] = {
                "time_ratio": out[best]["s"] / rec["s"],
                "peer_s": rec["s"],
                "peer_rel_error": rec["rel_error"],
                "peer_reached_target": rec["rel_error"] <= target,
            }
    return summary


# ----------------------------------------------------------------------------- peers
#
# PyHessian 0.1 and hessian-eigenthings 1.0.0a5, called as their documentation shows, on the same
# model, batch and loss.  They are benchmark-only extras: when one is not importable its entry is
# a note and the benchmark goes on.  Every matvec they make goes through a counting wrapper that
# also records (time since the start, the eigenvalue estimate the method would return if it
# stopped there), so a run with its stopping rule switched off also yields the *oracle* time to
# the target: the first iteration whose estimate is within the target of the reference -- the
# best case for the peer, since its own rule cannot know when that happens.


class _Trace:
    """Counts matvecs; records (seconds since t0, estimate) after each one."""

    def __init__(self, device):
        self.device, self.t0, self.points = device, None, []

    def start(self):
        _sync(self.device)
        self.t0 = time.perf_counter()
        self.points = []

    def record(self, estimate):
        _sync(self.device)
        self.points.append((time.perf_counter() - self.t0, float(estimate)))

    def elapsed(self):
        _sync(self.device)
        return time.perf_counter() - self.t0

    def first_hit(self, rho_ref, target):
        for i, (t, est) in enumerate(self.points):
            if abs(abs(est) - rho_ref) <= target * rho_ref:
                return {"s": t, "n_matvecs": i + 1, "rel_error": abs(abs(est) - rho_ref) / rho_ref}
        return None


def _peer_record(trace, lam, rho_ref, *, converged, settings):
    return {
        "settings": settings,
        "s": trace.elapsed(),
        "n_matvecs": len(trace.points),
        "eigenvalue": float(lam),
        "rel_error": abs(abs(float(lam)) - rho_ref) / rho_ref,
        "converged": converged,
    }


def _oracle_record(trace, rho_ref, target, *, settings):
    hit = trace.first_hit(rho_ref, target)
    if hit is None:
        last = trace.points[-1][1] if trace.points else float("nan")
        return {
            "settings": settings,
            "s": None,
            "n_matvecs": None,
            "rel_error": abs(abs(last) - rho_ref) / rho_ref,
            "converged": None,
            "note": f"not reached in {len(trace.points)} matvecs "
            f"({trace.elapsed():.3f} s); error then shown",
        }
    return {"settings": settings, **hit, "converged": None, "note": "oracle stop"}


class _Isolated:
    """Run a foreign library without side effects on the benchmark: torch's global RNG (forked,
    seeded), default dtype (set to the model's: PyHessian draws its start vector with the
    default dtype), train/eval mode (PyHessian calls ``model.eval()``), ``param.grad`` (PyHessian
    leaves a graph there) and warnings (both emit some under ``filterwarnings=error``)."""

    def __init__(self, model, dtype, device, seed=0):
        self.model, self.dtype, self.device, self.seed = model, dtype, device, seed

    def __enter__(self):
        self._rng = torch.random.fork_rng(
            devices=[self.device.index or 0] if self.device.type == "cuda" else []
        )
        self._rng.__enter__()
        torch.manual_seed(self.seed)
        self._dtype = torch.get_default_dtype()
        torch.set_default_dtype(self.dtype)
        self._training = self.model.training
        self._warn = warnings.catch_warnings()
        self._warn.__enter__()
        warnings.simplefilter("ignore")
        return self

    def __exit__(self, *exc):
        for p in self.model.parameters():
            p.grad = None
        self.model.train(self._training)
        torch.set_default_dtype(self._dtype)
        self._warn.__exit__(*exc)
        self._rng.__exit__(*exc)
        return False


def _try_pyhessian(model, x, y, device, rho_ref, cfg):
    try:
        import pyhessian  # noqa: F401
    except ImportError:
        return {"note": "PyHessian not importable; skipped (pip install --no-deps PyHessian)"}
    try:
        return _run_pyhessian(model, x, y, device, rho_ref, cfg)
    except Exception as exc:  # noqa: BLE001 -- a foreign library: note it, keep going
        return {"note": f"PyHessian failed: {type(exc).__name__}: {exc}"}


def _run_pyhessian(model, x, y, device, rho_ref, cfg):
    from pyhessian import hessian as pyh_hessian

    mod = sys.modules["pyhessian.hessian"]  # the class shadows the submodule in the package
    orig_hvp = mod.hessian_vector_product
    trace = _Trace(device)

    def counted_hvp(grads, params, v):
        hv = orig_hvp(grads, params, v)
        trace.record(sum(torch.sum(h * vi) for h, vi in zip(hv, v)))  # its tmp_eigenvalue
        return hv

    out = {}
    runs = (
        ("default", 100, 1e-3, "hessian(...).eigenvalues(maxIter=100, tol=1e-3), its defaults"),
        (
            "oracle",
            cfg["peer_iters"],
            1e-300,
            (
                f"eigenvalues(maxIter={cfg['peer_iters']}, tol=1e-300), stopped at the first "
                "iterate within the target"
            ),
        ),
    )
    mod.hessian_vector_product = counted_hvp
    try:
        for name, max_iter, tol, settings in runs:
            with _Isolated(model, x.dtype, device):
                trace.start()  # the timing includes building the gradient graph, as for ours
                h = pyh_hessian(
                    model, torch.nn.CrossEntropyLoss(), data=(x, y), cuda=device.type == "cuda"
                )
                vals, _ = h.eigenvalues(maxIter=max_iter, tol=tol)
                if name == "default":
                    # it has no converged flag; record whether its rule fired before maxIter
                    out[name] = _peer_record(
                        trace, vals[0], rho_ref, converged=None, settings=settings
                    )
                    fired = len(trace.points) < max_iter
                    out[name]["stopped_by_rule"] = fired
                    out[name]["note"] = (
                        "no flag (its rule fired)" if fired else "no flag (maxIter reached)"
                    )
                else:
                    out[name] = _oracle_record(trace, rho_ref, cfg["target"], settings=settings)
                del h
    finally:
        mod.hessian_vector_product = orig_hvp
    return out


def _try_eigenthings(model, x, y, device, rho_ref, cfg):
    try:
        import hessian_eigenthings  # noqa: F401
    except ImportError:
        return {
            "note": "hessian-eigenthings not importable; skipped "
            "(pip install --no-deps hessian-eigenthings)"
        }
    try:
        return _run_eigenthings(model, x, y, device, rho_ref, cfg)
    except Exception as exc:  # noqa: BLE001 -- a foreign library: note it, keep going
        return {"note": f"hessian-eigenthings failed: {type(exc).__name__}: {exc}"}


def _run_eigenthings(model, x, y, device, rho_ref, cfg):
    import hessian_eigenthings as he

    trace = _Trace(device)

    def operator():
        # its default HVP ("autograd"): every matvec rebuilds the loss and its gradient graph
        op = he.HessianOperator(model, [(x, y)], he.supervised_loss(F.cross_entropy))
        inner = op.matvec

        def matvec(v):
            av = inner(v)
            trace.record(torch.dot(v, av) / torch.dot(v, v))
            return av

        op.matvec = matvec
        return op

    out = {}
    with _Isolated(model, x.dtype, device):
        trace.start()
        lam, _, _, _, conv = he.power_iteration_one(operator(), seed=0)
        out["power_default"] = _peer_record(
            trace,
            lam,
            rho_ref,
            converged=bool(conv),
            settings="power_iteration_one(op, seed=0), defaults max_iter=100, tol=1e-4",
        )
        if (
            out["power_default"]["rel_error"] <= cfg["target"]
            or len(trace.points) >= cfg["peer_iters"]
        ):
            out["power_oracle"] = _oracle_record(
                trace, rho_ref, cfg["target"], settings="the default run above, oracle stop"
            )
        else:
            trace.start()
            he.power_iteration_one(operator(), seed=0, tol=1e-300, max_iter=cfg["peer_iters"])
            out["power_oracle"] = _oracle_record(
                trace,
                rho_ref,
                cfg["target"],
                settings=f"power_iteration_one(op, seed=0, max_iter={cfg['peer_iters']}, "
                "tol=1e-300), oracle stop",
            )
    with _Isolated(model, x.dtype, device):
        trace.start()
        res = he.lanczos(operator(), k=1, seed=0)
        out["lanczos_default"] = _peer_record(
            trace,
            res.eigenvalues[0],
            rho_ref,
            converged=bool(res.converged[0]),
            settings="lanczos(op, k=1, seed=0), defaults: max_iter=2k=2, tol=1e-4",
        )
    n = sum(p.numel() for p in model.parameters())
    for steps in (5, 10, 20, 40):  # its own Ritz value after a fixed number of steps
        if steps > n - 1:
            break
        with _Isolated(model, x.dtype, device):
            trace.start()
            res = he.lanczos(operator(), k=1, seed=0, max_iter=steps)
            rec = _peer_record(
                trace,
                res.eigenvalues[0],
                rho_ref,
                converged=bool(res.converged[0]),
                settings=f"lanczos(op, k=1, seed=0, max_iter={steps}): first of max_iter in "
                "(5, 10, 20, 40) reaching the target",
            )
        out["lanczos_to_target"] = rec
        if rec["rel_error"] <= cfg["target"]:
            break
    return out


# ----------------------------------------------------------------------------- reporting


def _meta(device, args, cfg):
    if device.type == "cuda":
        machine = torch.cuda.get_device_name(device)
    else:
        machine = (
            f"CPU: {_cpu_name()}, {os.cpu_count()} logical cores, "
            f"torch threads {torch.get_num_threads()}"
        )
    return {
        "date_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine,
        "platform": platform.platform(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": str(device),
        "dtype": args.dtype,
        "command": "srtheory bench "
        + " ".join(sys.argv[2:] if sys.argv[1:2] == ["bench"] else sys.argv[1:]),
        "config": cfg,
        "memory_note": (
            "torch.cuda.max_memory_allocated over the timed block"
            if device.type == "cuda"
            else "live bytes of torch's CPU allocator (profiler, memory on), separate untimed pass"
        ),
    }


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


_OWN_RADIUS = {
    "lanczos_tol0.001": "srtheory lanczos(tol=1e-3), Ritz-residual stop",
    "lanczos_tol1e-05": "srtheory lanczos(tol=1e-5), Ritz-residual stop",
    "power_residual": "srtheory power_iteration(tol=1e-3, criteria='residual')",
    "power_paper": "srtheory power_iteration(tol=1e-3, criteria='paper') (Algorithm 1)",
}
_PEER_RADIUS = {
    "pyhessian": (("default", "PyHessian, defaults"), ("oracle", "PyHessian, to target")),
    "hessian_eigenthings": (
        ("power_default", "eigenthings power, defaults"),
        ("power_oracle", "eigenthings power, to target"),
        ("lanczos_default", "eigenthings Lanczos, defaults"),
        ("lanczos_to_target", "eigenthings Lanczos, more steps"),
    ),
}


def _fmt(x, spec, none="–"):
    return none if x is None else format(x, spec)


def _markdown(results):
    m = results["meta"]
    target = m["config"]["target"]
    lines = [
        (
            f"Measured {m['date_utc']} on {m['machine']}, torch {m['torch']}, {m['dtype']} "
            f"(`{m['command']}`)."
        ),
        "",
        "Step rows (ratios to the SGD step of the same run; "
        + (
            "methods interleaved one step at a time"
            if m["device"].startswith("cpu") and not m["config"]["blocks"]
            else "one block of steps per method"
        )
        + "):",
        "",
    ]
    present = {k for entry in results["models"].values() for k in entry["steps"]}
    for kind, (label, what) in STEP_ROWS.items():
        if kind in present:
            lines.append(f"* **{label}**: {what}")
    lines += ["", f"Peak memory: {m['memory_note']}.", ""]
    for model, entry in results["models"].items():
        lines += [
            f"**{model}** ({entry['n_params'] / 1e6:.3f} M parameters)",
            "",
            (
                "| step | ms (median) | × SGD | ms (min) | matvecs / step | gradients / step "
                "| peak MB | mem × SGD |"
            ),
            "|---|---|---|---|---|---|---|---|",
        ]
        for kind, rec in entry["steps"].items():
            pk = "n/a" if rec["peak_mb"] is None else f"{rec['peak_mb']:.1f}"
            mx = "n/a" if rec["mem_x_sgd"] is None else f"{rec['mem_x_sgd']:.2f}"
            lines.append(
                f"| {STEP_ROWS[kind][0]} | {rec['ms']:.1f} | {rec['x_sgd']:.2f} "
                f"| {rec.get('ms_min', rec['ms']):.1f} | {_fmt(rec.get('matvecs_per_step'), '.1f')} "
                f"| {_fmt(rec.get('grads_per_step'), '.1f')} | {pk} | {mx} |"
            )
        sr = entry.get("spectral_radius")
        if sr is None:
            lines.append("")
            continue
        lines += [
            "",
            (
                f"Spectral radius (reference ρ = {sr['reference']['rho']:.8g}: "
                f"{sr['reference']['method']}, {sr['reference']['n_matvecs']} matvecs, "
                f"residual/ρ = {sr['reference']['residual_rel']:.1e}; target relative error "
                f"{target:g}; fastest srtheory Lanczos to the target: "
                f"{sr['fastest_to_target']}):"
            ),
            "",
            "| method | settings | s | matvecs | rel. error | converged flag |",
            "|---|---|---|---|---|---|",
        ]
        for name, what in _OWN_RADIUS.items():
            if name in sr:
                r = sr[name]
                lines.append(
                    f"| {name} | {what} | {r['s']:.3f} | {r['n_matvecs']} "
                    f"| {r['rel_error']:.1e} | {r['converged']} |"
                )
        for peer, rows in _PEER_RADIUS.items():
            r = sr[peer]
            if "note" in r:
                lines.append(f"| {peer} | – | – | – | – | {r['note']} |")
                continue
            for key, label in rows:
                if key not in r:
                    continue
                q = r[key]
                flag = q.get("note") if q.get("converged") is None else q["converged"]
                lines.append(
                    f"| {label} | {q['settings']} | {_fmt(q['s'], '.3f')} "
                    f"| {_fmt(q['n_matvecs'], 'd')} | {q['rel_error']:.1e} | {flag} |"
                )
        lines.append("")
        summ = sr.get("summary")
        if summ and summ["vs"]:
            for label, r in summ["vs"].items():
                lines.append(
                    f"* srtheory {summ['srtheory']} ({summ['srtheory_s']:.3f} s, within the "
                    f"target) / {label} ({r['peer_s']:.3f} s, rel. error "
                    f"{r['peer_rel_error']:.1e}): **{r['time_ratio']:.2f}×** the time"
                )
            lines.append("")
    if not m["config"].get("radius", True):
        return "\n".join(lines)
    lines.append(
        'Peers\' "to target" power rows are oracle stops (the first iterate within the target, '
        "which their own rule cannot detect): a lower bound on their time to the target. "
        "hessian-eigenthings' default HVP rebuilds the loss and gradient graph at every matvec; "
        "PyHessian and srtheory build it once per solve (included in every time)."
    )
    return "\n".join(lines)
