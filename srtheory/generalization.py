"""The paper's generalizability tests (SRR_NOTES §9), as pure functions of predictions and data.

A model enters these functions only through its predictions (an integer label per test point) or
a ``predict`` callable ``X -> labels``; nothing here trains the compared models.

* §9.1 covariate shift with importance weighting: :func:`draw_shift`, :func:`shift_log_weights`,
  :func:`weighted_confusion`, :func:`iw_scores`, :func:`covariate_shift_scores`,
  :func:`shift_slope`, :func:`compare_slopes`.
* §9.2 augmented test set: :func:`augment_images` with :data:`AUG_MILD` / :data:`AUG_STRONG`,
  :func:`scale_augmentation` for images of another size than the paper's 16x16.
* §9.3 cross-dataset test on the overlapping labels: :func:`match_labels`,
  :func:`cross_dataset_scores`.
* §9.5 similarity-controlled constructed test sets: :func:`nearest_similarity`,
  :func:`constructed_test_set`.
* §9.4 GAN-generated test set: :func:`train_cgan`, :func:`cgan_sample`, :func:`gan_realism`,
  with :func:`knn_classifier` as the realism judge trained on real data.

Plain scores: :func:`accuracy_f1`.  Randomness enters only as an ``rng`` argument.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import ndimage, stats

from srtheory._validation import positive, positive_int

__all__ = [
    "ShiftDraw",
    "draw_shift",
    "shift_log_weights",
    "weighted_confusion",
    "confusion_accuracy",
    "confusion_f1",
    "Scores",
    "iw_scores",
    "accuracy_f1",
    "CovariateShiftResult",
    "covariate_shift_scores",
    "SlopeFit",
    "shift_slope",
    "compare_slopes",
    "AugmentSpec",
    "AUG_MILD",
    "AUG_STRONG",
    "scale_augmentation",
    "augment_images",
    "LabelPair",
    "LabelMatch",
    "normalize_label",
    "match_labels",
    "CrossDatasetScores",
    "cross_dataset_scores",
    "nearest_similarity",
    "ConstructedSet",
    "constructed_test_set",
    "knn_classifier",
    "CGan",
    "GanHistory",
    "train_cgan",
    "cgan_sample",
    "GanRealism",
    "gan_realism",
]


# ---------------------------------------------------------------------------------------------
# §9.1 covariate shift with importance weighting
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# §9.2 augmented test set
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AugmentSpec:
    """One augmentation strength of §9.2: a rotation by an angle uniform in ``±max_angle`` degrees,
    a random crop of the image padded by ``pad`` pixels (an integer translation of up to ``pad``),
    and a sub-pixel shift uniform in ``±max_shift`` pixels per axis."""

    max_angle: float
    pad: int
    max_shift: float = 0.0


#: the authors' first loader "Aug1" for 16x16 USPS: padding 1 (random crop), +-15 degrees
AUG_MILD = AugmentSpec(max_angle=15.0, pad=1)
#: the authors' second loader "Aug2": padding 2, +-30 degrees
AUG_STRONG = AugmentSpec(max_angle=30.0, pad=2)


def scale_augmentation(spec: AugmentSpec, /, *, size: int, reference: int = 16) -> AugmentSpec:
    """The same augmentation strength for ``size x size`` images as ``spec`` is for
    ``reference x reference`` ones: the crop translation of up to ``pad`` pixels and any shift
    become a sub-pixel shift of up to ``(pad + max_shift) * size / reference`` pixels (``pad = 0``);
    the angle is unchanged.  On 8x8 digits the paper's 16x16 ``pad=1`` is a half-pixel shift: an
    integer one-pixel crop there moves the digit by 1/8 of the image, twice the paper's strength."""
    size = positive_int(size, "size")
    reference = positive_int(reference, "reference")
    return AugmentSpec(spec.max_angle, 0, (spec.pad + spec.max_shift) * size / reference)


def augment_images(images, /, *, rng: np.random.Generator, spec: AugmentSpec) -> np.ndarray:
    """Augmented copy of test images, SRR_NOTES §9.2 (random crop with padding plus rotation).

    ``images`` has shape ``(n, h, w)``.  Each image is rotated by ``theta ~ U(-max_angle, max_angle)``
    (bilinear, zero fill, same size), shifted by ``s ~ U(-max_shift, max_shift)^2`` pixels, zero
    padded by ``pad`` and cropped back to ``h x w`` at an offset uniform in ``{0..2 pad}^2``.
    Labels are unchanged; the input is not modified.  Values are clipped to the input's range.
    """
    imgs = np.array(images, dtype=float)
    if imgs.ndim != 3 or imgs.shape[0] == 0:
        raise ValueError(f"images must have shape (n, h, w) with n >= 1, got {imgs.shape}")
    if not np.all(np.isfinite(imgs)):
        raise ValueError("images contain NaN or inf")
    if spec.pad < 0 or spec.max_angle < 0 or spec.max_shift < 0:
        raise ValueError(f"augmentation parameters must be >= 0, got {spec}")
    lo, hi = imgs.min(), imgs.max()
    n, h, w = imgs.shape
    out = np.empty_like(imgs)
    for i in range(n):
        img = imgs[i]
        if spec.max_angle > 0:
            angle = rng.uniform(-spec.max_angle, spec.max_angle)
            img = ndimage.rotate(img, angle, reshape=False, order=1, mode="constant", cval=0.0)
        if spec.max_shift > 0:
            img = ndimage.shift(img, rng.uniform(-spec.max_shift, spec.max_shift, size=2), order=1,
                                mode="constant", cval=0.0)
        if spec.pad > 0:
            padded = np.pad(img, spec.pad)
            r, c = rng.integers(0, 2 * spec.pad + 1, size=2)
            img = padded[r : r + h, c : c + w]
        out[i] = img
    return np.clip(out, lo, hi)


# ---------------------------------------------------------------------------------------------
# §9.3 cross-dataset test on the overlapping labels
# ---------------------------------------------------------------------------------------------


class LabelPair(NamedTuple):
    """A matched label: names and indices in the source (training) and target label lists, and how
    they matched: ``"exact"``, ``"normalized"``, ``"contained"`` or ``"synonym"``."""

    source: str
    target: str
    source_index: int
    target_index: int
    how: str


class LabelMatch(NamedTuple):
    """Result of :func:`match_labels`: the matched pairs, the labels left unmatched on each side,
    and the ambiguous near-matches that were reported but not used (``(name, candidates)``)."""

    pairs: tuple
    unmatched_source: tuple
    unmatched_target: tuple
    ambiguous: tuple

    def report(self) -> str:
        """One line per matched pair, then the unmatched and ambiguous labels."""
        lines = [f"{p.source!r} -> {p.target!r} ({p.how})" for p in self.pairs]
        lines.append(f"unmatched source labels: {list(self.unmatched_source)}")
        lines.append(f"unmatched target labels: {list(self.unmatched_target)}")
        for name, cands in self.ambiguous:
            lines.append(f"ambiguous, not matched: {name!r} ~ {list(cands)}")
        return "\n".join(lines)


def normalize_label(name: str, /) -> str:
    """Normalized label name: lower case, ``_``/``-``/punctuation to spaces, whitespace collapsed,
    each word longer than 3 letters made singular by dropping a plural ``s`` (``es`` after
    ``s``, ``x``, ``ch``, ``sh``): ``"Pleural_Effusions"`` -> ``"pleural effusion"``, ``"Masses"`` ->
    ``"mass"``."""
    words = re.sub(r"[^0-9a-z]+", " ", str(name).lower()).split()
    return " ".join(_singular(w) for w in words)


def match_labels(
    source: Sequence[str], target: Sequence[str], /, *, synonyms: Mapping[str, str] | None = None
) -> LabelMatch:
    """Match label names of two datasets for the cross-dataset test, SRR_NOTES §9.3.

    The authors matched exact names only, which drops near-synonyms such as ``"Effusion"`` vs
    ``"Pleural Effusion"``.  Here labels are matched one-to-one in rounds: (1) exact names;
    (2) equal :func:`normalize_label`; (3) user ``synonyms`` (source name -> target name);
    (4) containment: the words of one normalized name are all among the words of the other, and the
    match is unique both ways.  A containment candidate that is not unique is reported in
    ``ambiguous`` and left unmatched, never silently dropped or guessed.
    """
    src, tgt = [str(s) for s in source], [str(t) for t in target]
    for side, names in (("source", src), ("target", tgt)):
        if len(set(names)) != len(names):
            raise ValueError(f"{side} label names must be unique, got {names}")
    free_s, free_t = set(range(len(src))), set(range(len(tgt)))
    pairs: list[LabelPair] = []

    def take(i, j, how):
        pairs.append(LabelPair(src[i], tgt[j], i, j, how))
        free_s.discard(i)
        free_t.discard(j)

    for i in sorted(free_s):
        if src[i] in tgt and tgt.index(src[i]) in free_t:
            take(i, tgt.index(src[i]), "exact")
    norm_t = {j: normalize_label(tgt[j]) for j in range(len(tgt))}
    for i in sorted(free_s):
        hits = [j for j in sorted(free_t) if norm_t[j] == normalize_label(src[i])]
        if len(hits) == 1:
            take(i, hits[0], "normalized")
    for s_name, t_name in (synonyms or {}).items():
        if s_name not in src or t_name not in tgt:
            raise ValueError(f"synonym {s_name!r} -> {t_name!r} names a label not in the lists")
        i, j = src.index(s_name), tgt.index(t_name)
        if i in free_s and j in free_t:
            take(i, j, "synonym")
    ambiguous = []

    def contained(a: str, b: str) -> bool:
        wa, wb = set(a.split()), set(b.split())
        return bool(wa) and bool(wb) and (wa <= wb or wb <= wa)

    cand = {i: [j for j in sorted(free_t) if contained(normalize_label(src[i]), norm_t[j])] for i in sorted(free_s)}
    for i, js in cand.items():
        if not js:
            continue
        back = [k for k, ks in cand.items() if js[0] in ks]
        if len(js) == 1 and back == [i]:
            take(i, js[0], "contained")
        else:
            ambiguous.append((src[i], tuple(tgt[j] for j in js)))
    pairs.sort(key=lambda p: p.source_index)
    return LabelMatch(
        pairs=tuple(pairs),
        unmatched_source=tuple(src[i] for i in sorted(free_s)),
        unmatched_target=tuple(tgt[j] for j in sorted(free_t)),
        ambiguous=tuple(ambiguous),
    )


class CrossDatasetScores(NamedTuple):
    """Scores on the target points whose label matched a source label: accuracy, macro F1 over the
    matched classes, how many points were scored and how many were dropped (unmatched label)."""

    accuracy: float
    f1: float
    n_scored: int
    n_dropped: int


def cross_dataset_scores(y_true_target, y_pred_source, match: LabelMatch, /) -> CrossDatasetScores:
    """Score a source-trained model on another dataset on the overlapping labels only (§9.3).

    ``y_true_target[i]`` indexes the target label list and ``y_pred_source[i]`` the source label list.
    Points whose target label is unmatched are dropped (counted in ``n_dropped``); for the rest the
    target label is mapped to its source index through ``match`` and compared with the prediction
    (a prediction of a source class that has no target counterpart counts as an error).
    """
    if not match.pairs:
        raise ValueError("no labels matched; nothing to score (see match.report())")
    yt = np.asarray(y_true_target, dtype=int)
    yp = np.asarray(y_pred_source, dtype=int)
    if yt.ndim != 1 or yp.shape != yt.shape:
        raise ValueError(f"labels must be 1-D of equal length, got {yt.shape} and {yp.shape}")
    t2s = {p.target_index: p.source_index for p in match.pairs}
    keep = np.array([t in t2s for t in yt], dtype=bool)
    if not keep.any():
        raise ValueError("no target point carries a matched label")
    mapped = np.array([t2s[t] for t in yt[keep]])
    n_src = max(int(yp.max()), max(t2s.values())) + 1
    C = weighted_confusion(mapped, yp[keep], np.ones(mapped.size), n_classes=n_src)
    matched = sorted(set(t2s.values()))
    sub = C[np.ix_(matched, matched)].copy()
    # predictions outside the matched classes are false negatives of the true class
    fn_extra = C[matched].sum(axis=1) - sub.sum(axis=1)
    tp = np.diag(sub)
    denom = sub.sum(axis=0) + sub.sum(axis=1) + fn_extra
    f1 = float(np.mean(np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1), 0.0)))
    return CrossDatasetScores(confusion_accuracy(C), f1, int(keep.sum()), int((~keep).sum()))


# ---------------------------------------------------------------------------------------------
# §9.5 similarity-controlled constructed test sets
# ---------------------------------------------------------------------------------------------


def nearest_similarity(candidates, reference, /, *, metric: str = "cosine", chunk: int = 1024) -> np.ndarray:
    """Similarity of each candidate to its nearest reference point, SRR_NOTES §9.5 step 1.

    ``metric="cosine"``: ``max_r <c, r> / (||c|| ||r||)`` (higher = more similar);
    ``metric="euclidean"``: ``min_r ||c - r||`` (lower = more similar).  Rows are flattened, so
    images of shape ``(n, h, w)`` are accepted.  Computed in chunks of ``chunk`` candidates.
    """
    C = _as_matrix(np.reshape(np.asarray(candidates, dtype=float), (len(candidates), -1)), "candidates")
    R = _as_matrix(np.reshape(np.asarray(reference, dtype=float), (len(reference), -1)), "reference")
    if C.shape[1] != R.shape[1]:
        raise ValueError(f"candidates have {C.shape[1]} features, reference {R.shape[1]}")
    chunk = positive_int(chunk, "chunk")
    if metric == "cosine":
        nc, nr = np.linalg.norm(C, axis=1), np.linalg.norm(R, axis=1)
        if np.any(nc == 0) or np.any(nr == 0):
            raise ValueError("cosine similarity is undefined for an all-zero row")
        Cn, Rn = C / nc[:, None], R / nr[:, None]
        out = np.concatenate([np.max(Cn[s : s + chunk] @ Rn.T, axis=1) for s in range(0, len(C), chunk)])
        return np.clip(out, -1.0, 1.0)
    if metric == "euclidean":
        r2 = np.sum(R**2, axis=1)
        parts = []
        for s in range(0, len(C), chunk):
            c = C[s : s + chunk]
            d2 = np.sum(c**2, axis=1)[:, None] - 2 * c @ R.T + r2[None, :]
            parts.append(np.sqrt(np.maximum(np.min(d2, axis=1), 0.0)))
        return np.concatenate(parts)
    raise ValueError(f"metric must be 'cosine' or 'euclidean', got {metric!r}")


class ConstructedSet(NamedTuple):
    """A similarity-controlled test set (§9.5): ``indices`` into the candidate pool, the histogram
    ``counts`` of the chosen candidates' similarities over ``bin_edges``, and the emptied bins."""

    indices: np.ndarray
    bin_edges: np.ndarray
    counts: np.ndarray
    emptied: np.ndarray


def constructed_test_set(
    similarity,
    /,
    *,
    rng: np.random.Generator,
    bin_edges=None,
    n_bins: int = 20,
    n_empty: int = 5,
    max_per_bin: int = 50,
) -> ConstructedSet:
    """Build a test set with a deliberately irregular similarity histogram, SRR_NOTES §9.5 steps 2-5.

    The candidates' ``similarity`` values are binned over ``bin_edges`` (default: ``n_bins`` equal
    bins spanning the observed range); ``n_empty`` bins among the non-empty ones are chosen at
    random and left empty; every other bin gets ``m_b ~ U{1..max_per_bin}`` candidates drawn without
    replacement from those in it (all of them if fewer).  Candidates outside the edges are unused.
    """
    s = np.array(similarity, dtype=float)
    if s.ndim != 1 or s.size == 0 or not np.all(np.isfinite(s)):
        raise ValueError("similarity must be a non-empty finite 1-D array")
    max_per_bin = positive_int(max_per_bin, "max_per_bin")
    if bin_edges is None:
        n_bins = positive_int(n_bins, "n_bins")
        lo, hi = float(s.min()), float(s.max())
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, n_bins + 1)
    else:
        edges = np.array(bin_edges, dtype=float)
        if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
            raise ValueError("bin_edges must be a strictly increasing 1-D array of length >= 2")
    n_b = edges.size - 1
    which = np.clip(np.searchsorted(edges, s, side="right") - 1, 0, n_b - 1)
    inside = (s >= edges[0]) & (s <= edges[-1])
    nonempty = np.unique(which[inside])
    n_empty = positive_int(n_empty, "n_empty", minimum=0)
    if n_empty >= nonempty.size:
        raise ValueError(f"n_empty={n_empty} must be below the number of non-empty bins ({nonempty.size})")
    emptied = np.sort(rng.choice(nonempty, size=n_empty, replace=False))
    chosen = []
    for b in nonempty:
        if b in emptied:
            continue
        pool = np.flatnonzero(inside & (which == b))
        m = min(int(rng.integers(1, max_per_bin + 1)), pool.size)
        chosen.append(rng.choice(pool, size=m, replace=False))
    idx = np.concatenate(chosen)
    counts = np.bincount(which[idx], minlength=n_b)
    return ConstructedSet(idx, edges, counts, emptied)


# ---------------------------------------------------------------------------------------------
# §9.4 GAN-generated test set
# ---------------------------------------------------------------------------------------------


def knn_classifier(X_train, y_train, /, *, k: int = 5) -> Callable[[np.ndarray], np.ndarray]:
    """A ``k``-nearest-neighbour (Euclidean, majority vote, ties to the smallest label) classifier
    fitted on real data: the independent judge of :func:`gan_realism` (§9.4 realism report)."""
    Xt = _as_matrix(np.reshape(np.asarray(X_train, dtype=float), (len(X_train), -1)), "X_train")
    yt = np.asarray(y_train, dtype=int)
    if yt.shape != (Xt.shape[0],):
        raise ValueError(f"y_train must have shape ({Xt.shape[0]},), got {yt.shape}")
    k = positive_int(k, "k")
    if k > Xt.shape[0]:
        raise ValueError(f"k={k} exceeds the number of training points {Xt.shape[0]}")
    n_cls = int(yt.max()) + 1
    sq = np.sum(Xt**2, axis=1)

    def predict(X):
        Xq = np.reshape(np.asarray(X, dtype=float), (len(X), -1))
        d2 = np.sum(Xq**2, axis=1)[:, None] - 2 * Xq @ Xt.T + sq[None, :]
        nn = np.argpartition(d2, k - 1, axis=1)[:, :k]
        votes = np.zeros((Xq.shape[0], n_cls))
        np.add.at(votes, (np.repeat(np.arange(Xq.shape[0]), k), yt[nn].ravel()), 1.0)
        return np.argmax(votes, axis=1)

    return predict


class CGan(NamedTuple):
    """Parameters of the conditional GAN of §9.4 as flat vectors with their unflatten maps, the
    latent size and the number of classes.  Pixels live in [0, 1]."""

    gen: np.ndarray
    disc: np.ndarray
    unflatten_gen: Callable
    unflatten_disc: Callable
    n_latent: int
    n_classes: int


class GanHistory(NamedTuple):
    """Per-step discriminator and generator losses, and at checkpoints ``steps`` the class-mean gap
    ``mean_c ||mean(fake_c) - mean(real_c)||_2`` (lower = closer to the real data)."""

    d_loss: np.ndarray
    g_loss: np.ndarray
    steps: np.ndarray
    mean_gap: np.ndarray


def train_cgan(
    images,
    labels,
    /,
    *,
    rng: np.random.Generator,
    n_classes: int,
    n_steps: int = 2000,
    batch_size: int = 64,
    n_latent: int = 16,
    hidden: int = 128,
    lr: float = 1e-3,
    smoothing: float = 0.3,
    swap_prob: float = 0.01,
    eval_every: int = 100,
) -> tuple[CGan, GanHistory]:
    """Train a small conditional GAN on real images, SRR_NOTES §9.4 (the authors' ``cGAN.py``).

    Generator ``G(z, c) = sigmoid(W2 lrelu(W1 [z; onehot(c)] + b1) + b2)``, discriminator
    ``D(x, c) = w2 . lrelu(V1 [x; onehot(c)] + a1) + a2`` (a logit); both MLPs with ``hidden`` units.
    Each step: D minimizes the cross-entropy with smoothed targets (real ``~ U(1 - smoothing, 1)``,
    fake ``~ U(0, smoothing)``, each target swapped with probability ``swap_prob``), then G minimizes
    the non-saturating loss ``-log sigmoid(D(G(z, c), c))``; Adam (beta 0.5, 0.999) on both.
    ``images`` are flattened and must lie in [0, 1].
    """
    import autograd.numpy as anp
    from autograd import grad
    from autograd.misc import flatten

    X = np.reshape(np.asarray(images, dtype=float), (len(images), -1))
    if not np.all(np.isfinite(X)) or X.min() < 0 or X.max() > 1:
        raise ValueError("images must be finite and scaled to [0, 1]")
    y = np.asarray(labels, dtype=int)
    n_classes = positive_int(n_classes, "n_classes")
    if y.shape != (X.shape[0],) or y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"labels must be integers in [0, {n_classes}) of shape ({X.shape[0]},)")
    for name, v in (("n_steps", n_steps), ("batch_size", batch_size), ("n_latent", n_latent),
                    ("hidden", hidden), ("eval_every", eval_every)):
        positive_int(v, name)
    lr = positive(lr, "lr")
    if not (0 <= smoothing < 0.5 and 0 <= swap_prob < 0.5):
        raise ValueError("smoothing and swap_prob must lie in [0, 0.5)")
    n_pix, eye = X.shape[1], np.eye(n_classes)

    def layer(n_in, n_out):
        return [rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in), np.zeros(n_out)]

    gen0, unflatten_gen = flatten(layer(n_latent + n_classes, hidden) + layer(hidden, n_pix))
    disc0, unflatten_disc = flatten(layer(n_pix + n_classes, hidden) + layer(hidden, 1))

    def lrelu(a):
        return anp.maximum(a, 0.2 * a)

    def generate(g, z, onehot):
        W1, b1, W2, b2 = unflatten_gen(g)
        return 1.0 / (1.0 + anp.exp(-(anp.dot(lrelu(anp.dot(anp.concatenate([z, onehot], 1), W1) + b1), W2) + b2)))

    def logit(d, x, onehot):
        V1, a1, w2, a2 = unflatten_disc(d)
        return (anp.dot(lrelu(anp.dot(anp.concatenate([x, onehot], 1), V1) + a1), w2) + a2)[:, 0]

    def bce(t, target):  # cross-entropy of sigmoid(t) against soft targets, numerically stable
        return anp.mean(anp.logaddexp(0.0, t) - target * t)

    def d_loss(d, g, xr, oh_r, z, oh_f, tr, tf):
        return bce(logit(d, xr, oh_r), tr) + bce(logit(d, generate(g, z, oh_f), oh_f), tf)

    def g_loss(g, d, z, oh_f):
        return bce(logit(d, generate(g, z, oh_f), oh_f), 1.0)

    d_grad, g_grad = grad(d_loss), grad(g_loss)
    gen, disc = gen0.copy(), disc0.copy()
    adam_g = _AdamState(np.zeros(gen.size), np.zeros(gen.size), 0)
    adam_d = _AdamState(np.zeros(disc.size), np.zeros(disc.size), 0)
    real_means = np.stack([X[y == c].mean(axis=0) if np.any(y == c) else np.zeros(n_pix) for c in range(n_classes)])
    d_hist, g_hist, steps, gaps = np.empty(n_steps), np.empty(n_steps), [], []

    def mean_gap(g):
        z = rng.standard_normal((20 * n_classes, n_latent))
        c = np.repeat(np.arange(n_classes), 20)
        fake = generate(g, z, eye[c])
        return float(np.mean([np.linalg.norm(fake[c == k].mean(0) - real_means[k]) for k in range(n_classes)]))

    steps.append(0)
    gaps.append(mean_gap(gen))
    for step in range(n_steps):
        idx = rng.integers(0, X.shape[0], size=batch_size)
        xr, oh_r = X[idx], eye[y[idx]]
        z = rng.standard_normal((batch_size, n_latent))
        oh_f = eye[rng.integers(0, n_classes, size=batch_size)]
        tr = rng.uniform(1 - smoothing, 1.0, batch_size)
        tf = rng.uniform(0.0, smoothing, batch_size)
        swap = rng.random(batch_size) < swap_prob
        tr, tf = np.where(swap, tf, tr), np.where(swap, tr, tf)
        d_hist[step] = d_loss(disc, gen, xr, oh_r, z, oh_f, tr, tf)
        disc, adam_d = _adam_step(disc, d_grad(disc, gen, xr, oh_r, z, oh_f, tr, tf), adam_d, lr)
        z = rng.standard_normal((batch_size, n_latent))
        oh_f = eye[rng.integers(0, n_classes, size=batch_size)]
        g_hist[step] = g_loss(gen, disc, z, oh_f)
        gen, adam_g = _adam_step(gen, g_grad(gen, disc, z, oh_f), adam_g, lr)
        if (step + 1) % eval_every == 0:
            steps.append(step + 1)
            gaps.append(mean_gap(gen))
    if not (np.all(np.isfinite(d_hist)) and np.all(np.isfinite(g_hist))):
        raise ValueError("GAN training diverged (non-finite loss); lower lr")
    model = CGan(gen, disc, unflatten_gen, unflatten_disc, n_latent, n_classes)
    return model, GanHistory(d_hist, g_hist, np.array(steps), np.array(gaps))


def cgan_sample(model: CGan, labels, /, *, rng: np.random.Generator) -> np.ndarray:
    """Generated images (flattened, in [0, 1]) for the requested class ``labels`` (§9.4: the
    GAN-generated, labelled test set)."""
    c = np.asarray(labels, dtype=int)
    if c.ndim != 1 or c.size == 0 or c.min() < 0 or c.max() >= model.n_classes:
        raise ValueError(f"labels must be a non-empty 1-D array of ints in [0, {model.n_classes})")
    W1, b1, W2, b2 = model.unflatten_gen(model.gen)
    h = np.concatenate([rng.standard_normal((c.size, model.n_latent)), np.eye(model.n_classes)[c]], 1) @ W1 + b1
    return 1.0 / (1.0 + np.exp(-(np.maximum(h, 0.2 * h) @ W2 + b2)))


class GanRealism(NamedTuple):
    """How realistic generated samples are (§9.4 report): ``label_agreement`` = accuracy of a
    classifier trained on real data on the samples w.r.t. their conditioning labels, with the same
    classifier's accuracy on real held-out data as reference; and the mean nearest-neighbour cosine
    similarity of samples to the real training set next to that of real held-out data."""

    label_agreement: float
    real_accuracy: float
    nn_similarity_fake: float
    nn_similarity_real: float


def gan_realism(judge: Callable, fake, fake_labels, real, real_labels, train, /) -> GanRealism:
    """Realism report of a GAN test set, so that scores on it are not over-read (§9.4).

    ``judge`` is a classifier trained on real data only (e.g. :func:`knn_classifier`); ``fake`` with
    ``fake_labels`` are generated samples, ``real`` with ``real_labels`` held-out real data in the
    same scale, ``train`` the real training inputs.
    """
    fake = np.reshape(np.asarray(fake, dtype=float), (len(fake), -1))
    real = np.reshape(np.asarray(real, dtype=float), (len(real), -1))
    agree = float(np.mean(np.asarray(judge(fake)) == np.asarray(fake_labels)))
    real_acc = float(np.mean(np.asarray(judge(real)) == np.asarray(real_labels)))
    sim_f = float(np.mean(nearest_similarity(fake, train)))
    sim_r = float(np.mean(nearest_similarity(real, train)))
    return GanRealism(agree, real_acc, sim_f, sim_r)


# ---------------------------------------------------------------------------------------------
# private helpers
# ---------------------------------------------------------------------------------------------


class _AdamState(NamedTuple):
    """Adam (Kingma & Ba) moments for one flat parameter vector of the GAN."""

    m: np.ndarray
    v: np.ndarray
    t: int


def _adam_step(x, g, state: _AdamState, lr: float, b1: float = 0.5, b2: float = 0.999, eps: float = 1e-8):
    """One Adam step with beta1 = 0.5, as is usual for GANs; returns ``(new_x, new_state)``.
    Private: the compared models are trained with :mod:`srtheory.optimizers`."""
    t = state.t + 1
    m = b1 * state.m + (1 - b1) * g
    v = b2 * state.v + (1 - b2) * g * g
    x_new = x - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    return x_new, _AdamState(m, v, t)


def _singular(word: str) -> str:
    if len(word) <= 3 or word.endswith("ss") or not word.endswith("s"):
        return word
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    return word[:-1]


def _as_matrix(X, name: str) -> np.ndarray:
    arr = np.asarray(X, dtype=float)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return arr


def _as_labels(y, name: str, n_classes: int, n: int | None = None) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1 or (n is not None and arr.size != n):
        raise ValueError(f"{name} must be 1-D{'' if n is None else f' of length {n}'}, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer) and not np.all(arr == np.round(arr)):
        raise ValueError(f"{name} must hold integer class labels")
    arr = arr.astype(int)
    if arr.size and (arr.min() < 0 or arr.max() >= n_classes):
        raise ValueError(f"{name} must hold labels in [0, {n_classes}), got range [{arr.min()}, {arr.max()}]")
    return arr
