"""Contracts of the spectral solvers (:mod:`srtheory.spectral`) that the other tests left open
(found by mutation testing): the extremes ``lanczos`` reports around the returned eigenvalue, the
``"LM"`` rule and the separation rule at a ``+-rho`` tie, no stop at the first Lanczos step,
exact covariance under a power-of-two scaling of ``A``, the start probe and restart of the
shifted second power run, its tolerance scale, the one-run resolution of a ``+-rho`` tie by the
Rayleigh--Ritz step of the power method, the step count at a stagnation stop, and the checked
values and messages of :class:`EigConfig`."""

from __future__ import annotations

import numpy as np
import pytest

from srtheory.spectral import EigConfig, lanczos, power_iteration, spectral_radius
from srtheory.testing import planted_symmetric

_SPECTRUM = [-3.0, 1.0, 0.5, -0.2, 0.1, 2.0, -1.5, 0.3]


def _planted(eigenvalues, seed):
    A, _ = planted_symmetric(eigenvalues, np.random.default_rng(seed))
    return A


@pytest.mark.parametrize("seed", range(6))
def test_lanczos_extremes_bracket_the_returned_eigenvalue(seed):
    """``lambda_max`` / ``lambda_min`` of :func:`lanczos` are the extreme values seen: with
    ``which="LA"`` the reported largest one *is* the returned (recomputed) eigenvalue, with
    ``"SA"`` the smallest one is, and with ``"LM"`` the returned eigenvalue lies in
    ``[lambda_min, lambda_max]`` (it is never left outside by a stale Ritz value)."""
    A = _planted(_SPECTRUM, seed)
    v = np.ones(8)
    for spec, which in ((_SPECTRUM, "LA"), ([-x for x in _SPECTRUM], "LA"),
                        (_SPECTRUM, "SA"), ([-x for x in _SPECTRUM], "SA")):
        B = _planted(spec, seed)
        res = lanczos(B, v, which=which, tol=1e-4)
        assert res.lambda_max is not None and res.lambda_min is not None
        if which == "LA":
            assert res.lambda_max == res.eigval
            assert res.lambda_min <= res.eigval
        else:
            assert res.lambda_min == res.eigval
            assert res.lambda_max >= res.eigval
    for B in (A, -A):
        res = lanczos(B, v, tol=1e-4)
        assert res.lambda_max is not None and res.lambda_min is not None
        assert res.lambda_min <= res.eigval <= res.lambda_max


@pytest.mark.parametrize("e", [-60, 40])
@pytest.mark.parametrize("method", ["lanczos", "power"])
def test_spectral_radius_is_covariant_under_power_of_two_scaling(method, e):
    """Scaling ``A`` by an exact power of two (inside the range where the matvec is left
    unscaled) scales ``rho``, both extremes and the residual by the same factor and changes
    nothing else: same steps, same matvecs, same ``converged`` and ``tie``.  Every threshold
    of the solvers (residual tests, breakdown and rounding tests on ``||A||``, the Rayleigh--Ritz
    gate of the power method) is relative to the operator's size.  Checked on a ``+-rho`` tie
    and on a spectrum with a clear dominant end."""
    c = 2.0**e
    v = np.ones(8)
    for spec in (_SPECTRUM, [1.0, -1.0, 0.6, 0.3, -0.5, 0.2, 0.1, -0.05]):
        A = _planted(spec, 1)
        r1 = spectral_radius(A, v, method=method)
        r2 = spectral_radius(c * A, v, method=method)
        assert r1.converged and r2.converged
        assert (r2.n_iter, r2.n_matvecs, r2.tie) == (r1.n_iter, r1.n_matvecs, r1.tie)
        assert r2.rho == c * r1.rho and r2.eigval == c * r1.eigval
        assert (r2.lambda_max, r2.lambda_min) == (c * r1.lambda_max, c * r1.lambda_min)
        assert r2.residual == c * r1.residual


def test_power_second_run_restarts_from_a_non_dominant_eigenvector():
    """The second power run (on ``A - lambda_1 I``) probes its start like the first: a start that
    is an eigenvector of the *shifted* operator but not of its largest modulus is restarted, with
    the note, so the far end is still found.  Here the start spans the eigenvectors of 1 and
    -0.5; the first run resolves 1, the second starts on the eigenvector of -0.5 (shifted: -1.5)
    while the cluster at -0.9 (shifted: -1.9) is the true other end."""
    n = 20
    A = np.diag([1.0, -0.5] + [-0.9] * (n - 2))
    v = np.zeros(n)
    v[:2] = 1.0
    res = spectral_radius(A, v, method="power")
    assert res.converged
    assert res.lambda_max == pytest.approx(1.0, abs=1e-9)
    assert res.lambda_min == pytest.approx(-0.9, abs=1e-7)
    assert len(res.notes) == 1 and "restarted" in res.notes[0]


def test_power_second_run_keeps_a_dominant_eigenvector_start():
    """A second-run start that already is the dominant eigenvector of ``A - lambda_1 I`` is kept
    (no restart, no note): the run accepts it at once.  Start on the eigenvectors of 1 and
    -0.9; the rest of the spectrum (0.1) is closer to 1 than -0.9 is."""
    n = 20
    A = np.diag([1.0, -0.9] + [0.1] * (n - 2))
    v = np.zeros(n)
    v[:2] = 1.0
    res = spectral_radius(A, v, method="power")
    assert res.converged and res.notes == ()
    assert res.lambda_min == pytest.approx(-0.9, abs=1e-9)
    assert res.n_matvecs == 5  # two steps + one recomputation, then one accepted step


def test_power_start_probe_runs_when_a_second_step_is_left():
    """With ``max_iter=2`` the power method still probes a start that is an eigenvector of a
    non-dominant eigenvalue and restarts from it (the restart uses the step that is left), with
    the note."""
    A = _planted([2.0, -3.0, 1.0, 0.5], 0)
    w, V = np.linalg.eigh(A)
    start = V[:, np.argmin(abs(w - 1.0))]
    res = spectral_radius(A, start, method="power", max_iter=2)
    assert any("restarted" in note for note in res.notes)


def test_power_tie_is_resolved_in_one_run():
    """At a ``+-rho`` tie the Rayleigh--Ritz step of the power method returns both ends from the
    first run: no second (shifted) run, so the cost is the steps plus one recomputation for each
    of the two accepted pairs, ``n_matvecs == n_iter + 2``.  The rest of the spectrum is at most
    0.1 rho, so the Rayleigh--Ritz residuals shrink tenfold a step: a budget of 9 power steps
    (``max_iter`` counts per run) is enough for the whole answer."""
    A = _planted([1.0, -1.0, 0.1, 0.05, -0.02, 0.0], 1)
    res = spectral_radius(A, np.ones(6), method="power", max_iter=9)
    assert res.converged and res.tie
    assert res.eigval == pytest.approx(1.0, abs=1e-9)
    assert res.lambda_min == pytest.approx(-1.0, abs=1e-9)
    assert res.n_matvecs == res.n_iter + 2


def test_lanczos_exact_tie_reports_the_positive_member():
    """At an exact ``+-rho`` tie of the Ritz values ``which="LM"`` returns the positive member,
    the same convention as :func:`spectral_radius` (``eigval = +rho`` at a tie)."""
    res = lanczos(np.diag([2.0, -2.0]), np.ones(2))  # Ritz values exactly +-2
    assert res.converged
    assert res.eigval == pytest.approx(2.0, abs=1e-12)
    assert res.eigval == spectral_radius(np.diag([2.0, -2.0]), np.ones(2)).eigval


def test_lanczos_never_stops_at_the_first_step():
    """One Ritz value says nothing about the rest of the spectrum: a start that already is the
    dominant eigenvector (breakdown at the first step) is continued from a generic direction, so
    the run takes a second step and reports the other end too -- also for ``n = 2`` and for
    ``max_iter = 2``."""
    res = lanczos(np.diag([3.0, 1.0]), np.array([1.0, 0.0]))
    assert res.converged and res.n_iter == 2
    assert res.eigval == 3.0 and res.lambda_min == pytest.approx(1.0, abs=1e-12)
    res = spectral_radius(np.diag([3.0, -1.0]), np.array([1.0, 0.0]))
    assert res.converged and res.n_iter == 2
    assert res.lambda_min == pytest.approx(-1.0, abs=1e-12)
    res = lanczos(np.diag([3.0, 1.0, 0.5]), np.array([1.0, 0.0, 0.0]), max_iter=2)
    assert res.n_iter == 2 and res.eigval == 3.0 and res.lambda_min < 3.0


def test_power_other_end_stops_at_tol_times_rho():
    """The second power run (for the other end, on ``A - lambda_1 I``) measures its residual
    against ``tol * |lambda_1|`` = ``tol * rho``, the same scale as the final test, not against
    its own shifted eigenvalue: on this all-positive spectrum (other end 0.2, shifted -0.8) a
    per-run budget of 47 steps is exactly what it needs, and 46 are not enough."""
    A = _planted([1.0, 0.9, 0.5, 0.45, 0.3, 0.2], 1)
    res = spectral_radius(A, np.ones(6), method="power", max_iter=47)
    assert res.converged
    assert res.lambda_min == pytest.approx(0.2, abs=1e-7)
    assert not spectral_radius(A, np.ones(6), method="power", max_iter=46).converged


def test_lanczos_lm_waits_for_the_opposite_end_to_settle():
    """``which="LM"`` does not stop on the end that converged first while the opposite end could
    still overtake it (``|theta_o| + r_o > |theta_j|``): here +1 is well separated and converges
    in a few steps, but the weakly excited -1.02 (just outside a bulk reaching -1) has the larger
    modulus and is the answer."""
    spec = [1.0, -1.02, *np.linspace(-1.0, 0.5, 40)]
    A, Q = planted_symmetric(spec, np.random.default_rng(0))
    v = Q[:, 0] + 0.01 * Q[:, 1] + 0.1 * Q[:, 2:].sum(axis=1) / 6
    res = lanczos(A, v, tol=1e-3)
    assert res.converged
    assert res.eigval == pytest.approx(-1.02, abs=1e-3)
    assert res.lambda_max == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("e", [-60, 40])
def test_lanczos_lm_is_covariant_under_power_of_two_scaling(e):
    """The ``"LM"`` rule of :func:`lanczos` is relative to the operator's size, including the
    alternative ``r_o <= tol |theta_j|`` for an opposite end that is as large as the wanted one
    (a ``+-rho`` tie): scaling ``A`` by a power of two scales the answer and changes no step."""
    c = 2.0**e
    A = _planted([1.0, -1.0, *np.linspace(-0.5, 0.5, 20)], 1)
    r1 = lanczos(A, np.ones(22))
    r2 = lanczos(c * A, np.ones(22))
    assert r1.converged and r2.converged
    assert (r2.n_iter, r2.n_matvecs) == (r1.n_iter, r1.n_matvecs)
    assert r2.eigval == c * r1.eigval and r2.residual == c * r1.residual


@pytest.mark.parametrize("seed", range(4))
def test_lanczos_tie_resolves_both_ends(seed):
    """At an exact ``+-rho`` tie neither end can be *separated* from ``+-rho`` (their Ritz
    intervals overlap), so :func:`spectral_radius` resolves both and recomputes both residuals:
    ``n_matvecs == n_iter + 2``, ``tie`` is set and ``eigval = +rho``."""
    A = _planted([1.0, -1.0, *np.linspace(-0.5, 0.5, 20)], seed)  # n = 22: no exhaustion
    res = spectral_radius(A, np.ones(22))
    assert res.converged and res.tie
    assert res.eigval == pytest.approx(1.0, abs=1e-9)
    assert res.lambda_min == pytest.approx(-1.0, abs=1e-9)
    assert res.n_matvecs == res.n_iter + 2


def test_lanczos_stagnation_stop_counts_its_steps():
    """An operator whose accuracy floor is above ``tol`` (a float32-rounded product, float64
    solve) stops once the recomputed residual has not halved, unconverged, with the note.
    ``n_iter`` is the number of Lanczos steps taken: one matvec each, plus the two residual
    recomputations, and a rerun with ``max_iter = n_iter`` ends at the same step."""
    n = 60
    A = np.diag(np.r_[2.0, np.linspace(-1.0, 1.0, n - 1)])

    def mv(x):
        return (A @ x).astype(np.float32).astype(np.float64)

    res = lanczos(mv, np.ones(n), tol=1e-12)
    assert not res.converged
    assert len(res.notes) == 1 and "stagnated" in res.notes[0]
    assert res.n_matvecs == res.n_iter + 2
    again = lanczos(mv, np.ones(n), tol=1e-12, max_iter=res.n_iter)
    assert (again.n_iter, again.n_matvecs, again.eigval) == (res.n_iter, res.n_matvecs, res.eigval)


def test_eigconfig_stores_checked_python_numbers_and_names_fields():
    """``EigConfig`` stores ``tol``, ``max_iter`` and ``alpha`` as the checked plain Python
    numbers (NumPy scalars in, ``float``/``int`` out), and a refused value names the field
    (``EigConfig.max_iter ...``; ``precond`` with a non-power method)."""
    cfg = EigConfig(tol=np.float32(0.25), max_iter=np.int64(7), alpha=np.float32(0.5))
    assert (cfg.tol, cfg.max_iter, cfg.alpha) == (0.25, 7, 0.5)
    assert (type(cfg.tol), type(cfg.max_iter), type(cfg.alpha)) == (float, int, float)
    with pytest.raises(ValueError, match=r"^EigConfig\.max_iter must be >= 1, got 0$"):
        EigConfig(max_iter=0)
    with pytest.raises(ValueError, match=r"^EigConfig: precond \(Algorithm 1 / 1b options\)"):
        EigConfig(method="lanczos", precond=lambda r: r)


@pytest.mark.parametrize("e", [-20, 20])
def test_power_iteration_asymmetry_is_relative_to_the_operator(e):
    """The symmetry probe of :func:`power_iteration` reports ``|u_1.A u_0 - u_0.A u_1|`` relative
    to ``max(||A u_0||, ||A u_1||)``: the recorded ``asymmetry`` of an asymmetric operator does
    not change when the operator is scaled by a power of two, and it ends the run unconverged."""
    A = _planted([3.0, -1.0, 0.5, 0.2, -0.1], 0)
    S = np.triu(np.ones((5, 5)), 1)
    B = A + 0.01 * (S - S.T)
    c = 2.0**e
    r1 = power_iteration(lambda x: B @ x, np.ones(5), criteria="residual")
    r2 = power_iteration(lambda x: (c * B) @ x, np.ones(5), criteria="residual")
    assert r1.asymmetry is not None and r1.asymmetry > 1e-3
    assert not r1.converged and not r2.converged
    assert r1.n_iter == r1.n_matvecs == 2  # the probe needs the first two iterates
    assert r2.asymmetry == pytest.approx(r1.asymmetry, rel=1e-12)
    # a start that excites the dominant eigenvector weakly: ||A u_1|| > ||A u_0|| sets the scale
    A2, Q = planted_symmetric([3.0, -1.0, 0.5, 0.2, -0.1], np.random.default_rng(0))
    B2 = A2 + 0.01 * (S - S.T)
    v0 = Q[:, 4] + 0.05 * Q[:, 0]
    r3 = power_iteration(lambda x: B2 @ x, v0, criteria="residual")
    r4 = power_iteration(lambda x: (c * B2) @ x, v0, criteria="residual")
    assert r3.asymmetry is not None and not r3.converged
    assert r4.asymmetry == pytest.approx(r3.asymmetry, rel=1e-12)


def test_power_iteration_preconditioned_default_step_is_one():
    """Algorithm 1b with a preconditioner and no ``alpha`` uses the paper's ``alpha = 1``: the
    same run as ``alpha=1.0`` given explicitly."""
    A = _planted([3.0, -1.0, 0.5, 0.2, -0.1], 0)
    r1 = power_iteration(A, np.ones(5), precond=lambda r: 0.5 * r, max_iter=5)
    r2 = power_iteration(A, np.ones(5), precond=lambda r: 0.5 * r, alpha=1.0, max_iter=5)
    assert (r1.eigval, r1.n_iter, r1.residual) == (r2.eigval, r2.n_iter, r2.residual)
    r3 = power_iteration(A, np.ones(5), precond=lambda r: 0.5 * r, alpha=2.0, max_iter=5)
    assert r3.eigval != r1.eigval


# ------------------------------------------------------------------ eig_solve, defaults, exits


@pytest.mark.parametrize("method", ["power", "lanczos", "spectral_radius"])
def test_eig_solve_runs_the_named_solver_with_the_configured_options(method):
    """eig_solve (Alg. 2 step 2.2) is a dispatch only: for each method its result equals the
    direct call with the same tol and max_iter, and a small budget is obeyed."""
    from srtheory.spectral import EigConfig, eig_solve

    A, _ = planted_symmetric(np.r_[-3.0, 2.7, np.linspace(-2.5, 2.5, 38)], np.random.default_rng(5))
    v0 = np.random.default_rng(6).standard_normal(40)
    direct = {
        "power": lambda **kw: power_iteration(A, v0, **kw),
        "lanczos": lambda **kw: lanczos(A, v0, which="LM", **kw),
        "spectral_radius": lambda **kw: spectral_radius(A, v0, method="lanczos", **kw),
    }[method]
    results = []
    for tol, max_iter in ((1e-2, 200), (1e-9, 200), (1e-12, 3)):
        got = eig_solve(A, v0, EigConfig(method=method, tol=tol, max_iter=max_iter))
        want = direct(tol=tol, max_iter=max_iter)
        assert (got.eigval, got.n_matvecs, got.converged) == (want.eigval, want.n_matvecs, want.converged)
        assert got.n_iter <= max_iter
        results.append(got.n_matvecs)
    assert results[0] < results[1]  # the tolerance reaches the solver
    assert abs(eig_solve(A, v0, EigConfig(method=method, tol=1e-9, max_iter=200)).eigval + 3.0) < 1e-6


def test_spectral_radius_power_default_budget_is_ten_thousand_steps():
    """The power variant's default budget (10 000 steps per run, documented) is what a slow
    ratio needs: 40 eigenvalues evenly in [0.9, 1] converge in about 2 800 steps, and a budget
    of 300 (the Lanczos default) does not suffice."""
    A = np.diag(np.linspace(1.0, 0.9, 40))
    v0 = np.ones(40) + 0.01 * np.arange(40)
    res = spectral_radius(A, v0, method="power")
    assert res.converged and 300 < res.n_iter < 10_000
    assert not spectral_radius(A, v0, method="power", max_iter=300).converged


def test_power_iteration_exhausted_schedule_still_reports_its_diagnosis():
    """Algorithm 1b with a step schedule that reaches 0.0 stops unconverged; the symmetry probe
    measured before that is still reported (EigResult.asymmetry)."""
    A, _ = planted_symmetric(np.array([2.0, 1.0, 0.5, 0.25]), np.random.default_rng(1))
    res = power_iteration(A, np.ones(4) + 0.1 * np.arange(4), alpha=lambda i: 1.0 if i < 4 else 0.0,
                          tol=1e-14, criteria="residual")
    assert res.converged is False and res.n_iter == 5
    assert res.asymmetry is not None and res.asymmetry < 1e-12


def test_power_iteration_degenerate_step_still_reports_its_diagnosis():
    """A degenerate Algorithm 1b step (the update overflows) after a few good ones stops the run
    unconverged, and the symmetry probe measured on the good iterates is still reported."""
    A, _ = planted_symmetric(np.array([2.0, 1.0, 0.5, 0.25]), np.random.default_rng(1))
    calls = []

    def precond(r):
        calls.append(1)
        return r if len(calls) < 4 else np.full(4, 1.5e308)

    with np.errstate(over="ignore"):
        res = power_iteration(A, np.ones(4) + 0.1 * np.arange(4), alpha=0.5, precond=precond,
                              tol=1e-14, criteria="residual", max_iter=50)
    assert res.converged is False and res.n_iter == 4
    assert res.asymmetry is not None and res.asymmetry < 1e-12
