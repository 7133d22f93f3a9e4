"""The command line: dispatch, help, unknown commands, and the radius command's answer."""

import pytest

from srtheory.cli import COMMANDS, main


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


def test_bad_option_is_rejected():
    with pytest.raises(SystemExit):
        main(["radius", "--hidden", "not-a-number"])
