"""Claim C09 -- SRR-SGD on the nonsmooth objective h = f + μE_B(ρ(H_B) − K)₊: Clarke-critical limits.

Proof: ``proofs/C09_nonsmooth_convergence.md``; test: ``tests/claims/test_C09_nonsmooth_convergence.py``.

The check runs :func:`srtheory.training.srr_train` with the options the theorem needs: i.i.d. batches
(``Sampling(draw="iid")``, assumption (I)), two-ended Lanczos (``EigConfig(method="spectral_radius")``,
exact for ``n = 2``: assumption (E)) with a vanishing tolerance schedule ``τ_k``, and a Robbins–Monro
step (assumption (S)).  ``‖x_k‖`` is recorded through ``EpochEnd.validation`` (two steps per epoch).
"""

from __future__ import annotations

import time

import autograd.numpy as anp
import numpy as np

from srtheory.claims._core import Claim, _budget, _choice, _claim, _rng

__all__ = ["check_C09"]

_KAPPA, _BETA = 0.5, 0.1


def _batch_loss(c):
    """``f_B(x) = −½‖x‖² − (κ/3)(x₁³ − 3x₁x₂²) + (β/4)‖x‖⁴ − c_Bᵀx``: at 0 the dominant eigenvalue −1
    of the Hessian is double and negative (eigenvalues ``−1 ∓ ‖x‖ + O(‖x‖²)``)."""

    def f(x):
        r2 = anp.dot(x, x)
        cubic = x[0] ** 3 - 3.0 * x[0] * x[1] ** 2
        return -0.5 * r2 - (_KAPPA / 3.0) * cubic + 0.25 * _BETA * r2**2 - anp.dot(c, x)

    return f


def _objective(c_all):
    """The ``StochasticObjective`` with one sample per ``c_B``: ``loss(x, batch)`` is the mean of
    the :func:`_batch_loss` of the batch's samples (repeats count)."""
    from srtheory.objectives.base import StochasticObjective

    c_all = np.array(c_all, dtype=float)
    base = _batch_loss(np.zeros(2))

    def loss(x, batch):
        return base(x) - anp.dot(np.mean(c_all[np.asarray(batch)], axis=0), x)

    return StochasticObjective(
        name="c09_double_negative", f=lambda x: loss(x, np.arange(len(c_all))), dim=2,
        x0=np.zeros(2), loss=loss, n_samples=len(c_all),
    )


def _tau(k):
    """The eigen-tolerance schedule ``τ_k = 10⁻⁶·10/(k + 10) → 0`` (with ``a_k ∝ 1/k`` also
    ``Σ a_k τ_k < ∞``)."""
    return 1e-5 / (k + 10.0)


def check_C09(*, budget="quick", rng=None, schedule="robbins_monro", code_faithful=False) -> Claim:
    """Claim C09 (proofs/C09_nonsmooth_convergence.md): the stochastic subgradient iteration of SRR
    converges to the Clarke-critical point where the hinge is at its kink and the (negative)
    dominant eigenvalue is double.

    ``f_B`` as in :func:`_batch_loss` with 8 batches (``c_B`` = ``c̄`` + noise, ``‖c̄‖ = 0.2``),
    ``μ = 0.5``, ``K = 1`` (``ρ(0) = 1 = K``): 0 is the unique Clarke-critical point of ``h̃``
    within radius 0.1.  Runs :func:`srtheory.training.srr_train`: every step draws a batch i.i.d.
    (``Sampling(1, draw="iid", per_epoch=2)``), solves ``EigConfig(method="spectral_radius")``
    (two-ended Lanczos, exact for ``n = 2``: assumption (E)) with tolerance ``τ_k`` (:func:`_tau`),
    and moves along ``∇f_B + μ·1[ρ̂ > K]·s∇³f_B[v̂, v̂, ·]`` with ``a_k = 0.5/(k + 10)`` (``k`` the
    step count at the start of the 2-step epoch; ``‖x_k‖`` recorded at each epoch's end).  4
    trajectories (quick) from ``U[−0.15, 0.15]²``, ``T = 320`` steps.  Observed: median over
    trajectories of ``G(T)/G(T/8)``, ``G(t)`` the mean of ``‖x_k‖`` over ``k ∈ (t/2, t]``; bound
    0.5; also the terminal median ``G(T) ≤ 0.02``.  Controls: ``schedule="constant"`` (``a = 0.05``:
    noise floor) and ``code_faithful=True`` (the authors' dropped ``sign(λ*)``: the penalty pushes
    away).
    """
    from srtheory.spectral import EigConfig
    from srtheory.srr_step import Monitor, NonFiniteLossError, SRRConfig
    from srtheory.training import EpochEnd, Sampling, srr_train

    t0 = time.perf_counter()
    deep = _budget(budget)
    rng = _rng(rng, 909)
    _choice(schedule, "schedule", ("robbins_monro", "constant"))
    if not isinstance(code_faithful, (bool, np.bool_)):
        raise ValueError(f"code_faithful must be True or False, got {code_faithful!r}")  # noqa: TRY004 (contract: ValueError)
    mu, K, n_batches = 0.5, 1.0, 8
    m, T = (16, 1200) if deep else (4, 320)
    c_bar = np.array([0.12, -0.16])  # ‖c̄‖ = 0.2 < μ
    noise = rng.standard_normal((n_batches, 2))
    noise -= noise.mean(axis=0)
    objective = _objective(c_bar + 0.3 * noise)

    per = 2  # steps per epoch: ``‖x_k‖`` is recorded, and ``a_k`` set, at the epoch's start

    def step_size(epoch):
        k = per * epoch  # the step count at the epoch's start: a_k = 0.5/(k + 10), piecewise
        return 0.5 / (k + 10.0) if schedule == "robbins_monro" else 0.05

    srr = SRRConfig(mu=mu, K=K, eig=EigConfig(method="spectral_radius", tol=_tau),
                    code_faithful=bool(code_faithful))
    sampling = Sampling(1, draw="iid", per_epoch=per)  # assumption (I)
    E = T // per  # epochs; the statistic's windows are in epochs, the same fractions of the run
    dists = np.full((m, E), np.inf)
    hinge_active = kinks = skipped = steps = 0
    for i in range(m):
        x0 = rng.uniform(-0.15, 0.15, size=2)
        norms: list[float] = []

        def record(x, norms=norms):
            norms.append(float(np.linalg.norm(x)))
            return norms[-1]

        try:
            res = srr_train(objective, x0, rng=rng, srr=srr, lr=step_size, epochs=E,
                            batch_size=sampling, epoch_end=EpochEnd(validation=record),
                            monitor=Monitor(warn=False))
        except NonFiniteLossError:
            continue  # diverged: the trajectory's distances stay inf
        dists[i, : len(norms)] = norms
        hinge_active += res.n_active
        skipped += res.n_skipped
        steps += res.n_batches
        kinks += int(np.sum(np.abs(res.history.rho - K) < 1e-2))
    steps = max(steps, 1)
    G_T = dists[:, E // 2 :].mean(axis=1)
    G_8 = dists[:, E // 16 : E // 8].mean(axis=1)
    with np.errstate(invalid="ignore"):
        ratios = np.where(np.isfinite(G_T), G_T / G_8, np.inf)
    observed = float(np.median(ratios))
    terminal = float(np.median(G_T))
    detail = {
        "trajectories": m,
        "steps": T,
        "schedule": schedule,
        "code_faithful": bool(code_faithful),
        "median_terminal_distance": terminal,
        "max_terminal_distance": float(np.max(G_T)),
        "hinge_active_fraction": hinge_active / steps,
        "near_kink_fraction": kinks / max(steps // per, 1),
        "skipped_fraction": skipped / steps,
        "worst_ratio": float(np.max(ratios)),
    }
    ok = terminal <= 0.02
    return _claim("C09", observed, 0.5, ok, detail, t0)
