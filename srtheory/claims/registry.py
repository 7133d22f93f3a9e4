"""The claim registry ``CLAIMS`` and :func:`verify`, which runs the checks (the ``srtheory verify``
command, :mod:`srtheory.commands.verify`, prints what it returns)."""

from __future__ import annotations

import math
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
from srtheory.claims.c09_nonsmooth_convergence import check_C09
from srtheory.claims.c10_gap_free_radius import check_C10

__all__ = ["CLAIMS", "verify"]


_CHECKS = {
    "C01": check_C01,
    "C02": check_C02,
    "C03": check_C03,
    "C04": check_C04,
    "C05": check_C05,
    "C06": check_C06,
    "C07": check_C07,
    "C08": check_C08,
    "C09": check_C09,
    "C10": check_C10,
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
