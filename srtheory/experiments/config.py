"""What an experiment run depends on: the compared methods and the run's budgets.

:class:`MethodSpec` names one training configuration (base optimizer, SAM, or SRR at ``(mu, K)``);
:class:`ExperimentConfig` holds the datasets, seeds, methods and every budget, so that with its
seeds a run is deterministic.  :func:`full_config` is the committed table's run, :func:`quick_config`
the test suite's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from srtheory.spectral.config import EigConfig

__all__ = ["ExperimentConfig", "MethodSpec", "full_config", "quick_config"]


@dataclass(frozen=True)
class MethodSpec:
    """One training configuration: ``kind`` is ``"base"`` (the base optimizer alone), ``"sam"``
    (SAM on the base optimizer, radius ``sam_radius``) or ``"srr"`` (Algorithm 2 with ``mu``, ``K``)."""

    label: str
    kind: str
    mu: float = 0.0
    K: float = 0.0
    sam_radius: float = 0.05


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything a run depends on (with the seeds, the run is deterministic)."""

    datasets: tuple = ("digits", "breast_cancer", "wine")
    seeds: tuple = (0, 1, 2)
    methods: tuple = ()
    epochs: int = 30
    batch_size: int = 64
    hidden: int = 32
    lr_adam: float = 3e-3
    lr_sgd: float = 0.5
    eig: EigConfig = field(default_factory=EigConfig)  # SRR's eigen-solve (the paper's: power, 1e-3, 100)
    max_train: int | None = None
    n_draws: int = 1000
    shift: dict = field(default_factory=lambda: {"mult": 0.2, "mean_diff": 0.5, "sd_diff": 0.2, "skew_diff": 0.5})
    shift_image: dict = field(default_factory=lambda: {"mult": 0.5, "mean_diff": 0.5, "sd_diff": 0.2,
                                                       "skew_diff": 0.5})
    shift_pca: int = 10
    gan_steps: int = 2000
    gan_per_class: int = 100
    n_per_font: int = 3
    constructed_bins: int = 20
    constructed_empty: int = 5
    constructed_max_per_bin: int = 60
    quick: bool = False


_DEFAULT_METHODS = (
    MethodSpec("base", "base"),
    MethodSpec("SAM r=0.05", "sam", sam_radius=0.05),
    MethodSpec("SRR mu=0.01 K=0", "srr", mu=0.01, K=0.0),
    MethodSpec("SRR mu=0.1 K=0", "srr", mu=0.1, K=0.0),
    MethodSpec("SRR mu=0.1 K=1", "srr", mu=0.1, K=1.0),
)


def full_config() -> ExperimentConfig:
    """The configuration of the committed table (a few minutes on 2 cores)."""
    return ExperimentConfig(methods=_DEFAULT_METHODS)


def quick_config() -> ExperimentConfig:
    """The test-suite run: one seed, two datasets, three methods, tiny budgets (seconds)."""
    return ExperimentConfig(
        datasets=("digits", "breast_cancer"), seeds=(0,),
        methods=(_DEFAULT_METHODS[0], _DEFAULT_METHODS[1], _DEFAULT_METHODS[3]),
        epochs=2, hidden=16, max_train=400, n_draws=40, gan_steps=150, gan_per_class=10,
        n_per_font=1, constructed_bins=10, constructed_empty=3, constructed_max_per_bin=20, quick=True,
    )
