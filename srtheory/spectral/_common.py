"""Private helpers shared by the solvers of :mod:`srtheory.spectral` (both backends).

* :class:`_Counted` -- the counted, checked and (if need be) power-of-two scaled matvec;
* :func:`_setup` -- input checks, the array operations for the start vector's type
  (:mod:`srtheory.backend`), the dtype's default tolerance;
* :class:`_Diagnosis` -- what a run noticed on the way (a restarted start, an asymmetric operator,
  a stagnated residual, an exhausted Krylov space), turned into ``EigResult.notes``;
* :func:`_start_probe` -- the probe and restart for a start vector that is already an eigenvector;
* :func:`_asymmetry` -- the free symmetry probe ``|u.Av - v.Au|`` from two products the solver has;
* :func:`_result`, :func:`_checked_pair`, the float64 constants.
"""

from __future__ import annotations

import math

import numpy as np

from srtheory._validation import positive, positive_int
from srtheory.backend import ops_for
from srtheory.spectral.result import EigResult

_EPS = float(np.finfo(np.float64).eps)
_TINY = float(np.finfo(np.float64).tiny)

# Outputs of the matvec are kept within [2^-_SAFE, 2^_SAFE] by one exact power-of-two scaling
# chosen at the first nonzero product: squares and dot products of such vectors can neither
# overflow nor underflow in float64 (2^(2*200) << 1.8e308) nor, with the float64 accumulation of
# :mod:`srtheory.backend.torch_ops`, in float32.  Inside that range nothing is scaled, so results
# are bit for bit those of an unscaled run.
_SAFE = 200


class _Counted:
    """Matvec wrapper: counts calls, hands the matvec a copy of its argument (so a matvec that
    writes into its input cannot corrupt the iteration), checks every output (finite, shape
    ``(n,)``, cast to the start vector's dtype and device) and scales it by ``scale`` (an exact
    power of two, 1 unless the operator's size is beyond ``2^+-_SAFE``)."""

    def __init__(self, mv, n: int, ops, like):
        self.mv, self.n, self.ops, self.like, self.count = mv, n, ops, like, 0
        self.shift = None  # outputs are multiplied by 2^shift; decided at the first nonzero product

    def __call__(self, v):
        self.count += 1
        y = self.ops.checked(self.mv(self.ops.copy(v)), "matvec", self.n, self.like)
        if self.shift is None:
            m = self.ops.max_abs(y)
            if m == 0.0:
                return y
            e = math.frexp(m)[1]
            self.shift = 0 if abs(e) <= _SAFE else -e
        return y if self.shift == 0 else _times_power_of_two(y, self.shift)

    @property
    def unscale(self) -> float:
        """Factor that turns a scaled eigenvalue or residual back into ``A``'s units: ``2^-shift``
        (representable: ``-shift`` is the exponent of a float64 entry)."""
        return 1.0 if self.shift is None else math.ldexp(1.0, -self.shift)


def _times_power_of_two(x, k: int):
    """``x * 2^k``, exact unless it under- or overflows; in two factors when ``2^k`` itself is not
    a normal float64 (``k > 1023``: a subnormal-sized vector scaled up to the unit range;
    ``k < -1022``)."""
    if -1022 <= k <= 1023:
        return x * math.ldexp(1.0, k)
    half = k // 2
    return (x * math.ldexp(1.0, half)) * math.ldexp(1.0, k - half)


def default_tol(ops, like, float64_default: float) -> float:
    """The solvers' default tolerance for ``like``'s dtype: ``float64_default`` in float64, and
    ``sqrt(eps)`` below it (3.5e-4 in float32), where a residual ``r`` gives the eigenvalue to
    about ``r^2/gap``, i.e. to the dtype's own accuracy."""
    e = ops.eps(like)
    return float64_default if e <= _EPS else math.sqrt(e)


def _setup(matvec, v0, tol, max_iter, *, float64_tol=None):
    """Checked ``(counted matvec, private copy of v0, tol, max_iter, ops)``; ``tol=None`` is the
    dtype's default (:func:`default_tol`)."""
    ops = ops_for(v0)
    raw, v, n = ops.prepare(matvec, v0)
    # the dtype/device reference of the matvec's outputs is the caller's own v0, not the private
    # copy v (which is replaced by its normalisation at once: holding it would cost a vector)
    if tol is None and float64_tol is not None:
        tol = default_tol(ops, v, float64_tol)
    tol = positive(tol, "tol")
    max_iter = positive_int(max_iter, "max_iter")
    m = ops.max_abs(v)
    e = math.frexp(m)[1]
    if abs(e) > _SAFE:  # a huge or tiny start: scale it exactly before it is normalised
        v = _times_power_of_two(v, -e)
    return _Counted(raw, n, ops, v0), v, tol, max_iter, ops


class _Diagnosis:
    """Notes collected during one solve (``EigResult.notes``) and the symmetry probe's value."""

    def __init__(self, check_symmetry: bool):
        self.check_symmetry = bool(check_symmetry)
        self.asymmetry: float | None = None
        self.notes: list[str] = []

    def probe(self, ops, v1, w1, v2, w2, tol) -> bool:
        """Record the relative asymmetry from ``w_i = A v_i``; True if ``A`` is not symmetric at
        the accuracy asked for (``> max(tol, sqrt(eps))``)."""
        if not self.check_symmetry or self.asymmetry is not None:
            return self.asymmetric(ops, v1, tol)
        return self.record(ops, _asymmetry(ops, v1, w1, v2, w2), v1, tol)

    def record(self, ops, asymmetry: float, like, tol) -> bool:
        """Record a measured relative asymmetry (see :meth:`probe`)."""
        if not self.check_symmetry or self.asymmetry is not None:
            return self.asymmetric(ops, like, tol)
        self.asymmetry = float(asymmetry)
        if self.asymmetric(ops, like, tol):
            self.notes.append(
                f"the operator is not symmetric: |u.Av - v.Au| = {self.asymmetry:.2e} of ||A|| "
                "(the residual and interval assume A = A^T); converged is False"
            )
        return self.asymmetric(ops, like, tol)

    def asymmetric(self, ops, like, tol) -> bool:
        if self.asymmetry is None:
            return False
        return self.asymmetry > max(tol, math.sqrt(ops.eps(like)))


def _asymmetry(ops, v1, w1, v2, w2) -> float:
    """``|v2.(A v1) - v1.(A v2)| / max(||A v1||, ||A v2||)`` for unit ``v1``, ``v2``: zero for a
    symmetric ``A`` (up to rounding), free from two products a solver already has."""
    scale = max(ops.norm(w1), ops.norm(w2))
    if scale == 0.0:
        return 0.0
    return abs(ops.dot(v2, w1) - ops.dot(v1, w2)) / scale


def _start_probe(ops, mv, v, lam: float, rn: float, wn: float, diag: _Diagnosis):
    """Is the start (unit ``v``, ``w = A v``, Rayleigh quotient ``lam``, residual ``rn``) an
    eigenvector of a *non-dominant* eigenvalue?  Returns the restart vector, or ``None`` to keep
    ``v``.

    A start that is an eigenvector to within ``sqrt(eps)`` (``rn <= sqrt(eps) ||A v||``; ``A v = 0``
    included) shows the solver nothing else of ``A``: power iteration and Lanczos would stop on
    its eigenvalue -- the paper's ``1/sqrt(n)`` in the null space of a translation-invariant
    Hessian, or a warm start that was the dominant eigenvector of the previous ``H`` and is an
    exact but no longer dominant one of this ``H`` (a loss separable along the eigenvectors).  One
    probe decides: ``y = A g`` for the unit generic vector ``g`` (:func:`generic_start`) made
    orthogonal to ``v``.  ``||A g|| <= rho ||g||``, so ``||y|| > |lam|`` proves an eigenvalue of
    larger modulus: restart from ``v + g`` (half the warm start kept, every eigenvector excited)
    and say so in the notes.  Otherwise keep ``v`` (the probe cost one matvec).  A start that is
    an eigenvector only to a looser accuracy needs nothing: its residual direction excites the
    rest of the spectrum."""
    n = mv.n
    eps = ops.eps(v)
    if n == 1 or rn > math.sqrt(eps) * wn:
        return None
    g = ops.normalize(_orthogonal_generic(ops, v, n))
    yn = ops.norm(mv(g))
    if not yn > abs(lam) * (1.0 + 10.0 * math.sqrt(n) * eps):
        return None
    u = mv.unscale
    diag.notes.append(
        f"the start vector is an eigenvector of A (eigenvalue {lam * u:.4g}, residual "
        f"{rn * u:.1e}) but not of the largest modulus (||A g|| = {yn * u:.4g} for a generic unit "
        "g): restarted from a generic vector mixed into it"
    )
    return ops.normalize(v + g)


def _orthogonal_generic(ops, u, n: int):
    """``g - (g.u) u`` for a unit ``u`` and the generic unit vector ``g`` (:func:`generic_start`),
    not normalised: a direction orthogonal to ``u`` that excites every other eigenvector.  It is
    nonzero for every ``n > 1``: should ``u`` be ``g`` itself (to ``1e-8``), ``g`` with alternating
    signs is used instead, and no unit vector is parallel to both (their cosine
    ``sum_k (-1)^k g_k^2`` lies strictly inside (-1, 1), as every ``g_k > 0``)."""
    g = generic_start(n)
    for h in (g, g * (-1.0) ** np.arange(n)):
        x = ops.from_host(h, u)
        w = x - ops.dot(x, u) * u
        if ops.norm(w) > 1e-8:
            break
    return w


def generic_start(n: int, /) -> np.ndarray:
    """A fixed, deterministic, *generic* unit vector: ``g_k ~ 1 + sin(1.7 k + 0.3) / 2``.

    Not the paper's ``1/sqrt(n)``, which on symmetric problems can be an exact eigenvector of a
    non-dominant eigenvalue (a translation-invariant loss has it in its null space); this one has
    no such structure (Lemma B assumes a start with a component on the top eigenvector)."""
    n = positive_int(n, "n")
    g = 1.0 + 0.5 * np.sin(1.7 * np.arange(n) + 0.3)
    return g / np.linalg.norm(g)


def _result(ops, mv, pair, *, n_mv, converged, n_iter, diag=None, lambda_max=None,
            lambda_min=None, tie=False):
    vec, eigval, res = pair
    u = mv.unscale
    return EigResult(
        rho=abs(float(eigval)) * u,
        eigval=float(eigval) * u,
        eigvec=ops.export(vec),
        residual=float(res) * u,
        n_matvecs=int(n_mv),
        converged=bool(converged),
        n_iter=int(n_iter),
        lambda_max=None if lambda_max is None else float(lambda_max) * u,
        lambda_min=None if lambda_min is None else float(lambda_min) * u,
        tie=bool(tie),
        asymmetry=None if diag is None else diag.asymmetry,
        notes=() if diag is None else tuple(diag.notes),
    )


def _checked_pair(ops, mv, x):
    """Normalise ``x``, apply ``A`` once, return ``(x, Rayleigh quotient, exact residual)``."""
    x = ops.normalize(x)
    y = mv(x)
    theta = ops.dot(x, y)
    return x, theta, ops.norm(ops.sub_scaled(y, x, theta))
