"""The user's torch state, kept as the user left it: global settings and the module's modes.

Training needs gradients and a seeded generator, whatever the caller has set around ``fit``
(``torch.no_grad()``, ``torch.inference_mode()``, ``torch.set_default_dtype``, a seed of their
own); everything else that runs the module (the shape check, the FLOP count behind
``n_threads="auto"``, predictions) runs it in evaluation mode, without gradients, on a forked
generator, so that it changes no running statistic, draws nothing from the training's stream or
the user's, and leaves every submodule in the mode it found it in.
"""

from __future__ import annotations

from contextlib import ExitStack, contextmanager

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def _cuda_devices(*devices) -> list[int]:
    """The CUDA device indices among ``devices`` (torch devices or tensors), for ``fork_rng``."""
    found = set()
    for device in devices:
        device = device.device if isinstance(device, torch.Tensor) else torch.device(device)
        if device.type == "cuda":
            found.add(device.index if device.index is not None else torch.cuda.current_device())
    return sorted(found)


def _module_devices(module: nn.Module) -> list[torch.device]:
    return list({t.device for t in (*module.parameters(), *module.buffers())})


@contextmanager
def seeded(seed: int, device: torch.device):
    """Seed torch for one fit without changing the caller's global generators."""
    with torch.random.fork_rng(devices=_cuda_devices(device)):
        torch.manual_seed(seed)
        yield


@contextmanager
def training_allowed():
    """Gradients on, whatever the caller's ``no_grad`` or ``inference_mode`` around ``fit``."""
    with torch.inference_mode(False), torch.enable_grad():
        yield


@contextmanager
def default_dtype(dtype: torch.dtype):
    """torch's default precision set to ``dtype`` for one fit, whatever the caller set with
    ``torch.set_default_dtype``: the module is built, and every tensor training creates without
    a dtype is made, in the precision the data is given in; the caller's default comes back
    afterwards. Nothing is set when the default is ``dtype`` already (the usual case), so fits in
    threads side by side never race on the global setting."""
    previous = torch.get_default_dtype()
    if previous == dtype:
        yield
        return
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


@contextmanager
def evaluation_mode(module: nn.Module):
    """Every submodule in evaluation mode (through ``module.eval()``, which a module may
    override), each put back in its own mode afterwards."""
    submodules = list(module.modules())
    modes = [m.training for m in submodules]
    try:
        if any(modes):
            module.eval()
        yield module
    finally:
        for m, training in zip(submodules, modes):
            if m.training is not training:
                object.__setattr__(m, "training", training)  # a plain flag: no need for nn's checks


@contextmanager
def probing(module: nn.Module, *tensors: torch.Tensor):
    """Run ``module`` outside training: evaluation mode, no gradient, and a forked generator
    (the CPU's and that of every CUDA device of the module and of ``tensors``), so the run
    updates no running statistic and draws nothing from the stream the caller sees."""
    devices = []
    if torch.cuda.is_available():  # without CUDA, no parameter to look at
        devices = _cuda_devices(*_module_devices(module), *tensors)
    with ExitStack() as stack:
        stack.enter_context(torch.random.fork_rng(devices=devices))
        stack.enter_context(torch.no_grad())
        stack.enter_context(evaluation_mode(module))
        yield module


def forward_flops(module: nn.Module, x_row: torch.Tensor) -> float:
    """FLOPs of one row's forward pass, counted by torch on a probing run (any module: MLP,
    CNN, ...)."""
    with probing(module, x_row), FlopCounterMode(display=False) as counter:
        module(x_row)
    return float(counter.get_total_flops())
