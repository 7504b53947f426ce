"""Penalties and diagnostics on image batches ``(B, C, H, W)``, in float64 on a tiny CNN.

Two kinds of reference, both independent of the code under test:

* autograd, one image at a time (``torch.autograd.functional.jacobian`` / ``torch.autograd.grad``
  on an unbatched image), flattened over the input's dimensions: for every exact term;
* the same penalty on the same CNN seen as a map of flat rows ``(B, C*H*W)``, with the same
  random draws (same seed; ``randn_like`` draws the same numbers in the same memory order): for
  the random and adversarial terms, whose row-input versions test_identities.py checks against
  their formulas. Norms over all input dimensions are exactly norms over the flat rows.
"""

import warnings

import numpy as np
import pytest
import torch
from maths_reference import TIGHT
from torch import nn
from torch.autograd.functional import jacobian as autograd_jacobian

from sklearn_regpen import RegularizedNetClassifier
from sklearn_regpen import diagnostics as dg
from sklearn_regpen.penalties import PENALTIES, make_penalty

SHAPE, K, B = (2, 4, 4), 3, 5


class TinyCNN(nn.Module):
    """conv 3x3 (2 -> 3 channels, padded), tanh, flatten, dense to K: smooth, rows independent."""

    def __init__(self, n_outputs=K, channels=3, in_channels=2, side=4):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(in_channels, channels, 3, padding=1), nn.Tanh(), nn.Flatten(),
            nn.Linear(channels * side * side, n_outputs),
        )  # fmt: skip

    def forward(self, x):
        return self.layers(x)


class Flat(nn.Module):
    """The same network as a map of flat rows."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, v):
        return self.net(v.reshape(len(v), *SHAPE))


@pytest.fixture
def cnn():
    torch.manual_seed(1)
    return TinyCNN().double()


@pytest.fixture
def x():
    torch.manual_seed(2)
    return torch.randn(B, *SHAPE, dtype=torch.float64)


@pytest.fixture
def y():
    torch.manual_seed(3)
    return torch.randint(0, K, (B,))


def image_jacobians(fn, x, create_graph=False):
    """(B, K, C*H*W): d fn(x_i) / d x_i, one unbatched image at a time, flattened."""
    rows = [
        autograd_jacobian(lambda v: fn(v.unsqueeze(0))[0], x[i], create_graph=create_graph)
        for i in range(len(x))
    ]
    return torch.stack(rows).flatten(2)


def loss_input_grads(net, x, y, create_graph=False):
    rows = []
    for i in range(len(x)):
        xi = x[i : i + 1].clone().requires_grad_(True)
        loss = nn.functional.cross_entropy(net(xi), y[i : i + 1])
        rows.append(torch.autograd.grad(loss, xi, create_graph=create_graph)[0].flatten())
    return torch.stack(rows)


def grads(value, net):
    return torch.autograd.grad(value, list(net.parameters()), allow_unused=True)


def assert_same_value_and_gradient(value, expected, net, **tol):
    torch.testing.assert_close(value, expected, **tol)
    for g, e in zip(grads(value, net), grads(expected, net)):
        if g is None or e is None:
            assert g is None and e is None
        else:
            torch.testing.assert_close(g, e, **tol)


def fisher_trace(net, x, create_graph=False):
    jac = image_jacobians(net, x, create_graph)
    p = net(x).softmax(-1)
    h = torch.diag_embed(p) - p.unsqueeze(2) * p.unsqueeze(1)
    return (jac.mT @ h @ jac).diagonal(dim1=1, dim2=2).sum(-1)


# -- exact terms against autograd, image by image ------------------------------------------------
def test_jacobian_exact_on_images(cnn, x):
    value = make_penalty("jacobian", alpha=0.7, n_projections=None)(cnn, x)
    jac = image_jacobians(lambda v: cnn(v).softmax(-1), x, create_graph=True)
    assert_same_value_and_gradient(value, 0.7 * jac.square().sum((1, 2)).mean(), cnn, **TIGHT)


def test_logit_jacobian_exact_on_images(cnn, x):
    value = make_penalty("logit_jacobian", alpha=0.3, n_projections=None)(cnn, x)
    jac = image_jacobians(cnn, x, create_graph=True)
    assert_same_value_and_gradient(value, 0.3 * jac.square().sum((1, 2)).mean(), cnn, **TIGHT)


def test_double_backprop_on_images(cnn, x, y):
    value = make_penalty("double_backprop", alpha=0.8)(cnn, x, y)
    expected = 0.8 * loss_input_grads(cnn, x, y, create_graph=True).square().sum(-1).mean()
    assert_same_value_and_gradient(value, expected, cnn, **TIGHT)


@pytest.mark.parametrize("name, power, db", [("hsfob", 1, 0), ("hsfob_db1", 1, 1),
                                             ("hsfob_db2", 2, 1)])  # fmt: skip
def test_hsfob_family_exact_on_images(cnn, x, y, name, power, db):
    value = make_penalty(name, alpha=0.4, n_projections=None)(cnn, x, y)
    trace = fisher_trace(cnn, x, create_graph=True)
    gradient = loss_input_grads(cnn, x, y, create_graph=True).square().sum(-1)
    expected = 0.4 * (trace**power + db * gradient).mean()
    assert_same_value_and_gradient(value, expected, cnn, **TIGHT)


# -- every penalty: the image batch gives what the flat rows give --------------------------------
OPTIONS = {
    "jacobian": [{}, {"n_projections": None}, {"n_projections": 2}],
    "logit_jacobian": [{}, {"n_projections": None}],
    "noisy_jacobian": [{}, {"n_projections": None}],
    "hsfob": [{}, {"n_projections": 3}],
    "hsfob_db1": [{}],
    "hsfob_db2": [{}, {"n_projections": 1}],
    "c2c_adversarial": [{}, {"n_power_iterations": 3}],
    "vat": [{}, {"n_power_iterations": 2}],
}
CASES = [(name, options) for name in PENALTIES for options in OPTIONS.get(name, [{}])]


@pytest.mark.parametrize("name, options", CASES, ids=[f"{n}-{o}" for n, o in CASES])
def test_every_penalty_on_images_equals_it_on_flat_rows(cnn, x, y, name, options):
    """Value (per row), objective and parameter gradient, with the same random draws."""
    flat = Flat(cnn)
    pen = make_penalty(name, alpha=0.6, epsilon=0.3, reduction="none", **options)
    results = []
    for module, batch in ((cnn, x), (flat, x.flatten(1))):
        torch.manual_seed(7)
        rows = pen(module, batch, y)
        torch.manual_seed(7)
        loss, outputs = pen.objective(module, batch, y)
        results.append((rows, loss, outputs))
    (rows, loss, outputs), (flat_rows, flat_loss, flat_outputs) = results
    torch.testing.assert_close(rows, flat_rows, **TIGHT)
    torch.testing.assert_close(outputs, flat_outputs, **TIGHT)
    assert_same_value_and_gradient(loss, flat_loss, cnn, **TIGHT)
    assert rows.shape == (B,) and torch.isfinite(loss)


# -- diagnostics -----------------------------------------------------------------------------------
def test_sensitivity_rows_on_images_match_autograd(cnn, x):
    found = dg._sensitivity_rows(cnn, x, "classification")
    j_f = image_jacobians(lambda v: cnn(v).softmax(-1), x)
    j_z = image_jacobians(cnn, x)
    torch.testing.assert_close(found["jacobian_sq_norm"], j_f.square().sum((1, 2)), **TIGHT)
    torch.testing.assert_close(found["logit_jacobian_sq_norm"], j_z.square().sum((1, 2)), **TIGHT)
    torch.testing.assert_close(
        found["jacobian_lambda_max"], torch.linalg.eigvalsh(j_f.mT @ j_f)[:, -1], **TIGHT
    )
    torch.testing.assert_close(found["fisher_trace"], fisher_trace(cnn, x), **TIGHT)
    # the Hessian norm: the same on the flat rows (test_diagnostics checks those against
    # autograd's Hessian)
    flat = dg._sensitivity_rows(Flat(cnn), x.flatten(1), "classification")
    for name, values in flat.items():
        torch.testing.assert_close(found[name], values, **TIGHT)


@pytest.fixture(scope="module")
def fitted_cnn():
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning

    X, y = load_digits(return_X_y=True)
    X = (X[:300] / 16).reshape(-1, 1, 8, 8).astype(np.float32)
    y = y[:300] % 3  # three classes, as TinyCNN's default
    clf = RegularizedNetClassifier(
        TinyCNN, module__in_channels=1, module__side=8, max_iter=5, learning_rate_init=0.01,
        random_state=0,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    return clf, X, y


def test_diagnostics_run_on_a_fitted_cnn(fitted_cnn):
    clf, X, y = fitted_cnn
    report = dg.diagnose(clf, X[:40], y[:40], noise_stds=[0.3], radii=[0.5],
                         hessian_projections=4, random_state=0)  # fmt: skip
    assert np.isfinite(report.to_numpy()).all()
    assert report["pgd_accuracy@0.5"] <= 1 - report["error"] + 1e-12
    curve = dg.noise_errors(clf, X[:40], y[:40], [0.0, 5.0], random_state=0)
    assert curve["error"].iloc[0] == pytest.approx(1 - clf.score(X[:40], y[:40]))


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_attacks_on_images_stay_in_the_ball_of_each_image(fitted_cnn, norm):
    clf, X, y = fitted_cnn
    adversarial = dg.adversarial_inputs(clf, X[:30], y[:30], 0.7, norm=norm, random_state=0)
    assert adversarial.shape == X[:30].shape
    delta = (adversarial - X[:30]).reshape(30, -1)
    sizes = np.abs(delta).max(1) if norm == "linf" else np.linalg.norm(delta, axis=1)
    assert (sizes <= 0.7 * (1 + 1e-5)).all() and (sizes > 0.1).any()


def test_diagnostics_refuse_images_of_another_shape(fitted_cnn):
    clf, X, y = fitted_cnn
    with pytest.raises(ValueError, match="rows of shape"):
        dg.sensitivity(clf, X.reshape(len(X), 1, 4, 16))
