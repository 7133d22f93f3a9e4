"""Contracts of the SRR step's bookkeeping that the other tests left open (found by mutation
testing, MUTATION.md): the matvec count is a total over the run, and the one-line progress
display."""

from __future__ import annotations

import numpy as np

from srtheory import objectives as O
from srtheory.algorithms import minimize
from srtheory.optimizers import sgd
from srtheory.srr_step import Monitor, SRRConfig
from srtheory.training import srr_train


def quadratic(x):
    return 0.5 * (3.0 * x[0] ** 2 + x[1] ** 2)


def test_n_hvp_is_the_total_over_all_eigen_solves():
    """Every SRR iteration runs one eigen-solve (>= 1 matvec), so one more iteration adds at least
    one matvec to ``n_hvp``; the warm-started second solve on a constant Hessian is cheaper than
    the cold first one, so a count of the last solve only would go down."""
    cfg = SRRConfig(mu=0.1)
    runs = [minimize(quadratic, [1.0, 1.0], method="srr", lr=0.01, srr=cfg, max_iter=k, gtol=0.0)
            for k in (1, 2)]
    assert runs[0].n_hvp >= 1 and runs[1].n_hvp >= runs[0].n_hvp + 1


def test_progress_is_one_line_per_epoch_on_stderr(capsys):
    """``Monitor(progress=True)``: each update returns to the line start and pads to 80 columns
    (so a shorter update hides a longer one), is cut at 120 columns, and each epoch's summary ends
    the line."""
    obj = O.get("mlp_tanh_regression")
    srr_train(obj, rng=np.random.default_rng(0), srr=SRRConfig(mu=0.0), optimizer=sgd(0.1),
              epochs=2, batch_size=64, monitor=Monitor(progress=True))
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.split("\n")
    assert lines[-1] == "" and len(lines) == 3  # two epoch summaries, each ending its line
    for epoch, line in enumerate(lines[:-1], start=1):
        updates = line.split("\r")
        assert updates[0] == "" and len(updates) >= 3  # batch updates, then the summary
        assert all(80 <= len(u) <= 120 for u in updates[1:])
        assert updates[1].startswith(f"[srr_train] epoch {epoch}/2 batch 1/")
        assert updates[-1].startswith(f"[srr_train] epoch {epoch}/2 f=") and " rho=" in updates[-1]


def test_progress_line_is_padded_to_80_and_cut_at_120_columns(capsys):
    from srtheory.srr_step import _progress

    _progress("short")
    _progress("y" * 200, end=True)
    assert capsys.readouterr().err == "\rshort" + " " * 75 + "\r" + "y" * 120 + "\n"


def test_flips_are_counted_among_the_regularized_steps_only():
    """A flip is counted only on a penalized step with a converged solve, so the warning's
    "F of N regularized steps" has ``F <= N``; above ``K`` (no penalty) the same wandering
    eigenvector at the isotropic bottom is never counted."""
    import re
    import warnings

    from srtheory.spectral import EigConfig
    from srtheory.srr_step import ChatteringWarning

    lanczos = EigConfig(method="lanczos", tol=1e-10)
    obj = O.get("isotropic_cubic")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = minimize(obj.f, obj.x0, method="srr", srr=SRRConfig(mu=0.1, eig=lanczos), lr=0.1,
                     max_iter=60)
    msgs = [str(w.message) for w in caught if issubclass(w.category, ChatteringWarning)]
    assert r.chattering and len(msgs) == 1
    found = re.search(r"flipped at (\d+) of (\d+) regularized", msgs[0])
    flips, regularized = int(found[1]), int(found[2])
    assert flips == r.n_eigvec_flips and 3 <= flips <= regularized <= 60
    quiet = minimize(obj.f, obj.x0, method="srr", srr=SRRConfig(mu=0.1, K=1e6, eig=lanczos),
                     lr=0.1, max_iter=60)
    assert quiet.n_third == 0 and quiet.n_eigvec_flips == 0 and not quiet.chattering


def _step(v, *, penalized=True, converged=True, matvecs=5, skipped=False):
    from types import SimpleNamespace

    from srtheory.srr_step import SRRDecision, SRRStep

    eig = SimpleNamespace(n_matvecs=matvecs, converged=converged, eigvec=v)
    d = SRRDecision(not converged, skipped, penalized and not skipped, 1.0, skipped)
    return SRRStep(None, eig, d, np.asarray(v, dtype=float))


def test_chattering_detector_counts_flips_between_regularized_converged_steps_only():
    """The module's rule: a flip is an eigenvector turned by more than ``arccos(chatter_cos)``
    against the last *converged* one, counted on penalized steps with a converged solve; chattering
    needs ``chatter_min`` flips that are at least 10 % of those steps."""
    from srtheory.srr_step import _Tally

    e1, e2 = [1.0, 0.0], [0.0, 1.0]
    t = _Tally(chatter_cos=0.5)
    for i, v in enumerate([e1, e2, e1, e2]):  # converged but not penalized: never counted
        t.record(_step(v, penalized=False), i)
    assert t.flips == [] and t.n_reg == 0 and t.n_hvp == 20 and t.n_third == 0
    t = _Tally(chatter_cos=0.5)
    for i, v in enumerate([e1, e2, e2, e1]):  # penalized and converged: flips at 1 and 3
        t.record(_step(v), i)
    assert t.flips == [1, 3] and t.n_reg == 4 and t.n_third == 4
    assert t.chattering(2) and not t.chattering(3)
    t.record(_step(e2, converged=False), 4)  # an unconverged solve breaks the chain ...
    t.record(_step(e1), 5)                   # ... so this turn is not compared with anything
    assert t.flips == [1, 3] and t.n_reg == 5 and t.n_fail == 1 and t.n_hvp == 30
    t.record(_step([0.6, 0.8]), 6)  # cos = 0.6 >= 0.5: no flip
    assert t.flips == [1, 3]
    t.record(_step([1.0, 0.0]), 7)  # cos = 0.6 against the last one: no flip either
    t.record(_step([0.5, 0.75**0.5]), 8)  # turned by exactly arccos(0.5): "more than" is not met
    t.record(_step([0.6, 0.8]), 9)
    assert t.flips == [1, 3] and t.n_skipped == 0
    t.record(_step([0.6, 0.8], converged=False, skipped=True), 10)
    t.record(_step([0.6, 0.8], converged=False, skipped=True), 11)
    assert t.n_skipped == 2 and t.n_fail == 3 and t.n_reg == 9
    for i in range(12, 22):  # 2 flips among 19 regularized steps: above the 10 % rule
        t.record(_step([0.6, 0.8]), i)
    assert t.n_reg == 19 and t.chattering(2)
    t.record(_step([0.6, 0.8]), 22)  # 2 of 20 is exactly 10 %: still chattering
    assert t.n_reg == 20 and t.chattering(2)
    t.record(_step([0.6, 0.8]), 23)  # 2 of 21 is below
    assert t.n_reg == 21 and not t.chattering(2)


def test_the_step_uses_the_configured_derivative_and_step_for_both_terms():
    """``SRRConfig.derivative`` and ``eps`` reach both the eigen-solve's ``H v`` and the
    third-order term: the step equals the one assembled by hand from ``hvp_operator`` and
    ``eigenvalue_grad`` with those options, bit for bit, and a crude ``eps`` changes both."""
    from srtheory.curvature import gradient, hvp_operator
    from srtheory.eigengrad import eigenvalue_grad
    from srtheory.spectral import EigConfig, eig_solve
    from srtheory.srr_step import _solve_and_step

    obj = O.get("sharp_flat_2d")
    x, v0 = np.array([1.2, 0.3]), np.full(2, 2**-0.5)
    g = gradient(obj.f, x)
    eig_cfg = EigConfig(method="lanczos", tol=1e-10)
    steps = {}
    for derivative, eps in (("exact", None), ("fd", None), ("fd", 0.05)):
        cfg = SRRConfig(mu=0.3, derivative=derivative, eps=eps, eig=eig_cfg)
        step = _solve_and_step(obj.f, x, g, v0, v0, mu=0.3, config=cfg)
        eig = eig_solve(hvp_operator(obj.f, x, method=derivative, eps=eps), v0, eig_cfg)
        assert step.eig.eigval == eig.eigval and np.array_equal(step.eig.eigvec, eig.eigvec)
        third = eigenvalue_grad(obj.f, x, eig, method=derivative, eps=eps)
        assert np.array_equal(step.direction, g + (0.3 * step.decision.sign) * third)
        steps[derivative, eps] = step
    eigvals = {k: s.eig.eigval for k, s in steps.items()}
    assert len(set(eigvals.values())) == 3  # three operators, three (close) answers
    assert not np.array_equal(steps["fd", None].direction, steps["fd", 0.05].direction)


def test_the_direction_is_written_into_out_when_given():
    """NumPy and torch: with ``out`` the penalized direction is written there and returned; without
    it a new array/tensor is made and ``grad`` is left alone."""
    from types import SimpleNamespace

    from srtheory.srr_step import srr_step

    backends = [np.array]
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is an optional extra
        pass
    else:
        backends.append(lambda a: torch.tensor(a, dtype=torch.float64))
    for arr in backends:
        g, t, v = arr([1.0, -2.0]), arr([0.5, 0.25]), arr([0.6, 0.8])
        eig = SimpleNamespace(rho=2.0, eigval=2.0, eigvec=v, converged=True)
        out = arr([0.0, 0.0])
        third, restart = (lambda t=t: t), (lambda v=v: v)
        s = srr_step(g, eig, third, mu=0.5, config=SRRConfig(), restart=restart, out=out)
        assert s.direction is out and np.array_equal(np.asarray(out), [1.25, -1.875])
        s = srr_step(g, eig, third, mu=0.5, config=SRRConfig(), restart=restart)
        assert s.direction is not g and np.array_equal(np.asarray(s.direction), [1.25, -1.875])
        assert np.array_equal(np.asarray(g), [1.0, -2.0])
        assert np.array_equal(np.asarray(out), [1.25, -1.875])  # the first result is untouched


def test_third_scale_multiplies_the_third_order_term():
    """``third()`` may hand over ``grad^3 f[v, v, .] / third_scale`` (the torch fd pass gives
    ``eps^2`` times the term): the step multiplies it back."""
    from types import SimpleNamespace

    from srtheory.srr_step import srr_step

    g, t, v = np.array([1.0, -2.0]), np.array([0.5, 0.25]), np.array([0.6, 0.8])
    eig = SimpleNamespace(rho=2.0, eigval=-2.0, eigvec=v, converged=True)
    s = srr_step(g, eig, lambda: t, mu=0.5, config=SRRConfig(), restart=lambda: v, third_scale=4.0)
    assert np.array_equal(s.direction, g - 0.5 * 4.0 * t)


def test_start_vector_options():
    """``v0``: ``None`` the generic start, ``"paper"`` the paper's ``1/sqrt(n)``, or a nonzero
    vector of the model's length, normalised; anything else is refused, naming ``v0``."""
    import pytest

    from srtheory.spectral import generic_start
    from srtheory.srr_step import _start

    assert np.array_equal(_start(None, 3), generic_start(3))
    assert np.array_equal(_start("paper", 4), np.full(4, 0.5))
    assert np.array_equal(_start([3.0, 4.0], 2), [0.6, 0.8])
    with pytest.raises(ValueError, match=r"^v0 must be None, 'paper' or a vector, got 'Paper'$"):
        _start("Paper", 2)
    with pytest.raises(ValueError, match=r"^v0 must have length 2, got length 3$"):
        _start([1.0, 2.0, 3.0], 2)
    with pytest.raises(ValueError, match=r"^v0 is the zero vector"):
        _start([0.0, 0.0], 2)
    # the public entry points take it as the first solve's start (normalised)
    runs = [minimize(quadratic, [1.0, 1.0], method="srr", lr=0.01, srr=SRRConfig(mu=0.1),
                     max_iter=3, v0=v) for v in ([3.0, 4.0], [0.6, 0.8])]
    assert np.array_equal(runs[0].x, runs[1].x) and runs[0].n_hvp == runs[1].n_hvp


def test_a_zero_eigenvalue_takes_the_positive_sign():
    """``decide``'s sign is ``sign(lambda)`` with ``+1`` for ``lambda >= 0`` (``-0.0`` included),
    ``-1`` only for ``lambda < 0``."""
    from srtheory.srr_step import SRRConfig, decide

    cfg = SRRConfig(mu=1.0, K=0.0)
    assert decide(1.0, 0.0, mu=1.0, config=cfg).sign == 1.0
    assert decide(1.0, -0.0, mu=1.0, config=cfg).sign == 1.0
    assert decide(1.0, -1e-300, mu=1.0, config=cfg).sign == -1.0
