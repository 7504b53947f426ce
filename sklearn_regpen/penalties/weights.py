"""Penalties that look at the weights only: ``none`` (the baseline) and ``l2`` (weight decay)."""

from __future__ import annotations

import torch

from ._base import Penalty


class NoPenalty(Penalty):
    """``none``: the unregularized baseline; the term is zero."""

    name = "none"
    uses_alpha = False

    @property
    def active(self) -> bool:
        return False

    def per_sample(self, module, x, y, outputs):
        return x.new_zeros(x.shape[0])


class L2Penalty(Penalty):
    """``l2``: weight decay on the weight matrices (not the biases), as in scikit-learn's MLP.

    scikit-learn adds ``0.5 * alpha * sum ||W||^2 / batch_size`` to each batch loss; every sample of
    a batch carries an equal share, so ``alpha`` here means what ``MLPClassifier(alpha=...)`` means.
    """

    name = "l2"
    alpha_range = (1e-4, 1.0)

    def per_sample(self, module, x, y, outputs):
        squares = sum(w.square().sum() for w in module.parameters() if w.dim() > 1)
        share = 0.5 * squares / x.shape[0]
        return share * torch.ones(x.shape[0], dtype=x.dtype, device=x.device)
