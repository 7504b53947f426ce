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

    def directions(out):
        # sqrt(K) v with v uniform on the unit sphere: E[K v v^T] = I, so the mean is unbiased
        v = unit_rows(torch.randn(n_projections, *out.shape, dtype=out.dtype, device=out.device))
        return out.shape[1] ** 0.5 * v

    return pullback_sq_norms(fn, x, directions).mean(dim=0)


def pullback_sq_norms(
    fn: Fn,
    x: torch.Tensor,
    cotangents: Callable[[torch.Tensor], torch.Tensor],
    *,
    with_outputs: bool = False,
):
    """Squared norms ``||J_i^T c_ji||^2`` of vector-Jacobian products, shape ``(m, B)``.

    ``J_i = d fn(x)_i / d x_i`` and ``c_j = cotangents(fn(x))``, shape ``(m, B, K)``. The cotangents
    may depend on the outputs (probabilities, the gradient of a loss): they are fixed vectors for
    the product with ``J`` but stay differentiable with respect to the parameters, so the result
    can be trained through. One forward pass and ``m`` batched vector-Jacobian products;
    ``with_outputs=True`` also returns the outputs ``fn(x)`` of that pass (differentiable), as
    ``(norms, outputs)``.

    Examples
    --------
    >>> x = torch.tensor([[1.0, 2.0]])
    >>> pullback_sq_norms(lambda v: v**2, x, lambda out: torch.ones(1, *out.shape))
    tensor([[20.]])
    """
    out, pullback = vjp(fn, x)
    (pulled,) = vmap(pullback)(cotangents(out))  # (m, B, d)
    norms = pulled.square().sum(dim=2)
    return (norms, out) if with_outputs else norms


def unit_rows(v: torch.Tensor) -> torch.Tensor:
    """``v`` scaled to unit Euclidean norm along its last dimension (zero rows stay zero)."""
    norm = v.norm(dim=-1, keepdim=True)
    return v / norm.clamp_min(torch.finfo(v.dtype).tiny)


def power_iteration(
    divergence: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    n_iterations: int = 1,
    xi: float = 1e-2,
) -> torch.Tensor:
    """Unit directions ``d_i`` (rows of a ``(B, d)`` tensor) that approximately maximize
    ``divergence`` near ``x``.

    ``divergence(v)`` returns, per row, a divergence between fixed reference outputs (those at
    ``x``) and the outputs at ``v``; it is zero at ``v = x``, so near ``x`` it is a quadratic form
    ``(v - x)^T A_i (v - x) / 2`` (``A = 2 J^T J`` for a squared distance, the Fisher information
    ``I(x)`` for a KL divergence). The gradient of ``divergence(x + xi d)`` with respect to ``d``
    is then ``xi^2 A d`` up to ``O(xi^3)``: each iteration is one step of power iteration on
    ``A``, with a finite difference of step ``xi`` in place of the matrix-vector product (Miyato
    et al. 2016, the VAT direction).
    The start is a random direction (torch's global generator); the result is detached: no
    gradient flows through the search, as in VAT.

    Parameters
    ----------
    divergence : callable
        ``(B, d) -> (B,)``, zero at ``x``; each row depends only on its own input row.
    x : tensor of shape (B, d)
        The clean inputs.
    n_iterations : int, default=1
        Power-iteration steps. One step already separates the top eigenvector well when the
        spectrum has a gap; more sharpen it at one more forward and backward pass each.
    xi : float, default=1e-2
        Finite-difference step, in input units. It must be large enough for the change of the
        outputs to stand above float32 rounding, and small enough for the divergence to stay
        quadratic (the truncation error is ``O(xi)`` relative). Measured on pixel-like and
        standardized inputs (``benchmarks/power_iteration_step.py``): ``xi = 1e-6`` leaves the
        direction close to random (median cosine 0.03 to 0.98 with the exact one), ``1e-3`` has
        a median of 0.9997 but fails on confidently classified rows (minimum cosine -0.3), and
        ``1e-2`` keeps every row above 0.96; ``1e-1`` starts to suffer from ReLU kinks.

    Examples
    --------
    >>> torch.manual_seed(0) and None
    >>> scale = torch.tensor([1.0, 3.0])  # f(v) = scale * v: J^T J = diag(1, 9)
    >>> x = torch.zeros(1, 2)
    >>> d = power_iteration(lambda v: (scale * v).square().sum(1), x, n_iterations=20)
    >>> d.abs().round(decimals=4)
    tensor([[0., 1.]])
    """
    direction = unit_rows(torch.randn_like(x))
    for _ in range(n_iterations):
        step = (xi * direction).requires_grad_(True)
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(divergence(x.detach() + step).sum(), step)
        direction = unit_rows(grad)
    return direction.detach()


def hessian_sq_norm(
    fn: Fn,
    x: torch.Tensor,
    n_projections: int | None = None,
    *,
    generator: torch.Generator | None = None,
    chunk_size: int = 16,
) -> torch.Tensor:
    """Per-row squared Frobenius norm of the second derivatives, ``sum_k ||d^2 fn_k / dx^2||_F^2``.

    Shape ``(B,)``. ``H[v] = d/dt J(x + t v)`` at ``t = 0`` (a ``(K, d)`` matrix per row) is a
    Jacobian-vector product of :func:`jacobian` (forward over reverse mode), and
    ``sum_k ||H_k||_F^2 = sum_j ||H[e_j]||_F^2`` over the input basis ``e_j``.

    Parameters
    ----------
    fn : callable
        Row-wise map ``(B, d) -> (B, K)``, twice differentiable.
    x : tensor of shape (B, d)
        Where the second derivatives are taken.
    n_projections : int or None, default=None
        ``None`` sums over the ``d`` basis directions: exact, ``d`` products. An integer ``m``
        averages ``||H[v]||_F^2`` over ``m`` draws ``v ~ N(0, I_d)``: unbiased, since
        ``E[v v^T] = I`` (Hutchinson's estimator applied to each ``H_k^T H_k``).
    generator : torch.Generator, optional
        Source of the random directions (torch's global generator when omitted).
    chunk_size : int, default=16
        Directions differentiated at once; bounds the memory to ``chunk_size * B * K * d``.

    Examples
    --------
    >>> x = torch.tensor([[1.0, 2.0]])
    >>> hessian_sq_norm(lambda v: v**3, x)  # d^2/dx^2 x^3 = 6x: 6^2 + 12^2
    tensor([180.])
    """
    n_rows, n_in = x.shape

    def sq_norms(directions):  # (m, B, d) -> (m, B)
        _, second = vmap(lambda v: jvp(lambda u: jacobian(fn, u), (x,), (v,)))(directions)
        return second.square().sum(dim=(2, 3))

    if n_projections is None:
        basis = torch.eye(n_in, dtype=x.dtype, device=x.device)
        total = torch.zeros(n_rows, dtype=x.dtype, device=x.device)
        for start in range(0, n_in, chunk_size):
            block = basis[start : start + chunk_size]
            total = total + sq_norms(block.unsqueeze(1).expand(len(block), n_rows, n_in)).sum(0)
        return total
    total = torch.zeros(n_rows, dtype=x.dtype, device=x.device)
    for start in range(0, n_projections, chunk_size):
        m = min(chunk_size, n_projections - start)
        v = torch.randn(m, n_rows, n_in, dtype=x.dtype, device=x.device, generator=generator)
        total = total + sq_norms(v).sum(0)
    return total / n_projections
