"""Peers of ``srtheory bench``: PyHessian 0.1 and hessian-eigenthings 1.0.0a5.

They are called as their documentation shows, on the same model, batch and loss.  They are
benchmark-only extras: when one is not importable its entry is a note and the benchmark goes on.
Every matvec they make goes through a counting wrapper that also records (time since the start,
the eigenvalue estimate the method would return if it stopped there), so a run with its stopping
rule switched off also yields the *oracle* time to the target: the first iteration whose estimate
is within the target of the reference -- the best case for the peer, since its own rule cannot
know when that happens.  :class:`_Isolated` keeps their side effects off the benchmark.
"""

from __future__ import annotations

import sys
import time
import warnings

import torch
from torch.nn import functional as F

from srtheory.torch.bench.steps import _sync


class _Trace:
    """Counts matvecs; records (seconds since t0, estimate) after each one."""

    def __init__(self, device):
        self.device, self.t0, self.points = device, None, []

    def start(self):
        _sync(self.device)
        self.t0 = time.perf_counter()
        self.points = []

    def record(self, estimate):
        _sync(self.device)
        self.points.append((time.perf_counter() - self.t0, float(estimate)))

    def elapsed(self):
        _sync(self.device)
        return time.perf_counter() - self.t0

    def first_hit(self, rho_ref, target):
        for i, (t, est) in enumerate(self.points):
            if abs(abs(est) - rho_ref) <= target * rho_ref:
                return {"s": t, "n_matvecs": i + 1, "rel_error": abs(abs(est) - rho_ref) / rho_ref}
        return None


def _peer_record(trace, lam, rho_ref, *, converged, settings):
    return {
        "settings": settings,
        "s": trace.elapsed(),
        "n_matvecs": len(trace.points),
        "eigenvalue": float(lam),
        "rel_error": abs(abs(float(lam)) - rho_ref) / rho_ref,
        "converged": converged,
    }


def _oracle_record(trace, rho_ref, target, *, settings):
    hit = trace.first_hit(rho_ref, target)
    if hit is None:
        last = trace.points[-1][1] if trace.points else float("nan")
        return {
            "settings": settings,
            "s": None,
            "n_matvecs": None,
            "rel_error": abs(abs(last) - rho_ref) / rho_ref,
            "converged": None,
            "note": f"not reached in {len(trace.points)} matvecs "
            f"({trace.elapsed():.3f} s); error then shown",
        }
    return {"settings": settings, **hit, "converged": None, "note": "oracle stop"}


class _Isolated:
    """Run a foreign library without side effects on the benchmark: torch's global RNG (forked,
    seeded), default dtype (set to the model's: PyHessian draws its start vector with the
    default dtype), train/eval mode (PyHessian calls ``model.eval()``), ``param.grad`` (PyHessian
    leaves a graph there) and warnings (both emit some under ``filterwarnings=error``)."""

    def __init__(self, model, dtype, device, seed=0):
        self.model, self.dtype, self.device, self.seed = model, dtype, device, seed

    def __enter__(self):
        self._rng = torch.random.fork_rng(
            devices=[self.device.index or 0] if self.device.type == "cuda" else []
        )
        self._rng.__enter__()
        torch.manual_seed(self.seed)
        self._dtype = torch.get_default_dtype()
        torch.set_default_dtype(self.dtype)
        self._training = self.model.training
        self._warn = warnings.catch_warnings()
        self._warn.__enter__()
        warnings.simplefilter("ignore")
        return self

    def __exit__(self, *exc):
        for p in self.model.parameters():
            p.grad = None
        self.model.train(self._training)
        torch.set_default_dtype(self._dtype)
        self._warn.__exit__(*exc)
        self._rng.__exit__(*exc)
        return False


def _try_pyhessian(model, x, y, device, rho_ref, cfg):
    try:
        import pyhessian  # noqa: F401
    except ImportError:
        return {"note": "PyHessian not importable; skipped (pip install --no-deps PyHessian)"}
    try:
        return _run_pyhessian(model, x, y, device, rho_ref, cfg)
    except Exception as exc:  # noqa: BLE001 -- a foreign library: note it, keep going
        return {"note": f"PyHessian failed: {type(exc).__name__}: {exc}"}


def _run_pyhessian(model, x, y, device, rho_ref, cfg):
    from pyhessian import hessian as pyh_hessian

    mod = sys.modules["pyhessian.hessian"]  # the class shadows the submodule in the package
    orig_hvp = mod.hessian_vector_product
    trace = _Trace(device)

    def counted_hvp(grads, params, v):
        hv = orig_hvp(grads, params, v)
        trace.record(sum(torch.sum(h * vi) for h, vi in zip(hv, v)))  # its tmp_eigenvalue
        return hv

    out = {}
    runs = (
        ("default", 100, 1e-3, "hessian(...).eigenvalues(maxIter=100, tol=1e-3), its defaults"),
        (
            "oracle",
            cfg["peer_iters"],
            1e-300,
            (
                f"eigenvalues(maxIter={cfg['peer_iters']}, tol=1e-300), stopped at the first "
                "iterate within the target"
            ),
        ),
    )
    mod.hessian_vector_product = counted_hvp
    try:
        for name, max_iter, tol, settings in runs:
            with _Isolated(model, x.dtype, device):
                trace.start()  # the timing includes building the gradient graph, as for ours
                h = pyh_hessian(
                    model, torch.nn.CrossEntropyLoss(), data=(x, y), cuda=device.type == "cuda"
                )
                vals, _ = h.eigenvalues(maxIter=max_iter, tol=tol)
                if name == "default":
                    # it has no converged flag; record whether its rule fired before maxIter
                    out[name] = _peer_record(
                        trace, vals[0], rho_ref, converged=None, settings=settings
                    )
                    fired = len(trace.points) < max_iter
                    out[name]["stopped_by_rule"] = fired
                    out[name]["note"] = (
                        "no flag (its rule fired)" if fired else "no flag (maxIter reached)"
                    )
                else:
                    out[name] = _oracle_record(trace, rho_ref, cfg["target"], settings=settings)
                del h
    finally:
        mod.hessian_vector_product = orig_hvp
    return out


def _try_eigenthings(model, x, y, device, rho_ref, cfg):
    try:
        import hessian_eigenthings  # noqa: F401
    except ImportError:
        return {
            "note": "hessian-eigenthings not importable; skipped "
            "(pip install --no-deps hessian-eigenthings)"
        }
    try:
        return _run_eigenthings(model, x, y, device, rho_ref, cfg)
    except Exception as exc:  # noqa: BLE001 -- a foreign library: note it, keep going
        return {"note": f"hessian-eigenthings failed: {type(exc).__name__}: {exc}"}


def _run_eigenthings(model, x, y, device, rho_ref, cfg):
    import hessian_eigenthings as he

    trace = _Trace(device)

    def operator():
        # its default HVP ("autograd"): every matvec rebuilds the loss and its gradient graph
        op = he.HessianOperator(model, [(x, y)], he.supervised_loss(F.cross_entropy))
        inner = op.matvec

        def matvec(v):
            av = inner(v)
            trace.record(torch.dot(v, av) / torch.dot(v, v))
            return av

        op.matvec = matvec
        return op

    out = {}
    with _Isolated(model, x.dtype, device):
        trace.start()
        lam, _, _, _, conv = he.power_iteration_one(operator(), seed=0)
        out["power_default"] = _peer_record(
            trace,
            lam,
            rho_ref,
            converged=bool(conv),
            settings="power_iteration_one(op, seed=0), defaults max_iter=100, tol=1e-4",
        )
        if (
            out["power_default"]["rel_error"] <= cfg["target"]
            or len(trace.points) >= cfg["peer_iters"]
        ):
            out["power_oracle"] = _oracle_record(
                trace, rho_ref, cfg["target"], settings="the default run above, oracle stop"
            )
        else:
            trace.start()
            he.power_iteration_one(operator(), seed=0, tol=1e-300, max_iter=cfg["peer_iters"])
            out["power_oracle"] = _oracle_record(
                trace,
                rho_ref,
                cfg["target"],
                settings=f"power_iteration_one(op, seed=0, max_iter={cfg['peer_iters']}, "
                "tol=1e-300), oracle stop",
            )
    with _Isolated(model, x.dtype, device):
        trace.start()
        res = he.lanczos(operator(), k=1, seed=0)
        out["lanczos_default"] = _peer_record(
            trace,
            res.eigenvalues[0],
            rho_ref,
            converged=bool(res.converged[0]),
            settings="lanczos(op, k=1, seed=0), defaults: max_iter=2k=2, tol=1e-4",
        )
    n = sum(p.numel() for p in model.parameters())
    for steps in (5, 10, 20, 40):  # its own Ritz value after a fixed number of steps
        if steps > n - 1:
            break
        with _Isolated(model, x.dtype, device):
            trace.start()
            res = he.lanczos(operator(), k=1, seed=0, max_iter=steps)
            rec = _peer_record(
                trace,
                res.eigenvalues[0],
                rho_ref,
                converged=bool(res.converged[0]),
                settings=f"lanczos(op, k=1, seed=0, max_iter={steps}): first of max_iter in "
                "(5, 10, 20, 40) reaching the target",
            )
        out["lanczos_to_target"] = rec
        if rec["rel_error"] <= cfg["target"]:
            break
    return out
