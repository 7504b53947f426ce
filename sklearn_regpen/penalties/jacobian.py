"""Jacobian penalties: squared Frobenius norm of the input-output Jacobian.

Cost: the exact norm takes ``min(d, K)`` Jacobian-vector products per step, each differentiated
again for the weight update (forward mode over the ``d`` inputs when ``d < K``, reverse mode over
the ``K`` outputs otherwise). That is cheap for tabular data (small ``d`` or ``K``) and about
``K + 1`` times a plain step for images with ``K = 10`` classes. ``n_projections=m`` replaces it by
an unbiased estimate from ``m`` random projections (Hoffman et al. 2019), at ``m + 1`` times a
plain step whatever ``d`` and ``K`` are.
"""

from __future__ import annotations

import torch

from .._autodiff import jacobian_sq_norm
from ._base import Penalty, check_positive_int


class JacobianPenalty(Penalty):
    """``jacobian``: ``||J(x)||_F^2`` with ``J = df/dx``, ``f`` the probabilities (classifier) or
    outputs (regressor). Poggio & Girosi; techreport "Jacob"; thesis "JacReg".

    Parameters
    ----------
    n_projections : int or None, default=None
        ``None`` for the exact norm, an integer for that many random projections.
    """

    name = "jacobian"
    alpha_range = (0.1, 10.0)
    #: whether the Jacobian is of the logits ``z`` rather than of ``f``
    of_logits = False

    def __init__(self, alpha=1.0, epsilon=0.1, *, n_projections=None, **kwargs):
        super().__init__(alpha, epsilon, **kwargs)
        self.n_projections = check_positive_int("n_projections", n_projections, allow_none=True)

    def where(self, x: torch.Tensor) -> torch.Tensor:
        """The point at which the Jacobian is taken."""
        return x

    def per_sample(self, module, x, y, outputs):
        def fn(v):
            z = module(v)
            return z if self.of_logits else self.output(z)

        return jacobian_sq_norm(fn, self.where(x), self.n_projections)


class LogitJacobianPenalty(JacobianPenalty):
    """``logit_jacobian``: ``||J_z(x)||_F^2``, the Jacobian of the logits (thesis "FrobReg")."""

    name = "logit_jacobian"
    of_logits = True
    alpha_range = (1e-3, 1e-1)


class NoisyJacobianPenalty(JacobianPenalty):
    """``noisy_jacobian``: ``||J(x + epsilon n)||_F^2`` with the data loss on clean ``x``
    (techreport "N+J"): penalizes the Hessian norm as well without computing it."""

    name = "noisy_jacobian"
    uses_epsilon = True
    epsilon_range = (0.1, 1.0)

    def where(self, x):
        return x + self.epsilon * torch.randn_like(x)
