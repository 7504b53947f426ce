"""The penalties of issue 3 against their formulas, the identities the seeds claim, and their
options and treatment of unlabelled rows.

Everything runs in float64 on a 4-5-3 tanh network. References are built row by row with
``torch.autograd.functional.jacobian`` / ``torch.autograd.grad`` and ``torch.linalg.eigvalsh``:
code paths independent of the vmapped products and the power iteration under test. Tolerances:

* ``TIGHT`` (rtol 1e-9) where the penalty and the reference compute the same number by different
  routes: only rounding separates them.
* limits ``eps -> 0``: the remainder of the Taylor expansion is ``O(eps)`` relative for the
  adversarial penalties (their direction is fixed, so the cubic term survives) and ``O(eps^2)``
  for the random ones (odd terms average out); each test states its ``eps`` and the bound.
* Monte-Carlo means: within 4 standard errors of the mean (a 6e-5 two-sided chance per compared
  number for a correct formula), and each test checks that the standard error is small next to
  the quantity, so that a wrong factor cannot hide in the noise.
"""

import numpy as np
import pytest
import torch
from maths_reference import TIGHT, B, D, K, grads, row_jacobians, tiny_net

from sklearn_regpen.penalties import PENALTIES, make_penalty


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny networks run fastest on one thread (and do not fight other jobs for the cores)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def x():
    torch.manual_seed(2)
    return torch.randn(B, D, dtype=torch.float64)


@pytest.fixture
def y():
    torch.manual_seed(3)
    return torch.randint(0, K, (B,))


def assert_grads_close(got, want, **tol):
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, **tol)


# -- references ---------------------------------------------------------------------------------
def softmax_jtj(net, x, create_graph=False):
    """J^T J with J the Jacobian of the probabilities, (B, D, D)."""
    jac = row_jacobians(lambda v: net(v).softmax(-1), x, create_graph)
    return jac.transpose(1, 2) @ jac


def fisher(net, x, create_graph=False):
    """I(x) = J_z^T (diag(p) - p p^T) J_z per row, (B, D, D)."""
    jac = row_jacobians(net, x, create_graph)
    p = net(x).softmax(-1)
    hessian = torch.diag_embed(p) - p.unsqueeze(2) * p.unsqueeze(1)
    return jac.transpose(1, 2) @ hessian @ jac


def top_eigen(matrices):
    values, vectors = torch.linalg.eigh(matrices)
    return values[:, -1], values[:, -2], vectors[:, :, -1]


def kl_reference(logits_p, logits_q):
    p, q = logits_p.softmax(-1), logits_q.softmax(-1)
    return (p * torch.log(p / q)).sum(-1)


def sq_distance(net, a, b):
    return (net(a).softmax(-1) - net(b).softmax(-1)).square().sum(-1)


def loss_input_grads(net, x, y, task, create_graph=False):
    """d loss(x_i, y_i) / d x_i by brute force, one row at a time, (B, D)."""
    rows = []
    for i in range(len(x)):
        xi = x[i : i + 1].clone().requires_grad_(True)
        z = net(xi)
        if task == "classification":
            loss = torch.nn.functional.cross_entropy(z, y[i : i + 1])
        else:
            loss = 0.5 * (z - y[i : i + 1]).square().sum()
        rows.append(torch.autograd.grad(loss, xi, create_graph=create_graph)[0][0])
    return torch.stack(rows)


def monte_carlo(draws):
    """Mean and standard error of the mean over the first dimension."""
    return draws.mean(0), draws.std(0) / draws.shape[0] ** 0.5


def flat_gradient(value, net):
    return torch.cat([g.flatten() for g in grads(value, net)])


def mean_projection_gradient(pen, net, x, reps=100, batches=100):
    """Mean and standard error of ``pen``'s parameter gradient over ``batches`` batches, each
    holding every row of ``x`` ``reps`` times (so each row gets ``reps`` random draws)."""
    draws = torch.stack([flat_gradient(pen(net, x.repeat(reps, 1)), net) for _ in range(batches)])
    return monte_carlo(draws)


# -- adversarial penalties: power iteration -----------------------------------------------------
ADVERSARIAL = {
    # name: (matrix whose top eigenvalue the penalty tends to, divergence, factor in eps^2 / factor)
    "c2c_adversarial": (softmax_jtj, lambda net, a, b: sq_distance(net, a, b), 1.0),
    "vat": (fisher, lambda net, a, b: kl_reference(net(a), net(b)), 0.5),
}


def test_the_networks_spectra_have_a_gap(x):
    """The power-iteration tests below need lambda_2 / lambda_1 well below 1 (50 iterations then
    converge to 0.75^100 ~ 3e-13), and the trace far enough above lambda_max (1%, ten times the
    tolerance of the limit test) that a penalty computing the trace would fail them."""
    net = tiny_net()
    for matrix in (softmax_jtj, fisher):
        first, second, _ = top_eigen(matrix(net, x))
        assert torch.all(second < 0.75 * first)
        assert torch.all(torch.diagonal(matrix(net, x), dim1=1, dim2=2).sum(-1) > 1.01 * first)


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_value_is_the_divergence_along_the_top_eigenvector(x, name):
    """Converged (50 iterations, xi = 1e-6 in float64), the perturbation is +-eps times the top
    eigenvector of J^T J (c2c_adversarial) or I(x) (vat): the value matches the divergence there
    for one of the two signs to rtol 1e-6 (the direction is off by O(xi) = 1e-6)."""
    matrix, divergence, _ = ADVERSARIAL[name]
    net, eps = tiny_net(), 0.3
    got = make_penalty(
        name, alpha=1.0, epsilon=eps, reduction="none", n_power_iterations=50, xi=1e-6
    )(net, x).detach()
    _, _, top = top_eigen(matrix(net, x).detach())
    for sign in (1.0, -1.0):
        candidate = divergence(net, x, x + sign * eps * top).detach()
        close = torch.isclose(got, candidate, rtol=1e-6, atol=0)
        got = torch.where(close, torch.nan, got)  # each row must match one of the signs
    assert torch.isnan(got).all(), got


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_one_step_direction_and_detached_gradient(x, name):
    """One power-iteration step from the random start d0 gives r = eps A d0 / ||A d0|| (A from
    autograd); the value and the parameter gradient equal those of the divergence at x + r with r
    held constant (no gradient through the search, as in VAT). xi = 1e-7 makes the finite
    difference exact to ~1e-7 relative: rtol 1e-5 on the value, 1e-4 on the gradient. A gradient
    through r would differ by O(1) here because one step is far from the eigenvector."""
    matrix, divergence, _ = ADVERSARIAL[name]
    net, eps, alpha = tiny_net(), 0.5, 1.7
    pen = make_penalty(name, alpha=alpha, epsilon=eps, n_power_iterations=1, xi=1e-7)
    torch.manual_seed(11)
    value = pen(net, x)
    torch.manual_seed(11)
    start = torch.randn_like(x)
    start = start / start.norm(dim=1, keepdim=True)
    step = (matrix(net, x).detach() @ start.unsqueeze(2)).squeeze(2)
    r = eps * step / step.norm(dim=1, keepdim=True)
    expected = alpha * divergence(net, x, x + r).mean()
    torch.testing.assert_close(value, expected, rtol=1e-5, atol=0)
    assert_grads_close(grads(value, net), grads(expected, net), rtol=1e-4, atol=1e-10)


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_over_eps_squared_tends_to_the_top_eigenvalue(x, name):
    """c2c_adversarial(eps) / (alpha eps^2) -> lambda_max(J^T J) and vat(eps) / (alpha eps^2 / 2)
    -> lambda_max(I(x)). With eps = 1e-4 the cubic remainder is ~1e-4 relative: rtol 1e-3, while
    the trace is at least 1% away (test above)."""
    matrix, _, factor = ADVERSARIAL[name]
    net, eps, alpha = tiny_net(), 1e-4, 2.5
    pen = make_penalty(
        name, alpha=alpha, epsilon=eps, reduction="none", n_power_iterations=50, xi=1e-6
    )
    ratio = pen(net, x).detach() / (alpha * factor * eps**2)
    first, _, _ = top_eigen(matrix(net, x).detach())
    torch.testing.assert_close(ratio, first, rtol=1e-3, atol=0)


def test_power_iteration_default_xi_finds_the_direction_in_float32(x):
    """The default xi works in float32: after 20 iterations the direction has a cosine above
    0.999 with the float64 top eigenvector of I(x) (the ``xi = 1e-6`` of VAT code does not)."""
    from sklearn_regpen._autodiff import power_iteration

    net = tiny_net()
    _, _, top = top_eigen(fisher(net, x).detach())
    net32, x32 = net.float(), x.float()
    logp = net32(x32).log_softmax(-1).detach()

    def kl(v):
        return (logp.exp() * (logp - net32(v).log_softmax(-1))).sum(-1)

    pen = make_penalty("vat")
    direction = power_iteration(kl, x32, n_iterations=20, xi=pen.xi).double()
    assert torch.all((direction * top).sum(-1).abs() > 0.999)


# -- kl -----------------------------------------------------------------------------------------
def test_kl_is_the_kl_divergence_to_the_noisy_point(x):
    net = tiny_net()
    torch.manual_seed(5)
    value = make_penalty("kl", alpha=1.5, epsilon=0.4)(net, x)
    torch.manual_seed(5)
    noisy = x + 0.4 * torch.randn_like(x)
    expected = 1.5 * kl_reference(net(x), net(noisy)).mean()
    torch.testing.assert_close(value, expected, **TIGHT)
    assert_grads_close(grads(value, net), grads(expected, net), **TIGHT)


def test_kl_over_eps_squared_tends_to_the_fisher_trace(x):
    """E kl(eps) / (alpha eps^2 / 2) = Tr I(x) + O(eps^2): with eps = 1e-3 the bias is ~1e-6
    relative, far below 4 standard errors over 20,000 noise draws."""
    net, eps, alpha, reps = tiny_net(), 1e-3, 3.0, 20000
    pen = make_penalty("kl", alpha=alpha, epsilon=eps, reduction="none")
    draws = pen(net, x.repeat(reps, 1)).detach().reshape(reps, B) / (alpha * eps**2 / 2)
    mean, sem = monte_carlo(draws)
    trace = torch.diagonal(fisher(net, x).detach(), dim1=1, dim2=2).sum(-1)
    assert torch.all((mean - trace).abs() < 4 * sem), (mean, trace, sem)
    assert torch.all(sem < 0.05 * trace)


# -- regression: Gaussian outputs ---------------------------------------------------------------
@pytest.mark.parametrize("kl_name, c2c_name", [("vat", "c2c_adversarial"), ("kl", "c2c")])
def test_for_a_regressor_kl_is_half_the_squared_distance(x, kl_name, c2c_name):
    """Unit-variance Gaussian outputs: KL = ||h - h~||^2 / 2, so with the same random draws vat is
    exactly c2c_adversarial / 2 (the power iteration finds the same direction) and kl is c2c / 2."""
    net = tiny_net()
    options = dict(alpha=2.0, epsilon=0.3, task="regression", reduction="none")
    torch.manual_seed(9)
    half = make_penalty(kl_name, **options)(net, x)
    torch.manual_seed(9)
    full = make_penalty(c2c_name, **options)(net, x)
    torch.testing.assert_close(half, full / 2, **TIGHT)


# -- double backprop ----------------------------------------------------------------------------
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_double_backprop_is_the_squared_input_gradient_of_the_loss(x, y, task):
    net = tiny_net()
    if task == "regression":
        torch.manual_seed(4)
        y = torch.randn(B, K, dtype=torch.float64)
    value = make_penalty("double_backprop", alpha=0.8, task=task)(net, x, y)
    expected = 0.8 * loss_input_grads(net, x, y, task, create_graph=True).square().sum(-1).mean()
    torch.testing.assert_close(value, expected, **TIGHT)
    assert_grads_close(grads(value, net), grads(expected, net), **TIGHT)


# -- hsfob family -------------------------------------------------------------------------------
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_hsfob_exact_is_the_fisher_trace(x, task):
    """Tr(J_z^T H J_z) with H = diag(p) - p p^T; for a regressor H = I, so ||J_z||_F^2."""
    net = tiny_net()
    value = make_penalty("hsfob", alpha=0.6, task=task)(net, x)
    if task == "classification":
        matrices = fisher(net, x, create_graph=True)
        trace = torch.diagonal(matrices, dim1=1, dim2=2).sum(-1)
    else:
        trace = row_jacobians(net, x, create_graph=True).square().sum((1, 2))
    expected = 0.6 * trace.mean()
    torch.testing.assert_close(value, expected, **TIGHT)
    assert_grads_close(grads(value, net), grads(expected, net), **TIGHT)


@pytest.mark.parametrize("name, power", [("hsfob_db1", 1), ("hsfob_db2", 2)])
def test_hsfob_db_adds_double_backprop(x, y, name, power):
    """Thesis eqs. 65 and 66: (Tr I)^power + ||d loss/dx||^2, with equal weights."""
    net = tiny_net()
    value = make_penalty(name, alpha=0.3)(net, x, y)
    trace = torch.diagonal(fisher(net, x, create_graph=True), dim1=1, dim2=2).sum(-1)
    db = loss_input_grads(net, x, y, "classification", create_graph=True).square().sum(-1)
    expected = 0.3 * (trace**power + db).mean()
    torch.testing.assert_close(value, expected, **TIGHT)
    assert_grads_close(grads(value, net), grads(expected, net), **TIGHT)


@pytest.mark.parametrize(
    "name, options",
    [
        ("double_backprop", {}),
        ("hsfob", {}),
        ("hsfob_db1", {}),
        ("hsfob", {"n_projections": 1}),
        ("jacobian", {}),
        ("jacobian", {"n_projections": 1}),
        ("logit_jacobian", {"n_projections": 2}),
    ],
)
def test_gradient_penalty_objective_runs_one_forward_pass(x, y, name, options):
    """The data loss reuses the outputs of the vector-Jacobian products' forward pass: same value
    and gradient as data loss + penalty, with one call of the module instead of two (the same
    random projections in both, from the same seed)."""
    net = tiny_net()
    calls = []
    net.register_forward_hook(lambda *args: calls.append(1))
    pen = make_penalty(name, alpha=0.4, **options)
    torch.manual_seed(4)
    loss, outputs = pen.objective(net, x, y)
    assert len(calls) == 1
    torch.manual_seed(4)
    expected = torch.nn.functional.cross_entropy(net(x), y) + pen(net, x, y)
    torch.testing.assert_close(loss, expected, **TIGHT)
    torch.testing.assert_close(outputs, net(x), **TIGHT)
    assert_grads_close(grads(loss, net), grads(expected, net), **TIGHT)


def test_fisher_trace_is_the_expected_squared_score(x):
    """E_{y ~ p(y|x)} ||d log p(y|x) / dx||^2 = Tr I(x): by brute force over the K labels, and as
    the p-weighted mean of double_backprop over the labels, which is the same gradient at a given
    label."""
    net = tiny_net()
    p = net(x).softmax(-1).detach()
    hsfob = make_penalty("hsfob", reduction="none")(net, x).detach()
    by_label = torch.stack(
        [loss_input_grads(net, x, torch.full((B,), k), "classification").square().sum(-1)
         for k in range(K)], dim=1)
    torch.testing.assert_close((p * by_label).sum(-1), hsfob, **TIGHT)
    db = make_penalty("double_backprop", reduction="none")
    via_penalty = sum(p[:, k] * db(net, x, torch.full((B,), k)).detach() for k in range(K))
    torch.testing.assert_close(via_penalty, hsfob, **TIGHT)


@pytest.mark.parametrize("name", ["hsfob", "hsfob_db1", "hsfob_db2"])
def test_hsfob_projection_estimate_is_unbiased_in_value(x, y, name):
    """Mean over 20,000 one-projection estimates within 4 standard errors of the exact value;
    for hsfob_db2 the square is a product of two independent estimates, hence unbiased too
    (squaring one estimate would be off by its variance, about 30 standard errors here)."""
    net, reps = tiny_net(), 20000
    exact = make_penalty(name, reduction="none")(net, x, y).detach()
    estimate = make_penalty(name, reduction="none", n_projections=1)
    draws = estimate(net, x.repeat(reps, 1), y.repeat(reps)).detach().reshape(reps, B)
    mean, sem = monte_carlo(draws)
    assert torch.all((mean - exact).abs() < 4 * sem), (mean, exact, sem)
    assert torch.all(sem < 0.05 * exact)


def test_hsfob_projection_estimate_is_unbiased_in_gradient(x):
    """The parameter gradient of the one-projection estimate averages to the exact gradient: 100
    batches of 100 draws per row, every one of the 43 components within 4.5 standard errors (a
    3e-4 chance for a correct estimator). Holding p fixed in the cotangent M u (as sampling
    y ~ p does) keeps the value unbiased but not the gradient (off by about 5% here, over 100
    standard errors in some components): that variant must fail here."""
    net = tiny_net()
    exact = flat_gradient(make_penalty("hsfob")(net, x), net)

    def mean_gradient(pen):
        return mean_projection_gradient(pen, net, x)

    unbiased = make_penalty("hsfob", n_projections=1)
    mean, sem = mean_gradient(unbiased)
    assert torch.all((mean - exact).abs() < 4.5 * sem), ((mean - exact) / sem)
    assert sem.norm() < 0.05 * exact.norm()

    biased = make_penalty("hsfob", n_projections=1)
    biased.fisher_factor = lambda z: type(biased).fisher_factor(biased, z).detach()
    mean, sem = mean_gradient(biased)
    noisy = sem > 0  # the p-detached estimate does not depend on the last bias at all
    assert ((mean - exact).abs()[noisy] > 10 * sem[noisy]).any()


def test_jacobian_projection_estimate_is_unbiased_in_gradient(x):
    """As for hsfob: the one-projection Jacobian estimate, whose softmax Jacobian ``A(z)`` maps the
    random direction to the logits, has the exact penalty's gradient on average (100 batches of
    100 draws per row, every component within 4.5 standard errors); detaching ``A`` must fail."""
    net = tiny_net()
    exact = flat_gradient(make_penalty("jacobian")(net, x), net)

    def mean_gradient(pen):
        return mean_projection_gradient(pen, net, x)

    mean, sem = mean_gradient(make_penalty("jacobian", n_projections=1))
    assert torch.all((mean - exact).abs() < 4.5 * sem), ((mean - exact) / sem)
    assert sem.norm() < 0.05 * exact.norm()

    biased = make_penalty("jacobian", n_projections=1)
    biased.metric = lambda z: type(biased).metric(biased, z).detach()
    mean, sem = mean_gradient(biased)
    noisy = sem > 0
    assert ((mean - exact).abs()[noisy] > 10 * sem[noisy]).any()


# -- unlabelled rows ----------------------------------------------------------------------------
def test_objective_uses_labelled_rows_for_the_data_loss_and_all_rows_for_the_penalty(x, y):
    net = tiny_net()
    y = y.clone()
    y[[1, 4]] = -1
    pen = make_penalty("vat", alpha=2.0, epsilon=0.3)
    torch.manual_seed(12)
    loss, outputs = pen.objective(net, x, y)
    torch.manual_seed(12)
    labelled = y >= 0
    ce = torch.nn.functional.cross_entropy(net(x[labelled]), y[labelled])
    expected = ce + pen(net, x)
    torch.testing.assert_close(loss, expected, **TIGHT)
    torch.testing.assert_close(outputs, net(x), **TIGHT)


def test_objective_without_labelled_rows_is_the_penalty_alone(x):
    net = tiny_net()
    y = torch.full((B,), -1)
    pen = make_penalty("jacobian", alpha=0.5)
    loss, _ = pen.objective(net, x, y)
    torch.testing.assert_close(loss, pen(net, x), **TIGHT)
    assert all(torch.isfinite(g).all() for g in grads(loss, net))


def test_regression_targets_may_be_negative(x):
    net = tiny_net()
    y = -torch.ones(B, K, dtype=torch.float64)
    pen = make_penalty("double_backprop", task="regression")
    loss, _ = pen.objective(net, x, y)
    expected = 0.5 * (net(x) - y).square().sum(-1).mean() + pen(net, x, y)
    torch.testing.assert_close(loss, expected, **TIGHT)


def test_vat_learns_from_unlabelled_rows_on_two_moons():
    """The c2c paper's point, in a plain PyTorch loop: with 10 labelled points and 500 unlabelled
    ones (y = -1), vat through Penalty.objective beats training on the 10 labelled points alone.
    Measured over seeds 0-3: 0.97-1.00 against 0.54-0.87 held-out accuracy; this seed gives
    0.99 against 0.86, and the test asks for 0.95 and a 5-point lead."""
    from sklearn.datasets import make_moons
    from sklearn.preprocessing import StandardScaler

    X, y = make_moons(510, noise=0.1, random_state=1)
    X_test, y_test = make_moons(2000, noise=0.1, random_state=101)
    scaler = StandardScaler().fit(X)
    X, X_test = scaler.transform(X), scaler.transform(X_test)
    labelled = np.concatenate([np.flatnonzero(y == c)[:5] for c in (0, 1)])
    y_semi = np.full(len(y), -1)
    y_semi[labelled] = y[labelled]

    def accuracy(penalty, X_train, y_train):
        torch.manual_seed(1)
        net = torch.nn.Sequential(
            torch.nn.Linear(2, 64), torch.nn.Tanh(), torch.nn.Linear(64, 64), torch.nn.Tanh(),
            torch.nn.Linear(64, 2),
        )
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
        x, t = torch.tensor(X_train, dtype=torch.float32), torch.tensor(y_train)
        for _ in range(500):
            optimizer.zero_grad()
            penalty.objective(net, x, t)[0].backward()
            optimizer.step()
        with torch.no_grad():
            predicted = net(torch.tensor(X_test, dtype=torch.float32)).argmax(1).numpy()
        return (predicted == y_test).mean()

    alone = accuracy(make_penalty("none"), X[labelled], y[labelled])
    semi = accuracy(make_penalty("vat", alpha=1.0, epsilon=0.3), X, y_semi)
    assert semi > 0.95 and semi > alone + 0.05, (semi, alone)


@pytest.mark.parametrize("name", sorted(n for n, c in PENALTIES.items() if c.needs_labels))
def test_label_needing_penalties_refuse_unlabelled_rows(x, y, name):
    net = tiny_net()
    y = y.clone()
    y[0] = -1
    pen = make_penalty(name, epsilon=0.1)
    with pytest.raises(ValueError, match=f"penalty='{name}' needs labels.*unlabelled rows"):
        pen(net, x, y)
    with pytest.raises(ValueError, match="unlabelled rows"):
        pen.objective(net, x, y)


def test_which_penalties_need_labels():
    needs = {name for name, cls in PENALTIES.items() if cls.needs_labels}
    assert needs == {"noise", "double_backprop", "hsfob_db1", "hsfob_db2"}


# -- options ------------------------------------------------------------------------------------
def test_option_names_come_from_the_constructors():
    options = {name: cls.option_names() for name, cls in PENALTIES.items()}
    projections = (
        "jacobian", "logit_jacobian", "noisy_jacobian", "hsfob", "hsfob_db1", "hsfob_db2"
    )
    for name, names in options.items():
        if name in projections:
            assert names == ("n_projections",), name
        elif name in ("c2c_adversarial", "vat"):
            assert names == ("n_power_iterations", "xi"), name
        else:
            assert names == (), name


@pytest.mark.parametrize(
    "name, n_in, n_out, exact",
    [
        ("jacobian", 4, 3, True),  # min(d, K) = 3 products: exact
        ("jacobian", 2, 10, True),  # forward mode, 2 products: exact
        ("logit_jacobian", 6, 5, False),  # 5 products: one projection
        ("hsfob", 2, 10, True),  # the whole Jacobian in 2 forward products gives the trace
        ("hsfob", 6, 10, False),  # min(d, K) = 6 products: one projection
        ("hsfob_db1", 6, 4, True),  # 4 products give J_z, and the loss gradient's form with it
        ("hsfob_db2", 3, 10, True),
    ],
)
def test_auto_projections_are_exact_up_to_four_products(name, n_in, n_out, exact):
    """The default n_projections="auto" gives the exact value when that takes at most 4
    products, else the one-projection estimate, draw for draw."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(n_in, 7), torch.nn.Tanh(), torch.nn.Linear(7, n_out)
    ).double()
    x, y = torch.randn(5, n_in, dtype=torch.float64), torch.randint(0, n_out, (5,))
    auto = make_penalty(name, reduction="none")
    assert auto.get_options() == {"n_projections": "auto"}
    torch.manual_seed(1)
    value = auto(net, x, y)
    torch.manual_seed(1)
    expected = make_penalty(name, reduction="none", n_projections=None if exact else 1)(net, x, y)
    torch.testing.assert_close(value, expected, **TIGHT)
    if not exact:
        assert not torch.allclose(value, make_penalty(name, reduction="none")(net, x, y))


def test_options_reach_the_penalty_and_are_listed():
    pen = make_penalty("vat", alpha=2.0, epsilon=0.5, n_power_iterations=3, xi=1e-3)
    assert pen.get_options() == {"n_power_iterations": 3, "xi": 1e-3}
    assert make_penalty("hsfob", n_projections=2).get_options() == {"n_projections": 2}
    assert make_penalty("c2c").get_options() == {}


@pytest.mark.parametrize(
    "name, options, match",
    [
        ("c2c", dict(n_projections=1), "penalty='c2c' has no option 'n_projections'"),
        ("vat", dict(n_power_iteration=2), "Did you mean 'n_power_iterations'"),
        ("vat", dict(n_power_iterations=0), "n_power_iterations must be a positive int"),
        ("vat", dict(n_power_iterations=1.5), "n_power_iterations must be a positive int"),
        ("c2c_adversarial", dict(n_power_iterations=True), "n_power_iterations must be"),
        ("vat", dict(xi=0.0), "xi must be a positive number"),
        ("c2c_adversarial", dict(xi="small"), "xi must be a positive number"),
        ("hsfob", dict(n_projections=0), "n_projections must be 'auto', None or a"),
        ("hsfob_db2", dict(n_projections=-2), "n_projections must be 'auto', None or a"),
        ("kl", dict(epsilon=0.0), "epsilon must be > 0 for penalty='kl'"),
    ],
)
def test_bad_options_are_refused(name, options, match):
    with pytest.raises(ValueError, match=match):
        make_penalty(name, **options)
