"""``srtheory conformance``: runs without the peers (they are reported as skipped), writes the
document, and exits 0 while srtheory's certified paths pass."""

import argparse

import pytest

from srtheory.commands import conformance


def _args(**kw):
    parser = argparse.ArgumentParser()
    conformance.add_arguments(parser)
    argv = []
    for k, v in kw.items():
        argv += [f"--{k.replace('_', '-')}"] + ([] if v is True else [str(v)])
    return parser.parse_args(argv)


def test_command_writes_the_document_and_reports_missing_peers(tmp_path, capsys):
    pytest.importorskip("torch")
    out = tmp_path / "CONFORMANCE.md"
    assert conformance.main(_args(n=8, float64_only=True, out=out)) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Conformance of eigen-solvers and Hessian-vector products")
    assert "`srtheory conformance --n 8 --float64-only --out" in text
    assert "| srtheory spectral_radius | float64 | 10/10 |" in text
    assert "| srtheory.torch.hvp('double_backward') | float64 | 4/4 |" in text
    for peer in ("PyHessian", "hessian-eigenthings", "curvlinops"):
        assert peer in text
    assert "Machine:" in text and "Peers:" in text
    assert capsys.readouterr().out == text


def test_command_rejects_a_too_small_operator():
    from srtheory.commands._args import UsageError

    with pytest.raises(UsageError, match="at least 6"):
        conformance.main(_args(n=3))


def test_render_marks_failures():
    import srtheory.testing as st

    def sign_dropped(matvec, v0):
        import srtheory

        r = srtheory.spectral_radius(matvec, v0)
        return r.rho, r.eigvec

    rep = st.check_eigensolver(sign_dropped, st.eigen_problems(n=8, kinds=("generic", "negative_dominant")))
    runs = [{"name": "broken", "check": "eigensolver", "dtype": "float64", "report": rep, "skipped": None},
            {"name": "absent", "check": "eigensolver", "dtype": "float64", "report": None,
             "skipped": "absent not installed"}]
    text = conformance.render(runs, command="srtheory conformance", seconds=1.0)
    assert "| broken | float64 | 1/2 | negative_dominant |" in text
    assert "| absent | float64 | skipped: absent not installed |" in text
    assert "✗" in text and "✓" in text


def test_registered_in_the_command_table(capsys):
    from srtheory.cli import COMMANDS, main

    assert "conformance" in COMMANDS
    assert main(["conformance", "--n", "3"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
