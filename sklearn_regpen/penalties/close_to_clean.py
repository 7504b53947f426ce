"""Close-to-clean regularization (c2c paper, eq. 1)."""

from __future__ import annotations

import torch

from ._base import Penalty


class CloseToCleanPenalty(Penalty):
    """``c2c``: ``||f(x) - f(x + epsilon n)||^2``, ``n ~ N(0, I)``; needs no label.

    For small ``epsilon`` its expectation is ``epsilon^2 ||J(x)||_F^2`` (the ``jacobian`` penalty),
    at the cost of one extra forward and backward pass instead of ``min(d, K)``.
    """

    name = "c2c"
    uses_epsilon = True
    alpha_range = (1.0, 100.0)
    epsilon_range = (0.1, 1.0)

    def per_sample(self, module, x, y, outputs):
        clean = module(x) if outputs is None else outputs
        noisy = module(x + self.epsilon * torch.randn_like(x))
        return (self.output(clean) - self.output(noisy)).square().sum(dim=1)
