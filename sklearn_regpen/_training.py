"""The skorch net underneath the estimators.

skorch owns the per-batch machinery: building the module and optimizer from prefixed options
(``module__*``, ``optimizer__*``), the optimizer step, history and device placement. Two things are
ours:

* the penalty, hooked into :meth:`PenalizedNet.train_step_single` (in skorch's ``get_loss`` the
  input has no gradient, so input-space penalties cannot live there);
* in-memory batches: the data is converted to tensors on the training device once per fit, and
  each epoch gathers the rows of a random permutation of it, batch by batch, instead of going
  through a ``DataLoader`` that collates one row at a time;
* a lean training epoch: one optimizer step per batch with no closure, no per-batch callbacks or
  history rows, and the epoch's loss summed on the device and read once per epoch. skorch's own
  epoch spends a host sync (``loss.item()``) and several history and callback calls on every
  batch: a few percent of a small network's step on a CPU, and on a GPU a stall of the kernel
  queue at every batch.

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

#: optimizers whose ``weight_decay`` adds ``weight_decay * W`` to the gradient (coupled L2)
COUPLED_DECAY = (torch.optim.Adam, torch.optim.SGD)

#: Adam's fused implementation runs on the CPU from torch 2.4 (the package allows 2.1)
FUSED_ADAM = tuple(int(v) for v in torch.__version__.split(".")[:2]) >= (2, 4)


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
                x, y = self.x[rows], None if self.y is None else self.y[rows]
            else:  # index_select gathers like x[rows], with less overhead per call
                rows = order[start : start + self.batch_size]
                x = self.x.index_select(0, rows)
                y = None if self.y is None else self.y.index_select(0, rows)
            yield x, y


class PenalizedNet(NeuralNet):
    """A skorch ``NeuralNet`` whose training objective is ``penalty.objective``.

    Training epochs differ from skorch's in what they record: no per-batch history and no
    per-batch callbacks (``on_batch_begin``, ``on_batch_end``, ``on_grad_computed``); the history of
    each epoch holds ``train_loss``, the mean over the epoch's rows of the batch objectives, and
    ``train_batch_count``. Epoch callbacks, validation and prediction are skorch's.

    Parameters
    ----------
    *args, **kwargs
        As for ``skorch.NeuralNet``.
    penalty : Penalty
        Supplies both the data loss and the regularizer (see :meth:`Penalty.objective`) and the
        gradient of the two (:meth:`Penalty.backward`).
    """

    def __init__(self, *args, penalty: Penalty, **kwargs):
        super().__init__(*args, **kwargs)
        self.penalty = penalty

    def get_loss(self, y_pred, y_true, X=None, training=False):
        return self.penalty.data_loss(y_pred, y_true).mean()

    def get_params_for_optimizer(self, prefix, named_parameters):
        """skorch's parameter groups, with each group's weight matrices split off and marked
        ``decayed`` when the optimizer's ``weight_decay`` is coupled L2 (``Adam``, ``SGD``): the
        rate of ``l2`` is then set there, each step, and applied inside the optimizer's update."""
        args, kwargs = super().get_params_for_optimizer(prefix, named_parameters)
        coupled = self.optimizer in COUPLED_DECAY and not kwargs.get("decoupled_weight_decay")
        if prefix != "optimizer" or not coupled:
            return args, kwargs
        groups = []
        for group in args[0]:
            params = list(group["params"])
            matrices = [p for p in params if p.dim() > 1]
            rest = [p for p in params if p.dim() <= 1]
            if matrices:
                groups.append({**group, "params": matrices, "decayed": True})
            if rest:
                groups.append({**group, "params": rest})
        return (groups, *args[1:]), kwargs

    def _set_weight_decay(self, n_rows: int) -> bool:
        """Give the decayed groups the penalty's coupled L2 rate for this batch; whether any."""
        decayed = [g for g in self.optimizer_.param_groups if g.get("decayed")]
        rate = self.penalty.weight_decay(n_rows)
        for group in decayed:
            group["weight_decay"] = rate
        return bool(decayed)

    def train_step_single(self, batch, **fit_params):
        x, y = batch
        in_optimizer = self._set_weight_decay(len(x))
        # the estimators refuse unlabelled rows a penalty cannot use once per fit, over all of y
        # (_check_unlabelled), so no batch needs the look at y that would sync a GPU every step
        loss, outputs = self.penalty.backward(
            self.module_, x, y, labels_checked=True, optimizer_decays=in_optimizer
        )
        return {"loss": loss, "y_pred": outputs}

    def train_step(self, batch, **fit_params):
        """One optimizer step: zero the gradients, compute them, step (no closure)."""
        self._zero_grad_optimizer()
        step = self.train_step_single(batch, **fit_params)
        self._step_optimizer(None)
        return step

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """A training epoch whose loss stays on the device until the epoch ends.

        Validation epochs are skorch's.
        """
        if iterator is None or not training:
            return super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)
        self._set_training(True)
        losses, sizes = [], []
        for batch in iterator:
            losses.append(step_fn(batch, **fit_params)["loss"])
            sizes.append(len(batch[0]))
        weights = torch.tensor(sizes, dtype=torch.float64, device=losses[0].device)
        mean = torch.stack(losses).double() @ weights / sum(sizes)
        self.history.record(prefix + "_loss", mean.item())  # the epoch's one host sync
        self.history.record(prefix + "_batch_count", len(sizes))

    def get_iterator(self, dataset, training=False):
        if isinstance(dataset, TensorDataset):
            batch_size = self.batch_size if training else PREDICT_BATCH_SIZE
            return InMemoryBatches(dataset.tensors, batch_size, shuffle=training)
        return super().get_iterator(dataset, training=training)
