"""Input-space penalties, usable with the estimators (``penalty="name"``) or in a PyTorch loop.

>>> import torch
>>> from sklearn_regpen.penalties import make_penalty
>>> module = torch.nn.Linear(3, 2)
>>> pen = make_penalty("jacobian", alpha=0.1)
>>> value = pen(module, torch.randn(5, 3))
>>> value.shape, value.requires_grad
(torch.Size([]), True)

| name | per-sample term | source |
|---|---|---|
| ``none`` | 0 | baseline |
| ``l2`` | weight decay, as scikit-learn's MLP ``alpha`` | techreport "MLP+L2" |
| ``noise`` | data loss at ``x + eps n`` | Sietsma & Dow; techreport "MLP+Noise" |
| ``jacobian`` | ``||J(x)||_F^2`` | Poggio & Girosi; techreport "Jacob" |
| ``logit_jacobian`` | ``||J_z(x)||_F^2`` | thesis "FrobReg" |
| ``noisy_jacobian`` | ``||J(x + eps n)||_F^2`` | techreport "N+J" |
| ``c2c`` | ``||f(x) - f(x + eps n)||^2`` | c2c paper eq. 1 |

Options beyond ``alpha``, ``epsilon``, ``task`` and ``reduction`` are keyword arguments of each
class and of :func:`make_penalty`; ``PENALTIES[name].option_names()`` lists them.

For classification, rows labelled ``-1`` are unlabelled: :meth:`Penalty.objective` averages the
data loss over the labelled rows and the penalty over all rows; penalties that need labels
refuse such batches.
"""

from __future__ import annotations

import difflib

from ._base import Penalty, data_loss
from .close_to_clean import CloseToCleanPenalty
from .jacobian import JacobianPenalty, LogitJacobianPenalty, NoisyJacobianPenalty
from .noise import NoisePenalty
from .weights import L2Penalty, NoPenalty

#: every penalty by the name ``penalty=`` takes
PENALTIES: dict[str, type[Penalty]] = {
    cls.name: cls
    for cls in (
        NoPenalty,
        L2Penalty,
        NoisePenalty,
        JacobianPenalty,
        LogitJacobianPenalty,
        NoisyJacobianPenalty,
        CloseToCleanPenalty,
    )
}


#: options every penalty takes besides its own (see :meth:`Penalty.option_names`)
COMMON_OPTIONS = ("task", "reduction")


def make_penalty(name: str, alpha=1.0, epsilon=0.1, **options) -> Penalty:
    """Build the penalty called ``name``; ``options`` are its own parameters, ``task`` and
    ``reduction``.

    Raises ``ValueError`` naming the known penalties when ``name`` is not one of them, and naming
    the penalty's options when an option is not one of them.

    Examples
    --------
    >>> make_penalty("jacobian", alpha=2.0, n_projections=1)
    JacobianPenalty(alpha=2.0, epsilon=0.1, task='classification', n_projections=1)
    """
    if name not in PENALTIES:
        raise ValueError(f"Unknown penalty {name!r}; choose one of {sorted(PENALTIES)}")
    cls = PENALTIES[name]
    known = (*cls.option_names(), *COMMON_OPTIONS)
    for option in options:
        if option not in known:
            close = difflib.get_close_matches(option, known, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"penalty={name!r} has no option {option!r}; its options are "
                f"{list(cls.option_names()) or 'none'} (and {', '.join(COMMON_OPTIONS)}).{hint}"
            )
    return cls(alpha, epsilon, **options)


__all__ = [
    "COMMON_OPTIONS",
    "PENALTIES",
    "Penalty",
    "data_loss",
    "make_penalty",
    *(c.__name__ for c in PENALTIES.values()),
]
