"""Augmented test set, SRR_NOTES §9.2.

:func:`augment_images` with the authors' strengths :data:`AUG_MILD` / :data:`AUG_STRONG`, and
:func:`scale_augmentation` for images of another size than the paper's 16x16.  Randomness enters
only as an ``rng`` argument.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from srtheory._validation import positive_int

__all__ = ["AugmentSpec", "AUG_MILD", "AUG_STRONG", "scale_augmentation", "augment_images"]


@dataclass(frozen=True)
class AugmentSpec:
    """One augmentation strength of §9.2: a rotation by an angle uniform in ``±max_angle`` degrees,
    a random crop of the image padded by ``pad`` pixels (an integer translation of up to ``pad``),
    and a sub-pixel shift uniform in ``±max_shift`` pixels per axis."""

    max_angle: float
    pad: int
    max_shift: float = 0.0


#: the authors' first loader "Aug1" for 16x16 USPS: padding 1 (random crop), +-15 degrees
AUG_MILD = AugmentSpec(max_angle=15.0, pad=1)
#: the authors' second loader "Aug2": padding 2, +-30 degrees
AUG_STRONG = AugmentSpec(max_angle=30.0, pad=2)


def scale_augmentation(spec: AugmentSpec, /, *, size: int, reference: int = 16) -> AugmentSpec:
    """The same augmentation strength for ``size x size`` images as ``spec`` is for
    ``reference x reference`` ones: the crop translation of up to ``pad`` pixels and any shift
    become a sub-pixel shift of up to ``(pad + max_shift) * size / reference`` pixels (``pad = 0``);
    the angle is unchanged.  On 8x8 digits the paper's 16x16 ``pad=1`` is a half-pixel shift: an
    integer one-pixel crop there moves the digit by 1/8 of the image, twice the paper's strength."""
    size = positive_int(size, "size")
    reference = positive_int(reference, "reference")
    return AugmentSpec(spec.max_angle, 0, (spec.pad + spec.max_shift) * size / reference)


def augment_images(images, /, *, rng: np.random.Generator, spec: AugmentSpec) -> np.ndarray:
    """Augmented copy of test images, SRR_NOTES §9.2 (random crop with padding plus rotation).

    ``images`` has shape ``(n, h, w)``.  Each image is rotated by ``theta ~ U(-max_angle, max_angle)``
    (bilinear, zero fill, same size), shifted by ``s ~ U(-max_shift, max_shift)^2`` pixels, zero
    padded by ``pad`` and cropped back to ``h x w`` at an offset uniform in ``{0..2 pad}^2``.
    Labels are unchanged; the input is not modified.  Values are clipped to the input's range.
    """
    imgs = np.array(images, dtype=float)
    if imgs.ndim != 3 or imgs.shape[0] == 0:
        raise ValueError(f"images must have shape (n, h, w) with n >= 1, got {imgs.shape}")
    if not np.all(np.isfinite(imgs)):
        raise ValueError("images contain NaN or inf")
    if spec.pad < 0 or spec.max_angle < 0 or spec.max_shift < 0:
        raise ValueError(f"augmentation parameters must be >= 0, got {spec}")
    lo, hi = imgs.min(), imgs.max()
    n, h, w = imgs.shape
    out = np.empty_like(imgs)
    for i in range(n):
        img = imgs[i]
        if spec.max_angle > 0:
            angle = rng.uniform(-spec.max_angle, spec.max_angle)
            img = ndimage.rotate(img, angle, reshape=False, order=1, mode="constant", cval=0.0)
        if spec.max_shift > 0:
            img = ndimage.shift(img, rng.uniform(-spec.max_shift, spec.max_shift, size=2), order=1,
                                mode="constant", cval=0.0)
        if spec.pad > 0:
            padded = np.pad(img, spec.pad)
            r, c = rng.integers(0, 2 * spec.pad + 1, size=2)
            img = padded[r : r + h, c : c + w]
        out[i] = img
    return np.clip(out, lo, hi)
