"""The exact forms with ten outputs, on a ReLU / max-pooling CNN and an MLP, against autograd.

With ``n_projections=None`` every Jacobian-family penalty takes one vector-Jacobian product per
output (or per row of its output-space factor), differentiated again for the weight update:
through a convolutional network one backward pass at a time, through dense layers batched
(``_autodiff.pull_each``, ``products_batched``). These tests hold both routes to references
computed image by image (or row by row) with ``torch.autograd.functional.jacobian`` and
``torch.autograd.grad``, in float64: the penalty's value and its gradient with respect to every
parameter, with ``K = 10`` outputs as for digits, on SmallCNN's own layers (convolutions, ReLU,
max-pooling, dense) shrunk to a few channels (one by one), and on a tanh MLP (batched).
"""

import pytest
import torch
from maths_reference import TIGHT
from torch import nn
from torch.autograd.functional import jacobian as autograd_jacobian
from torch.func import vjp, vmap

from sklearn_regpen._autodiff import linearize, products_batched, pull_each, weight_reuse
from sklearn_regpen.modules import MLP, SmallCNN
from sklearn_regpen.penalties import make_penalty

K, B = 10, 4

#: the exact forms: Jacobian norms, the Fisher trace and the family that adds double backprop
NAMES = ["jacobian", "logit_jacobian", "noisy_jacobian", "hsfob", "hsfob_db1", "hsfob_db2",
         "double_backprop"]  # fmt: skip


def small_cnn():
    """SmallCNN's layers (conv-ReLU-pool twice, conv-ReLU, dense, dense) on 1x18x18 images."""
    torch.manual_seed(1)
    return SmallCNN((1, 18, 18), K, channels=(2, 3, 3), hidden=5).double()


def small_mlp():
    """A 12-8-10 tanh MLP: more inputs than outputs, so the products run in reverse mode."""
    torch.manual_seed(1)
    return MLP(12, K, (8,), "tanh").double()


NETS = {"cnn": (small_cnn, (1, 18, 18)), "mlp": (small_mlp, (12,))}


@pytest.fixture(params=sorted(NETS))
def case(request):
    build, shape = NETS[request.param]
    torch.manual_seed(2)
    x = torch.rand(B, *shape, dtype=torch.float64)
    y = torch.randint(0, K, (B,))
    return build(), x, y


def row_jacobians(fn, x):
    """(B, K, D): d fn(x_i) / d x_i, one unbatched row at a time, flattened, kept in the graph."""
    rows = [
        autograd_jacobian(lambda v: fn(v.unsqueeze(0))[0], x[i], create_graph=True)
        for i in range(len(x))
    ]
    return torch.stack(rows).flatten(2)


def loss_input_grads(net, x, y):
    """(B, D): d cross_entropy(net(x_i), y_i) / d x_i, one row at a time, kept in the graph."""
    rows = []
    for i in range(len(x)):
        xi = x[i : i + 1].clone().requires_grad_(True)
        loss = nn.functional.cross_entropy(net(xi), y[i : i + 1])
        rows.append(torch.autograd.grad(loss, xi, create_graph=True)[0].flatten())
    return torch.stack(rows)


def reference(name, net, x, y):
    """The per-row term of ``name`` from its formula, on row-by-row autograd Jacobians."""
    if name == "noisy_jacobian":
        torch.manual_seed(5)
        x = x + 0.3 * torch.randn_like(x)
    if name in ("jacobian", "noisy_jacobian"):
        return row_jacobians(lambda v: net(v).softmax(-1), x).square().sum((1, 2))
    if name == "logit_jacobian":
        return row_jacobians(net, x).square().sum((1, 2))
    gradient = loss_input_grads(net, x, y).square().sum(-1)
    if name == "double_backprop":
        return gradient
    jac = row_jacobians(net, x)
    p = net(x).softmax(-1)
    hessian = torch.diag_embed(p) - p.unsqueeze(2) * p.unsqueeze(1)
    trace = (jac.mT @ hessian @ jac).diagonal(dim1=1, dim2=2).sum(-1)
    return {"hsfob": trace, "hsfob_db1": trace + gradient, "hsfob_db2": trace**2 + gradient}[name]


def parameter_grads(value, net):
    return torch.autograd.grad(value, list(net.parameters()), allow_unused=True, retain_graph=True)


@pytest.mark.parametrize("name", NAMES)
def test_exact_form_value_and_gradient_match_autograd(case, name):
    net, x, y = case
    options = {} if name == "double_backprop" else {"n_projections": None}
    pen = make_penalty(name, alpha=0.7, epsilon=0.3, **options)
    torch.manual_seed(5)  # noisy_jacobian's noise: the draws the reference repeats
    value = pen(net, x, y)
    expected = 0.7 * reference(name, net, x, y).mean()
    torch.testing.assert_close(value, expected, **TIGHT)
    weights = [p.dim() > 1 for p in net.parameters()]
    for got, want, weight in zip(
        parameter_grads(value, net), parameter_grads(expected, net), weights
    ):
        if weight:  # every weight moves the term, so the comparison bites on each
            assert want is not None and want.abs().max() > 0
        if want is None:  # a bias the term does not depend on (the logits' one for J_z)
            assert got is None or not got.any()
        else:
            torch.testing.assert_close(got, want, **TIGHT)


@pytest.mark.parametrize("name", NAMES)
def test_exact_form_objective_shares_the_clean_logits(case, name):
    """The data loss is taken on the logits at the clean input, the products' own pass where they
    ran at ``x``: the objective is the cross-entropy plus alpha times the reference term."""
    net, x, y = case
    options = {} if name == "double_backprop" else {"n_projections": None}
    pen = make_penalty(name, alpha=0.7, epsilon=0.3, **options)
    torch.manual_seed(5)
    loss, outputs = pen.objective(net, x, y)
    torch.testing.assert_close(outputs, net(x), **TIGHT)
    expected = nn.functional.cross_entropy(net(x), y) + 0.7 * reference(name, net, x, y).mean()
    torch.testing.assert_close(loss, expected, **TIGHT)
    for got, want in zip(parameter_grads(loss, net), parameter_grads(expected, net)):
        torch.testing.assert_close(got, want, **TIGHT)


def test_products_one_by_one_equal_the_batched_products(case):
    """``pull_each`` one product at a time against ``vmap`` over the same pullback: the same
    numbers, and the same gradient of their squared norms with respect to the parameters."""
    net, x, _ = case
    z, pullback = vjp(net, x)
    cotangents = torch.randn(K, B, K, dtype=torch.float64)
    one_by_one = pull_each(pullback, cotangents, batched=False)
    (batched,) = vmap(pullback)(cotangents)
    assert one_by_one.shape == (K, *x.shape)
    torch.testing.assert_close(one_by_one, batched, **TIGHT)
    got = parameter_grads(one_by_one.square().sum(), net)
    want = parameter_grads(batched.square().sum(), net)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, **TIGHT)


def test_weight_reuse_counts_multiply_adds_per_parameter():
    """A dense layer uses each weight once per row; a 3x3 convolution on a 6x6 image once per
    output position (4 x 4 = 16). Counted on the first pass at a row shape."""
    dense, conv = nn.Linear(5, 3, bias=False), nn.Conv2d(1, 4, 3, bias=False)
    x_rows, x_images = torch.rand(3, 5), torch.rand(3, 1, 6, 6)
    assert weight_reuse(dense, x_rows) is None  # not counted yet: products batched, as before
    linearize(dense, x_rows)
    linearize(conv, x_images)
    assert weight_reuse(dense, x_rows) == pytest.approx(1.0)
    assert weight_reuse(conv, x_images) == pytest.approx(16.0)
    assert weight_reuse(conv, torch.rand(3, 1, 8, 8)) is None  # another shape: its own count
    assert weight_reuse(lambda v: v, x_rows) is None  # not a module: nothing to count


def test_products_are_batched_for_dense_layers_one_by_one_for_convolutions(case):
    net, x, _ = case
    make_penalty("jacobian", n_projections=None)(net, x)  # the first pass counts
    dense = all(p.dim() <= 2 for p in net.parameters())
    assert products_batched(net, x) is dense
    assert products_batched(lambda v: net(v), x)  # a plain function: batched, as before


def test_the_counted_pass_is_the_pass_itself():
    """Counting adds no call of the module and draws nothing: a Dropout network's first
    (counted) pass gives the outputs and the products of an uncounted pass with the same seed."""
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Dropout(0.5), nn.Flatten(), nn.Linear(32, 3))
    calls = []
    net.register_forward_hook(lambda *args: calls.append(1))
    x = torch.rand(2, 1, 6, 6)
    runs = []
    for _ in range(2):  # the first pass is counted, the second is not
        torch.manual_seed(0)
        out, pullback, _ = linearize(net, x)
        runs.append((out, pullback(torch.ones_like(out))[0], torch.rand(3)))
    assert calls == [1, 1] and weight_reuse(net, x) > 2
    for first, second in zip(*runs):
        torch.testing.assert_close(first, second, rtol=0, atol=0)


def test_a_pass_the_counter_fails_on_runs_uncounted_with_the_same_draws(monkeypatch):
    """If torch's FLOP counter fails on a module's pass, the pass runs again uncounted from the
    same generator state (the same dropout mask as a plain pass) and the products stay batched."""
    from sklearn_regpen import _autodiff

    class FailingCounter:
        def __init__(self, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            raise RuntimeError("the counter cannot follow this pass")

    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Dropout(0.5), nn.Flatten(), nn.Linear(32, 3))
    x = torch.rand(2, 1, 6, 6)
    torch.manual_seed(0)
    plain = net(x)
    monkeypatch.setattr(_autodiff, "FlopCounterMode", FailingCounter)
    torch.manual_seed(0)
    out, _, _ = linearize(net, x)
    torch.testing.assert_close(out, plain, rtol=0, atol=0)
    assert weight_reuse(net, x) is None and products_batched(net, x)
    torch.manual_seed(0)
    torch.testing.assert_close(linearize(net, x)[0], plain, rtol=0, atol=0)  # not counted again
