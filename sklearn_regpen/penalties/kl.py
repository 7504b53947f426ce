"""KL divergence between the predictive distributions at ``x`` and at ``x + r``: ``vat``, ``kl``.

For a classifier ``p(.|x) = softmax(z(x))``. For a regressor the outputs are read as the mean of a
unit-variance Gaussian (the model behind the half squared error the regressor minimises), whose
KL divergence is ``||z(x) - z(x + r)||^2 / 2``: there ``vat`` is ``c2c_adversarial / 2`` and ``kl``
is ``c2c / 2``, kept for grids that span both tasks.
"""

from __future__ import annotations

from .._autodiff import check_class_logits
from ._perturbation import (
    ADVERSARIAL_OPTIONS_DOC,
    AdversarialPerturbation,
    PerturbedOutputPenalty,
)


class KLPenalty(PerturbedOutputPenalty):
    """``kl``: ``KL(p(.|x) || p(.|x + epsilon n))``, ``n ~ N(0, I)``; needs no label. The random
    counterpart of VAT that the c2c paper proposes as future work.

    For small ``epsilon`` its expectation is ``(epsilon^2 / 2) Tr I(x)`` with ``I(x)`` the Fisher
    information of ``p(y|x)`` with respect to ``x``: the ``hsfob`` penalty, and what noise
    injection adds to the cross-entropy to first order (thesis eq. 61).
    """

    name = "kl"
    alpha_range = (1.0, 100.0)
    epsilon_range = (0.1, 1.0)

    def divergence(self, clean, perturbed):
        if self.task == "regression":
            return 0.5 * (clean - perturbed).square().sum(dim=1)
        check_class_logits(clean)
        log_p, log_q = clean.log_softmax(dim=1), perturbed.log_softmax(dim=1)
        return (log_p.exp() * (log_p - log_q)).sum(dim=1)


class VATPenalty(AdversarialPerturbation, KLPenalty):
    __doc__ = (
        """``vat``: ``KL(p(.|x) || p(.|x + r))`` with ``r`` of norm ``epsilon`` along the direction
    power iteration finds; needs no label. Virtual adversarial training (Miyato et al.); c2c
    paper section 3.3.

    For small ``epsilon`` it is ``(epsilon^2 / 2) lambda_max(I(x))``, the largest eigenvalue of the
    Fisher information of ``p(y|x)`` with respect to ``x``. For a regressor it is
    ``c2c_adversarial / 2``. Unlike Miyato et al., who hold ``p(.|x)`` fixed, the clean side is
    differentiated too, as in ``c2c``, so that the gradient is that of a function of the
    parameters; the direction ``r`` is detached, as in VAT.
    """
        + ADVERSARIAL_OPTIONS_DOC
    )

    name = "vat"
    alpha_range = (1.0, 100.0)
    epsilon_range = (0.3, 1.0)  # digits: alpha eps^2 ~ 10 did best; eps = 0.1 barely acts
