"""``srtheory cnn``: base, SAM and SRR on a small CNN over MNIST-5k and the UCI digits, many seeds
(:mod:`srtheory.torch.cnn_experiments`).

Prints the Markdown report on stdout.  ``--out FILE.md`` also writes it, with two figures in
``--figures DIR`` (default: ``results/`` beside FILE.md): ``cnn_shift.png`` (accuracy against
shift size per method) and ``cnn_rho.png`` (ρ over training).  Without ``--out`` and ``--figures``
nothing is written.  The tracked ``srtheory/RESULTS_CNN.md`` is regenerated with
:data:`srtheory.torch.cnn_experiments.REGENERATE`.
"""

from __future__ import annotations

import os
import platform
import shlex
import sys
import time
from dataclasses import replace

from srtheory.commands._args import UsageError, output_dir, output_file, positive_int

__all__ = ["add_arguments", "main"]


def add_arguments(parser) -> None:
    parser.add_argument("--quick", action="store_true", help="tiny run (well under a minute), as in the test suite")
    parser.add_argument("--out", type=output_file, default=None, metavar="FILE.md",
                        help="also write the Markdown report here, figures in results/ beside it")
    parser.add_argument("--figures", type=output_dir, default=None, metavar="DIR",
                        help="folder for cnn_shift.png and cnn_rho.png (default: results/ beside --out)")
    parser.add_argument("--datasets", nargs="+", default=None, choices=("mnist", "digits"),
                        help="subset of the digit sets")
    parser.add_argument("--seeds", type=positive_int, default=None, help="number of seeds (0, 1, ...)")
    parser.add_argument("--epochs", type=positive_int, default=None, help="training epochs per run")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def main(args) -> int:
    """Run the experiments, print the report, write it and the figures where asked."""
    for module, extra in (("torch", "torch"), ("sklearn", "data"), ("mlxtend", "data")):
        try:
            __import__(module)
        except ImportError:
            raise UsageError(f"needs {module} (pip install 'srtheory[{extra}]')") from None
    import numpy as np
    import torch

    from srtheory.torch.cnn_experiments import (
        full_config,
        quick_config,
        render_cnn_markdown,
        run_cnn_experiments,
    )

    config = quick_config() if args.quick else full_config()
    if args.datasets:
        config = replace(config, datasets=tuple(dict.fromkeys(args.datasets)))
    if args.seeds is not None:
        config = replace(config, seeds=tuple(range(args.seeds)),
                         trace_seeds=tuple(s for s in config.trace_seeds if s < args.seeds))
    if args.epochs is not None:
        config = replace(config, epochs=args.epochs)
    figures_dir = args.figures
    if figures_dir is None and args.out:
        figures_dir = os.path.join(os.path.dirname(os.path.abspath(args.out)), "results")
    log = None if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1") or 1))
    t0 = time.perf_counter()
    results = run_cnn_experiments(config, log=log)
    seconds = time.perf_counter() - t0
    figures = None
    if figures_dir:
        os.makedirs(figures_dir, exist_ok=True)
        paths = _plot(results, config, figures_dir)
        base = os.path.dirname(os.path.abspath(args.out)) if args.out else os.getcwd()
        figures = {caption: os.path.relpath(p, base).replace(os.sep, "/") for caption, p in paths.items()}
    command = "OMP_NUM_THREADS=1 python -m srtheory cnn " + " ".join(shlex.quote(a) for a in sys.argv[2:]) \
        if sys.argv[1:2] == ["cnn"] else "OMP_NUM_THREADS=1 python -m srtheory cnn" + (" --quick" if args.quick else "")
    env = (f"Machine: {_cpu_model()}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()} "
           f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}); Python {platform.python_version()}, "
           f"torch {torch.__version__}, NumPy {np.__version__}; wall time {seconds:.0f} s "
           f"({seconds / 60:.1f} min); {time.strftime('%Y-%m-%d', time.gmtime())}.")
    text = render_cnn_markdown(results, config, command=command.strip(), environment=env, figures=figures)
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)
        print(f"written to {args.out}", file=sys.stderr)
    return 0


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _plot(results: dict, config, folder: str) -> dict:
    """Write cnn_shift.png and cnn_rho.png into ``folder``; returns ``{caption: path}``."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("figures need matplotlib (pip install 'srtheory[plot]')") from None
    import numpy as np

    from srtheory.torch.cnn_experiments import binned_curve

    style = {"base": ("tab:gray", "o"), "SAM": ("tab:blue", "s"), "SRR": ("tab:red", "^")}

    def look(lab):
        color, marker = style[lab.split(" ")[0]]
        return {"color": color, "marker": marker, "linestyle": "-" if "ReLU" in lab else "--",
                "label": lab, "markersize": 4}

    names = list(results)
    fig, axes = plt.subplots(len(names), 2, figsize=(11, 3.8 * len(names)), squeeze=False)
    for row, name in enumerate(names):
        res = results[name]
        ax = axes[row][0]
        for lab, (size, acc) in res["shift"].items():
            x, y = binned_curve(size, acc, bins=config.shift_bins)
            ax.plot(x, y, **look(lab))
        ax.set_xlabel("perturbation size P (importance-weighted covariate shift)")
        ax.set_ylabel("IW accuracy (mean per bin)")
        ax.set_title(f"{res['title']}: accuracy against covariate shift size")
        ax = axes[row][1]
        steps = ("test", "aug mild", "aug strong")
        for lab, sc in res["scores"].items():
            means = [np.mean(sc[s]) for s in steps]
            sds = [np.std(sc[s], ddof=1) if len(sc[s]) > 1 else 0.0 for s in steps]
            ax.errorbar(range(3), means, yerr=sds, capsize=3, **look(lab))
        ax.set_xticks(range(3), ["none", "mild (±15°)", "strong (±30°)"])
        ax.set_xlabel("augmentation strength of the test set")
        ax.set_ylabel("accuracy (mean ± sd over seeds)")
        ax.set_title(f"{res['title']}: accuracy against augmentation")
    axes[0][0].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    shift_path = os.path.join(folder, "cnn_shift.png")
    fig.savefig(shift_path, dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, len(names), figsize=(5.5 * len(names), 3.8), squeeze=False)
    for col, name in enumerate(names):
        res, ax = results[name], axes[0][col]
        for lab, traces in res["traces"].items():
            if traces:
                t = np.asarray(traces, dtype=float)
                ax.plot(np.arange(1, t.shape[1] + 1), t.mean(axis=0), **look(lab))
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"ρ on {config.trace_points} training points")
        ax.set_title(f"{res['title']}: ρ over training (mean of {len(config.trace_seeds)} seeds)")
    axes[0][0].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    rho_path = os.path.join(folder, "cnn_rho.png")
    fig.savefig(rho_path, dpi=110)
    plt.close(fig)
    return {"accuracy against shift size": shift_path, "rho over training": rho_path}
