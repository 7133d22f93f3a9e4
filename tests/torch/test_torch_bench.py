"""``srtheory bench`` runs end to end at a tiny size and writes its JSON and Markdown (a smoke
test of the command's plumbing -- no timing is asserted: benchmarks are never timed tests)."""

import argparse
import json

import pytest

torch = pytest.importorskip("torch")

from srtheory.torch import bench  # noqa: E402

torch.set_num_threads(1)


def test_bench_quick_tiny_writes_json_and_markdown(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    bench.configure(parser)
    args = parser.parse_args(
        ["--quick", "--models", "mlp", "--steps", "1", "--warmup", "0", "--ref-steps", "8",
         "--image", "4", "--batch", "4", "--out", str(tmp_path)]
    )
    assert bench.run(args) == 0
    data = json.loads((tmp_path / "bench.json").read_text())
    meta = data["meta"]
    assert meta["torch"] == torch.__version__ and meta["date_utc"] and meta["machine"]
    steps = data["models"]["mlp"]["steps"]
    assert set(steps) == {"sgd", "sam", "naive_exact", "srr_exact", "srr_fd"}
    assert steps["sgd"]["x_sgd"] == 1.0 and all(r["ms"] > 0 for r in steps.values())
    radius = data["models"]["mlp"]["spectral_radius"]
    assert radius["reference"]["rho"] > 0
    assert "not importable" in radius["pyhessian"].get("note", "not importable")
    md = (tmp_path / "bench.md").read_text()
    assert "| SRR-fd |" in md and "torch" in md
    assert "| SRR-fd |" in capsys.readouterr().out


def test_bench_rejects_unknown_model(tmp_path):
    parser = argparse.ArgumentParser()
    bench.configure(parser)
    args = parser.parse_args(["--quick", "--models", "vit", "--out", str(tmp_path)])
    assert bench.run(args) == 2
