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
# # 6. Generalization under shift on real data
#
# The paper's claim is qualitative: models trained with SRR sit at flatter minima (lower $\rho$)
# and should hold up better when the test data come from a different distribution. Its authors
# built several tests for that (notes §9):
#
# | test | what changes between training and test |
# |---|---|
# | covariate shift with importance weighting (forest cover) | the input density, feature by feature |
# | augmented test set (USPS) | rotated and shifted images |
# | cross-dataset test (USPS → MNIST, ChestX-ray14 → CheXpert) | the data source |
# | GAN-generated and similarity-controlled test sets | synthetic digits, a skewed similarity profile |
#
# Their data sets cannot be downloaded here, so `srtheory.experiments` substitutes
# scikit-learn's bundled ones: `breast_cancer` (a small healthcare table) for the covariate-shift
# test and `digits` (8×8 handwritten digits) for the image tests. This notebook runs a small version
# of two of the tests; `srtheory experiments` runs all of them over more seeds and writes the table
# to `srtheory/RESULTS.md`.

# %%
# %matplotlib inline
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np

from srtheory import experiments as ex
from srtheory import generalization as gen
from srtheory import oracle

config = replace(ex.quick_config(), epochs=20, hidden=8, max_train=None, seeds=(0, 1, 2))
methods = [
    ex.MethodSpec("base", "base"),
    ex.MethodSpec("SAM r=0.05", "sam", sam_radius=0.05),
    ex.MethodSpec("SRR mu=0.1", "srr", mu=0.1, K=0.0),
    ex.MethodSpec("SRR mu=0.3", "srr", mu=0.3, K=0.0),
]
data = ex.load_dataset("breast_cancer")
print(f"breast_cancer: {len(data.y_train)} train / {len(data.y_val)} validation / {len(data.y_test)} test "
      f"points, {data.X_train.shape[1]} standardized features, {data.n_classes} classes")

# %% [markdown]
# ## Training
#
# Each method trains a one-hidden-layer tanh network (softmax cross-entropy) with the forest-cover
# recipe: SGD with $a_k = a_0/(1+k)$ per epoch; SAM on the same base; SRR is Algorithm 2
# (`srr_train`) with $K = 0$. The model kept is the best-validation epoch. $\rho$ is the spectral
# radius of the full training-loss Hessian at that model (Lanczos, matrix-free).

# %%
models = {m.label: [] for m in methods}
for seed in config.seeds:
    for spec in methods:
        models[spec.label].append(ex.train_model(data, spec, seed=seed, config=config))
print(f"{'method':12s} {'rho (mean over seeds)':>22s} {'test accuracy':>14s}")
for label, runs in models.items():
    accs = [np.mean(m.predict(data.X_test) == data.y_test) for m in runs]
    print(f"{label:12s} {np.mean([m.rho for m in runs]):22.3f} {np.mean(accs):14.3f}")

# %% [markdown]
# ## Covariate shift with importance weighting
#
# The features are standardized, so the training density of each is taken to be $N(0,1)$. A
# random shift perturbs every feature by $d_j = \text{mult}\cdot z_j$, $z_j\sim N(0,1)$, and gives it
# a test density with location, scale and skew moved in proportion to $d_j$. Instead of sampling
# new data, each real test point gets the weight
#
# $$w(x) = \prod_j \frac{p_{\text{test},j}(x_j)}{p_{\text{train},j}(x_j)},\qquad
#   \text{acc}_w = \frac{\sum_i w_i\,\mathbb 1[\hat y_i = y_i]}{\sum_i w_i}.$$
#
# Repeating this for many draws and regressing the accuracy on the perturbation size
# $P = \sum_j|d_j|$ gives a slope per model: the flatter (less negative), the more robust. Two
# models are best compared on the *same* draws, through the slope of their accuracy difference.

# %%
draw_rng = np.random.default_rng(2021)
shift_opts = dict(config.shift)
fits, diff_fits, iw_mean, last = {}, {}, {}, None
for s, seed in enumerate(config.seeds):
    preds = {label: runs[s].predict(data.X_test) for label, runs in models.items()}
    res = gen.covariate_shift_scores(data.X_test, data.y_test, preds, rng=draw_rng, n_classes=data.n_classes,
                                     n_draws=200, **shift_opts)
    for label, acc in res.accuracy.items():
        fits.setdefault(label, []).append(gen.shift_slope(res.size, acc))
        iw_mean.setdefault(label, []).append(float(np.mean(acc)))
        if label != "base":
            diff_fits.setdefault(label, []).append(gen.compare_slopes(res.size, acc, res.accuracy["base"]))
    last = res
print(f"shift options {shift_opts}; mean effective sample size {np.mean(last.ess):.1f} of {len(data.y_test)}")
print(f"{'method':12s} {'IW accuracy':>12s} {'slope on P':>12s}   slope of (acc - base) on P per seed, 95% CI")
for label in models:
    f = fits[label]
    line = f"{label:12s} {np.mean(iw_mean[label]):12.3f} {np.mean([x.slope for x in f]):12.4f}"
    if label in diff_fits:
        line += "   " + ", ".join(f"{d.slope:+.4f} [{d.ci_low:+.4f}, {d.ci_high:+.4f}]" for d in diff_fits[label])
    print(line)

fig, ax = plt.subplots(figsize=(7, 4))
grid = np.linspace(last.size.min(), last.size.max(), 10)
for (label, acc), c in zip(last.accuracy.items(), ("C3", "C1", "C0", "C2")):
    fit = gen.shift_slope(last.size, acc)
    ax.plot(last.size, acc, ".", color=c, ms=3, alpha=0.5)
    ax.plot(grid, fit.intercept + fit.slope * grid, color=c, label=f"{label}: slope {fit.slope:+.4f}")
ax.set_xlabel("perturbation size P = sum |d_j|")
ax.set_ylabel("importance-weighted accuracy")
ax.set_title(f"breast_cancer, seed {config.seeds[-1]}: {len(last.size)} random shifts")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## Augmented images
#
# The USPS test of the paper rotates test digits by up to 15° (mild) or 30° (strong) and shifts
# them a little. `srtheory.generalization.augment_images` does the same to the 8×8 digits (the
# shift scaled down to the smaller images). We train the base model and SRR on 600 digits for
# 10 epochs with Adam, as the paper did for USPS.

# %%
digits = ex.load_dataset("digits", max_train=600)
dconfig = replace(config, epochs=10, hidden=16)
dmodels = {spec.label: ex.train_model(digits, spec, seed=0, config=dconfig) for spec in (methods[0], methods[2])}
aug_rng = np.random.default_rng(7)
sets = {"test": digits.X_test}
for name, spec in (("aug mild", gen.AUG_MILD), ("aug strong", gen.AUG_STRONG)):
    imgs = gen.augment_images(digits.images_test, rng=aug_rng, spec=gen.scale_augmentation(spec, size=8))
    sets[name] = imgs.reshape(len(imgs), -1) / 16.0
print(f"{'method':12s} {'rho':>7s} " + " ".join(f"{k:>11s}" for k in sets))
for label, m in dmodels.items():
    accs = [gen.accuracy_f1(digits.y_test, m.predict(X), n_classes=10).accuracy for X in sets.values()]
    print(f"{label:12s} {m.rho:7.3f} " + " ".join(f"{a:11.3f}" for a in accs))

fig, axes = plt.subplots(3, 8, figsize=(8, 3.2))
for row, X in zip(axes, sets.values()):
    for a, img in zip(row, X[:8]):
        a.imshow(img.reshape(8, 8), cmap="gray_r")
        a.axis("off")
axes[0, 0].set_title("test / mild / strong", fontsize=8, loc="left")
plt.show()

# %% [markdown]
# ## What SRR changes, and what this small run can say
#
# * **$\rho$ goes down, reliably.** Every SRR model has a smaller spectral radius than the base
#   model of the same seed, and a larger $\mu$ flattens more. That is the part of the paper's
#   claim the regularizer controls directly.
# * **Accuracy under shift is a measurement, not a given.** In this small run (easy data sets, short
#   training, three seeds) SRR with $\mu = 0.1$ stays within a point or two of the base model,
#   clean and under shift, and the paired slope intervals include zero: no significant
#   difference either way. The larger $\mu = 0.3$ flattens more but fits worse, and loses most
#   under shift -- flatness bought at the price of fit does not make a model robust. On the digits,
#   SRR trades a little clean accuracy for its flatness. The notes record that no table number of
#   the paper could be recovered, so the project checks the qualitative claim and reports what it
#   finds rather than asserting it; `srtheory experiments` gives the fuller picture (more seeds,
#   the cross-dataset, GAN and constructed sets).
#
# ## The claims, checked against the dense oracle
#
# 1. The reported $\rho$ of a trained model is the dense oracle's $\rho$ of its training loss.
# 2. SRR lowers $\rho$: below the base model's for every seed, and lower for $\mu = 0.3$ than
#    for $\mu = 0.1$ on average; on the digits as well.
# 3. The importance-weighting machinery: with no shift the weighted accuracy is the plain
#    accuracy; the authors' batchwise aggregation equals the global ratio; the weights are the
#    density ratio of the drawn test and training densities.
# 4. The slope statistics: the paired slope is the difference of the two slopes (least squares
#    is linear in the response), and each interval contains its estimate.

# %%
from scipy import stats

# 1. rho of the selected model = dense oracle rho of the full training loss (Lanczos tol 1e-6)
obj, _ = ex.mlp_objective(data, hidden=config.hidden, rng=np.random.default_rng(0))
for label in ("base", "SRR mu=0.1"):
    m = models[label][0]
    dense = oracle.rho(obj.f, m.x)
    assert abs(m.rho - dense) <= 1e-5 * dense, (label, m.rho, dense)

# 2. SRR lowers rho
for s in range(len(config.seeds)):
    for label in ("SRR mu=0.1", "SRR mu=0.3"):
        assert models[label][s].rho < models["base"][s].rho, (label, s)
assert np.mean([m.rho for m in models["SRR mu=0.3"]]) < np.mean([m.rho for m in models["SRR mu=0.1"]])
assert dmodels["SRR mu=0.1"].rho < dmodels["base"].rho

# 3. importance weighting
pred = models["base"][0].predict(data.X_test)
no_shift = gen.draw_shift(data.X_test.shape[1], rng=np.random.default_rng(1), mult=0.0)
plain = gen.accuracy_f1(data.y_test, pred, n_classes=2).accuracy
iw = gen.iw_scores(data.y_test, pred, gen.shift_log_weights(data.X_test, no_shift), n_classes=2).accuracy
assert plain == iw == np.mean(pred == data.y_test)
shift = gen.draw_shift(data.X_test.shape[1], rng=np.random.default_rng(2), **shift_opts)
lw = gen.shift_log_weights(data.X_test, shift)
glob = gen.iw_scores(data.y_test, pred, lw, n_classes=2)
batched = gen.iw_scores(data.y_test, pred, lw, n_classes=2, batch_size=16)
assert abs(glob.accuracy - batched.accuracy) <= 1e-12
direct_lw = np.sum(stats.skewnorm.logpdf(data.X_test, shift.skew, loc=shift.loc, scale=shift.scale)
                   - stats.norm.logpdf(data.X_test), axis=1)
assert np.allclose(lw, direct_lw, rtol=1e-12, atol=1e-12)
w = np.exp(direct_lw - direct_lw.max())
assert abs(glob.accuracy - np.sum(w * (pred == data.y_test)) / np.sum(w)) <= 1e-12

# 4. slope statistics
for label, acc in last.accuracy.items():
    fit = gen.shift_slope(last.size, acc)
    assert fit.ci_low <= fit.slope <= fit.ci_high
    if label != "base":
        paired = gen.compare_slopes(last.size, acc, last.accuracy["base"])
        assert abs(paired.slope - (fit.slope - gen.shift_slope(last.size, last.accuracy["base"]).slope)) <= 1e-12
print("all claims of notebook 6 hold")
