"""srtheory.torch.cnn_experiments and ``srtheory cnn --quick`` end to end: the document's
structure, plausible finite numbers, intervals that contain their means, and the figures."""

import re
from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
pytest.importorskip("mlxtend")
pytest.importorskip("matplotlib")

from srtheory.cli import main
from srtheory.experiments.digit_sets import load_digit_set
from srtheory.torch.cnn_experiments import (
    CnnConfig,
    binned_curve,
    digit_cnn,
    quick_config,
    train_method,
)

torch.set_num_threads(1)

LABELS = [f"{m} ({v})" for v in ("ReLU", "GELU") for m in ("base", "SAM", "SRR")]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cnn")
    out = folder / "RESULTS_CNN.md"
    assert main(["cnn", "--quick", "--quiet", "--out", str(out)]) == 0
    return out.read_text(encoding="utf-8"), folder


def _table(text, heading):
    """Rows of the first Markdown table after ``heading``: {first cell: [other cells]}."""
    part = text.split(heading, 1)[1]
    rows = {}
    for line in part.splitlines():
        if line.startswith("| ") and not line.startswith("| method") and not line.startswith("| test |"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0]] = cells[1:]
        elif rows and not line.startswith("|"):
            break
    return rows


def test_quick_document_has_every_table_and_figure(quick_run):
    text, folder = quick_run
    assert "python -m srtheory cnn --quick" in text
    assert re.search(r"Machine: .+, \d+ cores, .*torch 2\.\d+.*NumPy .*wall time \d+ s", text)
    for heading in ("## MNIST-5k (300 train / 800 validation / 1000 test)", "## UCI digits (300 train",
                    "cross-dataset acc (UCI digits)", "cross-dataset acc (MNIST-5k)", "typeset glyphs acc",
                    "aug. mild acc", "aug. strong acc", "IW acc under shift", "slope d acc / d P",
                    "constructed acc", "Paired differences against the base model"):
        assert heading in text, heading
    for name in ("cnn_shift.png", "cnn_rho.png"):
        png = folder / "results" / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
        assert f"(results/{name})" in text
    assert "nan" not in text.lower()


@pytest.mark.parametrize("heading", ["## MNIST-5k", "## UCI digits"])
def test_quick_scores_are_plausible_and_intervals_contain_means(quick_run, heading):
    text, _ = quick_run
    section = text.split(heading, 1)[1]
    rows = _table(section, "| method")
    assert sorted(rows) == sorted(LABELS)
    for cells in rows.values():
        rho = float(cells[0].split("±")[0])
        assert rho > 0
        accs = [float(c.split("±")[0]) for i, c in enumerate(cells[2:9]) if i != 6]  # not the slope
        assert all(0.0 <= a <= 1.0 for a in accs), cells
    comps = _table(section, "| test |")
    assert len(comps) == 9  # rho and the eight tests
    for cells in comps.values():
        assert len(cells) == 4
        for cell in cells:
            m = re.match(r"([+-]\d\.\d+) \[([+-]\d\.\d+), ([+-]\d\.\d+)\] (.+)", cell)
            assert m, cell
            mean, lo, hi = (float(m.group(i)) for i in (1, 2, 3))
            assert lo - 1e-4 <= mean <= hi + 1e-4
            verdict = m.group(4).strip("*")
            assert verdict == ("no detectable difference" if lo <= 0 <= hi else verdict)
            assert verdict in ("better", "worse", "no detectable difference")


def test_methods_of_a_seed_start_from_the_same_weights():
    a, b = digit_cnn(activation="relu", seed=4), digit_cnn(activation="gelu", seed=4)
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q)
    c = digit_cnn(activation="relu", seed=5)
    assert any(not torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))


def test_srr_lowers_rho_at_the_kept_model():
    data = load_digit_set("digits", max_train=300)
    config = replace(quick_config(), epochs=3, mu=0.5)
    base = train_method(data, "gelu", "base", seed=0, config=config)
    srr = train_method(data, "gelu", "SRR", seed=0, config=config)
    assert srr.srr_steps == 3 * 5 and srr.srr_penalized > 0
    assert srr.rho < base.rho and np.isfinite(base.rho)
    assert 0 <= srr.best_epoch < 3 and 0.0 <= srr.val_accuracy <= 1.0


def test_binned_curve_averages_per_quantile_bin():
    x = np.arange(12.0)
    y = np.repeat([1.0, 2.0, 3.0], 4)
    centres, means = binned_curve(x, y, bins=3)
    np.testing.assert_allclose(centres, [1.5, 5.5, 9.5])
    np.testing.assert_allclose(means, [1.0, 2.0, 3.0])


def test_bad_configuration_and_options_are_rejected(capsys):
    with pytest.raises(ValueError, match="unknown digit set"):
        CnnConfig(datasets=("usps",))
    with pytest.raises(ValueError, match="variant"):
        CnnConfig(variants=("tanh",))
    assert main(["cnn", "--seeds", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--seeds" in err


def test_without_out_nothing_is_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["cnn", "--quick", "--quiet", "--datasets", "digits", "--seeds", "2", "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "## UCI digits" in out and "## MNIST-5k" not in out and "![" not in out
    assert list(tmp_path.iterdir()) == []
