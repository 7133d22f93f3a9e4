"""``srtheory conformance``: the conformance suite of :mod:`srtheory.testing` against srtheory's own
eigen-solvers and HVPs and, when installed, PyHessian's, hessian-eigenthings' and curvlinops' (with
scipy's ``eigsh``), through the thin adapters of :mod:`srtheory.testing.peers`.

Prints a Markdown document (machine, versions, date, the command; a summary per solver and dtype;
pass/fail per problem with matvecs and wall time; the full tables) and, with ``--out FILE``, writes
it there.  Exit status 1 if one of srtheory's certified paths fails (``spectral_radius``,
``lanczos``, double-backprop HVP); a peer's failure is a finding, not an error.
"""

from __future__ import annotations

import datetime
import sys
import time

__all__ = ["add_arguments", "main", "render"]

#: adapters that must pass every problem (srtheory's certified paths)
MUST_PASS = ("srtheory spectral_radius", "srtheory lanczos", "srtheory.torch.hvp('double_backward')")


def add_arguments(parser) -> None:
    from srtheory.commands._args import output_file, positive_float, positive_int

    parser.add_argument("--out", type=output_file, metavar="FILE",
                        help="also write the Markdown document to FILE (default: stdout only)")
    parser.add_argument("--n", type=positive_int, default=40,
                        help="size of the catalogue's operators (default 40, at least 6)")
    parser.add_argument("--rtol", type=positive_float, default=None,
                        help="eigenvalue / HVP allowance (default sqrt(eps) of each dtype)")
    parser.add_argument("--float64-only", action="store_true", help="skip the float32 runs")


def main(args) -> int:
    from srtheory.commands._args import UsageError

    if args.n < 6:
        raise UsageError(f"--n must be at least 6 (the catalogue plants up to 5 values), got {args.n}")
    t0 = time.perf_counter()
    runs = run_all(n=args.n, rtol=args.rtol, float32=not args.float64_only,
                   progress=lambda m: print(m, file=sys.stderr, flush=True))
    text = render(runs, command=_command_line(args), seconds=time.perf_counter() - t0)
    print(text, end="")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)
        print(f"\nwritten to {args.out}", file=sys.stderr)
    bad = [r for r in runs if r["name"] in MUST_PASS and r["report"] is not None
           and not r["report"].passed]
    return 1 if bad else 0


def _command_line(args) -> str:
    parts = ["srtheory conformance"]
    if args.n != 40:
        parts.append(f"--n {args.n}")
    if args.rtol is not None:
        parts.append(f"--rtol {args.rtol:g}")
    if args.float64_only:
        parts.append("--float64-only")
    if args.out:
        parts.append(f"--out {args.out}")
    return " ".join(parts)


def run_all(*, n=40, rtol=None, float32=True, progress=None) -> list[dict]:
    """Every adapter on every dtype: a list of ``{"name", "check", "dtype", "report", "skipped"}``."""
    import numpy as np

    from srtheory.testing import check_eigensolver, check_hvp, eigen_problems
    from srtheory.testing.peers import eigensolver_adapters, hvp_adapters

    try:
        import torch
    except ImportError:  # pragma: no cover - torch is an optional extra
        torch = None
    dtypes = [("float64", np.float64), ("float32", np.float32)][: 2 if float32 else 1]
    runs = []
    for a in eigensolver_adapters():
        for label, npd in dtypes:
            rec = {"name": a.name, "check": "eigensolver", "dtype": label, "report": None,
                   "skipped": a.skipped}
            if not a.skipped:
                dt = npd if a.library == "numpy" else getattr(torch, label)
                if progress:
                    progress(f"eigensolver {a.name} ({label})")
                rec["report"] = check_eigensolver(a.fn, eigen_problems(n=n, dtype=npd), rtol=rtol,
                                                  dtype=dt, name=a.name)
            runs.append(rec)
    if torch is not None:
        from srtheory.torch.testing import hvp_problems

        problems = {label: hvp_problems(dtype=getattr(torch, label)) for label, _ in dtypes}
    for a in hvp_adapters():
        for label, _ in dtypes:
            rec = {"name": a.name, "check": "hvp", "dtype": label, "report": None,
                   "skipped": a.skipped}
            if not a.skipped:
                if progress:
                    progress(f"hvp {a.name} ({label})")
                rec["report"] = check_hvp(a.fn, problems[label], rtol=rtol, name=a.name)
            runs.append(rec)
    return runs


def render(runs, *, command: str, seconds: float) -> str:
    """The Markdown document of :func:`run_all`'s runs."""
    from srtheory.testing import machine_description
    from srtheory.testing.peers import peer_versions

    versions = ", ".join(f"{k} {v or 'not installed'}" for k, v in peer_versions().items())
    import scipy

    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        "# Conformance of eigen-solvers and Hessian-vector products",
        "",
        f"Generated by `{command}` on {today} in {seconds:.0f} s.  ",
        f"Machine: {machine_description()}, SciPy {scipy.__version__}.  ",
        f"Peers: {versions}.",
        "",
        "Each solver is called as its documentation shows, with its defaults unless the name says",
        "otherwise (adapters: `srtheory/testing/peers.py`), on the catalogue of",
        "`srtheory.testing.eigen_problems` (n = operator size) rounded to the dtype; HVPs on the",
        "models of `srtheory.torch.testing.hvp_problems` against their dense float64 Hessians.",
        "The checks and their allowances are those of `srtheory.testing.check_eigensolver` /",
        "`check_hvp`: eigenvalue within rtol·ρ of the answer (either sign at an exact tie),",
        "recomputed residual within sqrt(rtol)·ρ, a reported residual that matches the recomputed",
        "one; rtol = sqrt(eps) of the dtype unless the command says otherwise.",
        "",
    ]
    for check, title in (("eigensolver", "Eigen-solvers (ρ of a symmetric operator)"),
                         ("hvp", "Hessian-vector products (torch models)")):
        sel = [r for r in runs if r["check"] == check]
        if not sel:
            continue
        calls = "matvecs" if check == "eigensolver" else "calls"
        out += [f"## {title}", "", f"| solver | dtype | passed | failed problems | {calls} | seconds |",
                "|---|---|---|---|---|---|"]
        for r in sel:
            rep = r["report"]
            if rep is None:
                out.append(f"| {r['name']} | {r['dtype']} | skipped: {r['skipped']} | | | |")
                continue
            failed = ", ".join(c.problem for c in rep.failures) or "–"
            ok = sum(c.passed for c in rep.cases)
            out.append(
                f"| {r['name']} | {r['dtype']} | {ok}/{len(rep.cases)} | {failed} | "
                f"{sum(c.n_matvecs for c in rep.cases)} | {sum(c.seconds for c in rep.cases):.2f} |"
            )
        done = [r for r in sel if r["report"] is not None]
        if done:
            names = [c.problem for c in done[0]["report"].cases]
            out += ["", f"Per problem: ✓ or ✗, the relative error, and the {calls} used.", "",
                    "| solver | dtype | " + " | ".join(names) + " |",
                    "|---|---|" + "---|" * len(names)]
            for r in done:
                cells = [
                    f"{'✓' if c.passed else '✗'} {c.error:.0e} ({c.n_matvecs})" for c in r["report"].cases
                ]
                out.append(f"| {r['name']} | {r['dtype']} | " + " | ".join(cells) + " |")
        out.append("")
    silent = [(r, c) for r in runs if r["check"] == "eigensolver" and r["report"] is not None
              for c in r["report"].failures if c.converged]
    if silent:
        out += ["## Wrong answers reported as converged", "",
                "Failed cases in which the solver's own flag said `converged=True` (solvers without a",
                "flag, such as PyHessian's and eigsh's, never say either way).  srtheory's",
                "`power_iteration` under the paper's rule documents that its flag only means one of",
                "the paper's three tests fired; it is listed to show what that rule certifies.", "",
                "| solver | dtype | problem | returned | reason |", "|---|---|---|---|---|"]
        out += [f"| {r['name']} | {r['dtype']} | {c.problem} | {c.value:+.6g} | {c.reason} |"
                for r, c in silent]
        out.append("")
    out += ["## Full tables", "", "The reason column says what failed; `flag` is the solver's own",
            "converged flag where it reports one.", ""]
    for r in runs:
        if r["report"] is not None:
            out += [f"### {r['name']}, {r['dtype']}", "", r["report"].table(), ""]
    return "\n".join(out).rstrip() + "\n"
