"""Tests of srtheory.experiments: data splits, the typeset cross-dataset set, training wiring, and
the ``srtheory experiments --quick`` command end to end (the run the README's table comes from)."""

from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("sklearn")

from srtheory import experiments as E
from srtheory import generalization as gen
from srtheory.cli import main
from srtheory.experiments.report import _verdicts


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("exp") / "RESULTS.md"
    assert main(["experiments", "--quick", "--quiet", "--out", str(out)]) == 0
    return out.read_text(encoding="utf-8")


def test_quick_command_writes_every_score(quick_report):
    text = quick_report
    assert "python -m srtheory experiments --quick" in text
    for header in ("## digits", "## breast_cancer", "ρ at selected model", "test acc", "aug. mild acc",
                   "aug. strong acc", "typeset digits acc", "constructed acc", "GAN-set acc",
                   "IW acc under shift", "slope d acc / d P"):
        assert header in text, header
    for method in E.quick_config().methods:
        assert text.count(f"| {method.label} |") == 2  # one row per dataset
    assert "labels matched 10 (10 exact)" in text and "['+', 'x'] dropped" in text
    assert "realism: a 5-NN classifier" in text
    assert "emptied" in text and "Paired covariate-shift comparison" in text
    assert "nan" not in text.lower().replace("mean", "")


def test_loaded_splits_are_disjoint_stratified_and_standardized():
    d = E.load_dataset("wine")
    n = len(d.y_train) + len(d.y_val) + len(d.y_test)
    assert n == 178
    rows = np.concatenate([d.X_train, d.X_val, d.X_test])
    assert np.unique(rows.round(12), axis=0).shape[0] == n  # no point in two splits
    assert np.allclose(d.X_train.mean(axis=0), 0.0, atol=1e-12)
    assert np.allclose(d.X_train.std(axis=0), 1.0, atol=1e-12)
    for split in (d.y_train, d.y_test):
        frac = np.bincount(split) / split.size
        assert np.all(np.abs(frac - np.bincount(np.concatenate([d.y_train, d.y_val, d.y_test])) / n) < 0.05)
    g = E.load_dataset("digits", max_train=50)
    assert g.is_image and g.X_train.shape == (50, 64)
    np.testing.assert_allclose(g.X_test, g.images_test.reshape(-1, 64) / 16.0)
    with pytest.raises(ValueError):
        E.load_dataset("mnist")


def test_typeset_digits_look_like_uci_digits(rng):
    imgs, labels, names = E.typeset_digits(rng, n_per_font=1)
    assert names[:10] == tuple("0123456789") and set(names[10:]) == {"+", "x"}
    assert imgs.shape[1:] == (8, 8) and imgs.min() >= 0 and imgs.max() <= 16
    assert set(labels) == set(range(len(names)))
    # a classifier of the real digits recognizes most typeset digits (same task, other source)
    d = E.load_dataset("digits")
    judge = gen.knn_classifier(d.images_train.reshape(-1, 64), d.y_train)
    digit = labels < 10
    assert np.mean(judge(imgs[digit].reshape(-1, 64)) == labels[digit]) > 0.5


def test_mlp_objective_batches_average_to_full_loss(rng):
    d = E.load_dataset("wine")
    obj, logits = E.mlp_objective(d, hidden=4, rng=rng)
    assert obj.dim == 13 * 4 + 4 + 4 * 3 + 3
    assert logits(obj.x0, d.X_test).shape == (len(d.y_test), 3)
    batches = list(obj.batches(rng, 16))
    mean = sum(len(b) * obj.loss(obj.x0, b) for b in batches) / obj.n_samples
    assert mean == pytest.approx(obj.f(obj.x0), rel=1e-12)


def test_srr_lowers_rho_against_base_with_the_same_seed():
    cfg = replace(E.quick_config(), epochs=3)
    d = E.load_dataset("breast_cancer")
    base = E.train_model(d, E.MethodSpec("base", "base"), seed=0, config=cfg)
    again = E.train_model(d, E.MethodSpec("base", "base"), seed=0, config=cfg)
    np.testing.assert_array_equal(base.x, again.x)  # deterministic given the seed
    srr = E.train_model(d, E.MethodSpec("srr", "srr", mu=0.5), seed=0, config=cfg)
    assert srr.rho < base.rho
    # negative control: mu = 0 in "srr" is the base run exactly
    zero = E.train_model(d, E.MethodSpec("srr0", "srr", mu=0.0), seed=0, config=cfg)
    np.testing.assert_array_equal(zero.x, base.x)


def test_bad_configuration_is_rejected():
    d = E.load_dataset("wine")
    with pytest.raises(ValueError):
        E.train_model(d, E.MethodSpec("x", "adamw"), seed=0, config=E.quick_config())
    with pytest.raises(ValueError):
        E.run_experiments(replace(E.quick_config(), methods=()))


def test_verdict_says_tie_within_spread_and_worse_outside():
    methods = {"base": {"test": [0.90, 0.92, 0.94]}, "SRR a": {"test": [0.91, 0.93, 0.95]},
               "SRR b": {"test": [0.80, 0.80, 0.81]}}
    (line,) = _verdicts(methods, ("test",))
    assert line.startswith("- test acc: tie (SRR a")
    worse = {"base": methods["base"], "SRR b": methods["SRR b"]}
    (line,) = _verdicts(worse, ("test",))
    assert line.startswith("- test acc: SRR worse")
