"""The user's torch state, kept as the user left it: global settings and the module's modes.

Training needs gradients and a seeded generator, whatever the caller has set around ``fit``
(``torch.no_grad()``, ``torch.inference_mode()``, ``torch.set_default_dtype``, a seed of their
own); everything else that runs the module (the shape check, the FLOP count behind
``n_threads="auto"``, predictions) runs it in evaluation mode, without gradients, on a forked
generator, so that it changes no running statistic, draws nothing from the training's stream or
the user's, and leaves every submodule in the mode it found it in.
"""

from __future__ import annotations

from contextlib import contextmanager

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
    """Seed torch for one fit: the CPU's generator and the training device's, each put back as
    it was afterwards. No other generator is touched (``torch.manual_seed`` would seed every
    CUDA device, or queue that seeding until CUDA starts, over the caller's own seed)."""
    with torch.random.fork_rng(devices=_cuda_devices(device)):
        torch.default_generator.manual_seed(seed)
        if device.type == "cuda":
            with torch.cuda.device(device):
                torch.cuda.manual_seed(seed)
        if device.type != "mps":
            yield
            return
        state = torch.mps.get_rng_state()  # fork_rng forks CUDA's generators only
        torch.mps.manual_seed(seed)
        try:
            yield
        finally:
            torch.mps.set_rng_state(state)


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


class probing:
    """Run ``module`` outside training, within the block: every submodule in evaluation mode
    (through ``module.eval()``, which a module may override), no gradient, and torch's
    generators (the CPU's, and that of every CUDA device of the module and of ``tensors``) put
    back as they were afterwards, so the run updates no running statistic and draws nothing from
    the stream the caller sees; each submodule's mode is put back too.

    A class rather than a generator: predictions enter it once per call, and it costs a few
    microseconds (no ``contextlib`` or ``fork_rng`` machinery).
    """

    def __init__(self, module: nn.Module, *tensors: torch.Tensor):
        self.module = module
        self.tensors = tensors

    def __enter__(self) -> nn.Module:
        module = self.module
        self._devices = []
        if torch.cuda.is_available():  # without CUDA, no parameter to look at
            self._devices = _cuda_devices(*_module_devices(module), *self.tensors)
        self._cpu_state = torch.get_rng_state()
        self._cuda_states = [torch.cuda.get_rng_state(d) for d in self._devices]
        self._grad = torch.is_grad_enabled()
        self._submodules = list(module.modules())
        self._modes = [m.training for m in self._submodules]
        torch.set_grad_enabled(False)
        if any(self._modes):
            module.eval()
        return module

    def __exit__(self, *exc) -> None:
        for m, training in zip(self._submodules, self._modes):
            if m.training is not training:
                object.__setattr__(m, "training", training)  # a plain flag: nn's checks not needed
        torch.set_grad_enabled(self._grad)
        torch.set_rng_state(self._cpu_state)
        for device, state in zip(self._devices, self._cuda_states):
            torch.cuda.set_rng_state(state, device)


def forward_flops(module: nn.Module, x_row: torch.Tensor) -> float:
    """FLOPs of one row's forward pass, counted by torch on a probing run (any module: MLP,
    CNN, ...)."""
    with probing(module, x_row), FlopCounterMode(display=False) as counter:
        module(x_row)
    return float(counter.get_total_flops())
