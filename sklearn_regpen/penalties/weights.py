"""Penalties without an input-space term: ``none`` (the baseline) and ``l2`` (weight decay)."""

from __future__ import annotations

from ._base import Penalty


class NoPenalty(Penalty):
    """``none``: the unregularized baseline; the term is zero."""

    name = "none"
    uses_alpha = False


class L2Penalty(Penalty):
    """``l2``: weight decay on the weight matrices (not the biases), as in scikit-learn's MLP.

    scikit-learn adds ``0.5 * alpha * sum ||W||^2 / batch_size`` to each batch loss, and so does
    the training objective here (:attr:`weight_decay` is ``alpha``). Its gradient ``alpha * W /
    batch_size`` is not built by autograd: the estimators hand it to Adam as that step's coupled
    ``weight_decay`` (inside the fused update, at no extra pass over the weights), which adds it to
    the gradient before the moments, as scikit-learn does; AdamW's decoupled decay would differ.

    The same ``alpha`` means the same decay as ``MLPClassifier(alpha=...)`` on the hidden layers.
    Two differences in what it acts on: a binary classifier here has two softmax outputs where
    scikit-learn has one logistic unit, and with ``w1 - w2`` playing the logistic weight, the decay
    on the output layer is ``alpha / 2`` of scikit-learn's at the optimum ``w2 = -w1``; and a
    regressor with ``K`` outputs sums half the squared error over them where scikit-learn averages,
    so its data loss is ``K`` times scikit-learn's and the same ``alpha`` decays ``K`` times less
    relative to it.
    """

    name = "l2"
    alpha_range = (1e-4, 1.0)

    @property
    def weight_decay(self) -> float:
        return self.alpha
