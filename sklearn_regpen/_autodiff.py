"""Input-space derivatives shared by the penalties and the diagnostics.

Every function here takes ``fn``, a map from a batch ``x`` of shape ``(B, d)`` to outputs of shape
``(B, K)`` whose rows depend only on their own input row (true of an MLP without batch
statistics), and returns per-row quantities. Results stay differentiable with respect to whatever
``fn`` closes over (a module's parameters), so a penalty built from them can be trained through.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.func import jvp, vjp, vmap

Fn = Callable[[torch.Tensor], torch.Tensor]


def jacobian(fn: Fn, x: torch.Tensor) -> torch.Tensor:
    """Per-row Jacobians ``d fn(x)_i / d x_i``, shape ``(B, K, d)``.

    Uses forward mode (``d`` Jacobian-vector products) when the input is narrower than the output
    and reverse mode (``K`` vector-Jacobian products) otherwise; both are batched with ``vmap``.

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([[1.0, 2.0]])
    >>> jacobian(lambda v: v**2, x)
    tensor([[[2., 0.],
             [0., 4.]]])
    """
    n_rows, n_in = x.shape
    out, pullback = vjp(fn, x)
    n_out = out.shape[1]
    if n_in < n_out:
        basis = torch.eye(n_in, dtype=x.dtype, device=x.device)
        tangents = basis.unsqueeze(1).expand(n_in, n_rows, n_in)
        _, columns = vmap(lambda v: jvp(fn, (x,), (v,)))(tangents)  # (d, B, K)
        return columns.permute(1, 2, 0)
    basis = torch.eye(n_out, dtype=x.dtype, device=x.device)
    cotangents = basis.unsqueeze(1).expand(n_out, n_rows, n_out)
    (rows,) = vmap(pullback)(cotangents)  # (K, B, d)
    return rows.permute(1, 0, 2)


def jacobian_sq_norm(fn: Fn, x: torch.Tensor, n_projections: int | None = None) -> torch.Tensor:
    """Per-row squared Frobenius norm ``||d fn(x)_i / d x_i||_F^2``, shape ``(B,)``.

    Parameters
    ----------
    fn : callable
        Row-wise map ``(B, d) -> (B, K)``.
    x : tensor of shape (B, d)
        Where the Jacobian is taken.
    n_projections : int or None, default=None
        ``None`` computes the norm exactly with ``min(d, K)`` Jacobian-vector products (see
        :func:`jacobian`). An integer ``m`` returns the unbiased estimate of Hoffman et al. (2019),
        ``K * mean_j ||v_j^T J||^2`` with ``v_j`` uniform on the unit sphere of ``R^K``: ``m``
        vector-Jacobian products whatever ``d`` and ``K`` are, the choice for images where ``d``
        and ``K`` are both large.
    """
    if n_projections is None:
        return jacobian(fn, x).square().sum(dim=(1, 2))
    out, pullback = vjp(fn, x)
    n_out = out.shape[1]
    directions = torch.randn(n_projections, *out.shape, dtype=out.dtype, device=out.device)
    directions = directions / directions.norm(dim=2, keepdim=True)
    (projected,) = vmap(pullback)(directions)  # (m, B, d)
    return n_out * projected.square().sum(dim=2).mean(dim=0)
