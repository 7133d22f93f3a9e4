"""The package's layers, checked on its import graph.

The layers, lowest first, are the derivation's order: the foundation (input checks, the array
operations of both backends, operators, the MLP, base optimizers), curvature (Hv, the
third-order term), the eigen-solvers, the gradient of rho, the SRR step (with the baselines and
the K-FAC preconditioner it can use), training.  The objective zoo, the generalizability tests
and the experiments sit on top.  Set apart: the dense oracle (only checks, tests and commands use
it, never the algorithms), the testing and claim-checking code, the commands, and the torch
backend (which mirrors the layers and is imported by nothing below it but the torch array
operations).  A module may import its own layer or lower ones only; the set-apart groups only
from the importers listed for them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "srtheory"

LAYERS = [
    {"_validation", "backend", "operators", "mlp", "optimizers"},  # foundation
    {"curvature", "roperator"},  # Hv, grad^3 f[v, v, .] (SRR_NOTES §5)
    {"spectral"},  # Algorithm 1, Lanczos, spectral radius (§6)
    {"eigengrad"},  # grad rho (Lemma A, §5.1)
    {"regularizer", "srr_step", "baselines", "kfac"},  # the SRR step and its alternatives
    {"training", "algorithms"},  # Algorithm 2, minimize
    {"objectives", "generalization", "experiments"},  # problems and the paper's tests
]
# set-apart group -> the groups allowed to import it
APART = {
    "oracle": {"testing", "claims", "commands"},
    "testing": {"claims", "commands", "torch"},
    "claims": {"commands"},
    "commands": {"cli"},
    "cli": {"__main__"},
    "__main__": set(),
    "torch": {"backend", "testing", "commands"},
}


def group(module: str) -> str:
    """``srtheory.spectral.power`` -> ``spectral``; ``srtheory`` itself -> ``srtheory``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def import_edges(root: Path = ROOT):
    """``(importing group, imported group, file)`` for every ``srtheory`` import in the package,
    function-local imports included."""
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).with_suffix("")
        here = group(".".join(p for p in rel.parts if p != "__init__"))
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                if name.startswith("srtheory.") and group(name) != here:
                    yield here, group(name), str(path.relative_to(root.parent))


def violations(edges) -> list[str]:
    layer_of = {g: i for i, layer in enumerate(LAYERS) for g in layer}
    out = []
    for src, dst, where in edges:
        if dst in APART:
            if src not in APART[dst] and src != dst:
                out.append(f"{where}: {src} imports the set-apart {dst}")
        elif src in layer_of and dst in layer_of:
            if layer_of[dst] > layer_of[src]:
                out.append(f"{where}: {src} (layer {layer_of[src]}) imports {dst} "
                           f"(layer {layer_of[dst]})")
        elif src in layer_of and dst not in layer_of:
            out.append(f"{where}: {src} imports {dst}, which has no layer")
    return out


def test_every_package_module_has_a_place():
    groups = {p.stem if p.is_file() else p.name for p in ROOT.iterdir()
              if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and (p / "__init__.py").exists())}
    placed = set().union(*LAYERS) | set(APART)
    assert groups <= placed, f"modules without a layer: {sorted(groups - placed)}"


def test_imports_respect_the_layers():
    found = violations(import_edges())
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    "edge",
    [
        ("spectral", "training", "spectral/power.py"),  # a solver reaching up to training
        ("curvature", "oracle", "curvature.py"),  # an algorithm using the dense oracle
        ("training", "commands", "training.py"),  # library code importing a command
        ("spectral", "torch", "spectral/krylov.py"),  # the reference importing the mirror
    ],
)
def test_the_checker_catches_a_wrong_import(edge):
    # negative control: each planted edge is reported
    assert violations([edge])
