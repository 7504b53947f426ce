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

    In training (:meth:`backward`) the term is not differentiated by autograd. Its gradient
    ``alpha * W / batch_size`` (:meth:`weight_decay`) is either added to ``W.grad`` in place after
    the data loss's backward pass, or, in the estimators, handed to Adam as its ``weight_decay``
    for that step, which adds it to the gradient inside Adam's (fused) update at no extra pass
    over the weights. Both are the gradient of the sum of squares, so the optimizer takes the same
    step as with the explicit term: coupled L2, the decay passing through Adam's moments as in
    scikit-learn, not AdamW's decoupled decay. The value of the term (for the reported loss) costs
    one dot product per weight matrix.
    """

    name = "l2"
    alpha_range = (1e-4, 1.0)

    @staticmethod
    def weights(module) -> list[torch.nn.Parameter]:
        """The decayed parameters: those with more than one dimension (weights, not biases)."""
        return [w for w in module.parameters() if w.dim() > 1]

    def weight_decay(self, n_rows: int) -> float:
        # d/dW of 0.5 * alpha * ||W||^2 / B is (alpha / B) * W
        return self.scale / n_rows

    def per_sample(self, module, x, y, outputs):
        squares = sum(w.square().sum() for w in self.weights(module))
        share = 0.5 * squares / x.shape[0]
        return share * torch.ones(x.shape[0], dtype=x.dtype, device=x.device)

    def backward(self, module, x, y, *, labels_checked=False, optimizer_decays=False):
        if not self.active:
            return super().backward(module, x, y, labels_checked=labels_checked)
        outputs = module(x)
        loss = self.mean_data_loss(outputs, y)
        loss.backward()
        rate = self.weight_decay(x.shape[0])
        squares = 0.0
        with torch.no_grad():
            for w in self.weights(module):
                flat = w.reshape(-1)
                squares = squares + torch.dot(flat, flat)
                if optimizer_decays:
                    continue
                if w.grad is None:
                    w.grad = rate * w
                else:
                    w.grad.add_(w, alpha=rate)
        return loss.detach() + 0.5 * rate * squares, outputs
