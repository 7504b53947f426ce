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
"""

from __future__ import annotations

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


def make_penalty(name: str, alpha=1.0, epsilon=0.1, **options) -> Penalty:
    """Build the penalty called ``name``; ``options`` are its own parameters and ``task``.

    Raises ``ValueError`` naming the known penalties when ``name`` is not one of them.
    """
    if name not in PENALTIES:
        raise ValueError(f"Unknown penalty {name!r}; choose one of {sorted(PENALTIES)}")
    return PENALTIES[name](alpha, epsilon, **options)


__all__ = ["PENALTIES", "Penalty", "data_loss", "make_penalty", *(c.__name__ for c in PENALTIES.values())]
