"""The ``srtheory`` command: ``srtheory <command> [options]``.

Every command is a module ``srtheory.commands.<command>`` listed in :data:`COMMANDS`, and every one
follows the same pattern:

* ``add_arguments(parser)`` adds its options; each option's ``type`` validates the value
  (:mod:`srtheory.commands._args`), so a bad value is one line and exit status 2;
* ``main(args) -> int`` runs it and returns the exit status; a combination of options that is
  wrong only together raises :class:`~srtheory.commands._args.UsageError` (one line, status 2).

A command's module is imported only when that command runs, so ``srtheory verify`` never imports
torch.  Library modules hold no argparse or printing code: the commands call them.
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module

from srtheory.commands._args import UsageError

# command -> one-line description; the code is srtheory.commands.<command>
COMMANDS = {
    "verify": "check every claim of proofs/ and print observed vs bound",
    "radius": "spectral radius of a built-in objective's Hessian vs the dense answer",
    "demo": "GD/SGD, SAM and SRR on a zoo objective and a tiny MLP",
    "experiments": "generalizability tests on bundled real data sets",
    "cnn": "base, SAM and SRR on a small CNN over MNIST-5k and UCI digits, paired over seeds",
    "bench": "torch benchmark: SRR step cost and eigen-solver speed",
    "conformance": "eigen-solvers and HVPs (srtheory's, the peers') against exact answers",
}


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad option is one line on stderr (no usage block) and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _usage() -> str:
    width = max(len(c) for c in COMMANDS)
    lines = ["usage: srtheory <command> [options]", "", "commands:"]
    lines += [f"  {name:<{width}}  {desc}" for name, desc in COMMANDS.items()]
    lines += ["", "srtheory <command> --help shows a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run ``srtheory`` with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        print(_usage(), file=sys.stderr)
        return 2
    if argv[0] in ("-h", "--help", "help"):
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
    module = import_module(f"srtheory.commands.{command}")
    parser = _Parser(prog=f"srtheory {command}", description=COMMANDS[command])
    module.add_arguments(parser)
    try:
        args = parser.parse_args(rest)
    except SystemExit as exc:  # --help (0) or a bad option (2, already printed)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return int(module.main(args) or 0)
    except UsageError as exc:
        print(f"srtheory {command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
