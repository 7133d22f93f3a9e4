"""``srtheory radius``: the spectral radius of a built-in loss Hessian, matrix-free, next to the
dense answer.

The objective is a small tanh network on seeded synthetic regression data, so its Hessian is
indefinite.  The matrix-free estimate (Lanczos and the paper's power iteration, Algorithm 1 of
SRR_NOTES §6) runs on Hessian-vector products only; the dense answer comes from
:mod:`srtheory.oracle` and is shown only for comparison.
"""

from __future__ import annotations

import time

import numpy as np

from srtheory.commands._args import nonnegative_int, positive_float, positive_int
from srtheory.curvature import hvp_operator
from srtheory.mlp import mlp_loss, mlp_spec
from srtheory.oracle import dense_spectral_radius, hessian
from srtheory.spectral import power_iteration, spectral_radius


def tanh_regression_loss(n_hidden: int = 6, n_in: int = 3, n_samples: int = 40, seed: int = 0):
    """Return ``(f, x0)``: mean squared error of a one-hidden-layer tanh net on seeded data.

    The net is :mod:`srtheory.mlp`'s ``(n_in, n_hidden, 1)`` MLP, its parameters in that module's
    flat layout ``[W1 (n_hidden x n_in), b1, w2 (n_hidden), b2]``; ``f = mean (pred - y)^2``, twice
    the ``"squared"`` loss (an exact scaling).
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_in))
    y = np.sin(X @ rng.standard_normal(n_in)) + 0.1 * rng.standard_normal(n_samples)
    spec = mlp_spec((n_in, n_hidden, 1), activation="tanh", loss="squared")
    Y = y[:, None]

    def f(x):
        return 2.0 * mlp_loss(spec, x, X, Y)

    x0 = rng.standard_normal(spec.n_params)
    return f, x0


def add_arguments(parser) -> None:
    parser.add_argument("--hidden", type=positive_int, default=6, help="hidden units (default 6)")
    parser.add_argument("--seed", type=nonnegative_int, default=0,
                        help="data and weight seed (default 0)")
    parser.add_argument("--tol", type=positive_float, default=1e-10,
                        help="Lanczos relative residual tolerance (default 1e-10)")


def main(args) -> int:
    f, x = tanh_regression_loss(n_hidden=args.hidden, seed=args.seed)
    n = x.size
    matvec = hvp_operator(f, x)
    v0 = np.ones(n) / np.sqrt(n)  # the paper's deterministic start v0 = 1/sqrt(n)

    t0 = time.perf_counter()
    lz = spectral_radius(matvec, v0, method="lanczos", tol=args.tol, both_ends=True)
    t_lz = time.perf_counter() - t0
    t0 = time.perf_counter()
    pw = power_iteration(matvec, v0, tol=1e-3, max_iter=1000)
    t_pw = time.perf_counter() - t0

    rho, eigval, _, _ = dense_spectral_radius(hessian(f, x))
    print(f"tanh network, n = {n} parameters; Hessian of the mean squared error at a seeded point")
    print(f"{'method':<28}{'rho':>14}{'eigval':>14}{'residual':>11}{'rel.err':>10}{'matvecs':>9}{'conv':>6}{'s':>7}")
    for name, r, t in (("lanczos (spectral_radius)", lz, t_lz), ("power iteration (Alg. 1)", pw, t_pw)):
        rel = abs(r.rho - rho) / rho
        print(f"{name:<28}{r.rho:>14.8g}{r.eigval:>14.8g}{r.residual:>11.2e}{rel:>10.1e}"
              f"{r.n_matvecs:>9d}{r.converged!s:>6}{t:>7.2f}")
    print(f"{'dense eigh (oracle)':<28}{rho:>14.8g}{eigval:>14.8g}")
    print(f"lambda_max = {lz.lambda_max:.8g}, lambda_min = {lz.lambda_min:.8g}, tie = {lz.tie}")
    lo, hi = lz.interval
    print(f"an eigenvalue lies in [{lo:.10g}, {hi:.10g}] (residual bound)")
    return 0 if lz.converged and abs(lz.rho - rho) <= 1e-6 * rho else 1
