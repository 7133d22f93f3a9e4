"""srtheory: a reference implementation of spectral radius regularization (SRR).

Sandler, Klabjan & Luo, *Non-Convex Optimization with Spectral Radius Regularization*,
arXiv 2102.11210.  The NumPy + autograd code in this package is the specification; the torch
backend in :mod:`srtheory.torch` mirrors it name for name.

Public names are imported lazily (PEP 562), so ``import srtheory`` is cheap and never imports
torch, matplotlib or scikit-learn.  The map below is the single list of what the top level offers.
"""

from importlib import import_module

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    # curvature (Sec. 5 of the notes: Hv, third-order contraction, finite differences)
    "gradient": "srtheory.curvature",
    "hvp": "srtheory.curvature",
    "third_order": "srtheory.curvature",
    "fused_derivatives": "srtheory.curvature",
    "Derivatives": "srtheory.curvature",
    "hvp_operator": "srtheory.curvature",
    "default_fd_step": "srtheory.curvature",
    # eigen-solvers (Algorithm 1, Lanczos, spectral radius with both extremes)
    "EigResult": "srtheory.spectral",
    "power_iteration": "srtheory.spectral",
    "lanczos": "srtheory.spectral",
    "spectral_radius": "srtheory.spectral",
    "as_matvec": "srtheory.operators",
    "as_linear_operator": "srtheory.operators",
    # gradient of the spectral radius (Lemma A / Eq. grad-rho)
    "spectral_radius_grad": "srtheory.eigengrad",
    # regularized objective and training (issue: Algorithm 2)
    "penalty": "srtheory.regularizer",
    "regularized_objective": "srtheory.regularizer",
    "regularized_grad": "srtheory.regularizer",
    "minimize": "srtheory.algorithms",
    "MinimizeResult": "srtheory.algorithms",
    "srr_train": "srtheory.algorithms",
    "TrainResult": "srtheory.algorithms",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name):
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'srtheory' has no attribute {name!r}")
    value = getattr(import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
