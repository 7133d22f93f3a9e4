"""The eigen-solvers' array operations on float64 NumPy arrays (the reference backend).

The names and contracts are listed in :mod:`srtheory.backend`.  The Lanczos basis is stored as the
columns of an ``n x m`` array.
"""

from __future__ import annotations

import numpy as np

from srtheory._validation import as_vector, finite_output
from srtheory.operators import as_matvec

name = "numpy"


def prepare(A, v0, /):
    """``(matvec, v, n)``: ``A`` as a matvec (callable, dense/sparse matrix, LinearOperator; see
    :func:`srtheory.operators.as_matvec`) and ``v0`` as a finite nonzero float64 copy."""
    mv, n = as_matvec(A)
    v = as_vector(v0, "v0", n=n, nonzero=True)
    return mv, v, v.size


def checked(y, what: str, n: int, like=None, /):
    return finite_output(y, what, n=n)


def copy(x, /):
    return x.copy()


def dot(x, y, /) -> float:
    return float(x @ y)


def norm(x, /) -> float:
    return float(np.linalg.norm(x))


def max_abs(x, /) -> float:
    return float(np.max(np.abs(x))) if x.size else 0.0


def eps(x, /) -> float:
    return float(np.finfo(np.float64).eps)


def normalize(x, /):
    return x / np.linalg.norm(x)


def sub_scaled(w, v, a: float, /):
    return w - a * v


def export(x, /):
    return np.array(x, dtype=np.float64)


def stack_columns(xs, /):
    return np.column_stack(xs)


def to_host(M, /):
    return M


def from_host(s, like=None, /):
    return s


def basis_new(n: int, cap: int, like=None, /):
    return np.zeros((n, cap))


def basis_capacity(Q, /) -> int:
    return Q.shape[1]


def basis_grow(Q, extra: int, /):
    return np.concatenate([Q, np.zeros((Q.shape[0], extra))], axis=1)


def basis_column(Q, k: int, /):
    return Q[:, k]


def basis_set(Q, k: int, x, /) -> None:
    Q[:, k] = x


def basis_project_out(Q, k: int, w, /):
    """``w - Q_k Q_k^T w`` with ``Q_k`` the first ``k`` basis vectors."""
    return w - Q[:, :k] @ (Q[:, :k].T @ w)


def basis_combine(Q, k: int, s, /):
    """``Q_k s`` for a float64 NumPy vector ``s`` of length ``k``."""
    return Q[:, :k] @ s
