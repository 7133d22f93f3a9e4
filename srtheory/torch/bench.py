"""``srtheory bench``: cost of an SRR step and speed of the spectral radius, on torch models.

For each model (the ResNet-18-shaped GroupNorm CNN of PEERS.md and an MLP) on one random batch:

* time per optimizer step (median of ``--steps`` after ``--warmup``) for SGD, SAM (2 gradients),
  SRR-exact and SRR-fd (both with one warm-started power step per training step:
  ``eig_max_iter=1, skip_nonconverged=False``), and the naive exact step (one double-backprop
  graph for ∇L, Hv and ∇(vᵀHv), then the base step); ratios to the SGD step of the same run;
  peak memory per method (CUDA ``max_memory_allocated``; not measured on the CPU);
* time and matvec count for the spectral radius to relative error ``--target`` (1e-6), against a
  long Lanczos reference (full reorthogonalisation, tol 1e-12): Lanczos stopped by its
  Ritz-residual rule at tol 1e-3 and 1e-5 (the eigenvalue error is ~ residual²/gap), and the
  paper's power iteration (Algorithm 1, criteria "residual" and "paper", tol 1e-3);
  PyHessian and hessian-eigenthings on the same model and batch when they are importable (they
  are benchmark-only extras, never dependencies).

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

import torch
from torch.nn import functional as F

from srtheory.torch import curvature as tc
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
        "--steps", type=int, default=None, help="timed steps per method (default 10; quick 3)"
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


def run(args) -> int:
    q = args.quick
    cfg = dict(
        batch=args.batch or (8 if q else 128),
        width=args.width or (8 if q else 64),
        image=args.image or (12 if q else 32),
        steps=args.steps or (3 if q else 10),
        warmup=args.warmup if args.warmup is not None else (1 if q else 3),
        ref_steps=args.ref_steps or (60 if q else 80),
        target=args.target,
        power_iters=40 if q else 200,
        mlp_sizes=[3 * 12 * 12, 128, 128, 10] if q else [3 * 32 * 32, 1024, 1024, 10],
    )
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


def _bench_steps(model, x, y, device, cfg):
    init = {k: v.clone() for k, v in model.state_dict().items()}
    params = list(model.parameters())

    def loss_fn():
        return F.cross_entropy(model(x), y)

    def fresh(kind):
        model.load_state_dict(init)
        if kind == "sgd":
            opt = torch.optim.SGD(params, lr=1e-3, momentum=0.9)

            def step():
                opt.zero_grad()
                loss_fn().backward()
                opt.step()
        elif kind == "sam":
            opt = torch.optim.SGD(params, lr=1e-3, momentum=0.9)
            step = _sam_step(opt, params, loss_fn, radius=0.05)
        elif kind == "naive_exact":
            opt = torch.optim.SGD(params, lr=1e-3, momentum=0.9)
            n = sum(p.numel() for p in params)
            v = torch.full((n,), 1.0 / math.sqrt(n), device=device, dtype=params[0].dtype)

            def step():
                d = tc.fused_derivatives(loss_fn, params, v, method="exact")
                direction = d.grad + 1e-3 * d.third_order
                for p, di in zip(params, torch.split(direction, [p.numel() for p in params])):
                    p.grad = di.view_as(p)
                opt.step()
        else:
            method = "exact" if kind == "srr_exact" else "fd"
            opt = SRR(
                params,
                torch.optim.SGD,
                lr=1e-3,
                momentum=0.9,
                mu=1e-3,
                method=method,
                eig_max_iter=1,
                skip_nonconverged=False,
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
                opt.step(closure)

        return step

    out = {}
    for kind in ("sgd", "sam", "naive_exact", "srr_exact", "srr_fd"):
        step = fresh(kind)
        times, peak = _time(step, device, cfg["warmup"], cfg["steps"])
        out[kind] = {"ms": 1e3 * statistics.median(times), "peak_mb": peak}
        print(f"[bench]   {kind:12s} {out[kind]['ms']:9.2f} ms", flush=True)
    base = out["sgd"]
    for rec in out.values():
        rec["x_sgd"] = rec["ms"] / base["ms"]
        rec["mem_x_sgd"] = (
            (rec["peak_mb"] / base["peak_mb"]) if (rec["peak_mb"] and base["peak_mb"]) else None
        )
    model.load_state_dict(init)
    return out


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


def _time(step, device, warmup, steps):
    for _ in range(warmup):
        step()
    _sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        _sync(device)
        times.append(time.perf_counter() - t0)
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return times, peak


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
    out["pyhessian"] = _try_pyhessian(model, x, y, device, rho_ref)
    out["hessian_eigenthings"] = _try_eigenthings(model, x, y, device, rho_ref)
    return out


def _try_pyhessian(model, x, y, device, rho_ref):
    try:
        from pyhessian import hessian as _pyh  # noqa: PLC0415
    except ImportError:
        return {"note": "PyHessian not importable; skipped (pip install pyhessian to compare)"}
    try:
        t0 = time.perf_counter()
        h = _pyh(model, torch.nn.CrossEntropyLoss(), data=(x, y), cuda=device.type == "cuda")
        vals, _ = h.eigenvalues(maxIter=100, tol=1e-3)
        _sync(device)
        dt = time.perf_counter() - t0
        lam = float(vals[0])
        return {"s": dt, "rel_error": abs(abs(lam) - rho_ref) / rho_ref, "eigenvalue": lam}
    except Exception as exc:  # a foreign library: record what went wrong, keep benchmarking
        return {"note": f"PyHessian failed: {type(exc).__name__}: {exc}"}


def _try_eigenthings(model, x, y, device, rho_ref):
    try:
        import hessian_eigenthings  # noqa: F401, PLC0415
    except ImportError:
        return {"note": "hessian-eigenthings not importable; skipped (install it to compare)"}
    try:
        from hessian_eigenthings import compute_hessian_eigenthings  # noqa: PLC0415

        t0 = time.perf_counter()
        vals, _ = compute_hessian_eigenthings(
            model,
            [(x, y)],
            torch.nn.CrossEntropyLoss(),
            1,
            mode="power_iter",
            use_gpu=device.type == "cuda",
        )
        _sync(device)
        dt = time.perf_counter() - t0
        return {"s": dt, "rel_error": abs(abs(float(vals[0])) - rho_ref) / rho_ref}
    except Exception as exc:  # a foreign library: record what went wrong, keep benchmarking
        return {"note": f"hessian-eigenthings failed: {type(exc).__name__}: {exc}"}


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
        "memory_note": None if device.type == "cuda" else "peak memory is measured on CUDA only",
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


def _markdown(results):
    m = results["meta"]
    lines = [
        f"Measured {m['date_utc']} on {m['machine']}, torch {m['torch']}, {m['dtype']} "
        f"(`{m['command']}`).",
        "",
    ]
    names = {
        "sgd": "SGD",
        "sam": "SAM",
        "naive_exact": "naive exact (one graph)",
        "srr_exact": "SRR-exact",
        "srr_fd": "SRR-fd",
    }
    for model, entry in results["models"].items():
        lines += [
            f"**{model}** ({entry['n_params'] / 1e6:.3f} M parameters)",
            "",
            "| step | ms | × SGD | peak MB | mem × SGD |",
            "|---|---|---|---|---|",
        ]
        for kind, rec in entry["steps"].items():
            pk = "n/a (CPU)" if rec["peak_mb"] is None else f"{rec['peak_mb']:.0f}"
            mx = "n/a" if rec["mem_x_sgd"] is None else f"{rec['mem_x_sgd']:.2f}"
            lines.append(f"| {names[kind]} | {rec['ms']:.1f} | {rec['x_sgd']:.2f} | {pk} | {mx} |")
        sr = entry["spectral_radius"]
        lines += [
            "",
            f"Spectral radius (reference ρ = {sr['reference']['rho']:.6g}, "
            f"{sr['reference']['n_matvecs']} matvecs, reference residual/ρ = "
            f"{sr['reference']['residual_rel']:.1e}; fastest Lanczos to rel. error "
            f"{results['meta']['config']['target']:g}: {sr['fastest_to_target']}):",
            "",
            "| method | s | matvecs | rel. error | converged |",
            "|---|---|---|---|---|",
        ]
        for name in [k for k in sr if k.startswith(("lanczos", "power"))]:
            r = sr[name]
            lines.append(
                f"| {name} | {r['s']:.3f} | {r['n_matvecs']} | {r['rel_error']:.1e} "
                f"| {r['converged']} |"
            )
        for name in ("pyhessian", "hessian_eigenthings"):
            r = sr[name]
            if "note" in r:
                lines.append(f"| {name} | – | – | – | {r['note']} |")
            else:
                lines.append(f"| {name} | {r['s']:.3f} | – | {r['rel_error']:.1e} | – |")
        lines.append("")
    return "\n".join(lines)
