"""A matrix-free certificate for a claimed eigenpair: :func:`verify_eigenpair`.

For a symmetric ``A``, a unit vector ``v`` and any real ``theta`` the Krylov--Bogoliubov (residual)
bound holds:

.. math::

   \\min_i |\\lambda_i - \\theta| \\le r := \\|A v - \\theta v\\|_2 ,

so ``[theta - r, theta + r]`` contains an eigenvalue of ``A`` (Parlett, *The Symmetric Eigenvalue
Problem*, Thm 4.5.1).  If moreover every eigenvalue but one is known to satisfy
``|lambda_i| <= bound_rest`` and ``|theta| - r > bound_rest``, the eigenvalue in that interval is
the one of largest modulus, and ``rho(A) = max_i |lambda_i|`` lies in ``[|theta| - r, |theta| + r]``.
One matvec; no dense matrix; works for NumPy arrays and torch tensors (computed in float64 on the
host).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["EigenpairCertificate", "verify_eigenpair"]


class EigenpairCertificate(NamedTuple):
    """What one matvec proves about a claimed pair ``(eigval, eigvec)``.

    Fields:
      eigval: the claimed eigenvalue ``theta``.
      residual: ``r = ||A v - theta v||`` with ``v = eigvec / ||eigvec||``, in float64.
      interval: ``(theta - r, theta + r)``, which contains an eigenvalue of ``A``.
      rayleigh: ``v^T A v``, the best ``theta`` for this ``v`` (the residual is smallest there).
      dominant: ``True`` when ``bound_rest`` was given and ``|theta| - r > bound_rest`` (the
        eigenvalue in ``interval`` is then the dominant one); ``False`` when it was given and the
        test failed; ``None`` without ``bound_rest``.
      rho_interval: ``(|theta| - r, |theta| + r)`` when ``dominant`` is True (it contains
        ``rho(A)``), else ``None``.
    """

    eigval: float
    residual: float
    interval: tuple[float, float]
    rayleigh: float
    dominant: bool | None
    rho_interval: tuple[float, float] | None


def verify_eigenpair(matvec, eigval, eigvec, /, *, bound_rest: float | None = None) -> EigenpairCertificate:
    """Certify a claimed eigenpair of a symmetric operator with one matvec (Krylov--Bogoliubov).

    Args:
      matvec: ``v -> A v`` for a symmetric ``A`` (NumPy or torch; called once with a vector of
        ``eigvec``'s type and dtype), or a dense NumPy matrix.
      eigval: the claimed eigenvalue ``theta`` (a float).
      eigvec: the claimed eigenvector, any nonzero length (it is normalised first).
      bound_rest: a known bound on ``|lambda_i|`` for every eigenvalue but the dominant one (e.g.
        ``|lambda_2|`` of a planted spectrum); enables the ``dominant`` test.

    Returns:
      :class:`EigenpairCertificate`.

    Raises:
      ValueError: ``eigvec`` is zero or not finite, ``eigval`` is not finite, or the matvec output
        has the wrong shape or is not finite.

    Example:
      >>> import numpy as np
      >>> A = np.diag([-3.0, 1.0, 0.5])
      >>> c = verify_eigenpair(A, -3.0, np.array([1.0, 1e-3, 0.0]), bound_rest=1.0)
      >>> c.dominant, round(c.residual, 6)
      (True, 0.004)
    """
    theta = float(eigval)
    if not np.isfinite(theta):
        raise ValueError(f"eigval must be finite, got {eigval!r}")
    v = to_float64(eigvec)
    if v.ndim != 1:
        raise ValueError(f"eigvec must be a vector, got shape {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError("eigvec contains NaN or inf")
    nrm = float(np.linalg.norm(v))
    if nrm == 0.0:
        raise ValueError("eigvec is the zero vector")
    if isinstance(matvec, np.ndarray):
        y = matvec @ (np.asarray(eigvec, dtype=np.float64) / nrm)
    else:
        y = to_float64(matvec(_scaled_like(eigvec, 1.0 / nrm)))
    if y.shape != v.shape:
        raise ValueError(f"matvec returned shape {y.shape}; expected {v.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("matvec returned NaN or inf")
    u = v / nrm
    r = float(np.linalg.norm(y - theta * u))
    dominant = rho_interval = None
    if bound_rest is not None:
        dominant = bool(abs(theta) - r > float(bound_rest))
        if dominant:
            rho_interval = (abs(theta) - r, abs(theta) + r)
    return EigenpairCertificate(theta, r, (theta - r, theta + r), float(u @ y), dominant, rho_interval)


def to_float64(x) -> np.ndarray:
    """A NumPy float64 copy of a NumPy array, a torch tensor (any device) or a list of tensors
    (concatenated flat, as per-parameter outputs are)."""
    if isinstance(x, (list, tuple)) and x and type(x[0]).__module__.partition(".")[0] == "torch":
        return np.concatenate([to_float64(t).reshape(-1) for t in x])
    if type(x).__module__.partition(".")[0] == "torch":
        return x.detach().to(device="cpu").double().numpy().copy()
    return np.array(x, dtype=np.float64)


def _scaled_like(x, s):
    """``s * x`` keeping ``x``'s array type and dtype."""
    if type(x).__module__.partition(".")[0] == "torch":
        return x.detach() * s
    x = np.asarray(x)
    return (x * s).astype(x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64)
