"""The claim registry ``CLAIMS`` and the ``srtheory verify`` command (``verify``,
``format_table``, ``configure``, ``run``)."""

from __future__ import annotations

import argparse
import math
import sys
import time
from types import MappingProxyType

from srtheory.claims._core import (
    _ASSUMPTIONS,
    _PROOFS,
    _STATEMENTS,
    _TESTS,
    Claim,
    ClaimSpec,
    _budget,
)
from srtheory.claims.c01_eigenvalue_gradient import check_C01
from srtheory.claims.c02_power_iteration import check_C02
from srtheory.claims.c03_lanczos import check_C03
from srtheory.claims.c04_warm_start import check_C04
from srtheory.claims.c05_finite_differences import check_C05
from srtheory.claims.c06_minibatch_bias import check_C06
from srtheory.claims.c07_descent import check_C07
from srtheory.claims.c08_as_convergence import check_C08

__all__ = ["CLAIMS", "configure", "format_table", "run", "verify"]


_CHECKS = {
    "C01": check_C01,
    "C02": check_C02,
    "C03": check_C03,
    "C04": check_C04,
    "C05": check_C05,
    "C06": check_C06,
    "C07": check_C07,
    "C08": check_C08,
}


CLAIMS: dict[str, ClaimSpec] = {
    cid: ClaimSpec(
        cid,
        _STATEMENTS[cid],
        _ASSUMPTIONS[cid],
        f"proofs/{_PROOFS[cid]}",
        f"tests/claims/{_TESTS[cid]}",
        _CHECKS[cid],
    )
    for cid in sorted(_CHECKS)
}


def verify(ids=None, /, *, budget="quick", progress=None) -> list[Claim]:
    """Run the checks of ``ids`` (default: all, in order) at ``budget``; a check that raises is a
    failed claim (its error in ``detail``).  ``progress(msg)`` receives one line per claim."""
    _budget(budget)
    ids = list(CLAIMS) if ids is None else list(ids)
    out = []
    for cid in ids:
        if cid not in CLAIMS:
            raise ValueError(f"unknown claim {cid!r}; expected one of {sorted(CLAIMS)}")
        if progress:
            progress(f"[{cid}] running ({budget}) ...")
        t0 = time.perf_counter()
        try:
            res = CLAIMS[cid].check(budget=budget)
        except Exception as exc:  # noqa: BLE001 -- reported as a failed claim, never swallowed
            res = Claim(
                cid,
                _STATEMENTS[cid],
                math.nan,
                math.nan,
                False,
                MappingProxyType({"error": f"{type(exc).__name__}: {exc}"}),
                time.perf_counter() - t0,
            )
        out.append(res)
        if progress:
            progress(f"[{cid}] {'holds' if res.holds else 'FAILS'} in {res.seconds:.1f} s")
    return out


def format_table(results: list[Claim], /, *, width: int = 70) -> str:
    """Plain-text table: ID, statement, observed, bound, holds, time."""
    lines = [
        f"{'ID':<4} {'statement':<{width}} {'observed':>11} {'bound':>23} {'holds':>5} {'time':>7}"
    ]
    for r in results:
        st = r.statement if len(r.statement) <= width else r.statement[: width - 1] + "…"
        bound = f"{r.bound:.3g}" if r.lower is None else f"[{r.lower:.3g}, {r.bound:.3g}]"
        lines.append(
            f"{r.id:<4} {st:<{width}} {r.observed:>11.3g} {bound:>23} "
            f"{'yes' if r.holds else 'NO':>5} {r.seconds:>6.1f}s"
        )
        if "error" in r.detail:
            lines.append(f"     error: {r.detail['error']}")
    return "\n".join(lines)


def configure(parser: argparse.ArgumentParser) -> None:
    """Options of ``srtheory verify``."""
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


def run(args) -> int:
    """``srtheory verify``: run the checks, print the table; exit status 1 if any claim fails."""
    budget = "deep" if args.deep else "quick"
    t0 = time.perf_counter()
    results = verify(
        args.claim, budget=budget, progress=lambda m: print(m, file=sys.stderr, flush=True)
    )
    print(format_table(results))
    if getattr(args, "detail", False):
        for r in results:
            print(f"\n{r.id}:")
            for k, v in r.detail.items():
                print(f"  {k}: {v}")
    n_bad = sum(not r.holds for r in results)
    print(
        f"\n{len(results) - n_bad}/{len(results)} claims hold ({budget} budget, "
        f"{time.perf_counter() - t0:.1f} s); proofs in proofs/, index proofs/README.md"
    )
    return 1 if n_bad else 0
