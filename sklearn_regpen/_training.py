"""The skorch net underneath the estimators.

skorch owns the per-batch machinery: building the module and optimizer from prefixed options
(``module__*``, ``optimizer__*``), the optimizer step, history and device placement. Two things are
ours:

* the penalty, hooked into :meth:`PenalizedNet.train_step_single` (in skorch's ``get_loss`` the
  input has no gradient, so input-space penalties cannot live there);
* in-memory batches: the data is converted to tensors on the training device once per fit, and
  each epoch slices a random permutation of it, instead of going through a ``DataLoader`` that
  collates one row at a time.

The estimators (``estimators.py``) drive the epochs by calling ``fit_loop(..., epochs=1)``, so that
stopping rules, best-weight restoring and divergence checks are ordinary Python around it rather
than exceptions raised from callbacks.
"""

from __future__ import annotations

import torch
from skorch import NeuralNet
from torch.utils.data import TensorDataset

from .penalties import Penalty

#: rows per forward pass when predicting
PREDICT_BATCH_SIZE = 8192


class InMemoryBatches:
    """Batches ``(x, y)`` sliced from tensors already on the device; shuffled when training.

    The permutation is drawn from torch's global generator, which the estimators seed.
    """

    def __init__(self, tensors, batch_size: int, shuffle: bool):
        self.x = tensors[0]
        self.y = tensors[1] if len(tensors) > 1 else None
        self.batch_size = batch_size
        self.shuffle = shuffle

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def __iter__(self):
        n = len(self.x)
        order = torch.randperm(n, device=self.x.device) if self.shuffle else None
        for start in range(0, n, self.batch_size):
            if order is None:
                rows = slice(start, start + self.batch_size)
            else:
                rows = order[start : start + self.batch_size]
            yield self.x[rows], None if self.y is None else self.y[rows]


class PenalizedNet(NeuralNet):
    """A skorch ``NeuralNet`` whose training objective is ``penalty.objective``.

    Parameters
    ----------
    *args, **kwargs
        As for ``skorch.NeuralNet``.
    penalty : Penalty
        Supplies both the data loss and the regularizer (see :meth:`Penalty.objective`).
    """

    def __init__(self, *args, penalty: Penalty, **kwargs):
        super().__init__(*args, **kwargs)
        self.penalty = penalty

    def get_loss(self, y_pred, y_true, X=None, training=False):
        return self.penalty.data_loss(y_pred, y_true).mean()

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        x, y = batch
        loss, outputs = self.penalty.objective(self.module_, x, y)
        loss.backward()
        return {"loss": loss, "y_pred": outputs}

    def get_iterator(self, dataset, training=False):
        if isinstance(dataset, TensorDataset):
            batch_size = self.batch_size if training else PREDICT_BATCH_SIZE
            return InMemoryBatches(dataset.tensors, batch_size, shuffle=training)
        return super().get_iterator(dataset, training=training)
