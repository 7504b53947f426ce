"""The penalty base class and the data losses it shares with the estimators.

A penalty is a plain object: ``penalty(module, x, y)`` returns ``alpha`` times the batch mean of a
per-sample term, differentiable with respect to the module's parameters. Families implement one
method, :meth:`Penalty.per_sample`; everything else (``alpha``, reduction, the output map ``f``,
the training objective) lives here once.
"""

from __future__ import annotations

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
    """

    #: the name the registry and the estimators' ``penalty=`` use
    name: str = ""
    #: whether ``alpha`` scales the term (``noise`` has no strength other than ``epsilon``)
    uses_alpha: bool = True
    #: whether ``epsilon`` is a noise level or radius of this penalty
    uses_epsilon: bool = False
    #: whether the per-sample term needs labels
    needs_labels: bool = False
    #: where a search over ``alpha`` / ``epsilon`` should look (inputs standardized); see ``search.py``
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
        return f"{type(self).__name__}(alpha={self.alpha}, epsilon={self.epsilon}, task={self.task!r})"

    # -- the one hook families implement ----------------------------------------------------------
    def per_sample(self, module: nn.Module, x: torch.Tensor, y, outputs) -> torch.Tensor:
        """Per-sample term, shape ``(B,)``. ``outputs`` is ``module(x)`` when the caller has it."""
        raise NotImplementedError

    # -- shared machinery -------------------------------------------------------------------------
    def output(self, z: torch.Tensor) -> torch.Tensor:
        """The map ``f`` output-space penalties compare: probabilities, or raw regression outputs."""
        return z.softmax(dim=1) if self.task == "classification" else z

    def data_loss(self, outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per-sample data loss for this penalty's task (see :func:`data_loss`)."""
        return data_loss(self.task, outputs, y)

    @property
    def scale(self) -> float:
        """The factor in front of the per-sample term: ``alpha``, or 1 if this penalty ignores it."""
        return self.alpha if self.uses_alpha else 1.0

    @property
    def active(self) -> bool:
        """False when the term is identically zero, so training can skip computing it."""
        return self.scale > 0

    def __call__(self, module: nn.Module, x: torch.Tensor, y=None, *, outputs=None):
        """``alpha`` times the batch mean of :meth:`per_sample` (or the terms, ``reduction="none"``)."""
        if self.needs_labels and y is None:
            raise ValueError(f"penalty={self.name!r} needs labels: call it as penalty(module, x, y)")
        term = self.scale * self.per_sample(module, x, y, outputs)
        return term.mean() if self.reduction == "mean" else term

    def objective(self, module: nn.Module, x: torch.Tensor, y: torch.Tensor):
        """Training objective of one batch: mean data loss plus this penalty.

        Returns ``(loss, outputs)`` with ``outputs = module(x)``. Penalties that change what the
        data loss sees (noise injection) override this rather than :meth:`__call__`.
        """
        outputs = module(x)
        loss = self.data_loss(outputs, y).mean()
        if self.active:
            loss = loss + self.scale * self.per_sample(module, x, y, outputs).mean()
        return loss, outputs

    def backward(self, module: nn.Module, x: torch.Tensor, y: torch.Tensor):
        """Accumulate the gradient of :meth:`objective` into the parameters' ``.grad``.

        The same gradients as ``objective(module, x, y)[0].backward()``, which is what this default
        does; a penalty whose gradient has a closed form (``l2``) overrides it to skip autograd.
        Returns ``(loss, outputs)`` with ``loss`` the objective's value, detached.
        """
        loss, outputs = self.objective(module, x, y)
        loss.backward()
        return loss.detach(), outputs
