"""``srtheory bench`` runs end to end at a tiny size and writes its JSON and Markdown (a smoke
test of the command's plumbing -- no timing is asserted: benchmarks are never timed tests), skips
the optional peers (PyHessian, hessian-eigenthings) with a note when they are not importable, and
calls them without side effects when they are."""

import json
import math
import sys

import pytest

torch = pytest.importorskip("torch")

from torch.nn import functional as F

from srtheory.cli import main
from srtheory.torch import bench
from srtheory.torch import curvature as tc
from srtheory.torch.bench.peers import _try_eigenthings, _try_pyhessian
from srtheory.torch.models import mlp_gelu
from srtheory.torch.spectral import lanczos

torch.set_num_threads(1)


def _bench(tmp_path, *extra):
    """``srtheory bench`` at a tiny size; returns the exit status."""
    return main(
        [
            "bench",
            "--quick",
            "--models",
            "mlp",
            "--steps",
            "1",
            "--warmup",
            "0",
            "--ref-steps",
            "8",
            "--image",
            "4",
            "--batch",
            "4",
            "--out",
            str(tmp_path),
            *extra,
        ]
    )


def test_bench_quick_tiny_writes_json_and_markdown_and_skips_missing_peers(
    tmp_path, capsys, monkeypatch
):
    # a None entry in sys.modules makes ``import`` raise ImportError: the peers' skip path
    monkeypatch.setitem(sys.modules, "pyhessian", None)
    monkeypatch.setitem(sys.modules, "hessian_eigenthings", None)
    assert _bench(tmp_path, "--default-solve") == 0
    data = json.loads((tmp_path / "bench.json").read_text())
    meta = data["meta"]
    assert meta["torch"] == torch.__version__ and meta["date_utc"] and meta["machine"]
    steps = data["models"]["mlp"]["steps"]
    assert set(steps) == set(bench.STEP_ROWS)
    assert steps["sgd"]["x_sgd"] == 1.0 and all(r["ms"] > 0 for r in steps.values())
    # the comparable configuration: one matvec (one power step) per training step
    assert steps["srr_exact"]["matvecs_per_step"] == 1.0
    assert steps["srr_fd"]["grads_per_step"] == 3.0
    assert steps["srr_exact_default"]["matvecs_per_step"] >= 1.0
    radius = data["models"]["mlp"]["spectral_radius"]
    assert radius["reference"]["rho"] > 0
    assert "not importable" in radius["pyhessian"]["note"]
    assert "not importable" in radius["hessian_eigenthings"]["note"]
    md = (tmp_path / "bench.md").read_text()
    assert "| SRR-fd, 1 power step |" in md and "torch" in md and "not importable" in md
    assert "| SRR-exact, 1 power step |" in capsys.readouterr().out


def test_bench_rejects_unknown_model(tmp_path, capsys):
    assert _bench(tmp_path, "--models", "vit") == 2
    assert "unknown model vit" in capsys.readouterr().err
    assert not (tmp_path / "bench.json").exists()  # rejected before anything ran


def _tiny_problem():
    torch.manual_seed(0)
    model = mlp_gelu([6, 8, 3]).double()
    x, y = torch.randn(5, 6, dtype=torch.float64), torch.randint(0, 3, (5,))
    params = list(model.parameters())
    n = sum(p.numel() for p in params)
    ref = lanczos(
        tc.hvp_operator(lambda: F.cross_entropy(model(x), y), params),
        torch.ones(n, dtype=torch.float64),
        tol=1e-12,
        max_iter=n,
    )
    return model, x, y, ref.rho


@pytest.mark.parametrize("peer", ["pyhessian", "hessian_eigenthings"])
def test_peer_runs_on_same_problem_without_side_effects(peer):
    pytest.importorskip(peer)
    model, x, y, rho = _tiny_problem()
    weights = [p.detach().clone() for p in model.parameters()]
    rng, dtype = torch.get_rng_state(), torch.get_default_dtype()
    cfg = {"target": 1e-6, "peer_iters": 50}
    run = _try_pyhessian if peer == "pyhessian" else _try_eigenthings
    out = run(model, x, y, torch.device("cpu"), rho, cfg)
    assert "note" not in out, out.get("note")
    for rec in out.values():
        assert math.isfinite(rec["rel_error"]) and rec["settings"]
        assert rec["n_matvecs"] is None or rec["n_matvecs"] >= 1
    default = out["default" if peer == "pyhessian" else "power_default"]
    assert default["n_matvecs"] >= 2 and abs(abs(default["eigenvalue"]) - rho) <= 0.5 * rho
    # no side effects: weights, train mode, grads, torch's global RNG and default dtype
    assert all(torch.equal(p, w) for p, w in zip(model.parameters(), weights))
    assert model.training and all(p.grad is None for p in model.parameters())
    assert torch.equal(torch.get_rng_state(), rng) and torch.get_default_dtype() == dtype


def test_peer_failure_is_a_note_not_a_crash():
    # negative control: a model the peers cannot differentiate (no parameters need grad)
    pytest.importorskip("pyhessian")
    model, x, y, rho = _tiny_problem()
    for p in model.parameters():
        p.requires_grad_(False)
    out = _try_pyhessian(
        model, x, y, torch.device("cpu"), rho, {"target": 1e-6, "peer_iters": 5}
    )
    assert "PyHessian failed" in out["note"]


def test_bench_block_timing_path(tmp_path, monkeypatch):
    # --blocks: one block of steps per method, the path CUDA always takes
    monkeypatch.setitem(sys.modules, "pyhessian", None)
    monkeypatch.setitem(sys.modules, "hessian_eigenthings", None)
    assert _bench(tmp_path, "--blocks") == 0
    data = json.loads((tmp_path / "bench.json").read_text())
    steps = data["models"]["mlp"]["steps"]
    assert set(steps) == {k for k in bench.STEP_ROWS if not k.endswith("_default")}
    assert steps["srr_fd"]["grads_per_step"] == 3.0
    assert "one block of steps per method" in (tmp_path / "bench.md").read_text()


def test_cpu_peak_bytes_is_the_peak_of_live_bytes():
    from srtheory.torch import cpu_peak_bytes

    mib = 2**20
    k = mib // 8  # float64 entries in 1 MiB

    def nothing():
        return None

    def hold_four():
        keep = torch.ones(4 * k, dtype=torch.float64)
        return float(keep[0])

    def four_then_four():
        # two 4 MiB tensors, the first freed before the second exists: the peak is 4 MiB
        a = torch.ones(4 * k, dtype=torch.float64)
        del a
        b = torch.ones(4 * k, dtype=torch.float64)
        del b

    def four_and_four():
        # both alive at once: 8 MiB
        a = torch.ones(4 * k, dtype=torch.float64)
        b = torch.ones(4 * k, dtype=torch.float64)
        return float(a[0] + b[0])

    assert cpu_peak_bytes(nothing) < 0.01 * mib
    hold, seq, both = (cpu_peak_bytes(f) for f in (hold_four, four_then_four, four_and_four))
    assert abs(hold - 4 * mib) < 0.01 * mib
    # negative control: a sum of allocations (not the live peak) would report 8 MiB here
    assert abs(seq - 4 * mib) < 0.01 * mib
    assert abs(both - 8 * mib) < 0.01 * mib
    # memory that existed before the window is not counted
    outside = torch.ones(4 * k, dtype=torch.float64)
    assert cpu_peak_bytes(lambda: float(outside.sum())) < 0.01 * mib


def test_bench_no_radius_reports_cpu_peak_memory(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyhessian", None)
    monkeypatch.setitem(sys.modules, "hessian_eigenthings", None)
    assert _bench(tmp_path, "--no-radius") == 0
    data = json.loads((tmp_path / "bench.json").read_text())
    entry = data["models"]["mlp"]
    assert "spectral_radius" not in entry
    steps = entry["steps"]
    n_bytes = 8 * entry["n_params"]  # float64 (--quick)
    # SGD holds at least the model copy, its gradient and the momentum buffer
    assert steps["sgd"]["peak_mb"] * 2**20 >= 3 * n_bytes
    assert steps["sgd"]["mem_x_sgd"] == 1.0
    assert all(r["mem_x_sgd"] >= 1.0 for r in steps.values())
    md = (tmp_path / "bench.md").read_text()
    assert "Spectral radius" not in md and "live bytes of torch's CPU allocator" in md


def test_bench_relu_batchnorm_resnet_rows(tmp_path, monkeypatch):
    """resnet_bn (ReLU + BatchNorm, training mode): SGD, SAM, the naive double-backprop step and
    the correct SRR step (exact, through composite_norms) timed in one run; the fd rows are
    refused (ReLU kinks), reported and not timed."""
    from srtheory.torch.bench import bench_config, markdown, run_benchmark

    cfg = bench_config(quick=True, steps=1, warmup=0, radius=False, batch=4, width=4, image=6)
    res = run_benchmark(["resnet_bn"], cfg, device="cpu", dtype=torch.float32, command="test")
    steps = res["models"]["resnet_bn"]["steps"]
    assert steps["srr_fd"]["refused"].startswith("fd refused: non-smooth")
    for k in ("sgd", "sam", "naive_exact", "srr_exact"):
        assert steps[k]["ms"] > 0 and steps[k]["x_sgd"] > 0
    assert steps["srr_exact"]["matvecs_per_step"] == 1.0
    md = markdown(res)
    assert "| SRR-fd, 1 power step | fd refused: non-smooth ReLU |" in md


def test_default_solves_against_eigsh_meet_the_matvec_targets():
    """The benchmark's eigsh table (srtheory.torch.bench.eigsh): on the same operators, the
    default solves converge at the dtype's accuracy and use at most 1.5x eigsh's matvecs in
    float32 (before the dtype-derived tolerances: 9-24x, flag False) and at most as many in
    float64 (spectral_radius before it stopped on a separated other end: 0.98-2.10x).  Matvec
    counts, not times: deterministic."""
    from srtheory.torch.bench.eigsh import eigsh_comparison, eigsh_markdown

    rows = eigsh_comparison(0)
    assert len(rows) == 8 and "eigsh (k=1)" in eigsh_markdown(rows)
    for r in rows:
        lz, sr = r["lanczos"], r["spectral_radius"]
        assert lz["converged"] and sr["converged"], r["model"]
        if r["dtype"] == "float32":
            assert lz["ratio"] <= 1.5 and sr["ratio"] <= 1.5, r
            assert lz["err"] <= 1e-6 and sr["err"] <= 1e-6, r
        else:
            assert lz["ratio"] <= 1.0 and sr["ratio"] <= 1.0, r
            assert lz["err"] <= 1e-12 and sr["err"] <= 1e-12, r
