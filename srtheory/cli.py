"""The ``srtheory`` command.

``srtheory <command> [options]``; each command lives in its own module, which is imported only
when that command runs (so ``srtheory verify`` never imports torch).  A command module exposes
``configure(parser)`` to add its options and ``run(args) -> int`` returning the exit status.
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module

# command -> (module, one-line description)
COMMANDS = {
    "verify": ("srtheory.claims", "check every claim of proofs/ and print observed vs bound"),
    "radius": ("srtheory.radius_cmd", "spectral radius of a built-in objective's Hessian vs the dense answer"),
    "demo": ("srtheory.demo", "GD/SGD, SAM and SRR on a zoo objective and a tiny MLP"),
    "experiments": ("srtheory.experiments", "generalizability tests on bundled real data sets"),
    "bench": ("srtheory.torch.bench", "torch benchmark: SRR step cost and eigen-solver speed"),
}


def _usage() -> str:
    width = max(len(c) for c in COMMANDS)
    lines = ["usage: srtheory <command> [options]", "", "commands:"]
    lines += [f"  {name:<{width}}  {desc}" for name, (_, desc) in COMMANDS.items()]
    lines += ["", "srtheory <command> --help shows a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    if argv[0] in ("-V", "--version"):
        from srtheory import __version__

        print(f"srtheory {__version__}")
        return 0
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"srtheory: unknown command {command!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module_name, description = COMMANDS[command]
    module = import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"srtheory {command}", description=description)
    module.configure(parser)
    args = parser.parse_args(rest)
    return int(module.run(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
