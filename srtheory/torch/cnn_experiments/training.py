"""Training one method on one digit set with the paper's protocol (SRR_NOTES §6, §8).

:func:`train_method` runs Algorithm 2's outer loop for one of ``base`` / ``SAM`` / ``SRR``: epochs
of minibatch steps with the torch optimizer (Adam, alone, inside :class:`~srtheory.torch.sam.SAM`,
or inside :class:`~srtheory.torch.SRR`), the validation accuracy after every epoch (ties broken by
the validation loss), and the weights of the best-validation epoch kept.  At the kept weights ρ is
the spectral radius of the full training-set Hessian (:func:`rho_full`, Lanczos, with its
``converged`` flag).  Optionally ρ is traced per epoch on a fixed training subset (the plot of ρ
over training).  Training is in float32.
"""

from __future__ import annotations

import copy
import time
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from srtheory.experiments.datasets import Dataset
from srtheory.spectral import EigConfig
from srtheory.torch.cnn_experiments.config import VARIANTS, CnnConfig
from srtheory.torch.cnn_experiments.model import as_images, digit_cnn, predictor
from srtheory.torch.data import data_hvp_operator
from srtheory.torch.optim import SRR, SRRConfig
from srtheory.torch.sam import SAM
from srtheory.torch.spectral import spectral_radius

__all__ = ["TrainedCnn", "rho_full", "train_method"]


class TrainedCnn(NamedTuple):
    """The selected (best-validation) model of one run.

    ``rho`` / ``rho_converged`` / ``rho_residual``: Lanczos on the full training-set Hessian at the
    kept weights; ``rho_trace``: ρ on the trace subset after each epoch (empty when not traced);
    ``srr_penalized`` / ``srr_steps``: steps on which SRR applied its penalty (ρ_B > K), of all."""

    model: nn.Module
    predict: object
    rho: float
    rho_converged: bool
    rho_residual: float
    best_epoch: int
    val_accuracy: float
    rho_trace: tuple
    srr_penalized: int
    srr_steps: int
    seconds: float


def rho_full(model: nn.Module, X, y, /, *, batch: int, tol: float, max_iter: int, v0=None):
    """ρ of the Hessian of the mean cross-entropy over all of ``(X, y)`` at the model's weights
    (:func:`srtheory.torch.data.data_hvp_operator` over batches of ``batch``, then
    :func:`srtheory.torch.spectral.spectral_radius` by Lanczos).  Returns the ``EigResult``."""
    Xt, yt = as_images(X), torch.as_tensor(y, dtype=torch.long)
    batches = [(Xt[s : s + batch], yt[s : s + batch]) for s in range(0, len(yt), batch)]
    matvec = data_hvp_operator(model, nn.CrossEntropyLoss(), batches)
    n = sum(p.numel() for p in model.parameters())
    if v0 is None:
        v0 = torch.full((n,), n**-0.5, dtype=torch.float32)
    return spectral_radius(matvec, v0, method="lanczos", tol=tol, max_iter=max_iter)


def train_method(data: Dataset, variant: str, method: str, /, *, seed: int, config: CnnConfig,
                 trace: bool = False) -> TrainedCnn:
    """Train ``method`` (``"base"``, ``"SAM"`` or ``"SRR"``) on the ``variant`` network and keep
    the best-validation epoch (Algorithm 2's outer loop).  Initial weights and batch order depend
    on ``seed`` only, so the methods of one seed and variant are paired."""
    activation, derivative = VARIANTS[variant]
    model = digit_cnn(activation=activation, channels=config.channels, seed=seed)
    params = list(model.parameters())
    if method == "base":
        opt = torch.optim.Adam(params, lr=config.lr)
    elif method == "SAM":
        opt = SAM(params, torch.optim.Adam, rho=config.sam_radius, lr=config.lr)
    elif method == "SRR":
        srr = SRRConfig(mu=config.mu, K=config.K, derivative=derivative,
                        eig=EigConfig(max_iter=config.power_steps), skip_nonconverged=False)
        opt = SRR(params, torch.optim.Adam, srr=srr, lr=config.lr, model=model)
    else:
        raise ValueError(f"unknown method {method!r}; expected one of 'base', 'SAM', 'SRR'")
    Xtr, ytr = as_images(data.X_train), torch.as_tensor(data.y_train, dtype=torch.long)
    Xva, yva = as_images(data.X_val), torch.as_tensor(data.y_val, dtype=torch.long)
    order = torch.Generator().manual_seed(int(seed))
    trace_X, trace_y = data.X_train[: config.trace_points], data.y_train[: config.trace_points]
    t0 = time.perf_counter()
    best_score, best_state, best_epoch, best_val = -float("inf"), None, -1, 0.0
    rho_trace, v_trace = [], None
    for epoch in range(config.epochs):
        perm = torch.randperm(len(ytr), generator=order)
        for s in range(0, len(ytr), config.batch_size):
            idx = perm[s : s + config.batch_size]
            xb, yb = Xtr[idx], ytr[idx]
            _step(opt, model, xb, yb, method, derivative)
        with torch.no_grad():
            logits = model(Xva)
            val_acc = float((logits.argmax(dim=1) == yva).float().mean())
            val_loss = float(F.cross_entropy(logits, yva))
        # validation accuracy, ties broken by the validation loss (1e-6 * loss < one point of accuracy)
        score = val_acc - 1e-6 * min(val_loss, 1e3)
        if score > best_score:
            best_score, best_state, best_epoch, best_val = score, copy.deepcopy(model.state_dict()), epoch, val_acc
        if trace:
            res = rho_full(model, trace_X, trace_y, batch=config.rho_batch, tol=config.trace_tol,
                           max_iter=config.trace_max_iter, v0=v_trace)
            rho_trace.append(float(res.rho))
            v_trace = res.eigvec
    model.load_state_dict(best_state)
    res = rho_full(model, data.X_train, data.y_train, batch=config.rho_batch, tol=config.rho_tol,
                   max_iter=config.rho_max_iter)
    counters = getattr(opt, "counters", None)
    return TrainedCnn(model, predictor(model), float(res.rho), bool(res.converged), float(res.residual),
                      best_epoch, best_val, tuple(rho_trace),
                      int(counters.penalized) if counters else 0, int(counters.steps) if counters else 0,
                      time.perf_counter() - t0)


def _step(opt, model, xb, yb, method, derivative):
    """One minibatch step of the method, with the closure its optimizer's contract asks for."""
    if method == "SRR" and derivative == "exact":
        opt.step(lambda: F.cross_entropy(model(xb), yb))  # the loss with its graph, no backward
        return

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        return loss

    if method == "base":
        closure()
        opt.step()
    else:
        opt.step(closure)
