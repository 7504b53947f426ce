"""Gradient penalties: double backpropagation and the Hessian-scaled Frobenius family (thesis).

Every term here is a squared norm ``||C J_z||_F^2`` of the logits' Jacobian ``J_z = dz/dx``
multiplied by an output-space factor ``C``, so one forward pass and one set of products serve all
of them (:func:`sklearn_regpen._autodiff.jacobian_forms`):

* ``||d loss/dx||^2 = ||g^T J_z||^2`` with ``g = d loss/dz`` (``p - e_y`` for cross-entropy);
* ``Tr I(x) = Tr(J_z^T H J_z) = ||M^T J_z||_F^2`` where ``H = diag(p) - p p^T`` is the Hessian of
  the cross-entropy with respect to the logits and ``H = M M^T`` with
  ``M = diag(sqrt p) - p sqrt(p)^T``: exactly in ``min(D, K)`` products (the whole Jacobian), or
  unbiasedly from ``m`` random directions ``v`` with ``E[K v v^T] = I``, as ``K ||v^T M^T J_z||^2``.
  The estimate is a differentiable function of the parameters whose ``v`` does not depend on
  them, so its gradient is unbiased too (sampling ``y ~ p`` and penalizing
  ``||d log p(y|x)/dx||^2`` would give the same value in expectation but drop ``dp/dtheta`` from
  the gradient).

For a regressor the outputs are the mean of a unit-variance Gaussian, whose Hessian of the
negative log-likelihood is ``H = I``: ``Tr I(x) = ||J_z||_F^2`` there.
"""

from __future__ import annotations

import torch
from torch.func import vjp

from .._autodiff import fisher_factor, jacobian_forms
from ._base import Penalty, Term
from ._projections import check_projections, resolve_projections


class DoubleBackpropPenalty(Penalty):
    """``double_backprop``: ``||d loss(x, y) / dx||^2``, the squared input gradient of the data
    loss at the true label (Drucker & LeCun 1992; thesis eq. 49). Needs labels. One product.

    Averaged over labels drawn from the model, ``y ~ p(y|x)``, it would be ``Tr I(x)`` (``hsfob``).
    """

    name = "double_backprop"
    needs_labels = True
    alpha_range = (0.1, 10.0)
    #: ``None``: exact (families below set their own option)
    n_projections = None

    def loss_gradient(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``g^T = d loss_i / d z_i`` of the per-row data loss, ``(B, 1, K)``, differentiable."""
        _, pullback = vjp(lambda out: self.data_loss(out, y), z)
        (grad,) = pullback(torch.ones(z.shape[0], dtype=z.dtype, device=z.device))
        return grad.unsqueeze(1)

    def factors(self, z: torch.Tensor, y) -> list:
        """The factors ``C`` whose forms ``||C J_z||_F^2`` :meth:`combine` reads."""
        return [self.loss_gradient(z, y)]

    def combine(self, norms: torch.Tensor) -> torch.Tensor:
        """The per-row term from the forms of :meth:`factors`, one ``(B,)`` tensor each."""
        return norms[0]

    def projections(self, exact_products: int) -> int | None:
        """``n_projections`` with ``"auto"`` resolved from the exact form's product count."""
        return resolve_projections(self.n_projections, exact_products)

    def term(self, module, x, y):
        # the products' own forward pass serves the data loss: one pass, not two
        norms, z = jacobian_forms(module, x, lambda z: self.factors(z, y), self.projections)
        return Term(self.combine(norms), z)


class HessianScaledFrobeniusPenalty(DoubleBackpropPenalty):
    """``hsfob``: ``Tr(J_z^T H J_z) = Tr I(x)``, ``H = diag(p) - p p^T`` the Hessian of the
    cross-entropy in the logits: the trace of the Fisher information of ``p(y|x)`` with respect to
    ``x`` (thesis eq. 63). Needs no label.

    Noise injection adds ``(epsilon^2 / 2) Tr I(x)`` to the cross-entropy to first order (thesis
    eq. 61), and ``kl`` tends to the same. For a regressor (unit-variance Gaussian outputs,
    ``H = I``) it is ``||J_z||_F^2``.

    Parameters
    ----------
    n_projections : "auto", None or int, default="auto"
        ``None`` for the exact trace (``min(D, K)`` Jacobian products per step, ``K`` the number
        of outputs, ``D`` of inputs); an integer ``m`` for the unbiased estimate
        ``K mean_j ||v_j^T M^T J_z||^2`` with ``v_j`` uniform on the unit sphere, ``m`` products,
        unbiased in value and in gradient. ``"auto"``: exact when ``min(D, K) <= 4``, else one
        projection; why, in :mod:`sklearn_regpen.penalties._projections`.
    """

    name = "hsfob"
    needs_labels = False
    alpha_range = (0.1, 10.0)

    def __init__(self, alpha=1.0, epsilon=0.1, *, n_projections="auto", **kwargs):
        super().__init__(alpha, epsilon, **kwargs)
        self.n_projections = check_projections(n_projections)

    def fisher_factor(self, z: torch.Tensor) -> torch.Tensor:
        """``M`` with ``M M^T = H``, the data loss's Hessian in the logits, ``(B, K, K)``."""
        return fisher_factor(z, self.task)

    def factors(self, z, y):
        return [self.fisher_factor(z).mT]


class HsfobDB1Penalty(HessianScaledFrobeniusPenalty):
    """``hsfob_db1``: ``Tr I(x) + ||d loss / dx||^2``, ``hsfob`` plus ``double_backprop`` with
    equal weights (thesis eq. 65). Needs labels.

    Parameters
    ----------
    n_projections : "auto", None or int, default="auto"
        As for ``hsfob``: exact trace, that many random projections, or by ``min(D, K)``.
    """

    name = "hsfob_db1"
    needs_labels = True

    def factors(self, z, y):
        return [self.fisher_factor(z).mT, self.loss_gradient(z, y)]

    def combine(self, norms):
        return norms[0] + norms[1]


class HsfobDB2Penalty(HessianScaledFrobeniusPenalty):
    """``hsfob_db2``: ``(Tr I(x))^2 + ||d loss / dx||^2`` (thesis eq. 66). Needs labels.

    With ``n_projections=m`` the square is the product of two independent ``m``-projection
    estimates of ``Tr I(x)`` (``2 m`` products), which keeps it unbiased.

    Parameters
    ----------
    n_projections : "auto", None or int, default="auto"
        As for ``hsfob``: exact trace, that many random projections per factor, or by
        ``min(D, K)``.
    """

    name = "hsfob_db2"
    needs_labels = True

    def factors(self, z, y):
        fisher = self.fisher_factor(z).mT
        return [fisher, fisher, self.loss_gradient(z, y)]

    def combine(self, norms):
        return norms[0] * norms[1] + norms[2]
