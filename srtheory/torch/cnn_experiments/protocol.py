"""The whole CNN run: test sets per digit set, every method and seed, scores, paired comparisons.

For each digit set (SRR_NOTES §8-§9, the paper's USPS/MNIST experiments on the two real sets that
ship offline, :mod:`srtheory.experiments.digit_sets`):

1. the shared test sets are built once (:func:`build_cnn_suite`): the in-distribution test split;
   the other digit set, whole, on the same 8x8 grid (the cross-dataset test of §9.3 in both
   directions); the typeset glyphs (a third target); the augmented test sets (§9.2); the
   similarity-controlled constructed set (§9.5); the covariate-shift features (§9.1) -- all from
   :func:`srtheory.experiments.build_test_suite` and :mod:`srtheory.generalization`;
2. for every seed and network variant, base, SAM and SRR are trained from the same weights on the
   same batches (:func:`~srtheory.torch.cnn_experiments.training.train_method`) and each kept model
   is scored on every set; the importance-weighted covariate-shift scores of a seed's models share
   the same random shifts;
3. per test, each method's per-seed scores are compared with the base model of its variant
   (:func:`srtheory.experiments.statistics.paired_comparison`: mean difference, 95% t-interval,
   verdict).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from srtheory import generalization as gen
from srtheory.experiments.config import ExperimentConfig
from srtheory.experiments.datasets import SPLIT_SEED, Dataset
from srtheory.experiments.digit_sets import DIGIT_SET_TITLES, DIGIT_SETS, all_digits, load_digit_set
from srtheory.experiments.statistics import paired_comparison
from srtheory.experiments.suites import TestSuite, build_test_suite
from srtheory.torch.cnn_experiments.config import METHODS, CnnConfig
from srtheory.torch.cnn_experiments.training import train_method

__all__ = ["TESTS", "CnnSuite", "binned_curve", "build_cnn_suite", "run_cnn_experiments"]

#: the scored tests, in the report's order; "cross" is the other digit set
TESTS = ("test", "cross", "typeset", "aug mild", "aug strong", "IW acc", "shift slope", "constructed")
#: scores where lower is better
LOWER_IS_BETTER = ("rho",)


class CnnSuite(NamedTuple):
    """The shared test sets of one digit set: the reference suite (``base``: test split, augmented
    and constructed sets, typeset glyphs, covariate-shift features) plus the other digit set
    ``other = (name, X, y, LabelMatch)``."""

    base: TestSuite
    other: tuple


def build_cnn_suite(data: Dataset, /, *, config: CnnConfig) -> CnnSuite:
    """Build every test set of ``data`` once (module docstring, step 1).  The GAN set of §9.4 is
    left out: its generator would be one more trained model on whose quality the scores depend."""
    ref = ExperimentConfig(shift_pca=config.shift_pca, n_per_font=config.n_per_font,
                           constructed_bins=config.constructed_bins, constructed_empty=config.constructed_empty,
                           constructed_max_per_bin=config.constructed_max_per_bin)
    rng = np.random.default_rng([SPLIT_SEED, zlib.crc32(data.name.encode())])
    suite = build_test_suite(data, rng=rng, config=ref, gan=False)
    other = next(n for n in DIGIT_SETS if n != data.name)
    imgs, y, names = all_digits(other)
    if config.cross_max is not None and config.cross_max < len(y):
        keep = np.sort(rng.choice(len(y), size=config.cross_max, replace=False))
        imgs, y = imgs[keep], y[keep]
    match = gen.match_labels(data.class_names, names)
    return CnnSuite(suite, (other, imgs.reshape(len(y), -1) / 16.0, y, match))


def score(predict: Callable, suite: CnnSuite, /, *, n_classes: int) -> dict:
    """Plain accuracy on every set of the suite; matched-label accuracy on the two cross-dataset
    targets (the other digit set and the typeset glyphs, §9.3)."""
    out = {}
    for col, (X, y) in suite.base.sets.items():
        out[col] = gen.accuracy_f1(y, predict(X), n_classes=n_classes).accuracy
    _, X, y, match = suite.other
    out["cross"] = gen.cross_dataset_scores(y, predict(X), match).accuracy
    if suite.base.cross is not None:
        X, y, match = suite.base.cross
        out["typeset"] = gen.cross_dataset_scores(y, predict(X), match).accuracy
    return out


def label(variant: str, method: str) -> str:
    """The row label of one method on one variant, e.g. ``"SRR (ReLU)"``."""
    return f"{method} ({ {'relu': 'ReLU', 'gelu': 'GELU'}[variant]})"


def run_cnn_experiments(config: CnnConfig, /, *, log: Callable[[str], None] | None = None) -> dict:
    """Train and score every method, variant and seed of ``config`` on every digit set.

    Returns ``{dataset: {"title", "sizes", "notes", "scores": {label: {metric: [per seed]}},
    "rho_converged": {label: [bool per seed]}, "traces": {label: [per-epoch ρ per traced seed]},
    "shift": {label: (sizes, accuracies) pooled over seeds and draws}, "comparisons":
    {label: {metric: PairedComparison}}, "pairs": {label: base label}}}``.
    """
    say = log or (lambda msg: None)
    out: dict = {}
    for name in config.datasets:
        data = load_digit_set(name, max_train=config.max_train)
        suite = build_cnn_suite(data, config=config)
        labels = [(v, m) for v in config.variants for m in METHODS]
        scores = {label(v, m): {} for v, m in labels}
        converged = {label(v, m): [] for v, m in labels}
        traces = {label(v, m): [] for v, m in labels}
        shift = {label(v, m): ([], []) for v, m in labels}
        ess = []
        for seed in config.seeds:
            preds = {}
            for v, m in labels:
                lab = label(v, m)
                model = train_method(data, v, m, seed=seed, config=config, trace=seed in config.trace_seeds)
                row = {"rho": model.rho, **score(model.predict, suite, n_classes=data.n_classes),
                       "epoch kept": float(model.best_epoch + 1), "seconds": model.seconds}
                for key, value in row.items():
                    scores[lab].setdefault(key, []).append(float(value))
                converged[lab].append(model.rho_converged)
                if model.rho_trace:
                    traces[lab].append(list(model.rho_trace))
                preds[lab] = model.predict(data.X_test)
                say(f"{name} seed {seed} {lab}: rho={model.rho:.3f} test={row['test']:.3f} "
                    f"cross={row['cross']:.3f} ({model.seconds:.1f} s)")
            res = gen.covariate_shift_scores(suite.base.shift_X, data.y_test, preds,
                                             rng=np.random.default_rng([seed, 9]), n_classes=data.n_classes,
                                             n_draws=config.n_draws, **config.shift_image)
            ess.append(float(np.mean(res.ess)))
            for lab, acc in res.accuracy.items():
                scores[lab].setdefault("IW acc", []).append(float(np.mean(acc)))
                scores[lab].setdefault("shift slope", []).append(gen.shift_slope(res.size, acc).slope)
                shift[lab][0].extend(np.asarray(res.size, dtype=float).tolist())
                shift[lab][1].extend(np.asarray(acc, dtype=float).tolist())
        pairs = {label(v, m): label(v, "base") for v, m in labels if m != "base"}
        comparisons = {
            lab: {metric: paired_comparison(scores[lab][metric], scores[ref][metric],
                                            higher_is_better=metric not in LOWER_IS_BETTER)
                  for metric in ("rho", *TESTS)}
            for lab, ref in pairs.items()
        }
        other, X_o, _, match = suite.other
        notes = list(suite.base.notes)
        notes.insert(0, f"- cross-dataset (the other real digit set): all {len(X_o)} images of {DIGIT_SET_TITLES[other]} on the same 8x8 grid; "
                        f"labels matched {len(match.pairs)} ({sum(p.how == 'exact' for p in match.pairs)} exact)")
        notes.append(f"- covariate shift (§9.1) on the standardized scores of the top {config.shift_pca} principal "
                     f"components of the training images: {config.n_draws} draws per seed, options "
                     f"{config.shift_image}; {len(data.y_test)} test points, mean effective sample size of the "
                     f"weights {np.mean(ess):.1f}")
        out[name] = {"title": DIGIT_SET_TITLES[name], "other": DIGIT_SET_TITLES[other],
                     "sizes": (len(data.y_train), len(data.y_val), len(data.y_test)), "notes": notes,
                     "scores": scores, "rho_converged": converged, "traces": traces,
                     "shift": {k: (np.array(a), np.array(b)) for k, (a, b) in shift.items()},
                     "comparisons": comparisons, "pairs": pairs}
    return out


def binned_curve(size, accuracy, /, *, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean accuracy per quantile bin of the shift size ``P`` (the accuracy-against-shift curve):
    ``(bin centres, mean accuracy)`` over ``bins`` bins with about equally many draws each."""
    x, y = np.asarray(size, dtype=float), np.asarray(accuracy, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or x.size < bins:
        raise ValueError(f"need 1-D size and accuracy of equal length >= bins, got {x.shape}, {y.shape}")
    edges = np.quantile(x, np.linspace(0, 1, bins + 1))
    which = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, bins - 1)
    centres = np.array([x[which == b].mean() if np.any(which == b) else np.nan for b in range(bins)])
    means = np.array([y[which == b].mean() if np.any(which == b) else np.nan for b in range(bins)])
    ok = np.isfinite(centres)
    return centres[ok], means[ok]
