"""What a CNN run depends on: the data sets, the network variants, the methods, seeds and budgets.

Two variants of one small CNN are trained (:mod:`~srtheory.torch.cnn_experiments.model`):

* ``relu`` -- ReLU activations; SRR differentiates exactly (``derivative="exact"``, double
  back-propagation, SRR_NOTES §5.2), the only correct choice across ReLU's kinks;
* ``gelu`` -- the smooth twin (GELU); SRR uses the cheap finite-difference step
  (``derivative="fd"``, §5.4), valid because the loss is C³ there.

Each variant is trained three ways with the same base optimizer (Adam): ``base`` alone, ``SAM``
(radius ``sam_radius``) and ``SRR`` (``mu``, ``K``).  With a seed fixed, all methods of a variant
start from the same weights and see the same batches, so the comparison over seeds is paired.
:func:`full_config` is the committed report's run, :func:`quick_config` the test suite's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["METHODS", "VARIANTS", "CnnConfig", "full_config", "quick_config"]

#: network variant -> (activation, SRR's derivative)
VARIANTS = {"relu": ("relu", "exact"), "gelu": ("gelu", "fd")}
#: the compared methods, the base model first
METHODS = ("base", "SAM", "SRR")


@dataclass(frozen=True)
class CnnConfig:
    """Everything a run depends on; with the seeds it is deterministic on one machine.

    SRR's eigen-solve per training step: ``power_steps`` warm-started power steps on the batch
    Hessian (``skip_nonconverged=False``: Algorithm 1 carried across batches, the optimizer's
    cheap mode).  ρ at the selected model: Lanczos on the full training set's Hessian (batches of
    ``rho_batch``), relative residual ``rho_tol``, at most ``rho_max_iter`` products.  The ρ trace
    over training: per epoch, Lanczos (``trace_tol``, ``trace_max_iter``, warm-started) on the
    first ``trace_points`` training points, for the seeds ``trace_seeds``.
    """

    datasets: tuple = ("mnist", "digits")
    variants: tuple = ("relu", "gelu")
    seeds: tuple = tuple(range(10))
    epochs: int = 20
    batch_size: int = 64
    lr: float = 3e-3
    channels: int = 8
    sam_radius: float = 0.05
    mu: float = 0.01
    K: float = 0.0
    power_steps: int = 1
    rho_tol: float = 1e-3
    rho_max_iter: int = 60
    rho_batch: int = 512
    trace_seeds: tuple = (0, 1, 2)
    trace_points: int = 512
    trace_tol: float = 1e-2
    trace_max_iter: int = 15
    max_train: int | None = None
    cross_max: int | None = None
    n_draws: int = 500
    shift_image: dict = field(default_factory=lambda: {"mult": 0.5, "mean_diff": 0.5, "sd_diff": 0.2,
                                                       "skew_diff": 0.5})
    shift_pca: int = 10
    shift_bins: int = 8
    n_per_font: int = 3
    constructed_bins: int = 20
    constructed_empty: int = 5
    constructed_max_per_bin: int = 60
    quick: bool = False

    def __post_init__(self):
        from srtheory.experiments.digit_sets import DIGIT_SETS

        for name in self.datasets:
            if name not in DIGIT_SETS:
                raise ValueError(f"unknown digit set {name!r}; expected one of {list(DIGIT_SETS)}")
        for v in self.variants:
            if v not in VARIANTS:
                raise ValueError(f"unknown variant {v!r}; expected one of {list(VARIANTS)}")
        if not self.datasets or not self.variants or not self.seeds:
            raise ValueError("datasets, variants and seeds must be non-empty")
        for name in ("epochs", "batch_size", "channels", "power_steps", "rho_max_iter", "rho_batch",
                     "trace_points", "trace_max_iter", "n_draws", "shift_bins"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        for name in ("lr", "sam_radius", "rho_tol", "trace_tol"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if not (self.mu >= 0 and self.K >= 0):
            raise ValueError(f"mu and K must be >= 0, got {self.mu!r}, {self.K!r}")


def full_config() -> CnnConfig:
    """The committed report's run: 10 seeds, 20 epochs, both data sets and variants."""
    return CnnConfig()


def quick_config() -> CnnConfig:
    """The test suite's run: 2 seeds, 2 epochs, 300 training points, small test sets (seconds)."""
    return CnnConfig(seeds=(0, 1), epochs=2, max_train=300, cross_max=400, rho_max_iter=20, trace_seeds=(0,),
                     trace_points=128, trace_max_iter=8, n_draws=40, n_per_font=1, constructed_bins=10,
                     constructed_empty=3, constructed_max_per_bin=20, shift_bins=4, quick=True)
