"""BatchNorm in a training step: every pass of the step normalised by the clean batch's statistics.

A training step may run the module more than once: on the clean batch, and for the penalty on
perturbed inputs (``c2c``, ``kl``, ``vat``) or inside ``torch.func`` transforms (the Jacobian and
gradient penalties' products). BatchNorm in training mode would normalise each pass by that
pass's own batch and update its running statistics in place every time: inside ``torch.func``
the in-place update is an error, the running statistics would drift towards perturbed rows, and
a derivative taken through the batch's statistics is not a per-row derivative at all (moving
every row's input together leaves a normalised feature unchanged, so the "Jacobian" of a network
that starts with BatchNorm would vanish).

What :func:`clean_batch_statistics` does instead, for the layers that normalise by batch
statistics (``BatchNorm1d/2d/3d`` in training mode, or without running statistics):

* the clean batch runs first, through each layer's own forward: batch statistics, the running
  statistics updated once, exactly as in a plain training step; each layer's per-channel mean and
  (biased) variance of that pass are kept, with their gradient with respect to the parameters;
* every later pass of the step (the penalty's) normalises by those kept statistics. Each row's
  outputs then depend on its own input only, so the penalties' per-row derivatives are exact
  derivatives of the network with this batch's normalisation, and their gradient with respect to
  the parameters flows through the statistics as the data loss's does (BatchNorm's invariance to
  the scale of the weights before it holds for the penalty too: training cannot lower a penalty
  by shrinking them).

The cost is one forward pass of the clean batch per step, for modules with such layers only.
"""

from __future__ import annotations

import itertools
import types
from contextlib import contextmanager

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def batch_norm_layers(module: nn.Module) -> tuple[_BatchNorm, ...]:
    """The BatchNorm layers of ``module`` (whatever their mode)."""
    return tuple(m for m in module.modules() if isinstance(m, _BatchNorm))


def _uses_batch_statistics(layer: _BatchNorm) -> bool:
    return layer.training or layer.running_mean is None


def _channel_shape(h: torch.Tensor) -> tuple[int, ...]:
    return (1, -1) + (1,) * (h.dim() - 2)


def one_row_message(layer: nn.Module) -> str:
    """Why a training batch of one row cannot go through ``layer``, and what to do."""
    return (
        f"{layer} normalises by batch statistics, which a training batch of one row does not "
        "have (one value per channel). Use batch_size >= 2, or a normalisation without batch "
        "statistics (GroupNorm, LayerNorm)"
    )


@contextmanager
def values_per_channel(layers):
    """Within the block, ``found[layer]`` is set to the values per channel of one row of the
    first input each of ``layers`` gets (1 for ``BatchNorm1d`` on rows of features, the pixels
    of a feature map for ``BatchNorm2d``)."""
    found: dict = {}

    def record(layer, args):
        h = args[0]
        found.setdefault(layer, h[:1].numel() // h.shape[1] if h.dim() > 1 else 1)

    hooks = [layer.register_forward_pre_hook(record) for layer in layers]
    try:
        yield found
    finally:
        for hook in hooks:
            hook.remove()


def _recording(layer: _BatchNorm, own_forward, kept: list):
    """The layer's own forward, keeping the batch's per-channel mean and variance."""

    def forward(h):
        values = h.numel() // h.shape[1] if h.dim() > 1 else h.numel()
        if values < 2:
            raise ValueError(one_row_message(layer))
        dims = [0, *range(2, h.dim())]
        kept.append((h.mean(dims), h.var(dims, correction=0)))
        return own_forward(h)

    return forward


def _normalising(layer: _BatchNorm, own_forward, kept: list):
    """Normalisation by the kept statistics: rows independent, nothing updated in place."""
    if not kept:  # the layer took no part in the clean pass: it keeps its own behaviour
        return own_forward
    calls = itertools.cycle(kept)  # a layer applied k times per pass has k kept statistics

    def forward(h):
        mean, var = next(calls)
        shape = _channel_shape(h)
        out = (h - mean.reshape(shape)) * torch.rsqrt(var.reshape(shape) + layer.eps)
        if layer.weight is not None:
            out = out * layer.weight.reshape(shape)
        if layer.bias is not None:
            out = out + layer.bias.reshape(shape)
        return out

    return forward


@contextmanager
def clean_batch_statistics(module: nn.Module, x: torch.Tensor, layers=None):
    """Within the block, BatchNorm layers normalise by the statistics of ``module(x)``.

    On entry, for a module with layers that normalise by batch statistics, runs the clean pass
    ``module(x)`` (see the module notes) and yields its outputs; every pass inside the block then
    normalises by that pass's statistics. For any other module it runs nothing and yields None.
    ``layers``: :func:`batch_norm_layers` of ``module`` when the caller has them (found once, not
    at every step). Each layer's ``forward`` is its own again on exit.
    """
    layers = batch_norm_layers(module) if layers is None else layers
    active = [m for m in layers if _uses_batch_statistics(m)]
    if not active:
        yield None
        return
    own = {m: vars(m).get("forward") for m in active}  # a forward set on the instance, if any
    kept: dict = {m: [] for m in active}
    try:
        for m in active:
            m.forward = _recording(m, own[m] or types.MethodType(type(m).forward, m), kept[m])
        clean = module(x)
        for m in active:
            m.forward = _normalising(m, own[m] or types.MethodType(type(m).forward, m), kept[m])
        yield clean
    finally:
        for m in active:
            if own[m] is None:
                vars(m).pop("forward", None)
            else:
                m.forward = own[m]
