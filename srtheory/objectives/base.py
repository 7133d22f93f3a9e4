"""The zoo's records and its registry.

:class:`KnownMinimum` (a critical point with its value, Hessian spectrum, ``rho = max |lambda|``,
label and precision), :class:`Objective` (a deterministic ``f`` with what is known about it),
:class:`StochasticObjective` (an empirical risk with minibatches, the ``f_B`` of SRR_NOTES §4),
and the registry: ``ZOO`` (name -> entry, in registration order), :func:`get`, :func:`names`, and
the private ``_register`` and ``_frozen`` (read-only float64 arrays) that the entry modules use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

__all__ = ["ZOO", "KnownMinimum", "Objective", "StochasticObjective", "get", "names"]


@dataclass(frozen=True, eq=False)
class KnownMinimum:
    """A critical point known in closed form or to ``precision`` (absolute, on x, f and eigenvalues).

    ``hessian_eigs`` ascending; ``rho = max |hessian_eigs|`` (SRR_NOTES §4), or ``None`` where
    not known.  ``label`` says which one it is ("sharp", "flat", "balanced", "saddle", ...).
    """

    x: np.ndarray
    f: float
    rho: float | None
    hessian_eigs: np.ndarray | None
    label: str
    precision: float = 0.0


@dataclass(frozen=True, eq=False)
class Objective:
    """A deterministic objective ``f: R^dim -> R`` with what is known about it."""

    name: str
    f: Callable[[np.ndarray], float]
    dim: int
    x0: np.ndarray
    minima: tuple[KnownMinimum, ...] = ()
    lipschitz_grad: float | None = None
    notes: str = ""
    saddles: tuple[KnownMinimum, ...] = ()
    extras: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    bounds: tuple[tuple[float, float], ...] | None = None  # a box worth plotting (2-D)

    def minimum(self, label: str) -> KnownMinimum:
        """The stored minimum with this label (``ValueError`` naming the labels there are)."""
        for m in self.minima:
            if m.label == label:
                return m
        raise ValueError(f"{self.name} has no minimum labelled {label!r}; labels: "
                         f"{[m.label for m in self.minima]}")


@dataclass(frozen=True, eq=False)
class StochasticObjective(Objective):
    """An empirical risk ``f(x) = (1/N) sum_i l(x; xi_i)`` that also offers minibatches (f_B of §4).

    ``loss(x, batch)`` is the mean loss over the sample indices ``batch``; ``f(x)`` is the same
    over all ``n_samples`` training samples; ``val_loss(x)`` over a held-out validation set.
    """

    loss: Callable[[np.ndarray, np.ndarray], float] | None = None
    n_samples: int = 0
    val_loss: Callable[[np.ndarray], float] | None = None
    task: str = "regression"
    accuracy: Callable[..., float] | None = None

    def batches(self, rng: np.random.Generator, batch_size: int) -> Iterator[np.ndarray]:
        """One epoch of index batches: a permutation drawn from ``rng``, cut into ``batch_size``
        pieces (the last one may be smaller)."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
        perm = rng.permutation(self.n_samples)
        for start in range(0, self.n_samples, int(batch_size)):
            yield perm[start:start + int(batch_size)]


# ---------------------------------------------------------------- registry

ZOO: dict[str, Objective] = {}


def get(name: str, /) -> Objective:
    """The zoo entry called ``name`` (``ValueError`` listing the names otherwise)."""
    try:
        return ZOO[name]
    except KeyError:
        raise ValueError(f"unknown objective {name!r}; expected one of {sorted(ZOO)}") from None


def names() -> list[str]:
    """Sorted names of the zoo."""
    return sorted(ZOO)


def _register(obj: Objective) -> Objective:
    ZOO[obj.name] = obj
    return obj


def _frozen(a) -> np.ndarray:
    arr = np.array(a, dtype=np.float64)
    arr.setflags(write=False)
    return arr
