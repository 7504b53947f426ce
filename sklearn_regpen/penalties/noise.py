"""Noise injection (Sietsma & Dow 1991; techreport "MLP+Noise"; thesis "NI")."""

from __future__ import annotations

from .._random import randn_like
from ._base import Penalty, Term


class NoisePenalty(Penalty):
    """``noise``: the data loss is evaluated at ``x + epsilon * n``, ``n ~ N(0, I)`` each step.

    ``alpha`` is unused: the noise level ``epsilon`` is the only knob. The term is the forward
    pass at the noisy input, on whose outputs the objective takes the data loss (one pass); called
    on its own the penalty returns ``loss(x + epsilon n, y) - loss(x, y)``, the amount noise adds
    to the clean loss. To first order in the network this is ``(epsilon^2 / 2) Tr I(x)`` for the
    cross-entropy (thesis eq. 61).
    """

    name = "noise"
    uses_alpha = False
    uses_epsilon = True
    needs_labels = True
    epsilon_range = (0.1, 1.0)

    def term(self, module, x, y):
        return Term(outputs=module(x + self.epsilon * randn_like(x)), clean=False)
