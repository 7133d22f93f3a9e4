"""Cross-dataset test on the overlapping labels, SRR_NOTES §9.3.

:func:`match_labels` matches the label names of two datasets (exact, normalized by
:func:`normalize_label`, user synonyms, unique containment); :func:`cross_dataset_scores` scores a
source-trained model on the target points whose label matched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

from srtheory.generalization.covariate_shift import confusion_accuracy, weighted_confusion

__all__ = [
    "LabelPair",
    "LabelMatch",
    "normalize_label",
    "match_labels",
    "CrossDatasetScores",
    "cross_dataset_scores",
]


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
# private helpers
# ---------------------------------------------------------------------------------------------


def _singular(word: str) -> str:
    if len(word) <= 3 or word.endswith("ss") or not word.endswith("s"):
        return word
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    return word[:-1]
