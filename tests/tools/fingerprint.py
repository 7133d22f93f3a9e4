"""Fingerprint of the eigen-solvers' results on both backends, for refactorings that must not
change numbers.

    python tests/tools/fingerprint.py record OUT.npz          # run every case, store every output
    python tests/tools/fingerprint.py compare OLD.npz NEW.npz # NumPy bit for bit, torch within tol
    python tests/tools/fingerprint.py selftest                # the comparison's negative control

To compare against an older commit, check it out elsewhere (``git worktree add /tmp/base REV``)
and record there with ``PYTHONPATH=/tmp/base``.  The cases: every public solver (power iteration
under both stopping rules, with constant and scheduled Algorithm 1b steps and a preconditioner,
with the authors' cap at n; Lanczos for LM/LA/SA; the spectral radius by Lanczos and by power
iteration) on planted spectra that exercise each branch (generic, negative dominant, +-rho tie,
repeated top eigenvalue, clustered, tiny scale, an invariant start), from NumPy float64, torch
float64 and torch float32 start vectors.  Every field of each result is stored (eigvec included).

NumPy results must agree bit for bit; torch results within ``TORCH_RTOL[dtype]`` relative to the
case's spectral radius (an operation order may change there, e.g. ``torch.sub(w, v, alpha=a)``
instead of ``w - a * v``), and their counts and flags exactly.
"""

from __future__ import annotations

import sys

import numpy as np

# measured when the two torch copies of the solvers were merged into the reference's (commit
# 5d1bde8 -> the single core): max relative change 3.6e-17 (float64), 1.8e-8 (float32), every
# count and flag identical
TORCH_RTOL = {"float64": 1e-14, "float32": 1e-6}

SPECTRA = {
    "generic": np.r_[4.0, np.linspace(-1.0, 2.0, 23)],
    "negative": np.r_[-5.0, np.linspace(-1.0, 3.0, 23)],
    "tie": np.r_[2.0, -2.0, np.linspace(-1.0, 1.0, 22)],
    "repeated": np.r_[3.0, 3.0, np.linspace(-1.0, 1.0, 22)],
    "clustered": np.r_[1.0, 0.99, 0.98, np.linspace(-0.5, 0.5, 21)],
    "tiny": 1e-9 * np.r_[4.0, np.linspace(-1.0, 2.0, 23)],
}

SOLVES = [
    ("power_iteration", dict(tol=1e-3, max_iter=300)),
    ("power_iteration", dict(tol=1e-10, max_iter=300, criteria="residual")),
    ("power_iteration", dict(tol=1e-8, max_iter=200, alpha=0.5)),
    ("power_iteration", dict(tol=1e-8, max_iter=200, alpha="schedule")),
    ("power_iteration", dict(tol=1e-8, max_iter=200, precond="diag")),
    ("power_iteration", dict(tol=1e-12, max_iter=1000, cap_at_n=True)),
    ("lanczos", dict(tol=1e-10)),
    ("lanczos", dict(tol=1e-10, which="LA")),
    ("lanczos", dict(tol=1e-10, which="SA")),
    ("lanczos", dict(tol=1e-6, max_iter=5)),
    ("spectral_radius", dict(tol=1e-8)),
    ("spectral_radius", dict(tol=1e-8, method="power", max_iter=3000)),
]


def _matrix(eigs, seed):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((eigs.size, eigs.size)))
    a = (q * eigs) @ q.T
    return 0.5 * (a + a.T), q


def _cases():
    for kind, eigs in SPECTRA.items():
        a, q = _matrix(eigs, 7)
        starts = {"random": np.random.default_rng(3).standard_normal(eigs.size)}
        if kind == "generic":
            starts["invariant"] = q[:, 5].copy()  # an eigenvector of a non-dominant eigenvalue
        for sname, v0 in starts.items():
            for j, (solver, opts) in enumerate(SOLVES):
                yield f"{kind}/{sname}/{solver}{j}", a, v0, solver, opts


def _options(opts, a, lib):
    opts = dict(opts)
    if opts.get("alpha") == "schedule":
        opts["alpha"] = lambda i: 1.0 / (1.0 + i)
    if opts.get("precond") == "diag":
        d = 1.0 / (1.0 + np.abs(np.diag(a)))
        if lib == "numpy":
            opts["precond"] = lambda r: d * r
        else:
            import torch

            def pre(r, d=d):
                return torch.as_tensor(d, dtype=r.dtype) * r

            opts["precond"] = pre
    return opts


def record(path):
    import srtheory.spectral as sp

    out = {}
    backends = ["numpy"]
    try:
        import torch

        torch.set_num_threads(1)
        backends += ["float64", "float32"]
    except ImportError:  # pragma: no cover
        pass
    for name, a, v0, solver, opts in _cases():
        for be in backends:
            o = _options(opts, a, "numpy" if be == "numpy" else "torch")
            if be == "numpy":
                res = getattr(sp, solver)(lambda x, a=a: a @ x, v0, **o)
                vec = np.asarray(res.eigvec)
            else:
                import srtheory.torch.spectral as ts

                dt = getattr(torch, be)
                at = torch.tensor(a, dtype=dt)
                res = getattr(ts, solver)(lambda x, at=at: at @ x, torch.tensor(v0, dtype=dt), **o)
                vec = res.eigvec.double().numpy()
            key = f"{be}|{name}"
            out[key + "|scalars"] = np.array(
                [res.eigval, res.residual,
                 np.nan if res.lambda_max is None else res.lambda_max,
                 np.nan if res.lambda_min is None else res.lambda_min]
            )
            out[key + "|counts"] = np.array([res.n_matvecs, res.n_iter, res.converged, res.tie])
            out[key + "|eigvec"] = vec
    np.savez(path, **out)
    print(f"recorded {len(out) // 3} solver results into {path}")


def compare(old_path, new_path) -> int:
    old, new = np.load(old_path), np.load(new_path)
    problems = []
    if set(old.files) != set(new.files):
        problems.append(f"different cases: {sorted(set(old.files) ^ set(new.files))[:5]}")
    n_exact = n_tol = 0
    for key in sorted(set(old.files) & set(new.files)):
        a, b = old[key], new[key]
        be = key.split("|")[0]
        if be == "numpy" or key.endswith("|counts"):
            same = a.shape == b.shape and a.tobytes() == b.tobytes()
            n_exact += be == "numpy"
            if not same:
                problems.append(f"{key}: not bit for bit (max diff {np.nanmax(np.abs(a - b)):.3e})")
        else:
            n_tol += 1
            scale = max(abs(float(old[key.replace("eigvec", "scalars")][0])), 1e-300)
            if key.endswith("|eigvec"):
                scale = 1.0
                if a @ b < 0:  # an eigenvector is defined up to sign
                    b = -b
            err = np.nanmax(np.abs(a - b)) / scale if a.size else 0.0
            if not (np.array_equal(np.isnan(a), np.isnan(b)) and err <= TORCH_RTOL[be]):
                problems.append(f"{key}: relative difference {err:.3e} > {TORCH_RTOL[be]:.0e}")
    for p in problems[:40]:
        print("DIFFERS", p)
    print(f"{n_exact} NumPy arrays compared bit for bit, {n_tol} torch arrays within tolerance: "
          f"{len(problems)} differ")
    return 1 if problems else 0


def selftest() -> int:
    """Negative control: a result changed by one ulp (NumPy) or by 10x the tolerance (torch)
    must be reported."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        rec = {"numpy|x|scalars": np.array([1.0, 2.0, 3.0, 4.0]),
               "float64|x|scalars": np.array([1.0, 2.0, 3.0, 4.0])}
        np.savez(f"{d}/a.npz", **rec)
        bad = dict(rec)
        bad["numpy|x|scalars"] = np.array([np.nextafter(1.0, 2.0), 2.0, 3.0, 4.0])
        np.savez(f"{d}/b.npz", **bad)
        bad2 = dict(rec)
        bad2["float64|x|scalars"] = np.array([1.0 + 10 * TORCH_RTOL["float64"], 2.0, 3.0, 4.0])
        np.savez(f"{d}/c.npz", **bad2)
        ok = compare(f"{d}/a.npz", f"{d}/a.npz") == 0
        caught_ulp = compare(f"{d}/a.npz", f"{d}/b.npz") == 1
        caught_tol = compare(f"{d}/a.npz", f"{d}/c.npz") == 1
    print(f"selftest: identical passes {ok}, one ulp caught {caught_ulp}, torch 10x tol caught "
          f"{caught_tol}")
    return 0 if (ok and caught_ulp and caught_tol) else 1


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "record":
        record(sys.argv[2])
    elif cmd == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3]))
    elif cmd == "selftest":
        sys.exit(selftest())
    else:
        sys.exit(__doc__)
