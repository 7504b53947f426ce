"""Jacobian penalties: squared Frobenius norm of the input-output Jacobian.

All three are computed from the logits' Jacobian ``J_z = dz/dx``: the Jacobian of ``f`` is
``J = A J_z`` with ``A = diag(p) - p p^T`` (the softmax's Jacobian) for a classifier's
probabilities and ``A = I`` for logits or regression outputs. A vector-Jacobian product of ``f`` is
then one of ``z`` with the cotangent ``A c`` (``A`` is symmetric), so the products run from the
same forward pass that gives the data loss its logits, as for the gradient penalties.

Cost: the exact norm takes ``min(d, K)`` products per step, each differentiated again for the
weight update (forward mode over the ``d`` inputs when ``d < K``, reverse mode over the ``K``
outputs otherwise). That is cheap for tabular data (small ``d`` or ``K``) and about ``K + 1``
times a plain step for images with ``K = 10`` classes. ``n_projections=m`` replaces it by an
unbiased estimate from ``m`` random projections (Hoffman et al. 2019), at ``m + 1`` times a plain
step whatever ``d`` and ``K`` are. The default, ``n_projections="auto"``, is exact when that takes
at most 4 products and one projection otherwise (see ``_projections.py``).
"""

from __future__ import annotations

import torch
from torch.func import vjp, vmap

from .._autodiff import jacobian, unit_rows
from ._base import Penalty
from ._projections import check_projections, resolve_projections


class JacobianPenalty(Penalty):
    """``jacobian``: ``||J(x)||_F^2`` with ``J = df/dx``, ``f`` the probabilities (classifier) or
    outputs (regressor). Poggio & Girosi; techreport "Jacob"; thesis "JacReg".

    Parameters
    ----------
    n_projections : "auto", None or int, default="auto"
        ``None`` for the exact norm (``min(d, K)`` products), an integer ``m`` for the unbiased
        estimate ``K * mean_j ||v_j^T J||^2`` from ``m`` directions ``v_j`` uniform on the unit
        sphere of the ``K`` outputs (``m`` products; unbiased in value and in gradient: ``v_j``
        does not depend on the parameters). ``"auto"``: exact when ``min(d, K) <= 4`` (tables
        with few features, binary or 3-4 class problems), else one projection; why, in
        :mod:`sklearn_regpen.penalties._projections`.
    """

    name = "jacobian"
    alpha_range = (0.1, 10.0)
    #: whether the Jacobian is of the logits ``z`` rather than of ``f``
    of_logits = False
    #: whether the Jacobian is taken at the clean input, where the data loss's forward pass is
    at_clean_input = True

    def __init__(self, alpha=1.0, epsilon=0.1, *, n_projections="auto", **kwargs):
        super().__init__(alpha, epsilon, **kwargs)
        self.n_projections = check_projections(n_projections)

    def where(self, x: torch.Tensor) -> torch.Tensor:
        """The point at which the Jacobian is taken."""
        return x

    def output_jacobian(self, z: torch.Tensor) -> torch.Tensor | None:
        """``A = df/dz`` per row, shape ``(B, K, K)`` and symmetric; ``None`` when ``f = z``."""
        if self.of_logits or self.task == "regression":
            return None
        p = z.softmax(dim=1)
        return torch.diag_embed(p) - p.unsqueeze(2) * p.unsqueeze(1)

    def cotangents(self, z: torch.Tensor, n_projections: int | None) -> torch.Tensor:
        """Output-space vectors ``c`` whose pullbacks ``J^T c`` make the term, ``(m, B, K)``:
        the ``K`` unit vectors (``n_projections=None``, exact) or ``sqrt(K)`` times
        ``n_projections`` random unit vectors, mapped to the logits by ``A``."""
        n_rows, n_out = z.shape
        if n_projections is None:
            basis = torch.eye(n_out, dtype=z.dtype, device=z.device)
            directions = basis.unsqueeze(1).expand(n_out, n_rows, n_out)
        else:
            # sqrt(K) v with v uniform on the unit sphere: E[K v v^T] = I, so the mean is unbiased
            v = torch.randn(n_projections, n_rows, n_out, dtype=z.dtype, device=z.device)
            directions = n_out**0.5 * unit_rows(v)
        metric = self.output_jacobian(z)
        if metric is None:
            return directions
        return torch.einsum("bkl,jbl->jbk", metric, directions)

    def term_and_logits(self, module, x: torch.Tensor):
        """The per-sample term at ``x`` and the logits ``module(x)`` of the same forward pass."""
        z, pullback = vjp(module, x)
        n_projections = resolve_projections(self.n_projections, min(x.shape[1], z.shape[1]))
        if n_projections is None and x.shape[1] < z.shape[1]:
            # forward mode: d Jacobian-vector products instead of K vector-Jacobian ones
            jac = jacobian(module, x)  # (B, K, d)
            metric = self.output_jacobian(z)
            jac = jac if metric is None else metric @ jac
            return jac.square().sum(dim=(1, 2)), z
        (pulled,) = vmap(pullback)(self.cotangents(z, n_projections))  # (m, B, d)
        norms = pulled.square().sum(dim=2)
        return (norms.sum(dim=0) if n_projections is None else norms.mean(dim=0)), z

    def per_sample(self, module, x, y, outputs):
        return self.term_and_logits(module, self.where(x))[0]

    def outputs_and_term(self, module, x, y):
        # at the clean input the products' own forward pass serves the data loss: one, not two
        if not self.active or not self.at_clean_input:
            return super().outputs_and_term(module, x, y)
        term, outputs = self.term_and_logits(module, x)
        return outputs, term


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
    at_clean_input = False
    epsilon_range = (0.1, 1.0)

    def where(self, x):
        return x + self.epsilon * torch.randn_like(x)
