"""More contracts of the power methods (:func:`spectral_radius` with ``method="power"`` and
:func:`power_iteration`) and of :class:`EigConfig` that the other tests left open, found by
mutation testing (MUTATION.md): the step and matvec counts of every exit (converged, tie,
exhausted budget, asymmetric operator, a one-step budget, a degenerate Algorithm 1b step), the
one-run resolution of a ``+-rho`` tie inside a plane (also within ``100 eps rho``, at any scale),
the relative size of the symmetry probe, exact power-of-two covariance of
:func:`power_iteration`, step 2.7's rule for a residual that did not grow, and the field names in
the messages of :class:`EigConfig`."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from srtheory.spectral import EigConfig, power_iteration, spectral_radius
from srtheory.testing import planted_symmetric

_EPS = float(np.finfo(np.float64).eps)


class _Calls:
    """A matvec that counts its calls (the ground truth for ``n_matvecs``)."""

    def __init__(self, A):
        self.A, self.n = A, 0

    def __call__(self, x):
        self.n += 1
        return self.A @ x


def _planted8():
    A, _ = planted_symmetric([3.0, -1.0, 0.5, 0.2, -0.1, 1.5, -2.0, 0.7], np.random.default_rng(0))
    return A


# ------------------------------------------------------------------------- EigConfig messages


def test_eigconfig_refusals_start_with_the_field_name():
    """A refused ``EigConfig`` value is reported as ``EigConfig.<field> ...`` (the documented
    ``ValueError`` naming the field), and an Algorithm 1b option given to another method is
    named by its field."""
    with pytest.raises(ValueError, match=r"^EigConfig\.tol must be finite and > 0, got 0\.0$"):
        EigConfig(tol=0.0)
    with pytest.raises(ValueError, match=r"^EigConfig\.alpha must be finite and > 0, got -1\.0$"):
        EigConfig(alpha=-1.0)
    with pytest.raises(ValueError, match=r"^EigConfig: alpha \(Algorithm 1 / 1b options\) need "
                                         r"method='power', got method='lanczos'$"):
        EigConfig(method="lanczos", alpha=0.5)


# ------------------------------------------------------------- spectral_radius(method="power")


def test_power_symmetry_probe_is_relative_to_the_larger_product():
    """The probe of the power variant reports ``|u_1.A u_0 - u_0.A u_1| / max(||A u_0||,
    ||A u_1||)``: from ``u_0 = e_1`` with ``A e_1 = e_2`` (norm exactly 1) and ``A e_2 = e_1/2``
    that is ``|1 - 1/2| / 1 = 0.5``; the operator is flagged, unconverged, with the note."""
    A = np.array([[0.0, 0.5], [1.0, 0.0]])
    res = spectral_radius(lambda x: A @ x, np.array([1.0, 0.0]), method="power")
    assert res.asymmetry == 0.5
    assert not res.converged
    assert len(res.notes) == 1 and "not symmetric" in res.notes[0]


def test_power_asymmetric_operator_stops_each_run_at_its_second_step():
    """An asymmetric operator ends the first power run at its second step (the probe needs two
    iterates) and the second run at its second step too (the verdict is kept): four steps, one
    matvec each, and ``n_matvecs`` is the true number of calls."""
    mv = _Calls(np.array([[0.0, 0.5], [1.0, 0.0]]))
    res = spectral_radius(mv, np.array([1.0, 0.0]), method="power")
    assert not res.converged
    assert res.n_iter == 4
    assert res.n_matvecs == mv.n == 4


def test_power_single_step_budget_takes_one_step_per_run():
    """With ``max_iter=1`` no step is left for a restart, so the start probe is not run: each of
    the two runs takes exactly its one step (one matvec), even from a start that is an
    eigenvector of a non-dominant eigenvalue, and nothing is noted."""
    mv = _Calls(np.diag([3.0, 1.0, -0.5, 0.25]))
    res = spectral_radius(mv, np.array([0.0, 1.0, 0.0, 0.0]), method="power", max_iter=1)
    assert res.n_iter == 2
    assert res.n_matvecs == mv.n == 2
    assert res.notes == ()


def test_power_counts_steps_and_recomputations():
    """``n_iter`` counts power steps over both runs and ``n_matvecs`` every call: each run that
    ends on a Rayleigh--Ritz pair recomputes it once (``n_iter + 2``), a run that accepts its
    own iterate recomputes nothing, and an exhausted budget spends exactly ``max_iter`` steps
    per run."""
    A = _planted8()
    mv = _Calls(A)
    res = spectral_radius(mv, np.ones(8), method="power")
    assert res.converged
    assert res.n_matvecs == mv.n == res.n_iter + 2
    assert res.eigval == pytest.approx(3.0, abs=1e-7)
    assert res.lambda_min == pytest.approx(-2.0, abs=1e-7)
    # the second run starts on the dominant eigenvector of A - I and accepts it at its first
    # step: two steps and one recomputation, then one step
    n = 20
    v = np.zeros(n)
    v[:2] = 1.0
    res = spectral_radius(np.diag([1.0, -0.9] + [0.1] * (n - 2)), v, method="power")
    assert res.converged and (res.n_iter, res.n_matvecs) == (3, 5)
    # exhausted: both runs use their whole budget, no recomputation
    mv = _Calls(A)
    res = spectral_radius(mv, np.ones(8), method="power", max_iter=4)
    assert not res.converged
    assert res.n_iter == 8
    assert res.n_matvecs == mv.n == 8


@pytest.mark.parametrize(
    ("A", "v"),
    [
        (np.diag([1.0, -1.0]), np.array([1.0, 0.5])),
        (2.0**20 * np.diag([1.0, -1.0]), np.array([1.0, 0.5])),
        (2.0**-20 * np.diag([1.0, -1.0]), np.array([1.0, 0.3])),
        (np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([1.0, 0.0])),  # ||A e_1|| = 1 exactly
    ],
)
def test_power_tie_in_a_plane_is_resolved_in_one_run(A, v):
    """On a 2-D operator with eigenvalues ``+-rho`` the second iterate spans the whole space, so
    the Rayleigh--Ritz step returns both ends at once: two steps and the two recomputations
    (``n_matvecs = 4``), no second run, ``tie`` set and ``eigval = +rho``."""
    rho = abs(A).max()
    res = spectral_radius(A, v, method="power")
    assert res.converged and res.tie
    assert (res.n_iter, res.n_matvecs) == (2, 4)
    assert res.eigval == pytest.approx(rho, rel=1e-14)
    assert res.lambda_min == pytest.approx(-rho, rel=1e-14)


@pytest.mark.parametrize("e", [0, 40])
def test_power_near_tie_within_rounding_is_resolved_in_one_run_at_any_scale(e):
    """Eigenvalues ``rho`` and ``-(1 - 20 eps) rho`` agree within ``100 eps rho``, the documented
    tolerance of ``tie``: the Rayleigh--Ritz step takes them as a tie in one run (two steps,
    two recomputations) whatever the size of ``A``."""
    c = 2.0**e
    A = c * np.diag([1.0, -(1.0 - 20 * _EPS)])
    res = spectral_radius(A, np.array([1.0, 0.5]), method="power")
    assert res.converged and res.tie
    assert (res.n_iter, res.n_matvecs) == (2, 4)
    assert res.eigval == c


# ------------------------------------------------------------------------ power_iteration


def test_power_iteration_single_step_budget_spends_one_matvec():
    """``power_iteration(max_iter=1)`` takes one step and no more: the start probe (which
    needs a second step to restart into) is not run, so a start that is an exact eigenvector
    stops at once on the residual test, converged, with ``n_matvecs = n_iter = 1``."""
    mv = _Calls(np.diag([3.0, 1.0, -0.5, 0.25]))
    res = power_iteration(mv, np.array([0.0, 1.0, 0.0, 0.0]), max_iter=1, criteria="residual",
                          tol=1e-6)
    assert res.converged
    assert res.n_iter == res.n_matvecs == mv.n == 1
    assert res.eigval == 1.0 and res.notes == ()


def test_power_iteration_is_covariant_under_power_of_two_scaling():
    """Scaling ``A`` by ``2^60`` (inside the range left unscaled) scales the eigenvalue and the
    residual exactly and changes no step: the start-eigenvector test is relative to ``||A v||``
    (no probe, no restart for a start far from any eigenvector)."""
    A = _planted8()
    c = 2.0**60
    r1 = power_iteration(A, np.ones(8), criteria="residual", tol=1e-6)
    r2 = power_iteration(c * A, np.ones(8), criteria="residual", tol=1e-6)
    assert r1.converged and r2.converged
    assert r1.notes == () and r2.notes == ()
    assert (r2.n_iter, r2.n_matvecs) == (r1.n_iter, r1.n_matvecs)
    assert r2.eigval == c * r1.eigval and r2.residual == c * r1.residual


def test_power_iteration_accepts_a_step_whose_residual_did_not_grow():
    """Step 2.7 rejects a step only when the residual *grew* (``||r|| > ||r_old||``): here the
    schedule step moves ``e_1`` to ``e_2`` exactly and both residuals are exactly 1, so the
    second iterate is accepted and returned (the last evaluated, accepted pair)."""
    M = np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    res = power_iteration(M, np.array([1.0, 0.0, 0.0]), alpha=lambda i: 1.0,
                          precond=lambda r: np.array([-1.0, 1.0, 0.0]), criteria="residual",
                          max_iter=2)
    assert not res.converged and res.n_iter == 2
    assert res.residual == 1.0
    np.testing.assert_array_equal(res.eigvec, [0.0, 1.0, 0.0])


def test_power_iteration_degenerate_step_is_counted_and_silent():
    """An Algorithm 1b update whose norm overflows stops the run unconverged without a
    floating-point warning, and ``n_matvecs = n_iter`` is the true number of calls."""
    A, _ = planted_symmetric(np.array([2.0, 1.0, 0.5, 0.25]), np.random.default_rng(1))
    mv = _Calls(A)
    calls = []

    def precond(r):
        calls.append(1)
        return r if len(calls) < 4 else np.full(4, 1.5e308)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = power_iteration(mv, np.ones(4) + 0.1 * np.arange(4), alpha=0.5, precond=precond,
                              tol=1e-14, criteria="residual", max_iter=50)
    assert res.converged is False
    assert res.n_iter == res.n_matvecs == mv.n == 4


def test_power_iteration_probes_the_start_when_a_second_step_is_left():
    """With ``max_iter = 2`` the start probe still runs: from ``e_2``, an exact eigenvector of
    the non-dominant eigenvalue 1 of ``diag(3, 1, 0.5)``, the run restarts (note) instead of
    reporting the pair ``(1, e_2)`` as converged."""
    A = np.diag([3.0, 1.0, 0.5])
    res = power_iteration(lambda x: A @ x, np.array([0.0, 1.0, 0.0]), max_iter=2, tol=1e-10,
                          criteria="residual")
    assert not res.converged and res.eigval != 1.0 and res.n_iter == 2
    assert res.n_matvecs == 3  # two steps and the probe: every call is counted
    assert len(res.notes) == 1 and res.notes[0].startswith("the start vector is an eigenvector")


def test_power_iteration_paper_residual_test_is_strict():
    """Algorithm 1 step 2.6 stops on ``||r|| < eps_p`` (strict): from ``e_1`` on the swap
    ``[[0, 1], [1, 0]]`` the first residual is exactly 1, so ``tol = 1`` does not stop and one
    ulp more does."""
    B = np.array([[0.0, 1.0], [1.0, 0.0]])
    at = power_iteration(lambda x: B @ x, np.array([1.0, 0.0]), max_iter=1, tol=1.0)
    above = power_iteration(lambda x: B @ x, np.array([1.0, 0.0]), max_iter=1,
                            tol=float(np.nextafter(1.0, 2.0)))
    assert at.residual == above.residual == 1.0
    assert not at.converged and above.converged


def test_power_iteration_out_of_steps_still_reports_the_symmetry_probe():
    """A run that uses its whole budget unconverged reports the asymmetry its free probe measured
    (0.0 for a diagonal operator), not ``None`` (the probe's value is part of every result)."""
    A = np.diag([1.0, 0.9, 0.5])
    res = power_iteration(lambda x: A @ x, np.ones(3), max_iter=4, tol=1e-12, criteria="residual")
    assert not res.converged and res.n_iter == 4
    assert res.asymmetry == 0.0


def test_generic_start_refuses_a_non_positive_size_naming_n():
    from srtheory.spectral import generic_start

    with pytest.raises(ValueError, match=r"^n must be >= 1, got 0$"):
        generic_start(0)


def test_generic_start_is_the_documented_vector():
    """``g_k ~ 1 + sin(1.7 k + 0.3) / 2``, normalised."""
    from srtheory.spectral import generic_start

    g = 1.0 + 0.5 * np.sin(1.7 * np.arange(5) + 0.3)
    np.testing.assert_allclose(generic_start(5), g / np.linalg.norm(g), rtol=1e-15, atol=0)


@pytest.mark.parametrize(("k", "restarted"), [(12, False), (30, True)])
def test_start_probe_allows_ten_sqrt_n_ulps_of_rounding(k, restarted):
    """The start ``e_1`` is an exact eigenvector (eigenvalue 1) of ``diag(1, c, c, c)``,
    ``c = 1 + k eps``; the probe ``||A g|| = c`` proves a larger eigenvalue only beyond the rounding
    allowance ``|lambda| (1 + 10 sqrt(n) eps)`` = ``1 + 20 eps`` for ``n = 4``: ``k = 12`` keeps the
    start (no note), ``k = 30`` restarts it (note)."""
    c = 1.0 + k * float(np.finfo(np.float64).eps)
    A = np.diag([1.0, c, c, c])
    res = power_iteration(lambda x: A @ x, np.array([1.0, 0.0, 0.0, 0.0]), tol=1e-3)
    assert (len(res.notes) == 1) is restarted
    if not restarted:
        assert res.eigval == 1.0 and res.converged and res.n_matvecs == 2


@pytest.mark.parametrize("scale", [2.0**400, 2.0**-400])
def test_a_huge_or_tiny_start_is_scaled_exactly(scale):
    """A start beyond ``2^+-200`` is scaled by an exact power of two before it is normalised, so
    every solver returns bit for bit what it returns from the unit start."""
    from srtheory.spectral import generic_start, lanczos

    A = np.diag([3.0, -1.0, 0.5])
    v = generic_start(3)
    for solve in (lanczos, power_iteration, spectral_radius):
        unit = solve(lambda x: A @ x, v)
        scaled = solve(lambda x: A @ x, v * scale)
        assert (scaled.eigval, scaled.residual, scaled.n_matvecs) == (
            unit.eigval, unit.residual, unit.n_matvecs)
        assert np.array_equal(scaled.eigvec, unit.eigvec)


def test_both_extremes_are_reported_in_the_operators_units_when_it_is_scaled():
    """An operator of size ``2^400`` runs scaled (outputs kept within ``2^+-200``); ``lambda_max``
    and ``lambda_min`` come back multiplied by the same power of two, exactly."""
    A = np.diag([3.0, -1.0, 0.5]) * 2.0**400
    from srtheory.spectral import generic_start

    res = spectral_radius(lambda x: A @ x, generic_start(3), both_ends=True, tol=1e-12)
    assert res.converged
    assert res.lambda_max == pytest.approx(3.0 * 2.0**400, rel=1e-12)
    assert res.lambda_min == pytest.approx(-(2.0**400), rel=1e-12)


def test_power_iteration_default_budget_is_a_thousand_steps():
    """``max_iter`` defaults to 1000: on the exact tie ``diag(1, -1)`` the residual test never
    passes, so the run ends unconverged after exactly 1000 steps."""
    A = np.diag([1.0, -1.0])
    res = power_iteration(lambda x: A @ x, np.array([0.6, 0.8]), criteria="residual")
    assert not res.converged and res.n_iter == 1000


@pytest.mark.parametrize(
    ("A", "v0", "matvecs"),
    [
        # A v is almost orthogonal to v (||r|| ~ ||A v|| = 1e-17): not an eigenvector, no probe
        (np.diag([0.0, 1.0, 0.5]), np.array([1.0, 1e-17, 0.0]), 2),
        # ||r|| = 1.2 sqrt(eps) ||A v||: an eigenvector only beyond sqrt(eps), no probe either
        (np.diag([1.0, 3.0]), np.array([1.0, 0.6 * 2.0**-26]), 39),
    ],
)
def test_power_iteration_probes_only_a_start_that_is_an_eigenvector_to_sqrt_eps(A, v0, matvecs):
    """The start probe runs when ``||r|| <= sqrt(eps) ||A v||`` with ``||A v||^2 = ||r||^2 +
    lambda^2``; these two starts are outside it, so power iteration runs from them as given
    (no note, no probe matvec) and converges to the dominant eigenvalue."""
    res = power_iteration(lambda x: A @ x, v0, tol=1e-10, criteria="residual")
    assert res.notes == () and res.n_matvecs == matvecs and res.converged
    assert res.eigval == pytest.approx(float(np.max(np.diag(A))), rel=1e-9)


def test_power_iteration_residual_test_is_inclusive():
    """``criteria="residual"`` stops on ``||r|| <= tol |lambda|``: from ``e_1`` on the all-ones
    2x2 matrix ``||r|| = lambda = 1`` exactly, so ``tol = 1`` stops and one ulp less does not."""
    C = np.ones((2, 2))
    at = power_iteration(lambda x: C @ x, np.array([1.0, 0.0]), tol=1.0, criteria="residual",
                         max_iter=1)
    below = power_iteration(lambda x: C @ x, np.array([1.0, 0.0]), tol=float(np.nextafter(1.0, 0.0)),
                            criteria="residual", max_iter=1)
    assert at.converged and not below.converged and at.residual == below.residual == 1.0


def test_power_iteration_exhausted_schedule_counts_its_matvecs_and_spends_no_final_update():
    """An Algorithm 1b schedule that reaches 0 at step 3 ends the run at its fourth step with
    ``n_matvecs = n_iter = 4``; a run that uses its whole budget applies the preconditioner once
    per update, ``max_iter - 1`` times (no update after the last evaluated step)."""
    A, _ = planted_symmetric(np.array([2.0, 1.0, 0.5, 0.25]), np.random.default_rng(1))
    mv = _Calls(A)
    res = power_iteration(mv, np.ones(4) + 0.1 * np.arange(4), alpha=lambda i: 0.5 if i < 3 else 0.0,
                          tol=1e-14, criteria="residual", max_iter=50)
    assert not res.converged and res.n_iter == res.n_matvecs == mv.n == 4
    calls = []

    def precond(r):
        calls.append(1)
        return r

    res = power_iteration(lambda x: A @ x, np.ones(4) + 0.1 * np.arange(4), alpha=0.5,
                          precond=precond, tol=1e-14, criteria="residual", max_iter=5)
    assert not res.converged and res.n_iter == 5 and len(calls) == 4


def test_a_preconditioner_output_is_cast_to_the_start_vectors_dtype():
    """torch: ``P(r)`` returned in float64 for a float32 run is cast to float32 (the start's
    dtype), so the iterate and the eigenvector stay float32."""
    torch = pytest.importorskip("torch")
    A = torch.diag(torch.tensor([3.0, 1.0, 0.5], dtype=torch.float32))
    res = power_iteration(lambda x: A @ x, torch.tensor([1.0, 0.9, 0.8]), alpha=0.5,
                          precond=lambda r: r.double(), tol=1e-4, criteria="residual")
    assert res.converged and res.eigvec.dtype == torch.float32
    assert res.eigval == pytest.approx(3.0, rel=1e-3)


@pytest.mark.parametrize("solve", ["lanczos", "power_iteration", "spectral_radius"])
def test_subnormal_operators_and_starts_are_scaled_in_two_exact_steps(solve):
    """A start (or an operator) whose largest entry is below ``2^-1023`` needs a scaling factor
    ``2^k`` with ``k > 1023``, which is not a float64: it is applied as two exact powers of two
    (before: ``OverflowError: math range error``), so the solvers return what they return at unit
    size, to the precision a subnormal number keeps.  ``2^-1025`` is the largest entry whose
    factor, ``2^1024``, is the first that is not a float64.

    An operator whose outputs are subnormal keeps about 16 bits in them: the free symmetry probe
    then sees ``|u.Av - v.Au|`` of about 1e-5 of ``||A||`` and refuses (checked in the second
    part), so the answer in ``A``'s units is checked with the probe off and a tolerance above that
    noise.  Results are compared after scaling back up: ``pytest.approx`` of a subnormal number
    would pass on its absolute tolerance alone."""
    from srtheory import spectral
    from srtheory.spectral import generic_start

    fn = getattr(spectral, solve)
    A = np.diag([3.0, -1.0, 0.5])
    v = generic_start(3)
    unit = fn(lambda x: A @ x, v)
    for k in (1025, 1060):  # 2^-1060: the start keeps about 40 bits
        tiny_start = fn(lambda x: A @ x, v / np.max(np.abs(v)) * 2.0**-k)
        assert tiny_start.converged == unit.converged
        assert tiny_start.eigval == pytest.approx(unit.eigval, rel=1e-6)

    def tiny_op(x):
        return (A @ x) * 2.0**-1060

    kw = {"criteria": "residual"} if solve == "power_iteration" else {}
    res = fn(tiny_op, v, tol=1e-4, check_symmetry=False, **kw)
    assert res.converged
    assert res.eigval * 2.0**530 * 2.0**530 == pytest.approx(3.0, rel=1e-4)  # 2^1060: no float64
    assert res.residual * 2.0**530 * 2.0**530 <= 1e-4 * 3.0 * (1 + 1e-3)
    if solve != "power_iteration":  # Lanczos's probe, from its first two basis vectors
        probed = fn(tiny_op, v)  # default tol: an asymmetry above sqrt(eps) is refused
        assert not probed.converged and any("not symmetric" in s for s in probed.notes)


@pytest.mark.parametrize("offset", [1e-6, 1e-9, 1e-12, 0.0])
@pytest.mark.parametrize("spectrum", [(2.0, -2.0, 1.0, 0.5), (2.0, 1.0, -0.5, 0.25)])
def test_power_variant_finds_the_other_end_from_a_warm_start_at_the_dominant_eigenvector(
    spectrum, offset
):
    """A warm start (SRR's normal case) that is the dominant eigenvector to within ``offset``:
    the shifted second run must not start from what is left of it after projecting out the found
    eigenvector, which for ``offset < 1e-8`` is rounding.  Before the fix it started from ``v``
    itself, an eigenvector of ``A - lambda_1 I`` for 0 whose residual passes ``tol * |lambda_1|``
    at once: ``lambda_min`` came back as ``lambda_1`` and an exact ``+-rho`` tie was reported
    ``tie=False`` with ``converged=True`` (for offsets 1e-9 and 1e-12; the exact start 0.0 was
    caught by the start probe)."""
    A = np.diag(spectrum)
    v0 = np.r_[1.0, np.full(len(spectrum) - 1, offset)]
    res = spectral_radius(A, v0, method="power")
    assert res.converged
    assert res.lambda_max == pytest.approx(max(spectrum), abs=1e-9)
    assert res.lambda_min == pytest.approx(min(spectrum), abs=1e-9)
    assert res.tie == (max(spectrum) == -min(spectrum))


def test_power_variant_is_covariant_under_scaling_the_start():
    """Scaling the start by ``2^40`` changes nothing (the test of how much of ``v`` is left for
    the second run is relative to ``||v||``): every field is bit for bit the same.  The start is
    the dominant eigenvector to ``1e-10`` and the first run iterates (``tol = 1e-12``), so what is
    left of it after projecting out the found eigenvector is ``~1e-10 ||v||``: below ``1e-8
    ||v||``, so the deflated generic vector is used at either scale (an absolute threshold would
    start the scaled run from ``e_2``, an eigenvector of the shifted operator, and restart it)."""
    A = np.diag([2.0, 1.0, -1.5])
    v0 = np.array([1.0, 1e-10, 0.0])
    a = spectral_radius(A, v0, method="power", tol=1e-12)
    b = spectral_radius(A, v0 * 2.0**40, method="power", tol=1e-12)
    assert a.converged and a.lambda_min == pytest.approx(-1.5, abs=1e-11)
    assert (a.eigval, a.lambda_max, a.lambda_min, a.tie, a.residual, a.notes) == (
        b.eigval, b.lambda_max, b.lambda_min, b.tie, b.residual, b.notes
    )
    assert (a.n_iter, a.n_matvecs, a.converged) == (b.n_iter, b.n_matvecs, b.converged)
    np.testing.assert_array_equal(a.eigvec, b.eigvec)


def test_spectral_radius_default_budgets():
    """The default budget is 300 Lanczos steps (``n > 300`` shows it) and 10 000 steps per power
    run; a tolerance no run can meet (``1e-300``) spends it.  The power variant runs twice
    (the shifted run for the other end), 20 000 steps in all."""
    n = 400
    d = np.linspace(1.0, 2.0, n)
    res = spectral_radius(lambda x: d * x, np.ones(n), tol=1e-300)
    assert not res.converged and res.n_iter == 300
    res = spectral_radius(lambda x: d * x, np.ones(n), tol=1e-300, method="lanczos")
    assert res.n_iter == 300
    A = np.array([[2.0, 1.0], [1.0, -1.0]])  # eigenvectors not exact in float64: residual > 0
    res = spectral_radius(A, np.array([1.0, 0.0]), tol=1e-300, method="power")
    assert not res.converged and res.n_iter == 20_000


@pytest.mark.parametrize("c", [2.0, -2.0])
def test_power_variant_on_a_multiple_of_the_identity_returns_the_start(c):
    """``A = c I``: every vector is an eigenvector and both runs return ``c``.  At equal
    ``|lambda_max| = |lambda_min|`` without a tie the first run's pair is reported (sorting by
    eigenvalue is stable), i.e. the normalised start itself, not the shifted run's deflated
    generic vector."""
    v0 = np.array([1.0, 2.0, 3.0])
    res = spectral_radius(c * np.eye(3), v0, method="power")
    assert res.converged and not res.tie
    assert res.lambda_max == res.lambda_min == res.eigval == c
    u = v0 / np.linalg.norm(v0)
    np.testing.assert_allclose(np.sign(res.eigvec @ u) * res.eigvec, u, rtol=0, atol=1e-15)


def test_power_variant_warm_start_in_torch_builds_the_generic_start_in_the_starts_dtype():
    """torch float32: the deflated generic start of the second run (a warm start at the dominant
    eigenvector, so nothing of it is left) is made in the start's dtype and device; the tie is
    still found."""
    torch = pytest.importorskip("torch")
    A = torch.diag(torch.tensor([2.0, -2.0, 1.0, 0.5]))
    v0 = torch.tensor([1.0, 1e-9, 1e-9, 1e-9])
    res = spectral_radius(lambda x: A @ x, v0, method="power")
    assert res.converged and res.tie and res.eigvec.dtype == torch.float32
    assert (res.lambda_max, res.lambda_min) == pytest.approx((2.0, -2.0), abs=1e-3)


@pytest.mark.parametrize("lam", [2.0, -3.0])
def test_power_variant_on_a_one_by_one_operator(lam):
    """``n = 1``: nothing is left for the second run after projecting out the one eigenvector,
    not even of a generic vector, so it restarts from ``v`` and both extremes are the one
    eigenvalue."""
    res = spectral_radius(lambda x: lam * x, np.array([0.5]), method="power")
    assert res.converged and not res.tie
    assert res.lambda_max == res.lambda_min == res.eigval == lam
    assert abs(res.eigvec[0]) == 1.0
