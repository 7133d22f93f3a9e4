# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 8. Checking your own backend with srtheory
#
# srtheory is meant to be the correctness oracle for faster code.  `srtheory.testing` ships what
# its own tests use to judge a solver:
#
# | tool | what it gives |
# |---|---|
# | `eigen_problems()` | ten symmetric operators with known spectra: negative dominant, ±ρ ties, repeats, clusters, A = 0, tiny and huge scales, ill-conditioned |
# | `verify_eigenpair(matvec, λ, v)` | a one-matvec certificate: the interval that must hold an eigenvalue, and whether it is the dominant one |
# | `check_eigensolver(solver)` | every problem through a counted matvec: error vs allowance, residual, honesty of reported residuals, matvecs, time |
# | `check_hvp(hvp)` | Hessian-vector products against dense Hessians (NumPy functions; torch models via `srtheory.torch.testing`) |
#
# We write a plausible eigen-solver and a plausible HVP, as a user would, run the suite, read
# what fails, fix it, and end with the suite passing.

# %%
import autograd
import autograd.numpy as anp
import numpy as np

import srtheory
import srtheory.testing as st

problems = st.eigen_problems()
for p in problems:
    print(f"{p.name:18s} n={p.n}  rho={p.rho:.3g}  answers={tuple(f'{a:+.4g}' for a in p.answers)}  {p.description}")

# %% [markdown]
# ## 1. A first solver: power iteration with the usual stopping rule
#
# The rule PyHessian uses: stop when the Rayleigh quotient changes by less than `tol` relative.
# It takes the harness's `(matvec, v0)` and returns `(eigval, eigvec)`.


# %%
def power_relative_change(matvec, v0, tol=1e-3, max_iter=200):
    v = v0 / np.linalg.norm(v0)
    lam = None
    for _ in range(max_iter):
        w = matvec(v)
        new = float(v @ w)
        if lam is not None and abs(new - lam) <= tol * abs(lam):
            return new, v
        lam, v = new, w / np.linalg.norm(w)
    return lam, v


first = st.check_eigensolver(power_relative_change, name="power iteration, relative change")
print(first)

# %% [markdown]
# The relative-change test fires long before the answer is accurate (errors of 1e-3 where the
# allowance is √eps = 1.5e-8), near a ±ρ tie the iterate oscillates, and `A = 0` divides by zero.
#
# ## 2. The certificate explains each failure with one matvec
#
# For the near tie (+2 against −1.998) the returned pair's interval is wide: it does not even
# prove that an eigenvalue is near the returned value's magnitude, let alone the dominant one.

# %%
near = next(p for p in problems if p.name == "near_tie")
lam, v = power_relative_change(near.matvec, near.v0)
bound_rest = abs(near.eigenvalues[1])  # |lambda_2|, known for a planted problem
cert = st.verify_eigenpair(near.matvec, lam, v, bound_rest=bound_rest)
print(f"returned {lam:+.6f}; an eigenvalue lies in [{cert.interval[0]:+.4f}, {cert.interval[1]:+.4f}]; "
      f"certified dominant: {cert.dominant}")

# %% [markdown]
# ## 3. A better solver: stop on the residual, guard A v = 0, resolve ±ρ with Lanczos
#
# A residual test `‖Av − λv‖ ≤ tol·|λ|` certifies the pair, but power iteration cannot separate
# +ρ from −ρ.  The fix a user would reach for is a Krylov method; here srtheory's own Lanczos
# (`srtheory.spectral_radius` resolves both ends).  Any library's Lanczos can be dropped in.


# %%
def lanczos_solver(matvec, v0):
    return srtheory.spectral_radius(matvec, v0)  # an EigResult: eigval, eigvec, residual, converged


second = st.check_eigensolver(lanczos_solver, name="Lanczos (srtheory.spectral_radius)")
print(second)

# %% [markdown]
# The reported `residual` is checked against the recomputed one, so a solver that reports the
# residual of an earlier iterate fails even when its eigenvalue is right:


# %%
def stale(matvec, v0):
    early = srtheory.lanczos(matvec, v0, max_iter=3)
    return srtheory.spectral_radius(matvec, v0)._replace(residual=early.residual)


stale_report = st.check_eigensolver(stale, name="stale residual")
print(stale_report.failures[0].reason)

# %% [markdown]
# ## 4. HVPs
#
# `check_hvp(hvp)` calls `hvp(f, x, v)` on functions with known Hessians.  A forward difference
# with a fixed step is the classic mistake; a central difference with the step scaled to
# `eps^(1/3)` passes.


# %%
def forward_difference(f, x, v):
    g = autograd.grad(f)
    return (g(x + 1e-4 * v) - g(x)) / 1e-4


def central_difference(f, x, v):
    g = autograd.grad(f)
    eps = st.tolerance(power=1 / 3) * max(1.0, np.linalg.norm(x)) / np.linalg.norm(v)
    return (g(x + eps * v) - g(x - eps * v)) / (2 * eps)


def exact(f, x, v):
    return autograd.grad(lambda y: anp.dot(autograd.grad(f)(y), v))(x)


hvp_reports = {h.__name__: st.check_hvp(h) for h in (forward_difference, central_difference, exact)}
for r in hvp_reports.values():
    print(r, end="\n\n")

# %% [markdown]
# ## 5. The same on torch models
#
# `srtheory.torch.testing` adds a dense Hessian oracle for any loss closure and parameter list, and
# a zoo of models with known properties (a smooth MLP, a regression whose dominant eigenvalue is
# negative, a ReLU CNN, a BatchNorm model in eval mode).  `hvp(loss_fn, params, v)` is checked the
# same way; srtheory's double-backprop HVP passes.

# %%
try:
    import torch  # noqa: F401

    import srtheory.torch as srt
    from srtheory.torch.testing import hvp_problems

    torch_report = st.check_hvp(lambda f, x, v: srt.hvp(f, x, v), hvp_problems(), name="double backprop")
    print(torch_report)
except ImportError:  # torch is an optional extra
    torch_report = None

# %% [markdown]
# In a project's own test suite, one line per problem:
#
# ```python
# @srtheory.testing.eigensolver_cases()
# def test_my_solver(problem):
#     srtheory.testing.check_eigensolver(my_solver, [problem], raise_=True)
# ```

# %%
failed_first = {c.problem for c in first.failures}
assert {"generic", "near_tie", "exact_tie", "zero"} <= failed_first, failed_first
assert not cert.dominant  # the near-tie answer of the naive rule is not certified
assert second.passed, second
assert not stale_report.passed and all("reported residual" in c.reason for c in stale_report.failures)
assert not hvp_reports["forward_difference"].passed
assert hvp_reports["central_difference"].passed and hvp_reports["exact"].passed
assert torch_report is None or torch_report.passed
print("all claims of notebook 8 hold")
