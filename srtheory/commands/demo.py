"""``srtheory demo``: GD/SGD, SAM and SRR side by side on a zoo objective and a tiny MLP.

For the chosen deterministic objective (default ``sharp_flat_2d``, started in its sharp minimum)
it runs :func:`srtheory.algorithms.minimize` with ``method="gd"``, ``"sam"`` and ``"srr"``; for
the MLP (default ``mlp_tanh_regression``) minibatch SGD, SAM (:func:`srtheory.baselines.sam`) and
SRR (:func:`srtheory.algorithms.srr_train`, Algorithm 2) from the same seed.  Each method gets a
row: final loss, rho at the solution (matrix-free Lanczos) next to the stored value of the known
minimum it ended in, steps, gradient / HVP / third-order counts and time; events (skipped
eigen-solves, chattering) are printed under the table.  A full-batch method whose loss stops
being finite (Rosenbrock at the default ``--lr 0.04``) is reported as DIVERGED under the table, with
a smaller step size to try; the default step size is the same for every objective.
``--plot FILE.png`` draws the trajectories over the landscape (1-D or 2-D objectives; needs
matplotlib), a marker where each method ends (nested rings where ends coincide) and, in 2-D, a
colour bar of f.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from srtheory import objectives as _zoo
from srtheory.commands._args import (
    UsageError,
    nonnegative_float,
    nonnegative_int,
    output_file,
    positive_float,
    positive_int,
)


def add_arguments(parser) -> None:
    parser.add_argument("--objective", default="sharp_flat_2d", choices=_zoo.names(),
                        help="zoo objective for the full-batch runs (default sharp_flat_2d)")
    parser.add_argument("--mlp", default="mlp_tanh_regression",
                        help="minibatch objective for the stochastic runs, or 'none' (default "
                             "mlp_tanh_regression)")
    parser.add_argument("--mu", type=nonnegative_float, default=None,
                        help="SRR weight mu (default: 3 * the objective's mu_escape, else 0.05; just above "
                             "mu_escape the exact rho stalls SRR at the +-rho tie on the hole's rim)")
    parser.add_argument("--K", type=nonnegative_float, default=0.0, help="SRR bound K (default 0)")
    parser.add_argument("--lr", type=positive_float, default=0.04,
                        help="full-batch step size (default 0.04; a method that diverges at it is "
                             "reported as diverged)")
    parser.add_argument("--steps", type=positive_int, default=250,
                        help="full-batch iterations (default 250)")
    parser.add_argument("--sam-radius", type=nonnegative_float, default=0.05,
                        help="SAM radius (default 0.05)")
    parser.add_argument("--mlp-mu", type=nonnegative_float, default=0.01,
                        help="SRR mu for the MLP (default 0.01)")
    parser.add_argument("--mlp-lr", type=positive_float, default=0.5,
                        help="MLP SGD a0 of the schedule a0/(1+k), k the epoch (default 0.5)")
    parser.add_argument("--epochs", type=positive_int, default=5, help="MLP epochs (default 5)")
    parser.add_argument("--batch-size", type=positive_int, default=16,
                        help="MLP batch size (default 16)")
    parser.add_argument("--seed", type=nonnegative_int, default=0,
                        help="seed of the minibatch order (default 0)")
    parser.add_argument("--plot", metavar="FILE.png", type=output_file, default=None,
                        help="draw the full-batch trajectories over the landscape (matplotlib)")
    parser.add_argument("--progress", action="store_true", default=None,
                        help="show a progress line on stderr (default: when stderr is a terminal)")


def main(args) -> int:
    from srtheory.algorithms import Monitor, NonFiniteLossError, SRRConfig, minimize
    from srtheory.spectral import EigConfig

    obj = _zoo.get(args.objective)
    mu = args.mu if args.mu is not None else 3.0 * float(obj.extras.get("mu_escape", 0.05 / 3.0))
    mlp = None
    if args.mlp != "none":
        try:
            mlp = _zoo.get(args.mlp)
        except ValueError as err:
            raise UsageError(f"--mlp: {err}") from None
        if not hasattr(mlp, "batches"):
            raise UsageError(f"--mlp {args.mlp} is not a minibatch objective")
    progress = sys.stderr.isatty() if args.progress is None else bool(args.progress)
    if args.plot is not None and obj.dim > 2:
        raise UsageError(f"--plot needs a 1-D or 2-D objective; {obj.name} has dim {obj.dim}")

    x0 = np.array(obj.x0)
    runs, diverged = {}, {}
    # SRR's eigen-solve: Lanczos to 1e-10 (full batch, where an accurate rho is cheap)
    srr = SRRConfig(mu=mu, K=args.K, eig=EigConfig(method="lanczos", tol=1e-10, max_iter=300))
    for method, kw in (("gd", {}), ("sam", {"sam_radius": args.sam_radius}), ("srr", {"srr": srr})):
        try:
            with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported below
                runs[method] = minimize(obj.f, x0, method=method, lr=args.lr, max_iter=args.steps,
                                        monitor=Monitor(progress=progress), **kw)
        except NonFiniteLossError as err:  # reported under the table, not a traceback
            diverged[method] = err
    print(f"objective {obj.name} (dim {obj.dim}), start x0 = {np.array2string(x0, precision=4)}; "
          f"SRR mu = {mu:.4g}, K = {args.K:g}, lr = {args.lr:g}, up to {args.steps} steps")
    if "mu_escape" in obj.extras:
        print(f"  hand-computed thresholds: mu_prefer = {obj.extras['mu_prefer']:.4g}, "
              f"mu_escape = {obj.extras['mu_escape']:.4g}")
    rows = []
    for method, r in runs.items():
        known = _known_rho(obj, r.x)
        rows.append((method, r.fun, r.rho, known, r.nit, r.n_grad, r.n_hvp, r.n_third, r.time))
    if rows:
        _table(rows)
    for method, r in runs.items():
        _events(method, r.n_eig_nonconverged, r.n_eigvec_flips, r.chattering)
    if diverged:
        hint = 1.0 / _rho_at(obj.f, x0)
        for method, err in diverged.items():
            what = str(err).split(";")[0]  # "f or grad f is not finite at iteration k (f = inf)"
            print(f"  {method}: DIVERGED at lr = {args.lr:g} -- {what} (not in the table)")
        print(f"  try a smaller --lr, e.g. below 1/rho(x0) = {hint:.3g} (rho of the Hessian at "
              "the start; the curvature may grow along the path)")

    if mlp is not None:
        _mlp_runs(mlp, args, progress)

    if args.plot is not None:
        return _plot(obj, runs, args.plot)
    return 0


# ------------------------------------------------------------------ helpers

def _mlp_runs(mlp, args, progress) -> None:
    from srtheory.algorithms import Monitor, SRRConfig, srr_train
    from srtheory.baselines import sam
    from srtheory.optimizers import inverse_time, sgd

    def rho_at(x):
        return _rho_at(mlp.f, x)

    common = {"optimizer": sgd(inverse_time(args.mlp_lr)), "epochs": args.epochs,
              "batch_size": args.batch_size, "monitor": Monitor(progress=progress)}
    rows, events = [], []
    plain = srr_train(mlp, rng=np.random.default_rng(args.seed), srr=SRRConfig(mu=0.0), **common)
    rows.append(("sgd", float(mlp.f(plain.x)), rho_at(plain.x), None, plain.n_batches, plain.n_grad,
                 plain.n_hvp, plain.n_third, plain.time))
    # SAM (oracle protocol of srtheory.baselines) on the same minibatch order
    t0 = time.perf_counter()
    opt = sam(sgd(inverse_time(args.mlp_lr)), radius=args.sam_radius)
    rng = np.random.default_rng(args.seed)
    x = np.array(mlp.x0)
    state = opt.init(x)
    steps = 0
    from autograd import grad

    for epoch in range(args.epochs):
        batches = list(mlp.batches(rng, args.batch_size))
        rng.integers(len(batches))  # keep the stream aligned with srr_train's report-batch draw
        for batch in batches:
            g = grad(lambda y, b=batch: mlp.loss(y, b))
            x, state = opt.update(g, state, x, epoch)
            steps += 1
    rows.append(("sam", float(mlp.f(x)), rho_at(x), None, steps, state.n_grad_evals, 0, 0,
                 time.perf_counter() - t0))
    reg = srr_train(mlp, rng=np.random.default_rng(args.seed), srr=SRRConfig(mu=args.mlp_mu, K=args.K),
                    **common)
    rows.append(("srr", float(mlp.f(reg.x)), rho_at(reg.x), None, reg.n_batches, reg.n_grad,
                 reg.n_hvp, reg.n_third, reg.time))
    events.append(("srr", reg.n_skipped, reg.n_eigvec_flips, reg.chattering))
    print(f"\nminibatch objective {mlp.name} (dim {mlp.dim}), {args.epochs} epochs of batch "
          f"{args.batch_size}, seed {args.seed}; SRR mu = {args.mlp_mu:g}, K = {args.K:g}")
    _table(rows)
    for e in events:
        _events(*e)


def _rho_at(f, x) -> float:
    """rho of the Hessian of ``f`` at ``x`` (matrix-free Lanczos, tolerance 1e-10)."""
    from srtheory.curvature import hvp_operator
    from srtheory.regularizer import generic_start
    from srtheory.spectral import spectral_radius

    return float(spectral_radius(hvp_operator(f, x), generic_start(x.size),
                                 method="lanczos", tol=1e-10).rho)


def _known_rho(obj, x):
    """(rho, label) of the stored minimum x is at (within 1e-3 relative), else None."""
    for rec in obj.minima + obj.saddles:
        if rec.rho is not None and np.linalg.norm(x - rec.x) <= 1e-3 * max(1.0, np.linalg.norm(rec.x)):
            return rec.rho, rec.label
    return None


def _table(rows) -> None:
    head = (f"{'method':<7}{'final loss':>13}{'rho(x)':>11}{'known rho':>20}{'steps':>7}{'grads':>7}"
            f"{'HVPs':>7}{'3rd':>6}{'time [s]':>10}")
    print(head)
    print("-" * len(head))
    for method, fun, rho, known, steps, ng, nh, nt, t in rows:
        k = "-" if known is None else f"{known[0]:.5g} ({known[1]})"
        print(f"{method:<7}{fun:>13.6g}{rho:>11.5g}{k:>20}{steps:>7d}{ng:>7d}{nh:>7d}{nt:>6d}{t:>10.3f}")


def _events(method, n_skipped, n_flips, chattering) -> None:
    if n_skipped:
        print(f"  {method}: eigen-solve did not converge on {n_skipped} steps (regularizer skipped there)")
    if chattering:
        print(f"  {method}: CHATTERING -- the top eigenvector flipped on {n_flips} steps "
              "(repeated top eigenvalue: rho not differentiable)")


# end markers: largest first and hollow, so ends that coincide (GD and SAM never leave the sharp
# minimum) stay visible as nested rings around the smallest, filled one
_STYLE = {"gd": ("tab:blue", "o", 17), "sam": ("tab:orange", "s", 12), "srr": ("tab:red", "D", 7)}


def _plot(obj, runs, path) -> int:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
    except ImportError:
        raise UsageError("--plot needs matplotlib (pip install 'srtheory[plot]')") from None
    fig = Figure(figsize=(7.4, 4.8))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    if obj.dim == 2:
        (x_lo, x_hi), (y_lo, y_hi) = obj.bounds or ((-2.0, 2.0), (-2.0, 2.0))
        gx, gy = np.meshgrid(np.linspace(x_lo, x_hi, 160), np.linspace(y_lo, y_hi, 120))
        z = np.array([[float(obj.f(np.array([a, b]))) for a, b in zip(ra, rb)] for ra, rb in zip(gx, gy)])
        filled = ax.contourf(gx, gy, z, levels=30, cmap="viridis")
        fig.colorbar(filled, ax=ax, label="f(x)")
        for rec in obj.minima:
            ax.plot(rec.x[0], rec.x[1], "w*", ms=10)
            ax.annotate(rec.label, rec.x, color="white", xytext=(6, 6), textcoords="offset points")
        ends = {m: (r.history.x[:, 0], r.history.x[:, 1]) for m, r in runs.items()}
        ax.set_xlim(x_lo, x_hi)
        ax.set_ylim(y_lo, y_hi)
        ax.set_ylabel("x2")
    else:
        (x_lo, x_hi), = obj.bounds or ((-2.0, 2.0),)
        grid = np.linspace(x_lo, x_hi, 400)
        ax.plot(grid, [float(obj.f(np.array([g]))) for g in grid], "k-", lw=1, label="f")
        ends = {m: (r.history.x[:, 0], r.history.f) for m, r in runs.items()}
        ax.set_ylabel("f(x)")
    handles = []
    for method, (px, py) in ends.items():
        color, marker, size = _STYLE[method]
        ax.plot(px, py, ".-" if obj.dim == 2 else ".", ms=2 if obj.dim == 2 else 3, lw=1,
                color=color, label=method)
        ax.plot(px[-1], py[-1], marker=marker, ms=size, ls="none", color=color, mfc="none", mew=2,
                zorder=5, label=f"{method} end")
        handles.append(Line2D([], [], color=color, lw=1, marker=marker, ms=8, mfc="none", mew=2,
                              label=f"{method}: ends after {runs[method].nit} steps"))
    ax.set_xlabel("x1" if obj.dim == 2 else "x")
    ax.set_title(f"{obj.name}: trajectories and where each method ends")
    ax.legend(handles=handles, loc="best", fontsize="small")
    fig.savefig(path, dpi=100)
    print(f"\nwrote {path}")
    return 0
