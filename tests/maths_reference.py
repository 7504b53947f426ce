"""What the maths tests share: a small float64 network, and references computed row by row.

The references use ``torch.autograd.functional.jacobian`` and ``torch.autograd.grad`` on one row at
a time: a different code path from the vmapped products the penalties use.
"""

import torch
from torch.autograd.functional import jacobian as autograd_jacobian

D, K, B = 4, 3, 6
#: tolerance where two routes compute the same number: only rounding separates them
TIGHT = dict(rtol=1e-9, atol=1e-12)


def tiny_net():
    """A 4-5-3 tanh network in float64, the same weights at every call."""
    torch.manual_seed(1)
    return torch.nn.Sequential(
        torch.nn.Linear(D, 5), torch.nn.Tanh(), torch.nn.Linear(5, K)
    ).double()


def row_jacobians(fn, x, create_graph=False):
    """(B, K, D): d fn(x_i) / d x_i, one row at a time."""
    rows = [autograd_jacobian(fn, x[i], create_graph=create_graph) for i in range(len(x))]
    return torch.stack(rows)


def grads(value, net):
    """Gradient w.r.t. every parameter (zeros for those the value does not depend on)."""
    params = list(net.parameters())
    found = torch.autograd.grad(value, params, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(params, found)]
