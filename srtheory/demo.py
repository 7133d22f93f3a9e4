"""``srtheory demo``: GD/SGD, SAM and SRR side by side on a zoo objective and a tiny MLP.

For the chosen deterministic objective (default ``sharp_flat_2d``, started in its sharp minimum)
it runs :func:`srtheory.algorithms.minimize` with ``method="gd"``, ``"sam"`` and ``"srr"``; for
the MLP (default ``mlp_tanh_regression``) minibatch SGD, SAM (:func:`srtheory.baselines.sam`) and
SRR (:func:`srtheory.algorithms.srr_train`, Algorithm 2) from the same seed.  Each method gets a
row: final loss, rho at the solution (matrix-free Lanczos) next to the stored value of the known
minimum it ended in, steps, gradient / HVP / third-order counts and time; events (skipped
eigen-solves, chattering) are printed under the table.  ``--plot FILE.png`` draws the
trajectories over the landscape (1-D or 2-D objectives; needs matplotlib).
"""

from __future__ import annotations

import sys
import time

import numpy as np

from srtheory import objectives as _zoo


def configure(parser) -> None:
    parser.add_argument("--objective", default="sharp_flat_2d", choices=_zoo.names(),
                        help="zoo objective for the full-batch runs (default sharp_flat_2d)")
    parser.add_argument("--mlp", default="mlp_tanh_regression",
                        help="minibatch objective for the stochastic runs, or 'none' (default "
                             "mlp_tanh_regression)")
    parser.add_argument("--mu", type=float, default=None,
                        help="SRR weight mu (default: 1.2 * the objective's mu_escape, else 0.05)")
    parser.add_argument("--K", type=float, default=0.0, help="SRR bound K (default 0)")
    parser.add_argument("--lr", type=float, default=0.04, help="full-batch step size (default 0.04)")
    parser.add_argument("--steps", type=int, default=250, help="full-batch iterations (default 250)")
    parser.add_argument("--sam-radius", type=float, default=0.05, help="SAM radius (default 0.05)")
    parser.add_argument("--mlp-mu", type=float, default=0.01, help="SRR mu for the MLP (default 0.01)")
    parser.add_argument("--mlp-lr", type=float, default=0.5,
                        help="MLP SGD a0 of the schedule a0/(1+k), k the epoch (default 0.5)")
    parser.add_argument("--epochs", type=int, default=5, help="MLP epochs (default 5)")
    parser.add_argument("--batch-size", type=int, default=16, help="MLP batch size (default 16)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the minibatch order (default 0)")
    parser.add_argument("--plot", metavar="FILE.png", default=None,
                        help="draw the full-batch trajectories over the landscape (matplotlib)")
    parser.add_argument("--progress", action="store_true", default=None,
                        help="show a progress line on stderr (default: when stderr is a terminal)")


def run(args) -> int:
    from srtheory.algorithms import minimize

    obj = _zoo.get(args.objective)
    if args.steps < 1 or args.epochs < 1 or args.batch_size < 1:
        print("srtheory demo: --steps, --epochs and --batch-size must be >= 1", file=sys.stderr)
        return 2
    mu = args.mu if args.mu is not None else 1.2 * float(obj.extras.get("mu_escape", 0.05 / 1.2))
    if mu < 0 or args.K < 0:
        print(f"srtheory demo: mu and K must be >= 0 (got mu={mu}, K={args.K})", file=sys.stderr)
        return 2
    mlp = None
    if args.mlp != "none":
        try:
            mlp = _zoo.get(args.mlp)
        except ValueError as err:
            print(f"srtheory demo: {err}", file=sys.stderr)
            return 2
        if not hasattr(mlp, "batches"):
            print(f"srtheory demo: --mlp {args.mlp} is not a minibatch objective", file=sys.stderr)
            return 2
    progress = sys.stderr.isatty() if args.progress is None else bool(args.progress)
    if args.plot is not None and obj.dim > 2:
        print(f"srtheory demo: --plot needs a 1-D or 2-D objective; {obj.name} has dim {obj.dim}",
              file=sys.stderr)
        return 2

    x0 = np.array(obj.x0)
    runs = {}
    for method, kw in (("gd", {}), ("sam", {"sam_radius": args.sam_radius}),
                       ("srr", {"mu": mu, "K": args.K})):
        runs[method] = minimize(obj.f, x0, method=method, lr=args.lr, maxiter=args.steps,
                                progress=progress, **kw)
    print(f"objective {obj.name} (dim {obj.dim}), start x0 = {np.array2string(x0, precision=4)}; "
          f"SRR mu = {mu:.4g}, K = {args.K:g}, lr = {args.lr:g}, up to {args.steps} steps")
    if "mu_escape" in obj.extras:
        print(f"  hand-computed thresholds: mu_prefer = {obj.extras['mu_prefer']:.4g}, "
              f"mu_escape = {obj.extras['mu_escape']:.4g}")
    rows = []
    for method, r in runs.items():
        known = _known_rho(obj, r.x)
        rows.append((method, r.fun, r.rho, known, r.nit, r.n_grad, r.n_hvp, r.n_third, r.time))
    _table(rows)
    for method, r in runs.items():
        _events(method, r.n_eig_nonconverged, r.n_eigvec_flips, r.chattering)

    if mlp is not None:
        _mlp_runs(mlp, args, progress)

    if args.plot is not None:
        return _plot(obj, runs, args.plot)
    return 0


# ------------------------------------------------------------------ helpers

def _mlp_runs(mlp, args, progress) -> None:
    from srtheory.algorithms import srr_train
    from srtheory.baselines import sam
    from srtheory.curvature import hvp_operator
    from srtheory.optimizers import inverse_time, sgd
    from srtheory.regularizer import generic_start
    from srtheory.spectral import spectral_radius

    def rho_at(x):
        n = x.size
        return float(spectral_radius(hvp_operator(mlp.f, x), generic_start(n),
                                     method="lanczos", tol=1e-10).rho)

    common = {"optimizer": sgd(inverse_time(args.mlp_lr)), "epochs": args.epochs,
                  "batch_size": args.batch_size, "progress": progress}
    rows, events = [], []
    plain = srr_train(mlp, rng=np.random.default_rng(args.seed), mu=0.0, **common)
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
    reg = srr_train(mlp, rng=np.random.default_rng(args.seed), mu=args.mlp_mu, K=args.K, **common)
    rows.append(("srr", float(mlp.f(reg.x)), rho_at(reg.x), None, reg.n_batches, reg.n_grad,
                 reg.n_hvp, reg.n_third, reg.time))
    events.append(("srr", reg.n_skipped, reg.n_eigvec_flips, reg.chattering))
    print(f"\nminibatch objective {mlp.name} (dim {mlp.dim}), {args.epochs} epochs of batch "
          f"{args.batch_size}, seed {args.seed}; SRR mu = {args.mlp_mu:g}, K = {args.K:g}")
    _table(rows)
    for e in events:
        _events(*e)


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


def _plot(obj, runs, path) -> int:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        print("srtheory demo: --plot needs matplotlib (pip install 'srtheory[plot]')", file=sys.stderr)
        return 2
    fig = Figure(figsize=(6.4, 4.8))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    colors = {"gd": "tab:blue", "sam": "tab:orange", "srr": "tab:red"}
    if obj.dim == 2:
        (x_lo, x_hi), (y_lo, y_hi) = obj.bounds or ((-2.0, 2.0), (-2.0, 2.0))
        gx, gy = np.meshgrid(np.linspace(x_lo, x_hi, 160), np.linspace(y_lo, y_hi, 120))
        z = np.array([[float(obj.f(np.array([a, b]))) for a, b in zip(ra, rb)] for ra, rb in zip(gx, gy)])
        ax.contourf(gx, gy, z, levels=30, cmap="viridis")
        for method, r in runs.items():
            ax.plot(r.history.x[:, 0], r.history.x[:, 1], ".-", ms=2, lw=1, color=colors[method],
                    label=method)
        for rec in obj.minima:
            ax.plot(rec.x[0], rec.x[1], "w*", ms=10)
            ax.annotate(rec.label, rec.x, color="white", xytext=(4, 4), textcoords="offset points")
        ax.set_xlim(x_lo, x_hi)
        ax.set_ylim(y_lo, y_hi)
        ax.set_ylabel("x2")
    else:
        (x_lo, x_hi), = obj.bounds or ((-2.0, 2.0),)
        grid = np.linspace(x_lo, x_hi, 400)
        ax.plot(grid, [float(obj.f(np.array([g]))) for g in grid], "k-", lw=1, label="f")
        for method, r in runs.items():
            ax.plot(r.history.x[:, 0], r.history.f, ".", ms=3, color=colors[method], label=method)
        ax.set_ylabel("f(x)")
    ax.set_xlabel("x1" if obj.dim == 2 else "x")
    ax.set_title(f"{obj.name}: trajectories")
    ax.legend(loc="best")
    fig.savefig(path, dpi=100)
    print(f"\nwrote {path}")
    return 0
