"""Input-space derivatives shared by the penalties and the diagnostics: one implementation each.

Every function takes ``fn``, a map from a batch ``x`` of shape ``(B, *S)`` (rows of features, or
images ``(B, C, H, W)``) to outputs of shape ``(B, K)`` whose rows depend only on their own input
row (true of an MLP or a CNN without batch statistics: no ``BatchNorm`` in training mode, or one
normalising by fixed statistics as the training objective arranges, ``_batch_norm.py``), and
returns per-row quantities. ``fn`` may draw random numbers (dropout in training mode): every
product differentiates the pass that gave the outputs, with its draws (forward-mode products
replay them from the generator's state before that pass). Norms over the input are taken over
all of its ``D = prod(S)`` dimensions. Results stay differentiable with respect to whatever
``fn`` closes over (a module's parameters), so a penalty built from them can be trained through.

The output-space matrices the penalties and diagnostics share live here too:
:func:`output_map` (``f``: probabilities or raw outputs), :func:`softmax_jacobian` (``A = df/dz``)
and :func:`fisher_factor` (``M`` with ``M M^T = H``, the data loss's Hessian in the outputs).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Sequence
from contextlib import contextmanager

import torch
from torch import nn
from torch.func import jvp, vjp, vmap
from torch.utils.flop_counter import FlopCounterMode

from . import _random

Fn = Callable[[torch.Tensor], torch.Tensor]


def check_batch(x: torch.Tensor) -> None:
    """Raise ``ValueError`` unless ``x`` has a batch dimension and at least one feature."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() < 2:
        raise ValueError(
            f"x must be a batch: shape (n_rows, n_features) or (n_rows, *input_shape); got shape "
            f"{tuple(x.shape)}. For one row use x.unsqueeze(0)"
        )


def check_class_logits(z: torch.Tensor) -> None:
    """Raise ``ValueError`` unless a classifier's logits have at least two columns: the softmax of
    one logit is constantly 1, so its cross-entropy and every output-space penalty would be 0."""
    if z.dim() != 2 or z.shape[1] < 2:
        raise ValueError(
            f"a classifier's module must return logits of shape (n_rows, n_classes) with at "
            f"least 2 classes; got shape {tuple(z.shape)}: the softmax of a single logit is "
            "constant, so the loss and the penalty would be 0 (use one output per class)"
        )


def flat_rows(v: torch.Tensor, batch_dims: int = 1) -> torch.Tensor:
    """``v`` with every dimension after the first ``batch_dims`` flattened into one."""
    return v.reshape(*v.shape[:batch_dims], -1)


def sq_norms(v: torch.Tensor, batch_dims: int = 1) -> torch.Tensor:
    """Squared Euclidean norm over every dimension after the first ``batch_dims``."""
    return flat_rows(v, batch_dims).square().sum(dim=-1)


def extend_rows(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Per-row ``values`` of shape ``(B,)`` reshaped to ``(B, 1, ..., 1)``, to broadcast against
    ``like`` of shape ``(B, *S)``."""
    return values.reshape(-1, *([1] * (like.dim() - 1)))


def unit_rows(v: torch.Tensor, batch_dims: int = 1) -> torch.Tensor:
    """``v`` scaled to unit Euclidean norm over every dimension after the first ``batch_dims``
    (zero rows stay zero).

    A row of tiny entries (a gradient at a confidently classified row, say) is first divided by
    its largest entry: the squares of entries under about 1e-19 underflow in float32, and the
    norm computed from them would come out 0 or far too small, turning the row into a huge
    vector instead of a unit one (a ``vat`` perturbation 1e7 times its radius). Rows of norm
    over about 1e-13 (float32) are divided by their norm as computed directly.
    """
    flat = flat_rows(v, batch_dims)
    norm = flat.norm(dim=-1)
    # below this norm the squares that underflowed may matter (relative error above ~1e-6 for a
    # million entries); above it the norm is divided by directly, as it always was
    small = norm < torch.finfo(v.dtype).tiny ** 0.5 * 1e6
    ones = torch.ones_like(norm)
    shape = (*norm.shape, *([1] * (v.dim() - batch_dims)))
    scale = torch.where(small, flat.abs().amax(dim=-1), norm)
    v = v / torch.where(scale > 0, scale, ones).reshape(shape)
    rest = torch.where(small, flat_rows(v, batch_dims).norm(dim=-1), ones)
    return v / torch.where(rest > 0, rest, ones).reshape(shape)


# -- output-space matrices -----------------------------------------------------------------------
def output_map(z: torch.Tensor, task: str) -> torch.Tensor:
    """``f``, what output-space penalties compare: class probabilities, or regression outputs."""
    if task == "classification":
        check_class_logits(z)
        return z.softmax(dim=1)
    return z


def softmax_jacobian(z: torch.Tensor) -> torch.Tensor:
    """``A = diag(p) - p p^T``, the softmax's Jacobian ``df/dz`` per row, ``(B, K, K)``,
    symmetric. It is also ``H``, the Hessian of the cross-entropy in the logits."""
    p = output_map(z, "classification")
    return torch.diag_embed(p) - p.unsqueeze(2) * p.unsqueeze(1)


def fisher_factor(z: torch.Tensor, task: str) -> torch.Tensor:
    """``M`` with ``M M^T = H``, the data loss's Hessian in the outputs, shape ``(B, K, K)``:
    ``M = diag(sqrt p) - p sqrt(p)^T`` for the cross-entropy, ``I`` for half the squared error
    (a unit-variance Gaussian). Then ``I(x) = J_z^T H J_z = (M^T J_z)^T (M^T J_z)``."""
    n_rows, n_out = z.shape
    if task != "classification":
        return torch.eye(n_out, dtype=z.dtype, device=z.device).expand(n_rows, n_out, n_out)
    check_class_logits(z)
    sqrt_p = (0.5 * z.log_softmax(dim=1)).exp()  # finite gradient where p underflows
    p = sqrt_p.square()
    return torch.diag_embed(sqrt_p) - p.unsqueeze(2) * sqrt_p.unsqueeze(1)


# -- Jacobians -----------------------------------------------------------------------------------
def _basis(n: int, n_rows: int, like: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """The ``n`` unit vectors of ``R^n``, each repeated for every row: ``(n, B, *shape)``."""
    eye = torch.eye(n, dtype=like.dtype, device=like.device).reshape(n, 1, *shape)
    return eye.expand(n, n_rows, *shape)


def _random_state(device: torch.device):
    """The state of torch's generator for ``device`` (the CPU's, a CUDA device's, or MPS's)."""
    if device.type == "cuda":
        return torch.cuda.get_rng_state(device)
    if device.type == "mps":
        return torch.mps.get_rng_state()
    return torch.get_rng_state()


def _set_random_state(state, device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.set_rng_state(state, device)
    elif device.type == "mps":
        torch.mps.set_rng_state(state)
    else:
        torch.set_rng_state(state)


@contextmanager
def _replaying(state, device: torch.device):
    """Draws inside the block repeat those made from ``state``; afterwards the generator is
    where it was on entry, as if the block had drawn nothing."""
    after = _random_state(device)
    _set_random_state(state, device)
    try:
        yield
    finally:
        _set_random_state(after, device)


#: products are batched (one pass over ``m B`` rows) for networks whose weights serve at most this
#: many multiply-adds per row (dense layers serve one each), taken one by one above it
#: (convolutions serve one per output position): see :func:`pull_each`. A judgement between the
#: two measured cases, dense networks at 1 (batched faster) and SmallCNN at 30 (one by one faster)
BATCHED_MAX_REUSE = 2.0

#: module -> {(row shape, dtype): multiply-adds per parameter in one row's forward pass}
_REUSE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _row_key(x: torch.Tensor) -> tuple:
    return tuple(x.shape[1:]), x.dtype


def _uncounted(fn: Fn, x: torch.Tensor) -> bool:
    """Whether :func:`linearize` should count the multiply-adds of its pass: a module at a row
    shape not counted yet, on a plain batch (inside a ``torch.func`` transform the counter would
    see the transform's batches too)."""
    return (
        isinstance(fn, nn.Module)
        and _row_key(x) not in _REUSE.get(fn, {})
        and not torch._C._functorch.is_functorch_wrapped_tensor(x)  # torch has no public test
    )


def linearize(fn: Fn, x: torch.Tensor):
    """``(outputs, pullback, state)``: ``vjp(fn, x)`` and the generator's state before it, from
    which forward-mode products replay the pass's random draws (a dropout mask).

    The first pass of a module at a row shape is counted by torch's FLOP counter, for
    :func:`weight_reuse`: the count reads the pass and changes nothing in it (no extra call of
    the module, the same random draws). A pass the counter fails on runs again uncounted, from
    the same generator state (an error of the module's own is raised from there), and that
    module's products stay batched."""
    state = _random_state(x.device)
    if not _uncounted(fn, x):
        out, pullback = vjp(fn, x)
        return out, pullback, state
    counts = _REUSE.setdefault(fn, {})
    try:
        with FlopCounterMode(display=False) as counter:
            out, pullback = vjp(fn, x)
    except Exception:
        counts[_row_key(x)] = None
        _set_random_state(state, x.device)
        out, pullback = vjp(fn, x)
        return out, pullback, state
    n_params = sum(p.numel() for p in fn.parameters())
    multiply_adds = counter.get_total_flops() / (2 * len(x))
    counts[_row_key(x)] = multiply_adds / n_params if n_params else 0.0
    return out, pullback, state


def weight_reuse(fn: Fn, x: torch.Tensor) -> float | None:
    """Multiply-adds per parameter in one row's forward pass through ``fn`` at rows shaped as
    ``x``'s: about 1 for dense layers, the number of output positions for a convolution, as
    counted on the module's first :func:`linearize` at that shape. ``None`` when ``fn`` is not a
    module, has not been counted at that shape, or its count failed."""
    if not isinstance(fn, nn.Module):
        return None
    return _REUSE.get(fn, {}).get(_row_key(x))


def pull_each(pullback, cotangents: torch.Tensor, batched: bool = True) -> torch.Tensor:
    """``pullback`` (of :func:`linearize`) applied to every cotangent of ``cotangents``
    ``(m, B, K)``: the vector-Jacobian products, ``(m, B, *S)``.

    ``batched``: as one pass over ``m B`` rows (``vmap``), else one backward pass over the
    batch's ``B`` rows per cotangent. Both give the same numbers (to rounding) and graphs of the
    same work for the weight update, at different speeds. Batched, the weight gradients of the
    ``m`` products are one matrix product per layer, which dense layers gain from (784-1000-
    1000-10 tanh network, batch 128, ``m = 10``, one CPU thread: the exact Jacobian norm's step
    took 11.7 plain steps batched, 12.7 one by one, side by side). Convolutions lose: their
    batched kernels run on ``m`` times larger activations at a lower rate, and torch's batched
    rules for them and for pooling add copies (SmallCNN at batch 128: 23-24 plain steps batched,
    12.6-14.9 one by one, ``benchmarks/results/speed_cnn.md``; also slower batched at batches
    of 8 and 32). :func:`products_batched` decides by the network. A single cotangent is one
    plain call either way.
    """
    if batched and len(cotangents) > 1:
        return vmap(pullback)(cotangents)[0]
    return torch.stack([pullback(c)[0] for c in cotangents])


def products_batched(fn: Fn, x: torch.Tensor) -> bool:
    """Whether :func:`pull_each` batches the products through ``fn`` at ``x``: yes where each
    weight serves at most :data:`BATCHED_MAX_REUSE` multiply-adds per row (dense layers, and a
    function that is not a module or not counted), no otherwise (convolutions)."""
    reuse = weight_reuse(fn, x)
    return reuse is None or reuse <= BATCHED_MAX_REUSE


def jacobian_and_outputs(fn: Fn, x: torch.Tensor, linearized=None):
    """Per-row Jacobians ``d fn(x)_i / d x_i`` flattened over the input, ``(B, K, D)``, and the
    outputs ``fn(x)`` of the same forward pass.

    ``min(D, K)`` products: forward mode (``D`` Jacobian-vector products, batched with ``vmap``)
    when the input is narrower than the output, reverse mode (``K`` vector-Jacobian products,
    :func:`pull_each`) otherwise. ``linearized``: :func:`linearize` ``(fn, x)`` when the caller
    has it already. A random ``fn`` (dropout) is differentiated with the draws of the pass that
    gave the outputs, in either mode.
    """
    n_rows, in_shape = x.shape[0], x.shape[1:]
    n_in = math.prod(in_shape)
    out, pullback, state = linearize(fn, x) if linearized is None else linearized
    n_out = out.shape[1]
    if n_in < n_out:
        # the forward products run fn again: with the first pass's draws, the same for every
        # direction (randomness="same")
        with _replaying(state, x.device):
            _, columns = vmap(lambda v: jvp(fn, (x,), (v,)), randomness="same")(
                _basis(n_in, n_rows, x, in_shape)
            )
        return columns.permute(1, 2, 0), out  # (D, B, K) -> (B, K, D)
    basis = _basis(n_out, n_rows, out, (n_out,))
    rows = pull_each(pullback, basis, products_batched(fn, x))  # (K, B, *S)
    return flat_rows(rows, 2).permute(1, 0, 2), out


def jacobian(fn: Fn, x: torch.Tensor) -> torch.Tensor:
    """Per-row Jacobians ``d fn(x)_i / d x_i``, shape ``(B, K, D)`` (see
    :func:`jacobian_and_outputs`).

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([[1.0, 2.0]])
    >>> jacobian(lambda v: v**2, x)
    tensor([[[2., 0.],
             [0., 4.]]])
    """
    return jacobian_and_outputs(fn, x)[0]


def pullbacks(fn: Fn, x: torch.Tensor, cotangents: Callable[[torch.Tensor], torch.Tensor]):
    """Vector-Jacobian products ``J_i^T c_ji``, flattened over the input, ``(m, B, D)``, and the
    outputs ``fn(x)`` of their forward pass.

    ``c = cotangents(fn(x))``, shape ``(m, B, K)``, may depend on the outputs (probabilities, the
    gradient of a loss): they are fixed vectors for the product with ``J`` but stay differentiable
    with respect to the parameters, so the result can be trained through. One forward pass and
    ``m`` products (:func:`pull_each`).

    Examples
    --------
    >>> x = torch.tensor([[1.0, 2.0]])
    >>> pulled, _ = pullbacks(lambda v: v**2, x, lambda out: torch.ones(1, *out.shape))
    >>> pulled
    tensor([[[2., 4.]]])
    """
    out, pullback, _ = linearize(fn, x)
    pulled = pull_each(pullback, cotangents(out), products_batched(fn, x))  # (m, B, *S)
    return flat_rows(pulled, 2), out


#: a factor ``C`` of a quadratic form ``||C J_z||_F^2``: ``(B, r, K)``, or ``None`` for ``I_K``
Factor = torch.Tensor | None
#: maps the outputs ``z`` to the factors whose forms are wanted
Factors = Callable[[torch.Tensor], Sequence[Factor]]


def _rows(factor: Factor, n_out: int) -> int:
    return n_out if factor is None else factor.shape[1]


def exact_products(factors: Sequence[Factor], n_in: int, n_out: int) -> int:
    """Products :func:`jacobian_forms` takes to compute ``factors`` exactly: one per row of every
    factor, or ``min(D, K)`` for the whole Jacobian, whichever is fewer."""
    return min(sum(_rows(c, n_out) for c in factors), n_in, n_out)


def jacobian_forms(
    fn: Fn,
    x: torch.Tensor,
    factors: Factors,
    n_projections: Callable[[int], int | None] | int | None = None,
):
    """Squared norms ``||C_b J_i||_F^2`` of products of the Jacobian ``J_i = d fn(x)_i / d x_i``
    with output-space factors ``C_b = factors(fn(x))[b]``, a list of one ``(B,)`` tensor per
    factor, and the outputs ``fn(x)`` of the same forward pass.

    The one routine behind the Jacobian norms (``C = A``, the softmax's Jacobian, or ``I``), the
    Fisher trace (``Tr I(x) = ||M^T J_z||_F^2``) and the squared input gradient of a loss
    (``C = g^T``, ``g`` the loss's gradient in the outputs).

    Parameters
    ----------
    fn : callable
        Row-wise map ``(B, *S) -> (B, K)``.
    x : tensor of shape (B, *S)
    factors : callable
        ``z -> [C_1, C_2, ...]``, each of shape ``(B, r_b, K)`` or ``None`` for the identity.
        Factors may depend on ``z`` and stay differentiable with respect to the parameters.
    n_projections : None, int, or callable
        ``None``: exact, with :func:`exact_products` products (one vector-Jacobian product per
        row of every factor, or the whole Jacobian in ``min(D, K)`` forward or reverse products
        when that is fewer). An int ``m``: each factor with more than one row is estimated by
        ``r_b mean_j ||v_j^T C_b J||^2`` with ``v_j`` uniform on the unit sphere of ``R^{r_b}``
        (Hoffman et al. 2019; ``E[r v v^T] = I``), ``m`` products per factor, unbiased in value
        and in gradient (the directions do not depend on the parameters); single-row factors
        stay exact (one product). A callable gets the exact product count and returns ``None``
        or an int (``"auto"`` rules). Each factor draws its own directions.
    """
    check_batch(x)
    z, pullback, state = linearize(fn, x)
    blocks = list(factors(z))
    n_rows, n_out = z.shape
    n_in = math.prod(x.shape[1:])
    if callable(n_projections):
        n_projections = n_projections(exact_products(blocks, n_in, n_out))
    if n_projections is None and exact_products(blocks, n_in, n_out) < sum(
        _rows(c, n_out) for c in blocks
    ):
        # the whole Jacobian is cheaper than the products
        jac, _ = jacobian_and_outputs(fn, x, (z, pullback, state))
        return [(jac if c is None else c @ jac).square().sum(dim=(1, 2)) for c in blocks], z
    cotangents, sizes, scales = [], [], []
    for c in blocks:
        rows = _rows(c, n_out)
        if n_projections is None or rows == 1:
            # the basis directions e_j: their cotangents C^T e_j are the rows of C
            block = _basis(rows, n_rows, z, (rows,)) if c is None else c.transpose(0, 1)
            scale = 1.0
        else:
            v = _random.randn(n_projections, n_rows, rows, like=z, batch_dim=1)
            v = unit_rows(v, 2)
            # the cotangent of direction v is C^T v
            block = v if c is None else torch.einsum("brk,jbr->jbk", c, v)
            scale = rows / n_projections
        cotangents.append(block)
        sizes.append(len(block))
        scales.append(scale)
    stacked = cotangents[0] if len(blocks) == 1 else torch.cat(cotangents)
    pulled = pull_each(pullback, stacked, products_batched(fn, x))
    norms = sq_norms(pulled, 2)  # (m, B)
    forms, start = [], 0
    for size, scale in zip(sizes, scales):
        form = norms[start] if size == 1 else norms[start : start + size].sum(dim=0)
        forms.append(form if scale == 1.0 else scale * form)
        start += size
    return forms, z


def jacobian_sq_norm(fn: Fn, x: torch.Tensor, n_projections: int | None = None) -> torch.Tensor:
    """Per-row squared Frobenius norm ``||d fn(x)_i / d x_i||_F^2``, shape ``(B,)``.

    ``n_projections=None`` is exact (``min(D, K)`` products); an integer ``m`` gives the unbiased
    estimate ``K mean_j ||v_j^T J||^2`` of :func:`jacobian_forms` (``m`` products).

    Examples
    --------
    >>> x = torch.tensor([[1.0, 2.0]])
    >>> jacobian_sq_norm(lambda v: v**2, x)
    tensor([20.])
    """
    return jacobian_forms(fn, x, lambda z: [None], n_projections)[0][0]


# -- the adversarial direction -------------------------------------------------------------------
def power_iteration(
    divergence: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    n_iterations: int = 1,
    xi: float = 1e-2,
) -> torch.Tensor:
    """Unit directions ``d_i`` (of the shape of ``x``, unit norm over each row's dimensions) that
    approximately maximize ``divergence`` near ``x``.

    ``divergence(v)`` returns, per row, a divergence between fixed reference outputs (those at
    ``x``) and the outputs at ``v``; it is zero at ``v = x``, so near ``x`` it is a quadratic form
    ``(v - x)^T A_i (v - x) / 2`` (``A = 2 J^T J`` for a squared distance, the Fisher information
    ``I(x)`` for a KL divergence). The gradient of ``divergence(x + xi d)`` with respect to ``d``
    is then ``xi^2 A d`` up to ``O(xi^3)``: each iteration is one step of power iteration on
    ``A``, with a finite difference of step ``xi`` in place of the matrix-vector product (Miyato
    et al. 2016, the VAT direction).
    The start is a random direction (torch's global generator, or a member's own: see
    ``_random.py``); the result is detached: no gradient flows through the search, as in VAT.

    Parameters
    ----------
    divergence : callable
        ``(B, *S) -> (B,)``, zero at ``x``; each row depends only on its own input row.
    x : tensor of shape (B, *S)
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
    direction = unit_rows(_random.randn_like(x))
    for _ in range(n_iterations):
        step = (xi * direction).requires_grad_(True)
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(divergence(x.detach() + step).sum(), step)
        direction = unit_rows(grad)
    return direction.detach()


# -- second derivatives --------------------------------------------------------------------------
def hessian_sq_norm(
    fn: Fn,
    x: torch.Tensor,
    n_projections: int | None = None,
    *,
    generator: torch.Generator | None = None,
    chunk_size: int = 16,
) -> torch.Tensor:
    """Per-row squared Frobenius norm of the second derivatives, ``sum_k ||d^2 fn_k / dx^2||_F^2``.

    Shape ``(B,)``. ``H[v] = d/dt J(x + t v)`` at ``t = 0`` (a ``(K, D)`` matrix per row) is a
    Jacobian-vector product of :func:`jacobian` (forward over reverse mode), and
    ``sum_k ||H_k||_F^2 = sum_j ||H[e_j]||_F^2`` over the input basis ``e_j``.

    Parameters
    ----------
    fn : callable
        Row-wise map ``(B, *S) -> (B, K)``, twice differentiable.
    x : tensor of shape (B, *S)
        Where the second derivatives are taken.
    n_projections : int or None, default=None
        ``None`` sums over the ``D`` basis directions: exact, ``D`` products. An integer ``m``
        averages ``||H[v]||_F^2`` over ``m`` draws ``v ~ N(0, I_D)``: unbiased, since
        ``E[v v^T] = I`` (Hutchinson's estimator applied to each ``H_k^T H_k``).
    generator : torch.Generator, optional
        Source of the random directions (torch's global generator when omitted).
    chunk_size : int, default=16
        Directions differentiated at once; bounds the memory to ``chunk_size * B * K * D``.

    Examples
    --------
    >>> x = torch.tensor([[1.0, 2.0]])
    >>> hessian_sq_norm(lambda v: v**3, x)  # d^2/dx^2 x^3 = 6x: 6^2 + 12^2
    tensor([180.])
    """
    n_rows, in_shape = x.shape[0], x.shape[1:]
    n_in = math.prod(in_shape)

    def second_sq_norms(directions):  # (m, B, *S) -> (m, B)
        _, second = vmap(lambda v: jvp(lambda u: jacobian(fn, u), (x,), (v,)))(directions)
        return second.square().sum(dim=(2, 3))

    total = torch.zeros(n_rows, dtype=x.dtype, device=x.device)
    if n_projections is None:
        for start in range(0, n_in, chunk_size):
            block = _basis(n_in, n_rows, x, in_shape)[start : start + chunk_size]
            total = total + second_sq_norms(block).sum(0)
        return total
    for start in range(0, n_projections, chunk_size):
        m = min(chunk_size, n_projections - start)
        v = torch.randn(m, *x.shape, dtype=x.dtype, device=x.device, generator=generator)
        total = total + second_sq_norms(v).sum(0)
    return total / n_projections
