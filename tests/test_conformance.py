"""srtheory.testing's conformance suite: the catalogue is what it says, the certificate is sound,
srtheory's own solvers pass, and every deliberately broken solver or HVP fails (negative controls)."""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from hypothesis import given, settings

import srtheory
import srtheory.testing as st
from srtheory.testing import strategies as sts

# ------------------------------------------------------------------ the catalogue


def test_catalogue_has_every_kind_with_its_exact_spectrum():
    problems = st.eigen_problems()
    assert [p.name for p in problems] == list(st.EIGEN_KINDS)
    for p in problems:
        lam = np.linalg.eigvalsh(p.A)
        # the stored matrix has the planted spectrum up to the planting error n eps rho
        np.testing.assert_allclose(lam, np.sort(p.eigenvalues), rtol=0, atol=p.planting_error + 1e-300)
        np.testing.assert_array_equal(p.A, p.A.T)
        assert abs(p.answers[0]) == p.rho
        assert np.all(np.diff(np.abs(p.eigenvalues)) <= 0), "sorted by decreasing |lambda|"


def test_catalogue_answers_encode_sign_and_ties():
    by = {p.name: p for p in st.eigen_problems()}
    assert by["negative_dominant"].answers == (-3.0,)
    assert by["exact_tie"].answers == (2.0, -2.0)
    assert by["near_tie"].answers == (2.0,)
    assert by["repeated_top"].ratio == 1.0
    assert by["zero"].rho == 0.0 and by["zero"].answers == (0.0,)
    assert by["tiny"].rho == pytest.approx(np.finfo(np.float64).tiny ** 0.25)
    f32 = {p.name: p for p in st.eigen_problems(dtype=np.float32)}
    assert f32["huge"].rho == pytest.approx(float(np.finfo(np.float32).max) ** 0.25)


@pytest.mark.parametrize("bad", [{"n": 3}, {"kinds": ("generic", "nope")}, {"n": 2.5}])
def test_catalogue_rejects_bad_arguments(bad):
    with pytest.raises(ValueError):
        st.eigen_problems(**bad)


def test_hvp_problems_hessians_are_exact():
    """The stored H equals autograd's Hessian (the README function, Rosenbrock in closed form)."""
    for p in st.hvp_problems():
        H = srtheory.oracle.hessian(p.f, p.x)
        # observed <= 1e-16 ||H|| (Rosenbrock; the others are formed by the same autograd call);
        # factor 10 (2.2e-15) leaves room for another summation order, nothing more
        np.testing.assert_allclose(H, p.H, rtol=0, atol=st.tolerance(factor=10) * max(p.norm, 1e-300))


def test_docstring_examples():
    import doctest

    from srtheory.testing import certificate, conformance, problems

    for mod in (problems, certificate, conformance):
        result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0 and result.attempted > 0, mod.__name__


# ------------------------------------------------------------------ the certificate


@given(sts.planted(max_n=40))
def test_certificate_interval_contains_an_eigenvalue(prob):
    """Krylov--Bogoliubov: for any unit v and theta, [theta - r, theta + r] holds an eigenvalue."""
    rng = np.random.default_rng(0)
    v = prob.Q[:, 0] + 0.1 * rng.standard_normal(prob.eigenvalues.size)
    theta = float(v @ prob.A @ v / (v @ v)) * 1.01
    cert = st.verify_eigenpair(prob.A, theta, v)
    lo, hi = cert.interval
    # the residual is computed in float64: about n eps rho of rounding (factor 100 is margin)
    slack = st.tolerance(factor=100) * prob.rho * prob.eigenvalues.size
    assert np.any((prob.eigenvalues >= lo - slack) & (prob.eigenvalues <= hi + slack))


def test_certificate_dominance_just_inside_and_just_outside():
    A = np.diag([-3.0, 1.0, 0.5])
    v = np.array([1.0, 1e-3, 0.0])
    cert = st.verify_eigenpair(lambda x: A @ x, -3.0, v, bound_rest=1.0)
    assert cert.dominant and cert.rho_interval[0] <= 3.0 <= cert.rho_interval[1]
    assert cert.residual == pytest.approx(4e-3, rel=1e-3)  # |(A v - theta v)| = 4e-3 |v_2| / |v|
    # dominant iff |theta| - r > bound_rest: a bound just below 3 - r certifies, just above does not
    assert st.verify_eigenpair(A, -3.0, v, bound_rest=3.0 - cert.residual * 1.001).dominant is True
    assert st.verify_eigenpair(A, -3.0, v, bound_rest=3.0 - cert.residual * 0.999).dominant is False
    assert st.verify_eigenpair(A, -3.0, v).dominant is None


@pytest.mark.parametrize("vec", [np.zeros(3), np.array([np.nan, 1.0, 0.0])])
def test_certificate_rejects_a_non_vector(vec):
    with pytest.raises(ValueError):
        st.verify_eigenpair(np.eye(3), 1.0, vec)


# ------------------------------------------------------------------ srtheory's own solvers pass


@pytest.mark.parametrize("solver", [srtheory.spectral_radius, srtheory.lanczos], ids=["spectral_radius", "lanczos"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_srtheory_solvers_pass_the_catalogue(solver, dtype):
    report = st.check_eigensolver(solver, dtype=dtype).raise_if_failed()
    assert len(report.cases) == len(st.EIGEN_KINDS)


@st.eigensolver_cases()
def test_the_one_line_parametrization(problem):
    """What a third-party suite writes: one pytest case per catalogue problem."""
    st.check_eigensolver(srtheory.spectral_radius, [problem], raise_=True)


@settings(max_examples=15)
@given(sts.eigen_problem(kinds=("generic", "negative_dominant", "near_tie", "exact_tie"), max_n=60))
def test_spectral_radius_passes_drawn_problems(problem):
    st.check_eigensolver(srtheory.spectral_radius, [problem], raise_=True)


@settings(max_examples=20)
@given(sts.catalogue_problem())
def test_lanczos_passes_drawn_catalogue_problems(problem):
    st.check_eigensolver(srtheory.lanczos, [problem], raise_=True)


def test_tuple_protocol_and_column_vectors():
    """(eigval, eigvec) with eigval a length-1 array and eigvec n x 1, as scipy's eigsh returns."""
    from scipy.sparse.linalg import LinearOperator, eigsh

    def solver(matvec, v0):
        n = v0.size
        return eigsh(LinearOperator((n, n), matvec=matvec, dtype=float), k=1, which="LM", v0=v0)

    report = st.check_eigensolver(solver, st.eigen_problems(kinds=("generic", "negative_dominant")))
    assert report.passed, report
    assert all(c.n_matvecs > 1 for c in report.cases)


def test_report_table_and_raise():
    report = st.check_eigensolver(_sign_dropped, st.eigen_problems(kinds=("generic", "negative_dominant")))
    text = str(report)
    assert "1/2 passed" in text and "| negative_dominant | **NO** |" in text
    with pytest.raises(st.ConformanceError, match="negative_dominant"):
        report.raise_if_failed()
    with pytest.raises(AssertionError):
        st.check_eigensolver(_sign_dropped, st.eigen_problems(kinds=("negative_dominant",)), raise_=True)
    assert not report and report.failures[0].problem == "negative_dominant"


def test_a_solver_that_raises_or_returns_junk_fails_without_crashing():
    def boom(matvec, v0):
        raise RuntimeError("no")

    def junk(matvec, v0):
        return 1.0

    for bad, reason in ((boom, "raised RuntimeError"), (junk, "raised TypeError")):
        report = st.check_eigensolver(bad, st.eigen_problems(kinds=("generic",)))
        assert not report.passed and report.cases[0].reason.startswith(reason)


def test_max_matvecs_budget():
    report = st.check_eigensolver(srtheory.spectral_radius, st.eigen_problems(kinds=("generic",)), max_matvecs=5)
    assert not report.passed and "> 5" in report.cases[0].reason


@pytest.mark.parametrize("rtol", [0.0, -1.0, float("nan")])
def test_bad_rtol_is_rejected(rtol):
    with pytest.raises(ValueError, match="rtol"):
        st.check_eigensolver(srtheory.spectral_radius, rtol=rtol)


# ------------------------------------------------------------------ negative controls: eigen-solvers


def _sign_dropped(matvec, v0):
    """The authors'-code mistake: report rho = |lambda| as the eigenvalue."""
    r = srtheory.spectral_radius(matvec, v0)
    return r.rho, r.eigvec


def _stale_residual(matvec, v0):
    """An accurate pair reported with the residual of an earlier iterate (3 Lanczos steps)."""
    early = srtheory.lanczos(matvec, v0, max_iter=3)
    return srtheory.spectral_radius(matvec, v0)._replace(residual=early.residual)


def _early_stop(matvec, v0):
    """Power iteration stopped after 10 steps, whatever the residual."""
    v = v0 / np.linalg.norm(v0)
    for _ in range(10):
        w = matvec(v)
        v = w / np.linalg.norm(w)
    return float(v @ matvec(v)), v


def _two_step_lanczos(matvec, v0):
    """hessian-eigenthings' lanczos(k=1) default: two Lanczos steps."""
    return srtheory.lanczos(matvec, v0, max_iter=2)


@pytest.mark.parametrize(
    "broken, must_fail",
    [
        (_sign_dropped, {"negative_dominant"}),
        (_stale_residual, {"generic", "negative_dominant", "ill_conditioned"}),
        (_early_stop, {"generic", "negative_dominant", "near_tie", "exact_tie"}),
        (_two_step_lanczos, {"generic", "negative_dominant", "near_tie", "clustered"}),
    ],
    ids=["sign_dropped", "stale_residual", "early_stop", "two_step_lanczos"],
)
def test_negative_control_broken_eigensolver_fails(broken, must_fail):
    report = st.check_eigensolver(broken)
    failed = {c.problem for c in report.failures}
    assert must_fail <= failed, report
    if broken is _stale_residual:  # accurate, so only the honesty check can catch it
        assert all("reported residual" in c.reason for c in report.failures), report


def test_sign_dropped_passes_the_exact_tie():
    """At an exact +-rho tie either sign is an answer: the control fails only where it should."""
    report = st.check_eigensolver(_sign_dropped, st.eigen_problems(kinds=("exact_tie", "generic")))
    assert report.passed, report


# ------------------------------------------------------------------ HVPs


def _exact_hvp(f, x, v):
    return autograd.grad(lambda y: anp.dot(autograd.grad(f)(y), v))(x)


def _central_difference_hvp(f, x, v):
    g = autograd.grad(f)
    eps = st.tolerance(power=1 / 3) * max(1.0, np.linalg.norm(x)) / np.linalg.norm(v)
    return (g(x + eps * v) - g(x - eps * v)) / (2 * eps)


def test_exact_and_central_difference_hvps_pass():
    st.check_hvp(_exact_hvp, raise_=True)
    st.check_hvp(_central_difference_hvp, raise_=True)


def _perturbed_hvp(f, x, v):
    """The exact product plus 1e-3 of the direction (autograd's own negative control)."""
    return _exact_hvp(f, x, v) + 1e-3 * np.abs(_exact_hvp(f, x, v)).max() * v


def _forward_difference_hvp(f, x, v):
    """A one-sided difference with an absolute step: O(eps) truncation, no scaling."""
    g = autograd.grad(f)
    return (g(x + 1e-4 * v) - g(x)) / 1e-4


def _gradient_instead_of_hvp(f, x, v):
    return autograd.grad(f)(x)


@pytest.mark.parametrize(
    "broken, must_fail",
    [
        (_perturbed_hvp, {"quadratic_negative_dominant", "nonconvex", "rosenbrock", "tanh_regression"}),
        (_forward_difference_hvp, {"nonconvex", "rosenbrock", "tanh_regression"}),
        (_gradient_instead_of_hvp, {p.name for p in st.hvp_problems()}),
    ],
    ids=["perturbed_1e-3", "forward_difference", "gradient_instead"],
)
def test_negative_control_wrong_hvp_fails(broken, must_fail):
    report = st.check_hvp(broken)
    assert must_fail <= {c.problem for c in report.failures}, report


def test_hvp_cases_parametrization():
    mark = st.hvp_cases()
    assert mark.args[0] == "problem" and len(mark.args[1]) == len(st.hvp_problems())


def test_strategies_module_is_reexported_by_tests_strategies():
    import strategies

    assert strategies.planted is sts.planted and st.strategies is sts


# ------------------------------------------------------------------ the README's promises


def _readme_block(marker):
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    m = re.search(rf"<!-- {marker} -->\s*```python\n(.*?)```", text, flags=re.DOTALL)
    assert m, f"README has no {marker} block"
    return m.group(1)


def test_readme_conformance_example_runs_in_under_ten_lines():
    import subprocess
    import sys

    code = _readme_block("conformance-example")
    lines = [ln for ln in code.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    assert len(lines) <= 10, lines
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "eigensolver conformance of my_solver" in proc.stdout


def test_readme_pytest_block_runs_one_case_per_problem(tmp_path):
    import subprocess
    import sys

    (tmp_path / "test_my_backend.py").write_text(_readme_block("conformance-pytest"))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{len(st.EIGEN_KINDS)} passed" in proc.stdout


def test_importing_srtheory_testing_stays_light():
    """hypothesis, pytest and torch are optional: importing the package pulls in none of them."""
    import subprocess
    import sys

    code = ("import sys, srtheory.testing as st; st.eigen_problems(); "
            "bad = [m for m in ('hypothesis', 'pytest', 'torch') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_recorded_conformance_document():
    """srtheory/CONFORMANCE.md is the command's output, and srtheory's certified rows pass in it."""
    from pathlib import Path

    doc = Path(__file__).resolve().parents[1] / "srtheory" / "CONFORMANCE.md"
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Conformance of eigen-solvers and Hessian-vector products")
    assert "Generated by `srtheory conformance" in text and "Machine:" in text
    n = len(st.EIGEN_KINDS)
    for dtype in ("float64", "float32"):
        assert f"| srtheory spectral_radius | {dtype} | {n}/{n} |" in text
        assert f"| srtheory lanczos | {dtype} | {n}/{n} |" in text


def test_a_float64_catalogue_that_does_not_fit_float32_is_refused():
    huge64 = st.eigen_problems(kinds=("huge",))  # 1.2e77 overflows float32
    with pytest.raises(ValueError, match="does not fit"):
        st.check_eigensolver(srtheory.lanczos, huge64, dtype=np.float32)
