"""``srtheory bench``: the torch benchmark of :mod:`srtheory.torch.bench` (SRR step cost and
spectral-radius speed, and the default eigen-solves' matvecs against scipy's ``eigsh`` from
:mod:`srtheory.torch.bench.eigsh`); prints the Markdown tables and writes ``bench.json`` and
``bench.md`` to ``--out``.  Needs torch (imported only when the command runs)."""

from __future__ import annotations

import json
import os
import sys

from srtheory.commands._args import (
    UsageError,
    nonnegative_int,
    output_dir,
    positive_float,
    positive_int,
)

__all__ = ["add_arguments", "main"]


def add_arguments(parser) -> None:
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
    parser.add_argument(
        "--batch", type=positive_int, default=None, help="batch size (default 128; quick 8)"
    )
    parser.add_argument(
        "--width", type=positive_int, default=None, help="ResNet width (default 64; quick 8)"
    )
    parser.add_argument(
        "--image", type=positive_int, default=None, help="image side (default 32; quick 12)"
    )
    parser.add_argument(
        "--steps", type=positive_int, default=None,
        help="timed steps per method (default 10; quick 5)",
    )
    parser.add_argument(
        "--warmup", type=nonnegative_int, default=None,
        help="untimed steps first (default 3; quick 1)",
    )
    parser.add_argument(
        "--target", type=positive_float, default=1e-6,
        help="relative error for the spectral radius",
    )
    parser.add_argument(
        "--ref-steps",
        type=positive_int,
        default=None,
        help="Lanczos steps of the reference (80; quick 60); timed Lanczos runs get half",
    )
    parser.add_argument(
        "--out", type=output_dir, default="bench_results",
        help="directory for bench.json and bench.md",
    )
    parser.add_argument("--seed", type=nonnegative_int, default=0)
    parser.add_argument(
        "--peer-iters",
        type=positive_int,
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


def _device(torch, name: str):
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise UsageError(f"--device: {exc}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"--device {name}: CUDA is not available here")
    return device


def main(args) -> int:
    try:
        import torch
    except ImportError:
        raise UsageError("needs torch (pip install 'srtheory[torch]')") from None
    from srtheory.torch.bench import MODELS, bench_config, markdown, run_benchmark

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODELS]
    if unknown or not models:
        raise UsageError(f"--models: unknown model {', '.join(unknown) or '(none)'} "
                         f"(expected a comma list of {', '.join(MODELS)})")
    device = _device(torch, args.device)
    q = args.quick
    cfg = bench_config(
        quick=q, batch=args.batch, width=args.width, image=args.image, steps=args.steps,
        warmup=args.warmup, target=args.target, ref_steps=args.ref_steps,
        peer_iters=args.peer_iters, default_solve=args.default_solve, blocks=args.blocks,
        radius=not args.no_radius,
    )
    dtype = getattr(torch, args.dtype or ("float64" if q else "float32"))
    command = "srtheory bench " + " ".join(
        sys.argv[2:] if sys.argv[1:2] == ["bench"] else sys.argv[1:]
    )
    results = run_benchmark(models, cfg, device=device, dtype=dtype, seed=args.seed,
                            command=command, log=lambda m: print(m, flush=True))
    md = markdown(results)
    if not args.no_radius:
        from srtheory.torch.bench.eigsh import eigsh_comparison, eigsh_markdown

        print("[bench] default eigen-solves vs scipy eigsh (k=1) on small models, CPU", flush=True)
        results["eigsh"] = eigsh_comparison(args.seed)
        md += ("\n\n## Default eigen-solves against scipy's eigsh (k=1), matvecs on the same "
               "operators\n\n" + eigsh_markdown(results["eigsh"]))
    print(md)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "bench.json"), "w") as fh:
        json.dump(results, fh, indent=2)
    with open(os.path.join(args.out, "bench.md"), "w") as fh:
        fh.write(md + "\n")
    print(f"[bench] wrote {os.path.join(args.out, 'bench.json')} and bench.md")
    return 0
