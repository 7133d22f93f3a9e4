"""The array operations that the eigen-solvers need, once for NumPy and once for torch.

The solvers of :mod:`srtheory.spectral` are written once, against the few functions listed here
(in the manner of matfree's backend module); :func:`ops_for` picks the implementation from the
type of the start vector:

* :mod:`srtheory.backend.numpy_ops` -- the reference: float64 NumPy arrays;
* :mod:`srtheory.backend.torch_ops` -- torch tensors of any floating dtype on any device; imported
  only when a tensor is seen, so nothing here imports torch for a NumPy caller.

Each module provides the same names:

========================  ==========================================================================
``prepare(A, v0)``        checked operator and start: ``(raw matvec, private copy of v0, n)``
``checked(y, what, n, like)``  a user callable's output, checked (finite, shape ``(n,)``) and cast
``copy(x)``               an independent copy (what a matvec receives)
``dot(x, y)``, ``norm(x)``  Python floats (the scalars that steer the iteration); below float64
                          accumulated in float64
``max_abs(x)``, ``eps(x)``  ``max |x_i|`` and the machine epsilon of ``x``'s dtype
``normalize(x)``          ``x / ||x||`` as an array
``sub_scaled(w, v, a)``   ``w - a v``
``export(x)``             the eigenvector handed to the caller
``stack_columns(xs)``     the ``n x k`` matrix with columns ``xs``
``to_host(M)``, ``from_host(s, like)``  small matrices / vectors to and from float64 NumPy
``basis_*``               the Lanczos basis ``Q``: new, capacity, grow, column, set, project_out,
                          combine
========================  ==========================================================================
"""

from __future__ import annotations

from types import ModuleType

from srtheory.backend import numpy_ops

__all__ = ["ops_for"]


def ops_for(x, /) -> ModuleType:
    """The operations module for arrays like ``x``: torch's for a ``torch.Tensor``, else NumPy's."""
    if type(x).__module__.partition(".")[0] == "torch":
        from srtheory.backend import torch_ops

        return torch_ops
    return numpy_ops
