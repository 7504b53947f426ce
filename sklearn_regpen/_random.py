"""Where the penalties draw their random numbers: torch's global generator, or each member's own.

A penalty that perturbs its input or projects its Jacobian draws Gaussian numbers through
:func:`randn_like` and :func:`randn`. On their own they are ``torch.randn_like`` and
``torch.randn`` on torch's global generator, which the estimators seed for each fit.

When several networks are trained at once (``_members.py``), the penalty runs once on a batch
made of one block of rows per member, and each member must draw exactly what it would have drawn
as a fit of its own: the same numbers, from its own generator, in the same order. Inside
:func:`member_draws`, a draw whose batch dimension holds the blocks takes from each member's
generator a sample with the batch dimension cut to that member's real rows (its block may be
padded to the longest one), pads it with zeros, and puts it in the member's block. A member with
no real rows draws nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from contextvars import ContextVar

import torch

__all__ = ["member_draws", "randn", "randn_like"]


class _MemberDraws:
    """The generators of the members of one batch and their real rows in their blocks."""

    def __init__(self, generators: Sequence[torch.Generator], rows: Sequence[int]):
        self.generators = list(generators)
        self.rows = [int(r) for r in rows]

    def normal(self, shape, batch_dim: int, dtype, device) -> torch.Tensor:
        shape = tuple(shape)
        width, left = divmod(shape[batch_dim], len(self.generators))
        if left:
            raise ValueError(
                f"a draw of shape {shape} does not split into {len(self.generators)} blocks of "
                f"rows along dimension {batch_dim}"
            )
        out = torch.zeros(shape, dtype=dtype, device=device)
        for i, (generator, real) in enumerate(zip(self.generators, self.rows)):
            if real:
                own = shape[:batch_dim] + (real,) + shape[batch_dim + 1 :]
                out.narrow(batch_dim, i * width, real).copy_(
                    torch.randn(own, generator=generator, dtype=dtype, device=device)
                )
        return out


_ACTIVE: ContextVar[_MemberDraws | None] = ContextVar("sklearn_regpen_member_draws", default=None)


@contextmanager
def member_draws(generators: Sequence[torch.Generator], rows: Sequence[int]):
    """Draw from the members' own generators while the block runs.

    Parameters
    ----------
    generators : sequence of torch.Generator
        One per member, in the order of their blocks of rows in the batch.
    rows : sequence of int
        Each member's real rows at the start of its block (the rest is padding): its draws are
        cut to them and padded with zeros.
    """
    token = _ACTIVE.set(_MemberDraws(generators, rows))
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
