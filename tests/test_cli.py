"""The command line: dispatch, help, unknown commands, one pattern for every command, and the
radius command's answer."""

import ast
import subprocess
import sys
from importlib import import_module
from pathlib import Path

import pytest

from srtheory.cli import COMMANDS, main

PACKAGE = Path(__file__).resolve().parents[1] / "srtheory"


def test_help_lists_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


def test_unknown_command_is_an_error(capsys):
    assert main(["no-such-command"]) == 2
    assert "unknown command" in capsys.readouterr().err


def test_version(capsys):
    assert main(["--version"]) == 0
    assert "srtheory" in capsys.readouterr().out


def test_radius_command_matches_dense_answer(capsys):
    assert main(["radius"]) == 0
    out = capsys.readouterr().out
    assert "dense eigh (oracle)" in out and "lanczos" in out


def test_bad_option_is_one_line_and_status_2(capsys):
    assert main(["radius", "--hidden", "not-a-number"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--hidden" in err and "expected an integer" in err


def test_command_help_exits_0(capsys):
    assert main(["radius", "--help"]) == 0
    assert "--tol" in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_follows_the_pattern(name):
    if name == "bench":
        pytest.importorskip("torch")
    module = import_module(f"srtheory.commands.{name}")
    assert callable(module.add_arguments) and callable(module.main)


def test_no_argparse_outside_the_commands():
    """Library modules hold no command code: argparse appears only in srtheory/commands/ and in
    the dispatcher srtheory/cli.py (negative control: the dispatcher itself is found)."""
    users = set()
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n.split(".")[0] == "argparse" for n in names):
                users.add(path.relative_to(PACKAGE).as_posix())
    assert "cli.py" in users
    assert {u for u in users if not u.startswith("commands/") and u != "cli.py"} == set()


def test_verify_never_imports_torch():
    code = ("import sys; from srtheory.cli import main; rc = main(['verify', '--claim', 'C07']); "
            "sys.exit(10 + rc if 'torch' in sys.modules else rc)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_python_dash_m_runs_the_dispatcher():
    proc = subprocess.run([sys.executable, "-m", "srtheory", "--version"], capture_output=True, check=False,
                          text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("srtheory ")
