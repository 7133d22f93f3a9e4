"""Contracts of the Lanczos solver (:mod:`srtheory.spectral.krylov`) that the other tests left open
(found by mutation testing, see MUTATION.md): what :func:`lanczos` reports when the symmetry probe
ends the run (step count, matvec count, the extremes around the returned eigenvalue), the start
probe (a start that is an eigenvector only to ``sqrt(eps)`` is restarted, and only once), the
breakdown threshold ``10 n eps ||A||`` whichever sign the dominant eigenvalue has, the inclusive
rounding allowance at an exhausted Krylov space, the separation rule of :func:`spectral_radius`
(one recomputation when the other end is separated, two at a tie), and the extremes and step
count reported at a stagnation stop.

The operators are small dense symmetric matrices (or matvec closures over them), so every case
runs in milliseconds and is deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from srtheory.spectral import lanczos, spectral_radius
from srtheory.testing import planted_symmetric

_EPS = float(np.finfo(np.float64).eps)


def _planted(eigenvalues, seed):
    return planted_symmetric(eigenvalues, np.random.default_rng(seed))


@pytest.mark.parametrize(
    ("B", "expected"),
    [
        # q0 = e1, q1 = e2: q0.A q0 = -1 (the one Ritz value of the first step), q1.A q1 = 0
        (np.array([[-1.0, 1.0], [0.0, 0.0]]), (0.0, 0.0, -1.0)),
        # q0.A q0 = 1, q1.A q1 = -0.5
        (np.array([[1.0, 0.5], [0.0, -0.5]]), (-0.5, 1.0, -0.5)),
    ],
)
def test_lanczos_asymmetric_exit_reports_two_steps_and_bracketing_extremes(B, expected):
    """An operator that fails the free symmetry probe (``|q_1.(A q_0) - q_0.(A q_1)|``) ends the
    run after the two steps the probe needs, unconverged, with the note.  The returned pair is the
    current basis vector with its recomputed Rayleigh quotient; ``lambda_max`` / ``lambda_min``
    are the one Ritz value of the first step, ``q_0.A q_0``, except where the returned eigenvalue
    lies beyond it: the returned eigenvalue stays inside ``[lambda_min, lambda_max]`` (an
    eigenvalue of exactly 0 included).  Matvecs: two steps, the start probe (the start is an
    exact eigenvector here, ``A e_1 = q_0.A q_0 e_1``, of no larger modulus than ``A g``) and the
    recomputation."""
    eigval, lam_max, lam_min = expected
    res = lanczos(lambda x: B @ x, np.array([1.0, 0.0]))
    assert not res.converged
    assert len(res.notes) == 1 and "not symmetric" in res.notes[0]
    assert (res.n_iter, res.n_matvecs) == (2, 4)
    assert res.eigval == eigval
    assert (res.lambda_max, res.lambda_min) == (lam_max, lam_min)
    assert res.lambda_min <= res.eigval <= res.lambda_max


def test_lanczos_restarts_a_start_that_is_an_eigenvector_to_sqrt_eps():
    """A start that is an eigenvector only to within ``sqrt(eps)`` (here ``e_1 + 1e-10 e_2``, whose
    Krylov space is the invariant plane of 1 and 0.5) is restarted from a generic vector mixed
    into it, with the note, so the dominant eigenvalue 3 is found -- not the 1 of the plane."""
    A = np.diag([1.0, 0.5, 3.0, 2.0])
    res = lanczos(A, np.array([1.0, 1e-10, 0.0, 0.0]))
    assert res.converged
    assert res.eigval == pytest.approx(3.0, abs=1e-12)
    assert len(res.notes) == 1 and "restarted" in res.notes[0]


def test_lanczos_restarts_the_start_only_once():
    """The start probe runs once: after the one restart the new start ``(e_1 + g)/sqrt 2`` is itself
    an eigenvector to within ``sqrt(eps)`` (``A = diag(1, 1 + 1e-9, ...)``, ``A g = (1 + 1e-9) g``)
    but is not probed again.  Matvecs: the first product, the probe, two steps, the
    recomputation; one note."""
    d = 1e-9
    A = np.diag([1.0, 1.0 + d, 1.0 + d, 1.0 + d])
    res = lanczos(A, np.array([1.0, 0.0, 0.0, 0.0]))
    assert res.converged
    assert res.eigval == pytest.approx(1.0 + d, abs=1e-15)
    assert (res.n_iter, res.n_matvecs) == (2, 5)
    assert len(res.notes) == 1 and "restarted" in res.notes[0]


@pytest.mark.parametrize("sign", [1.0, -1.0])
@pytest.mark.parametrize(("factor", "steps"), [(0.75, 2), (1.05, 3)])
def test_lanczos_breakdown_threshold_is_ten_n_eps_times_the_norm(sign, factor, steps):
    """A ``beta_k`` within rounding of zero, ``10 n eps ||A||``, is a breakdown (the Krylov space is
    invariant: stop, its Ritz pairs are eigenpairs); one just above it is not.  ``||A||`` is the
    largest Ritz magnitude, whichever end it is at.  Here ``q_0 = e_1``, ``q_1 = e_2`` span the
    block ``sign [[1, 1], [1, 1]]`` (Ritz values 0 and ``2 sign``; ``||A|| = 2`` only from the
    second step on) and ``beta_1`` is exactly the coupling ``delta`` to ``e_3``.  With ``tol``
    below rounding only the breakdown ends the run at step 2; otherwise the run goes on to
    ``e_3``, which ends it at step 3 (``e_4`` is decoupled)."""
    n = 4
    delta = factor * 10 * n * _EPS * 2.0
    A = sign * np.array(
        [[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, delta, 0.0], [0.0, delta, 0.5, 0.0], [0.0, 0.0, 0.0, 0.3]]
    )
    res = lanczos(A, np.eye(n)[0], tol=1e-17)
    assert res.converged and res.notes == ()
    assert res.n_iter == steps and res.n_matvecs == steps + 1
    assert res.eigval == pytest.approx(2.0 * sign, abs=1e-14)


def test_lanczos_exhausted_space_accepts_a_residual_at_the_rounding_bound():
    """When the Krylov space is exhausted (here ``k = n = 2``) a recomputed residual that misses
    ``tol`` is still accepted if it is within rounding of zero, ``<= 10 n eps ||A||`` -- the
    bound included.  The operator is ``diag(2, 1)`` with an inexact ``(2, 1)`` entry of exactly
    ``10 n eps ||A|| = 40 eps``, so the recomputed residual of the eigenvalue 2 is exactly that
    bound."""
    r = 10 * 2 * _EPS * 2.0

    def mv(x):
        return np.array([2.0 * x[0], x[1] + r * x[0]])

    res = lanczos(mv, np.array([1.0, 0.0]), tol=1e-17)
    assert res.residual == r and res.eigval == 2.0
    assert res.converged and res.notes == ()
    assert res.n_iter == 2


@pytest.mark.parametrize("sign", [1.0, -1.0])
@pytest.mark.parametrize("seed", range(2))
def test_spectral_radius_recomputes_only_the_dominant_end_when_the_other_is_separated(sign, seed):
    """With ``both_ends=False`` the run stops once the dominant end passes ``tol * rho`` and the
    other end is separated from ``+-rho`` (here 3 against a bulk up to 2), and only the dominant
    residual is recomputed: ``n_matvecs == n_iter + 1`` -- also when the dominant eigenvalue is
    the negative one.  The other end is reported as its Ritz value, below the true 2."""
    A, _ = _planted([-3.0, *np.linspace(-1.0, 2.0, 40)], seed)
    res = spectral_radius(sign * A, np.ones(41))
    assert res.converged and not res.tie
    assert res.eigval == pytest.approx(-3.0 * sign, abs=1e-12)
    assert res.n_matvecs == res.n_iter + 1
    other = res.lambda_max if sign > 0 else -res.lambda_min
    assert 1.5 < other < 2.0


@pytest.mark.parametrize("sign", [1.0, -1.0])
@pytest.mark.parametrize("seed", range(3))
def test_spectral_radius_resolves_a_weakly_excited_tie_partner(sign, seed):
    """At a ``+-rho`` tie the weakly excited member (component 0.01 in the start) is never
    *separated*: its Ritz interval ``|theta_o| + r_o`` reaches ``rho`` until it has converged
    itself.  So both ends are resolved and recomputed (``n_matvecs == n_iter + 2``), the tie is
    flagged and both extremes are accurate."""
    A, Q = _planted([1.0, -1.0, *np.linspace(-0.5, 0.5, 30)], seed)
    v = Q[:, 0] + 0.01 * Q[:, 1] + 0.1 * Q[:, 2:].sum(axis=1) / 6
    res = spectral_radius(sign * A, v)
    assert res.converged and res.tie
    assert res.eigval == pytest.approx(1.0, abs=1e-9)
    assert res.lambda_max == pytest.approx(1.0, abs=1e-9)
    assert res.lambda_min == pytest.approx(-1.0, abs=1e-9)
    assert res.n_matvecs == res.n_iter + 2


def test_lanczos_stagnation_stop_reports_the_extreme_ritz_values():
    """A stagnation stop (float32-rounded products, ``tol`` below that accuracy) reports the same
    as a run whose budget ends at that step: the largest and smallest Ritz values as
    ``lambda_max`` / ``lambda_min`` (here, with the dominant eigenvalue -2, ``lambda_max`` is the
    top of the bulk, close to 1) and ``n_iter`` steps of one matvec each, plus the two
    recomputations."""
    n = 60
    A = -np.diag(np.r_[2.0, np.linspace(-1.0, 1.0, n - 1)])

    def mv(x):
        return (A @ x).astype(np.float32).astype(np.float64)

    res = lanczos(mv, np.ones(n), tol=1e-12)
    assert not res.converged and "stagnated" in res.notes[0]
    assert res.eigval == pytest.approx(-2.0, abs=1e-6)
    assert res.lambda_max == pytest.approx(1.0, abs=1e-4)
    assert res.n_matvecs == res.n_iter + 2
    again = lanczos(mv, np.ones(n), tol=1e-12, max_iter=res.n_iter)
    assert again.n_iter == res.n_iter
    assert (again.lambda_max, again.lambda_min) == (res.lambda_max, res.lambda_min)


def test_lanczos_exhausted_space_refuses_a_residual_just_above_the_rounding_bound():
    """The counterpart of the inclusive bound above: ``diag(2, 1)`` from ``(1, 1)`` exhausts the
    space at ``k = n = 2``; the matvec adds ``41 eps`` to the second component from its third call
    on (the recomputation), so the recomputed residual of the eigenvalue 2 is about ``42.6 eps``,
    above ``10 n eps ||A|| = 40 eps`` (and below ``11 n eps ||A|| = 44 eps``): the run is
    reported unconverged with the exhausted-space note."""
    calls = [0]

    def mv(x):
        calls[0] += 1
        y = np.array([2.0 * x[0], x[1]])
        if calls[0] > 2:
            y[1] += 41 * _EPS
        return y

    res = lanczos(mv, np.array([1.0, 1.0]), tol=1e-17)
    assert res.n_iter == 2 and res.eigval == pytest.approx(2.0, abs=1e-14)
    assert 40 * _EPS < res.residual < 44 * _EPS  # the premise: between 10 and 11 n eps ||A||
    assert not res.converged and "exhausted" in res.notes[0]


def test_lanczos_with_a_one_step_budget_returns_that_step():
    """``max_iter=1`` (n > 1): one matvec, the first Ritz pair (the start's Rayleigh quotient)
    with its recomputed residual, unconverged -- one Ritz value says nothing about the rest of
    the spectrum, and the budget leaves no second step."""
    A = np.diag([3.0, 1.0, -2.0])
    v = np.array([1.0, 1.0, 1.0])
    res = lanczos(A, v, max_iter=1)
    assert res.n_iter == 1 and not res.converged
    assert res.eigval == pytest.approx(2.0 / 3.0, abs=1e-15)  # (3 + 1 - 2) / 3
    assert res.n_matvecs == 2  # the step and the recomputation


def test_spectral_radius_recomputes_both_ends_at_an_exact_tie_with_zero_ritz_residuals():
    """``diag(2, -2)`` from ``(1, 1)``: the Krylov space is exhausted at the second step with both
    Ritz residuals exactly 0 and ``|theta_o| = |theta_d| = 2``, so the other end is *not*
    separated (the test is strict: ``2 + 0 < 2 - 0`` fails) and both pairs are recomputed; the
    tie is flagged with ``lambda_max = 2``, ``lambda_min = -2``."""
    res = spectral_radius(np.diag([2.0, -2.0]), np.array([1.0, 1.0]))
    assert res.converged and res.tie
    assert (res.lambda_max, res.lambda_min) == (2.0, -2.0)
    assert res.n_iter == 2 and res.n_matvecs == 4


def test_lanczos_basis_grows_by_doubling_not_to_the_budget_at_once():
    """The Krylov basis starts with 32 columns and doubles only when full, so a run that stops
    after a few steps holds an ``n x 32`` basis, not ``n x max_iter``: here ``n = 4000``,
    ``max_iter = 2000`` and the run converges in about 20 steps, so its peak allocation is about
    1.4 MB (an ``n x 2000`` basis would be 64 MB; growing at every step instead of when full
    reaches 128 MB)."""
    import tracemalloc

    n = 4000
    d = np.r_[2.0, np.linspace(-1.0, 1.0, n - 1)]  # a gap of 1 to the bulk: about 20 steps

    def mv(x):
        return d * x

    v = np.ones(n)
    tracemalloc.start()
    try:
        res = lanczos(mv, v, max_iter=2000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert res.converged and res.n_iter < 32
    assert peak < 8e6, peak
