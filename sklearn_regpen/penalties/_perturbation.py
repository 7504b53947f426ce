"""What the output-space penalties share: compare the outputs at ``x`` and at ``x + r``.

``c2c`` / ``c2c_adversarial`` (squared distance) and ``kl`` / ``vat`` (KL divergence) differ only in
the divergence they use and in how the perturbation ``r`` is chosen: at random, ``r = epsilon n``
with ``n ~ N(0, I)``, or adversarially, ``r = epsilon d`` with ``d`` the unit direction that
power iteration finds for the divergence (the VAT recipe of Miyato et al.).
"""

from __future__ import annotations

import torch

from .._autodiff import power_iteration
from .._random import randn_like
from ._base import Penalty, Term, check_positive_float, check_positive_int


class PerturbedOutputPenalty(Penalty):
    """Base of ``divergence(z(x), z(x + r))`` penalties, ``r = epsilon n`` with ``n ~ N(0, I)``.

    Families implement :meth:`divergence`; the adversarial variants mix in
    :class:`AdversarialPerturbation`, which replaces :meth:`perturbation`. Both sides are
    differentiated (the clean outputs are not treated as constants), so the penalty is a plain
    function of the parameters. The clean forward pass serves the data loss too.
    """

    uses_epsilon = True

    def divergence(self, clean: torch.Tensor, perturbed: torch.Tensor) -> torch.Tensor:
        """Per-row divergence between raw outputs (logits) at ``x`` and at ``x + r``, ``(B,)``."""
        raise NotImplementedError

    def perturbation(self, module, x: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
        """The perturbation ``r`` added to ``x``: Gaussian noise of standard deviation epsilon."""
        return self.epsilon * randn_like(x)

    def term(self, module, x, y):
        clean = module(x)
        r = self.perturbation(module, x, clean)
        return Term(self.divergence(clean, module(x + r)), clean)


#: the options of the adversarial penalties, shared by their docstrings
ADVERSARIAL_OPTIONS_DOC = """
    Parameters
    ----------
    n_power_iterations : int, default=1
        Power-iteration steps for the direction of ``r``; each costs one more forward pass and
        one more gradient with respect to the input.
    xi : float, default=1e-2
        Finite-difference step of the power iteration, in input units. ``1e-2`` keeps the
        direction within a cosine of 0.97 of the exact one on every row we measured in float32
        (``benchmarks/power_iteration_step.py``); the ``1e-6`` of some VAT code leaves it close to
        random in float32.
"""


class AdversarialPerturbation:
    __doc__ = (
        """Mixin: ``r = epsilon d`` on the sphere of radius ``epsilon``, ``d`` from power iteration.

    ``d`` approximately maximizes the penalty's own divergence (see
    :func:`sklearn_regpen._autodiff.power_iteration`); it is detached, as in VAT: no gradient
    flows through the search, only through the two outputs compared.
    """
        + ADVERSARIAL_OPTIONS_DOC
    )

    def __init__(self, alpha=1.0, epsilon=0.1, *, n_power_iterations=1, xi=1e-2, **kwargs):
        super().__init__(alpha, epsilon, **kwargs)
        self.n_power_iterations = check_positive_int("n_power_iterations", n_power_iterations)
        self.xi = check_positive_float("xi", xi)

    def perturbation(self, module, x, clean):
        reference = clean.detach()
        direction = power_iteration(
            lambda v: self.divergence(reference, module(v)), x, self.n_power_iterations, self.xi
        )
        return self.epsilon * direction
