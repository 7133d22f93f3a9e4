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
``spec = mlp_spec((d_0, ..., d_L), activation=..., loss=...)``.  Layer ``l = 0..L-1`` maps
``h_l`` (width ``d_l``; ``h_0 = x``) to the pre-activation ``s_l = W_l h_l + b_l`` (width
``d_{l+1}``); hidden layers apply ``phi`` (tanh, sigmoid, softplus or relu), the last layer is
linear.  Its parameters form the *homogeneous* block ``Wbar_l = [W_l | b_l]`` of shape
``(d_{l+1}, d_l + 1)``; ``theta`` is the concatenation over layers of ``Wbar_l`` flattened in
row-major (C) order.  With ``abar = [h_l; 1]`` the gradient of a sample's loss with respect to
``Wbar_l`` is ``g abar^T`` (``g = dloss/ds_l``), whose row-major flattening is ``kron(g, abar)``,
so the per-layer Fisher block is ``E[(g g^T) (x) (abar abar^T)] ~ G (x) A`` in exactly the
``(G (x) A)`` order written in the notes, and
``(G (x) A) vec(R) = vec(G R A)`` for a block ``R`` of shape ``(d_{l+1}, d_l + 1)``.

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
* :mod:`~srtheory.kfac.network` -- the MLP: :class:`MLPSpec`, :func:`mlp_spec`, ``ACTIVATIONS``,
  ``LOSSES``, the flat layout (:func:`mlp_pack`, :func:`mlp_unpack`, :func:`mlp_separate_index`),
  :func:`mlp_init`, :func:`mlp_forward`, :func:`mlp_loss`, :func:`mlp_objective`, and the explicit
  per-sample back-propagation :func:`mlp_backprop` (:class:`Backprop`);
* :mod:`~srtheory.kfac.factors` -- K-FAC itself: ``FISHERS``, :func:`kfac_factors`
  (:class:`KFACFactors`), :func:`kfac_inverse` (:class:`KFACInverse`), :func:`kfac_precondition`,
  :func:`kfac_multiply`, :func:`kfac_preconditioner`;
* :mod:`~srtheory.kfac.preconditioners` -- the other ``P`` of Alg. 1b:
  :func:`jacobi_preconditioner`, :func:`diagonal_estimate`, :func:`as_preconditioner`.

"The module docstring" in the docstrings of those modules means this one.
"""

# FISHERS, ACTIVATIONS and LOSSES are not in __all__ but are part of srtheory.kfac
# (srtheory.baselines uses FISHERS): re-exported with a redundant alias.
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
from srtheory.kfac.network import ACTIVATIONS as ACTIVATIONS
from srtheory.kfac.network import LOSSES as LOSSES
from srtheory.kfac.network import (
    Backprop,
    MLPSpec,
    mlp_backprop,
    mlp_forward,
    mlp_init,
    mlp_loss,
    mlp_objective,
    mlp_pack,
    mlp_separate_index,
    mlp_spec,
    mlp_unpack,
)
from srtheory.kfac.preconditioners import (
    as_preconditioner,
    diagonal_estimate,
    jacobi_preconditioner,
)

__all__ = [
    "Backprop",
    "KFACFactors",
    "KFACInverse",
    "MLPSpec",
    "as_preconditioner",
    "diagonal_estimate",
    "jacobi_preconditioner",
    "kfac_factors",
    "kfac_inverse",
    "kfac_multiply",
    "kfac_precondition",
    "kfac_preconditioner",
    "mlp_backprop",
    "mlp_forward",
    "mlp_init",
    "mlp_loss",
    "mlp_objective",
    "mlp_pack",
    "mlp_separate_index",
    "mlp_spec",
    "mlp_unpack",
]
