"""The one SRR step (Algorithm 2 steps 2.2-2.4): the decision table, the direction, the warm start,
on NumPy arrays and torch tensors; regularized_grad is the training step's direction; the
finite-difference step rule exists once."""

from typing import NamedTuple

import numpy as np
import pytest

from srtheory import objectives as O
from srtheory.curvature import default_fd_step, fd_step, gradient, hvp_operator
from srtheory.regularizer import regularized_grad
from srtheory.spectral import EigConfig, spectral_radius
from srtheory.srr_step import SRRConfig, _solve_and_step, decide, srr_step


class Eig(NamedTuple):
    rho: float
    eigval: float
    eigvec: np.ndarray
    converged: bool


@pytest.mark.parametrize(
    ("eigval", "converged", "mu", "K", "options", "expected"),
    [
        # (failed, skipped, penalized, sign, reset)
        (2.0, True, 0.1, 1.0, {}, (False, False, True, 1.0, False)),
        (-2.0, True, 0.1, 1.0, {}, (False, False, True, -1.0, False)),               # Lemma A's sign
        (-2.0, True, 0.1, 1.0, {"code_faithful": True}, (False, False, True, 1.0, False)),
        (2.0, True, 0.1, 2.0, {}, (False, False, False, 1.0, False)),                # rho <= K
        (2.0, True, 0.0, 0.0, {}, (False, False, False, 1.0, False)),                # mu = 0
        (2.0, False, 0.1, 0.0, {}, (True, True, False, 1.0, True)),                  # Alg. 1 step 4
        (2.0, False, 0.1, 0.0, {"reset_on_failure": False}, (True, True, False, 1.0, False)),
        (-2.0, False, 0.1, 0.0, {"skip_nonconverged": False}, (True, False, True, -1.0, False)),
    ],
)
def test_decision_table(eigval, converged, mu, K, options, expected):
    d = decide(abs(eigval), eigval, mu=mu, config=SRRConfig(K=K, **options), failed=not converged)
    assert tuple(d) == expected


def _backends():
    yield "numpy", np.asarray
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is an optional extra
        return
    yield "torch", lambda a: torch.tensor(a, dtype=torch.float64)


@pytest.mark.parametrize("backend", [b for b, _ in _backends()])
def test_step_direction_and_warm_start_on_both_backends(backend):
    arr = dict(_backends())[backend]
    g, t, v, v0 = (arr(a) for a in ([1.0, -2.0, 0.5], [0.3, 0.1, -4.0], [0.6, 0.8, 0.0], [1.0, 0.0, 0.0]))
    calls = []

    def third():
        calls.append(1)
        return t

    cfg = SRRConfig(K=0.5)
    # penalized, negative dominant eigenvalue: p = g - mu * third; next start = a copy of eigvec
    s = srr_step(g, Eig(2.0, -2.0, v, True), third, mu=0.25, config=cfg, restart=lambda: v0)
    expected = np.array([1.0, -2.0, 0.5]) - 0.25 * np.array([0.3, 0.1, -4.0])
    np.testing.assert_allclose(np.asarray(s.direction), expected, rtol=1e-15)
    assert s.decision.penalized and calls == [1]
    assert s.next_start is not v and np.array_equal(np.asarray(s.next_start), np.asarray(v))
    # rho <= K: the third-order term is never asked for and the direction is g itself
    s = srr_step(g, Eig(0.4, 0.4, v, True), third, mu=0.25, config=cfg, restart=lambda: v0)
    assert s.direction is g and calls == [1]
    # failed solve: skipped, restarted from v0; without reset the returned vector is kept
    s = srr_step(g, Eig(2.0, 2.0, v, False), third, mu=0.25, config=cfg, restart=lambda: v0)
    assert s.decision.skipped and s.direction is g and s.next_start is v0 and calls == [1]
    s = srr_step(g, Eig(2.0, 2.0, v, False), third, mu=0.25,
                 config=SRRConfig(K=0.5, reset_on_failure=False), restart=lambda: v0)
    assert np.array_equal(np.asarray(s.next_start), np.asarray(v))
    # a kept solve takes the caller's next vector when given (the torch optimizer's extra power step)
    s = srr_step(g, Eig(2.0, 2.0, v, True), third, mu=0.25, config=cfg, restart=lambda: v0,
                 keep=lambda: v0)
    assert s.next_start is v0


def test_regularized_grad_is_the_training_step_direction():
    """minimize/srr_train's step and the public regularized_grad give the same bits."""
    obj = O.get("sharp_flat_2d")
    x = np.array([1.2, 0.3])
    v0 = np.full(2, 2**-0.5)
    for cfg in (SRRConfig(mu=0.3), SRRConfig(mu=0.3, derivative="fd"),
                SRRConfig(mu=0.3, code_faithful=True, eig=EigConfig(method="lanczos", tol=1e-10))):
        g = np.asarray(gradient(obj.f, x), dtype=np.float64)
        step = _solve_and_step(obj.f, x, g, v0, v0, mu=cfg.mu, config=cfg)
        assert step.decision.penalized
        rg = regularized_grad(obj.f, x, mu=cfg.mu, K=cfg.K, eig=step.eig, derivative=cfg.derivative,
                              code_faithful=cfg.code_faithful)
        assert np.array_equal(rg, step.direction)
    # negative control: another mu gives another direction
    eig = spectral_radius(hvp_operator(obj.f, x), v0, tol=1e-12)
    assert not np.array_equal(regularized_grad(obj.f, x, mu=0.3, K=0.0, eig=eig),
                              regularized_grad(obj.f, x, mu=0.31, K=0.0, eig=eig))


def test_one_fd_step_rule_for_both_backends():
    x, v = np.array([3.0, 4.0, 1e-3]), np.array([0.1, 2.0, 0.3])
    for order in (1, 2):
        u = np.finfo(np.float64).eps
        assert default_fd_step(x, v, order=order) == fd_step(
            float(np.linalg.norm(x)), float(np.linalg.norm(v)), order=order, unit_roundoff=u)
        assert fd_step(0.5, 2.0, order=order, unit_roundoff=u) == u ** (1 / (order + 2)) / 2.0
    torch = pytest.importorskip("torch")
    from srtheory.torch import default_fd_step as torch_fd_step

    w = torch.nn.Parameter(torch.tensor(x))
    for order in (1, 2):
        assert torch_fd_step([w], torch.tensor(v), order=order) == default_fd_step(x, v, order=order)
        assert torch_fd_step([w], torch.tensor(v), order=order, dtype=torch.float32) == default_fd_step(
            x, v, order=order, dtype=np.float32)
