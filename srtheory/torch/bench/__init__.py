"""The torch benchmark: cost of an SRR step and speed of the spectral radius, on torch models
(the ``srtheory bench`` command, :mod:`srtheory.commands.bench`, sets it up, prints and writes it).

For each model (the ResNet-18-shaped GroupNorm/GELU CNN of SRR_NOTES §13.4, an MLP, and ``resnet_bn``: the
same ResNet with BatchNorm and ReLU, the architecture people train) on one random batch:

* time per optimizer step (median of ``--steps`` after ``--warmup``) of every row of
  :data:`STEP_ROWS`: SGD, SAM (2 gradients), the naive exact step (one double-backprop graph for
  ∇L, Hv and ∇(vᵀHv), then the base step), SRR-exact and SRR-fd with one warm-started power step
  per training step (``eig=EigConfig(max_iter=1), skip_nonconverged=False``: the configuration comparable
  to the naive step), and with ``--default-solve`` SRR with its default eigen-solver budget;
  matvecs and gradients per step from the optimizer's counters; ratios to the SGD step of the
  same run; peak memory per method (CUDA ``max_memory_allocated``; on the CPU the peak of live
  bytes of torch's allocator, from an untimed profiling pass, :func:`_cpu_peak_mb`).
  On the CPU the methods take turns step by step (a load change on a shared machine hits all
  alike); on CUDA (or with ``--blocks``) each method runs one block of steps;
* time and matvec count for the spectral radius to relative error ``--target`` (1e-6), against a
  long Lanczos reference (full reorthogonalisation, tol 1e-12): Lanczos stopped by its
  Ritz-residual rule at tol 1e-3 and 1e-5 (the eigenvalue error is ~ residual²/gap), and the
  paper's power iteration (Algorithm 1, criteria "residual" and "paper", tol 1e-3); PyHessian
  0.1 and hessian-eigenthings 1.0.0a5 on the same model, batch and loss when they are importable
  (benchmark-only extras, never dependencies; skipped with a note otherwise): each with its
  default settings (what it returns, its own flag, its error) and to the target (the
  hessian-eigenthings Lanczos with more steps; the power iterations with an oracle stop).

On ``resnet_bn`` (training mode) the method that is correct is the exact one with
:func:`srtheory.torch.norms.composite_norms` (switched on around each SRR step; SGD, SAM and the
naive row run torch's fused BatchNorm): the SRR-fd rows are *refused* (ReLU kinks: fd needs a loss
that is C² along the step) and reported as such, not timed.

:func:`run_benchmark` measures every model and returns the results; :func:`bench_config` is the
run's configuration (``quick`` shrinks everything so a CPU run takes well under a minute);
the command prints the Markdown table and writes ``bench.json`` and ``bench.md``.

Layout of the package:

* this module -- the configuration (:func:`bench_config`), the models and batches, and the
  run over the models (:func:`run_benchmark`);
* :mod:`.steps` -- the step rows: :data:`STEP_ROWS`, their timing and peak memory;
* :mod:`.radius` -- the spectral radius with srtheory's own solvers against the Lanczos
  reference, and the summary against the peers;
* :mod:`.peers` -- PyHessian and hessian-eigenthings, counted, traced and isolated;
* :mod:`.report` -- run metadata and the Markdown tables.
"""

from __future__ import annotations

import torch

from srtheory.torch.bench.radius import _bench_radius
from srtheory.torch.bench.report import _markdown, _meta
from srtheory.torch.bench.steps import STEP_ROWS, _bench_steps
from srtheory.torch.models import mlp_gelu, resnet18_bn, resnet18_gn

__all__ = ["MODELS", "STEP_ROWS", "bench_config", "markdown", "run_benchmark"]

MODELS = ("resnet", "mlp", "resnet_bn")


def bench_config(*, quick=False, batch=None, width=None, image=None, steps=None, warmup=None,
                 target=1e-6, ref_steps=None, peer_iters=None, default_solve=False, blocks=False,
                 radius=True) -> dict:
    """The run's configuration: every size left ``None`` takes its full (or ``quick``) default."""
    q = quick
    cfg = {
        "batch": batch or (8 if q else 128),
        "width": width or (8 if q else 64),
        "image": image or (12 if q else 32),
        "steps": steps or (5 if q else 10),
        "warmup": warmup if warmup is not None else (1 if q else 3),
        "ref_steps": ref_steps or (60 if q else 80),
        "target": target,
        "power_iters": 40 if q else 200,
        "peer_iters": peer_iters or (100 if q else 200),
        "default_budget_rows": default_solve,
        "blocks": blocks,
        "radius": radius,
        "mlp_sizes": [3 * 12 * 12, 128, 128, 10] if q else [3 * 32 * 32, 1024, 1024, 10],
    }
    if image is not None:
        cfg["mlp_sizes"][0] = 3 * image * image
    return cfg


def run_benchmark(models, cfg, *, device, dtype, seed=0, command="", log=None) -> dict:
    """Measure every model of ``models`` (names from :data:`MODELS`) under ``cfg``
    (:func:`bench_config`) on ``device`` in ``dtype``; ``log(msg)`` gets one line per model.
    Returns ``{"meta": ..., "models": {name: {"n_params", "steps", ["spectral_radius"]}}}``."""
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ValueError(f"unknown model {unknown[0]!r} (expected {', '.join(MODELS)})")
    device = torch.device(device)
    results = {"meta": _meta(device, str(dtype).replace("torch.", ""), cfg, command),
               "models": {}}
    for name in models:
        torch.manual_seed(seed)
        if name in ("resnet", "resnet_bn"):
            make = resnet18_gn if name == "resnet" else resnet18_bn
            model = make(width=cfg["width"])
            x = torch.randn(cfg["batch"], 3, cfg["image"], cfg["image"])
        else:
            model = mlp_gelu(cfg["mlp_sizes"])
            x = torch.randn(cfg["batch"], cfg["mlp_sizes"][0])
        y = torch.randint(0, 10, (cfg["batch"],))
        model, x, y = (
            model.to(device=device, dtype=dtype),
            x.to(device=device, dtype=dtype),
            y.to(device),
        )
        n_params = sum(p.numel() for p in model.parameters())
        if log:
            log(f"[bench] {name}: {n_params / 1e6:.3f} M parameters, batch {cfg['batch']}, "
                f"{device}, {str(dtype).replace('torch.', '')}")
        entry = {"n_params": n_params, "steps": _bench_steps(model, x, y, device, cfg)}
        if cfg["radius"]:
            entry["spectral_radius"] = _bench_radius(model, x, y, device, cfg)
        results["models"][name] = entry
    return results


def markdown(results) -> str:
    """The Markdown tables of :func:`run_benchmark`'s results (what ``bench.md`` holds)."""
    return _markdown(results)
