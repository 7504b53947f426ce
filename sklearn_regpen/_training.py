"""The skorch net underneath the estimators.

skorch owns the per-batch machinery: building the module and optimizer from prefixed options
(``module__*``, ``optimizer__*``), the optimizer step, history and device placement. Three things
are ours:

* the training objective (``_objective.py``: data loss, penalty term, sample weights, weight
  decay), hooked into :meth:`PenalizedNet.train_step_single` (in skorch's ``get_loss`` the input
  has no gradient, so input-space penalties cannot live there);
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

from ._batch_norm import batch_norm_layers
from ._objective import Objective, data_loss
from ._param_checks import same_value
from .penalties import Penalty

#: rows per forward pass when predicting
PREDICT_BATCH_SIZE = 8192
#: input values per forward pass when predicting: fewer rows when they are wide (images), so
#: that a CNN's activations stay within a few hundred MB
PREDICT_BATCH_VALUES = 2**20


def predict_batch_size(x: torch.Tensor) -> int:
    """Rows per forward pass when predicting ``x``: 8192, or fewer for wide rows."""
    width = max(1, x[0].numel()) if len(x) else 1
    return max(1, min(PREDICT_BATCH_SIZE, PREDICT_BATCH_VALUES // width))

#: optimizers whose ``weight_decay`` adds ``weight_decay * W`` to the gradient (coupled L2)
COUPLED_DECAY = (torch.optim.Adam, torch.optim.SGD)

#: Adam's fused implementation runs on the CPU from torch 2.4 (the package allows 2.1)
FUSED_ADAM = tuple(int(v) for v in torch.__version__.split(".")[:2]) >= (2, 4)


def training_batches(n_rows: int, batch_size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of each training batch of an epoch over ``n_rows`` rows: ``batch_size``
    rows each, the last one with the rest, except that a last batch of a single row joins the
    batch before it (401 rows by 200: batches of 200 and 201). A one-row batch is one row's
    gradient taken at a full step, and BatchNorm cannot normalise it."""
    bounds = [(start, min(start + batch_size, n_rows)) for start in range(0, n_rows, batch_size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], n_rows)]
    return bounds


class InMemoryBatches:
    """Batches sliced from tensors already on the device, shuffled when training: ``(x, y)``, or
    ``(x, y, sample_weight)`` for three tensors, or ``(x, None)`` for one (prediction).

    Training batches are :func:`training_batches` of a random permutation, drawn from torch's
    global generator, which the estimators seed.
    """

    def __init__(self, tensors, batch_size: int, shuffle: bool):
        self.tensors = list(tensors)
        self.batch_size = batch_size
        self.shuffle = shuffle

    def _bounds(self) -> list[tuple[int, int]]:
        n = len(self.tensors[0])
        if self.shuffle:
            return training_batches(n, self.batch_size)
        return [(start, min(start + self.batch_size, n)) for start in range(0, n, self.batch_size)]

    def __len__(self) -> int:
        return len(self._bounds())

    def __iter__(self):
        n = len(self.tensors[0])
        order = torch.randperm(n, device=self.tensors[0].device) if self.shuffle else None
        for start, stop in self._bounds():
            if order is None:
                rows = slice(start, stop)
                batch = [t[rows] for t in self.tensors]
            else:  # index_select gathers like t[rows], with less overhead per call
                rows = order[start:stop]
                batch = [t.index_select(0, rows) for t in self.tensors]
            yield tuple(batch) if len(batch) > 1 else (batch[0], None)


class PenalizedNet(NeuralNet):
    """A skorch ``NeuralNet`` whose training objective is a penalty's
    :class:`~sklearn_regpen._objective.Objective`.

    Training epochs differ from skorch's in what they record: no per-batch history and no
    per-batch callbacks (``on_batch_begin``, ``on_batch_end``, ``on_grad_computed``); the history of
    each epoch holds ``train_loss``, the mean over the epoch's rows of the batch objectives, and
    ``train_batch_count``. Epoch callbacks, validation and prediction are skorch's.

    Parameters
    ----------
    *args, **kwargs
        As for ``skorch.NeuralNet``; ``criterion`` is unused (pass ``torch.nn.Identity``): the
        data loss is the objective's.
    penalty : Penalty
        The regularizer; the objective built from it supplies the data loss, the term and weight
        decay, and their gradient (:meth:`Objective.backward`). It is trusted to have been checked
        against all of ``y`` before training (``Penalty.check_labels``), not batch by batch.
    lr_schedule : callable or None
        ``step -> rate``: the optimizer's rate of each training step (``_schedule.py``), counted
        by ``schedule_step_`` (set it to 0 with a fresh optimizer); None leaves the rate alone.
    max_grad_norm : float or None
        Clip the gradient's global norm to this before each step; None does not clip.
    """

    def __init__(self, *args, penalty: Penalty, lr_schedule=None, max_grad_norm=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.penalty = penalty
        self.lr_schedule = lr_schedule
        self.max_grad_norm = max_grad_norm
        self.schedule_step_ = 0

    @property
    def objective(self) -> Objective:
        # the estimators refuse unlabelled rows a penalty cannot use once per fit, over all of y,
        # so no batch needs the look at y that would sync a GPU every step
        # the BatchNorm layers are found once per training epoch, not at every step
        return Objective(
            self.penalty, check_labels=False, batch_norms=vars(self).get("_batch_norms")
        )

    def get_loss(self, y_pred, y_true, X=None, training=False):
        return data_loss(self.penalty.task, y_pred, y_true).mean()

    def get_params_for_optimizer(self, prefix, named_parameters):
        """skorch's parameter groups, with each group's decayed weights split off and marked
        ``decayed`` when the optimizer's ``weight_decay`` is coupled L2 (``Adam``, ``SGD``): the
        objective's weight-decay rate is then set there, each step, and applied inside the
        optimizer's update."""
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

    def uses_optimizer(self, optimizer, options: dict) -> bool:
        """Whether the optimizer was built as ``optimizer(params, lr=..., **options)``."""
        built = self.get_params_for("optimizer")
        return self.optimizer is optimizer and same_value(built, options)

    def use_optimizer(self, optimizer, options: dict) -> None:
        """Build a fresh optimizer ``optimizer(params, lr=self.lr, **options)``, in place of
        the one built from the ``optimizer`` and ``optimizer__*`` the net was made with."""
        for key in [k for k in vars(self) if k.startswith("optimizer__")]:
            delattr(self, key)
        self.optimizer = optimizer
        for key, value in options.items():
            setattr(self, f"optimizer__{key}", value)
        self.initialize_optimizer()

    def train_step_single(self, batch, **fit_params):
        x, y, *weights = batch
        weights = weights[0] if weights else None
        objective = self.objective
        decayed = [g for g in self.optimizer_.param_groups if g.get("decayed")]
        # the optimizer adds rate * W inside its update, given the rate as a float: with sample
        # weights the rate is a tensor on the device, and the objective adds the decay itself
        in_optimizer = bool(decayed) and weights is None
        rate = objective.rate(x) if in_optimizer else 0.0
        for group in decayed:
            group["weight_decay"] = rate
        loss, outputs = objective.backward(
            self.module_, x, y, weights, decay_in_optimizer=in_optimizer
        )
        return {"loss": loss, "y_pred": outputs}

    def train_step(self, batch, **fit_params):
        """One optimizer step: zero the gradients, compute them, step (no closure)."""
        self._zero_grad_optimizer()
        step = self.train_step_single(batch, **fit_params)
        if self.max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(self.module_.parameters(), self.max_grad_norm)
        if self.lr_schedule is not None:
            rate = self.lr_schedule(self.schedule_step_)
            for group in self.optimizer_.param_groups:
                group["lr"] = rate
            self.schedule_step_ += 1
        self._step_optimizer(None)
        return step

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """A training epoch whose loss stays on the device until the epoch ends.

        Validation epochs are skorch's.
        """
        if iterator is None or not training:
            return super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)
        self._set_training(True)
        # the BatchNorm layers, found once per epoch for every step's objective; not kept after
        # (a pickle would carry them apart from the module, on its device)
        self._batch_norms = batch_norm_layers(self.module_)
        losses, sizes = [], []
        try:
            for batch in iterator:
                losses.append(step_fn(batch, **fit_params)["loss"])
                sizes.append(len(batch[0]))
        finally:
            del self._batch_norms
        weights = torch.tensor(sizes, dtype=torch.float64, device=losses[0].device)
        mean = torch.stack(losses).double() @ weights / sum(sizes)
        self.history.record(prefix + "_loss", mean.item())  # the epoch's one host sync
        self.history.record(prefix + "_batch_count", len(sizes))

    def get_iterator(self, dataset, training=False):
        if isinstance(dataset, TensorDataset):
            batch_size = self.batch_size if training else predict_batch_size(dataset.tensors[0])
            # shuffled for training unless iterator_train__shuffle=False, as skorch's loaders
            shuffle = training and self.get_params_for("iterator_train").get("shuffle", True)
            return InMemoryBatches(dataset.tensors, batch_size, shuffle=shuffle)
        return super().get_iterator(dataset, training=training)
