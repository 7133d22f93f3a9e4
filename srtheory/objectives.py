"""A zoo of small non-convex objectives with what is known about them stored next to them.

Each entry is an :class:`Objective` (frozen): the function ``f`` (written with
``autograd.numpy``), its dimension, a suggested start ``x0``, the known minima (and saddles) as
:class:`KnownMinimum` records (point, value, Hessian spectrum, ``rho = max |lambda|``, a label,
the precision to which the record is known) and, where one exists, the Lipschitz constant of the
gradient.  Minibatch objectives (:class:`StochasticObjective`) add ``loss(x, batch)``,
``n_samples`` and ``batches(rng, batch_size)``.

The zoo serves the regularized objective of SRR_NOTES §4, ``h = f + mu * max(0, rho(H) - K)``:

``sharp_flat_1d``, ``sharp_flat_2d``
    ``f(x) = (b/2)|x|^2 - a exp(-|x - c|^2 / (2 s^2))``: a wide quadratic bowl (the flat minimum,
    ``rho ~ b``) with a narrow Gaussian hole on its slope (the sharp, deeper minimum,
    ``rho ~ b + a/s^2``).  On the axis through 0 and c the Hessian eigenvalues are, with
    ``t = x1 - c1`` and ``e = exp(-t^2/(2 s^2))``,

        radial      b + (a/s^2)(1 - t^2/s^2) e      (the 1-D second derivative)
        tangential  b + (a/s^2) e                    (2-D only)

    so in 2-D, wherever the tangential one dominates, ``rho = b + (a/s^2) e`` and (K = 0)

        h = f + mu rho = (b/2)|x|^2 - a (1 - mu/s^2) e + mu b,

    i.e. the penalty only makes the hole shallower, with depth ``a' = a (1 - mu/s^2)``.  The hole
    stops being a local minimum of h when ``a'`` reaches the depth ``a_crit`` at which the hole's
    minimum and the barrier merge: with ``tau = c1 - x1`` the double root of
    ``b (c1 - tau) = (a'/s^2) tau exp(-tau^2/(2 s^2))`` satisfies (eliminate ``a'``)

        tau^3 - c1 tau^2 + c1 s^2 = 0,    a_crit = b s^2 exp(tau^2/(2 s^2)) / (tau^2/s^2 - 1),

    (the root with ``s < tau`` closest to ``s``), hence the escape threshold
    ``mu_escape = s^2 (1 - a_crit / a)`` stored in ``extras``.  ``extras["mu_prefer"]`` is the
    smaller threshold ``(f_flat - f_sharp) / (rho_sharp - rho_flat)`` above which h is lower at the
    flat minimum than at the sharp one (h evaluated at both minima of f): between the two SRR
    prefers the flat basin globally but gradient descent on h still sits in the hole.

    In one dimension ``rho = |f''|`` vanishes at the inflection point between the hole and the
    barrier, where h increases like f: gradient descent on h can never leave the sharp basin for
    any mu, and for large mu the iterate slides from the sharp bottom to the inflection point
    (``extras["inflection_points"]``): the trap of the issue, shown, not assumed.
``negative_ridge``
    ``(x1^2 - 1)^2 + (g/2) x2^2``: near the ridge ``|x1| < 1/2`` the dominant eigenvalue
    ``12 x1^2 - 4`` is negative, so ``grad rho = -grad lambda`` (the sign of Lemma A matters).
``isotropic_cubic``
    ``|x|^2/2 + (k/3)(x1^3 - 3 x1 x2^2)``: ``H = I + 2k [[x1, -x2], [-x2, -x1]]`` has eigenvalues
    ``1 +- 2k|x|``; at the minimum 0 the top eigenvalue is repeated and ``rho = 1 + 2k|x|`` is a
    cone, not differentiable: gradient descent on h chatters there.
``rosenbrock``, ``saddle_quartic``
    the classic valley (minimum (1, 1), exact spectrum ``(1002 +- sqrt(1002404))/2``) and
    ``sum_i w_i (x_i^2 - 1)^2 / 4`` with 3^n known critical points (2^n minima, saddles, a maximum).
``matrix_factorization``
    ``||u v^T - sigma p q^T||_F^2 / 2`` (u, v in R^2): every ``u = t sqrt(sigma) p``,
    ``v = sqrt(sigma) q / t`` is a global minimum (f = 0) with ``rho = sigma (t^2 + 1/t^2)``; the
    balanced one (t = 1) has the lowest rho.  Gradient flow conserves ``|u|^2 - |v|^2``.
``mlp_*``
    one-hidden-layer tanh / sigmoid / softplus nets on seeded synthetic data (regression:
    teacher of the same shape, no noise, so the teacher weights are a global minimum with f = 0;
    classification: logistic loss on the teacher's signs), with minibatches.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import autograd.numpy as anp
import numpy as np
from scipy.optimize import brentq

__all__ = ["ZOO", "KnownMinimum", "Objective", "StochasticObjective", "get", "names"]


@dataclass(frozen=True, eq=False)
class KnownMinimum:
    """A critical point known in closed form or to ``precision`` (absolute, on x, f and eigenvalues).

    ``hessian_eigs`` ascending; ``rho = max |hessian_eigs|`` (SRR_NOTES §4), or ``None`` where
    not known.  ``label`` says which one it is ("sharp", "flat", "balanced", "saddle", ...).
    """

    x: np.ndarray
    f: float
    rho: float | None
    hessian_eigs: np.ndarray | None
    label: str
    precision: float = 0.0


@dataclass(frozen=True, eq=False)
class Objective:
    """A deterministic objective ``f: R^dim -> R`` with what is known about it."""

    name: str
    f: Callable[[np.ndarray], float]
    dim: int
    x0: np.ndarray
    minima: tuple[KnownMinimum, ...] = ()
    lipschitz_grad: float | None = None
    notes: str = ""
    saddles: tuple[KnownMinimum, ...] = ()
    extras: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    bounds: tuple[tuple[float, float], ...] | None = None  # a box worth plotting (2-D)

    def minimum(self, label: str) -> KnownMinimum:
        """The stored minimum with this label (``ValueError`` naming the labels there are)."""
        for m in self.minima:
            if m.label == label:
                return m
        raise ValueError(f"{self.name} has no minimum labelled {label!r}; labels: "
                         f"{[m.label for m in self.minima]}")


@dataclass(frozen=True, eq=False)
class StochasticObjective(Objective):
    """An empirical risk ``f(x) = (1/N) sum_i l(x; xi_i)`` that also offers minibatches (f_B of §4).

    ``loss(x, batch)`` is the mean loss over the sample indices ``batch``; ``f(x)`` is the same
    over all ``n_samples`` training samples; ``val_loss(x)`` over a held-out validation set.
    """

    loss: Callable[[np.ndarray, np.ndarray], float] | None = None
    n_samples: int = 0
    val_loss: Callable[[np.ndarray], float] | None = None
    task: str = "regression"
    accuracy: Callable[..., float] | None = None

    def batches(self, rng: np.random.Generator, batch_size: int) -> Iterator[np.ndarray]:
        """One epoch of index batches: a permutation drawn from ``rng``, cut into ``batch_size``
        pieces (the last one may be smaller)."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
        perm = rng.permutation(self.n_samples)
        for start in range(0, self.n_samples, int(batch_size)):
            yield perm[start:start + int(batch_size)]


# ---------------------------------------------------------------- registry

ZOO: dict[str, Objective] = {}


def get(name: str, /) -> Objective:
    """The zoo entry called ``name`` (``ValueError`` listing the names otherwise)."""
    try:
        return ZOO[name]
    except KeyError:
        raise ValueError(f"unknown objective {name!r}; expected one of {sorted(ZOO)}") from None


def names() -> list[str]:
    """Sorted names of the zoo."""
    return sorted(ZOO)


def _register(obj: Objective) -> Objective:
    ZOO[obj.name] = obj
    return obj


def _frozen(a) -> np.ndarray:
    arr = np.array(a, dtype=np.float64)
    arr.setflags(write=False)
    return arr


# ---------------------------------------------------------------- bowl with a Gaussian hole

_B, _A, _C1, _S = 1.0, 1.5, 1.5, 0.25  # bowl curvature, hole depth, hole centre, hole width
_ROOT_TOL = 4.0 * np.finfo(float).eps  # brentq xtol, relative: the stored points are exact to ~1e-15


def _hole_1d(x, b=_B, a=_A, c=_C1, s=_S):
    """f, f', f'' and the 2-D tangential eigenvalue of the bowl + hole along its axis (floats)."""
    t = x - c
    e = math.exp(-t * t / (2 * s * s))
    f = 0.5 * b * x * x - a * e
    df = b * x + (a / s**2) * t * e
    d2f = b + (a / s**2) * (1 - t * t / s**2) * e
    tang = b + (a / s**2) * e
    return f, df, d2f, tang


def _axis_roots():
    """Critical points of the axis function (flat minimum, barrier, sharp minimum) and the
    inflection points of the hole, by bracketed root finding on closed-form derivatives."""
    df = lambda x: _hole_1d(x)[1]
    d2f = lambda x: _hole_1d(x)[2]
    grid = np.linspace(-1.0, 3.0, 4001)
    vals = np.array([df(g) for g in grid])
    crit = [brentq(df, grid[i], grid[i + 1], xtol=1e-300, rtol=_ROOT_TOL)
            for i in range(grid.size - 1) if vals[i] == 0 or vals[i] * vals[i + 1] < 0]
    vals2 = np.array([d2f(g) for g in grid])
    infl = [brentq(d2f, grid[i], grid[i + 1], xtol=1e-300, rtol=_ROOT_TOL)
            for i in range(grid.size - 1) if vals2[i] * vals2[i + 1] < 0]
    return sorted(crit), sorted(infl)


def _escape_threshold(b=_B, a=_A, c=_C1, s=_S) -> tuple[float, float, float]:
    """(mu_escape, tau, a_crit) from the cubic tau^3 - c tau^2 + c s^2 = 0 (module docstring)."""
    roots = np.roots([1.0, -c, 0.0, c * s * s])
    real = sorted(r.real for r in roots if abs(r.imag) < 1e-12 and s < r.real < c)
    tau = brentq(lambda t: t**3 - c * t * t + c * s * s, real[0] - 1e-6, real[0] + 1e-6,
                 xtol=1e-300, rtol=_ROOT_TOL)
    a_crit = b * s * s * math.exp(tau * tau / (2 * s * s)) / (tau * tau / (s * s) - 1.0)
    return s * s * (1.0 - a_crit / a), tau, a_crit


def _make_sharp_flat():
    (x_flat, x_barrier, x_sharp), infl = _axis_roots()
    prec = 1e-12
    # 1-D: H = f''
    recs1 = {}
    for x, label in ((x_flat, "flat"), (x_sharp, "sharp"), (x_barrier, "saddle")):
        f, _, d2f, tang = _hole_1d(x)
        recs1[label] = KnownMinimum(_frozen([x]), f, abs(d2f), _frozen([d2f]), label, prec)
    mu_prefer_1d = (recs1["flat"].f - recs1["sharp"].f) / (recs1["sharp"].rho - recs1["flat"].rho)

    def f1(x):
        t = x[0] - _C1
        return 0.5 * _B * x[0] ** 2 - _A * anp.exp(-t * t / (2 * _S**2))

    ob1 = Objective(
        name="sharp_flat_1d", f=f1, dim=1, x0=_frozen([x_sharp]),
        minima=(recs1["sharp"], recs1["flat"]), saddles=(recs1["saddle"],),
        lipschitz_grad=_B + _A / _S**2,
        notes="bowl b x^2/2 with a Gaussian hole (depth a, width s) at c; in 1-D rho = |f''| "
              "vanishes at the inflection points, so GD on h never leaves the hole and large mu "
              "slides to an inflection point (module docstring)",
        extras=MappingProxyType({
            "b": _B, "a": _A, "c": _C1, "s": _S,
            "mu_prefer": mu_prefer_1d,
            "inflection_points": tuple(infl),
        }),
        bounds=((-1.0, 2.5),),
    )
    # 2-D: eigenvalues (f'', tangential) on the axis x2 = 0
    recs2 = {}
    for x, label in ((x_flat, "flat"), (x_sharp, "sharp"), (x_barrier, "saddle")):
        f, _, d2f, tang = _hole_1d(x)
        eigs = np.sort([d2f, tang])
        recs2[label] = KnownMinimum(_frozen([x, 0.0]), f, float(np.max(np.abs(eigs))),
                                    _frozen(eigs), label, prec)
    mu_prefer_2d = (recs2["flat"].f - recs2["sharp"].f) / (recs2["sharp"].rho - recs2["flat"].rho)
    mu_escape, tau, a_crit = _escape_threshold()

    def f2(x):
        d0 = x[0] - _C1
        return 0.5 * _B * (x[0] ** 2 + x[1] ** 2) - _A * anp.exp(-(d0 * d0 + x[1] ** 2) / (2 * _S**2))

    ob2 = Objective(
        name="sharp_flat_2d", f=f2, dim=2, x0=_frozen([x_sharp, 0.0]),
        minima=(recs2["sharp"], recs2["flat"]), saddles=(recs2["saddle"],),
        lipschitz_grad=_B + _A / _S**2,
        notes="bowl b|x|^2/2 with a Gaussian hole at (c, 0); with K = 0 the penalty scales the "
              "hole depth by (1 - mu/s^2): SRR leaves the hole for mu > mu_escape (module docstring)",
        extras=MappingProxyType({
            "b": _B, "a": _A, "c": (_C1, 0.0), "s": _S,
            "mu_prefer": mu_prefer_2d, "mu_escape": mu_escape,
            "escape_tau": tau, "escape_depth": a_crit,
        }),
        bounds=((-0.75, 2.25), (-0.75, 0.75)),
    )
    return ob1, ob2


SHARP_FLAT_1D, SHARP_FLAT_2D = (_register(o) for o in _make_sharp_flat())


# ---------------------------------------------------------------- negative-dominant ridge

def _negative_ridge(x):
    return (x[0] ** 2 - 1.0) ** 2 + 0.5 * x[1] ** 2


_register(Objective(
    name="negative_ridge", f=_negative_ridge, dim=2, x0=_frozen([0.2, 0.5]),
    minima=tuple(KnownMinimum(_frozen([s, 0.0]), 0.0, 8.0, _frozen([1.0, 8.0]), lab)
                 for s, lab in ((-1.0, "left"), (1.0, "right"))),
    saddles=(KnownMinimum(_frozen([0.0, 0.0]), 1.0, 4.0, _frozen([-4.0, 1.0]), "saddle"),),
    notes="(x1^2-1)^2 + x2^2/2: H = diag(12 x1^2 - 4, 1); for |x1| < 1/2 the dominant eigenvalue "
          "is negative, so grad rho = -grad lambda = (24 x1, 0) (Lemma A's sign(lambda))",
    extras=MappingProxyType({"negative_dominant_region": "|x1| < 1/2"}),
    bounds=((-1.5, 1.5), (-1.0, 1.0)),
))


# ---------------------------------------------------------------- isotropic well (repeated top eigenvalue)

_KAPPA = 0.5


def _isotropic_cubic(x):
    return 0.5 * (x[0] ** 2 + x[1] ** 2) + (_KAPPA / 3.0) * (x[0] ** 3 - 3.0 * x[0] * x[1] ** 2)


_register(Objective(
    name="isotropic_cubic", f=_isotropic_cubic, dim=2, x0=_frozen([0.3, 0.2]),
    minima=(KnownMinimum(_frozen([0.0, 0.0]), 0.0, 1.0, _frozen([1.0, 1.0]), "isotropic"),),
    # the three saddles of |x|^2/2 + (k/3) Re z^3: x = (-1/k, 0), (1/(2k), +-sqrt(3)/(2k)),
    # where |x| = 1/k and the eigenvalues are 1 -+ 2k|x| = (-1, 3)
    saddles=tuple(
        KnownMinimum(_frozen([math.cos(th) / _KAPPA, math.sin(th) / _KAPPA]), 1.0 / (6 * _KAPPA**2),
                     3.0, _frozen([-1.0, 3.0]), "saddle", 1e-15)
        for th in (math.pi, math.pi / 3, -math.pi / 3)
    ),
    notes="|x|^2/2 + (k/3)(x1^3 - 3 x1 x2^2), k = 1/2: eigenvalues 1 +- 2k|x|, so at the minimum the "
          "top eigenvalue is repeated and rho = 1 + 2k|x| is a cone (not differentiable): GD on h "
          "chatters around 0 with an eigenvector that flips",
    extras=MappingProxyType({"kappa": _KAPPA}),
    bounds=((-1.0, 1.0), (-1.0, 1.0)),
))


# ---------------------------------------------------------------- Rosenbrock and a saddle-rich quartic

def _rosenbrock(x):
    return (1.0 - x[0]) ** 2 + 100.0 * (x[1] - x[0] ** 2) ** 2


_ROS_EIGS = _frozen([(1002.0 - math.sqrt(1002404.0)) / 2.0, (1002.0 + math.sqrt(1002404.0)) / 2.0])
_register(Objective(
    name="rosenbrock", f=_rosenbrock, dim=2, x0=_frozen([-1.2, 1.0]),
    minima=(KnownMinimum(_frozen([1.0, 1.0]), 0.0, float(_ROS_EIGS[1]), _ROS_EIGS, "global", 1e-13),),
    notes="(1-x1)^2 + 100 (x2 - x1^2)^2; H(1,1) = [[802, -400], [-400, 200]], eigenvalues "
          "(1002 -+ sqrt(1002404))/2; the gradient is not globally Lipschitz",
    bounds=((-1.5, 1.5), (-0.5, 1.5)),
))

_QW = (1.0, 1.5)


def _saddle_quartic(x):
    return 0.25 * (_QW[0] * (x[0] ** 2 - 1.0) ** 2 + _QW[1] * (x[1] ** 2 - 1.0) ** 2)


def _quartic_points():
    """All 9 critical points: each coordinate in {-1, 0, 1}; eigenvalue w_i (3 x_i^2 - 1)."""
    minima, others = [], []
    for c0 in (-1.0, 0.0, 1.0):
        for c1 in (-1.0, 0.0, 1.0):
            x = np.array([c0, c1])
            eigs = np.sort([w * (3 * c * c - 1) for w, c in zip(_QW, x)])
            f = 0.25 * sum(w * (c * c - 1) ** 2 for w, c in zip(_QW, x))
            n_neg = int(np.sum(eigs < 0))
            label = {0: "minimum", 1: "saddle", 2: "maximum"}[n_neg]
            rec = KnownMinimum(_frozen(x), float(f), float(np.max(np.abs(eigs))), _frozen(eigs), label)
            (minima if n_neg == 0 else others).append(rec)
    return tuple(minima), tuple(others)


_QMIN, _QSAD = _quartic_points()
_register(Objective(
    name="saddle_quartic", f=_saddle_quartic, dim=2, x0=_frozen([0.05, -0.02]),
    minima=_QMIN, saddles=_QSAD,
    notes="sum_i w_i (x_i^2 - 1)^2 / 4, w = (1, 1.5): 4 minima (rho = 3), 4 saddles, a maximum at 0",
    bounds=((-1.6, 1.6), (-1.6, 1.6)),
))


# ---------------------------------------------------------------- matrix factorization

_MF_SIGMA = 2.0
_MF_P = np.array([0.6, 0.8])
_MF_Q = np.array([1.0, 0.0])
_MF_M = _MF_SIGMA * np.outer(_MF_P, _MF_Q)


def _matrix_factorization(x):
    u, v = x[:2], x[2:]
    r = anp.outer(u, v) - _MF_M
    return 0.5 * anp.sum(r * r)


def _mf_minimum(t: float, label: str) -> KnownMinimum:
    """u = t sqrt(s) p, v = sqrt(s) q / t: zero loss; Hessian J^T J has eigenvalues
    (0, |v|^2, |u|^2, |u|^2 + |v|^2) = s (0, 1/t^2, t^2, t^2 + 1/t^2) (module docstring)."""
    s = _MF_SIGMA
    x = np.concatenate([t * math.sqrt(s) * _MF_P, math.sqrt(s) * _MF_Q / t])
    eigs = np.sort([0.0, s / t**2, s * t**2, s * (t**2 + 1.0 / t**2)])
    return KnownMinimum(_frozen(x), 0.0, float(eigs[-1]), _frozen(eigs), label, 1e-15)


_register(Objective(
    name="matrix_factorization", f=_matrix_factorization, dim=4,
    x0=_frozen(_mf_minimum(2.0, "unbalanced").x + np.array([0.01, -0.01, 0.01, 0.02])),
    minima=(_mf_minimum(1.0, "balanced"), _mf_minimum(2.0, "unbalanced"), _mf_minimum(0.5, "unbalanced_v")),
    notes="|u v^T - sigma p q^T|^2/2, u, v in R^2, sigma = 2: equal-loss minima u = t sqrt(sigma) p, "
          "v = sqrt(sigma) q / t with rho = sigma (t^2 + 1/t^2), lowest (2 sigma) when balanced; "
          "gradient flow conserves |u|^2 - |v|^2",
    extras=MappingProxyType({"sigma": _MF_SIGMA, "p": tuple(_MF_P), "q": tuple(_MF_Q)}),
))


# ---------------------------------------------------------------- tiny MLPs on synthetic data

_ACTS = {
    "tanh": anp.tanh,
    "sigmoid": lambda z: 0.5 * (anp.tanh(0.5 * z) + 1.0),
    "softplus": lambda z: anp.logaddexp(0.0, z),
}
_MLP_IN, _MLP_HIDDEN = 2, 3
_MLP_DIM = _MLP_IN * _MLP_HIDDEN + _MLP_HIDDEN + _MLP_HIDDEN + 1  # W1, b1, w2, b2 = 13


def _mlp_forward(x, X, act):
    n_w1 = _MLP_IN * _MLP_HIDDEN
    W1 = anp.reshape(x[:n_w1], (_MLP_HIDDEN, _MLP_IN))
    b1 = x[n_w1:n_w1 + _MLP_HIDDEN]
    w2 = x[n_w1 + _MLP_HIDDEN:n_w1 + 2 * _MLP_HIDDEN]
    return anp.dot(_ACTS[act](anp.dot(X, W1.T) + b1), w2) + x[-1]


# Offline values (computed once with srtheory.oracle.rho at the teacher weights and checked by
# tests/test_objectives.py against the dense oracle): rho of the regression loss at its f = 0 minimum.
_MLP_TEACHER_RHO = {"tanh": 1.8944988393475335, "sigmoid": 2.1736136994992945,
                    "softplus": 7.470646790173776}
_MLP_RHO_PRECISION = 1e-10  # relative; eigh rounding of a 13 x 13 Hessian is ~1e-15


def _make_mlp(act: str, task: str, *, seed: int = 0, n_train: int = 64, n_val: int = 64):
    rng = np.random.default_rng([seed, {"tanh": 1, "sigmoid": 2, "softplus": 3}[act],
                                 {"regression": 1, "classification": 2}[task]])
    teacher = rng.standard_normal(_MLP_DIM)
    X = rng.standard_normal((n_train + n_val, _MLP_IN))
    z = np.asarray(_mlp_forward(teacher, X, act), dtype=float)
    if task == "regression":
        y = z
    else:
        y = np.where(z - np.median(z) >= 0, 1.0, -1.0)  # balanced classes, labels +-1
    X_tr, y_tr, X_va, y_va = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    x0 = 0.5 * rng.standard_normal(_MLP_DIM)
    for arr in (X_tr, y_tr, X_va, y_va, teacher):
        arr.setflags(write=False)

    def data_loss(x, Xb, yb):
        out = _mlp_forward(x, Xb, act)
        if task == "regression":
            return 0.5 * anp.mean((out - yb) ** 2)
        return anp.mean(anp.logaddexp(0.0, -yb * out))

    def loss(x, batch):
        idx = np.asarray(batch)
        if idx.ndim != 1 or idx.size == 0:
            raise ValueError(f"batch must be a non-empty 1-D index array, got shape {idx.shape}")
        return data_loss(x, X_tr[idx], y_tr[idx])

    def f(x):
        return data_loss(x, X_tr, y_tr)

    def val_loss(x):
        return data_loss(x, X_va, y_va)

    def accuracy(x, split: str = "val"):
        Xs, ys = (X_va, y_va) if split == "val" else (X_tr, y_tr)
        if task == "regression":
            raise ValueError("accuracy is defined for the classification MLPs only")
        return float(np.mean(np.sign(np.asarray(_mlp_forward(x, Xs, act))) == ys))

    minima = ()
    if task == "regression":
        minima = (KnownMinimum(teacher, 0.0, _MLP_TEACHER_RHO[act], None, "teacher", _MLP_RHO_PRECISION),)
    return StochasticObjective(
        name=f"mlp_{act}_{task}", f=f, dim=_MLP_DIM, x0=_frozen(x0), minima=minima,
        notes=f"{_MLP_IN}-{_MLP_HIDDEN}-1 {act} net, {n_train} training / {n_val} validation samples "
              f"from seed {seed}; " + ("squared error on a same-shape teacher (f = 0 at the teacher)"
                                       if task == "regression" else "logistic loss on teacher signs"),
        extras=MappingProxyType({"X": X_tr, "y": y_tr, "X_val": X_va, "y_val": y_va}),
        loss=loss, n_samples=n_train, val_loss=val_loss, task=task,
        accuracy=accuracy if task == "classification" else None,
    )


for _act in ("tanh", "sigmoid", "softplus"):
    for _task in ("regression", "classification"):
        _register(_make_mlp(_act, _task))
