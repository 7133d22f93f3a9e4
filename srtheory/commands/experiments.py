"""``srtheory experiments``: the generalizability tests of :mod:`srtheory.experiments` on
scikit-learn's bundled data.

Prints the Markdown report on stdout and writes it to ``--out FILE`` when given.  Without ``--out``
nothing is written: the command never writes into the installed package (the tracked
``srtheory/RESULTS.md`` is regenerated explicitly, with
:data:`srtheory.experiments.REGENERATE`).
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace

from srtheory.commands._args import UsageError, output_file, positive_int

__all__ = ["add_arguments", "main"]

def add_arguments(parser) -> None:
    from srtheory.experiments import IMAGE_DATASETS, TABULAR_DATASETS

    parser.add_argument("--quick", action="store_true", help="tiny run (seconds), as in the test suite")
    parser.add_argument("--out", type=output_file, default=None, metavar="FILE.md",
                        help="also write the Markdown report to this file (default: stdout only; "
                        "`--out srtheory/RESULTS.md` regenerates the tracked results)")
    parser.add_argument("--datasets", nargs="+", default=None, choices=IMAGE_DATASETS + TABULAR_DATASETS,
                        help="subset of the datasets")
    parser.add_argument("--seeds", type=positive_int, default=None, help="number of seeds (0, 1, ...)")
    parser.add_argument("--epochs", type=positive_int, default=None, help="training epochs per run")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def main(args) -> int:
    """Run the experiments, print the Markdown report and write it to ``--out`` if given."""
    try:
        import sklearn  # noqa: F401 -- the data sets ship with it
    except ImportError:
        raise UsageError("needs scikit-learn for its bundled data sets "
                         "(pip install 'srtheory[data]')") from None
    from srtheory.experiments import full_config, quick_config, render_markdown, run_experiments

    config = quick_config() if args.quick else full_config()
    if args.datasets:
        config = replace(config, datasets=tuple(args.datasets))
    if args.seeds is not None:
        config = replace(config, seeds=tuple(range(args.seeds)))
    if args.epochs is not None:
        config = replace(config, epochs=args.epochs)
    log = None if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    t0 = time.perf_counter()
    results = run_experiments(config, log=log)
    text = render_markdown(results, config, seconds=None if config.quick else time.perf_counter() - t0)
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)
        print(f"written to {args.out}", file=sys.stderr)
    return 0
