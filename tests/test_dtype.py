"""The ``dtype`` parameter: the precision the network trains and predicts in.

float64 is checked where precision shows: the training objective's value and gradient against a
float64 reference computed row by row with autograd (to 1e-12), integer weights against repeated
rows (to 1e-10), and the parameters, tensors and predictions' types; the user's global torch
default dtype is neither read into the result nor changed.
"""

import copy
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from maths_reference import grads, row_jacobians
from torch import nn

from sklearn_regpen import (
    RegularizedMLPClassifier,
    RegularizedMLPRegressor,
    RegularizedNetClassifier,
    RegularizedNetRegressor,
)
from sklearn_regpen.diagnostics import sensitivity

FAST = dict(max_iter=5, learning_rate_init=0.01, random_state=0)
MLP_FAST = dict(hidden_layer_sizes=(8,), **FAST)
NET_FAST = dict(module__hidden_layer_sizes=(8,), **FAST)
ESTIMATORS = [
    (RegularizedMLPClassifier, MLP_FAST),
    (RegularizedMLPRegressor, MLP_FAST),
    (RegularizedNetClassifier, NET_FAST),
    (RegularizedNetRegressor, NET_FAST),
]


def _data(estimator, n=30, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    if issubclass(estimator, RegularizedMLPClassifier | RegularizedNetClassifier):
        return X, np.arange(n) % 3
    return X, X @ rng.normal(size=d) + 0.1 * rng.normal(size=n)


def _outputs(est, X):
    return est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)


@pytest.mark.parametrize("estimator, params", ESTIMATORS)
def test_float64_trains_and_predicts_in_float64(estimator, params):
    X, y = _data(estimator)
    est = estimator(dtype="float64", penalty="jacobian", alpha=0.1, **params)
    est.fit(X.astype(np.float32), y, sample_weight=np.full(len(y), 0.5))
    assert {p.dtype for p in est.net_.module_.parameters()} == {torch.float64}
    assert _outputs(est, X).dtype == np.float64
    # float32 stays the default, and either way the predictions are float64 arrays
    default = estimator(**params).fit(X, y)
    assert default.dtype == "float32"
    assert {p.dtype for p in default.net_.module_.parameters()} == {torch.float32}
    assert _outputs(default, X).dtype == np.float64


class _Recorded(nn.Module):
    """A 4-5-3 tanh network that keeps a copy of the weights it was built with."""

    built: list = []

    def __init__(self, n_features, n_outputs):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(n_features, 5), nn.Tanh(), nn.Linear(5, n_outputs))
        _Recorded.built.append(copy.deepcopy(self.layers))

    def forward(self, x):
        return self.layers(x)


def _reference_objective(net, x, y, penalty, alpha):
    """Mean cross-entropy plus ``alpha`` times the mean term, row by row with autograd."""
    logits = net(x)
    losses = F.cross_entropy(logits, y, reduction="none")
    if penalty == "jacobian":  # ||d softmax(z) / dx||_F^2
        J = row_jacobians(lambda row: net(row[None])[0].softmax(-1), x, create_graph=True)
        terms = J.square().sum(dim=(1, 2))
    else:  # hsfob_db1: Tr(J_z^T H J_z) + ||d loss / dx||^2
        J_z = row_jacobians(lambda row: net(row[None])[0], x, create_graph=True)
        p = logits.softmax(-1)
        H = torch.diag_embed(p) - p[:, :, None] * p[:, None, :]
        trace = torch.einsum("bkd,bkl,bld->b", J_z, H, J_z)
        input_grads = []
        for i in range(len(x)):
            row = x[i].detach().requires_grad_()
            loss = F.cross_entropy(net(row[None]), y[i : i + 1])
            input_grads.append(torch.autograd.grad(loss, row, create_graph=True)[0])
        terms = trace + torch.stack(input_grads).square().sum(dim=1)
    return losses.mean() + alpha * terms.mean()


@pytest.mark.parametrize("penalty", ["jacobian", "hsfob_db1"])
def test_float64_objective_and_gradient_match_autograd(penalty):
    """One full-batch SGD step at rate 1: ``loss_curve_[0]`` is the objective at the initial
    weights, and the step is minus its gradient; both match the reference to 1e-12 (float32
    training misses the value by about 1e-7)."""
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(6, 4)), np.array([0, 1, 2, 0, 1, 2])
    _Recorded.built.clear()
    est = RegularizedNetClassifier(
        _Recorded, optimizer=torch.optim.SGD, learning_rate_init=1.0, learning_rate="constant",
        max_iter=1, penalty=penalty, alpha=0.3, penalty_options={"n_projections": None},
        dtype="float64", random_state=0,
    ).fit(X, y)  # fmt: skip
    initial = _Recorded.built[-1].double()  # built in float32, converted as the estimator does
    x, labels = torch.tensor(X), torch.tensor(y)
    value = _reference_objective(initial, x, labels, penalty, 0.3)
    np.testing.assert_allclose(est.loss_curve_[0], value.item(), rtol=1e-12, atol=0)
    step = [a - b for a, b in zip(initial.parameters(), est.net_.module_.layers.parameters())]
    for got, expected in zip(step, grads(value, initial)):
        torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "estimator, penalty",
    [(RegularizedMLPClassifier, "hsfob_db2"), (RegularizedMLPRegressor, "jacobian")],
)
def test_float64_weight_of_two_is_a_repeated_row(estimator, penalty):
    """With one batch holding the data, to 1e-10 (float32 gets about 1e-6)."""
    X, y = _data(estimator, n=20)
    weights = np.ones(len(y))
    weights[[3, 11]] = 2
    # every row trains (the regressor's default early stopping draws validation rows)
    params = dict(penalty=penalty, alpha=0.1, dtype="float64", early_stopping=False,
                  **{**MLP_FAST, "max_iter": 30})  # fmt: skip
    weighted = estimator(**params).fit(X, y, sample_weight=weights)
    rows = np.repeat(np.arange(len(y)), weights.astype(int))
    repeated = estimator(**params).fit(X[rows], y[rows])
    np.testing.assert_allclose(_outputs(weighted, X), _outputs(repeated, X), rtol=0, atol=1e-10)


def test_the_global_default_dtype_is_untouched():
    X, y = _data(RegularizedMLPClassifier)
    assert torch.get_default_dtype() == torch.float32
    est = RegularizedMLPClassifier(dtype="float64", **MLP_FAST).fit(X, y)
    est.predict_proba(X)
    assert torch.get_default_dtype() == torch.float32
    # a user's float64 default does not change the precision asked for, nor is it changed
    torch.set_default_dtype(torch.float64)
    try:
        est = RegularizedMLPClassifier(dtype="float32", **MLP_FAST).fit(X, y)
        assert {p.dtype for p in est.net_.module_.parameters()} == {torch.float32}
        assert est.predict_proba(X).dtype == np.float64
        assert torch.get_default_dtype() == torch.float64
    finally:
        torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize("estimator, params", [ESTIMATORS[0], ESTIMATORS[3]])
@pytest.mark.parametrize("dtype", ["float16", "double", torch.float64, np.float64, None])
def test_bad_dtype_is_refused_before_training(estimator, params, dtype):
    X, y = _data(estimator)
    est = estimator(dtype=dtype, **params)
    with pytest.raises(ValueError, match=r"'dtype' parameter .* among \{'float32', 'float64'\}"):
        est.fit(X, y)
    assert not hasattr(est, "net_")


def test_continuing_keeps_the_fitted_precision():
    X, y = _data(RegularizedMLPClassifier)
    est = RegularizedMLPClassifier(warm_start=True, **MLP_FAST).fit(X, y)
    before = est.predict_proba(X)
    est.set_params(dtype="float64")
    # predictions use the precision the model was fitted in
    np.testing.assert_array_equal(est.predict_proba(X), before)
    with pytest.raises(ValueError, match=r"dtype='float32' \(now 'float64'\)"):
        est.fit(X, y)
    np.testing.assert_array_equal(est.predict_proba(X), before)
    # partial_fit builds its first network in the precision asked for, and continues in it
    inc = RegularizedMLPClassifier(dtype="float64", **MLP_FAST)
    inc.partial_fit(X, y, classes=[0, 1, 2]).partial_fit(X, y)
    assert {p.dtype for p in inc.net_.module_.parameters()} == {torch.float64}


def test_float64_holds_what_float32_cannot():
    X, y = _data(RegularizedMLPRegressor)
    huge = y * 1e39
    with pytest.raises(ValueError, match=r"beyond float32's range .*dtype='float64'"):
        RegularizedMLPRegressor(**MLP_FAST).fit(X, huge)
    est = RegularizedMLPRegressor(dtype="float64", **MLP_FAST).fit(X, huge)
    assert np.isfinite(est.predict(X)).all()
    assert est.score(X, huge) == pytest.approx(
        RegularizedMLPRegressor(dtype="float64", **MLP_FAST).fit(X, y).score(X, y), rel=1e-6
    )


def test_float64_model_pickles_and_diagnoses_in_float64():
    X, y = _data(RegularizedMLPClassifier)
    est = RegularizedMLPClassifier(dtype="float64", **MLP_FAST).fit(X, y)
    loaded = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    # a float32 model pickled before the parameter existed still predicts
    old = pickle.loads(pickle.dumps(RegularizedMLPClassifier(**MLP_FAST).fit(X, y)))
    expected = old.predict_proba(X)
    del old.dtype, old._fitted_architecture["dtype"]
    np.testing.assert_array_equal(old.predict_proba(X), expected)
    # the diagnostics run the network in its own precision: ||J||_F^2 to float64 rounding
    module = est.net_.module_
    x = torch.tensor(X)
    J = row_jacobians(lambda row: module(row[None])[0].softmax(-1), x)
    np.testing.assert_allclose(
        sensitivity(est, X)["jacobian_sq_norm"], J.square().sum(dim=(1, 2)).numpy(), rtol=1e-12
    )
