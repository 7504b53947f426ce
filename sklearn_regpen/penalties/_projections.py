"""The ``n_projections`` option of the Jacobian and Fisher-trace penalties, and its default rule.

The exact squared norm ``||J||_F^2`` (or trace ``Tr I(x)``) takes one differentiated product per
output or input direction: ``min(d, K)`` for the Jacobian penalties (forward mode over the ``d``
inputs when ``d < K``), and as many for the Fisher trace ``Tr I(x)`` (the whole Jacobian ``J_z``,
by the cheaper mode). ``m`` random projections give an unbiased
estimate, in value and in gradient, for ``m`` products whatever ``d`` and ``K`` are.

``"auto"`` (the default) computes exactly when that takes at most :data:`AUTO_EXACT_PRODUCTS`
products and uses one projection otherwise. Measured with ``benchmarks/projections.py``
(``benchmarks/results/projections.md``; CPU, one thread) with ``K = 10`` classes: the exact form
cost 1.5x to 1.9x the time per fit of one projection on digits (64 features, 100 ReLU units) and
2.2x to 3.4x on the 784-1000-1000-10 network; one projection's gradient of the penalty was 0.1 to
0.4 (relative) away from the exact one on a batch, more than the 0.01 to 0.13 that drawing the
batch itself moves it, yet held-out accuracy on digits at mid-range strengths was the same to
0.001 (3 seeds). With at most 4 products (binary and 3-4 class problems, regression with few
outputs, tables with few features for the Jacobian penalties) the exact form costs at most a few
times one projection by the FLOP count, and less on the small networks used on tables, so there
it is exact and adds no noise. The rule is a judgement on those figures, not an optimum: set
``n_projections`` to ``None`` or an integer to choose.
"""

from __future__ import annotations

from numbers import Integral

#: "auto" takes the exact form when it needs at most this many products, else one projection
AUTO_EXACT_PRODUCTS = 4


def check_projections(value):
    """Return a valid ``n_projections`` (``"auto"``, None or a positive int) or raise."""
    if value is None or (isinstance(value, str) and value == "auto"):
        return value
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"n_projections must be 'auto', None or a positive int, got {value!r}")
    return int(value)


def resolve_projections(value, n_exact_products: int):
    """The projections to use: None (exact) or an int, for ``"auto"`` from the exact cost.

    Examples
    --------
    >>> resolve_projections("auto", 3), resolve_projections("auto", 10), resolve_projections(2, 3)
    (None, 1, 2)
    """
    if value != "auto":
        return value
    return None if n_exact_products <= AUTO_EXACT_PRODUCTS else 1
