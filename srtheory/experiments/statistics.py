"""Paired comparisons over seeds: is a method's score different from the base model's?

The experiments train every method once per seed from the same initial weights and the same batch
order, so seed ``s`` gives a *pair* (method score, base score).  :func:`paired_comparison` takes the
per-seed differences ``d_s = method_s - base_s``, their mean and sample sd, and the Student-t
interval ``mean +- t_{(1+c)/2, n-1} sd / sqrt(n)``; the verdict says "better" or "worse" only when
the interval excludes 0, and "no detectable difference" when it covers 0.  With every difference
equal the sd is 0 and the interval is the point itself (a constant shift is decided; identical
scores give "no detectable difference").
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats

__all__ = ["NO_DIFFERENCE", "PairedComparison", "paired_comparison"]

#: the verdict when the interval covers zero
NO_DIFFERENCE = "no detectable difference"


class PairedComparison(NamedTuple):
    """Per-seed differences ``method - base`` and what they support.

    ``verdict`` is ``"better"``, ``"worse"`` (the interval excludes 0; which is which depends on
    ``higher_is_better``), :data:`NO_DIFFERENCE`, or ``"too few seeds"`` (n < 2: no interval)."""

    differences: np.ndarray
    mean: float
    sd: float
    ci_low: float
    ci_high: float
    confidence: float
    verdict: str

    @property
    def n(self) -> int:
        return int(self.differences.size)


def paired_comparison(method, base, /, *, confidence: float = 0.95, higher_is_better: bool = True) -> PairedComparison:
    """Compare per-seed scores of a method with the base model's (module docstring).

    ``method[s]`` and ``base[s]`` must come from the same seed ``s``.  For a score where lower is
    better (ρ, an error rate) pass ``higher_is_better=False``; the differences are still
    ``method - base``, only the verdict's wording turns.
    """
    a = np.asarray(method, dtype=float)
    b = np.asarray(base, dtype=float)
    if a.ndim != 1 or a.shape != b.shape or a.size == 0:
        raise ValueError(f"method and base must be non-empty 1-D arrays of equal length, got {a.shape} and {b.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("scores must be finite")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    d = a - b
    mean = float(d.mean())
    if d.size < 2:
        return PairedComparison(d, mean, float("nan"), float("nan"), float("nan"), confidence, "too few seeds")
    sd = float(d.std(ddof=1))
    half = float(stats.t.ppf(0.5 * (1 + confidence), d.size - 1)) * sd / np.sqrt(d.size)
    lo, hi = mean - half, mean + half
    if lo <= 0.0 <= hi:
        verdict = NO_DIFFERENCE
    elif (lo > 0) == higher_is_better:
        verdict = "better"
    else:
        verdict = "worse"
    return PairedComparison(d, mean, sd, lo, hi, confidence, verdict)
