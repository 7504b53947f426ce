"""Close-to-clean regularization (c2c paper, eq. 1), random and adversarial."""

from __future__ import annotations

from ._perturbation import (
    ADVERSARIAL_OPTIONS_DOC,
    AdversarialPerturbation,
    PerturbedOutputPenalty,
)


class CloseToCleanPenalty(PerturbedOutputPenalty):
    """``c2c``: ``||f(x) - f(x + epsilon n)||^2``, ``n ~ N(0, I)``; needs no label.

    For small ``epsilon`` its expectation is ``epsilon^2 ||J(x)||_F^2`` (the ``jacobian`` penalty),
    at the cost of one extra forward and backward pass instead of ``min(d, K)``.
    """

    name = "c2c"
    alpha_range = (1.0, 100.0)
    epsilon_range = (0.1, 1.0)

    def divergence(self, clean, perturbed):
        return (self.output(clean) - self.output(perturbed)).square().sum(dim=1)


class AdversarialCloseToCleanPenalty(AdversarialPerturbation, CloseToCleanPenalty):
    __doc__ = (
        """``c2c_adversarial``: ``max_{||r|| <= epsilon} ||f(x) - f(x + r)||^2``, ``r`` found by
    power iteration; needs no label. c2c paper, adversarial variant.

    For small ``epsilon`` it is ``epsilon^2 lambda_max(J^T J)``: the largest eigenvalue where
    ``c2c`` and ``jacobian`` penalize the sum of all of them. For a regressor it is twice ``vat``.
    """
        + ADVERSARIAL_OPTIONS_DOC
    )

    name = "c2c_adversarial"
    alpha_range = (1.0, 100.0)
    epsilon_range = (0.3, 1.0)  # digits: alpha eps^2 ~ 10 did best; eps = 0.1 barely acts
