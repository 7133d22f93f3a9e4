"""srtheory.experiments.statistics.paired_comparison: the verdict per test over seeds."""

import numpy as np
import pytest
from scipy import stats

from srtheory.experiments.statistics import NO_DIFFERENCE, paired_comparison


def test_identical_scores_give_no_detectable_difference():
    # negative control: the method is the base model
    base = np.array([0.91, 0.88, 0.93, 0.90, 0.87, 0.92, 0.89, 0.90, 0.91, 0.88])
    c = paired_comparison(base.copy(), base)
    assert c.verdict == NO_DIFFERENCE
    assert c.mean == 0.0 and c.ci_low == 0.0 and c.ci_high == 0.0 and c.n == 10


def test_a_constant_gain_is_decided_either_way():
    base = np.linspace(0.8, 0.9, 10)
    up = paired_comparison(base + 0.05, base)
    assert up.verdict == "better" and up.ci_low == pytest.approx(0.05) and up.ci_high == pytest.approx(0.05)
    assert paired_comparison(base - 0.05, base).verdict == "worse"
    # for rho lower is better: a constant decrease is "better"
    assert paired_comparison(base - 0.05, base, higher_is_better=False).verdict == "better"


def test_interval_is_the_paired_t_interval_and_agrees_with_the_t_test():
    rng = np.random.default_rng(0)
    for shift in (0.0, 0.01, 0.03):
        base = rng.uniform(0.8, 0.9, 12)
        method = base + shift + rng.normal(0, 0.02, 12)
        c = paired_comparison(method, base)
        d = method - base
        half = stats.t.ppf(0.975, 11) * d.std(ddof=1) / np.sqrt(12)
        assert c.ci_low == pytest.approx(d.mean() - half) and c.ci_high == pytest.approx(d.mean() + half)
        assert c.ci_low <= c.mean <= c.ci_high
        p = stats.ttest_rel(method, base).pvalue
        assert (c.verdict == NO_DIFFERENCE) == (p >= 0.05)


def test_noise_around_zero_is_not_called_a_difference():
    # differences symmetric about 0 (mean exactly 0): the interval must cover 0
    base = np.full(10, 0.9)
    method = base + np.array([0.02, -0.02, 0.01, -0.01, 0.03, -0.03, 0.0, 0.0, 0.015, -0.015])
    assert paired_comparison(method, base).verdict == NO_DIFFERENCE


def test_one_seed_gives_no_interval_and_bad_input_is_rejected():
    assert paired_comparison([0.9], [0.8]).verdict == "too few seeds"
    with pytest.raises(ValueError, match="equal length"):
        paired_comparison([0.9, 0.8], [0.8])
    with pytest.raises(ValueError, match="finite"):
        paired_comparison([0.9, np.nan], [0.8, 0.7])
    with pytest.raises(ValueError, match="confidence"):
        paired_comparison([0.9, 0.8], [0.8, 0.7], confidence=1.0)
