"""Claim C06 -- minibatch bias of rho (Jensen), quantified by the minibatch covariance.

Proof: ``proofs/C06_minibatch_bias.md``; test: ``tests/claims/test_C06_minibatch_bias.py``.
"""

from __future__ import annotations

import itertools
import math
import time

import numpy as np

from srtheory.claims._core import Claim, _budget, _choice, _claim, _eigh, _rng
from srtheory.testing import tolerance

__all__ = ["check_C06"]


def check_C06(*, budget="quick", rng=None, functional="rho", sampling="uniform", z=3.09) -> Claim:
    """Claim C06 (proofs/C06_minibatch_bias.md) on the zoo's ``mlp_tanh_regression`` at ``x0``.

    Per-sample Hessians ``H_i`` (dense oracle), ``H = mean H_i``; uniform batches without
    replacement of size ``b``.  For each ``b``: ``L(b) ≤ E ρ(H_B) − ρ(H) ≤ U(b)`` with
    ``U(b) = √((N−b)/((N−1)b) · σ²)``, ``σ² = mean ‖H_i − H‖_F²`` and ``L(b)`` the (pathwise
    smaller) 2×2 Rayleigh-Ritz lower bound, and the gap is non-increasing in ``b``.
    ``E`` is exact (enumeration) for ``b ≤ 2`` and Monte Carlo otherwise, judged at ``z``
    standard errors (``z = 3.09``: one-sided false-alarm probability 1e-3 per comparison).
    Observed / bound: the gap at ``b = 2`` vs ``[L(2), U(2)]``.  Negative control:
    ``functional="lambda_min"`` (concave, not convex: the inequality reverses).  ``sampling=
    "biased"`` (batches only from the quarter of the samples with smallest ``ρ(H_i)``, so
    ``E H_B ≠ H``) voids the claim's proof; on this objective the gap stays positive anyway
    (single-sample Hessians are far spikier than their mean), so it is a diagnostic, not a control.
    """
    from itertools import combinations

    from srtheory import objectives, oracle

    t0 = time.perf_counter()
    deep = _budget(budget)
    rng = _rng(rng, 606)
    _choice(functional, "functional", ("rho", "lambda_min"))
    _choice(sampling, "sampling", ("uniform", "biased"))
    obj = objectives.get("mlp_tanh_regression")
    x = np.array(obj.x0)
    N = obj.n_samples
    Hi = np.array([oracle.hessian(lambda z, i=i: obj.loss(z, np.array([i])), x) for i in range(N)])
    H = Hi.mean(axis=0)

    def fn(M):
        ev = np.linalg.eigvalsh(M)
        return np.max(np.abs(ev), axis=-1) if functional == "rho" else ev[..., 0]

    lamH, QH = _eigh(H)
    top = int(np.argmax(np.abs(lamH)))
    q1, sgn = QH[:, top], np.sign(lamH[top])
    pool = np.arange(N)
    if sampling == "biased":
        pool = np.argsort(fn(Hi))[: N // 4]
    sigma2 = float(np.mean(np.sum((Hi - H) ** 2, axis=(1, 2))))
    sizes = (1, 2, 4, 8, 16) if deep else (1, 2, 4, 8)
    M = 20000 if deep else 4000
    rows, ok = [], True
    for b in sizes:
        if b <= 2:
            batches = np.array(list(combinations(pool, b)))
        else:
            batches = np.array([rng.choice(pool, size=b, replace=False) for _ in range(M)])
        HB = Hi[batches].mean(axis=1)
        vals = fn(HB)
        gap = float(vals.mean() - fn(H))
        se = 0.0 if b <= 2 else float(vals.std(ddof=1) / math.sqrt(len(vals)))
        U = math.sqrt((N - b) / ((N - 1) * b) * sigma2)
        # 2x2 Rayleigh-Ritz on span{q1, p}, p = normalised (I - q1 q1^T) E q1: lambda of the
        # compression (in the dominant sign's direction) <= rho(H_B) pathwise (interlacing)
        E = HB - H
        Eq = E @ q1
        P = Eq - np.outer(Eq @ q1, q1)
        pn = np.linalg.norm(P, axis=1, keepdims=True)
        P = np.where(pn > 0, P / np.maximum(pn, 1e-300), 0.0)
        a11 = q1 @ H @ q1 + Eq @ q1
        a12 = np.einsum("bi,bi->b", P, Eq)
        a22 = np.einsum("bi,bij,bj->b", P, HB, P)
        mid, rad = 0.5 * (a11 + a22), np.sqrt(0.25 * (a11 - a22) ** 2 + a12**2)
        comp = mid + rad if sgn > 0 else -(mid - rad)
        L = float(comp.mean() - abs(lamH[top])) if functional == "rho" else -math.inf
        rows.append({"b": int(b), "gap": gap, "se": se, "lower": L, "upper": U})
        ok = ok and gap >= -z * se - tolerance(factor=100) and gap <= U + z * se
        if functional == "rho" and sampling == "uniform":
            ok = ok and L <= gap + z * se + tolerance(factor=100)
    for r0, r1 in itertools.pairwise(rows):
        ok = ok and r1["gap"] <= r0["gap"] + z * (r0["se"] + r1["se"]) + tolerance(factor=100)
    detail = {
        "N": N,
        "sigma2_frobenius": sigma2,
        "rows": tuple(rows),
        "functional": functional,
        "sampling": sampling,
        "z": z,
    }
    r2 = rows[1]
    lower = r2["lower"] if (functional == "rho" and sampling == "uniform") else 0.0
    return _claim("C06", r2["gap"], r2["upper"], ok, detail, t0, lower=lower)
