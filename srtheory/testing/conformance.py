"""The conformance suite: :func:`check_eigensolver` and :func:`check_hvp`, judged against exact answers.

**Eigen-solvers** (for ``rho(A) = max_i |lambda_i|``).  A solver is any callable
``solver(matvec, v0)`` returning ``(eigval, eigvec)`` or an object with ``.eigval`` and ``.eigvec``
(such as :class:`srtheory.spectral.EigResult`); it may ignore ``v0``.  The harness hands it a
counted ``matvec`` of each catalogue problem (:func:`~srtheory.testing.eigen_problems`), rounded to
the ``dtype`` under test (NumPy, or torch when ``dtype`` is a torch dtype), and judges, in float64:

1. the eigenvalue: ``|eigval - lam*| <= rtol * rho + w``, ``lam*`` the nearest acceptable answer
   (both signs at an exact tie), ``w`` the Weyl bound of the rounding of ``A`` to ``dtype`` plus
   the planting error (``n eps_64 rho``), so that only the solver's error is charged;
2. the eigenvector: the residual ``||A v - eigval v||`` of the returned pair, recomputed by
   :func:`~srtheory.testing.verify_eigenpair`, ``<= sqrt(rtol) * rho + w``.  A Rayleigh quotient is
   accurate to about ``residual^2 / gap``, so a vector good enough to give ``rtol`` on a gap of
   order ``rho`` needs a residual near ``sqrt(rtol) rho``; a stale or unrelated vector fails;
3. honesty, where the result reports them: a reported ``residual`` must agree with the recomputed
   one within 1 % plus the rounding of computing it in ``dtype`` (``10 sqrt(n) eps rho``) plus
   ``w`` -- a residual from an earlier iterate differs by the convergence factor of a step, far
   more than 1 %; ``converged=True`` on a failed case is named in the reason.

The default ``rtol`` is ``sqrt(eps)`` of ``dtype`` (:func:`~srtheory.testing.tolerance` with
``power=1/2``: 1.5e-8 in float64, 3.5e-4 in float32): scipy's ``eigsh`` and srtheory's Lanczos
reach 1e-13 or better in float64 on every problem, a solver stopped by a relative residual of
1e-4 on a gap of order ``rho`` reaches about 1e-8, and PyHessian's rule (relative change 1e-3)
lands at 1e-3 -- so the default separates an eigen-solver from an estimate.

**HVPs.**  ``hvp(f, x, v)`` must return ``H(x) v``; see :class:`~srtheory.testing.HvpProblem` for
what ``f`` and ``x`` are on each backend.  Each problem is probed along three seeded random unit
directions and the top eigenvector of ``H``; the error is ``max ||hvp - H v|| / ||H||_2`` together
with the symmetry defect ``|u^T (H w) - w^T (H u)| / ||H||_2`` of the returned products, allowance
``rtol`` (default ``sqrt(eps)`` of the problem's dtype: double backprop is at about ``100 eps``, a
central difference with a well-chosen step at about ``eps^(2/3)`` times the third-derivative
scale).

Both return a :class:`ConformanceReport`: one :class:`CaseResult` per problem (observed error,
allowance, pass/fail, matvecs, seconds, reason), printable as a table, with
:meth:`~ConformanceReport.raise_if_failed` for a pytest suite.
"""

from __future__ import annotations

import math
import platform
import time
import warnings
from dataclasses import dataclass

import numpy as np

from srtheory.testing.certificate import to_float64, verify_eigenpair
from srtheory.testing.numerics import _numpy_dtype, tolerance
from srtheory.testing.problems import EigenProblem, HvpProblem, eigen_problems, hvp_problems

__all__ = [
    "CaseResult",
    "ConformanceError",
    "ConformanceReport",
    "check_eigensolver",
    "check_hvp",
]


class ConformanceError(AssertionError):
    """A conformance check failed; the message is the report's table."""


@dataclass(frozen=True)
class CaseResult:
    """One problem of a conformance run.

    Fields:
      problem, kind: the problem's name and kind.
      passed: every check held.
      error: the observed error (eigen-solvers: ``|eigval - lam*| / rho``; HVPs: the largest
        ``||hvp - H v|| / ||H||``); absolute where the scale is 0 (the zero operator).
      allowance: what ``error`` was allowed.
      residual: eigen-solvers: the recomputed ``||A v - eigval v|| / rho``; HVPs: the symmetry
        defect ``|u^T(Hw) - w^T(Hu)| / ||H||``.
      residual_allowance: what ``residual`` was allowed.
      n_matvecs: calls of the matvec (eigen-solvers) or of ``hvp`` (HVPs).
      seconds: wall time of the solver / of the ``hvp`` calls.
      value: the returned eigenvalue (eigen-solvers), ``nan`` for HVPs.
      converged: the solver's own flag, where it reports one.
      reason: why it failed ("" when it passed).
    """

    problem: str
    kind: str
    passed: bool
    error: float
    allowance: float
    residual: float
    residual_allowance: float
    n_matvecs: int
    seconds: float
    value: float = math.nan
    converged: bool | None = None
    reason: str = ""


@dataclass(frozen=True)
class ConformanceReport:
    """The result of :func:`check_eigensolver` or :func:`check_hvp`.

    ``str(report)`` (or :meth:`table`) is a Markdown table; ``bool(report)`` is ``report.passed``.
    """

    subject: str
    check: str  # "eigensolver" or "hvp"
    dtype: str
    rtol: float
    cases: tuple[CaseResult, ...]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.cases)

    @property
    def failures(self) -> tuple[CaseResult, ...]:
        return tuple(c for c in self.cases if not c.passed)

    def __bool__(self) -> bool:
        return self.passed

    def table(self) -> str:
        """A Markdown table, one row per problem, with a heading line naming the run."""
        n_ok = sum(c.passed for c in self.cases)
        head = (
            f"{self.check} conformance of {self.subject} ({self.dtype}, rtol {self.rtol:.1e}): "
            f"{n_ok}/{len(self.cases)} passed"
        )
        if self.check == "eigensolver":
            lines = [head, "",
                     ("| problem | pass | error | allowed | residual/ρ | allowed | matvecs | seconds "
                      "| eigval | flag | reason |"),
                     "|---|---|---|---|---|---|---|---|---|---|---|"]
        else:
            lines = [head, "",
                     ("| problem | pass | error | allowed | symmetry defect | allowed | calls | "
                      "seconds | reason |"),
                     "|---|---|---|---|---|---|---|---|---|"]
        for c in self.cases:
            row = (f"| {c.problem} | {'yes' if c.passed else '**NO**'} | {_g(c.error)} | "
                   f"{_g(c.allowance)} | {_g(c.residual)} | {_g(c.residual_allowance)} | "
                   f"{c.n_matvecs} | {c.seconds:.3f} | ")
            if self.check == "eigensolver":
                flag = "–" if c.converged is None else str(c.converged)
                row += f"{c.value:+.6g} | {flag} | "
            lines.append(row + f"{c.reason} |")
        return "\n".join(lines)

    __str__ = table

    def raise_if_failed(self) -> ConformanceReport:
        """Raise :class:`ConformanceError` (an ``AssertionError``) with the table if a case
        failed; return the report otherwise."""
        if not self.passed:
            raise ConformanceError("\n" + self.table())
        return self


def check_eigensolver(
    solver,
    /,
    problems=None,
    *,
    rtol: float | None = None,
    dtype=np.float64,
    device=None,
    name: str | None = None,
    max_matvecs: int | None = None,
    raise_: bool = False,
) -> ConformanceReport:
    """Run ``solver`` on every problem and judge its answer for ``rho(A)`` (see the module docstring).

    Args:
      solver: ``solver(matvec, v0) -> (eigval, eigvec)`` or an object with ``.eigval`` and
        ``.eigvec`` (optionally ``.residual`` and ``.converged``, which are then checked too).
      problems: :class:`~srtheory.testing.EigenProblem` s (default: the whole catalogue
        :func:`~srtheory.testing.eigen_problems` for ``dtype``).
      rtol: relative eigenvalue allowance (default ``sqrt(eps(dtype))``).
      dtype: the precision and array library of ``matvec`` and ``v0``: a NumPy floating dtype, or a
        torch dtype (then tensors on ``device``).
      device: torch device (default CPU); ignored for NumPy.
      name: the solver's name in the report (default: its ``__name__``).
      max_matvecs: fail a case that used more matvecs than this (default: no limit).
      raise_: raise :class:`ConformanceError` with the table if any case failed.

    Returns:
      :class:`ConformanceReport`.

    Example:
      >>> import numpy as np, srtheory
      >>> report = check_eigensolver(srtheory.spectral_radius)
      >>> report.passed, len(report.cases)
      (True, 10)
    """
    lib = _Arrays(dtype, device)
    rtol = tolerance(lib.np_dtype, power=0.5) if rtol is None else _positive(rtol, "rtol")
    problems = eigen_problems(dtype=lib.np_dtype) if problems is None else tuple(problems)
    for p in problems:
        if not isinstance(p, EigenProblem):
            raise TypeError(f"problems must be EigenProblem objects, got {type(p).__name__}")
    cases = tuple(_eigen_case(solver, p, lib, rtol, max_matvecs) for p in problems)
    report = ConformanceReport(_name(solver, name), "eigensolver", lib.label, rtol, cases)
    return report.raise_if_failed() if raise_ else report


def check_hvp(
    hvp, /, problems=None, *, rtol: float | None = None, name: str | None = None,
    n_directions: int = 3, seed: int = 0, raise_: bool = False,
) -> ConformanceReport:
    """Check ``hvp(f, x, v) = H(x) v`` on problems with known Hessians (see the module docstring).

    Args:
      hvp: the Hessian-vector product under test.
      problems: :class:`~srtheory.testing.HvpProblem` s (default: :func:`hvp_problems`, NumPy;
        torch problems: :func:`srtheory.torch.testing.hvp_problems`).
      rtol: allowance on ``||hvp - H v|| / ||H||`` (default ``sqrt(eps)`` of the problem's dtype).
      name: the HVP's name in the report.
      n_directions: random unit directions per problem (plus the top eigenvector of ``H``).
      seed: seed of the directions.
      raise_: raise :class:`ConformanceError` with the table if any case failed.

    Example:
      >>> import autograd, autograd.numpy as anp
      >>> exact = lambda f, x, v: autograd.grad(lambda y: anp.dot(autograd.grad(f)(y), v))(x)
      >>> check_hvp(exact).passed
      True
    """
    problems = hvp_problems() if problems is None else tuple(problems)
    for p in problems:
        if not isinstance(p, HvpProblem):
            raise TypeError(f"problems must be HvpProblem objects, got {type(p).__name__}")
    dtypes = {_problem_dtype(p) for p in problems}
    label = ", ".join(sorted(str(d) for d in dtypes))
    cases = []
    used = []
    for p in problems:
        tol = tolerance(_problem_dtype(p), power=0.5) if rtol is None else _positive(rtol, "rtol")
        used.append(tol)
        cases.append(_hvp_case(hvp, p, tol, n_directions, seed))
    report = ConformanceReport(
        _name(hvp, name), "hvp", label, max(used) if used else math.nan, tuple(cases)
    )
    return report.raise_if_failed() if raise_ else report


def machine_description() -> str:
    """One line: CPU, Python, NumPy and (if importable) torch versions."""
    parts = [platform.processor() or platform.machine(), f"Python {platform.python_version()}",
             f"NumPy {np.__version__}"]
    try:
        import torch

        parts.append(f"torch {torch.__version__}")
    except ImportError:  # pragma: no cover - torch is an optional extra
        pass
    return ", ".join(parts)


# ---------------------------------------------------------------------------------------------
# private helpers
# ---------------------------------------------------------------------------------------------


class _Arrays:
    """The array library of a run: NumPy or torch, one dtype, one device."""

    def __init__(self, dtype, device):
        self.torch = type(dtype).__module__.partition(".")[0] == "torch"
        self.np_dtype = _numpy_dtype(dtype)
        if not np.issubdtype(self.np_dtype, np.floating):
            raise ValueError(f"dtype must be a floating dtype, got {dtype!r}")
        self.dtype, self.device = dtype, device
        self.label = f"torch.{self.np_dtype.name}" if self.torch else f"numpy.{self.np_dtype.name}"

    def array(self, x):
        """``x`` in this run's library and dtype (an overflow shows up as inf, checked by the
        caller, rather than as a warning)."""
        if self.torch:
            import torch

            return torch.as_tensor(np.asarray(x), dtype=self.dtype, device=self.device or "cpu")
        with np.errstate(over="ignore"):
            return np.asarray(x).astype(self.np_dtype)


class _CountedMatvec:
    def __init__(self, M):
        self.M, self.count = M, 0

    def __call__(self, v):
        self.count += 1
        return self.M @ v


def _eigen_case(solver, p: EigenProblem, lib: _Arrays, rtol, max_matvecs) -> CaseResult:
    M = lib.array(p.A)
    rounded = to_float64(M)
    if not np.all(np.isfinite(rounded)):
        raise ValueError(f"problem {p.name!r} does not fit in {lib.label}; use eigen_problems(dtype=...)")
    # Weyl: the eigenvalues of the rounded matrix are within ||A - fl(A)||_2 of A's, which are
    # within the planting error of p.eigenvalues.
    weyl = float(np.linalg.norm(rounded - p.A, 2)) + p.planting_error
    mv = _CountedMatvec(M)
    rho = p.rho
    scale = rho if rho > 0 else 1.0  # the zero operator is judged in absolute terms
    allow = rtol * rho / scale + weyl / scale
    r_allow = math.sqrt(rtol) * rho / scale + weyl / scale
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = solver(mv, lib.array(p.v0))
        seconds = time.perf_counter() - t0
        eigval, eigvec, reported, converged = _unpack(out)
    except Exception as exc:  # noqa: BLE001 -- any failure of the solver is a failed case
        return CaseResult(p.name, p.kind, False, math.inf, allow, math.inf, r_allow, mv.count,
                          time.perf_counter() - t0, reason=f"raised {type(exc).__name__}: {exc}"[:200])
    try:
        cert = verify_eigenpair(p.A, eigval, eigvec)
    except ValueError as exc:
        return CaseResult(p.name, p.kind, False, math.inf, allow, math.inf, r_allow, mv.count,
                          seconds, eigval, converged,
                          "; ".join([f"no eigenpair: {exc}"] + _warned(caught)))
    target = min(p.answers, key=lambda a: abs(a - eigval))
    err = abs(eigval - target) / scale
    res = cert.residual / scale
    reasons = []
    if not err <= allow:
        reasons.append(f"eigenvalue {eigval:+.10g}, answer {target:+.10g}")
    if not res <= r_allow:
        reasons.append("eigenvector residual too large")
    if reported is not None:
        # computing ||Av - lam v|| in the working precision: about sqrt(n) eps rho of rounding
        slack = 0.01 * cert.residual + tolerance(lib.np_dtype, factor=10 * math.sqrt(p.n)) * rho + weyl
        if not abs(reported - cert.residual) <= slack:
            reasons.append(f"reported residual {reported:.2e}, recomputed {cert.residual:.2e}")
    if max_matvecs is not None and mv.count > max_matvecs:
        reasons.append(f"{mv.count} matvecs > {max_matvecs}")
    if reasons and converged:
        reasons.append("yet converged=True")
    passed = not reasons
    reasons += _warned(caught)
    return CaseResult(p.name, p.kind, passed, err, allow, res, r_allow, mv.count, seconds,
                      eigval, converged, "; ".join(reasons))


def _unpack(out):
    """``(eigval, eigvec, reported residual or None, converged or None)`` of a solver's output."""
    if hasattr(out, "eigval") and hasattr(out, "eigvec"):
        eigval, eigvec = out.eigval, out.eigvec
    elif isinstance(out, tuple) and len(out) == 2:
        eigval, eigvec = out
    else:
        raise TypeError(
            "a solver must return (eigval, eigvec) or an object with .eigval and .eigvec, got "
            f"{type(out).__name__}"
        )
    lam = to_float64(eigval).reshape(-1)
    if lam.size != 1:
        raise TypeError(f"eigval must be one number, got {lam.size}")
    vec = to_float64(eigvec)
    if vec.ndim == 2 and 1 in vec.shape:
        vec = vec.reshape(-1)
    reported = getattr(out, "residual", None)
    reported = None if reported is None else float(to_float64(reported).reshape(-1)[0])
    converged = getattr(out, "converged", None)
    if converged is not None:
        converged = bool(to_float64(converged).reshape(-1)[0])
    return float(lam[0]), vec, reported, converged


def _hvp_case(hvp, p: HvpProblem, rtol, n_directions, seed) -> CaseResult:
    rng = np.random.default_rng([seed, p.n])
    dirs = [d / np.linalg.norm(d) for d in rng.standard_normal((n_directions, p.n))]
    dirs.append(np.linalg.eigh(p.H)[1][:, np.argmax(np.abs(np.linalg.eigvalsh(p.H)))])
    scale = p.norm if p.norm > 0 else 1.0
    to_backend = _vector_maker(p)
    outs, calls = [], 0
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for d in dirs:
                calls += 1
                outs.append(to_float64(hvp(p.f, p.x, to_backend(d))).reshape(-1))
        seconds = time.perf_counter() - t0
    except Exception as exc:  # noqa: BLE001 -- any failure of the HVP is a failed case
        return CaseResult(p.name, p.kind, False, math.inf, rtol, math.inf, rtol, calls,
                          time.perf_counter() - t0, reason=f"raised {type(exc).__name__}: {exc}"[:200])
    reasons = []
    if any(o.shape != (p.n,) for o in outs):
        return CaseResult(p.name, p.kind, False, math.inf, rtol, math.inf, rtol, calls, seconds,
                          reason=f"returned shape {outs[0].shape}, expected ({p.n},)")
    err = max(float(np.linalg.norm(o - p.H @ d)) for o, d in zip(outs, dirs)) / scale
    sym = abs(float(dirs[0] @ outs[1] - dirs[1] @ outs[0])) / scale if len(dirs) > 1 else 0.0
    if not err <= rtol:
        reasons.append("H v wrong")
    if not sym <= rtol:
        reasons.append("products not symmetric")
    passed = not reasons
    return CaseResult(p.name, p.kind, passed, err, rtol, sym, rtol, calls, seconds,
                      reason="; ".join(reasons + _warned(caught)))


def _warned(caught) -> list[str]:
    """What the code under test warned (recorded, never raised: a warning alone fails nothing)."""
    seen = []
    for w in caught:
        text = f"warned {w.category.__name__}: {str(w.message)[:80]}"
        if text not in seen:
            seen.append(text)
    return seen[:2]


def _problem_dtype(p: HvpProblem):
    if p.backend == "torch":
        return _numpy_dtype(p.x[0].dtype)
    return np.asarray(p.x).dtype


def _vector_maker(p: HvpProblem):
    if p.backend == "torch":
        import torch

        ref = p.x[0]
        return lambda d: torch.as_tensor(d, dtype=ref.dtype, device=ref.device)
    dt = np.asarray(p.x).dtype
    return lambda d: np.asarray(d, dtype=dt)


def _name(obj, name):
    if name is not None:
        return name
    return getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or repr(obj)


def _positive(x, what):
    x = float(x)
    if not x > 0 or not math.isfinite(x):
        raise ValueError(f"{what} must be a positive finite number, got {x!r}")
    return x


def _g(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.1e}"
