"""The shared generalizability test sets of one dataset (SRR_NOTES §9) and how a model is scored on them.

:func:`build_test_suite` builds every set once, so all models of a dataset see the same sets;
:func:`score_model` scores one model's predictions on them.  The tests themselves live in
:mod:`srtheory.generalization`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from srtheory import generalization as gen
from srtheory.experiments.config import ExperimentConfig
from srtheory.experiments.datasets import Dataset, typeset_digits

__all__ = ["TestSuite", "build_test_suite", "score_model"]


class TestSuite(NamedTuple):
    """The shared test sets of one dataset: ``sets`` maps a column name to ``(X, y)`` scored with
    plain accuracy; ``cross`` is ``(X, y_target, LabelMatch)`` or None; ``shift_X`` the test-point
    features the covariate-shift densities act on (standardized features of a table, standardized
    principal-component scores of images; models still predict from ``X_test``); ``notes`` Markdown lines about how the sets
    were built (label match, GAN realism, constructed histogram)."""

    sets: dict
    cross: tuple | None
    shift_X: np.ndarray | None
    notes: tuple

    __test__ = False  # not a pytest test class


def build_test_suite(data: Dataset, /, *, rng: np.random.Generator, config: ExperimentConfig,
                     gan: bool = True) -> TestSuite:
    """Build every generalizability test set of ``data`` once, so all models see the same sets.

    Images: augmented test sets at the two strengths (§9.2); the typeset-digits cross-dataset set
    with its label match (§9.3); a constructed set drawn from a fresh pool of both augmentations by
    nearest-neighbour cosine similarity to the test set, ``constructed_empty`` bins emptied (§9.5);
    a cGAN-generated set with its realism report (§9.4; left out with ``gan=False``).  Both: the
    covariate-shift features (§9.1).
    """
    sets: dict = {"test": (data.X_test, data.y_test)}
    if not data.is_image:
        return TestSuite(sets, None, data.X_test, ())
    imgs, y = data.images_test, data.y_test
    # §9.1 on images: the shift acts on the standardized scores of the top principal components
    # of the training images (pixels are far from the N(0, 1) density the test assumes)
    center = data.X_train.mean(axis=0)
    _, _, vt = np.linalg.svd(data.X_train - center, full_matrices=False)
    comps = vt[: config.shift_pca].T
    scale = ((data.X_train - center) @ comps).std(axis=0)
    shift_X = ((data.X_test - center) @ comps) / scale
    size = imgs.shape[1]
    mild = gen.scale_augmentation(gen.AUG_MILD, size=size)
    strong = gen.scale_augmentation(gen.AUG_STRONG, size=size)
    notes = [(f"- augmented sets: the paper's Aug1 (±15°, crop with padding 1) and Aug2 (±30°, padding 2) "
              f"for 16x16 USPS, scaled to {size}x{size}: rotation plus a sub-pixel shift of up to "
              f"{mild.max_shift:g} / {strong.max_shift:g} pixels")]
    for col, spec in (("aug mild", mild), ("aug strong", strong)):
        sets[col] = (gen.augment_images(imgs, rng=rng, spec=spec).reshape(len(y), -1) / 16.0, y)
    # §9.3 cross-dataset: typeset digits
    cross = None
    try:
        t_imgs, t_y, t_names = typeset_digits(rng, n_per_font=config.n_per_font)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        notes.append(f"- cross-dataset (typeset digits): skipped, {exc}")
    else:
        match = gen.match_labels(data.class_names, t_names)
        cross = (t_imgs.reshape(len(t_y), -1) / 16.0, t_y, match)
        exact = sum(p.how == "exact" for p in match.pairs)
        notes.append(f"- cross-dataset: {len(t_y)} typeset glyphs from matplotlib fonts; labels matched "
                     f"{len(match.pairs)} ({exact} exact), unmatched target labels "
                     f"{list(match.unmatched_target)} dropped, ambiguous {len(match.ambiguous)}")
    # §9.5 constructed set
    pool = np.concatenate([gen.augment_images(imgs, rng=rng, spec=mild),
                           gen.augment_images(imgs, rng=rng, spec=strong)])
    pool_y = np.concatenate([y, y])
    keep = pool.reshape(len(pool), -1).any(axis=1)
    pool, pool_y = pool[keep], pool_y[keep]
    sim = gen.nearest_similarity(pool, imgs, metric="cosine")
    cs = gen.constructed_test_set(sim, rng=rng, n_bins=config.constructed_bins, n_empty=config.constructed_empty,
                                  max_per_bin=config.constructed_max_per_bin)
    sets["constructed"] = (pool[cs.indices].reshape(len(cs.indices), -1) / 16.0, pool_y[cs.indices])
    notes.append(f"- constructed set: {len(cs.indices)} images from a pool of {len(pool)} augmented test "
                 f"images; max cosine similarity to the test set binned over [{cs.bin_edges[0]:.3f}, "
                 f"{cs.bin_edges[-1]:.3f}] in {len(cs.counts)} bins, bins {cs.emptied.tolist()} emptied; "
                 f"histogram {cs.counts.tolist()}")
    if not gan:
        return TestSuite(sets, cross, shift_X, tuple(notes))
    # §9.4 GAN set
    model, hist = gen.train_cgan(data.X_train, data.y_train, rng=rng, n_classes=data.n_classes,
                                 n_steps=config.gan_steps, eval_every=max(1, config.gan_steps // 10))
    g_y = np.repeat(np.arange(data.n_classes), config.gan_per_class)
    g_X = gen.cgan_sample(model, g_y, rng=rng)
    sets["GAN"] = (g_X, g_y)
    real = gen.gan_realism(gen.knn_classifier(data.X_train, data.y_train), g_X, g_y, data.X_test,
                           data.y_test, data.X_train)
    notes.append(f"- GAN set: {len(g_y)} samples of a conditional GAN ({config.gan_steps} steps; class-mean "
                 f"gap {hist.mean_gap[0]:.2f} -> {hist.mean_gap[-1]:.2f}); realism: a 5-NN classifier trained "
                 f"on real data agrees with the GAN's labels on {real.label_agreement:.1%} of samples "
                 f"(vs {real.real_accuracy:.1%} accuracy on the real test set); mean nearest-neighbour "
                 f"cosine similarity to the training set {real.nn_similarity_fake:.3f} (real test images: "
                 f"{real.nn_similarity_real:.3f})")
    return TestSuite(sets, cross, shift_X, tuple(notes))


def score_model(predict: Callable, suite: TestSuite, data: Dataset, /) -> dict:
    """Plain accuracy (and test F1) of one model on every set of ``suite``, and its cross-dataset
    accuracy on the matched labels (§9.3).  Covariate shift is scored across models in
    :func:`run_experiments`, because all models of a seed share the draws."""
    out = {}
    for col, (X, y) in suite.sets.items():
        s = gen.accuracy_f1(y, predict(X), n_classes=data.n_classes)
        out[col] = s.accuracy
        if col == "test":
            out["test F1"] = s.f1
    if suite.cross is not None:
        X, yt, match = suite.cross
        out["cross-dataset"] = gen.cross_dataset_scores(yt, predict(X), match).accuracy
    return out
