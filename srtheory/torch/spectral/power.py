"""Algorithm 1 (and 1b) of SRR_NOTES §6 on torch tensors: :func:`power_iteration`.

Mirror of :mod:`srtheory.spectral.power`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from srtheory.torch.spectral._common import (
    _check_out,
    _nonneg,
    _norm,
    _positive,
    _result,
    _setup,
)
from srtheory.torch.spectral.result import EigResult

__all__ = ["power_iteration"]


def power_iteration(
    matvec,
    v0,
    /,
    *,
    tol: float = 1e-3,
    max_iter: int = 1000,
    alpha=None,
    precond: Callable | None = None,
    criteria: str = "paper",
    cap_at_n: bool = False,
) -> EigResult:
    """Warm-started power iteration: Algorithm 1 of SRR_NOTES §6 (as the reference's
    :func:`srtheory.spectral.power_iteration`).

    v ← v0/‖v0‖, λ_old = 0, r_old = 0 (step 1); for i = 0, 1, …: w = A v (2.1); λ = wᵀv (2.2);
    if λ < 0: λ ← −λ, v ← −v (2.3); r = w − λv (2.4); stop (2.6) if ‖r‖ < tol or
    min(‖r − r_old‖, ‖r + r_old‖)/‖r_old‖ < tol or |λ − λ_old|/λ_old < tol (``criteria="paper"``)
    or ‖r‖ ≤ tol·λ (``criteria="residual"``); with a callable α reject a step whose residual grew
    (2.7); update v ← w/‖w‖ or v ← normalize(v + α_i P(r)) (2.8, Algorithm 1b).  Returns the last
    evaluated (accepted) pair, ``eigval`` signed, ``residual = ‖r‖`` exact.  ``converged`` means a
    stopping test fired (under "paper" it does not certify accuracy; ``residual`` does).
    """
    mv, v, tol, max_iter = _setup(matvec, v0, tol, max_iter)
    if criteria not in ("paper", "residual"):
        raise ValueError(f"criteria must be 'paper' or 'residual', got {criteria!r}")
    if alpha is None and precond is not None:
        alpha = 1.0
    if alpha is not None and not callable(alpha):
        alpha = _positive(alpha, "alpha")
    if precond is not None and not callable(precond):
        raise ValueError(
            f"precond must be a callable r -> P(r) or None, got {type(precond).__name__}"
        )
    n = v.numel()
    if cap_at_n:
        max_iter = min(max_iter, n)

    v = v / torch.linalg.vector_norm(v)  # step 1
    lam_old, r_old, rn_old = 0.0, None, 0.0  # r_old = 0 is never read while ‖r_old‖ = 0
    v_acc = None
    best = None
    for i in range(max_iter):
        w = mv(v)  # 2.1
        lam = float(torch.dot(w, v))  # 2.2
        if lam < 0:  # 2.3: sign flip
            lam, v = -lam, -v
            eigval = -lam
        else:
            eigval = lam
        r = torch.sub(w, v, alpha=lam)  # 2.4 (r = w − λv without a λv temporary)
        rn = _norm(r)
        pair = (v, eigval, rn)
        if criteria == "residual":  # 2.5-2.6
            stop = rn <= tol * lam
        else:
            stop = rn < tol
            if not stop and rn_old > 0.0:
                change = min(_norm(r - r_old), _norm(r + r_old))
                stop = change / rn_old < tol
            if not stop and lam_old > 0.0:
                stop = abs(lam - lam_old) / lam_old < tol
        if stop:
            return _result(pair, n_mv=i + 1, converged=True, n_iter=i + 1)
        if callable(alpha) and v_acc is not None and rn > rn_old:  # 2.7
            v_base, r_base = v_acc, r_old
        else:
            v_base, r_base = v, r
            v_acc, best = v, pair
            lam_old, r_old, rn_old = lam, r, rn  # 2.9
        if i == max_iter - 1:
            break  # the result is the last evaluated pair: a final update would be discarded
        if alpha is None:  # 2.8
            step = w
        else:
            a_i = _nonneg(alpha(i), f"alpha({i})") if callable(alpha) else alpha
            if a_i == 0.0:
                # the schedule is exhausted (exp(-4i-2) underflows at i = 186): the iterate can
                # no longer move; stop unconverged (as the reference does)
                return _result(best, n_mv=i + 1, converged=False, n_iter=i + 1)
            pr = r_base if precond is None else _check_out(precond(r_base), "precond", n, v)
            step = v_base + a_i * pr
        norm = _norm(step)
        if not (np.isfinite(norm) and norm > 0.0):
            return _result(best, n_mv=i + 1, converged=False, n_iter=i + 1)
        v = step / norm
    return _result(best, n_mv=max_iter, converged=False, n_iter=max_iter)
