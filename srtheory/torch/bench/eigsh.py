"""Matvec counts of srtheory's default eigen-solves against scipy's ``eigsh`` on the same operators.

For each small model of :func:`cases` (a tanh MLP, a ReLU CNN, a small MLP with a near tie
``|lambda_2/lambda_1| ~ 0.96``, a tanh regression with a negative dominant eigenvalue) the exact
Hessian-vector product of one batch is handed, in float64 and in float32, to

* ``scipy.sparse.linalg.eigsh(k=1, which="LM")`` (ARPACK; its products are computed in float64,
  with the float32 operator's outputs promoted), and
* :func:`srtheory.spectral.lanczos` and :func:`srtheory.spectral.spectral_radius` with their
  default tolerances (1e-10 / 1e-8 in float64, ``sqrt(eps)`` below),

from the same start vector.  The reference ``rho`` is eigsh's float64 answer at ``tol=0``.  Each
row gives the matvecs, the relative error of ``rho`` and the solver's own ``converged`` flag; the
ratio to eigsh's matvecs is what the target of the benchmark reads (float32: at most 1.5x, float64:
at most as many).
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse.linalg as sla
import torch

from srtheory.spectral import lanczos, spectral_radius

__all__ = ["cases", "eigsh_comparison", "eigsh_markdown"]


def cases(seed: int = 0):
    """``{name: (model, loss_fn_factory)}``; ``loss(model)`` is a zero-argument closure."""
    from srtheory.torch import models

    g = torch.Generator().manual_seed(seed)

    def data(n, shape, classes=None):
        x = torch.randn((n, *shape), generator=g, dtype=torch.float64)
        if classes is None:
            return x, torch.randn((n, 1), generator=g, dtype=torch.float64)
        return x, torch.randint(0, classes, (n,), generator=g)

    out = {}
    x, y = data(64, (20,), classes=5)
    out["tanh MLP 20-40-20-5 (1.9 k)"] = (models.mlp([20, 40, 20, 5], seed=seed), x, y, "ce")
    x, y = data(32, (1, 12, 12), classes=4)
    torch.manual_seed(seed)
    cnn = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(6 * 5 * 5, 4),
    ).double()
    out[f"ReLU CNN with max-pool ({sum(p.numel() for p in cnn.parameters())})"] = (cnn, x, y, "ce")
    x, y = data(40, (5,), classes=3)
    out["small MLP 5-8-3 (75)"] = (models.mlp([5, 8, 3], seed=seed + 1), x, y, "ce")
    x, y = data(80, (20,))
    out["tanh regression 20-40-1 (881)"] = (models.mlp([20, 40, 1], seed=seed + 2), x, y, "mse")
    return out


def _loss(model, x, y, kind):
    def f():
        out = model(x.to(next(model.parameters()).dtype))
        if kind == "ce":
            return torch.nn.functional.cross_entropy(out, y)
        return 0.5 * ((out - y.to(out.dtype)) ** 2).sum(1).mean()

    return f


def _operator(model, x, y, kind, dtype):
    from srtheory.torch import hvp_operator

    m = model.to(dtype)
    return hvp_operator(_loss(m, x, y, kind), list(m.parameters()))


def eigsh_comparison(seed: int = 0) -> list[dict]:
    rows = []
    for name, (model, x, y, kind) in cases(seed).items():
        n = sum(p.numel() for p in model.parameters())
        v0 = np.random.default_rng(seed).standard_normal(n)
        for dtype in (torch.float64, torch.float32):
            op = _operator(model, x, y, kind, dtype)
            calls = []

            def mv(v, op=op, dtype=dtype, calls=calls):
                calls.append(1)
                return op(torch.as_tensor(v, dtype=dtype)).double().numpy()

            lin = sla.LinearOperator((n, n), matvec=mv, dtype=np.float64)
            t = time.perf_counter()
            lam = sla.eigsh(lin, k=1, which="LM", v0=v0, return_eigenvectors=False)[0]
            t_eigsh = time.perf_counter() - t
            if dtype == torch.float64:
                rho_ref = abs(float(lam))
            row = {"model": name, "n": n, "dtype": str(dtype).replace("torch.", ""),
                   "eigsh_matvecs": len(calls), "eigsh_err": abs(abs(lam) - rho_ref) / rho_ref,
                   "eigsh_time": t_eigsh}
            v = torch.as_tensor(v0, dtype=dtype)
            for label, solver in (("lanczos", lanczos), ("spectral_radius", spectral_radius)):
                t = time.perf_counter()
                res = solver(op, v)
                row[label] = {"matvecs": res.n_matvecs, "err": abs(res.rho - rho_ref) / rho_ref,
                              "converged": res.converged, "time": time.perf_counter() - t,
                              "ratio": res.n_matvecs / len(calls)}
            rows.append(row)
    return rows


def eigsh_markdown(rows) -> str:
    lines = [
        ("| model (parameters) | dtype | eigsh (k=1) matvecs | lanczos matvecs (× eigsh) | "
         "rel. error | conv. | spectral_radius matvecs (× eigsh) | rel. error | conv. |"),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lz, sr = r["lanczos"], r["spectral_radius"]
        lines.append(
            f"| {r['model']} | {r['dtype']} | {r['eigsh_matvecs']} | {lz['matvecs']} "
            f"({lz['ratio']:.2f}) | {lz['err']:.1e} | {lz['converged']} | {sr['matvecs']} "
            f"({sr['ratio']:.2f}) | {sr['err']:.1e} | {sr['converged']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    torch.set_num_threads(1)
    print(eigsh_markdown(eigsh_comparison()))
