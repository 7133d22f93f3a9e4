"""GAN-generated test set, SRR_NOTES §9.4.

:func:`train_cgan` trains a small conditional GAN on real images, :func:`cgan_sample` draws a
labelled test set from it, and :func:`gan_realism` reports how realistic the samples are, with
:func:`knn_classifier` as the realism judge trained on real data.  Randomness enters only as an
``rng`` argument.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from srtheory._validation import positive, positive_int
from srtheory.generalization._common import _as_matrix
from srtheory.generalization.constructed import nearest_similarity
from srtheory.optimizers import adam

__all__ = ["knn_classifier", "CGan", "GanHistory", "train_cgan", "cgan_sample", "GanRealism", "gan_realism"]


def knn_classifier(X_train, y_train, /, *, k: int = 5) -> Callable[[np.ndarray], np.ndarray]:
    """A ``k``-nearest-neighbour (Euclidean, majority vote, ties to the smallest label) classifier
    fitted on real data: the independent judge of :func:`gan_realism` (§9.4 realism report)."""
    Xt = _as_matrix(np.reshape(np.asarray(X_train, dtype=float), (len(X_train), -1)), "X_train")
    yt = np.asarray(y_train, dtype=int)
    if yt.shape != (Xt.shape[0],):
        raise ValueError(f"y_train must have shape ({Xt.shape[0]},), got {yt.shape}")
    k = positive_int(k, "k")
    if k > Xt.shape[0]:
        raise ValueError(f"k={k} exceeds the number of training points {Xt.shape[0]}")
    n_cls = int(yt.max()) + 1
    sq = np.sum(Xt**2, axis=1)

    def predict(X):
        Xq = np.reshape(np.asarray(X, dtype=float), (len(X), -1))
        d2 = np.sum(Xq**2, axis=1)[:, None] - 2 * Xq @ Xt.T + sq[None, :]
        nn = np.argpartition(d2, k - 1, axis=1)[:, :k]
        votes = np.zeros((Xq.shape[0], n_cls))
        np.add.at(votes, (np.repeat(np.arange(Xq.shape[0]), k), yt[nn].ravel()), 1.0)
        return np.argmax(votes, axis=1)

    return predict


class CGan(NamedTuple):
    """Parameters of the conditional GAN of §9.4 as flat vectors with their unflatten maps, the
    latent size and the number of classes.  Pixels live in [0, 1]."""

    gen: np.ndarray
    disc: np.ndarray
    unflatten_gen: Callable
    unflatten_disc: Callable
    n_latent: int
    n_classes: int


class GanHistory(NamedTuple):
    """Per-step discriminator and generator losses, and at checkpoints ``steps`` the class-mean gap
    ``mean_c ||mean(fake_c) - mean(real_c)||_2`` (lower = closer to the real data)."""

    d_loss: np.ndarray
    g_loss: np.ndarray
    steps: np.ndarray
    mean_gap: np.ndarray


def train_cgan(
    images,
    labels,
    /,
    *,
    rng: np.random.Generator,
    n_classes: int,
    n_steps: int = 2000,
    batch_size: int = 64,
    n_latent: int = 16,
    hidden: int = 128,
    lr: float = 1e-3,
    smoothing: float = 0.3,
    swap_prob: float = 0.01,
    eval_every: int = 100,
) -> tuple[CGan, GanHistory]:
    """Train a small conditional GAN on real images, SRR_NOTES §9.4 (the authors' ``cGAN.py``).

    Generator ``G(z, c) = sigmoid(W2 lrelu(W1 [z; onehot(c)] + b1) + b2)``, discriminator
    ``D(x, c) = w2 . lrelu(V1 [x; onehot(c)] + a1) + a2`` (a logit); both MLPs with ``hidden`` units.
    Each step: D minimizes the cross-entropy with smoothed targets (real ``~ U(1 - smoothing, 1)``,
    fake ``~ U(0, smoothing)``, each target swapped with probability ``swap_prob``), then G minimizes
    the non-saturating loss ``-log sigmoid(D(G(z, c), c))``; Adam (beta 0.5, 0.999) on both.
    ``images`` are flattened and must lie in [0, 1].
    """
    import autograd.numpy as anp
    from autograd import grad
    from autograd.misc import flatten

    X = np.reshape(np.asarray(images, dtype=float), (len(images), -1))
    if not np.all(np.isfinite(X)) or X.min() < 0 or X.max() > 1:
        raise ValueError("images must be finite and scaled to [0, 1]")
    y = np.asarray(labels, dtype=int)
    n_classes = positive_int(n_classes, "n_classes")
    if y.shape != (X.shape[0],) or y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"labels must be integers in [0, {n_classes}) of shape ({X.shape[0]},)")
    for name, v in (("n_steps", n_steps), ("batch_size", batch_size), ("n_latent", n_latent),
                    ("hidden", hidden), ("eval_every", eval_every)):
        positive_int(v, name)
    lr = positive(lr, "lr")
    if not (0 <= smoothing < 0.5 and 0 <= swap_prob < 0.5):
        raise ValueError("smoothing and swap_prob must lie in [0, 0.5)")
    n_pix, eye = X.shape[1], np.eye(n_classes)

    def layer(n_in, n_out):
        return [rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in), np.zeros(n_out)]

    gen0, unflatten_gen = flatten(layer(n_latent + n_classes, hidden) + layer(hidden, n_pix))
    disc0, unflatten_disc = flatten(layer(n_pix + n_classes, hidden) + layer(hidden, 1))

    def lrelu(a):
        return anp.maximum(a, 0.2 * a)

    def generate(g, z, onehot):
        W1, b1, W2, b2 = unflatten_gen(g)
        return 1.0 / (1.0 + anp.exp(-(anp.dot(lrelu(anp.dot(anp.concatenate([z, onehot], 1), W1) + b1), W2) + b2)))

    def logit(d, x, onehot):
        V1, a1, w2, a2 = unflatten_disc(d)
        return (anp.dot(lrelu(anp.dot(anp.concatenate([x, onehot], 1), V1) + a1), w2) + a2)[:, 0]

    def bce(t, target):  # cross-entropy of sigmoid(t) against soft targets, numerically stable
        return anp.mean(anp.logaddexp(0.0, t) - target * t)

    def d_loss(d, g, xr, oh_r, z, oh_f, tr, tf):
        return bce(logit(d, xr, oh_r), tr) + bce(logit(d, generate(g, z, oh_f), oh_f), tf)

    def g_loss(g, d, z, oh_f):
        return bce(logit(d, generate(g, z, oh_f), oh_f), 1.0)

    d_grad, g_grad = grad(d_loss), grad(g_loss)
    gen, disc = gen0.copy(), disc0.copy()
    opt = adam(lr, b1=0.5)  # beta1 = 0.5, as is usual for GANs
    adam_g, adam_d = opt.init(gen), opt.init(disc)
    real_means = np.stack([X[y == c].mean(axis=0) if np.any(y == c) else np.zeros(n_pix) for c in range(n_classes)])
    d_hist, g_hist, steps, gaps = np.empty(n_steps), np.empty(n_steps), [], []

    def mean_gap(g):
        z = rng.standard_normal((20 * n_classes, n_latent))
        c = np.repeat(np.arange(n_classes), 20)
        fake = generate(g, z, eye[c])
        return float(np.mean([np.linalg.norm(fake[c == k].mean(0) - real_means[k]) for k in range(n_classes)]))

    steps.append(0)
    gaps.append(mean_gap(gen))
    for step in range(n_steps):
        idx = rng.integers(0, X.shape[0], size=batch_size)
        xr, oh_r = X[idx], eye[y[idx]]
        z = rng.standard_normal((batch_size, n_latent))
        oh_f = eye[rng.integers(0, n_classes, size=batch_size)]
        tr = rng.uniform(1 - smoothing, 1.0, batch_size)
        tf = rng.uniform(0.0, smoothing, batch_size)
        swap = rng.random(batch_size) < swap_prob
        tr, tf = np.where(swap, tf, tr), np.where(swap, tr, tf)
        d_hist[step] = d_loss(disc, gen, xr, oh_r, z, oh_f, tr, tf)
        disc, adam_d = opt.update(d_grad(disc, gen, xr, oh_r, z, oh_f, tr, tf), adam_d, disc, step)
        z = rng.standard_normal((batch_size, n_latent))
        oh_f = eye[rng.integers(0, n_classes, size=batch_size)]
        g_hist[step] = g_loss(gen, disc, z, oh_f)
        gen, adam_g = opt.update(g_grad(gen, disc, z, oh_f), adam_g, gen, step)
        if (step + 1) % eval_every == 0:
            steps.append(step + 1)
            gaps.append(mean_gap(gen))
    if not (np.all(np.isfinite(d_hist)) and np.all(np.isfinite(g_hist))):
        raise ValueError("GAN training diverged (non-finite loss); lower lr")
    model = CGan(gen, disc, unflatten_gen, unflatten_disc, n_latent, n_classes)
    return model, GanHistory(d_hist, g_hist, np.array(steps), np.array(gaps))


def cgan_sample(model: CGan, labels, /, *, rng: np.random.Generator) -> np.ndarray:
    """Generated images (flattened, in [0, 1]) for the requested class ``labels`` (§9.4: the
    GAN-generated, labelled test set)."""
    c = np.asarray(labels, dtype=int)
    if c.ndim != 1 or c.size == 0 or c.min() < 0 or c.max() >= model.n_classes:
        raise ValueError(f"labels must be a non-empty 1-D array of ints in [0, {model.n_classes})")
    W1, b1, W2, b2 = model.unflatten_gen(model.gen)
    h = np.concatenate([rng.standard_normal((c.size, model.n_latent)), np.eye(model.n_classes)[c]], 1) @ W1 + b1
    return 1.0 / (1.0 + np.exp(-(np.maximum(h, 0.2 * h) @ W2 + b2)))


class GanRealism(NamedTuple):
    """How realistic generated samples are (§9.4 report): ``label_agreement`` = accuracy of a
    classifier trained on real data on the samples w.r.t. their conditioning labels, with the same
    classifier's accuracy on real held-out data as reference; and the mean nearest-neighbour cosine
    similarity of samples to the real training set next to that of real held-out data."""

    label_agreement: float
    real_accuracy: float
    nn_similarity_fake: float
    nn_similarity_real: float


def gan_realism(judge: Callable, fake, fake_labels, real, real_labels, train, /) -> GanRealism:
    """Realism report of a GAN test set, so that scores on it are not over-read (§9.4).

    ``judge`` is a classifier trained on real data only (e.g. :func:`knn_classifier`); ``fake`` with
    ``fake_labels`` are generated samples, ``real`` with ``real_labels`` held-out real data in the
    same scale, ``train`` the real training inputs.
    """
    fake = np.reshape(np.asarray(fake, dtype=float), (len(fake), -1))
    real = np.reshape(np.asarray(real, dtype=float), (len(real), -1))
    agree = float(np.mean(np.asarray(judge(fake)) == np.asarray(fake_labels)))
    real_acc = float(np.mean(np.asarray(judge(real)) == np.asarray(real_labels)))
    sim_f = float(np.mean(nearest_similarity(fake, train)))
    sim_r = float(np.mean(nearest_similarity(real, train)))
    return GanRealism(agree, real_acc, sim_f, sim_r)
