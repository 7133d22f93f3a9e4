"""Covariate shift with importance weighting, SRR_NOTES §9.1.

Random per-feature test densities (:func:`draw_shift`), the log density ratio of each test point
(:func:`shift_log_weights`), self-normalized weighted scores (:func:`weighted_confusion`,
:func:`confusion_accuracy`, :func:`confusion_f1`, :func:`iw_scores`, :func:`accuracy_f1`), all draws
at once (:func:`covariate_shift_scores`) and the accuracy-versus-shift slopes (:func:`shift_slope`,
:func:`compare_slopes`).  Randomness enters only as an ``rng`` argument.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
from scipy import stats

from srtheory._validation import positive, positive_int
from srtheory.generalization._common import _as_labels, _as_matrix

__all__ = [
    "ShiftDraw", "draw_shift", "shift_log_weights",
    "weighted_confusion", "confusion_accuracy", "confusion_f1", "Scores", "iw_scores", "accuracy_f1",
    "CovariateShiftResult", "covariate_shift_scores", "SlopeFit", "shift_slope", "compare_slopes",
]


class ShiftDraw(NamedTuple):
    """One random covariate shift of §9.1, step 1-2: per-feature test-density parameters.

    ``d[j]`` is the perturbation of feature ``j`` (0 for features not shifted); the test density of
    feature ``j`` is skew-normal with location ``loc[j]``, scale ``scale[j]`` and shape ``skew[j]``
    (normal when ``skew[j] == 0``).  ``size`` is the perturbation size ``P = sum_j |d_j|``.
    """

    d: np.ndarray
    loc: np.ndarray
    scale: np.ndarray
    skew: np.ndarray
    features: np.ndarray

    @property
    def size(self) -> float:
        return float(np.sum(np.abs(self.d)))


def draw_shift(
    n_features: int,
    /,
    *,
    rng: np.random.Generator,
    mult: float = 0.1,
    mean_diff: float = 0.1,
    sd_diff: float = 0.1,
    skew_diff: float = 0.0,
    features: Sequence[int] | None = None,
) -> ShiftDraw:
    """Draw one covariate shift, SRR_NOTES §9.1 steps 1-2.

    ``d_j = mult * z_j`` with ``z_j ~ N(0, 1)`` for each shifted feature ``j`` (``features``; all
    by default, so a near-constant "bad" column is left out by omitting it), then the test density
    of feature ``j`` has location ``d_j * mean_diff``, scale ``1 + d_j * sd_diff`` and skew-normal
    shape ``d_j * skew_diff``.  The training density is ``N(0, 1)`` (standardized features).
    """
    n_features = positive_int(n_features, "n_features")
    mult = positive(mult, "mult", allow_zero=True)
    for name, value in (("mean_diff", mean_diff), ("sd_diff", sd_diff), ("skew_diff", skew_diff)):
        if not np.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")
    if features is None:
        feats = np.arange(n_features)
    else:
        feats = np.unique(np.asarray(features, dtype=int))
        if feats.size and (feats.min() < 0 or feats.max() >= n_features):
            raise ValueError(f"features must be indices in [0, {n_features}), got {list(features)}")
    d = np.zeros(n_features)
    d[feats] = mult * rng.standard_normal(feats.size)
    scale = 1.0 + d * sd_diff
    if np.any(scale <= 0):
        raise ValueError(
            f"a drawn scale 1 + d_j*sd_diff is <= 0 (min {scale.min():.3g}); expected positive scales: "
            "lower mult or sd_diff"
        )
    return ShiftDraw(d=d, loc=d * mean_diff, scale=scale, skew=d * skew_diff, features=feats)


def shift_log_weights(X, shift: ShiftDraw, /) -> np.ndarray:
    """Log density ratio of each test point, SRR_NOTES §9.1 step 3.

    ``log w(x) = sum_{j shifted} [log p_test,j(x_j) - log p_train,j(x_j)]`` with
    ``p_train,j = N(0, 1)`` and ``p_test,j = SkewNormal(skew_j, loc_j, scale_j)`` (the normal
    density when ``skew_j = 0``).  Returns a vector of length ``len(X)``; ``w = exp(log w)``.
    """
    X = _as_matrix(X, "X")
    if X.shape[1] != shift.d.size:
        raise ValueError(f"X has {X.shape[1]} features but the shift has {shift.d.size}")
    f = shift.features
    if f.size == 0:
        return np.zeros(X.shape[0])
    xs = X[:, f]
    log_test = stats.skewnorm.logpdf(xs, shift.skew[f], loc=shift.loc[f], scale=shift.scale[f])
    log_train = stats.norm.logpdf(xs)
    out = np.sum(log_test - log_train, axis=1)
    if not np.all(np.isfinite(out)):
        raise ValueError("log density ratio is not finite for some test points; shift too large")
    return out


def weighted_confusion(y_true, y_pred, weights, /, *, n_classes: int) -> np.ndarray:
    """Weighted confusion matrix ``C[a, b] = sum_i w_i 1[y_i = a, yhat_i = b]`` (§9.1 step 4).

    Sums of these over disjoint batches equal the matrix of the whole set, which is why the
    authors' batchwise scoring gives the global self-normalized ratio.
    """
    n_classes = positive_int(n_classes, "n_classes")
    yt = _as_labels(y_true, "y_true", n_classes)
    yp = _as_labels(y_pred, "y_pred", n_classes, n=yt.size)
    w = np.array(weights, dtype=float)
    if w.shape != yt.shape:
        raise ValueError(f"weights must have shape {yt.shape}, got {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be finite and >= 0")
    C = np.zeros((n_classes, n_classes))
    np.add.at(C, (yt, yp), w)
    return C


def confusion_accuracy(C, /) -> float:
    """Self-normalized weighted accuracy ``sum_i w_i 1[yhat_i = y_i] / sum_i w_i = tr(C) / sum(C)``."""
    C = np.asarray(C, dtype=float)
    total = C.sum()
    if not total > 0:
        raise ValueError("confusion matrix has zero total weight; expected sum of weights > 0")
    return float(np.trace(C) / total)


def confusion_f1(C, /) -> float:
    """Macro F1 from a (weighted) confusion matrix: mean over classes present in truth or prediction
    of ``F1_c = 2 TP_c / (2 TP_c + FP_c + FN_c)``, with ``TP_c = C[c, c]``, ``FP_c`` the rest of
    column ``c`` and ``FN_c`` the rest of row ``c`` (the weighted F1 of §9.1 step 4)."""
    C = np.asarray(C, dtype=float)
    if not C.sum() > 0:
        raise ValueError("confusion matrix has zero total weight; expected sum of weights > 0")
    tp = np.diag(C)
    denom = C.sum(axis=0) + C.sum(axis=1)  # = 2TP + FP + FN
    present = denom > 0
    return float(np.mean(2.0 * tp[present] / denom[present]))


class Scores(NamedTuple):
    """Accuracy and macro F1 of one model on one (weighted) test set, with the total weight and
    the effective sample size ``(sum w)^2 / sum w^2`` (``n`` when unweighted)."""

    accuracy: float
    f1: float
    total_weight: float
    ess: float


def iw_scores(y_true, y_pred, log_weights=None, /, *, n_classes: int, batch_size: int | None = None) -> Scores:
    """Self-normalized importance-weighted accuracy and F1, SRR_NOTES §9.1 step 4.

    ``acc = sum_i w_i 1[yhat_i = y_i] / sum_i w_i`` with ``w_i = exp(log_weights[i])``.  Globally
    (``batch_size=None``) the weights are rescaled by ``exp(-max log w)``, which the ratio cancels;
    batchwise (as the authors' code) each batch contributes its raw weighted confusion matrix and
    the batches are summed.  ``log_weights=None`` means unit weights (plain accuracy and F1).
    """
    yt = np.asarray(y_true)
    lw = np.zeros(yt.shape[0]) if log_weights is None else np.array(log_weights, dtype=float)
    if lw.ndim != 1 or lw.shape[0] != yt.shape[0]:
        raise ValueError(f"log_weights must have shape ({yt.shape[0]},), got {lw.shape}")
    if not np.all(np.isfinite(lw)):
        raise ValueError("log_weights contains NaN or inf")
    if batch_size is None:
        w = np.exp(lw - lw.max())
        C = weighted_confusion(yt, y_pred, w, n_classes=n_classes)
    else:
        batch_size = positive_int(batch_size, "batch_size")
        yp = np.asarray(y_pred)
        w = np.exp(lw)
        C = np.zeros((n_classes, n_classes))
        for start in range(0, yt.shape[0], batch_size):
            sl = slice(start, start + batch_size)
            C += weighted_confusion(yt[sl], yp[sl], w[sl], n_classes=n_classes)
    ess = float(w.sum() ** 2 / np.sum(w**2))
    return Scores(confusion_accuracy(C), confusion_f1(C), float(w.sum()), ess)


def accuracy_f1(y_true, y_pred, /, *, n_classes: int) -> Scores:
    """Plain test accuracy and macro F1 (unit weights in :func:`iw_scores`)."""
    return iw_scores(y_true, y_pred, n_classes=n_classes)


class CovariateShiftResult(NamedTuple):
    """All draws of §9.1: ``size[k] = P_k``, ``accuracy[name][k]``, ``f1[name][k]`` for draw ``k``
    and each model, ``ess[k]`` the effective sample size of draw ``k``'s weights."""

    size: np.ndarray
    accuracy: dict
    f1: dict
    ess: np.ndarray


def covariate_shift_scores(
    X,
    y_true,
    predictions: Mapping[str, np.ndarray],
    /,
    *,
    rng: np.random.Generator,
    n_classes: int,
    n_draws: int = 1000,
    **shift_options,
) -> CovariateShiftResult:
    """Repeat §9.1 over ``n_draws`` random shifts, scoring every model on the same draws.

    For draw ``k``: ``shift_k = draw_shift(d, rng=rng, **shift_options)``,
    ``w = exp(shift_log_weights(X, shift_k))``, then each model's self-normalized weighted accuracy
    and F1 of its fixed predictions ``predictions[name]`` on ``X``.  Models share the draws, so their
    accuracies can be compared draw by draw (:func:`compare_slopes`).
    """
    X = _as_matrix(X, "X")
    n_draws = positive_int(n_draws, "n_draws", minimum=1)
    if not predictions:
        raise ValueError("predictions is empty; expected a mapping name -> predicted labels")
    preds = {name: np.asarray(p) for name, p in predictions.items()}
    size = np.empty(n_draws)
    ess = np.empty(n_draws)
    acc = {name: np.empty(n_draws) for name in preds}
    f1 = {name: np.empty(n_draws) for name in preds}
    for k in range(n_draws):
        shift = draw_shift(X.shape[1], rng=rng, **shift_options)
        lw = shift_log_weights(X, shift)
        size[k] = shift.size
        for name, p in preds.items():
            s = iw_scores(y_true, p, lw, n_classes=n_classes)
            acc[name][k], f1[name][k], ess[k] = s.accuracy, s.f1, s.ess
    return CovariateShiftResult(size, acc, f1, ess)


class SlopeFit(NamedTuple):
    """Least-squares line ``acc ~ intercept + slope * P`` with a two-sided confidence interval."""

    slope: float
    intercept: float
    ci_low: float
    ci_high: float
    stderr: float
    r2: float
    p_value: float
    n: int


def shift_slope(size, accuracy, /, *, confidence: float = 0.95) -> SlopeFit:
    """Regress accuracy on perturbation size, SRR_NOTES §9.1 analysis (``lm(acc ~ P)``).

    ``slope = S_xy / S_xx``; ``stderr = sqrt(RSS / (n - 2) / S_xx)``; the interval is
    ``slope +- t_{(1+confidence)/2, n-2} * stderr``; ``p_value`` tests slope = 0.  A flatter (less
    negative) slope means the model loses less accuracy as the shift grows.
    """
    x = np.array(size, dtype=float)
    y = np.array(accuracy, dtype=float)
    if x.ndim != 1 or y.shape != x.shape:
        raise ValueError(f"size and accuracy must be 1-D of equal length, got {x.shape} and {y.shape}")
    if x.size < 3:
        raise ValueError(f"need at least 3 draws to fit a slope with an interval, got {x.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("size and accuracy must be finite")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    xc, yc = x - x.mean(), y - y.mean()
    sxx = float(xc @ xc)
    if not sxx > 0:
        raise ValueError("all perturbation sizes are equal; a slope is undefined")
    slope = float(xc @ yc) / sxx
    intercept = float(y.mean() - slope * x.mean())
    resid = y - (intercept + slope * x)
    rss, tss = float(resid @ resid), float(yc @ yc)
    dof = x.size - 2
    stderr = float(np.sqrt(rss / dof / sxx))
    tq = float(stats.t.ppf(0.5 * (1 + confidence), dof))
    r2 = 1.0 - rss / tss if tss > 0 else 1.0
    if stderr > 0:
        p_value = float(2 * stats.t.sf(abs(slope) / stderr, dof))
    else:
        p_value = 1.0 if slope == 0 else 0.0
    return SlopeFit(slope, intercept, slope - tq * stderr, slope + tq * stderr, stderr, r2, p_value, x.size)


def compare_slopes(size, accuracy_a, accuracy_b, /, *, confidence: float = 0.95) -> SlopeFit:
    """Slope of the paired accuracy difference ``acc_a - acc_b`` on ``P`` (§9.1, regression of the
    accuracy difference against a reference model): a positive slope with an interval above 0 means
    model ``a`` degrades more slowly than ``b`` under the same draws."""
    a, b = np.asarray(accuracy_a, dtype=float), np.asarray(accuracy_b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"accuracy_a and accuracy_b must have equal shapes, got {a.shape} and {b.shape}")
    return shift_slope(size, a - b, confidence=confidence)
