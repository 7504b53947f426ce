"""Input-space penalties, usable with the estimators (``penalty="name"``) or in a PyTorch loop.

>>> import torch
>>> from sklearn_regpen.penalties import make_penalty
>>> module = torch.nn.Linear(3, 2)
>>> pen = make_penalty("jacobian", alpha=0.1)
>>> value = pen(module, torch.randn(5, 3))
>>> value.shape, value.requires_grad
(torch.Size([]), True)

Each penalty's per-sample term, and where it comes from (the user guide's catalogue has the
formulas typeset, and what each estimates):

- ``none``: 0 (baseline)
- ``l2``: weight decay, as scikit-learn's MLP ``alpha`` (techreport "MLP+L2")
- ``noise``: the data loss at ``x + eps n`` (Sietsma & Dow; techreport "MLP+Noise")
- ``jacobian``: ``||J(x)||_F^2`` (Poggio & Girosi; techreport "Jacob")
- ``logit_jacobian``: ``||J_z(x)||_F^2`` (thesis "FrobReg")
- ``noisy_jacobian``: ``||J(x + eps n)||_F^2`` (techreport "N+J")
- ``c2c``: ``||f(x) - f(x + eps n)||^2`` (close-to-clean paper, eq. 1)
- ``c2c_adversarial``: ``max_{||r|| <= eps} ||f(x) - f(x + r)||^2`` by power iteration
  (close-to-clean paper)
- ``vat``: ``KL(p(.|x) || p(.|x + r))``, ``||r|| = eps`` by power iteration (Miyato et al.)
- ``kl``: ``KL(p(.|x) || p(.|x + eps n))`` (close-to-clean paper, future work)
- ``double_backprop``: ``||d loss(x, y) / dx||^2`` (Drucker & LeCun; thesis eq. 49)
- ``hsfob``: ``Tr(J_z^T H J_z) = Tr I(x)``, ``H = diag(p) - p p^T`` (thesis eq. 63)
- ``hsfob_db1``: ``Tr I(x) + ||d loss / dx||^2`` (thesis eq. 65)
- ``hsfob_db2``: ``(Tr I(x))^2 + ||d loss / dx||^2`` (thesis eq. 66)

Options beyond ``alpha``, ``epsilon``, ``task`` and ``reduction`` are keyword arguments of each
class and of :func:`make_penalty`; ``PENALTIES[name].option_names()`` lists them:
``n_projections`` (``jacobian``, ``logit_jacobian``, ``noisy_jacobian``, ``hsfob``,
``hsfob_db1``, ``hsfob_db2``), ``n_power_iterations`` and ``xi`` (``c2c_adversarial``, ``vat``).

For classification, rows labelled ``-1`` are unlabelled: :meth:`Penalty.objective` averages the
data loss over the labelled rows and the penalty over all rows; penalties that need labels
(``noise``, ``double_backprop``, ``hsfob_db1``, ``hsfob_db2``) refuse such batches.
"""

from __future__ import annotations

import difflib

from .._objective import data_loss
from ._base import Penalty, Term
from .close_to_clean import AdversarialCloseToCleanPenalty, CloseToCleanPenalty
from .gradient import (
    DoubleBackpropPenalty,
    HessianScaledFrobeniusPenalty,
    HsfobDB1Penalty,
    HsfobDB2Penalty,
)
from .jacobian import JacobianPenalty, LogitJacobianPenalty, NoisyJacobianPenalty
from .kl import KLPenalty, VATPenalty
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
        AdversarialCloseToCleanPenalty,
        VATPenalty,
        KLPenalty,
        DoubleBackpropPenalty,
        HessianScaledFrobeniusPenalty,
        HsfobDB1Penalty,
        HsfobDB2Penalty,
    )
}


#: options every penalty takes besides its own (see :meth:`Penalty.option_names`)
COMMON_OPTIONS = ("task", "reduction")


def make_penalty(name: str, alpha=1.0, epsilon=0.1, **options) -> Penalty:
    """Build the penalty called ``name``, ready to call in a PyTorch loop.

    Parameters
    ----------
    name : str
        A key of :data:`PENALTIES`: ``"none"``, ``"l2"``, ``"noise"``, ``"jacobian"``,
        ``"logit_jacobian"``, ``"noisy_jacobian"``, ``"c2c"``, ``"c2c_adversarial"``, ``"vat"``,
        ``"kl"``, ``"double_backprop"``, ``"hsfob"``, ``"hsfob_db1"`` or ``"hsfob_db2"``.
    alpha : float, default=1.0
        Strength, >= 0: the penalty's value is ``alpha`` times the batch mean of its per-sample
        term (unused by ``none`` and ``noise``).
    epsilon : float, default=0.1
        Noise standard deviation (``noise``, ``noisy_jacobian``, ``c2c``, ``kl``) or L2 radius
        (``c2c_adversarial``, ``vat``), in input units; > 0 where used, ignored otherwise.
    **options
        The penalty's own options (``PENALTIES[name].option_names()`` lists them:
        ``n_projections``, ``n_power_iterations``, ``xi``), and the options every penalty
        takes, ``task`` (``"classification"`` or ``"regression"``) and ``reduction``
        (``"mean"`` or ``"none"``).

    Returns
    -------
    Penalty
        An instance of ``PENALTIES[name]``. ``penalty(module, x, y)`` returns ``alpha`` times
        the batch mean of the per-sample term (a scalar tensor with a gradient), and
        ``penalty.objective(module, x, y)`` returns ``(loss, outputs)``, the data loss plus
        that term, and the module's outputs at ``x``.

    Raises
    ------
    ValueError
        ``name`` is not a known penalty (the message lists them), an option is not one of the
        penalty's (the message lists them and suggests the closest spelling), or a value is out
        of range.

    See Also
    --------
    PENALTIES : every penalty class by name.

    Examples
    --------
    >>> make_penalty("vat", alpha=2.0, epsilon=0.5, n_power_iterations=2)
    VATPenalty(alpha=2.0, epsilon=0.5, task='classification', n_power_iterations=2, xi=0.01)
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
    "AdversarialCloseToCleanPenalty",
    "CloseToCleanPenalty",
    "DoubleBackpropPenalty",
    "HessianScaledFrobeniusPenalty",
    "HsfobDB1Penalty",
    "HsfobDB2Penalty",
    "JacobianPenalty",
    "KLPenalty",
    "L2Penalty",
    "LogitJacobianPenalty",
    "NoPenalty",
    "NoisePenalty",
    "NoisyJacobianPenalty",
    "Penalty",
    "Term",
    "VATPenalty",
    "data_loss",
    "make_penalty",
]
