"""The bundled data sets of ``srtheory experiments`` and the model trained on them.

scikit-learn's ``digits`` (8x8 images, the USPS analogue), ``breast_cancer`` and ``wine`` (tables),
split as the forest-cover runs of SRR_NOTES §8 (:func:`load_dataset`); the typeset digits of the
cross-dataset test (§9.3, :func:`typeset_digits`); and the one-hidden-layer tanh MLP objective every
method trains (:func:`mlp_objective`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from srtheory._validation import positive_int
from srtheory.mlp import mlp_forward, mlp_init, mlp_loss, mlp_spec

__all__ = ["Dataset", "load_dataset", "mlp_objective", "typeset_digits"]

IMAGE_DATASETS = ("digits",)
TABULAR_DATASETS = ("breast_cancer", "wine")
#: the forest-cover split of SRR_NOTES §8: 80/20 train+valid vs test, then 80/20 train vs valid
SPLIT_SEED = 1226


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


def mlp_objective(data: Dataset, /, *, hidden: int, rng: np.random.Generator):
    """A one-hidden-layer tanh MLP (:mod:`srtheory.mlp`) with mean softmax cross-entropy on ``data``'s
    training split, as a :class:`~srtheory.objectives.StochasticObjective` (the ``f_B`` of SRR_NOTES
    §4), plus its ``logits(x, X)``.  tanh keeps the loss C^3, which Lemma A needs; ``x0`` is drawn
    from ``rng`` (``W ~ N(0, 1/fan_in)``, zero biases: :func:`srtheory.mlp.mlp_init`'s ``"lecun"``)."""
    from srtheory.objectives import StochasticObjective

    spec = mlp_spec((data.X_train.shape[1], positive_int(hidden, "hidden"), data.n_classes),
                    activation="tanh", loss="softmax_ce")
    sizes = spec.sizes

    def logits(x, X):
        return mlp_forward(spec, x, X)

    Xtr, ytr = data.X_train, data.y_train
    obj = StochasticObjective(
        name=f"mlp_{data.name}", f=lambda x: mlp_loss(spec, x, Xtr, ytr), dim=spec.n_params,
        x0=mlp_init(spec, rng=rng, scheme="lecun"),
        loss=lambda x, batch: mlp_loss(spec, x, Xtr[batch], ytr[batch]), n_samples=len(ytr),
        val_loss=lambda x: mlp_loss(spec, x, data.X_val, data.y_val), task="classification",
        notes=f"{sizes[0]}-{sizes[1]}-{sizes[2]} tanh MLP, softmax cross-entropy",
    )
    return obj, logits


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
    """Rotate, thicken, fit into 32x32 (height-first, centred) and count 4x4 blocks -> 8x8 in 0..16
    (:func:`_fit_uci_8x8`)."""
    g = ndimage.rotate(glyph.astype(float), rng.uniform(-8, 8), reshape=True, order=1) > 0.5
    if rng.random() < 0.5:
        g = ndimage.binary_dilation(g)
    return _fit_uci_8x8(g)


def _fit_uci_8x8(g: np.ndarray) -> np.ndarray:
    """The UCI digits' preprocessing of one binary bitmap: crop to the ink's bounding box, scale it
    (aspect kept, the longer side to 32 pixels) into a centred 32x32 bitmap, count the set pixels
    of each 4x4 block -> 8x8 in 0..16.  An empty bitmap gives zeros."""
    g = np.asarray(g, dtype=bool)
    if not g.any():
        return np.zeros((8, 8))
    rows, cols = np.flatnonzero(g.any(axis=1)), np.flatnonzero(g.any(axis=0))
    g = g[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(float)
    scale = min(32.0 / g.shape[0], 32.0 / g.shape[1])
    z = ndimage.zoom(g, scale, order=1) > 0.5
    h, w = min(z.shape[0], 32), min(z.shape[1], 32)
    canvas = np.zeros((32, 32), dtype=bool)
    r0, c0 = (32 - h) // 2, (32 - w) // 2
    canvas[r0 : r0 + h, c0 : c0 + w] = z[:h, :w]
    return canvas.reshape(8, 4, 8, 4).sum(axis=(1, 3)).astype(float)
