"""The experiment protocol: train each method, keep its best-validation model, score it.

:func:`train_model` trains one :class:`~srtheory.experiments.config.MethodSpec` on one dataset and
seed and keeps the best-validation epoch (SRR_NOTES §6, Alg. 2 outer loop); :func:`run_experiments`
does so for every dataset, seed and method of a config and scores every model on the dataset's
shared test suite, covariate shift included (§9.1).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from srtheory import generalization as gen
from srtheory.experiments.config import ExperimentConfig, MethodSpec
from srtheory.experiments.datasets import SPLIT_SEED, Dataset, load_dataset, mlp_objective
from srtheory.experiments.suites import build_test_suite, score_model

__all__ = ["TrainedModel", "run_experiments", "train_model"]


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

    from srtheory.algorithms import EpochEnd, Monitor, SRRConfig, srr_train
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
        res = srr_train(obj, obj.x0, rng=rng, srr=SRRConfig(mu=mu, K=spec.K, eig=config.eig),
                        optimizer=base, epochs=config.epochs, batch_size=config.batch_size,
                        epoch_end=EpochEnd(validation=val_score, val_mode="max"),
                        monitor=Monitor(warn=False))
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


def _stable_hash(text: str) -> int:
    """A process-independent small integer from a string (Python's hash() is salted)."""
    return int.from_bytes(text.encode("utf-8"), "little") % (2**31)
