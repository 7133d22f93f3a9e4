"""``srtheory demo``: the table, the plot, and bad options (through the CLI dispatcher)."""

import numpy as np
import pytest

from srtheory.cli import main
from srtheory.commands import demo

FAST = ["--steps", "200", "--epochs", "1", "--batch-size", "32"]


def test_demo_prints_a_row_per_method_with_known_rho(capsys):
    assert main(["demo", *FAST]) == 0
    out = capsys.readouterr().out
    for method in ("gd", "sam", "srr", "sgd"):
        assert f"\n{method} " in out
    assert "mu_escape" in out and "(sharp)" in out and "(flat)" in out
    assert "HVPs" in out and "known rho" in out


def test_demo_reports_chattering(capsys):
    with pytest.warns(RuntimeWarning, match="flipped"):
        code = main(["demo", "--objective", "isotropic_cubic", "--mu", "0.1", "--lr", "0.1",
                     "--steps", "80", "--mlp", "none"])
    assert code == 0
    assert "CHATTERING" in capsys.readouterr().out


def test_demo_plot_writes_a_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    for name in ("sharp_flat_2d", "sharp_flat_1d"):
        path = tmp_path / f"{name}.png"
        assert main(["demo", "--objective", name, "--mlp", "none", "--steps", "30",
                     "--plot", str(path)]) == 0
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_plot_without_matplotlib_is_a_clear_error(tmp_path, capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_mpl(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("no matplotlib here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_mpl)
    code = main(["demo", "--mlp", "none", "--steps", "5", "--plot", str(tmp_path / "x.png")])
    assert code == 2 and "needs matplotlib" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("argv,msg", [
    (["--mu", "-1"], "--mu: must be >= 0"),
    (["--K", "-1"], "--K: must be >= 0"),
    (["--mlp", "nope"], "unknown objective"),
    (["--mlp", "rosenbrock"], "not a minibatch objective"),
    (["--objective", "matrix_factorization", "--plot", "x.png"], "1-D or 2-D"),
    (["--steps", "0"], "--steps: must be >= 1"),
    (["--lr", "0"], "--lr: must be > 0"),
    (["--epochs", "-2"], "--epochs: must be >= 1"),
    (["--objective", "nope"], "invalid choice"),
])
def test_demo_bad_options(argv, msg, capsys):
    assert main(["demo", "--mlp", "none", *argv] if "--mlp" not in argv else ["demo", *argv]) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1  # one line, no traceback


def test_known_rho_lookup():
    from srtheory import objectives as O

    obj = O.get("sharp_flat_2d")
    assert demo._known_rho(obj, np.array(obj.minimum("flat").x))[1] == "flat"
    assert demo._known_rho(obj, np.array([0.7, 0.3])) is None  # negative control: not at a minimum
