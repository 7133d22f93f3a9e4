"""Reporting of ``srtheory bench``: the run's metadata (date, machine, versions, command,
configuration) and the Markdown tables written to ``bench.md``."""

from __future__ import annotations

import datetime as _dt
import os
import platform

import torch

from srtheory.torch.bench.steps import STEP_ROWS


def _meta(device, dtype, cfg, command):
    if device.type == "cuda":
        machine = torch.cuda.get_device_name(device)
    else:
        machine = (
            f"CPU: {_cpu_name()}, {os.cpu_count()} logical cores, "
            f"torch threads {torch.get_num_threads()}"
        )
    return {
        "date_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine,
        "platform": platform.platform(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": str(device),
        "dtype": dtype,
        "command": command,
        "config": cfg,
        "memory_note": (
            "torch.cuda.max_memory_allocated over the timed block"
            if device.type == "cuda"
            else "live bytes of torch's CPU allocator (profiler, memory on), separate untimed pass"
        ),
    }


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


_OWN_RADIUS = {
    "lanczos_tol0.001": "srtheory lanczos(tol=1e-3), Ritz-residual stop",
    "lanczos_tol1e-05": "srtheory lanczos(tol=1e-5), Ritz-residual stop",
    "power_residual": "srtheory power_iteration(tol=1e-3, criteria='residual')",
    "power_paper": "srtheory power_iteration(tol=1e-3, criteria='paper') (Algorithm 1)",
}
_PEER_RADIUS = {
    "pyhessian": (("default", "PyHessian, defaults"), ("oracle", "PyHessian, to target")),
    "hessian_eigenthings": (
        ("power_default", "eigenthings power, defaults"),
        ("power_oracle", "eigenthings power, to target"),
        ("lanczos_default", "eigenthings Lanczos, defaults"),
        ("lanczos_to_target", "eigenthings Lanczos, more steps"),
    ),
}


def _fmt(x, spec, none="–"):
    return none if x is None else format(x, spec)


def _markdown(results):
    m = results["meta"]
    target = m["config"]["target"]
    lines = [
        (
            f"Measured {m['date_utc']} on {m['machine']}, torch {m['torch']}, {m['dtype']} "
            f"(`{m['command']}`)."
        ),
        "",
        "Step rows (ratios to the SGD step of the same run; "
        + (
            "methods interleaved one step at a time"
            if m["device"].startswith("cpu") and not m["config"]["blocks"]
            else "one block of steps per method"
        )
        + "):",
        "",
    ]
    present = {k for entry in results["models"].values() for k in entry["steps"]}
    for kind, (label, what) in STEP_ROWS.items():
        if kind in present:
            lines.append(f"* **{label}**: {what}")
    lines += ["", f"Peak memory: {m['memory_note']}.", ""]
    for model, entry in results["models"].items():
        lines += [
            f"**{model}** ({entry['n_params'] / 1e6:.3f} M parameters)",
            "",
            (
                "| step | ms (median) | × SGD | ms (min) | matvecs / step | gradients / step "
                "| peak MB | mem × SGD |"
            ),
            "|---|---|---|---|---|---|---|---|",
        ]
        for kind, rec in entry["steps"].items():
            if rec.get("refused"):
                lines.append(f"| {STEP_ROWS[kind][0]} | {rec['refused']} | – | – | – | – | – | – |")
                continue
            pk = "n/a" if rec["peak_mb"] is None else f"{rec['peak_mb']:.1f}"
            mx = "n/a" if rec["mem_x_sgd"] is None else f"{rec['mem_x_sgd']:.2f}"
            lines.append(
                f"| {STEP_ROWS[kind][0]} | {rec['ms']:.1f} | {rec['x_sgd']:.2f} "
                f"| {rec.get('ms_min', rec['ms']):.1f} | {_fmt(rec.get('matvecs_per_step'), '.1f')} "
                f"| {_fmt(rec.get('grads_per_step'), '.1f')} | {pk} | {mx} |"
            )
        sr = entry.get("spectral_radius")
        if sr is None:
            lines.append("")
            continue
        lines += [
            "",
            (
                f"Spectral radius (reference ρ = {sr['reference']['rho']:.8g}: "
                f"{sr['reference']['method']}, {sr['reference']['n_matvecs']} matvecs, "
                f"residual/ρ = {sr['reference']['residual_rel']:.1e}; target relative error "
                f"{target:g}; fastest srtheory Lanczos to the target: "
                f"{sr['fastest_to_target']}):"
            ),
            "",
            "| method | settings | s | matvecs | rel. error | converged flag |",
            "|---|---|---|---|---|---|",
        ]
        for name, what in _OWN_RADIUS.items():
            if name in sr:
                r = sr[name]
                lines.append(
                    f"| {name} | {what} | {r['s']:.3f} | {r['n_matvecs']} "
                    f"| {r['rel_error']:.1e} | {r['converged']} |"
                )
        for peer, rows in _PEER_RADIUS.items():
            r = sr[peer]
            if "note" in r:
                lines.append(f"| {peer} | – | – | – | – | {r['note']} |")
                continue
            for key, label in rows:
                if key not in r:
                    continue
                q = r[key]
                flag = q.get("note") if q.get("converged") is None else q["converged"]
                lines.append(
                    f"| {label} | {q['settings']} | {_fmt(q['s'], '.3f')} "
                    f"| {_fmt(q['n_matvecs'], 'd')} | {q['rel_error']:.1e} | {flag} |"
                )
        lines.append("")
        summ = sr.get("summary")
        if summ and summ["vs"]:
            for label, r in summ["vs"].items():
                lines.append(
                    f"* srtheory {summ['srtheory']} ({summ['srtheory_s']:.3f} s, within the "
                    f"target) / {label} ({r['peer_s']:.3f} s, rel. error "
                    f"{r['peer_rel_error']:.1e}): **{r['time_ratio']:.2f}×** the time"
                )
            lines.append("")
    if not m["config"].get("radius", True):
        return "\n".join(lines)
    lines.append(
        'Peers\' "to target" power rows are oracle stops (the first iterate within the target, '
        "which their own rule cannot detect): a lower bound on their time to the target. "
        "hessian-eigenthings' default HVP rebuilds the loss and gradient graph at every matvec; "
        "PyHessian and srtheory build it once per solve (included in every time)."
    )
    return "\n".join(lines)
