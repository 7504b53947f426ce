"""Gradient penalties: double backpropagation and the Hessian-scaled Frobenius family (thesis).

Every term here is a squared norm of vector-Jacobian products ``J_z^T c`` of the logits' Jacobian
``J_z = dz/dx`` with cotangents ``c`` in output space, so one forward pass and one batched set of
products serve all of them (:func:`sklearn_regpen._autodiff.pullback_sq_norms`):

* ``||d loss/dx||^2 = ||J_z^T g||^2`` with ``g = d loss/dz`` (``p - e_y`` for cross-entropy);
* ``Tr I(x) = Tr(J_z^T H J_z) = ||J_z^T M||_F^2`` where ``H = diag(p) - p p^T`` is the Hessian of
  the cross-entropy with respect to the logits and ``H = M M^T`` with
  ``M = diag(sqrt p) - p sqrt(p)^T``: exactly with the ``K`` columns of ``M``, or unbiasedly with
  ``m`` random cotangents ``M u``, ``u ~ N(0, I_K)``, since ``E[M u u^T M^T] = H``. The estimate is
  a differentiable function of the parameters whose ``u`` does not depend on them, so its
  gradient is unbiased too (sampling ``y ~ p`` and penalizing ``||d log p(y|x)/dx||^2`` would give
  the same value in expectation but drop ``dp/dtheta`` from the gradient).

For a regressor the outputs are the mean of a unit-variance Gaussian, whose Hessian of the
negative log-likelihood is ``H = I``: ``Tr I(x) = ||J_z||_F^2`` there.
"""

from __future__ import annotations

import torch
from torch.func import vjp

from .._autodiff import pullback_sq_norms
from ._base import Penalty
from ._projections import check_projections, resolve_projections


class _InputGradientPenalty(Penalty):
    """Shared machinery: ``(Tr I(x))^trace_power`` plus, optionally, ``||d loss/dx||^2``."""

    #: exponent of ``Tr I(x)`` in the term (0: no Fisher term)
    trace_power = 0
    #: whether ``||d loss/dx||^2`` is added
    with_loss_gradient = False
    #: ``None``: exact ``Tr I(x)``; an int: that many random projections; ``"auto"``: by K
    n_projections = None

    def fisher_factor(self, z: torch.Tensor) -> torch.Tensor:
        """``M`` with ``M M^T = H``, the data loss's Hessian in the logits, shape ``(B, K, K)``."""
        n_rows, n_out = z.shape
        if self.task == "regression":
            return torch.eye(n_out, dtype=z.dtype, device=z.device).expand(n_rows, n_out, n_out)
        sqrt_p = (0.5 * z.log_softmax(dim=1)).exp()  # finite gradient where p underflows
        p = sqrt_p.square()
        return torch.diag_embed(sqrt_p) - p.unsqueeze(2) * sqrt_p.unsqueeze(1)

    def loss_gradient(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``d loss_i / d z_i`` of the per-sample data loss, shape ``(B, K)``, differentiable."""
        _, pullback = vjp(lambda out: self.data_loss(out, y), z)
        (grad,) = pullback(torch.ones(z.shape[0], dtype=z.dtype, device=z.device))
        return grad

    def projections(self, n_outputs: int) -> int | None:
        """``n_projections`` with ``"auto"`` resolved: the exact trace takes ``K`` products."""
        return resolve_projections(self.n_projections, n_outputs)

    def cotangents(self, z: torch.Tensor, y) -> torch.Tensor:
        """Output-space vectors whose pullbacks the term is built from, shape ``(m, B, K)``."""
        blocks = []
        n_projections = self.projections(z.shape[1])
        if self.trace_power:
            factor = self.fisher_factor(z)
            if n_projections is None:
                blocks.append(factor.permute(2, 0, 1))  # the K columns of M
            else:
                # (Tr I)^2 from the product of two independent estimates keeps it unbiased
                draws = self.trace_power * n_projections
                u = torch.randn(draws, *z.shape, dtype=z.dtype, device=z.device)
                blocks.append(torch.einsum("bkl,jbl->jbk", factor, u))
        if self.with_loss_gradient:
            blocks.append(self.loss_gradient(z, y).unsqueeze(0))
        return torch.cat(blocks)

    def _norms_and_outputs(self, module, x, y):
        cotangents = lambda z: self.cotangents(z, y)  # noqa: E731
        return pullback_sq_norms(module, x, cotangents, with_outputs=True)

    def per_sample(self, module, x, y, outputs):
        norms, z = self._norms_and_outputs(module, x, y)
        return self.combine(norms, self.projections(z.shape[1]))

    def outputs_and_term(self, module, x, y):
        # the outputs of the products' own forward pass serve the data loss: one pass, not two
        if not self.active:
            return super().outputs_and_term(module, x, y)
        norms, outputs = self._norms_and_outputs(module, x, y)
        return outputs, self.combine(norms, self.projections(outputs.shape[1]))

    def combine(self, norms: torch.Tensor, n_projections: int | None = None) -> torch.Tensor:
        """The per-sample term from the squared norms of the pulled-back :meth:`cotangents`
        (``n_projections`` resolved, as :meth:`projections` returns it)."""
        term = torch.zeros_like(norms[0])
        if self.trace_power:
            n_fisher = norms.shape[0] - self.with_loss_gradient
            fisher = norms[:n_fisher]
            if n_projections is None:
                term = fisher.sum(dim=0) ** self.trace_power
            else:
                estimates = fisher.reshape(self.trace_power, n_projections, -1).mean(dim=1)
                term = estimates.prod(dim=0)
        if self.with_loss_gradient:
            term = term + norms[-1]
        return term


class DoubleBackpropPenalty(_InputGradientPenalty):
    """``double_backprop``: ``||d loss(x, y) / dx||^2``, the squared input gradient of the data
    loss at the true label (Drucker & LeCun 1992; thesis eq. 49). Needs labels.

    Averaged over labels drawn from the model, ``y ~ p(y|x)``, it would be ``Tr I(x)`` (``hsfob``).
    """

    name = "double_backprop"
    needs_labels = True
    with_loss_gradient = True
    alpha_range = (0.1, 10.0)


class HessianScaledFrobeniusPenalty(_InputGradientPenalty):
    """``hsfob``: ``Tr(J_z^T H J_z) = Tr I(x)``, ``H = diag(p) - p p^T`` the Hessian of the
    cross-entropy in the logits: the trace of the Fisher information of ``p(y|x)`` with respect to
    ``x`` (thesis eq. 63). Needs no label.

    Noise injection adds ``(epsilon^2 / 2) Tr I(x)`` to the cross-entropy to first order (thesis
    eq. 61), and ``kl`` tends to the same. For a regressor (unit-variance Gaussian outputs,
    ``H = I``) it is ``||J_z||_F^2``.

    Parameters
    ----------
    n_projections : "auto", None or int, default="auto"
        ``None`` for the exact trace (``K`` vector-Jacobian products per step, ``K`` the number of
        outputs); an integer ``m`` for the unbiased estimate ``mean_j ||J_z^T M u_j||^2``,
        ``u_j ~ N(0, I_K)``, with ``m`` products, unbiased in value and in gradient. ``"auto"``:
        exact when ``K <= 4``, else one projection; why, in
        :mod:`sklearn_regpen.penalties._projections`.
    """

    name = "hsfob"
    trace_power = 1
    alpha_range = (0.1, 10.0)

    def __init__(self, alpha=1.0, epsilon=0.1, *, n_projections="auto", **kwargs):
        super().__init__(alpha, epsilon, **kwargs)
        self.n_projections = check_projections(n_projections)


class HsfobDB1Penalty(HessianScaledFrobeniusPenalty):
    """``hsfob_db1``: ``Tr I(x) + ||d loss / dx||^2``, ``hsfob`` plus ``double_backprop`` with
    equal weights (thesis eq. 65). Needs labels.

    Parameters
    ----------
    n_projections : "auto", None or int, default="auto"
        As for ``hsfob``: exact trace, that many random projections, or by ``K``.
    """

    name = "hsfob_db1"
    needs_labels = True
    with_loss_gradient = True
    alpha_range = (0.1, 10.0)


class HsfobDB2Penalty(HessianScaledFrobeniusPenalty):
    """``hsfob_db2``: ``(Tr I(x))^2 + ||d loss / dx||^2`` (thesis eq. 66). Needs labels.

    With ``n_projections=m`` the square is the product of two independent ``m``-projection
    estimates of ``Tr I(x)`` (``2 m`` products), which keeps it unbiased.

    Parameters
    ----------
    n_projections : "auto", None or int, default="auto"
        As for ``hsfob``: exact trace, that many random projections per factor, or by ``K``.
    """

    name = "hsfob_db2"
    needs_labels = True
    trace_power = 2
    with_loss_gradient = True
    alpha_range = (0.1, 10.0)
