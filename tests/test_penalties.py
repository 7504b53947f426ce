"""The penalties against direct implementations of their formulas (float64, exact autograd).

References are computed row by row with ``torch.autograd.functional.jacobian``
(``maths_reference.py``), a different code path from the vmapped Jacobian-vector products the
penalties use; in float64 the two agree to rounding (rtol 1e-9), so any error in a formula (a
missing softmax, a transposed Jacobian, a wrong factor) fails by orders of magnitude.
"""

import pytest
import torch
from maths_reference import TIGHT, B, D, K, grads, row_jacobians, tiny_net

from sklearn_regpen.penalties import PENALTIES, Penalty, make_penalty


@pytest.fixture
def batch():
    torch.manual_seed(2)
    x = torch.randn(B, D, dtype=torch.float64)
    y_class = torch.randint(0, K, (B,))
    y_reg = torch.randn(B, K, dtype=torch.float64)
    return x, y_class, y_reg


def f_of(net, task):
    return (lambda v: net(v).softmax(-1)) if task == "classification" else net


def exact_sq_norms(fn, x, create_graph=False):
    """||d fn / dx||_F^2 per row, one row at a time."""
    return row_jacobians(fn, x, create_graph).square().sum(dim=(1, 2))


@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("name", ["jacobian", "logit_jacobian"])
def test_jacobian_value_and_gradient_match_autograd(batch, task, name):
    x, _, _ = batch
    net = tiny_net()
    pen = make_penalty(name, alpha=0.7, task=task)
    fn = net if name == "logit_jacobian" else f_of(net, task)
    expected = 0.7 * exact_sq_norms(fn, x, create_graph=True).mean()
    value = pen(net, x)
    torch.testing.assert_close(value, expected, **TIGHT)
    for got, want in zip(grads(value, net), grads(expected, net)):
        torch.testing.assert_close(got, want, **TIGHT)


def test_forward_and_reverse_mode_agree():
    """d < K takes forward mode, d > K reverse mode: both equal the row-by-row reference."""
    from sklearn_regpen._autodiff import jacobian

    torch.manual_seed(3)
    wide_out = torch.nn.Sequential(torch.nn.Linear(2, 7), torch.nn.Tanh(), torch.nn.Linear(7, 9))
    wide_in = torch.nn.Sequential(torch.nn.Linear(9, 7), torch.nn.Tanh(), torch.nn.Linear(7, 2))
    for net, d in ((wide_out.double(), 2), (wide_in.double(), 9)):
        x = torch.randn(5, d, dtype=torch.float64)
        expected = row_jacobians(net, x)
        torch.testing.assert_close(jacobian(net, x), expected, **TIGHT)


@pytest.mark.parametrize("name", ["jacobian", "logit_jacobian"])
def test_jacobian_penalty_in_forward_mode_matches_autograd(name):
    """With fewer inputs (2) than outputs (9) the exact norm takes forward mode: value, gradient
    and the objective's shared logits still equal the row-by-row reference."""
    torch.manual_seed(3)
    net = torch.nn.Sequential(torch.nn.Linear(2, 7), torch.nn.Tanh(), torch.nn.Linear(7, 9))
    net = net.double()
    x, y = torch.randn(5, 2, dtype=torch.float64), torch.randint(0, 9, (5,))
    fn = net if name == "logit_jacobian" else f_of(net, "classification")
    expected = 0.3 * exact_sq_norms(fn, x, create_graph=True).mean()
    pen = make_penalty(name, alpha=0.3)
    value = pen(net, x)
    torch.testing.assert_close(value, expected, **TIGHT)
    for got, want in zip(grads(value, net), grads(expected, net)):
        torch.testing.assert_close(got, want, **TIGHT)
    loss, outputs = pen.objective(net, x, y)
    torch.testing.assert_close(outputs, net(x), **TIGHT)
    ce = torch.nn.functional.cross_entropy(net(x), y)
    torch.testing.assert_close(loss, ce + expected, **TIGHT)


def test_noisy_jacobian_is_jacobian_at_the_noisy_point(batch):
    x, _, _ = batch
    net = tiny_net()
    torch.manual_seed(5)
    value = make_penalty("noisy_jacobian", alpha=2.0, epsilon=0.3)(net, x)
    torch.manual_seed(5)
    noisy = x + 0.3 * torch.randn_like(x)
    expected = 2.0 * exact_sq_norms(f_of(net, "classification"), noisy).mean()
    torch.testing.assert_close(value, expected, **TIGHT)
    assert not torch.allclose(value, make_penalty("jacobian", alpha=2.0)(net, x))


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_c2c_is_squared_output_distance(batch, task):
    x, _, _ = batch
    net = tiny_net()
    f = f_of(net, task)
    torch.manual_seed(6)
    value = make_penalty("c2c", alpha=3.0, epsilon=0.2, task=task)(net, x)
    torch.manual_seed(6)
    noisy = x + 0.2 * torch.randn_like(x)
    expected = 3.0 * ((f(x) - f(noisy)) ** 2).sum(1).mean()
    torch.testing.assert_close(value, expected, **TIGHT)


def test_noise_is_the_loss_added_by_noise(batch):
    x, y, _ = batch
    net = tiny_net()
    torch.manual_seed(7)
    value = make_penalty("noise", alpha=123.0, epsilon=0.5)(net, x, y)  # alpha is unused
    torch.manual_seed(7)
    noisy = x + 0.5 * torch.randn_like(x)
    ce = torch.nn.functional.cross_entropy
    torch.testing.assert_close(value, ce(net(noisy), y) - ce(net(x), y), **TIGHT)


def test_noise_objective_trains_on_noisy_inputs(batch):
    x, y, _ = batch
    net = tiny_net()
    torch.manual_seed(8)
    loss, _ = make_penalty("noise", epsilon=0.5).objective(net, x, y)
    torch.manual_seed(8)
    expected = torch.nn.functional.cross_entropy(net(x + 0.5 * torch.randn_like(x)), y)
    torch.testing.assert_close(loss, expected, **TIGHT)


def test_l2_is_sklearn_weight_decay(batch):
    """scikit-learn's MLP adds 0.5 * alpha * sum ||W||^2 / batch_size, biases excluded."""
    x, _, _ = batch
    net = tiny_net()
    value = make_penalty("l2", alpha=0.01)(net, x)
    weights = (net[0].weight.square().sum() + net[2].weight.square().sum())
    torch.testing.assert_close(value, 0.5 * 0.01 * weights / B, **TIGHT)


def test_none_is_zero_and_objective_is_the_data_loss(batch):
    x, _, y = batch
    net = tiny_net()
    pen = make_penalty("none", task="regression")
    assert pen(net, x).item() == 0.0
    loss, outputs = pen.objective(net, x, y)
    torch.testing.assert_close(loss, 0.5 * ((net(x) - y) ** 2).sum(1).mean(), **TIGHT)


def test_objective_adds_alpha_times_the_penalty(batch):
    x, y, _ = batch
    net = tiny_net()
    pen = make_penalty("jacobian", alpha=0.25)
    loss, _ = pen.objective(net, x, y)
    expected = torch.nn.functional.cross_entropy(net(x), y) + pen(net, x)
    torch.testing.assert_close(loss, expected, **TIGHT)


def test_random_projection_estimate_is_unbiased(batch):
    """The mean over many single-projection estimates matches the exact norm within 4 standard
    errors of that mean (a wrong scale factor K would be off by a factor of 3 here)."""
    x, _, _ = batch
    net = tiny_net()
    exact = make_penalty("jacobian", reduction="none")(net, x).detach()
    pen = make_penalty("jacobian", reduction="none", n_projections=1)
    draws = pen(net, x.repeat(4000, 1)).detach().reshape(4000, B)  # one fresh draw per row
    mean, sem = draws.mean(0), draws.std(0) / 4000**0.5
    assert torch.all((mean - exact).abs() < 4 * sem), (mean, exact, sem)


def test_c2c_over_eps_squared_tends_to_jacobian(batch):
    """E||f(x) - f(x + eps n)||^2 = eps^2 ||J||_F^2 + O(eps^4): with eps = 1e-3 the bias is ~1e-6
    relative, far below the Monte-Carlo error we allow (4 standard errors over 20,000 draws)."""
    x, _, _ = batch
    net = tiny_net()
    eps = 1e-3
    jac = make_penalty("jacobian", reduction="none")(net, x).detach()
    reps = 20000
    xs = x.repeat(reps, 1)
    c2c = make_penalty("c2c", alpha=1.0, epsilon=eps, reduction="none")(net, xs).detach()
    per_row = c2c.reshape(reps, B) / eps**2
    mean, sem = per_row.mean(0), per_row.std(0) / reps**0.5
    assert torch.all((mean - jac).abs() < 4 * sem), (mean, jac, sem)
    assert torch.all(sem < 0.05 * jac)  # the check is sharp enough to mean something


@pytest.mark.parametrize("name", sorted(PENALTIES))
def test_every_penalty_standalone(batch, name):
    x, y, _ = batch
    net = tiny_net()
    pen = make_penalty(name, alpha=0.5, epsilon=0.1)
    value = pen(net, x, y)
    assert value.shape == ()
    assert torch.isfinite(value)
    terms = make_penalty(name, alpha=0.5, epsilon=0.1, reduction="none")(net, x, y)
    assert terms.shape == (B,)
    if name != "none":
        value.backward()
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())


def test_registry_names_match_classes():
    assert all(issubclass(cls, Penalty) and cls.name == key for key, cls in PENALTIES.items())


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(name="jacobain"), "Unknown penalty 'jacobain'"),
        (dict(name="jacobian", alpha=-1.0), "alpha must be a non-negative"),
        (dict(name="c2c", epsilon=-0.1), "epsilon must be a non-negative"),
        (dict(name="c2c", epsilon=0.0), "epsilon must be > 0 for penalty='c2c'"),
        (dict(name="jacobian", alpha="big"), "alpha must be a non-negative"),
        (dict(name="jacobian", n_projections=0), "n_projections"),
        (dict(name="jacobian", task="ranking"), "task must be"),
    ],
)
def test_bad_penalty_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_penalty(**kwargs)


def test_labels_required_where_used(batch):
    x, _, _ = batch
    with pytest.raises(ValueError, match="needs labels"):
        make_penalty("noise", epsilon=0.1)(tiny_net(), x)


def test_unit_rows_of_tiny_vectors_are_unit_vectors():
    """Entries under ~1e-19 square to 0 in float32: the row must still come out of unit norm
    (it used to come out ~1e8 long), while ordinary rows are divided exactly as before."""
    from sklearn_regpen._autodiff import unit_rows

    v = torch.tensor([[3e-30, 4e-30], [3.0, 4.0], [0.0, 0.0], [3e-44, 4e-44]])
    u = unit_rows(v)
    assert torch.allclose(u[[0, 1]], torch.tensor([[0.6, 0.8], [0.6, 0.8]]))
    assert torch.equal(u[1], v[1] / v[1].norm()) and torch.equal(u[2], torch.zeros(2))
    assert float(u[3].norm()) == pytest.approx(1.0, rel=0.1)  # denormals: as exact as they go


def test_power_iteration_returns_unit_directions_where_the_divergence_is_tiny():
    """A saturated classifier's divergence changes by ~1e-25 near its rows: the direction keeps
    unit norm (it once came out 1e11 long, and vat's epoch loss reached 1e8 on a small table)."""
    from sklearn_regpen._autodiff import power_iteration

    torch.manual_seed(0)
    x = torch.randn(8, 4)
    scale = torch.tensor([1.0, 2.0, 3.0, 4.0])
    divergence = lambda v: 1e-25 * (scale * (v - x)).square().sum(1)  # noqa: E731
    assert torch.allclose(power_iteration(divergence, x, 1).norm(dim=1), torch.ones(8))
    d = power_iteration(divergence, x, 20)
    assert torch.allclose(d.abs()[:, 3], torch.ones(8), atol=1e-3)  # the top direction
