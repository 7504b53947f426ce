"""The penalty interface: one pure function per family, everything else in one place.

A penalty family implements one method, :meth:`Penalty.term`: given the module, a batch ``x``
(``(B, d)`` rows or ``(B, C, H, W)`` images) and its labels ``y`` (or ``None``), it returns a
:class:`Term`, the per-row term and the outputs of the forward pass it ran. Nothing else is
overridden. A family also declares, as class attributes, what the estimators and searches need
to know about it: its ``name``, whether ``alpha`` and ``epsilon`` mean something to it
(``uses_alpha``, ``uses_epsilon``), whether it ``needs_labels``, and where a search should look
(``alpha_range``, ``epsilon_range``). Its own options are keyword-only ``__init__`` arguments.

Around the term, :class:`sklearn_regpen._objective.Objective` owns the training objective: the
data loss (on the outputs the term ran, when it ran them), unlabelled rows, sample weights and
weight decay (``l2`` declares a rate, :attr:`Penalty.weight_decay`, and has no term). So a new
penalty is one small module with one ``term`` method, and one entry in ``PENALTIES``.

Standalone use, in a plain PyTorch loop: ``penalty.objective(module, x, y)`` returns the batch's
training loss and the outputs; ``penalty(module, x, y)`` returns what the penalty adds to the
clean data loss.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from numbers import Integral, Real

import torch
from torch import nn

from .._autodiff import check_batch, output_map
from .._objective import TASKS, Objective, data_loss, weight_sq_norm

__all__ = ["Penalty", "Term", "check_positive_float", "check_positive_int"]


def check_positive_int(name: str, value, *, allow_none: bool = False):
    """Return ``value`` as an int, or raise ``ValueError`` naming the option."""
    if allow_none and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        allowed = "None or a positive int" if allow_none else "a positive int"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return int(value)


def check_positive_float(name: str, value) -> float:
    """Return ``value`` as a float, or raise ``ValueError`` naming the option."""
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 < value < float("inf"):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Term:
    """What a penalty family computes for one batch.

    Attributes
    ----------
    rows : tensor of shape (B,) or None
        The per-row term, differentiable; ``None`` where it is identically zero (``none``,
        ``l2``, whose decay the objective applies, and ``noise``, which acts through the data
        loss).
    outputs : tensor of shape (B, K) or None
        The outputs of the forward pass the family ran, on which the data loss is taken:
        ``module(x)``, shared so that the objective runs no second pass, or for noise injection
        ``module(x + epsilon n)``. ``None``: the objective runs ``module(x)`` itself.
    clean : bool, default=True
        Whether ``outputs`` are those at the clean input ``x`` (False for ``noise``).
    """

    rows: torch.Tensor | None = None
    outputs: torch.Tensor | None = None
    clean: bool = True


def _strength(name: str, value) -> float:
    """``alpha`` or ``epsilon`` as a float (numpy scalars included), or ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 <= value < float("inf"):
        raise ValueError(f"{name} must be a non-negative finite number, got {value!r}")
    return float(value)


class Penalty:
    """Base class of the input-space regularizers.

    Parameters
    ----------
    alpha : float, default=1.0
        Strength: the training objective adds ``alpha`` times the (weighted) batch mean of the
        per-row term.
    epsilon : float, default=0.1
        Noise standard deviation (random perturbations) or L2 radius (adversarial ones); ignored
        by penalties that take no perturbation.
    task : {"classification", "regression"}, default="classification"
        For a classifier the module returns logits and output-space penalties compare class
        probabilities ``f = softmax(z)``; for a regressor ``f = z``.
    reduction : {"mean", "none"}, default="mean"
        What calling the penalty returns: the batch mean, or the per-row values, shape ``(B,)``.

    Notes
    -----
    Unlabelled rows: for classification, rows whose label is negative (``-1``, scikit-learn's
    semi-supervised marker) carry no label. The objective averages the data loss over the
    labelled rows only and the term over all rows. Penalties that need labels
    (``needs_labels = True``) refuse batches with unlabelled rows.
    """

    #: the name the registry and the estimators' ``penalty=`` use
    name: str = ""
    #: whether ``alpha`` scales the term (``noise`` has no strength other than ``epsilon``)
    uses_alpha: bool = True
    #: whether ``epsilon`` is a noise level or radius of this penalty
    uses_epsilon: bool = False
    #: whether the per-row term needs labels
    needs_labels: bool = False
    #: where a search over ``alpha`` / ``epsilon`` should look (standardized inputs; search.py)
    alpha_range: tuple[float, float] | None = None
    epsilon_range: tuple[float, float] | None = None

    def __init__(self, alpha=1.0, epsilon=0.1, *, task="classification", reduction="mean"):
        if task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {task!r}")
        if reduction not in ("mean", "none"):
            raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")
        self.alpha = _strength("alpha", alpha)
        self.epsilon = _strength("epsilon", epsilon)
        if self.uses_epsilon and self.epsilon == 0:
            raise ValueError(
                f"epsilon must be > 0 for penalty={self.name!r}: it is the noise level or radius"
            )
        self.task = task
        self.reduction = reduction

    def __repr__(self) -> str:
        options = "".join(f", {k}={v!r}" for k, v in self.get_options().items())
        return (
            f"{type(self).__name__}(alpha={self.alpha}, epsilon={self.epsilon}, "
            f"task={self.task!r}{options})"
        )

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        """Names of this penalty's own options: the keyword-only ``__init__`` arguments its
        classes add to ``alpha``, ``epsilon``, ``task`` and ``reduction``.

        Examples
        --------
        >>> from sklearn_regpen.penalties import PENALTIES
        >>> PENALTIES["jacobian"].option_names(), PENALTIES["c2c"].option_names()
        (('n_projections',), ())
        """
        names: list[str] = []
        for klass in cls.__mro__:
            if klass is Penalty or "__init__" not in vars(klass):
                continue
            for param in inspect.signature(klass.__init__).parameters.values():
                if param.kind is param.KEYWORD_ONLY and param.name not in names:
                    names.append(param.name)
        return tuple(names)

    def get_options(self) -> dict:
        """This penalty's options and their values (see :meth:`option_names`)."""
        return {name: getattr(self, name) for name in self.option_names()}

    def check_labels(self, y) -> None:
        """Raise ``ValueError`` if this penalty needs labels and ``y`` lacks some."""
        if not self.needs_labels:
            return
        if y is None:
            raise ValueError(
                f"penalty={self.name!r} needs labels: call it as penalty(module, x, y)"
            )
        if self.task == "classification" and bool((y < 0).any()):
            raise ValueError(
                f"penalty={self.name!r} needs labels, but the batch has unlabelled rows (y < 0); "
                "use a penalty that needs no label (c2c, kl, vat, jacobian, ...) for "
                "semi-supervised training"
            )

    # -- the one method families implement ---------------------------------------------------------
    def term(self, module: nn.Module, x: torch.Tensor, y) -> Term:
        """The per-row term of the batch and the outputs of the forward pass it ran."""
        return Term()

    # -- what the objective reads ------------------------------------------------------------------
    @property
    def scale(self) -> float:
        """The factor of the per-row term: ``alpha``, or 1 if this penalty ignores it."""
        return self.alpha if self.uses_alpha else 1.0

    #: coupled weight-decay strength (``l2``'s ``alpha``): the objective adds
    #: ``0.5 * weight_decay * sum ||W||^2 / B`` to each batch of ``B`` rows
    weight_decay: float = 0.0

    def output(self, z: torch.Tensor) -> torch.Tensor:
        """The map ``f`` output-space penalties compare: probabilities, or regression outputs."""
        return output_map(z, self.task)

    def data_loss(self, outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per-row data loss for this penalty's task (see ``data_loss``)."""
        return data_loss(self.task, outputs, y)

    def evaluate(self, module: nn.Module, x: torch.Tensor, y) -> Term:
        """:meth:`term`, skipped (an empty :class:`Term`) when the term's factor is 0."""
        check_batch(x)
        return self.term(module, x, y) if self.scale else Term()

    # -- standalone use ----------------------------------------------------------------------------
    def __call__(self, module: nn.Module, x: torch.Tensor, y=None):
        """What the penalty adds to the clean data loss ``loss(module(x), y)``: ``alpha`` times the
        term, plus for ``noise`` the noisy loss minus the clean one, plus for ``l2`` each row's
        share ``0.5 * alpha * sum ||W||^2 / B``. The batch mean, or per row with
        ``reduction="none"``."""
        self.check_labels(y)
        term = self.evaluate(module, x, y)
        rows = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
        if term.rows is not None:
            rows = rows + self.scale * term.rows
        if not term.clean:
            rows = rows + self.data_loss(term.outputs, y) - self.data_loss(module(x), y)
        if self.weight_decay:
            rows = rows + 0.5 * self.weight_decay * weight_sq_norm(module) / x.shape[0]
        return rows.mean() if self.reduction == "mean" else rows

    def objective(self, module: nn.Module, x: torch.Tensor, y: torch.Tensor, sample_weight=None):
        """The training objective of one batch, ``(loss, outputs)``: data loss plus ``alpha``
        times the term, plus weight decay for ``l2`` (see
        :class:`sklearn_regpen._objective.Objective`). ``outputs`` are those the data loss was
        taken on, from the forward pass the term ran when it ran one."""
        return Objective(self).loss(module, x, y, sample_weight)
