"""Every name the top level promises resolves, and importing srtheory stays light."""

import subprocess
import sys

import pytest

import srtheory


@pytest.mark.parametrize("name", sorted(srtheory._EXPORTS))
def test_every_export_resolves(name):
    assert getattr(srtheory, name) is not None


@pytest.mark.parametrize("name", sorted(srtheory._SUBMODULES))
def test_every_submodule_resolves(name):
    assert getattr(srtheory, name).__name__ == f"srtheory.{name}"


def test_unknown_name_raises_attribute_error():
    with pytest.raises(AttributeError, match="no attribute"):
        srtheory.no_such_name  # noqa: B018


def test_import_does_not_pull_in_heavy_optional_packages():
    code = (
        "import sys, srtheory; srtheory.spectral_radius; srtheory.hvp; "
        "bad = [m for m in ('torch', 'matplotlib', 'sklearn') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
