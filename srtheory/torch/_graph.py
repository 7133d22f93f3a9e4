"""What a loss's autograd graph says about the derivatives srtheory may take of it (private).

:func:`inspect_graph` walks ``loss.grad_fn`` (also after ``backward()``: the nodes and their
scalar attributes outlive the freed saved tensors) and reports

* **non-smooth operations** (ReLU, max-pooling, abs, hardtanh, clamp, max/min, leaky/PReLU, ELU,
  hardswish, smooth-L1/Huber, sort/top-k, ...): the loss is not C² along a finite-difference step
  that may cross a kink, so finite differences of gradients are wrong there (SRR_NOTES §5.4),
  while autograd's exact derivatives hold almost everywhere;
* **normalisation layers whose third derivative torch 2.13 gets wrong**: ``F.batch_norm`` with
  batch statistics (training mode; ``instance_norm`` runs through it) and ``F.layer_norm``;
  eval-mode batch norm (an affine map) and ``F.group_norm`` are correct;
* **batch norm in training mode** (it updates running statistics at every forward pass).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

# autograd node name -> the operation a user wrote (C² fails somewhere on its domain)
_NONSMOOTH = {
    "ReluBackward0": "relu",
    "ReluBackward1": "relu",
    "ThresholdBackward0": "threshold/relu",
    "ThresholdBackward1": "threshold/relu",
    "HardtanhBackward0": "hardtanh/relu6",
    "HardtanhBackward1": "hardtanh/relu6",
    "LeakyReluBackward0": "leaky_relu",
    "LeakyReluBackward1": "leaky_relu",
    "RreluWithNoiseBackward0": "rrelu",
    "PreluKernelBackward0": "prelu",
    "PreluBackward0": "prelu",
    "EluBackward0": "elu/selu/celu",
    "EluBackward1": "elu/selu/celu",
    "CeluBackward0": "celu",
    "SeluBackward0": "selu",
    "HardswishBackward0": "hardswish",
    "HardsigmoidBackward0": "hardsigmoid",
    "HardshrinkBackward0": "hardshrink",
    "SoftshrinkBackward0": "softshrink",
    "AbsBackward0": "abs",
    "SgnBackward0": "sign",
    "SignBackward0": "sign",
    "ClampBackward0": "clamp",
    "ClampBackward1": "clamp",
    "ClampMinBackward0": "clamp_min",
    "ClampMinBackward1": "clamp_min",
    "ClampMaxBackward0": "clamp_max",
    "ClampMaxBackward1": "clamp_max",
    "MaximumBackward0": "maximum",
    "MinimumBackward0": "minimum",
    "FmaxBackward0": "fmax",
    "FminBackward0": "fmin",
    "MaxBackward0": "max",
    "MaxBackward1": "max",
    "MinBackward0": "min",
    "MinBackward1": "min",
    "AmaxBackward0": "amax",
    "AminBackward0": "amin",
    "MaxPool1DWithIndicesBackward0": "max_pool1d",
    "MaxPool2DWithIndicesBackward0": "max_pool2d",
    "MaxPool3DWithIndicesBackward0": "max_pool3d",
    "AdaptiveMaxPool1DBackward0": "adaptive_max_pool1d",
    "AdaptiveMaxPool2DBackward0": "adaptive_max_pool2d",
    "AdaptiveMaxPool3DBackward0": "adaptive_max_pool3d",
    "FractionalMaxPool2DBackward0": "fractional_max_pool2d",
    "FractionalMaxPool3DBackward0": "fractional_max_pool3d",
    "SmoothL1LossBackward0": "smooth_l1_loss",
    "HuberLossBackward0": "huber_loss",
    "L1LossBackward0": "l1_loss",
    "MultiMarginLossBackward0": "multi_margin_loss",
    "MultilabelMarginLossBackward0": "multilabel_margin_loss",
    "SortBackward0": "sort",
    "SortBackward1": "sort",
    "TopkBackward0": "topk",
    "KthvalueBackward0": "kthvalue",
    "MedianBackward0": "median",
    "MedianBackward1": "median",
    "NanmedianBackward0": "nanmedian",
}


class GraphReport(NamedTuple):
    """What :func:`inspect_graph` found (each a sorted tuple of operation names)."""

    nonsmooth: tuple  # operations whose loss is not C² across a kink
    bad_third_order: tuple  # normalisations with a wrong torch third derivative
    train_batch_norm: bool  # batch norm with batch statistics (updates running statistics)

    @property
    def smooth(self) -> bool:
        return not self.nonsmooth


def inspect_graph(loss: torch.Tensor) -> GraphReport:
    """Walk the autograd graph of ``loss`` once (iteratively; each node visited once)."""
    nonsmooth, bad, train_bn = set(), set(), False
    root = getattr(loss, "grad_fn", None)
    stack, seen = [root], set()
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        name = type(fn).__name__
        if name in _NONSMOOTH:
            nonsmooth.add(_NONSMOOTH[name])
        elif "BatchNorm" in name:  # Native/Cudnn/Miopen BatchNormBackward
            if bool(getattr(fn, "_saved_training", True)):
                bad.add("batch_norm (training mode)")
                train_bn = True
        elif "LayerNorm" in name:
            bad.add("layer_norm")
        stack.extend(nxt for nxt, _ in fn.next_functions)
    return GraphReport(tuple(sorted(nonsmooth)), tuple(sorted(bad)), train_bn)


def nonsmooth_fd_message(where: str, ops) -> str:
    return (
        f"{where}: finite differences need a loss that is C² along the step w ± ε·v, but the loss "
        f"graph contains non-smooth operations ({', '.join(ops)}): the step crosses their kinks "
        "and the finite-difference Hv and third-order term are wrong there (measured: ρ 136.8 "
        "for a true 9.74 on a ReLU ResNet).  Use derivative/method 'exact' (autograd's "
        "derivatives, correct almost everywhere through ReLU and max-pooling), or smooth "
        "activations (GELU, SiLU, softplus) and average pooling for finite differences."
    )


HALF = (torch.float16, torch.bfloat16)


def half_precision_message(where: str, dtype) -> str:
    return (
        f"{where}: parameters in {dtype} are refused: curvature needs float32 or float64 "
        "(in half precision the finite-difference step is lost to rounding and the Hessian "
        "products carry ~1e-2 relative error; measured: ρ 8.81 for a true 4.28 in bfloat16).  "
        "Keep float32 parameters (master weights) and run the forward pass under torch.autocast "
        "if you need the speed, or call model.float() before measuring curvature."
    )


_NONSMOOTH_MODULES = tuple(
    getattr(torch.nn, name)
    for name in (
        "ReLU", "ReLU6", "Hardtanh", "LeakyReLU", "PReLU", "RReLU", "ELU", "SELU", "CELU",
        "Hardswish", "Hardsigmoid", "Hardshrink", "Softshrink", "MaxPool1d", "MaxPool2d",
        "MaxPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d",
        "FractionalMaxPool2d", "FractionalMaxPool3d", "L1Loss", "SmoothL1Loss", "HuberLoss",
        "MultiMarginLoss", "MultiLabelMarginLoss",
    )
    if hasattr(torch.nn, name)
)


def inspect_modules(model: torch.nn.Module) -> GraphReport:
    """The same report from a model's modules (where no graph is available: a closure that
    returned a float or a detached loss).  Sees only ``nn.Module`` layers, not functional calls."""
    nonsmooth, bad, train_bn = set(), set(), False
    for m in model.modules():
        if isinstance(m, _NONSMOOTH_MODULES):
            nonsmooth.add(type(m).__name__)
        elif isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and (
            m.training or not m.track_running_stats
        ):
            if not getattr(m, "_srtheory_composite", False):
                bad.add("batch_norm (training mode)")
            train_bn = True
        elif isinstance(m, torch.nn.LayerNorm) and not getattr(m, "_srtheory_composite", False):
            bad.add("layer_norm")
    return GraphReport(tuple(sorted(nonsmooth)), tuple(sorted(bad)), train_bn)
