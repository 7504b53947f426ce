"""Where the penalties draw their random numbers: torch's global generator, or each member's own.

A penalty that perturbs its input or projects its Jacobian draws Gaussian numbers through
:func:`randn_like` and :func:`randn`. On their own they are ``torch.randn_like`` and
``torch.randn`` on torch's global generator, which the estimators seed for each fit.

When several networks are trained at once (``_members.py``), the penalty runs once under
``torch.func.vmap`` for all of them, and each member must draw exactly what it would have drawn
as a fit of its own: the same numbers, from its own generator, in the same order. Inside
:func:`member_draws` (entered within the vmapped function), a draw of shape ``S`` takes from
each member's generator a sample of ``S`` with the batch dimension cut to that member's real
rows (its batch may be padded to the longest one), pads it with zeros, and hands the vmapped
penalty member ``i``'s sample as its own. A member with no real rows draws nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from contextvars import ContextVar

import torch

__all__ = ["member_draws", "randn", "randn_like"]


class _MemberDraws:
    """The generators of the members of one vmapped call, their positions and real rows."""

    def __init__(self, generators: Sequence[torch.Generator], index: torch.Tensor, rows):
        self.generators = list(generators)
        self.index = index  # batched under vmap: member i sees i
        self.rows = None if rows is None else [int(r) for r in rows]

    def normal(self, shape, batch_dim: int, dtype, device) -> torch.Tensor:
        shape = tuple(shape)
        samples = []
        for i, generator in enumerate(self.generators):
            real = shape[batch_dim] if self.rows is None else self.rows[i]
            sample = torch.zeros(shape, dtype=dtype, device=device)
            if real:
                own = shape[:batch_dim] + (real,) + shape[batch_dim + 1 :]
                sample.narrow(batch_dim, 0, real).copy_(
                    torch.randn(own, generator=generator, dtype=dtype, device=device)
                )
            samples.append(sample)
        return torch.stack(samples).index_select(0, self.index.reshape(1)).squeeze(0)


_ACTIVE: ContextVar[_MemberDraws | None] = ContextVar("sklearn_regpen_member_draws", default=None)


@contextmanager
def member_draws(generators: Sequence[torch.Generator], index: torch.Tensor, rows=None):
    """Draw from the members' own generators while the block runs.

    Parameters
    ----------
    generators : sequence of torch.Generator
        One per member of the vmapped call, in the order of its batch dimension.
    index : tensor
        The member's position, ``torch.arange(len(generators))`` passed through ``vmap``
        (``in_dims=0``), so that member ``i`` reads row ``i`` of each draw. The vmapped call
        needs ``randomness="same"`` (the draws come from explicit generators, not from vmap).
    rows : sequence of int, default=None
        Each member's real rows in the batch (the rest is padding): its draws are cut to them
        and padded with zeros. None: every row of the batch is real.
    """
    token = _ACTIVE.set(_MemberDraws(generators, index, rows))
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def randn_like(x: torch.Tensor) -> torch.Tensor:
    """Standard normal numbers of the shape, dtype and device of ``x`` (rows along dim 0)."""
    draws = _ACTIVE.get()
    if draws is None:
        return torch.randn_like(x)
    return draws.normal(x.shape, 0, x.dtype, x.device)


def randn(*shape: int, like: torch.Tensor, batch_dim: int = 0) -> torch.Tensor:
    """Standard normal numbers of shape ``shape``, with the dtype and device of ``like``;
    ``batch_dim`` is the dimension of the batch's rows."""
    draws = _ACTIVE.get()
    if draws is None:
        return torch.randn(*shape, dtype=like.dtype, device=like.device)
    return draws.normal(shape, batch_dim, like.dtype, like.device)
