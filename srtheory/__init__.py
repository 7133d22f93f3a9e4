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
    "EigConfig": "srtheory.spectral",
    "eig_solve": "srtheory.spectral",
    "generic_start": "srtheory.spectral",
    "power_iteration": "srtheory.spectral",
    "lanczos": "srtheory.spectral",
    "spectral_radius": "srtheory.spectral",
    "as_matvec": "srtheory.operators",
    "as_linear_operator": "srtheory.operators",
    # gradient of the spectral radius (Lemma A / Eq. grad-rho)
    "spectral_radius_grad": "srtheory.eigengrad",
    # regularized objective and training (SRR_NOTES §4 and §6, Algorithm 2)
    "penalty": "srtheory.regularizer",
    "regularized_objective": "srtheory.regularizer",
    "regularized_grad": "srtheory.regularizer",
    "minimize": "srtheory.algorithms",
    "MinimizeResult": "srtheory.algorithms",
    "srr_train": "srtheory.training",
    "TrainResult": "srtheory.training",
    "SRRConfig": "srtheory.srr_step",
    "Monitor": "srtheory.srr_step",
    "EpochEnd": "srtheory.training",
    "PrecondRefresh": "srtheory.training",
    "Checkpoint": "srtheory.srr_step",
    "NonFiniteLossError": "srtheory.srr_step",
    "ChatteringWarning": "srtheory.srr_step",
    # base optimizers as pure (init, update) pairs, and step-size schedules
    "Optimizer": "srtheory.optimizers",
    "sgd": "srtheory.optimizers",
    "adam": "srtheory.optimizers",
    "constant": "srtheory.optimizers",
    "inverse_time": "srtheory.optimizers",
    "inverse_sqrt": "srtheory.optimizers",
    "step_decay": "srtheory.optimizers",
    # the baselines the paper compares with, and Algorithm 1b's preconditioners
    "sam": "srtheory.baselines",
    "sam_direction": "srtheory.baselines",
    "entropy_sgd": "srtheory.baselines",
    "swa": "srtheory.baselines",
    "swa_average": "srtheory.baselines",
    "cyclic_lr": "srtheory.baselines",
    "kfac_optimizer": "srtheory.baselines",
    "kfac_factors": "srtheory.kfac",
    "kfac_precondition": "srtheory.kfac",
    "kfac_preconditioner": "srtheory.kfac",
    "jacobi_preconditioner": "srtheory.kfac",
    "mlp_spec": "srtheory.mlp",
    # executable claims of proofs/ (observed value and bound together)
    "Claim": "srtheory.claims",
    "CLAIMS": "srtheory.claims",
    # the objective zoo's types
    "Objective": "srtheory.objectives",
    "KnownMinimum": "srtheory.objectives",
    "StochasticObjective": "srtheory.objectives",
    "ZOO": "srtheory.objectives",
}

# submodules reachable as attributes (``srtheory.oracle``) without an explicit import
_SUBMODULES = {
    "objectives", "oracle", "testing", "curvature", "spectral", "eigengrad", "roperator",
    "regularizer", "optimizers", "algorithms", "baselines", "kfac", "claims", "generalization",
    "experiments", "training", "srr_step",
    "operators", "mlp",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name):
    if name in _SUBMODULES:
        module = import_module(f"srtheory.{name}")
        globals()[name] = module
        return module
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'srtheory' has no attribute {name!r}")
    value = getattr(import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__ + sorted(_SUBMODULES)
