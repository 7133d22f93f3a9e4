"""Meta-test: proofs/*.md, the index proofs/README.md, tests/claims/test_C*.py and the registry
srtheory.claims.CLAIMS stay one-to-one; plus the `srtheory verify` command itself."""

import re
from pathlib import Path

import pytest

from srtheory import claims
from srtheory.cli import main

ROOT = Path(__file__).resolve().parents[2]
PROOFS = ROOT / "proofs"
TESTS = ROOT / "tests" / "claims"
SECTIONS = (
    "## Statement",
    "## Assumptions",
    "## Proof",
    "## What the check tests",
    "## Negative control",
)


def _index_rows():
    rows = {}
    for line in (PROOFS / "README.md").read_text(encoding="utf-8").splitlines():
        m = re.match(r"\|\s*(C\d\d)\s*\|(.*)\|\s*$", line)
        if m and "check_" in line:
            if m.group(1) in rows:
                raise AssertionError(f"duplicate index row {m.group(1)}")
            rows[m.group(1)] = line
    return rows


def test_registry_proofs_tests_and_index_are_one_to_one():
    ids = set(claims.CLAIMS)
    assert ids == {f"C{i:02d}" for i in range(1, 11)}
    proof_ids = {p.name[:3] for p in PROOFS.glob("C[0-9][0-9]_*.md")}
    test_ids = {p.name[5:8] for p in TESTS.glob("test_C[0-9][0-9]_*.py")}
    assert proof_ids == ids, "a proof file without a registry entry, or the reverse"
    assert test_ids == ids, "a claim test without a registry entry, or the reverse"
    assert len(list(PROOFS.glob("C[0-9][0-9]_*.md"))) == len(ids)  # one proof file per claim
    assert len(list(TESTS.glob("test_C[0-9][0-9]_*.py"))) == len(ids)
    assert set(_index_rows()) == ids


@pytest.mark.parametrize("cid", sorted(claims.CLAIMS))
def test_each_claim_links_proof_test_and_check(cid):
    spec = claims.CLAIMS[cid]
    assert (ROOT / spec.proof).is_file() and (ROOT / spec.test).is_file()
    assert spec.check is getattr(claims, f"check_{cid}")
    row = _index_rows()[cid]
    assert Path(spec.proof).name in row and spec.test in row and f"check_{cid}" in row
    # the index shows the registry's statement and assumptions (pipes escaped for Markdown)
    assert spec.statement.replace("|", "\\|") in row
    assert spec.assumptions.replace("|", "\\|") in row
    text = (ROOT / spec.proof).read_text(encoding="utf-8")
    assert text.startswith(f"# {cid} ")
    assert "reconstruction" in text
    for section in SECTIONS:
        assert section in text, f"{spec.proof} lacks section {section!r}"
    assert f"check_{cid}" in text and Path(spec.test).name in text
    test_text = (ROOT / spec.test).read_text(encoding="utf-8")
    assert f"check_{cid}(" in test_text and "negative_control" in test_text


def test_notation_exists_and_is_linked():
    assert (PROOFS / "notation.md").is_file()
    assert "notation.md" in (PROOFS / "README.md").read_text(encoding="utf-8")


def test_verify_command_prints_table_and_exit_status(capsys):
    assert main(["verify", "--claim", "C07"]) == 0
    out, err = capsys.readouterr()
    assert "C07" in out and "observed" in out and "bound" in out and "holds" in out
    assert "[C07] running" in err  # progress goes to stderr


def test_verify_exits_nonzero_when_a_claim_fails(monkeypatch, capsys):
    failing = claims.CLAIMS["C07"]._replace(
        check=lambda budget: claims.check_C07(budget=budget, step_factor=2.5)
    )
    monkeypatch.setitem(claims.CLAIMS, "C07", failing)
    assert main(["verify", "--claim", "C07"]) == 1
    assert "NO" in capsys.readouterr().out


def test_a_check_that_raises_is_a_failed_claim(monkeypatch):
    def boom(budget):
        raise RuntimeError("broken check")

    monkeypatch.setitem(claims.CLAIMS, "C07", claims.CLAIMS["C07"]._replace(check=boom))
    (res,) = claims.verify(["C07"])
    assert not res.holds and "broken check" in res.detail["error"]


def test_verify_rejects_unknown_ids_and_budgets():
    with pytest.raises(ValueError, match="unknown claim"):
        claims.verify(["C99"])
    with pytest.raises(ValueError, match="budget"):
        claims.verify(budget="forever")
