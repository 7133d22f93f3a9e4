"""The paper's generalizability tests (SRR_NOTES §9), as pure functions of predictions and data.

A model enters these functions only through its predictions (an integer label per test point) or
a ``predict`` callable ``X -> labels``; nothing here trains the compared models.

* §9.1 covariate shift with importance weighting: :func:`draw_shift`, :func:`shift_log_weights`,
  :func:`weighted_confusion`, :func:`iw_scores`, :func:`covariate_shift_scores`,
  :func:`shift_slope`, :func:`compare_slopes`.
* §9.2 augmented test set: :func:`augment_images` with :data:`AUG_MILD` / :data:`AUG_STRONG`,
  :func:`scale_augmentation` for images of another size than the paper's 16x16.
* §9.3 cross-dataset test on the overlapping labels: :func:`match_labels`,
  :func:`cross_dataset_scores`.
* §9.5 similarity-controlled constructed test sets: :func:`nearest_similarity`,
  :func:`constructed_test_set`.
* §9.4 GAN-generated test set: :func:`train_cgan`, :func:`cgan_sample`, :func:`gan_realism`,
  with :func:`knn_classifier` as the realism judge trained on real data.

Plain scores: :func:`accuracy_f1`.  Randomness enters only as an ``rng`` argument.

One module per test: :mod:`~srtheory.generalization.covariate_shift` (§9.1),
:mod:`~srtheory.generalization.augmentation` (§9.2), :mod:`~srtheory.generalization.cross_dataset`
(§9.3), :mod:`~srtheory.generalization.gan` (§9.4), :mod:`~srtheory.generalization.constructed` (§9.5).
"""

from __future__ import annotations

from srtheory.generalization.augmentation import (
    AUG_MILD,
    AUG_STRONG,
    AugmentSpec,
    augment_images,
    scale_augmentation,
)
from srtheory.generalization.constructed import (
    ConstructedSet,
    constructed_test_set,
    nearest_similarity,
)
from srtheory.generalization.covariate_shift import (
    CovariateShiftResult,
    Scores,
    ShiftDraw,
    SlopeFit,
    accuracy_f1,
    compare_slopes,
    confusion_accuracy,
    confusion_f1,
    covariate_shift_scores,
    draw_shift,
    iw_scores,
    shift_log_weights,
    shift_slope,
    weighted_confusion,
)
from srtheory.generalization.cross_dataset import (
    CrossDatasetScores,
    LabelMatch,
    LabelPair,
    cross_dataset_scores,
    match_labels,
    normalize_label,
)
from srtheory.generalization.gan import (
    CGan,
    GanHistory,
    GanRealism,
    cgan_sample,
    gan_realism,
    knn_classifier,
    train_cgan,
)

__all__ = [
    "ShiftDraw",
    "draw_shift",
    "shift_log_weights",
    "weighted_confusion",
    "confusion_accuracy",
    "confusion_f1",
    "Scores",
    "iw_scores",
    "accuracy_f1",
    "CovariateShiftResult",
    "covariate_shift_scores",
    "SlopeFit",
    "shift_slope",
    "compare_slopes",
    "AugmentSpec",
    "AUG_MILD",
    "AUG_STRONG",
    "scale_augmentation",
    "augment_images",
    "LabelPair",
    "LabelMatch",
    "normalize_label",
    "match_labels",
    "CrossDatasetScores",
    "cross_dataset_scores",
    "nearest_similarity",
    "ConstructedSet",
    "constructed_test_set",
    "knn_classifier",
    "CGan",
    "GanHistory",
    "train_cgan",
    "cgan_sample",
    "GanRealism",
    "gan_realism",
]
