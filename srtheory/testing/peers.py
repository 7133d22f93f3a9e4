"""Thin adapters that put srtheory's solvers and, when installed, the peers' under the conformance
suite's protocols.  None of the peers is a dependency; an adapter whose library is missing is
reported as skipped with the reason.

Eigen-solvers (``solver(matvec, v0) -> (eigval, eigvec)`` or a result object), each called as its
documentation shows, with its defaults unless the name says otherwise:

* ``srtheory spectral_radius``, ``srtheory lanczos``: :func:`srtheory.spectral_radius`,
  :func:`srtheory.lanczos`;
* ``srtheory power_iteration (paper rule)``: Algorithm 1 with the paper's stopping tests and
  ``tol = 1e-3`` -- shown to document what that rule certifies (little);
* ``scipy eigsh``: ``scipy.sparse.linalg.eigsh(LinearOperator, k=1, which="LM")``, the solver
  curvlinops documents for its operators (``to_scipy()``);
* ``PyHessian eigenvalues()``: ``hessian(model, criterion, data).eigenvalues()`` on a
  :class:`srtheory.torch.testing.QuadraticModel` whose loss Hessian is the problem's operator;
* ``hessian-eigenthings power_iteration_one`` / ``lanczos(k=1)`` / ``lanczos(k=1, max_iter=20)``
  on a ``LambdaOperator`` of the matvec.

HVPs (``hvp(loss_fn, params, v)`` on :func:`srtheory.torch.testing.hvp_problems`):
srtheory's three methods, PyHessian's ``hessian_vector_product``, hessian-eigenthings'
``HessianOperator`` and curvlinops' ``HessianLinearOperator``.
"""

from __future__ import annotations

import importlib
import warnings
from dataclasses import dataclass
from typing import Any

__all__ = ["Adapter", "eigensolver_adapters", "hvp_adapters", "peer_versions"]

#: import name -> distribution name of the peers
PEERS = {"pyhessian": "PyHessian", "hessian_eigenthings": "hessian-eigenthings",
         "curvlinops": "curvlinops-for-pytorch"}


@dataclass(frozen=True)
class Adapter:
    """A named callable under one of the suite's protocols, the array library it takes
    (``"numpy"`` or ``"torch"``), and why it is unavailable (``None`` when it is)."""

    name: str
    fn: Any
    library: str
    skipped: str | None = None


def peer_versions() -> dict[str, str | None]:
    """Installed version of each peer (``None`` when it is not importable)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for mod, dist in PEERS.items():
        try:
            importlib.import_module(mod)
            out[dist] = version(dist)
        except (ImportError, PackageNotFoundError):
            out[dist] = None
        except Exception:  # noqa: BLE001 -- a broken peer install is reported, not raised
            out[dist] = None
    return out


def eigensolver_adapters() -> list[Adapter]:
    """Every eigen-solver adapter (available or skipped)."""
    import srtheory

    out = [
        Adapter("srtheory spectral_radius", srtheory.spectral_radius, "numpy"),
        Adapter("srtheory lanczos", srtheory.lanczos, "numpy"),
        Adapter("srtheory power_iteration (paper rule, tol 1e-3)", srtheory.power_iteration, "numpy"),
        Adapter("scipy eigsh (k=1, which=LM)", _eigsh, "numpy"),
    ]
    torch_ok = _importable("torch")
    for mod, adapters in (
        ("pyhessian", [("PyHessian eigenvalues()", _pyhessian_eigenvalues)]),
        ("hessian_eigenthings", [
            ("hessian-eigenthings power_iteration_one", _he_power),
            ("hessian-eigenthings lanczos(k=1)", _he_lanczos),
            ("hessian-eigenthings lanczos(k=1, max_iter=20)", _he_lanczos20),
        ]),
    ):
        why = None if torch_ok and _importable(mod) else f"{PEERS[mod]} not installed"
        out += [Adapter(name, fn, "torch", why) for name, fn in adapters]
    return out


def hvp_adapters() -> list[Adapter]:
    """Every torch HVP adapter (available or skipped)."""
    if not _importable("torch"):
        return [Adapter("srtheory.torch.hvp", None, "torch", "torch not installed")]
    import srtheory.torch as srt

    out = [
        Adapter(f"srtheory.torch.hvp({m!r})", _srt_hvp(srt, m), "torch")
        for m in ("double_backward", "func", "fd")
    ]
    for mod, name, fn in (
        ("pyhessian", "PyHessian hessian_vector_product", _pyhessian_hvp),
        ("hessian_eigenthings", "hessian-eigenthings HessianOperator", _he_hvp),
        ("curvlinops", "curvlinops HessianLinearOperator", _curvlinops_hvp),
    ):
        out.append(Adapter(name, fn, "torch", None if _importable(mod) else f"{PEERS[mod]} not installed"))
    return out


# ---------------------------------------------------------------------------------------------
# private helpers: eigen-solvers
# ---------------------------------------------------------------------------------------------


def _importable(mod: str) -> bool:
    try:
        importlib.import_module(mod)
        return True
    except Exception:  # noqa: BLE001 -- ImportError, or a peer that fails while importing
        return False


def _eigsh(matvec, v0):
    from scipy.sparse.linalg import LinearOperator, eigsh

    n = v0.shape[0]
    op = LinearOperator((n, n), matvec=matvec, dtype=v0.dtype)
    w, V = eigsh(op, k=1, which="LM", v0=v0)
    return w[0], V[:, 0]


class _Isolated:
    """Run a peer without side effects: torch's global RNG forked and seeded, the default dtype
    set to the problem's (PyHessian draws its start vector with it), warnings silenced (peers emit
    some under ``filterwarnings = error``)."""

    def __init__(self, dtype, seed=0):
        self.dtype, self.seed = dtype, seed

    def __enter__(self):
        import torch

        self._rng = torch.random.fork_rng(devices=[])
        self._rng.__enter__()
        torch.manual_seed(self.seed)
        self._dtype = torch.get_default_dtype()
        torch.set_default_dtype(self.dtype)
        self._warn = warnings.catch_warnings()
        self._warn.__enter__()
        warnings.simplefilter("ignore")
        return self

    def __exit__(self, *exc):
        import torch

        torch.set_default_dtype(self._dtype)
        self._warn.__exit__(*exc)
        self._rng.__exit__(*exc)
        return False


def _pyhessian_eigenvalues(matvec, v0):
    from pyhessian import hessian

    from srtheory.torch.testing import QuadraticModel

    with _Isolated(v0.dtype):
        model = QuadraticModel(matvec, v0.numel(), dtype=v0.dtype)
        dummy = v0.new_zeros(1)
        h = hessian(model, lambda out, target: out, data=(dummy, dummy), cuda=False)
        vals, vecs = h.eigenvalues()
    return vals[0], vecs[0][0].detach()


def _he_operator(matvec, v0):
    import hessian_eigenthings as he

    return he.LambdaOperator(matvec, v0.numel(), device=v0.device, dtype=v0.dtype)


@dataclass(frozen=True)
class _Result:
    eigval: Any
    eigvec: Any
    residual: Any = None
    converged: Any = None


def _he_power(matvec, v0):
    import hessian_eigenthings as he

    with _Isolated(v0.dtype):
        lam, vec, res, _, conv = he.power_iteration_one(_he_operator(matvec, v0), seed=0)
    return _Result(lam, vec, res, conv)


def _he_lanczos(matvec, v0, **kw):
    import hessian_eigenthings as he

    with _Isolated(v0.dtype):
        r = he.lanczos(_he_operator(matvec, v0), k=1, seed=0, **kw)
    return _Result(r.eigenvalues[0], r.eigenvectors[0], r.residuals[0], r.converged[0])


def _he_lanczos20(matvec, v0):
    return _he_lanczos(matvec, v0, max_iter=min(20, v0.numel() - 1))


# ---------------------------------------------------------------------------------------------
# private helpers: HVPs
# ---------------------------------------------------------------------------------------------


def _srt_hvp(srt, method):
    def hvp(loss_fn, params, v):
        return srt.hvp(loss_fn, params, v, method=method)

    hvp.__name__ = f"srtheory.torch.hvp({method!r})"
    return hvp


def _split(v, params):
    out, i = [], 0
    for p in params:
        out.append(v[i : i + p.numel()].view_as(p))
        i += p.numel()
    return out


def _pyhessian_hvp(loss_fn, params, v):
    import torch
    from pyhessian.utils import hessian_vector_product

    with torch.enable_grad():
        g = torch.autograd.grad(loss_fn(), params, create_graph=True)
    return hessian_vector_product(list(g), list(params), _split(v, params))


def _he_hvp(loss_fn, params, v):
    import hessian_eigenthings as he

    op = he.HessianOperator(loss_fn.model, [(loss_fn.inputs, loss_fn.target)],
                            he.supervised_loss(loss_fn.criterion))
    return op.matvec(v)


def _curvlinops_hvp(loss_fn, params, v):
    from curvlinops import HessianLinearOperator

    op = HessianLinearOperator(loss_fn.model, loss_fn.criterion, list(params),
                               [(loss_fn.inputs, loss_fn.target)], check_deterministic=False)
    return op @ v

