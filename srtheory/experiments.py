"""``srtheory experiments``: the paper's generalizability tests on real data that ships offline.

The paper used forest cover, USPS digits and chest X-rays (SRR_NOTES §8), which cannot be
downloaded here.  This command uses scikit-learn's bundled sets instead (no network):

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
scored on the same constructed test sets.  The result is a Markdown table (mean +- sd over seeds)
written to ``srtheory/RESULTS.md`` or ``--out``; ``--quick`` is the small run of the test suite.

scikit-learn is needed for the data only (``pip install srtheory[data]``); matplotlib (for the
typeset digits) is optional: without it the cross-dataset column reads "n/a".
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import NamedTuple

import autograd.numpy as anp
import numpy as np
from scipy import ndimage

from srtheory import generalization as gen
from srtheory._validation import positive_int

__all__ = [
    "Dataset",
    "load_dataset",
    "typeset_digits",
    "MethodSpec",
    "ExperimentConfig",
    "quick_config",
    "full_config",
    "mlp_objective",
    "TrainedModel",
    "train_model",
    "TestSuite",
    "build_test_suite",
    "score_model",
    "run_experiments",
    "render_markdown",
    "configure",
    "run",
    "REGENERATE",
]

#: the command that regenerates srtheory/RESULTS.md
REGENERATE = "OMP_NUM_THREADS=1 python -m srtheory experiments --out srtheory/RESULTS.md"
IMAGE_DATASETS = ("digits",)
TABULAR_DATASETS = ("breast_cancer", "wine")
#: the forest-cover split of SRR_NOTES §8: 80/20 train+valid vs test, then 80/20 train vs valid
SPLIT_SEED = 1226


# ---------------------------------------------------------------------------------------- data


@dataclass(frozen=True, eq=False)
class Dataset:
    """A split dataset.  ``X_*`` are model inputs (rows); for image sets ``images_*`` hold the same
    points as ``(n, 8, 8)`` arrays on the 0..16 scale with ``X = images / 16`` flattened; tabular
    inputs are standardized with the training mean and sd (so the training density per feature is
    about ``N(0, 1)``, the assumption of §9.1)."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple
    images_train: np.ndarray | None = None
    images_test: np.ndarray | None = None

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def is_image(self) -> bool:
        return self.images_test is not None


def _sklearn_datasets():
    try:
        from sklearn import datasets
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "srtheory experiments needs scikit-learn for its bundled data sets "
            "(pip install 'srtheory[data]')"
        ) from None
    return datasets


def load_dataset(name: str, /, *, split_seed: int = SPLIT_SEED, max_train: int | None = None) -> Dataset:
    """Load a scikit-learn bundled dataset and split it as the forest-cover runs of SRR_NOTES §8.

    Stratified 80/20 train+valid vs test, then 80/20 train vs valid, from ``split_seed``.
    ``max_train`` keeps the first ``max_train`` training points (the ``--quick`` run).
    """
    datasets = _sklearn_datasets()
    loaders = {"digits": datasets.load_digits, "breast_cancer": datasets.load_breast_cancer,
               "wine": datasets.load_wine}
    if name not in loaders:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(loaders)}")
    bunch = loaders[name]()
    X, y = np.asarray(bunch.data, dtype=float), np.asarray(bunch.target, dtype=int)
    rng = np.random.default_rng(split_seed)
    test_idx, rest = _stratified_split(y, 0.2, rng)
    val_sub, train_sub = _stratified_split(y[rest], 0.2, rng)
    tr, va, te = rest[train_sub], rest[val_sub], test_idx
    if max_train is not None:
        tr = tr[: positive_int(max_train, "max_train", minimum=2)]
    names = tuple(str(c) for c in bunch.target_names)
    if name in IMAGE_DATASETS:
        imgs = np.asarray(bunch.images, dtype=float)
        flat = imgs.reshape(len(imgs), -1) / 16.0
        return Dataset(name, flat[tr], y[tr], flat[va], y[va], flat[te], y[te], names,
                       images_train=imgs[tr], images_test=imgs[te])
    mean, sd = X[tr].mean(axis=0), X[tr].std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    Z = (X - mean) / sd
    return Dataset(name, Z[tr], y[tr], Z[va], y[va], Z[te], y[te], names)


def typeset_digits(rng: np.random.Generator, /, *, n_per_font: int = 2, extra: str = "+x"):
    """A second digits dataset for the cross-dataset test (§9.3; the paper's USPS -> MNIST).

    Characters ``0``-``9`` (and the non-digit glyphs ``extra``, which the matching must leave out)
    are rendered from each of matplotlib's bundled fonts, rotated by ``U(-8, 8)`` degrees, their
    strokes thickened at random, fitted into a 32x32 bitmap and reduced by counting the set pixels
    of 4x4 blocks -- the preprocessing of the UCI 8x8 digits (values 0..16).

    Returns ``(images (n, 8, 8), labels (n,), label_names)``; label ``k`` is ``label_names[k]``.
    """
    try:
        import matplotlib
        from matplotlib.ft2font import FT2Font
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("typeset_digits needs matplotlib (pip install 'srtheory[plot]')") from None
    n_per_font = positive_int(n_per_font, "n_per_font")
    font_dir = os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data", "fonts", "ttf")
    fonts = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSerif.ttf",
             "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSansMono.ttf", "cmr10.ttf",
             "cmss10.ttf", "cmtt10.ttf", "STIXGeneral.ttf", "STIXGeneralItalic.ttf"]
    fonts = [os.path.join(font_dir, f) for f in fonts if os.path.exists(os.path.join(font_dir, f))]
    names = tuple("0123456789") + tuple(extra)
    images, labels = [], []
    for path in fonts:
        font = FT2Font(path)
        font.set_size(48, 72)
        for k, ch in enumerate(names):
            font.set_text(ch, 0.0)
            font.draw_glyphs_to_bitmap()
            glyph = np.asarray(font.get_image(), dtype=float) > 127
            if not glyph.any():
                continue
            for _ in range(n_per_font):
                images.append(_to_uci_8x8(glyph, rng))
                labels.append(k)
    return np.array(images), np.array(labels, dtype=int), names


# ------------------------------------------------------------------------------------- models


def mlp_objective(data: Dataset, /, *, hidden: int, rng: np.random.Generator):
    """A one-hidden-layer tanh MLP with mean softmax cross-entropy on ``data``'s training split, as a
    :class:`~srtheory.objectives.StochasticObjective` (the ``f_B`` of SRR_NOTES §4), plus its
    ``logits(x, X)``.  tanh keeps the loss C^3, which Lemma A needs; ``x0`` is drawn from ``rng``
    (``W ~ N(0, 1/fan_in)``, zero biases)."""
    from srtheory.objectives import StochasticObjective

    sizes = (data.X_train.shape[1], positive_int(hidden, "hidden"), data.n_classes)
    dim = sum(a * b + b for a, b in pairwise(sizes))

    def logits(x, X):
        h, i = X, 0
        for layer, (a, b) in enumerate(pairwise(sizes)):
            W = anp.reshape(x[i : i + a * b], (a, b))
            h = anp.dot(h, W) + x[i + a * b : i + a * b + b]
            i += a * b + b
            if layer < len(sizes) - 2:
                h = anp.tanh(h)
        return h

    Xtr, ytr = data.X_train, data.y_train

    def ce(x, X, y):
        z = logits(x, X)
        z = z - anp.max(z, axis=1, keepdims=True)
        return -anp.mean(z[np.arange(len(y)), y] - anp.log(anp.sum(anp.exp(z), axis=1)))

    x0 = np.concatenate([np.concatenate([rng.standard_normal(a * b) / np.sqrt(a), np.zeros(b)])
                         for a, b in pairwise(sizes)])
    obj = StochasticObjective(
        name=f"mlp_{data.name}", f=lambda x: ce(x, Xtr, ytr), dim=dim, x0=x0,
        loss=lambda x, batch: ce(x, Xtr[batch], ytr[batch]), n_samples=len(ytr),
        val_loss=lambda x: ce(x, data.X_val, data.y_val), task="classification",
        notes=f"{sizes[0]}-{sizes[1]}-{sizes[2]} tanh MLP, softmax cross-entropy",
    )
    return obj, logits


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
    eig_tol: float = 1e-3
    eig_max_iter: int = 100
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


class TrainedModel(NamedTuple):
    """The selected (best-validation) model of one run and what the run reported: ``rho`` is the
    spectral radius of the full training-loss Hessian at the selected weights (Lanczos), the other
    counts come from :class:`~srtheory.algorithms.TrainResult` (zero for base/SAM)."""

    x: np.ndarray
    predict: Callable
    rho: float
    best_epoch: int
    val_accuracy: float
    n_skipped: int
    n_eigvec_flips: int
    seconds: float


def train_model(data: Dataset, spec: MethodSpec, /, *, seed: int, config: ExperimentConfig) -> TrainedModel:
    """Train one configuration on ``data`` and keep the best-validation epoch (Alg. 2 outer loop).

    ``base`` and ``srr`` run :func:`srtheory.algorithms.srr_train` (with ``mu = 0`` it is plain
    base-optimizer training); ``sam`` runs :func:`srtheory.baselines.sam` over the same minibatches.
    Base optimizer: Adam (``lr_adam``) for images, SGD with ``lr_sgd/(1+epoch)`` for tables.
    """
    from autograd import grad

    from srtheory.algorithms import srr_train
    from srtheory.baselines import sam
    from srtheory.curvature import hvp_operator
    from srtheory.optimizers import adam, inverse_time, sgd
    from srtheory.regularizer import batch_function
    from srtheory.spectral import spectral_radius

    rng = np.random.default_rng([seed, _stable_hash(data.name)])
    obj, logits = mlp_objective(data, hidden=config.hidden, rng=rng)

    def predict(x):
        return lambda X: np.argmax(np.asarray(logits(x, np.asarray(X, dtype=float))), axis=1)

    def val_acc(x):
        return float(np.mean(predict(x)(data.X_val) == data.y_val))

    def val_score(x):
        # validation accuracy, ties broken by the validation loss: 1e-6 * loss stays below the
        # accuracy step 1/n_val for any loss < 1e6/n_val, so it only orders equal accuracies
        loss = float(obj.val_loss(x))
        return val_acc(x) - 1e-6 * min(loss, 1e3)

    base = adam(config.lr_adam) if data.is_image else sgd(inverse_time(config.lr_sgd))
    t0 = time.perf_counter()
    n_skipped = n_flips = 0
    if spec.kind in ("base", "srr"):
        mu = spec.mu if spec.kind == "srr" else 0.0
        res = srr_train(obj, obj.x0, rng=rng, mu=mu, K=spec.K, optimizer=base, epochs=config.epochs,
                        batch_size=config.batch_size, eig_tol=config.eig_tol,
                        eig_max_iter=config.eig_max_iter, validation=val_score, val_mode="max", warn=False)
        x, best_epoch = res.x_best, res.best_epoch
        n_skipped, n_flips = res.n_skipped, res.n_eigvec_flips
    elif spec.kind == "sam":
        opt = sam(base, radius=spec.sam_radius)
        x, state = obj.x0.copy(), opt.init(obj.x0)
        x_best, best_epoch, best_val = x.copy(), -1, -np.inf
        for epoch in range(config.epochs):
            for batch in obj.batches(rng, config.batch_size):
                x, state = opt.update(grad(batch_function(obj.loss, batch)), state, x, epoch)
            score = val_score(x)
            if score > best_val:
                x_best, best_epoch, best_val = x.copy(), epoch, score
        x = x_best
    else:
        raise ValueError(f"unknown method kind {spec.kind!r}; expected 'base', 'sam' or 'srr'")
    v0 = np.full(obj.dim, 1.0 / np.sqrt(obj.dim))
    rho = float(spectral_radius(hvp_operator(obj.f, x), v0, method="lanczos", tol=1e-6).rho)
    return TrainedModel(x, predict(x), rho, int(best_epoch), val_acc(x), int(n_skipped), int(n_flips),
                        time.perf_counter() - t0)


# --------------------------------------------------------------------------------- test suites


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


def build_test_suite(data: Dataset, /, *, rng: np.random.Generator, config: ExperimentConfig) -> TestSuite:
    """Build every generalizability test set of ``data`` once, so all models see the same sets.

    Images: augmented test sets at the two strengths (§9.2); the typeset-digits cross-dataset set
    with its label match (§9.3); a constructed set drawn from a fresh pool of both augmentations by
    nearest-neighbour cosine similarity to the test set, ``constructed_empty`` bins emptied (§9.5);
    a cGAN-generated set with its realism report (§9.4).  Both: the covariate-shift features (§9.1).
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


# --------------------------------------------------------------------------------- the runner


def run_experiments(config: ExperimentConfig, /, *, log: Callable[[str], None] | None = None) -> dict:
    """Train every method on every dataset and seed of ``config`` and score them.

    Returns ``{dataset: {"methods": {label: {metric: [value per seed]}}, "notes": [...],
    "comparisons": {label: [SlopeFit per seed]}}}``; the covariate-shift metrics are the mean
    importance-weighted accuracy over draws (``IW acc``), the slope of accuracy on ``P`` per unit
    of ``P`` (``shift slope``), and per seed the paired slope of ``acc - acc_base``
    (:func:`srtheory.generalization.compare_slopes`).
    """
    if not config.methods:
        raise ValueError("config.methods is empty")
    say = log or (lambda msg: None)
    out: dict = {}
    for name in config.datasets:
        data = load_dataset(name, max_train=config.max_train)
        suite = build_test_suite(data, rng=np.random.default_rng([SPLIT_SEED, _stable_hash(name)]), config=config)
        methods: dict = {m.label: {} for m in config.methods}
        comparisons: dict = {m.label: [] for m in config.methods[1:]}
        ess = []
        shift_opts = config.shift_image if data.is_image else config.shift
        for seed in config.seeds:
            preds = {}
            for spec in config.methods:
                model = train_model(data, spec, seed=seed, config=config)
                row = {"rho": model.rho, **score_model(model.predict, suite, data),
                       "skipped": float(model.n_skipped), "seconds": model.seconds}
                for key, value in row.items():
                    methods[spec.label].setdefault(key, []).append(float(value))
                if suite.shift_X is not None:
                    preds[spec.label] = model.predict(data.X_test)
                say(f"{name} seed {seed} {spec.label}: rho={model.rho:.3f} test acc={row['test']:.3f} "
                    f"({model.seconds:.1f} s)")
            if suite.shift_X is not None:
                res = gen.covariate_shift_scores(suite.shift_X, data.y_test, preds,
                                                 rng=np.random.default_rng([seed, 9]),
                                                 n_classes=data.n_classes, n_draws=config.n_draws, **shift_opts)
                ess.append(float(np.mean(res.ess)))
                ref = config.methods[0].label
                for label, acc in res.accuracy.items():
                    fit = gen.shift_slope(res.size, acc)
                    methods[label].setdefault("IW acc", []).append(float(np.mean(acc)))
                    methods[label].setdefault("shift slope", []).append(fit.slope)
                    if label != ref:
                        comparisons[label].append(gen.compare_slopes(res.size, acc, res.accuracy[ref]))
        notes = list(suite.notes)
        if ess:
            on = (f"the standardized scores of the top {config.shift_pca} principal components of the "
                  "training images" if data.is_image else "the standardized features")
            notes.append(f"- covariate shift (§9.1) on {on}: {config.n_draws} draws per seed, options "
                         f"{shift_opts}; {len(data.y_test)} test points, mean effective sample size of "
                         f"the weights {np.mean(ess):.1f}")
        out[name] = {"methods": methods, "notes": notes, "comparisons": comparisons,
                     "sizes": (len(data.y_train), len(data.y_val), len(data.y_test))}
    return out


_COLUMNS_IMAGE = ("rho", "test", "test F1", "IW acc", "shift slope", "aug mild", "aug strong", "cross-dataset",
                  "constructed", "GAN")
_COLUMNS_TABLE = ("rho", "test", "test F1", "IW acc", "shift slope")
_HEADERS = {"rho": "ρ at selected model", "test": "test acc", "test F1": "test F1 (macro)",
            "aug mild": "aug. mild acc", "aug strong": "aug. strong acc",
            "cross-dataset": "typeset digits acc", "constructed": "constructed acc", "GAN": "GAN-set acc",
            "IW acc": "IW acc under shift", "shift slope": "slope d acc / d P"}


def render_markdown(results: dict, config: ExperimentConfig, /, *, seconds: float | None = None) -> str:
    """The results as Markdown: one table per dataset (mean ± sd over seeds), the notes on how
    each test set was built, the paired covariate-shift slope comparisons, and an automatic
    verdict per metric of the best SRR configuration against the base optimizer."""
    n = len(config.seeds)
    command = REGENERATE.replace(" --out srtheory/RESULTS.md", " --quick") if config.quick else REGENERATE
    setting = (
        f"Setting: {config.hidden}-unit tanh MLP, {config.epochs} epochs, batch {config.batch_size}, "
        f"seeds {list(config.seeds)}; base optimizer Adam (lr {config.lr_adam}) on digits, SGD with "
        f"a_k = {config.lr_sgd}/(1+k) on the tables; SAM uses the same base; SRR is Algorithm 2 "
        f"(power iteration tol {config.eig_tol}, at most {config.eig_max_iter} steps, warm-started). "
        "The kept model is the best-validation epoch (ties broken by validation loss); ρ is the spectral "
        "radius of the full training-loss Hessian there (Lanczos). Entries are mean ± sd over seeds "
        f"(n = {n}). Test sets are shared by all models of a dataset. See SRR_NOTES §8–§9 for the tests."
    )
    lines = ["# Generalizability experiments (generated)", "",
             f"Generated by `{command}`; do not edit by hand.", "", setting, ""]
    for name, res in results.items():
        methods = res["methods"]
        cols = _COLUMNS_IMAGE if name in IMAGE_DATASETS else _COLUMNS_TABLE
        cols = tuple(c for c in cols if any(c in m for m in methods.values()))
        n_tr, n_va, n_te = res["sizes"]
        lines += [f"## {name} ({n_tr} train / {n_va} validation / {n_te} test)", ""]
        lines.append("| method | " + " | ".join(_HEADERS[c] for c in cols) + " |")
        lines.append("|---|" + "---|" * len(cols))
        for label, row in methods.items():
            cells = [_fmt(row[c], slope=c == "shift slope") if c in row else "n/a" for c in cols]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
        lines += res["notes"]
        skipped = {lbl: int(sum(r.get("skipped", [0]))) for lbl, r in methods.items()}
        if any(skipped.values()):
            lines.append(f"- batches whose SRR regularizer was skipped (eigen-solve not converged), all seeds: "
                         f"{ {k: v for k, v in skipped.items() if v} }")
        comps = {k: v for k, v in res["comparisons"].items() if v}
        if comps:
            lines += ["", ("Paired covariate-shift comparison with the base model (slope of acc − acc_base "
                           "on P; positive = degrades more slowly than base), per seed with 95% CI:"), ""]
            for label, fits in comps.items():
                txt = "; ".join(f"{f.slope:+.4f} [{f.ci_low:+.4f}, {f.ci_high:+.4f}]" for f in fits)
                lines.append(f"- {label}: {txt}")
        n_srr = sum(lbl.startswith("SRR") for lbl in methods)
        lines += ["", (f"Verdict per column: the best of the {n_srr} SRR configurations by mean against base "
                       "(picking the best configuration per column favours SRR); 'tie' when the difference "
                       "is within the larger sd over seeds:"), ""]
        lines += _verdicts(methods, cols)
        lines.append("")
    if seconds is not None:
        lines.append(f"Total run time: {seconds:.0f} s.")
        lines.append("")
    return "\n".join(lines)


def configure(parser: argparse.ArgumentParser) -> None:
    """Options of ``srtheory experiments``."""
    parser.add_argument("--quick", action="store_true", help="tiny run (seconds), as in the test suite")
    parser.add_argument("--out", default=None, help="Markdown file to write (default srtheory/RESULTS.md, "
                        "or nothing in --quick mode)")
    parser.add_argument("--datasets", nargs="+", default=None, choices=IMAGE_DATASETS + TABULAR_DATASETS,
                        help="subset of the datasets")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds (0, 1, ...)")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs per run")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def run(args) -> int:
    """Run the experiments, print the Markdown table and write it to ``--out``."""
    config = quick_config() if args.quick else full_config()
    if args.datasets:
        config = replace(config, datasets=tuple(args.datasets))
    if args.seeds is not None:
        config = replace(config, seeds=tuple(range(positive_int(args.seeds, "--seeds"))))
    if args.epochs is not None:
        config = replace(config, epochs=positive_int(args.epochs, "--epochs"))
    try:
        _sklearn_datasets()
    except ImportError as exc:
        print(f"srtheory experiments: {exc}", file=sys.stderr)
        return 2
    log = None if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    t0 = time.perf_counter()
    results = run_experiments(config, log=log)
    text = render_markdown(results, config, seconds=None if config.quick else time.perf_counter() - t0)
    print(text)
    out = args.out
    if out is None and not config.quick:
        out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")
    if out:
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(text)
        print(f"written to {out}", file=sys.stderr)
    return 0


# ------------------------------------------------------------------------------------- helpers


def _stratified_split(y, frac, rng):
    """Indices ``(first, rest)`` with ``round(frac * n_c)`` points of each class ``c`` in ``first``."""
    first, rest = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = round(frac * idx.size)
        first.append(idx[:k])
        rest.append(idx[k:])
    return rng.permutation(np.concatenate(first)), rng.permutation(np.concatenate(rest))


def _to_uci_8x8(glyph: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rotate, thicken, fit into 32x32 (height-first, centred) and count 4x4 blocks -> 8x8 in 0..16."""
    g = ndimage.rotate(glyph.astype(float), rng.uniform(-8, 8), reshape=True, order=1) > 0.5
    if rng.random() < 0.5:
        g = ndimage.binary_dilation(g)
    rows, cols = np.flatnonzero(g.any(axis=1)), np.flatnonzero(g.any(axis=0))
    g = g[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(float)
    scale = min(32.0 / g.shape[0], 32.0 / g.shape[1])
    z = ndimage.zoom(g, scale, order=1) > 0.5
    h, w = min(z.shape[0], 32), min(z.shape[1], 32)
    canvas = np.zeros((32, 32), dtype=bool)
    r0, c0 = (32 - h) // 2, (32 - w) // 2
    canvas[r0 : r0 + h, c0 : c0 + w] = z[:h, :w]
    return canvas.reshape(8, 4, 8, 4).sum(axis=(1, 3)).astype(float)


def _stable_hash(text: str) -> int:
    """A process-independent small integer from a string (Python's hash() is salted)."""
    return int.from_bytes(text.encode("utf-8"), "little") % (2**31)


def _fmt(values, *, slope: bool = False) -> str:
    v = np.asarray(values, dtype=float)
    sd = float(np.std(v, ddof=1)) if v.size > 1 else 0.0
    if slope:
        return f"{v.mean():+.4f} ± {sd:.4f}"
    return f"{v.mean():.3f} ± {sd:.3f}"


def _verdicts(methods: dict, cols) -> list[str]:
    labels = list(methods)
    base = labels[0]
    srr = [lbl for lbl in labels if lbl.startswith("SRR")]
    if not srr:
        return ["- no SRR configuration in this run"]
    out = []
    for c in cols:
        if c not in methods[base]:
            continue
        lower_better = c == "rho"
        means = {lbl: float(np.mean(methods[lbl][c])) for lbl in srr if c in methods[lbl]}
        best = (min if lower_better else max)(means, key=means.get)
        b, s = np.asarray(methods[base][c]), np.asarray(methods[best][c])
        spread = max(float(np.std(b, ddof=1)) if b.size > 1 else 0.0, float(np.std(s, ddof=1)) if s.size > 1 else 0.0)
        diff = s.mean() - b.mean()
        if abs(diff) <= spread:
            verdict = "tie"
        elif (diff < 0) == lower_better:
            verdict = "SRR better"
        else:
            verdict = "SRR worse"
        if b.size < 2:
            verdict += " (one seed, no spread: indicative only)"
        sam = [lbl for lbl in labels if lbl.startswith("SAM") and c in methods[lbl]]
        sam_txt = f"; SAM {np.mean(methods[sam[0]][c]):.4g}" if sam else ""
        out.append(f"- {_HEADERS[c]}: {verdict} ({best} {s.mean():.4g} vs base {b.mean():.4g}, "
                   f"difference {diff:+.4g}, spread {spread:.3g}{sam_txt})")
    return out
