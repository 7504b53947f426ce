"""The training objective: the data loss, the penalty's term and weight decay, in one place.

A penalty (``penalties/``) computes only its per-row term, and the outputs of the forward pass it
ran (:class:`~sklearn_regpen.penalties.Term`). Everything around the term lives here, once:

* the data loss: cross-entropy on logits, or half the squared error;
* unlabelled rows (classification labels ``< 0``): no data loss, the term all the same;
* sample weights: every row's data loss and term are weighted, normalised by the weights' sum;
* sharing a forward pass: the data loss is taken on the outputs the term computed on the way,
  when it did, so the Jacobian and gradient penalties cost no extra forward pass;
* BatchNorm: a module whose layers normalise by batch statistics runs the clean batch first,
  and every pass of the penalty normalises by that batch's statistics (``_batch_norm.py``);
* weight decay (``l2``): ``0.5 * alpha * sum ||W||^2 / B`` over the weight matrices, ``B`` the
  batch's rows (or the sum of its weights, as in scikit-learn's MLP), whose gradient is either
  handed to the optimizer (Adam's and SGD's coupled ``weight_decay``) or added in closed form,
  never built by autograd.

The loss of a batch ``(x, y)`` with weights ``w`` (all ones by default) is::

    sum_labelled w_i loss_i / sum_labelled w_i  +  scale * sum_i w_i term_i / sum_i w_i
        +  0.5 * alpha_decay * sum ||W||^2 / sum_i w_i

so that a row of weight 2 counts as two copies of it: with the whole data in one batch, weights
and repeated rows give the same objective, for a penalty that draws no random numbers (one that
draws noise, a random start or projections for each row gives each copy a draw of its own: the
same objective in expectation).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ._autodiff import check_class_logits
from ._batch_norm import clean_batch_statistics

TASKS = ("classification", "regression")


def data_loss(task: str, outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-row data loss: cross-entropy on logits, or half the squared error summed over outputs.

    Half the squared error is the negative log-likelihood of a unit-variance Gaussian, so the
    classifier and the regressor both minimise a log-loss. For one output it is scikit-learn's
    ``MLPRegressor`` loss; for ``K`` outputs scikit-learn averages over them, which is this loss
    divided by ``K``. Unlabelled rows (``y < 0``) are given label 0 here: the objective masks them.
    """
    if task == "classification":
        check_class_logits(outputs)
        return F.cross_entropy(outputs, y.clamp(min=0), reduction="none")
    return 0.5 * (outputs - y.reshape(outputs.shape)).square().sum(dim=1)


def decayed_weights(module: nn.Module) -> list[nn.Parameter]:
    """The parameters weight decay acts on: those of more than one dimension (weights, kernels),
    not the biases (nor the scales of normalisation layers), as in scikit-learn's MLP."""
    return [w for w in module.parameters() if w.dim() > 1]


def weight_sq_norm(module: nn.Module) -> torch.Tensor:
    """``sum ||W||^2`` over :func:`decayed_weights` (0 for a module without any)."""
    weights = decayed_weights(module)
    if not weights:
        return torch.zeros(())
    return sum(torch.dot(w.reshape(-1), w.reshape(-1)) for w in weights)


def _weighted_mean(values: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    """Mean of ``values`` over their last dimension, weighted by ``weights`` when given."""
    if weights is None:
        return values.mean(-1)
    tiny = torch.finfo(values.dtype).tiny
    return (weights * values).sum(-1) / weights.sum(-1).clamp_min(tiny)


@dataclass(frozen=True)
class Objective:
    """The training objective of one penalty.

    Parameters
    ----------
    penalty : Penalty
        Supplies the per-row term (:meth:`Penalty.evaluate`), its ``scale`` and ``task``, and the
        weight-decay rate ``weight_decay`` (``alpha`` for ``l2``, else 0).
    check_labels : bool, default=True
        Refuse batches with unlabelled rows when the penalty needs labels. The estimators check
        all of ``y`` once per fit and pass False: the look at a batch's labels is a host
        synchronisation on a GPU.
    batch_norms : tuple of BatchNorm layers, or None, default=None
        The module's BatchNorm layers (``_batch_norm.batch_norm_layers``) when the caller has
        found them once (the training epoch does); None finds them at every call.
    """

    penalty: object
    check_labels: bool = True
    batch_norms: tuple | None = None

    def _parts(self, module, x, y, sample_weight):
        """Data loss plus term (differentiable), and the outputs."""
        losses, rows, outputs = self.row_values(module, x, y)
        return self.weigh(losses, rows, y, sample_weight, self.penalty.scale), outputs

    def row_values(self, module, x, y):
        """``(losses, rows, outputs)``: each row's data loss, each row's term (None where it is
        identically zero), and the outputs the data loss was taken on."""
        penalty = self.penalty
        if self.check_labels:
            penalty.check_labels(y)
        with clean_batch_statistics(module, x, self.batch_norms) as clean:
            term = penalty.evaluate(module, x, y)
        if term.outputs is not None:
            outputs = term.outputs
        else:
            outputs = module(x) if clean is None else clean
        return data_loss(penalty.task, outputs, y), term.rows, outputs

    def weigh(self, losses, rows, y, sample_weight, scale):
        """The data loss plus ``scale`` times the term, from :meth:`row_values`, rows along the
        last dimension (a leading one holds the members of a vectorized fit, ``_members.py``,
        each with its own objective and ``scale``)."""
        if self.penalty.task == "classification":
            labelled = (y >= 0).to(losses.dtype)
            weights = labelled if sample_weight is None else labelled * sample_weight
            # no labelled row: the data loss is 0, not 0 / 0
            loss = (weights * losses).sum(-1) / weights.sum(-1).clamp_min(1e-30)
        else:
            loss = _weighted_mean(losses, sample_weight)
        if rows is not None:
            loss = loss + scale * _weighted_mean(rows, sample_weight)
        return loss

    def rate(self, x: torch.Tensor, sample_weight=None):
        """Coupled weight-decay rate of this batch: the gradient of the decay is ``rate * W``.
        ``alpha / B`` as a float without weights; with weights a tensor, ``alpha / sum(w)``, which
        stays on the device (no host synchronisation)."""
        decay = self.penalty.weight_decay
        if not decay or sample_weight is None:
            return decay / len(x)
        return decay / sample_weight.sum()

    def loss(self, module: nn.Module, x: torch.Tensor, y: torch.Tensor, sample_weight=None):
        """``(loss, outputs)``: the batch's objective, differentiable, and the outputs the data
        loss was taken on (``module(x)``, or the noisy-input outputs for ``noise``)."""
        loss, outputs = self._parts(module, x, y, sample_weight)
        rate = self.rate(x, sample_weight)
        if self.penalty.weight_decay:
            loss = loss + 0.5 * rate * weight_sq_norm(module)
        return loss, outputs

    def backward(
        self,
        module: nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        sample_weight=None,
        *,
        decay_in_optimizer: bool = False,
    ):
        """Accumulate the gradient of :meth:`loss` into the parameters' ``.grad``.

        Weight decay's gradient ``rate * W`` is not built by autograd: it is left to the
        optimizer (``decay_in_optimizer=True``: the caller set the optimizer's ``weight_decay``
        to :meth:`rate`, a float without sample weights) or added in place. Returns
        ``(loss, outputs)``, the loss detached.
        """
        loss, outputs = self._parts(module, x, y, sample_weight)
        loss.backward()
        loss = loss.detach()
        if not self.penalty.weight_decay:
            return loss, outputs
        rate = self.rate(x, sample_weight)
        with torch.no_grad():
            if not decay_in_optimizer:
                for w in decayed_weights(module):
                    if w.grad is None:
                        w.grad = rate * w
                    else:
                        w.grad.add_(rate * w)
            loss = loss + 0.5 * rate * weight_sq_norm(module)
        return loss, outputs
