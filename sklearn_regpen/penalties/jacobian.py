"""Jacobian penalties: squared Frobenius norm of the input-output Jacobian.

All three are computed from the logits' Jacobian ``J_z = dz/dx``: the Jacobian of ``f`` is
``J = A J_z`` with ``A = diag(p) - p p^T`` (the softmax's Jacobian) for a classifier's
probabilities and ``A = I`` for logits or regression outputs, and ``||J||_F^2`` is one of the
quadratic forms of :func:`sklearn_regpen._autodiff.jacobian_forms`, which runs the products from
the same forward pass that gives the data loss its logits.

Cost: the exact norm takes ``min(D, K)`` products per step, each differentiated again for the
weight update (forward mode over the ``D`` inputs when ``D < K``, reverse mode over the ``K``
outputs otherwise). That is cheap for tabular data (small ``D`` or ``K``) and about ``K + 1``
times a plain step for images with ``K = 10`` classes. ``n_projections=m`` replaces it by an
unbiased estimate from ``m`` random projections (Hoffman et al. 2019), at ``m + 1`` times a plain
step whatever ``D`` and ``K`` are. The default, ``n_projections="auto"``, is exact when that takes
at most 4 products and one projection otherwise (see ``_projections.py``).
"""

from __future__ import annotations

import torch

from .._autodiff import jacobian_forms, softmax_jacobian
from .._random import randn_like
from ._base import Penalty, Term
from ._projections import check_projections, resolve_projections


class JacobianPenalty(Penalty):
    """``jacobian``: ``||J(x)||_F^2`` with ``J = df/dx``, ``f`` the probabilities (classifier) or
    outputs (regressor). Poggio & Girosi; techreport "Jacob"; thesis "JacReg".

    Parameters
    ----------
    n_projections : "auto", None or int, default="auto"
        ``None`` for the exact norm (``min(D, K)`` products), an integer ``m`` for the unbiased
        estimate ``K * mean_j ||v_j^T J||^2`` from ``m`` directions ``v_j`` uniform on the unit
        sphere of the ``K`` outputs (``m`` products; unbiased in value and in gradient: ``v_j``
        does not depend on the parameters). ``"auto"``: exact when ``min(D, K) <= 4`` (tables
        with few features, binary or 3-4 class problems), else one projection; why, in
        :mod:`sklearn_regpen.penalties._projections`.
    """

    name = "jacobian"
    alpha_range = (0.1, 10.0)

    def __init__(self, alpha=1.0, epsilon=0.1, *, n_projections="auto", **kwargs):
        super().__init__(alpha, epsilon, **kwargs)
        self.n_projections = check_projections(n_projections)

    def metric(self, z: torch.Tensor) -> torch.Tensor | None:
        """``A = df/dz`` per row, ``(B, K, K)`` and symmetric; ``None`` when ``f = z``."""
        return softmax_jacobian(z) if self.task == "classification" else None

    def projections(self, exact_products: int) -> int | None:
        """``n_projections`` with ``"auto"`` resolved from the exact form's product count."""
        return resolve_projections(self.n_projections, exact_products)

    def term(self, module, x, y):
        # the products' own forward pass serves the data loss: one pass, not two
        norms, z = jacobian_forms(module, x, lambda z: [self.metric(z)], self.projections)
        return Term(norms[0], z)


class LogitJacobianPenalty(JacobianPenalty):
    """``logit_jacobian``: ``||J_z(x)||_F^2``, the Jacobian of the logits (thesis "FrobReg")."""

    name = "logit_jacobian"
    alpha_range = (1e-3, 1e-1)

    def metric(self, z):
        return None


class NoisyJacobianPenalty(JacobianPenalty):
    """``noisy_jacobian``: ``||J(x + epsilon n)||_F^2`` with the data loss on clean ``x``
    (techreport "N+J"): penalizes the Hessian norm as well without computing it."""

    name = "noisy_jacobian"
    uses_epsilon = True
    epsilon_range = (0.1, 1.0)

    def term(self, module, x, y):
        noisy = x + self.epsilon * randn_like(x)
        norms, _ = jacobian_forms(module, noisy, lambda z: [self.metric(z)], self.projections)
        return Term(norms[0])  # the outputs at the noisy point cannot serve the data loss
