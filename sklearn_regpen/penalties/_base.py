"""The penalty base class and the data losses it shares with the estimators.

A penalty is a plain object: ``penalty(module, x, y)`` returns ``alpha`` times the batch mean of a
per-sample term, differentiable with respect to the module's parameters. Families implement one
method, :meth:`Penalty.per_sample`; everything else (``alpha``, reduction, the output map ``f``,
the training objective) lives here once.
"""

from __future__ import annotations

import inspect
from numbers import Integral, Real

import torch
import torch.nn.functional as F
from torch import nn

TASKS = ("classification", "regression")


def data_loss(task: str, outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-sample data loss: cross-entropy on logits, or half the squared error summed over outputs.

    Half the squared error is the negative log-likelihood of a unit-variance Gaussian, so the
    classifier and the regressor both minimise a log-loss (and scikit-learn's ``MLPRegressor``
    uses the same scale for one output).
    """
    if task == "classification":
        return F.cross_entropy(outputs, y, reduction="none")
    return 0.5 * (outputs - y.reshape(outputs.shape)).square().sum(dim=1)


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


class Penalty:
    """Base class of the input-space regularizers.

    Parameters
    ----------
    alpha : float, default=1.0
        Strength: the value is ``alpha`` times the batch mean of :meth:`per_sample`.
    epsilon : float, default=0.1
        Noise standard deviation (random perturbations) or L2 radius (adversarial ones); ignored
        by penalties that take no perturbation.
    task : {"classification", "regression"}, default="classification"
        For a classifier the module returns logits and output-space penalties compare class
        probabilities ``f = softmax(z)``; for a regressor ``f = z``.
    reduction : {"mean", "none"}, default="mean"
        ``"none"`` returns the per-sample terms (times ``alpha``), shape ``(B,)``.

    Notes
    -----
    Subclasses add their own options (``n_projections``, ``n_power_iterations``, ...) as
    keyword-only arguments of ``__init__``; :meth:`option_names` lists them and
    :meth:`get_options` returns their values, so that an estimator can route
    ``penalty__<option>`` to them.

    Unlabelled rows: for classification, rows whose label is negative (``-1``, scikit-learn's
    semi-supervised marker) carry no label. :meth:`objective` averages the data loss over the
    labelled rows only, while the penalty averages over all rows. Penalties that need labels
    (``needs_labels = True``) refuse batches with unlabelled rows.
    """

    #: the name the registry and the estimators' ``penalty=`` use
    name: str = ""
    #: whether ``alpha`` scales the term (``noise`` has no strength other than ``epsilon``)
    uses_alpha: bool = True
    #: whether ``epsilon`` is a noise level or radius of this penalty
    uses_epsilon: bool = False
    #: whether the per-sample term needs labels
    needs_labels: bool = False
    #: where a search over ``alpha`` / ``epsilon`` should look (standardized inputs; search.py)
    alpha_range: tuple[float, float] | None = None
    epsilon_range: tuple[float, float] | None = None

    def __init__(self, alpha=1.0, epsilon=0.1, *, task="classification", reduction="mean"):
        if task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {task!r}")
        if reduction not in ("mean", "none"):
            raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")
        for param, value in (("alpha", alpha), ("epsilon", epsilon)):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value >= 0:
                raise ValueError(f"{param} must be a non-negative number, got {value!r}")
        if self.uses_epsilon and epsilon == 0:
            raise ValueError(
                f"epsilon must be > 0 for penalty={self.name!r}: it is the noise level or radius"
            )
        self.alpha = float(alpha)
        self.epsilon = float(epsilon)
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

    # -- the one hook families implement ----------------------------------------------------------
    def per_sample(self, module: nn.Module, x: torch.Tensor, y, outputs) -> torch.Tensor:
        """Per-sample term, shape ``(B,)``. ``outputs`` is ``module(x)`` when the caller has it."""
        raise NotImplementedError

    # -- shared machinery -------------------------------------------------------------------------
    def output(self, z: torch.Tensor) -> torch.Tensor:
        """The map ``f`` output-space penalties compare: probabilities, or regression outputs."""
        return z.softmax(dim=1) if self.task == "classification" else z

    def data_loss(self, outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per-sample data loss for this penalty's task (see :func:`data_loss`)."""
        return data_loss(self.task, outputs, y)

    def mean_data_loss(self, outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean data loss over the labelled rows: all rows for regression, rows with ``y >= 0``
        for classification (zero when the batch has none)."""
        if self.task != "classification":
            return self.data_loss(outputs, y).mean()
        labelled = y >= 0
        losses = self.data_loss(outputs, torch.where(labelled, y, 0))
        return torch.where(labelled, losses, 0).sum() / labelled.sum().clamp(min=1)

    @property
    def scale(self) -> float:
        """The factor of the per-sample term: ``alpha``, or 1 if this penalty ignores it."""
        return self.alpha if self.uses_alpha else 1.0

    @property
    def active(self) -> bool:
        """False when the term is identically zero, so training can skip computing it."""
        return self.scale > 0

    def __call__(self, module: nn.Module, x: torch.Tensor, y=None, *, outputs=None):
        """``alpha`` times the batch mean of :meth:`per_sample` (the terms if reduction="none")."""
        self.check_labels(y)
        term = self.scale * self.per_sample(module, x, y, outputs)
        return term.mean() if self.reduction == "mean" else term

    def objective(
        self, module: nn.Module, x: torch.Tensor, y: torch.Tensor, *, labels_checked: bool = False
    ):
        """Training objective of one batch: mean data loss plus this penalty.

        Returns ``(loss, outputs)`` with ``outputs = module(x)``. The data loss is averaged over
        the labelled rows (see :meth:`mean_data_loss`), the penalty over all rows. Penalties that
        change what the data loss sees (noise injection) override this rather than
        :meth:`__call__`. ``labels_checked=True`` skips :meth:`check_labels`, whose look at the
        labels is a host synchronisation on a GPU: for callers that checked the labels of all
        their rows once (the estimators do, once per fit), not once per batch.
        """
        if not labels_checked:
            self.check_labels(y)
        outputs, term = self.outputs_and_term(module, x, y)
        loss = self.mean_data_loss(outputs, y)
        if term is not None:
            loss = loss + self.scale * term.mean()
        return loss, outputs

    def outputs_and_term(self, module: nn.Module, x: torch.Tensor, y):
        """``module(x)`` and the per-sample term (``None`` when :attr:`active` is False).

        Families whose term computes ``module(x)`` on the way (inside a vector-Jacobian product)
        override this to return those outputs, which saves the objective a forward pass.
        """
        outputs = module(x)
        return outputs, (self.per_sample(module, x, y, outputs) if self.active else None)

    def weight_decay(self, n_rows: int) -> float:
        """Coupled L2 rate ``c`` of the weight matrices: the objective's gradient includes
        ``c * W`` for every weight matrix ``W`` (parameters of more than one dimension).

        Zero for every penalty but ``l2``. A training loop whose optimizer adds ``c * W`` to the
        gradients itself (``Adam`` and ``SGD``'s ``weight_decay``, inside their fused update)
        sets it there and calls :meth:`backward` with ``optimizer_decays=True``.
        """
        return 0.0

    def backward(
        self,
        module: nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        labels_checked: bool = False,
        optimizer_decays: bool = False,
    ):
        """Accumulate the gradient of :meth:`objective` into the parameters' ``.grad``.

        The same gradients as ``objective(module, x, y)[0].backward()``, which is what this default
        does; a penalty whose gradient has a closed form (``l2``) overrides it to skip autograd.
        Returns ``(loss, outputs)`` with ``loss`` the objective's value, detached.
        ``labels_checked`` as for :meth:`objective`. ``optimizer_decays=True`` leaves the
        :meth:`weight_decay` part of the gradient out of ``.grad``, for the optimizer to add.
        """
        loss, outputs = self.objective(module, x, y, labels_checked=labels_checked)
        loss.backward()
        return loss.detach(), outputs
