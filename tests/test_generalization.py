"""Tests of srtheory.generalization: the generalizability tests of SRR_NOTES §9.

Each checker has a negative control: an input that must make it report a failure (nonzero slope,
unmatched label, changed pixels, low realism, ValueError).
"""

import numpy as np
import pytest
from scipy import stats

from srtheory import generalization as G
from srtheory.testing import assert_close, tolerance

TOL = tolerance(factor=100)


def _product_design(n_a=12, n_b=15):
    """Test set with every pair (a_i, b_k): the Cartesian product of two feature grids."""
    a = np.linspace(-2.0, 2.0, n_a)
    b = np.linspace(-2.5, 2.5, n_b)
    A, B = np.meshgrid(a, b, indexing="ij")
    return np.column_stack([A.ravel(), B.ravel()])


# --------------------------------------------------------------------------- §9.1 covariate shift


def test_no_shift_gives_plain_accuracy(rng):
    X = rng.standard_normal((200, 4))
    y = rng.integers(0, 3, 200)
    yhat = np.where(rng.random(200) < 0.7, y, rng.integers(0, 3, 200))
    plain = np.mean(y == yhat)
    shift = G.draw_shift(4, rng=rng, mult=0.0, skew_diff=0.5)
    lw = G.shift_log_weights(X, shift)
    assert shift.size == 0.0
    assert_close(lw, np.zeros(200), rtol=0.0, atol=TOL, what="log weights at zero shift")
    s = G.iw_scores(y, yhat, lw, n_classes=3)
    assert abs(s.accuracy - plain) <= TOL
    assert abs(s.ess - 200) <= TOL * 200
    # an empty feature list also means no shift
    none = G.draw_shift(4, rng=rng, features=[])
    assert G.iw_scores(y, yhat, G.shift_log_weights(X, none), n_classes=3).accuracy == pytest.approx(plain, abs=TOL)


def test_plain_scores_match_sklearn(rng):
    metrics = pytest.importorskip("sklearn.metrics")
    y = rng.integers(0, 4, 300)
    yhat = np.where(rng.random(300) < 0.6, y, rng.integers(0, 4, 300))
    w = rng.random(300)
    s = G.iw_scores(y, yhat, np.log(w), n_classes=4)
    assert s.accuracy == pytest.approx(metrics.accuracy_score(y, yhat, sample_weight=w), abs=TOL)
    assert s.f1 == pytest.approx(metrics.f1_score(y, yhat, average="macro", sample_weight=w), abs=TOL)


def test_log_weights_match_density_ratio(rng):
    X = rng.standard_normal((50, 3))
    shift = G.draw_shift(3, rng=rng, mult=0.5, skew_diff=1.0, features=[0, 2])
    expected = sum(
        stats.skewnorm.logpdf(X[:, j], shift.skew[j], loc=shift.loc[j], scale=shift.scale[j])
        - stats.norm.logpdf(X[:, j])
        for j in (0, 2)
    )
    assert_close(G.shift_log_weights(X, shift), expected, rtol=TOL)
    assert shift.d[1] == 0.0
    assert shift.size == pytest.approx(abs(shift.d[0]) + abs(shift.d[2]))


def test_batchwise_equals_global(rng):
    X = rng.standard_normal((257, 5))
    y = rng.integers(0, 3, 257)
    yhat = np.where(rng.random(257) < 0.8, y, (y + 1) % 3)
    lw = G.shift_log_weights(X, G.draw_shift(5, rng=rng, mult=0.3, skew_diff=0.5))
    glob = G.iw_scores(y, yhat, lw, n_classes=3)
    for bs in (1, 16, 128, 1000):
        batch = G.iw_scores(y, yhat, lw, n_classes=3, batch_size=bs)
        assert batch.accuracy == pytest.approx(glob.accuracy, rel=TOL)
        assert batch.f1 == pytest.approx(glob.f1, rel=TOL)
        assert batch.ess == pytest.approx(glob.ess, rel=TOL)


def test_batchwise_mean_of_batch_accuracies_differs(rng):
    """Negative control: the unweighted mean of per-batch weighted accuracies is NOT the global
    ratio (only the weight-sum-weighted combination is), so the agreement test can fail."""
    X = np.sort(rng.standard_normal((100, 2)), axis=0)  # batches differ in weight and accuracy
    y = rng.integers(0, 2, 100)
    yhat = np.where(X[:, 0] > 0, y, 1 - y)
    lw = G.shift_log_weights(X, G.draw_shift(2, rng=rng, mult=1.0, mean_diff=1.0))
    glob = G.iw_scores(y, yhat, lw, n_classes=2).accuracy
    naive = np.mean([G.iw_scores(y[s:s + 10], yhat[s:s + 10], lw[s:s + 10], n_classes=2).accuracy
                     for s in range(0, 100, 10)])
    assert abs(naive - glob) > 1e-3


def test_ignoring_shifted_feature_gives_zero_slope(rng):
    X = _product_design()
    y = (X[:, 0] > 0.3).astype(int)  # the label depends on feature 0 only
    ignores = (X[:, 0] > 0.0).astype(int)  # uses feature 0 only: wrong on a band of a
    uses = ((X[:, 0] > 0.0) & (np.abs(X[:, 1]) < 1.0)).astype(int)  # negative control: uses feature 1
    res = G.covariate_shift_scores(
        X, y, {"ignores": ignores, "uses": uses}, rng=rng, n_classes=2, n_draws=100,
        mult=1.0, mean_diff=1.0, sd_diff=0.0, features=[1],
    )
    fit = G.shift_slope(res.size, res.accuracy["ignores"])
    # weights factor over the product grid, so every draw gives the plain accuracy exactly
    assert_close(res.accuracy["ignores"], np.full(100, np.mean(y == ignores)), rtol=TOL)
    assert abs(fit.slope) <= TOL and fit.ci_low <= 0.0 <= fit.ci_high
    bad = G.shift_slope(res.size, res.accuracy["uses"])
    assert abs(bad.slope) > 1e-3 and not (bad.ci_low <= 0.0 <= bad.ci_high)
    assert bad.p_value < 0.01


def test_slope_matches_scipy_linregress(rng):
    x = rng.random(40)
    yv = 0.9 - 0.05 * x + 0.01 * rng.standard_normal(40)
    fit = G.shift_slope(x, yv, confidence=0.9)
    ref = stats.linregress(x, yv)
    assert fit.slope == pytest.approx(ref.slope, rel=TOL)
    assert fit.intercept == pytest.approx(ref.intercept, rel=TOL)
    assert fit.stderr == pytest.approx(ref.stderr, rel=1e-10)
    assert fit.p_value == pytest.approx(ref.pvalue, rel=1e-8)
    assert fit.r2 == pytest.approx(ref.rvalue**2, rel=1e-10)
    half = stats.t.ppf(0.95, 38) * ref.stderr
    assert fit.ci_high - fit.ci_low == pytest.approx(2 * half, rel=1e-10)


def test_compare_slopes_detects_the_flatter_model(rng):
    P = rng.random(200) * 3
    noise = 0.002 * rng.standard_normal(200)
    flat = 0.9 - 0.001 * P + noise
    steep = 0.9 - 0.02 * P + noise
    cmp = G.compare_slopes(P, flat, steep)
    assert cmp.slope == pytest.approx(0.019, rel=1e-6) and cmp.ci_low > 0
    same = G.compare_slopes(P, flat, flat)  # negative control: no difference
    assert same.slope == 0.0 and same.p_value == 1.0


@pytest.mark.parametrize(
    "call",
    [
        lambda: G.shift_slope([1.0, 1.0, 1.0], [0.5, 0.6, 0.7]),
        lambda: G.shift_slope([1.0, 2.0], [0.5, 0.6]),
        lambda: G.shift_slope([1.0, 2.0, np.nan], [0.5, 0.6, 0.7]),
        lambda: G.draw_shift(3, rng=np.random.default_rng(0), mult=10.0, sd_diff=1.0),
        lambda: G.draw_shift(3, rng=np.random.default_rng(0), features=[3]),
        lambda: G.iw_scores([0, 1], [0, 2], n_classes=2),
        lambda: G.iw_scores([0, 1], [0, 1], [0.0, np.inf], n_classes=2),
        lambda: G.weighted_confusion([0, 1], [0, 1], [1.0, -1.0], n_classes=2),
        lambda: G.confusion_accuracy(np.zeros((2, 2))),
        lambda: G.shift_log_weights(np.zeros((3, 2)), G.draw_shift(3, rng=np.random.default_rng(0))),
    ],
)
def test_covariate_shift_rejects_bad_input(call):
    with pytest.raises(ValueError):
        call()


def test_inputs_not_mutated(rng):
    X = rng.standard_normal((20, 2))
    X0 = X.copy()
    y = rng.integers(0, 2, 20)
    G.covariate_shift_scores(X, y, {"m": y}, rng=rng, n_classes=2, n_draws=3)
    np.testing.assert_array_equal(X, X0)


# --------------------------------------------------------------------------- §9.2 augmentation


@pytest.mark.parametrize(
    "spec", [G.AUG_MILD, G.AUG_STRONG, G.scale_augmentation(G.AUG_STRONG, size=8)], ids=["mild", "strong", "scaled"]
)
def test_augmentation_preserves_shape_and_range_and_changes_pixels(rng, spec):
    imgs = np.zeros((30, 8, 8))
    imgs[:, 2:6, 3:5] = 16.0
    imgs += rng.random((30, 8, 8))
    labels = rng.integers(0, 10, 30)
    before, labels_before = imgs.copy(), labels.copy()
    out = G.augment_images(imgs, rng=rng, spec=spec)
    np.testing.assert_array_equal(imgs, before)
    np.testing.assert_array_equal(labels, labels_before)  # labels are the caller's, untouched
    assert out.shape == imgs.shape
    assert out.min() >= imgs.min() and out.max() <= imgs.max()
    changed = np.mean(np.abs(out - imgs).reshape(30, -1).max(axis=1) > 0.5)
    assert changed > 0.9


def test_scaled_augmentation_halves_the_shift_on_8x8():
    s = G.scale_augmentation(G.AUG_MILD, size=8)
    assert (s.max_angle, s.pad, s.max_shift) == (15.0, 0, 0.5)
    assert G.scale_augmentation(G.AUG_STRONG, size=16) == G.AugmentSpec(30.0, 0, 2.0)


def test_augmentation_strength_orders_the_change(rng):
    digits = pytest.importorskip("sklearn.datasets").load_digits()
    imgs = digits.images[:200]
    d1 = np.mean(np.abs(G.augment_images(imgs, rng=rng, spec=G.scale_augmentation(G.AUG_MILD, size=8)) - imgs))
    d2 = np.mean(np.abs(G.augment_images(imgs, rng=rng, spec=G.scale_augmentation(G.AUG_STRONG, size=8)) - imgs))
    assert 0 < d1 < d2


def test_identity_augmentation_is_a_negative_control(rng):
    imgs = rng.random((5, 8, 8))
    out = G.augment_images(imgs, rng=rng, spec=G.AugmentSpec(max_angle=0.0, pad=0, max_shift=0.0))
    np.testing.assert_array_equal(out, imgs)
    with pytest.raises(ValueError):
        G.augment_images(imgs[0], rng=rng, spec=G.AUG_MILD)
    with pytest.raises(ValueError):
        G.augment_images(imgs, rng=rng, spec=G.AugmentSpec(max_angle=-1.0, pad=0))


# --------------------------------------------------------------------------- §9.3 cross-dataset


def test_label_matching_reports_near_synonyms():
    source = ["Atelectasis", "Effusion", "Pneumothorax", "Nodule", "Infiltration", "Pleural_Thickening"]
    target = ["Pleural Effusion", "atelectasis", "Pneumothorax", "Lung Opacity", "No Finding", "Fracture"]
    m = G.match_labels(source, target)
    how = {(p.source, p.target): p.how for p in m.pairs}
    assert how[("Pneumothorax", "Pneumothorax")] == "exact"
    assert how[("Atelectasis", "atelectasis")] == "normalized"
    assert how[("Effusion", "Pleural Effusion")] == "contained"
    assert set(m.unmatched_source) == {"Nodule", "Infiltration", "Pleural_Thickening"}
    assert "Lung Opacity" in m.unmatched_target
    report = m.report()
    assert "'Effusion' -> 'Pleural Effusion' (contained)" in report
    assert "Nodule" in report


def test_label_matching_flags_ambiguity_and_uses_synonyms():
    m = G.match_labels(["Effusion"], ["Pleural Effusion", "Pericardial Effusion"])
    assert m.pairs == () and m.ambiguous == (("Effusion", ("Pleural Effusion", "Pericardial Effusion")),)
    assert "ambiguous" in m.report()
    s = G.match_labels(["Infiltration", "Mass"], ["Lung Opacity", "Masses"], synonyms={"Infiltration": "Lung Opacity"})
    assert {(p.source, p.target, p.how) for p in s.pairs} == {
        ("Infiltration", "Lung Opacity", "synonym"), ("Mass", "Masses", "normalized")}
    with pytest.raises(ValueError):
        G.match_labels(["a", "a"], ["a"])
    with pytest.raises(ValueError):
        G.match_labels(["a"], ["b"], synonyms={"a": "c"})


def test_exact_only_matching_would_drop_the_synonym():
    """Negative control: the authors' exact-name overlap misses 'Effusion' vs 'Pleural Effusion'."""
    source, target = ["Effusion", "Mass"], ["Pleural Effusion", "Mass"]
    assert set(source) & set(target) == {"Mass"}
    assert len(G.match_labels(source, target).pairs) == 2


def test_cross_dataset_scores_on_overlap_only():
    match = G.match_labels(["zero", "one", "two"], ["one", "two", "three"])
    y_true = np.array([0, 0, 1, 1, 2, 2])  # target indices: one, one, two, two, three, three
    y_pred = np.array([1, 1, 2, 0, 0, 1])  # source indices
    s = G.cross_dataset_scores(y_true, y_pred, match)
    assert (s.n_scored, s.n_dropped) == (4, 2)
    assert s.accuracy == pytest.approx(0.75)
    # per class F1: one: TP 2, FN 0, FP 0 -> 1;  two: TP 1, FN 1 (predicted 'zero'), FP 0 -> 2/3
    assert s.f1 == pytest.approx((1 + 2 / 3) / 2)
    with pytest.raises(ValueError):
        G.cross_dataset_scores(y_true, y_pred, G.match_labels(["x"], ["y"]))


# --------------------------------------------------------------------------- §9.5 constructed sets


def test_nearest_similarity_matches_brute_force(rng):
    C, R = rng.standard_normal((30, 6)), rng.standard_normal((17, 6))
    cos = np.max((C / np.linalg.norm(C, axis=1)[:, None]) @ (R / np.linalg.norm(R, axis=1)[:, None]).T, axis=1)
    euc = np.min(np.linalg.norm(C[:, None, :] - R[None, :, :], axis=2), axis=1)
    assert_close(G.nearest_similarity(C, R, chunk=7), cos, rtol=TOL)
    assert_close(G.nearest_similarity(C, R, metric="euclidean", chunk=4), euc, rtol=tolerance(power=0.5))
    assert_close(G.nearest_similarity(R, R), np.ones(17), rtol=TOL)
    with pytest.raises(ValueError):
        G.nearest_similarity(np.zeros((2, 6)), R)
    with pytest.raises(ValueError):
        G.nearest_similarity(C, R, metric="manhattan")


def test_constructed_set_has_emptied_bins_empty(rng):
    sim = rng.uniform(0.5, 1.0, 2000)
    cs = G.constructed_test_set(sim, rng=rng, bin_edges=np.linspace(0.5, 1.0, 21), n_empty=5, max_per_bin=40)
    assert cs.emptied.size == 5
    assert np.all(cs.counts[cs.emptied] == 0)
    assert np.all(cs.counts[np.setdiff1d(np.arange(20), cs.emptied)] >= 1)
    assert np.unique(cs.indices).size == cs.indices.size
    hist, _ = np.histogram(sim[cs.indices], bins=cs.bin_edges)
    np.testing.assert_array_equal(hist, cs.counts)
    # irregular: the pool histogram is near flat, the constructed one is not
    assert cs.counts.std() / cs.counts.mean() > 0.5


def test_constructed_set_negative_controls(rng):
    sim = rng.uniform(0.5, 1.0, 100)
    full = G.constructed_test_set(sim, rng=rng, n_bins=4, n_empty=0, max_per_bin=1000)
    assert full.indices.size == 100  # nothing emptied, every candidate used
    with pytest.raises(ValueError):
        G.constructed_test_set(sim, rng=rng, n_bins=4, n_empty=4)
    with pytest.raises(ValueError):
        G.constructed_test_set(sim, rng=rng, bin_edges=[0.5, 0.5, 1.0])


# --------------------------------------------------------------------------- §9.4 GAN test set


def _blobs(rng, n=300):
    """Three classes of 4x4 'images': a bright quadrant each, in [0, 1]."""
    y = rng.integers(0, 3, n)
    X = 0.1 * rng.random((n, 4, 4))
    for c, (r, s) in enumerate([(0, 0), (0, 2), (2, 1)]):
        X[y == c, r : r + 2, s : s + 2] += 0.8
    return X.reshape(n, 16), y


def test_knn_classifier(rng):
    X, y = _blobs(rng)
    predict = G.knn_classifier(X[:200], y[:200], k=3)
    assert np.mean(predict(X[200:]) == y[200:]) == 1.0
    with pytest.raises(ValueError):
        G.knn_classifier(X[:2], y[:2], k=3)


def test_gan_training_reduces_gap_and_reports_realism(rng):
    X, y = _blobs(rng)
    model, hist = G.train_cgan(X, y, rng=rng, n_classes=3, n_steps=400, batch_size=32, hidden=32,
                               n_latent=4, lr=2e-3, eval_every=100)
    assert hist.d_loss.shape == (400,) and np.all(np.isfinite(hist.g_loss))
    # the training signal: the generator's class means approach the real ones
    assert hist.mean_gap[-1] < 0.5 * hist.mean_gap[0]
    # the discriminator's loss falls below its value at initialization (it learns)
    assert hist.d_loss[-50:].mean() < hist.d_loss[:5].mean()
    labels = np.repeat(np.arange(3), 30)
    fake = G.cgan_sample(model, labels, rng=rng)
    assert fake.shape == (90, 16) and fake.min() >= 0 and fake.max() <= 1
    judge = G.knn_classifier(X[:200], y[:200])
    real = G.gan_realism(judge, fake, labels, X[200:], y[200:], X[:200])
    assert real.real_accuracy == 1.0
    assert real.label_agreement > 0.8
    # negative control: an untrained generator's samples are not recognized as their labels
    untrained, _ = G.train_cgan(X, y, rng=rng, n_classes=3, n_steps=1, hidden=32, n_latent=4, eval_every=1)
    bad = G.gan_realism(judge, G.cgan_sample(untrained, labels, rng=rng), labels, X[200:], y[200:], X[:200])
    assert bad.label_agreement < 0.6


def test_gan_rejects_unscaled_images(rng):
    X, y = _blobs(rng, 20)
    with pytest.raises(ValueError):
        G.train_cgan(16 * X, y, rng=rng, n_classes=3, n_steps=1)
    with pytest.raises(ValueError):
        G.train_cgan(X, y, rng=rng, n_classes=2, n_steps=1)
