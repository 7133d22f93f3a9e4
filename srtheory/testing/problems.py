"""The hard-problem catalogue as plain data: symmetric operators with a known spectrum, and functions
with a known Hessian.

:func:`eigen_problems` returns one :class:`EigenProblem` per kind below.  Each is a dense symmetric
``A = Q diag(lam) Q^T`` (float64) with its exact spectrum ``lam``, a generic start vector and *the
answer*: the signed eigenvalue(s) of largest modulus that a solver for ``rho(A) = max_i |lam_i|``
may return.

==================  ================================================================================
kind                spectrum (``rho`` is the dominant modulus)
==================  ================================================================================
generic             ``lam_1 = 1``, ``|lam_2/lam_1| = 0.8``, the rest uniform in ``[-0.8, 0.8]``
negative_dominant   ``lam_1 = -3``, ``lam_2 = +2.7`` (ratio 0.9), the rest in ``[-2, 2]``: the sign
                    must be kept (``+2.7`` or ``+3`` is wrong)
near_tie            ``lam_1 = +2``, ``lam_2 = -2 (1 - 1e-3)``: the answer is ``+2``, not ``-1.998``
exact_tie           ``+2`` and ``-2`` both present: either sign is accepted (``rho`` is not
                    differentiable there, and no solver can prefer one)
repeated_top        ``+2`` three times: any unit vector of that eigenspace is an answer
clustered           top cluster ``2 (1, 1 - 1e-5, 1 - 2e-5)``, clusters at ``1`` and ``-0.6``: the
                    answer is the top member
zero                ``A = 0``: the answer is ``0`` exactly, with residual ``0``
tiny, huge          the generic spectrum scaled by ``s = tiny ** (1/4)`` resp. ``max ** (1/4)`` of
                    the dtype (float64: 1.2e-77 and 1.2e77; float32: 1.1e-10 and 1.4e9): squares of
                    the entries cannot under/overflow, absolute thresholds (1e-6, 1e-12) are far off
ill_conditioned     ``lam_1 = 1``, ``lam_2 = 0.8``, the rest log-spaced down to ``eps ** (3/4)``
                    (condition number 5e11 in float64, 1.5e5 in float32)
==================  ================================================================================

Ties and repeats: ``answers`` lists every acceptable signed eigenvalue (``(+rho, -rho)`` at an
exact tie, else the one dominant eigenvalue); a returned eigenvector is judged by its residual, so
any vector of the dominant eigenspace passes.

:func:`hvp_problems` returns :class:`HvpProblem` s for NumPy Hessian-vector products: an
``autograd``-differentiable ``f``, a point ``x`` and the dense Hessian ``H`` at ``x`` (closed form,
or :func:`srtheory.oracle.hessian`, which differentiates through autograd's Jacobian -- a code
path independent of any vector-Jacobian product under test).  The torch twins are in
:mod:`srtheory.torch.testing`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from srtheory.testing.numerics import _numpy_dtype, planted_symmetric

__all__ = ["EIGEN_KINDS", "EigenProblem", "HvpProblem", "eigen_problems", "hvp_problems"]

#: the kinds of :func:`eigen_problems`, in catalogue order
EIGEN_KINDS = (
    "generic",
    "negative_dominant",
    "near_tie",
    "exact_tie",
    "repeated_top",
    "clustered",
    "zero",
    "tiny",
    "huge",
    "ill_conditioned",
)


@dataclass(frozen=True, eq=False)
class EigenProblem:
    """A symmetric operator with a known spectrum and the answer a spectral-radius solver owes.

    Fields:
      name: unique name in its catalogue (the kind, unless several share a kind).
      kind: one of :data:`EIGEN_KINDS` (or ``"custom"``).
      A: the dense symmetric matrix, float64, ``A = Q diag(eigenvalues) Q^T`` rounded once.
      eigenvalues: the exact spectrum, sorted by decreasing ``|lam|`` (ties: larger ``lam`` first).
      eigenvectors: ``eigenvectors[:, i]`` belongs to ``eigenvalues[i]`` (orthonormal).
      v0: a generic start vector (solvers may ignore it).
      answers: every acceptable signed value of the eigenvalue of largest modulus.
      description: one line, what makes the problem hard.
    """

    name: str
    kind: str
    A: np.ndarray
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    v0: np.ndarray
    answers: tuple[float, ...]
    description: str = ""

    @property
    def n(self) -> int:
        return int(self.eigenvalues.size)

    @property
    def rho(self) -> float:
        """``max_i |lam_i|``."""
        return float(np.max(np.abs(self.eigenvalues)))

    @property
    def ratio(self) -> float:
        """``|lam_2| / |lam_1|`` (1 at a tie or a repeat, 0 for ``n = 1`` or ``A = 0``)."""
        mags = np.sort(np.abs(self.eigenvalues))[::-1]
        return float(mags[1] / mags[0]) if mags.size > 1 and mags[0] > 0 else 0.0

    @property
    def planting_error(self) -> float:
        """A bound on how far the eigenvalues of the stored ``A`` can be from ``eigenvalues``:
        forming ``Q diag(lam) Q^T`` in float64 perturbs it by at most about ``n eps ||A||`` in the
        2-norm (Weyl: eigenvalues move no more than that)."""
        return float(self.n * np.finfo(np.float64).eps * self.rho)

    def matvec(self, v, /):
        """``A v`` in float64."""
        return self.A @ v

    def __repr__(self) -> str:  # short: hypothesis and pytest print failing examples
        lam = np.array2string(self.eigenvalues[:4], precision=6, separator=", ")
        return f"EigenProblem({self.name!r}, n={self.n}, rho={self.rho:.3g}, eigenvalues[:4]={lam})"

    @classmethod
    def from_spectrum(
        cls, eigenvalues, /, *, seed: int = 0, name: str = "custom", kind: str = "custom",
        description: str = "",
    ) -> EigenProblem:
        """A problem with the given spectrum, random orthogonal eigenvectors and start vector."""
        lam = np.asarray(eigenvalues, dtype=np.float64)
        rng = np.random.default_rng(seed)
        A, Q = planted_symmetric(lam, rng)
        order = np.lexsort((-lam, -np.abs(lam)))  # decreasing |lam|, then larger lam first
        lam, Q = lam[order], Q[:, order]
        rho = float(np.max(np.abs(lam)))
        answers = (rho, -rho) if (rho > 0 and rho in lam and -rho in lam) else (float(lam[0]),)
        return cls(name, kind, A, lam, Q, rng.standard_normal(lam.size), answers, description)


@dataclass(frozen=True, eq=False)
class HvpProblem:
    """A function with a known Hessian at a point, for checking ``hvp(f, x, v) = H(x) v``.

    NumPy problems: ``f`` maps a float64 vector to a scalar (differentiable by autograd) and ``x``
    is that vector.  Torch problems (:mod:`srtheory.torch.testing`): ``f`` is a closure
    ``loss_fn()`` over the parameter list ``x``; vectors are flat tensors of the parameters' dtype.
    ``H`` is the dense Hessian at ``x`` in float64 (NumPy), whatever the backend.
    """

    name: str
    kind: str
    f: Callable
    x: Any
    H: np.ndarray
    description: str = ""
    backend: str = "numpy"
    extra: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.H.shape[0])

    @property
    def norm(self) -> float:
        """``||H||_2``, the scale of every error of :func:`~srtheory.testing.check_hvp`."""
        return float(np.max(np.abs(np.linalg.eigvalsh(self.H)))) if self.n else 0.0

    def __repr__(self) -> str:
        return f"HvpProblem({self.name!r}, n={self.n}, backend={self.backend!r})"


def eigen_problems(
    *, n: int = 40, seed: int = 0, dtype=np.float64, kinds=EIGEN_KINDS
) -> tuple[EigenProblem, ...]:
    """The catalogue: one :class:`EigenProblem` of size ``n`` per kind (see the module docstring).

    ``dtype`` only sets the scales of ``tiny``, ``huge`` and ``ill_conditioned`` (what the dtype
    can represent); the matrices are float64 and a harness rounds them to the dtype it tests.
    Deterministic for a given ``(n, seed, dtype)``.

    Example:
      >>> [p.name for p in eigen_problems(kinds=("generic", "exact_tie"))]
      ['generic', 'exact_tie']
      >>> eigen_problems(kinds=("exact_tie",))[0].answers
      (2.0, -2.0)
    """
    if not isinstance(n, (int, np.integer)) or n < 6:
        raise ValueError(f"n must be an integer >= 6 (the catalogue plants up to 5 values), got {n!r}")
    unknown = [k for k in kinds if k not in EIGEN_KINDS]
    if unknown:
        raise ValueError(f"unknown kinds {unknown}; expected some of {EIGEN_KINDS}")
    finfo = np.finfo(_numpy_dtype(dtype))
    out = []
    for i, kind in enumerate(EIGEN_KINDS):
        if kind not in kinds:
            continue
        rng = np.random.default_rng([seed, i])
        lam, desc = _SPECTRA[kind](n, rng, finfo)
        out.append(
            EigenProblem.from_spectrum(
                lam, seed=int(rng.integers(2**32)), name=kind, kind=kind, description=desc
            )
        )
    return tuple(out)


def hvp_problems(*, seed: int = 0) -> tuple[HvpProblem, ...]:
    """NumPy Hessian-vector product problems with known Hessians (autograd-differentiable ``f``).

    * ``quadratic_negative_dominant``: ``f = x^T A x / 2`` with ``A`` the catalogue's
      negative-dominant matrix (``H = A`` exactly);
    * ``nonconvex``: the README's ``sum(sin(3x) x^2) + (sum x_i x_{i+1})^2 / 2`` on 30 points;
    * ``rosenbrock``: 8-D Rosenbrock at a point off the valley, closed-form Hessian;
    * ``tanh_regression``: a 3-4-1 tanh network's mean squared error (21 weights), a genuinely
      non-quadratic loss with a third derivative;
    * ``tiny_quadratic``: the quadratic scaled by ``tiny ** (1/4)`` of float64 (an HVP with an
      absolute finite-difference step fails here).
    """
    import autograd.numpy as anp

    from srtheory.oracle import hessian

    rng = np.random.default_rng(seed)
    out = []
    A = eigen_problems(n=12, seed=seed, kinds=("negative_dominant",))[0].A
    x = rng.standard_normal(12)
    out.append(HvpProblem("quadratic_negative_dominant", "quadratic", lambda z: 0.5 * z @ (A @ z),
                          x, A.copy(), "f = x^T A x / 2, dominant eigenvalue -3"))

    def nonconvex(z):
        return anp.sum(anp.sin(3 * z) * z**2) + 0.5 * anp.sum(z[:-1] * z[1:]) ** 2

    x = np.linspace(-1.0, 1.0, 30)
    out.append(HvpProblem("nonconvex", "nonconvex", nonconvex, x, hessian(nonconvex, x),
                          "the README's non-convex function"))

    def rosen(z):
        return anp.sum(100.0 * (z[1:] - z[:-1] ** 2) ** 2 + (1.0 - z[:-1]) ** 2)

    x = np.linspace(-1.2, 1.1, 8)
    out.append(HvpProblem("rosenbrock", "nonconvex", rosen, x, _rosen_hessian(x),
                          "Rosenbrock, closed-form Hessian"))

    X = rng.standard_normal((16, 3))
    y = np.sin(X @ np.array([1.0, -0.5, 0.3]))

    def tanh_regression(w):
        W1, b1, w2, b2 = w[:12].reshape(3, 4), w[12:16], w[16:20], w[20]
        return anp.mean((anp.tanh(X @ W1 + b1) @ w2 + b2 - y) ** 2)

    x = 0.8 * rng.standard_normal(21)
    out.append(HvpProblem("tanh_regression", "network", tanh_regression, x,
                          hessian(tanh_regression, x), "3-4-1 tanh network, mean squared error"))
    s = float(np.finfo(np.float64).tiny) ** 0.25
    x = rng.standard_normal(12)
    out.append(HvpProblem("tiny_quadratic", "scale", lambda z: 0.5 * s * (z @ (A @ z)), x, s * A,
                          f"f = s x^T A x / 2 with s = {s:.1e}"))
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# private helpers
# ---------------------------------------------------------------------------------------------


def _rest(rng, n, lo, hi):
    return rng.uniform(lo, hi, n)


def _generic(n, rng, finfo):
    return np.concatenate([[1.0, -0.8], _rest(rng, n - 2, -0.8, 0.8)]), "gapped, ratio 0.8"


def _negative_dominant(n, rng, finfo):
    lam = np.concatenate([[-3.0, 2.7], _rest(rng, n - 2, -2.0, 2.0)])
    return lam, "dominant -3 with +2.7 next: the sign must be kept"


def _near_tie(n, rng, finfo):
    lam = np.concatenate([[2.0, -2.0 * (1 - 1e-3)], _rest(rng, n - 2, -1.0, 1.0)])
    return lam, "+2 against -1.998 (relative gap 1e-3)"


def _exact_tie(n, rng, finfo):
    lam = np.concatenate([[2.0, -2.0], _rest(rng, n - 2, -1.4, 1.4)])
    return lam, "+2 and -2: either sign is an answer"


def _repeated(n, rng, finfo):
    lam = np.concatenate([[2.0, 2.0, 2.0], _rest(rng, n - 3, -1.5, 1.5)])
    return lam, "+2 three times: any vector of the eigenspace"


def _clustered(n, rng, finfo):
    top = 2.0 * np.array([1.0, 1 - 1e-5, 1 - 2e-5])
    k = n - 3
    others = np.where(np.arange(k) % 2 == 0, 1.0, -0.6) * (1 + 1e-5 * rng.uniform(-1, 1, k))
    return np.concatenate([top, others]), "top three within 2e-5 of each other"


def _zero(n, rng, finfo):
    return np.zeros(n), "A = 0: answer 0, residual 0"


def _tiny(n, rng, finfo):
    s = float(finfo.tiny) ** 0.25
    lam, _ = _generic(n, rng, finfo)
    return s * lam, f"generic spectrum times {s:.1e}"


def _huge(n, rng, finfo):
    s = float(finfo.max) ** 0.25
    lam, _ = _generic(n, rng, finfo)
    return s * lam, f"generic spectrum times {s:.1e}"


def _ill_conditioned(n, rng, finfo):
    low = float(finfo.eps) ** 0.75
    lam = np.concatenate([[1.0, 0.8], np.geomspace(0.5, low, n - 2)])
    return lam, f"positive, condition number {1 / low:.1e}"


_SPECTRA = {
    "generic": _generic,
    "negative_dominant": _negative_dominant,
    "near_tie": _near_tie,
    "exact_tie": _exact_tie,
    "repeated_top": _repeated,
    "clustered": _clustered,
    "zero": _zero,
    "tiny": _tiny,
    "huge": _huge,
    "ill_conditioned": _ill_conditioned,
}


def _rosen_hessian(x):
    n = x.size
    H = np.zeros((n, n))
    for i in range(n - 1):
        H[i, i] += 1200.0 * x[i] ** 2 - 400.0 * x[i + 1] + 2.0
        H[i + 1, i + 1] += 200.0
        H[i, i + 1] = H[i + 1, i] = -400.0 * x[i]
    return H
