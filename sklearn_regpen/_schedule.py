"""Learning-rate schedules of one fit: what ``learning_rate`` means, step by step.

``"constant"`` and ``"adaptive"`` (divide by 5 at each stall) change the rate only between epochs
and live in the estimators. ``"cosine"`` is per optimizer step: a linear warm-up from
``1 / warmup_steps`` of the rate to the full rate over the first ``warmup_steps`` steps, then a
half cosine from the full rate down to 0 at the last step of ``max_iter`` epochs: one cycle of
Loshchilov and Hutter's SGDR, with no restart inside a fit. Each ``fit`` runs its own cycle, so a
``warm_start`` fit starts again from the full rate (a restart, in SGDR's terms). The decay is the
fit's stopping rule: no stop on a stalled training loss (only ``early_stopping``'s validation rule
can end it sooner).

``"auto"`` picks one of them from the data (:func:`resolve_learning_rate`): inputs of fewer than
:data:`WIDE_INPUT` features (tables) train at the constant rate, exactly as before the schedules
existed; wider inputs (images: MNIST has 784 pixels) get the cosine decay, which the MNIST
measurements of ``benchmarks/mnist_recipe.py`` chose (user guide, "Training recipe").

The MLP estimators' ``learning_rate_init="auto"`` is the peak rate, decided from the same inputs
and the network's depth (:func:`resolve_rate`): the tables' 3e-3, except for networks of two or
more hidden layers on image-like inputs, which get 1e-3 (``benchmarks/techreport_mnist.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: inputs with at least this many features count as images for ``learning_rate="auto"``: MNIST
#: has 784 pixels; the widest table of the tabular benchmark, splice, 287 one-hot columns, so
#: every table there trains exactly as before the schedules existed
WIDE_INPUT = 512

LEARNING_RATES = ("auto", "constant", "adaptive", "cosine")


def resolve_learning_rate(learning_rate: str, n_features: int) -> tuple[str, str]:
    """``(schedule, reason)``: the schedule ``learning_rate`` stands for on ``n_features`` inputs,
    and why, in words for ``verbose`` output."""
    if learning_rate != "auto":
        return learning_rate, f"learning_rate={learning_rate!r}"
    if n_features >= WIDE_INPUT:
        return "cosine", (
            f"learning_rate='auto': cosine decay ({n_features} features >= {WIDE_INPUT}: "
            "image-like inputs)"
        )
    return "constant", (
        f"learning_rate='auto': constant rate ({n_features} features < {WIDE_INPUT}: a table)"
    )


#: ``learning_rate_init="auto"``'s rate: on tables, and on images through one hidden layer
AUTO_RATE = 3e-3
#: ``learning_rate_init="auto"``'s rate for an MLP of two or more hidden layers on image-like
#: inputs: on MNIST (tanh layers of 1000, 30 epochs, cosine decay; benchmarks/techreport_mnist.py)
#: each penalty's best two-layer setting had a validation error as low or lower at 1e-3 than at
#: 3e-3 (0 to 1.4 points lower), while its best one-layer setting was better at 3e-3
AUTO_RATE_DEEP = 1e-3


def resolve_rate(learning_rate_init, n_features: int, n_hidden_layers: int | None):
    """``(rate, reason)``: the peak rate ``learning_rate_init`` stands for, and why.

    ``"auto"`` is :data:`AUTO_RATE` unless the inputs are image-like (``n_features`` of at
    least :data:`WIDE_INPUT`) and the network is an MLP of two or more hidden layers, which
    gets :data:`AUTO_RATE_DEEP`; ``n_hidden_layers`` is None for a module of the user's, whose
    depth is not known (its estimators take a number only)."""
    if learning_rate_init != "auto":
        return float(learning_rate_init), f"learning_rate_init={learning_rate_init}"
    if n_features >= WIDE_INPUT and n_hidden_layers is not None and n_hidden_layers >= 2:
        return AUTO_RATE_DEEP, (
            f"learning_rate_init='auto': {AUTO_RATE_DEEP:g} ({n_hidden_layers} hidden layers on "
            "image-like inputs)"
        )
    why = "a table" if n_features < WIDE_INPUT else "one hidden layer"
    return AUTO_RATE, f"learning_rate_init='auto': {AUTO_RATE:g} ({why})"


@dataclass
class CosineSchedule:
    """The rate of each optimizer step: linear warm-up, then a half cosine down to 0.

    Parameters
    ----------
    base : float
        The peak rate (``learning_rate_init``).
    total_steps : int
        Steps of the whole fit (``max_iter`` times the batches per epoch); the rate reaches 0
        after the last of them.
    warmup_steps : int, default=0
        Steps of the linear warm-up, included in ``total_steps``.
    """

    base: float
    total_steps: int
    warmup_steps: int = 0

    def __call__(self, step: int) -> float:
        """The rate of step ``step`` (0-based)."""
        if step < self.warmup_steps:
            return self.base * (step + 1) / self.warmup_steps
        decay = max(self.total_steps - self.warmup_steps, 1)
        progress = min((step - self.warmup_steps) / decay, 1.0)
        return self.base * 0.5 * (1.0 + math.cos(math.pi * progress))
