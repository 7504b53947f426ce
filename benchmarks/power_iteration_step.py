"""How well one float32 power-iteration step finds its direction, for several steps ``xi``.

    .ci/env python -m benchmarks.power_iteration_step     # under a minute

The adversarial penalties (``c2c_adversarial``, ``vat``) replace the matrix-vector product of
power iteration by a finite difference of step ``xi``
(:func:`sklearn_regpen._autodiff.power_iteration`).
Too small a step drowns the change of the outputs in float32 rounding; too large a step leaves the
region where the divergence is quadratic (ReLU kinks, tanh curvature). For each ``xi`` this prints
the cosine between the direction after one float32 step and the exact one, ``A d0 / ||A d0||``
computed in float64 with forward- and reverse-mode products (``A = J^T J`` of the probabilities for
c2c_adversarial, the Fisher information ``J_z^T H J_z`` for vat), from the same start ``d0``:
median, 5th percentile and minimum over the rows, on two networks:

* the techreport's 784-1000-1000-10 tanh MLP at initialization, 128 pixel-like rows in [0, 1];
* a 64-100-10 ReLU MLP trained for 300 Adam steps on 500 standardized digits, 128 other rows
  (confident predictions make the divergence tiny, the hard case for rounding).

The penalties' default ``xi = 1e-2`` comes from this table.
"""

from __future__ import annotations

import copy

import torch
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler
from torch.func import jvp, vjp

from sklearn_regpen._autodiff import power_iteration, unit_rows
from sklearn_regpen.modules import MLP

STEPS = (1e-6, 1e-5, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)


def networks():
    torch.manual_seed(0)
    yield "784-1000-1000-10 tanh, init", MLP(784, 10, (1000, 1000), "tanh"), torch.rand(128, 784)
    X, y = load_digits(return_X_y=True)
    X = torch.tensor(StandardScaler().fit_transform(X), dtype=torch.float32)
    y = torch.tensor(y)
    net = MLP(64, 10, (100,), "relu")
    optimizer = torch.optim.Adam(net.parameters(), 1e-3)
    for _ in range(300):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(X[:500]), y[:500]).backward()
        optimizer.step()
    yield "64-100-10 relu, trained on digits", net, X[500:628]


def divergence(kind, net, x):
    """The divergence each penalty's power iteration uses, against the outputs at ``x``."""
    if kind == "c2c_adversarial":
        clean = net(x).softmax(1).detach()
        return lambda v: (clean - net(v).softmax(1)).square().sum(1)
    log_p = net(x).log_softmax(1).detach()
    return lambda v: (log_p.exp() * (log_p - net(v).log_softmax(1))).sum(1)


def exact_step(kind, net, x, start):
    """``A start / ||A start||`` with exact Jacobian products, for ``net`` and ``x`` in float64."""
    f = (lambda v: net(v).softmax(1)) if kind == "c2c_adversarial" else net
    out, tangent = jvp(f, (x,), (start,))
    if kind == "vat":  # H (J_z d) with H = diag(p) - p p^T
        p = out.softmax(1)
        tangent = p * tangent - p * (p * tangent).sum(1, keepdim=True)
    _, pullback = vjp(f, x)
    return unit_rows(pullback(tangent)[0])


def main() -> int:
    torch.set_num_threads(1)
    header = "| network | penalty | " + " | ".join(f"xi={xi:g}" for xi in STEPS) + " |"
    print("cosine to the exact direction after one float32 step: median / 5th pct / min\n")
    print(header)
    print("|---|---|" + "---|" * len(STEPS))
    for name, net, x in networks():
        net64, x64 = copy.deepcopy(net).double(), x.double()
        for kind in ("c2c_adversarial", "vat"):
            cells = []
            for xi in STEPS:
                torch.manual_seed(1)
                start = unit_rows(torch.randn_like(x)).double()  # the draw power_iteration makes
                reference = exact_step(kind, net64, x64, start)
                torch.manual_seed(1)
                found = power_iteration(divergence(kind, net, x), x, 1, xi).double()
                cos = (found * reference).sum(1)
                cells.append(f"{cos.median():.4f} / {cos.quantile(0.05):.3f} / {cos.min():.3f}")
            print(f"| {name} | {kind} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
