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

Layout of the package:

* this module -- the command: :func:`configure` (its options) and :func:`run` (the
  configuration, the models and batches, writing ``bench.json`` and ``bench.md``);
* :mod:`.steps` -- the step rows: :data:`STEP_ROWS`, their timing and peak memory;
* :mod:`.radius` -- the spectral radius with srtheory's own solvers against the Lanczos
  reference, and the summary against the peers;
* :mod:`.peers` -- PyHessian and hessian-eigenthings, counted, traced and isolated;
* :mod:`.report` -- run metadata and the Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import torch

from srtheory.torch.bench.peers import _try_eigenthings as _try_eigenthings
from srtheory.torch.bench.peers import _try_pyhessian as _try_pyhessian
from srtheory.torch.bench.radius import _bench_radius
from srtheory.torch.bench.report import _markdown, _meta
from srtheory.torch.bench.steps import STEP_ROWS as STEP_ROWS
from srtheory.torch.bench.steps import _bench_steps
from srtheory.torch.bench.steps import _cpu_peak_mb as _cpu_peak_mb
from srtheory.torch.bench.steps import _make_step as _make_step
from srtheory.torch.models import mlp_gelu, resnet18_gn

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
