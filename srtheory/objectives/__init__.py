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
    ``mu_escape = s^2 (1 - a_crit / a)`` stored in ``extras``.

    That analysis holds only while the tangential eigenvalue is ``rho``.  On the way out the
    radial eigenvalue turns negative and, at ``x1 = extras["tie_point"]`` (1.1244, where
    ``2b + (a/s^2)(2 - t^2/s^2) e = 0``), its modulus reaches the tangential one: a ``+-rho``
    tie, where ``rho`` has a kink.  Beyond it ``rho = |radial|`` grows outwards, so the penalty
    pushes back in: along the axis ``h`` has a corner minimum at the tie (a Clarke-stationary
    point).  So ``mu > mu_escape`` makes SRR leave the hole's bottom, but with the exact ``rho``
    gradient descent on ``h`` reaches the tie and stays there for small steps (chattering,
    reported); a step long enough to cross the kink, or a larger ``mu``, goes on to the flat
    minimum.  (An eigen-solver stuck on the tangential eigenvector -- the paper's start
    ``1/sqrt(2)`` warm-started along the axis, before the solvers restarted invariant starts --
    penalizes the tangential eigenvalue throughout and realizes the threshold exactly, for the
    wrong ``rho``.)  ``extras["mu_prefer"]`` is the
    smaller threshold ``(f_flat - f_sharp) / (rho_sharp - rho_flat)`` above which h is lower at the
    flat minimum than at the sharp one (h evaluated at both minima of f): between the two SRR
    prefers the flat basin globally but gradient descent on h still sits in the hole.

    In one dimension ``rho = |f''|`` vanishes at the inflection point between the hole and the
    barrier, where h increases like f: gradient descent on h can never leave the sharp basin for
    any mu, and for large mu the iterate slides from the sharp bottom to the inflection point
    (``extras["inflection_points"]``): a trap for any descent on h, shown, not assumed.
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

What is where (every name below is importable from ``srtheory.objectives`` itself):

* :mod:`~srtheory.objectives.base` -- :class:`KnownMinimum`, :class:`Objective`,
  :class:`StochasticObjective` and the registry ``ZOO``, :func:`get`, :func:`names`;
* :mod:`~srtheory.objectives.sharp_flat` -- ``sharp_flat_1d``, ``sharp_flat_2d`` (also as
  ``SHARP_FLAT_1D``, ``SHARP_FLAT_2D``) and their thresholds;
* :mod:`~srtheory.objectives.landscapes` -- ``negative_ridge``, ``isotropic_cubic``,
  ``rosenbrock``, ``saddle_quartic``;
* :mod:`~srtheory.objectives.factorization` -- ``matrix_factorization`` and ``_mf_minimum``
  (the record of the rescaled minimum for any t);
* :mod:`~srtheory.objectives.networks` -- the six ``mlp_*`` entries.

Each entry module registers its objectives in ``ZOO`` when it is imported.
"""

# The import order below is the registration order, hence the iteration order of ZOO: keep it
# (it is the order of the single module this package replaces), do not let a sorter reorder it.
# isort: off
from srtheory.objectives.base import ZOO, KnownMinimum, Objective, StochasticObjective, get, names
from srtheory.objectives.sharp_flat import SHARP_FLAT_1D as SHARP_FLAT_1D
from srtheory.objectives.sharp_flat import SHARP_FLAT_2D as SHARP_FLAT_2D
from srtheory.objectives import landscapes as landscapes
from srtheory.objectives.factorization import _mf_minimum as _mf_minimum
from srtheory.objectives import networks as networks
# isort: on

__all__ = ["ZOO", "KnownMinimum", "Objective", "StochasticObjective", "get", "names"]
