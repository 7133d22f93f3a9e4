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
# # 5. The convergence theorem in practice
#
# The paper's v2 abstract says its algorithms "almost surely converge". The project's
# reconstruction of that result (Theorem C of the notes) is about the stochastic iteration
#
# $$x_{k+1} = x_k - a_k\big(\nabla h(x_k) + w_k + e_k\big),\qquad h = f + \mu\max(0,\rho-K),$$
#
# where $w_k$ is zero-mean sampling noise (the minibatch) and $e_k$ the error of the
# eigen-solver (an eigenvector that is not exactly $v^*$). Its assumptions:
#
# 1. $h$ bounded below with a Lipschitz gradient on the region visited -- this needs a simple
#    top eigenvalue (no $\pm\rho$ tie, notebook 3);
# 2. $\mathbb E[w_k\mid\mathcal F_k] = 0$, $\mathbb E\|w_k\|^2 \le A + B\|\nabla h\|^2$;
# 3. Robbins-Monro steps: $\sum a_k = \infty$ and $\sum a_k^2 < \infty$;
# 4. eigen-errors that shrink with the step: $\|e_k\|\le a_k(q + p\|\nabla h\|)$, or $\sum a_k\|e_k\| < \infty$.
#
# Conclusion: $h(x_k)$ converges and $\nabla h(x_k)\to 0$ with probability one. No rate.
#
# Here we break the assumptions one at a time and watch what breaks: a **noise floor** when the
# steps do not shrink, and a **bias floor** when the eigen-solver's error does not.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

from srtheory import gradient, hvp_operator, objectives, oracle, power_iteration, regularized_grad
from srtheory.optimizers import constant, inverse_sqrt, inverse_time

obj = objectives.get("negative_ridge")  # f = (x1^2 - 1)^2 + x2^2/2,  H = diag(12 x1^2 - 4, 1)
mu, K = 0.05, 0.0
print(obj.notes)

# %% [markdown]
# ## The regularized gradient on this objective
#
# On `negative_ridge` the Hessian is diagonal, $H = \mathrm{diag}(12x_1^2-4,\ 1)$, so near the
# minima ($|x_1| > 0.65$) the dominant eigenpair is $\lambda^* = 12x_1^2 - 4$, $v^* = e_1$ and
#
# $$\nabla h = \big(4x_1(x_1^2-1) + 24\mu x_1,\ x_2\big),\qquad
#   x^* = \big(\sqrt{1-6\mu},\ 0\big).$$
#
# An eigenvector estimate at angle $\theta$ from $e_1$, $\hat v = (\cos\theta, \sin\theta)$, gives
# $\nabla^3 f[\hat v,\hat v,\cdot] = (24x_1\cos^2\theta,\ 0)$: the eigen-error is
# $e = -24\mu x_1\sin^2\theta\; e_1$.
#
# To average over hundreds of noisy trajectories we use this closed form (vectorized). First we
# check it against the library's matrix-free $\nabla h$ (`regularized_grad` with a power
# iteration) and against the dense oracle ($\nabla f + \mu\nabla\rho$ with $\nabla\rho$ from central
# differences of the dense $\rho$).


# %%
def grad_h(X, theta=0.0):
    """Closed-form grad h on negative_ridge for rows of X, eigenvector estimate at angle theta."""
    x1, x2 = X[..., 0], X[..., 1]
    lam1 = 12 * x1**2 - 4
    dominant = np.abs(lam1) > 1.0  # the first eigenvalue is the one of largest modulus
    active = np.maximum(np.abs(lam1), 1.0) > K
    grad_rho = np.where(dominant & active, np.sign(lam1) * 24 * x1 * np.cos(theta) ** 2, 0.0)
    return np.stack([4 * x1 * (x1**2 - 1) + mu * grad_rho, x2], axis=-1)


rng = np.random.default_rng(5)
checks = rng.uniform([0.7, -1.0], [1.6, 1.0], size=(12, 2))
err_lib, err_oracle = 0.0, 0.0
for x in checks:
    eig = power_iteration(hvp_operator(obj.f, x), np.array([1.0, 0.2]), tol=1e-12, criteria="residual")
    lib = regularized_grad(obj.f, x, mu=mu, K=K, eig=eig)
    dense = gradient(obj.f, x) + mu * oracle.grad_rho_fd(obj.f, x)
    err_lib = max(err_lib, np.linalg.norm(grad_h(x) - lib))
    err_oracle = max(err_oracle, np.linalg.norm(grad_h(x) - dense))
print(f"max |closed form - library| = {err_lib:.1e},  max |closed form - dense oracle| = {err_oracle:.1e}")

# %% [markdown]
# ## The experiment
#
# Gaussian noise $w_k \sim N(0, \sigma^2 I)$, $\sigma = 0.5$; 300 trajectories from $(1.3, 1)$.
# The step follows the paper's **per-epoch** schedules (`srtheory.optimizers`), with 50 steps per
# epoch and 60 epochs:
#
# | run | step $a_k$ (epoch $k$) | eigen-error angle | assumption broken |
# |---|---|---|---|
# | constant | $0.1$ | 0 | $\sum a_k^2 = \infty$ |
# | $1/k$ | $0.1/(1+k)$ | 0 | none |
# | $1/\sqrt k$ | $0.1/(1+\sqrt k)$ | 0 | $\sum a_k^2 = \infty$ (mildly) |
# | $1/k$, fixed solver tolerance | $0.1/(1+k)$ | $\theta = 0.4$ | $e_k\not\to0$ |
# | $1/k$, tightening tolerance | $0.1/(1+k)$ | $\sin^2\theta_k = \sin^2(0.4)\,a_k/a_0$ | none |

# %%
sigma, m, per_epoch, epochs = 0.5, 300, 50, 60
a0 = 0.1
schedules = {
    "constant": (constant(a0), "exact"),
    "1/k": (inverse_time(a0), "exact"),
    "1/sqrt(k)": (inverse_sqrt(a0), "exact"),
    "1/k, fixed solver tolerance": (inverse_time(a0), "fixed"),
    "1/k, tightening tolerance": (inverse_time(a0), "shrinking"),
}
theta0 = 0.4


def run(schedule, eigen_error, *, seed, m=m, epochs=epochs):
    gen = np.random.default_rng(seed)
    X = np.tile([1.3, 1.0], (m, 1))
    curve = []
    for epoch in range(epochs):
        a = schedule(epoch)
        if eigen_error == "exact":
            theta = 0.0
        elif eigen_error == "fixed":
            theta = theta0
        else:
            theta = np.arcsin(np.sin(theta0) * np.sqrt(a / a0))
        acc = 0.0
        for _ in range(per_epoch):
            acc += np.mean(np.sum(grad_h(X) ** 2, axis=1))  # exact grad h at the iterate
            X = X - a * (grad_h(X, theta) + sigma * gen.standard_normal(X.shape))
        curve.append(acc / per_epoch)
    return np.array(curve), X


results = {name: run(sch, err, seed=11) for name, (sch, err) in schedules.items()}

# %% [markdown]
# ## Predicted floors
#
# Near $x^*$ the iteration is linear with curvatures $c_1 = 12x_1^{*2} - 4 + 24\mu$ and $c_2 = 1$.
# With a constant step $a$, each coordinate is an AR(1) process with stationary variance
# $a\sigma^2/(c(2 - ac))$, so
#
# $$\mathbb E\|\nabla h\|^2 \to \sum_i \frac{c_i\,a\,\sigma^2}{2 - a c_i}\qquad\text{(noise floor)}.$$
#
# With a fixed eigen-error the iteration converges (in mean) to the point where
# $\nabla h = -e$, so $\|\nabla h\|^2 \to \|e\|^2 \approx (24\mu x_1^*\sin^2\theta)^2$ (bias floor),
# however small the steps.

# %%
x_star = np.array([np.sqrt(1 - 6 * mu), 0.0])
curv = np.array([12 * x_star[0] ** 2 - 4 + 24 * mu, 1.0])
noise_floor = float(np.sum(curv * a0 * sigma**2 / (2 - a0 * curv)))
bias_floor = float((24 * mu * x_star[0] * np.sin(theta0) ** 2) ** 2)

fig, ax = plt.subplots(figsize=(8, 4.5))
ep = np.arange(1, epochs + 1)
for (name, (curve, _)), c in zip(results.items(), ("C3", "C0", "C2", "C1", "C4")):
    ax.loglog(ep, curve, color=c, label=name)
ax.axhline(noise_floor, color="C3", ls=":", label="predicted noise floor (constant step)")
ax.axhline(bias_floor, color="C1", ls=":", label="predicted bias floor (fixed tolerance)")
ax.set_xlabel("epoch")
ax.set_ylabel("mean over trajectories of ||grad h(x_k)||^2")
ax.legend(fontsize=7)
plt.show()
for name, (curve, X) in results.items():
    print(f"{name:30s} last epoch E||grad h||^2 = {curve[-1]:.2e}   mean x = {X.mean(axis=0).round(4)}")
print(f"noise floor {noise_floor:.2e}, bias floor {bias_floor:.2e}, x* = {x_star.round(4)}")

# %% [markdown]
# What the picture says:
#
# * **Constant step** stops improving at the predicted noise floor: the iterates keep jittering
#   around $x^*$ with a spread set by $a\sigma^2$.
# * **$1/k$** keeps going down -- like $a_k$ itself: at each epoch it sits near the noise floor
#   of its current step -- as Theorem C promises.
# * **$1/\sqrt k$** also decreases (its floor shrinks with $a_k$) but more slowly; violating
#   $\sum a_k^2<\infty$ does not make it diverge here, it only removes the guarantee.
# * **A fixed solver tolerance** puts a floor under even the $1/k$ run: the bias floor
#   $\|e\|^2$. Tightening the tolerance as the steps shrink (the theorem's condition on $e_k$)
#   removes it.
#
# The theorem buys exactly this: with shrinking steps *and* shrinking eigen-errors, nothing is
# left but convergence. It does not promise a rate, and it says nothing where $\rho$ is not
# differentiable (a tie), which is why the eigen-gap is an assumption.
#
# ## The library in the loop
#
# The simulation used the closed form of $\nabla h$. As a last check we run one trajectory with the
# library's matrix-free pieces in the loop -- a warm-started `power_iteration` on `hvp_operator`
# and `regularized_grad` -- with the same noise, and compare.

# %%
gen_a, gen_b = np.random.default_rng(99), np.random.default_rng(99)
sched = inverse_time(a0)
x_lib = np.array([1.3, 1.0])
x_sim = x_lib.copy()
v = np.ones(2) / np.sqrt(2)  # the paper's start vector, then warm starts
gap_lib = 0.0
for k in range(200):
    a = sched(k // per_epoch)
    eig = power_iteration(hvp_operator(obj.f, x_lib), v, tol=1e-12, criteria="residual")
    v = eig.eigvec
    x_lib = x_lib - a * (regularized_grad(obj.f, x_lib, mu=mu, K=K, eig=eig) + sigma * gen_a.standard_normal(2))
    x_sim = x_sim - a * (grad_h(x_sim) + sigma * gen_b.standard_normal(2))
    gap_lib = max(gap_lib, float(np.linalg.norm(x_lib - x_sim)))
print(f"largest distance between the library run and the simulation over 200 steps: {gap_lib:.1e}")

# %% [markdown]
# ## The claims, checked against the dense oracle
#
# 1. The closed form of $\nabla h$ agrees with the library and with the dense oracle, and the
#    library-in-the-loop trajectory coincides with the simulated one.
# 2. $x^*$ is a stationary point of $h$ by the oracle.
# 3. Robbins-Monro steps converge: the $1/k$ run follows the noise floor of its current step
#    $a_k$ (within 25 % at the last epoch, where $a_k = a_0/60$), so it keeps going down, and its
#    mean iterate is at $x^*$.
# 4. The constant-step run sits at its predicted noise floor (within 25 %).
# 5. The fixed-tolerance run sits at its predicted bias floor (within a factor 2), far above the
#    exact $1/k$ run; the tightening-tolerance run does not.
# 6. $1/\sqrt k$ ends between $1/k$ and the constant step.

# %%
# 1. closed form = library = oracle
assert err_lib <= 1e-10, err_lib  # power iteration to a 1e-12 residual; the rest is rounding
assert err_oracle <= 1e-7, err_oracle  # central differences of the dense rho, h = u^(1/3)
assert gap_lib <= 1e-8, gap_lib

# 2. x* is stationary for h (oracle gradient of rho)
grad_h_star = gradient(obj.f, x_star) + mu * oracle.grad_rho_fd(obj.f, x_star)
assert np.linalg.norm(grad_h_star) <= 1e-7, grad_h_star

final = {name: curve[-1] for name, (curve, _) in results.items()}
# 3. Robbins-Monro: the 1/k run tracks the noise floor of its *current* step a_k (quasi-static)
a_last = inverse_time(a0)(epochs - 1)
floor_last = float(np.sum(curv * a_last * sigma**2 / (2 - a_last * curv)))
assert abs(final["1/k"] / floor_last - 1) <= 0.25, (final["1/k"], floor_last)
assert final["1/k"] <= final["constant"] / 30
assert results["1/k"][0][-1] < results["1/k"][0][9] / 5  # still decreasing over the last 50 epochs
assert np.linalg.norm(results["1/k"][1].mean(axis=0) - x_star) <= 5e-3

# 4. noise floor (300 trajectories x 50 steps per epoch: sampling error of the mean ~ 5 %)
assert abs(final["constant"] / noise_floor - 1) <= 0.25, (final["constant"], noise_floor)

# 5. bias floor and its removal
assert 0.5 * bias_floor <= final["1/k, fixed solver tolerance"] <= 2.0 * bias_floor + final["1/k"]
assert final["1/k, fixed solver tolerance"] >= 10 * final["1/k"]
assert final["1/k, tightening tolerance"] <= 2 * final["1/k"]

# 6. 1/sqrt(k) in between
assert final["1/k"] < final["1/sqrt(k)"] < final["constant"]
print("all claims of notebook 5 hold")
