"""``mlp_{tanh,sigmoid,softplus}_{regression,classification}``: tiny MLPs on synthetic data.

One-hidden-layer 2-3-1 nets (13 parameters ``[W1, b1, w2, b2]``) on seeded data from a teacher of
the same shape: regression (squared error, no noise, so the teacher is a global minimum with
f = 0 and a stored rho) and classification (logistic loss on the teacher's signs), each a
:class:`~srtheory.objectives.base.StochasticObjective` with minibatches and a validation set.
"""

from __future__ import annotations

from types import MappingProxyType

import autograd.numpy as anp
import numpy as np

from srtheory.objectives.base import KnownMinimum, StochasticObjective, _frozen, _register

__all__: list[str] = []


# ---------------------------------------------------------------- tiny MLPs on synthetic data

_ACTS = {
    "tanh": anp.tanh,
    "sigmoid": lambda z: 0.5 * (anp.tanh(0.5 * z) + 1.0),
    "softplus": lambda z: anp.logaddexp(0.0, z),
}
_MLP_IN, _MLP_HIDDEN = 2, 3
_MLP_DIM = _MLP_IN * _MLP_HIDDEN + _MLP_HIDDEN + _MLP_HIDDEN + 1  # W1, b1, w2, b2 = 13


def _mlp_forward(x, X, act):
    n_w1 = _MLP_IN * _MLP_HIDDEN
    W1 = anp.reshape(x[:n_w1], (_MLP_HIDDEN, _MLP_IN))
    b1 = x[n_w1:n_w1 + _MLP_HIDDEN]
    w2 = x[n_w1 + _MLP_HIDDEN:n_w1 + 2 * _MLP_HIDDEN]
    return anp.dot(_ACTS[act](anp.dot(X, W1.T) + b1), w2) + x[-1]


# Offline values (computed once with srtheory.oracle.rho at the teacher weights and checked by
# tests/test_objectives.py against the dense oracle): rho of the regression loss at its f = 0 minimum.
_MLP_TEACHER_RHO = {"tanh": 1.8944988393475335, "sigmoid": 2.1736136994992945,
                    "softplus": 7.470646790173776}
_MLP_RHO_PRECISION = 1e-10  # relative; eigh rounding of a 13 x 13 Hessian is ~1e-15


def _make_mlp(act: str, task: str, *, seed: int = 0, n_train: int = 64, n_val: int = 64):
    rng = np.random.default_rng([seed, {"tanh": 1, "sigmoid": 2, "softplus": 3}[act],
                                 {"regression": 1, "classification": 2}[task]])
    teacher = rng.standard_normal(_MLP_DIM)
    X = rng.standard_normal((n_train + n_val, _MLP_IN))
    z = np.asarray(_mlp_forward(teacher, X, act), dtype=float)
    if task == "regression":
        y = z
    else:
        y = np.where(z - np.median(z) >= 0, 1.0, -1.0)  # balanced classes, labels +-1
    X_tr, y_tr, X_va, y_va = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    x0 = 0.5 * rng.standard_normal(_MLP_DIM)
    for arr in (X_tr, y_tr, X_va, y_va, teacher):
        arr.setflags(write=False)

    def data_loss(x, Xb, yb):
        out = _mlp_forward(x, Xb, act)
        if task == "regression":
            return 0.5 * anp.mean((out - yb) ** 2)
        return anp.mean(anp.logaddexp(0.0, -yb * out))

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
        notes=f"{_MLP_IN}-{_MLP_HIDDEN}-1 {act} net, {n_train} training / {n_val} validation samples "
              f"from seed {seed}; " + ("squared error on a same-shape teacher (f = 0 at the teacher)"
                                       if task == "regression" else "logistic loss on teacher signs"),
        extras=MappingProxyType({"X": X_tr, "y": y_tr, "X_val": X_va, "y_val": y_va}),
        loss=loss, n_samples=n_train, val_loss=val_loss, task=task,
        accuracy=accuracy if task == "classification" else None,
    )


for _act in ("tanh", "sigmoid", "softplus"):
    for _task in ("regression", "classification"):
        _register(_make_mlp(_act, _task))
