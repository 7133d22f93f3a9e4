"""``mlp_{tanh,sigmoid,softplus}_{regression,classification}``: tiny MLPs on synthetic data.

One-hidden-layer 2-3-1 nets (the MLP of :mod:`srtheory.mlp`, 13 parameters ``[W1, b1, w2, b2]``
in its flat layout) on seeded data from a teacher of the same shape: regression (squared error, no
noise, so the teacher is a global minimum with f = 0 and a stored rho) and classification
(logistic loss on the teacher's signs), each a
:class:`~srtheory.objectives.base.StochasticObjective` with minibatches and a validation set.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from srtheory.mlp import mlp_forward, mlp_loss, mlp_spec
from srtheory.objectives.base import KnownMinimum, StochasticObjective, _frozen, _register

__all__: list[str] = []


# ---------------------------------------------------------------- tiny MLPs on synthetic data

_MLP_SIZES = (2, 3, 1)
_MLP_DIM = mlp_spec(_MLP_SIZES).n_params  # W1, b1, w2, b2 = 13


def _mlp_forward(x, X, act):
    """The network's scalar output per row of ``X`` (shape ``(N,)``)."""
    return mlp_forward(mlp_spec(_MLP_SIZES, activation=act), x, X)[:, 0]


# Offline values (computed once with srtheory.oracle.rho at the teacher weights and checked by
# tests/test_objectives.py against the dense oracle): rho of the regression loss at its f = 0 minimum.
_MLP_TEACHER_RHO = {"tanh": 1.8944988393475335, "sigmoid": 2.1736136994992945,
                    "softplus": 7.470646790173776}
_MLP_RHO_PRECISION = 1e-10  # relative; eigh rounding of a 13 x 13 Hessian is ~1e-15


def _make_mlp(act: str, task: str, *, seed: int = 0, n_train: int = 64, n_val: int = 64):
    rng = np.random.default_rng([seed, {"tanh": 1, "sigmoid": 2, "softplus": 3}[act],
                                 {"regression": 1, "classification": 2}[task]])
    teacher = rng.standard_normal(_MLP_DIM)
    X = rng.standard_normal((n_train + n_val, _MLP_SIZES[0]))
    z = np.asarray(_mlp_forward(teacher, X, act), dtype=float)
    if task == "regression":
        y = z
    else:
        y = np.where(z - np.median(z) >= 0, 1.0, -1.0)  # balanced classes, labels +-1
    X_tr, y_tr, X_va, y_va = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    x0 = 0.5 * rng.standard_normal(_MLP_DIM)
    for arr in (X_tr, y_tr, X_va, y_va, teacher):
        arr.setflags(write=False)

    spec = mlp_spec(_MLP_SIZES, activation=act, loss="squared" if task == "regression" else "logistic")

    def data_loss(x, Xb, yb):
        return mlp_loss(spec, x, Xb, yb[:, None] if task == "regression" else yb)

    def loss(x, batch):
        idx = np.asarray(batch)
        if idx.ndim != 1 or idx.size == 0:
            raise ValueError(f"batch must be a non-empty 1-D index array, got shape {idx.shape}")
        return data_loss(x, X_tr[idx], y_tr[idx])

    def f(x):
        return data_loss(x, X_tr, y_tr)

    def val_loss(x):
        return data_loss(x, X_va, y_va)

    def accuracy(x, split: str = "val"):
        Xs, ys = (X_va, y_va) if split == "val" else (X_tr, y_tr)
        if task == "regression":
            raise ValueError("accuracy is defined for the classification MLPs only")
        return float(np.mean(np.sign(np.asarray(_mlp_forward(x, Xs, act))) == ys))

    minima = ()
    if task == "regression":
        minima = (KnownMinimum(teacher, 0.0, _MLP_TEACHER_RHO[act], None, "teacher", _MLP_RHO_PRECISION),)
    return StochasticObjective(
        name=f"mlp_{act}_{task}", f=f, dim=_MLP_DIM, x0=_frozen(x0), minima=minima,
        notes=f"{_MLP_SIZES[0]}-{_MLP_SIZES[1]}-1 {act} net, {n_train} training / {n_val} validation samples "
              f"from seed {seed}; " + ("squared error on a same-shape teacher (f = 0 at the teacher)"
                                       if task == "regression" else "logistic loss on teacher signs"),
        extras=MappingProxyType({"X": X_tr, "y": y_tr, "X_val": X_va, "y_val": y_va}),
        loss=loss, n_samples=n_train, val_loss=val_loss, task=task,
        accuracy=accuracy if task == "classification" else None,
    )


for _act in ("tanh", "sigmoid", "softplus"):
    for _task in ("regression", "classification"):
        _register(_make_mlp(_act, _task))
