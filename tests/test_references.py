"""Documentation references: every § reference resolves into ``proofs/SRR_NOTES.md``, and nothing
cites a document outside the repository.

Reference forms in use:

* ``SRR_NOTES §N.M`` (also ``SRR_NOTES`` in backticks, ``notes §N``) followed optionally by more
  sections: ``SRR_NOTES §5.1-§5.4``, ``SRR_NOTES §6, §11``;
* a bare ``§N.M`` inside ``srtheory/``, ``tests/``, ``notebooks/``, ``README.md`` and the notes
  themselves, where every section number means a section of the notes -- except a textbook's own
  section right after the book is named (``Parlett, *The Symmetric Eigenvalue Problem*, §11-4``);
  the books cited that way are listed in :data:`LITERATURE`;
* ``Algorithm 1 step 2.8`` / ``step 2.8 of Algorithm 1`` / ``Alg. 2 steps 2.2-2.4``: the step must
  be one of that algorithm's numbered steps in §6 of the notes (Algorithm 1b numbers its steps as
  Algorithm 1, whose step 2.8 it changes).

The proof files ``proofs/C0*.md`` cite textbooks by section too, so there only the ``SRR_NOTES``
forms are checked.  Each check is a plain function of a text, so the negative controls run the
very same code on planted references.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTES = ROOT / "proofs" / "SRR_NOTES.md"
THIS = Path(__file__).resolve()

SCANNED_DIRS = ("srtheory", "tests", "notebooks", "proofs", ".ci")
SCANNED_TOP = ("README.md", "pyproject.toml")
TEXT_SUFFIXES = {".py", ".md", ".toml", ".txt", ".cfg", ".ini", ".yml", ".yaml", ".rst", ".json", ""}
SKIP_DIRS = {"__pycache__", ".hypothesis", ".pytest_cache", "bench_results"}

# Books whose own sections are cited with "§" right after the book is named.
LITERATURE = ("Parlett", "Higham", "Golub", "Van Loan", "Cochran", "Nocedal", "Saad", "Trefethen")

_NUM = r"\d+(?:\.\d+)*"
# "SRR_NOTES §6", "`SRR_NOTES` §7, §12", "SRR_NOTES §5.1-§5.4", "notes §9"
_PREFIXED = re.compile(
    r"(?:SRR_NOTES`?|\bnotes)[ ,(]{0,3}(§ ?" + _NUM + r"(?:\s*(?:,|and|or)\s*§ ?" + _NUM
    + r"|\s*[-–]\s*§? ?" + _NUM + r")*)"
)
_SECTION = re.compile(r"§ ?(" + _NUM + r")")
_BAD_FORM = re.compile(r"§ ?[A-Za-z]")  # "§no gap": a section reference with no number
_STEP = r"\d(?:\.\d+)?"
_STEP_AFTER = re.compile(
    r"\b(?:Algorithm|Alg\.) ?(1b|1|2)\b[^.;:\n]{0,40}?\bsteps? (" + _STEP + r")(?:\s*[-–]\s*(" + _STEP + r"))?"
)
_STEP_BEFORE = re.compile(
    r"\bsteps? (" + _STEP + r")(?:\s*[-–]\s*(" + _STEP + r"))? of (?:Algorithm|Alg\.) ?(1b|1|2)\b"
)

# Documents outside the repository, and the wording that pointed at them.
OUTSIDE = (
    (re.compile(r"PEERS\.md"), "the team's peer survey (now SRR_NOTES §13)"),
    (re.compile(r"\bthe (?:torch )?issue\b|\bissues?[- ]#?\d+\b|\bissue's\b|\(issue\b", re.I),
     "an issue of the tracker (say what is meant)"),
    (re.compile(r"(?<![\w.])shared/"), "the shared folder beside the repository"),
    (re.compile(r"(?<![\w.~])/(?:work|home|Users|mnt)/"), "an absolute path on one machine"),
    (re.compile(r"planning doc", re.I), "the project's planning documents"),
)


# ------------------------------------------------------------------ the notes' structure

def note_sections(text: str) -> set[str]:
    """Section numbers of the notes' headings: ``## 5.`` gives "5", ``### 5.1 ...`` gives "5.1"."""
    out = set()
    for m in re.finditer(r"^#{2,4} (\d+(?:\.\d+)*)\.?(?= )", text, re.M):
        out.add(m.group(1))
    return out


def algorithm_steps(text: str) -> dict[str, set[str]]:
    """Numbered steps of each algorithm of §6: top-level ``1.`` items and ``**2.1**`` sub-steps."""
    steps: dict[str, set[str]] = {}
    current = None
    for line in text.splitlines():
        m = re.match(r"^#{2,4} Algorithm (1b|1|2)\b", line)
        if m:
            current = m.group(1)
            steps[current] = set()
            continue
        if line.startswith("#"):
            current = None
            continue
        if current is None:
            continue
        top = re.match(r"^(\d)\. ", line)
        if top:
            steps[current].add(top.group(1))
        steps[current].update(re.findall(r"^\s*- \*\*(\d\.\d)\*\*", line))
    steps["1b"] = steps.get("1b", set()) | steps.get("1", set())
    return steps


# ------------------------------------------------------------------ the checks (pure functions)

def _literature_before(line: str, start: int) -> bool:
    before = line[max(0, start - 100):start]
    return any(name in before for name in LITERATURE)


def section_refs(text: str, *, bare: bool) -> list[tuple[int, str]]:
    """``(line number, section)`` of every notes reference in ``text``; with ``bare`` also the
    plain ``§N`` ones that do not follow a book of :data:`LITERATURE`."""
    refs = []
    for no, line in enumerate(text.splitlines(), 1):
        spans = []
        for m in _PREFIXED.finditer(line):
            spans.append(m.span(1))
            refs.extend((no, s) for s in re.findall(_NUM, m.group(1)))
        if bare:
            for m in _SECTION.finditer(line):
                if any(a <= m.start() < b for a, b in spans) or _literature_before(line, m.start()):
                    continue
                refs.append((no, m.group(1)))
    return refs


def step_refs(text: str) -> list[tuple[int, str, str]]:
    """``(line number, algorithm, step)`` of every "Algorithm N step X" reference."""
    refs = []
    for no, line in enumerate(text.splitlines(), 1):
        for m in _STEP_AFTER.finditer(line):
            refs.extend((no, m.group(1), s) for s in m.groups()[1:] if s)
        for m in _STEP_BEFORE.finditer(line):
            refs.extend((no, m.group(3), s) for s in m.groups()[:2] if s)
    return refs


def unresolved(text: str, *, bare: bool, sections: set[str], steps: dict[str, set[str]]) -> list[str]:
    """Every reference of ``text`` that does not resolve into the notes, as ``line: message``."""
    bad = [f"{no}: §{s} is not a section of proofs/SRR_NOTES.md"
           for no, s in section_refs(text, bare=bare) if s.rstrip(".") not in sections]
    bad += [f"{no}: Algorithm {alg} has no step {s} in proofs/SRR_NOTES.md §6"
            for no, alg, s in step_refs(text) if s not in steps.get(alg, set())]
    if bare:
        for no, line in enumerate(text.splitlines(), 1):
            bad += [f"{no}: {m.group(0)!r}: a § reference needs a section number"
                    for m in _BAD_FORM.finditer(line)]
    return bad


def outside_citations(text: str) -> list[str]:
    """Every citation of a document outside the repository in ``text``, as ``line: message``."""
    bad = []
    for no, line in enumerate(text.splitlines(), 1):
        for pattern, what in OUTSIDE:
            for m in pattern.finditer(line):
                bad.append(f"{no}: {m.group(0)!r} cites {what}")
    return bad


# ------------------------------------------------------------------ the repository's files

def repository_files() -> list[Path]:
    files = [ROOT / name for name in SCANNED_TOP if (ROOT / name).is_file()]
    for top in SCANNED_DIRS:
        for dirpath, dirnames, filenames in os.walk(ROOT / top):
            dirnames[:] = sorted(d for d in dirnames
                                 if d not in SKIP_DIRS and not d.endswith(".egg-info"))
            for name in sorted(filenames):
                path = Path(dirpath) / name
                if path.suffix in TEXT_SUFFIXES and path.resolve() != THIS:
                    files.append(path)
    return files


def _bare_scope(path: Path) -> bool:
    rel = path.relative_to(ROOT)
    return not (rel.parts[0] == "proofs" and path != NOTES)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None


def _structure():
    text = NOTES.read_text(encoding="utf-8")
    return note_sections(text), algorithm_steps(text)


# ------------------------------------------------------------------ tests

def test_notes_have_the_cited_structure():
    sections, steps = _structure()
    expected = {str(i) for i in range(14)} | {"5.1", "5.2", "5.3", "5.4"} \
        | {f"9.{i}" for i in range(1, 6)} | {f"13.{i}" for i in range(1, 5)}
    assert expected <= sections, sorted(expected - sections)
    assert {"1", "2", "3", "4", "2.1", "2.5", "2.6", "2.8", "2.9"} <= steps["1"]
    assert {"1", "2", "3", "4", "2.1", "2.2", "2.5"} <= steps["2"]
    assert steps["1b"] >= steps["1"]


def test_every_reference_resolves():
    sections, steps = _structure()
    problems, n_refs = [], 0
    for path in repository_files():
        text = _read(path)
        if text is None:
            continue
        bare = _bare_scope(path)
        n_refs += len(section_refs(text, bare=bare)) + len(step_refs(text))
        rel = path.relative_to(ROOT)
        problems += [f"{rel}:{p}" for p in unresolved(text, bare=bare, sections=sections, steps=steps)]
    assert not problems, "unresolved references:\n" + "\n".join(problems)
    assert n_refs > 100, f"only {n_refs} references found: is the reference pattern broken?"


def test_nothing_cites_a_document_outside_the_repository():
    problems = []
    for path in repository_files():
        text = _read(path)
        if text is not None:
            rel = path.relative_to(ROOT)
            problems += [f"{rel}:{p}" for p in outside_citations(text)]
    assert not problems, "citations of documents outside the repository:\n" + "\n".join(problems)


def test_negative_controls_are_reported():
    sections, steps = _structure()
    planted = "\n".join([
        "See SRR_NOTES §99.9 for details.",          # 1: unknown prefixed section
        "as in SRR_NOTES §5.1-§5.9",                 # 2: second end of a range unknown
        "the hinge of §42",                          # 3: unknown bare section
        "Algorithm 1 step 2.99 and Alg. 2 step 7",   # 4: steps that do not exist
        "the proof's case (§no gap)",                # 5: a § with no number
        "Parlett, *The Symmetric Eigenvalue Problem*, §11-4",  # a book's section: not reported
        "SRR_NOTES §6 and step 2.8 of Algorithm 1b",  # fine
    ])
    bad = unresolved(planted, bare=True, sections=sections, steps=steps)
    lines = sorted({int(b.split(":")[0]) for b in bad})
    assert lines == [1, 2, 3, 4, 5], bad
    assert any("§99.9" in b for b in bad) and any("§5.9" in b for b in bad)
    assert sum("Algorithm" in b for b in bad) == 2
    # outside the bare scope (a proof file) only the prefixed form is checked
    assert [b.split(":")[0] for b in unresolved(planted, bare=False, sections=sections, steps=steps)
            if "is not a section" in b] == ["1", "2"]
    outside = outside_citations("see " + "PEERS" + ".md; the " + "issue says; "
                                + "/wo" + "rk/shared/x.md; issue " + "5's target; the issue" + "-12 solvers")
    assert len(outside) == 6, outside
    assert outside_citations("pip install --target /tmp/site; an issue-free path") == []
