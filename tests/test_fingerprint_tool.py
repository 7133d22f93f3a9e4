"""The refactoring fingerprint (tests/tools/fingerprint.py) catches what it must: its comparison
passes identical records and rejects a NumPy result changed by one ulp and a torch result changed
by ten times its tolerance (the tool's own negative controls, run here so they stay true)."""

import numpy as np
from tools.fingerprint import TORCH_RTOL, compare, selftest


def test_fingerprint_comparison_has_working_negative_controls(capsys):
    assert selftest() == 0
    assert "one ulp caught True" in capsys.readouterr().out


def test_fingerprint_allows_only_the_stated_torch_tolerance(tmp_path):
    base = {"float32|x|scalars": np.array([1.0, 2.0, 3.0, 4.0])}
    np.savez(tmp_path / "a.npz", **base)
    inside = {"float32|x|scalars": np.array([1.0 + 0.5 * TORCH_RTOL["float32"], 2.0, 3.0, 4.0])}
    np.savez(tmp_path / "b.npz", **inside)
    assert compare(tmp_path / "a.npz", tmp_path / "b.npz") == 0
