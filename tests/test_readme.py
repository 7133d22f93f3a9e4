"""The README's promises: CI runs exactly its test command; its example runs and is right."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _test_command() -> str:
    lines = README.splitlines()
    i = lines.index("<!-- test-command -->")
    rest = [ln for ln in lines[i + 1 :] if not ln.startswith("```")]
    return rest[0].strip()


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "<!-- test-command -->" in ci
    cmd = _test_command()
    assert cmd.endswith("python -m pytest"), cmd
    assert "torch==2.13.0" in cmd


def test_ci_command_extraction_matches_readme():
    """Run the same awk extraction that .ci/run uses and compare with the Python reading."""
    out = subprocess.run(
        ["awk", '/<!-- test-command -->/{getline; while ($0 ~ /^```/) getline; print; exit}', "README.md"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert out == _test_command()


def test_readme_example_runs():
    """The fenced block after '<!-- example -->' is executed; it asserts its own answer."""
    m = re.search(r"<!-- example -->\s*```python\n(.*?)```", README, flags=re.S)
    assert m, "README has no example block"
    proc = subprocess.run([sys.executable, "-c", m.group(1)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "rho" in proc.stdout
