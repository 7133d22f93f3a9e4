"""K-FAC for plain MLPs: Kronecker factors, their damped inverse, and preconditioners for Alg. 1b.

SRR_NOTES §6, Algorithm 1b: every few batches the authors' code builds a K-FAC approximation
(Martens & Grosse 2015) of the curvature on the current batch and, in step 2.8 of Algorithm 1,
replaces the eigenvector update ``v <- normalize(v + alpha * r)`` by

    v <- normalize(v + alpha * P(r)),    r = H v - lambda v,    P(r) = (G^{-1} (x) A^{-1}) r

per layer, with ``A = E[a a^T]`` (layer inputs with a bias column) and ``G = E[g g^T]``
(back-propagated gradients with respect to the layer's pre-activations), both inverted through
their eigendecompositions.  The same factors make K-FAC the optimizer baseline of §8
(:func:`srtheory.baselines.kfac_optimizer`).

Network and flat parameter layout
---------------------------------
The network is the shared MLP of :mod:`srtheory.mlp` (``spec = srtheory.mlp.mlp_spec((d_0, ..., d_L),
activation=..., loss=...)``): layer ``l`` maps ``h_l`` to ``s_l = W_l h_l + b_l``, hidden layers
apply ``phi``, the last layer is linear, and ``theta = [vec(W_0), b_0, vec(W_1), b_1, ...]`` (row-major
``W_l`` of shape ``(d_{l+1}, d_l)``; torch's ``parameters()`` order).  K-FAC works on the
*homogeneous* block ``Wbar_l = [W_l | b_l]`` of shape ``(d_{l+1}, d_l + 1)``, flattened row-major:
``theta[srtheory.mlp.homogeneous_index(spec)]`` lists these blocks, and every function here that
takes or returns a flat vector (``r``, ``v``, ``P(r)``, gradients) uses the ``theta`` layout, the
gather and scatter being done inside.  With ``abar = [h_l; 1]`` the gradient of a sample's loss with
respect to ``Wbar_l`` is ``g abar^T`` (``g = dloss/ds_l``), whose row-major flattening is
``kron(g, abar)``, so the per-layer Fisher block (in the homogeneous order) is
``E[(g g^T) (x) (abar abar^T)] ~ G (x) A`` in exactly the ``(G (x) A)`` order written in the notes,
and ``(G (x) A) vec(R) = vec(G R A)`` for a block ``R`` of shape ``(d_{l+1}, d_l + 1)``.

Losses are means over the samples: ``"squared"``, ``l_n = 1/2 ||y_n - t_n||^2`` (targets
``(N, d_L)``); ``"softmax_ce"``, ``l_n = -log softmax(y_n)[t_n]`` (integer labels ``(N,)``).

Curvature flavours (``fisher=``): ``"ggn"`` (default, deterministic): ``G = E_n[J_n^T H_n J_n]``
with ``H_n`` the Hessian of the loss in the network output, i.e. the exact expectation of the
model's Fisher; ``"empirical"``: ``g`` from the given targets (the authors' forest run,
``kfac_rand=False``); ``"sampled"``: ``g`` from targets drawn from the model's predictive
distribution (``kfac_rand=True``; needs ``rng``).

The only ``eigh`` calls here are of the small K-FAC factors ``A`` and ``G`` -- that is the
algorithm of Alg. 1b (step 2), not a dense Hessian; dense references live in :mod:`srtheory.oracle`.

What is where (every public name is importable from ``srtheory.kfac`` itself)
-----------------------------------------------------------------------------
* :mod:`~srtheory.kfac.network` -- the explicit per-sample back-propagation :func:`mlp_backprop`
  (:class:`Backprop`) through the shared MLP of :mod:`srtheory.mlp`;
* :mod:`~srtheory.kfac.factors` -- K-FAC itself: ``FISHERS``, :func:`kfac_factors`
  (:class:`KFACFactors`), :func:`kfac_inverse` (:class:`KFACInverse`), :func:`kfac_precondition`,
  :func:`kfac_multiply`, :func:`kfac_preconditioner`;
* :mod:`~srtheory.kfac.preconditioners` -- the other ``P`` of Alg. 1b:
  :func:`jacobi_preconditioner`, :func:`diagonal_estimate`, :func:`as_preconditioner`.

"The module docstring" in the docstrings of those modules means this one.
"""

# FISHERS is not in __all__ but is part of srtheory.kfac (srtheory.baselines uses it):
# re-exported with a redundant alias.
from srtheory.kfac.factors import FISHERS as FISHERS
from srtheory.kfac.factors import (
    KFACFactors,
    KFACInverse,
    kfac_factors,
    kfac_inverse,
    kfac_multiply,
    kfac_precondition,
    kfac_preconditioner,
)
from srtheory.kfac.network import Backprop, mlp_backprop
from srtheory.kfac.preconditioners import (
    as_preconditioner,
    diagonal_estimate,
    jacobi_preconditioner,
)

__all__ = [
    "Backprop",
    "KFACFactors",
    "KFACInverse",
    "as_preconditioner",
    "diagonal_estimate",
    "jacobi_preconditioner",
    "kfac_factors",
    "kfac_inverse",
    "kfac_multiply",
    "kfac_precondition",
    "kfac_preconditioner",
    "mlp_backprop",
]
