"""``srtheory verify``: run the claim checks of :mod:`srtheory.claims` and print observed vs bound.

One row per claim: the observed value, the comparison the claim asserts (``≤`` its bound, or ``∈``
an interval ``[lower, bound]``), whether it held, the time, and the claim's full statement.
Exit status 1 if any claim fails.  Imports numpy, scipy and autograd only (never torch).
"""

from __future__ import annotations

import sys
import time

__all__ = ["add_arguments", "format_table", "main"]


def add_arguments(parser) -> None:
    from srtheory.claims import CLAIMS

    parser.add_argument(
        "--claim",
        action="append",
        metavar="ID",
        choices=sorted(CLAIMS),
        help="check only this claim (repeatable); default: all",
    )
    parser.add_argument(
        "--deep", action="store_true", help="larger budget (more points, starts, trajectories)"
    )
    parser.add_argument("--detail", action="store_true", help="also print each check's detail")


def _comparison(r) -> tuple[str, str]:
    """(relation, bound) as the claim asserts them: ``≤ bound`` or ``∈ [lower, bound]``."""
    if r.lower is None:
        return "≤", f"{r.bound:.3g}"
    return "∈", f"[{r.lower:.3g}, {r.bound:.3g}]"


def format_table(results) -> str:
    """Plain-text table of :func:`srtheory.claims.verify`'s results: ID, observed, the asserted
    relation (≤ or ∈), bound, holds, time and the whole statement (never shortened)."""
    lines = [
        f"{'ID':<4} {'observed':>11} {'':^3} {'bound':<18} {'holds':>5} {'time':>7}  statement",
    ]
    for r in results:
        relation, bound = _comparison(r)
        lines.append(
            f"{r.id:<4} {r.observed:>11.3g} {relation:^3} {bound:<18} "
            f"{'yes' if r.holds else 'NO':>5} {r.seconds:>6.1f}s  {r.statement}"
        )
        if "error" in r.detail:
            lines.append(f"     error: {r.detail['error']}")
    return "\n".join(lines)


def main(args) -> int:
    """Run the checks, print the table; exit status 1 if any claim fails."""
    from srtheory.claims import verify

    budget = "deep" if args.deep else "quick"
    t0 = time.perf_counter()
    results = verify(
        args.claim, budget=budget, progress=lambda m: print(m, file=sys.stderr, flush=True)
    )
    print(format_table(results))
    if args.detail:
        for r in results:
            print(f"\n{r.id}:")
            for k, v in r.detail.items():
                print(f"  {k}: {v}")
    n_bad = sum(not r.holds for r in results)
    print(
        f"\n{len(results) - n_bad}/{len(results)} claims hold ({budget} budget, "
        f"{time.perf_counter() - t0:.1f} s); each row reads: observed ≤ bound, or observed ∈ "
        "[lower, bound]; proofs in proofs/, index proofs/README.md"
    )
    return 1 if n_bad else 0
