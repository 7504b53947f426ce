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

    In training (:meth:`backward`) the term is not differentiated by autograd: its gradient
    ``alpha * W / batch_size`` is added to ``W.grad`` in place after the data loss's backward pass.
    That is the gradient of the sum of squares, so every optimizer takes the same step as with the
    explicit term; with Adam this is coupled L2 (the decay passes through Adam's moments, as in
    scikit-learn and ``Adam(weight_decay=...)``), not AdamW's decoupled decay. It costs one pass
    over the weights instead of autograd's several; ``Adam(weight_decay=...)`` would allocate a
    new gradient tensor per weight every step, which measured slower than the in-place add.
    """

    name = "l2"
    alpha_range = (1e-4, 1.0)

    @staticmethod
    def weights(module) -> list[torch.nn.Parameter]:
        """The decayed parameters: those with more than one dimension (weights, not biases)."""
        return [w for w in module.parameters() if w.dim() > 1]

    def per_sample(self, module, x, y, outputs):
        squares = sum(w.square().sum() for w in self.weights(module))
        share = 0.5 * squares / x.shape[0]
        return share * torch.ones(x.shape[0], dtype=x.dtype, device=x.device)

    def backward(self, module, x, y, *, labels_checked=False):
        if not self.active:
            return super().backward(module, x, y, labels_checked=labels_checked)
        outputs = module(x)
        loss = self.mean_data_loss(outputs, y)
        loss.backward()
        rate = self.scale / x.shape[0]  # d/dW of 0.5 * alpha * ||W||^2 / B is (alpha / B) * W
        squares = 0.0
        with torch.no_grad():
            for w in self.weights(module):
                squares = squares + torch.dot(w.reshape(-1), w.reshape(-1))
                if w.grad is None:
                    w.grad = rate * w
                else:
                    w.grad.add_(w, alpha=rate)
        return loss.detach() + 0.5 * rate * squares, outputs
