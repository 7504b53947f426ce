"""Noise injection (Sietsma & Dow 1991; techreport "MLP+Noise"; thesis "NI")."""

from __future__ import annotations

import torch

from ._base import Penalty


class NoisePenalty(Penalty):
    """``noise``: the data loss is evaluated at ``x + epsilon * n``, ``n ~ N(0, I)`` each step.

    ``alpha`` is unused: the noise level ``epsilon`` is the only knob. Called on its own the
    penalty returns ``loss(x + epsilon n, y) - loss(x, y)``, the amount noise adds to the clean
    loss; inside training the noisy loss simply replaces the clean one (one forward pass). To first
    order in the network this adds ``(epsilon^2 / 2) Tr I(x)`` to the cross-entropy (thesis eq. 61).
    """

    name = "noise"
    uses_alpha = False
    uses_epsilon = True
    needs_labels = True
    epsilon_range = (0.1, 1.0)

    def perturb(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.epsilon * torch.randn_like(x)

    def per_sample(self, module, x, y, outputs):
        clean = module(x) if outputs is None else outputs
        return self.data_loss(module(self.perturb(x)), y) - self.data_loss(clean, y)

    def objective(self, module, x, y, *, labels_checked=False):
        if not labels_checked:
            self.check_labels(y)
        outputs = module(self.perturb(x))
        return self.mean_data_loss(outputs, y), outputs
