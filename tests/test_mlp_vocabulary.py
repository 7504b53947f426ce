"""scikit-learn's MLP parameters and fitted attributes on the MLP estimators, where they carry over:
``solver`` and its parameters mapped to torch's optimizers, ``shuffle`` to the batches, and
``coefs_``, ``intercepts_``, ``n_layers_``, ``n_outputs_``, ``out_activation_``, ``loss_``, ``t_``
read from the module that was trained."""

import copy
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier, MLPRegressor

from sklearn_regpen import (
    RegularizedMLPClassifier,
    RegularizedMLPRegressor,
    RegularizedNetClassifier,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

NEW = ("solver", "momentum", "nesterovs_momentum", "beta_1", "beta_2", "shuffle")


@pytest.fixture(scope="module")
def table():
    X, y = make_classification(n_samples=60, n_features=5, n_informative=4, n_redundant=0,
                               n_classes=3, random_state=0)  # fmt: skip
    return X.astype(np.float32), y


@pytest.mark.parametrize("ours, theirs", [(RegularizedMLPClassifier, MLPClassifier),
                                          (RegularizedMLPRegressor, MLPRegressor)])
def test_the_parameters_have_scikit_learns_names_and_defaults(ours, theirs):
    assert {k: ours().get_params()[k] for k in NEW} == {k: theirs().get_params()[k] for k in NEW}


@pytest.mark.parametrize("cls", [RegularizedMLPClassifier, RegularizedMLPRegressor])
def test_an_unknown_parameter_names_the_public_class(cls):
    with pytest.raises(TypeError) as error:
        cls(solvr="sgd")
    assert str(error.value) == (f"{cls.__name__}.__init__() got an unexpected keyword argument "
                                "'solvr'; did you mean 'solver'?")
    with pytest.raises(TypeError, match=rf"^{cls.__name__}\.__init__\(\) got an unexpected "
                                        r"keyword argument 'max_fun'$"):
        cls(max_fun=100)
    # the known ones still pass, by keyword and positionally where scikit-learn allows it
    assert cls((8,), "tanh", solver="sgd").get_params()["activation"] == "tanh"
    assert clone(cls(beta_1=0.5)).beta_1 == 0.5


def test_lbfgs_is_refused_with_the_reason_before_training(table):
    X, y = table
    clf = RegularizedMLPClassifier(solver="lbfgs")
    with pytest.raises(ValueError, match="solver='lbfgs' is not available: L-BFGS steps on the "
                                         "whole training set"):
        clf.fit(X, y)
    assert not hasattr(clf, "net_")
    with pytest.raises(ValueError, match="The 'solver' parameter of RegularizedMLPClassifier "
                                         "must be a str among"):
        RegularizedMLPClassifier(solver="newton").fit(X, y)


def _optimizer(solver, params, lr, **options):
    if solver == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=options["momentum"],
                               nesterov=options["nesterovs_momentum"])
    return torch.optim.Adam(params, lr=lr, betas=(options["beta_1"], options["beta_2"]))


@pytest.mark.parametrize(
    "solver, options",
    [
        ("sgd", {"momentum": 0.9, "nesterovs_momentum": True}),
        ("sgd", {"momentum": 0.5, "nesterovs_momentum": False}),
        ("adam", {"beta_1": 0.5, "beta_2": 0.9}),
    ],
)
def test_an_epoch_is_the_torch_optimizers_steps_over_the_batches_in_order(table, solver,
                                                                          options):
    """A warm-started epoch with ``shuffle=False`` is, weight for weight, ``solver``'s torch
    optimizer stepping over the rows in order on the mean cross-entropy; the first fit used Adam
    with its defaults, so the second must build its optimizer from the parameters as set now."""
    X, y = table
    lr, batch = 0.05, 16
    clf = RegularizedMLPClassifier(hidden_layer_sizes=(8,), penalty="none", max_iter=1,
                                   batch_size=batch, learning_rate_init=lr, warm_start=True,
                                   early_stopping=False, random_state=0).fit(X, y)  # fmt: skip
    module = copy.deepcopy(clf.net_.module_)
    clf.set_params(solver=solver, shuffle=False, **options).fit(X, y)

    optimizer = _optimizer(solver, module.parameters(), lr, **{
        "momentum": 0.9, "nesterovs_momentum": True, "beta_1": 0.9, "beta_2": 0.999, **options})
    x, targets = torch.as_tensor(X), torch.as_tensor(np.searchsorted(clf.classes_, y))
    for start in range(0, len(X), batch):
        optimizer.zero_grad()
        F.cross_entropy(module(x[start:start + batch]), targets[start:start + batch]).backward()
        optimizer.step()
    for ours, theirs in zip(clf.net_.module_.parameters(), module.parameters()):
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    steps = math.ceil(len(X) / batch)
    assert clf.t_ == 2 * len(X) and clf.n_iter_ == 2
    if solver == "adam":  # a fresh optimizer for the second fit: its steps are this fit's
        state = clf.net_.optimizer_.state[next(clf.net_.module_.parameters())]
        assert int(state["step"]) == steps


def test_shuffle_false_keeps_the_batches_in_order_and_true_draws_them(table):
    X, y = table
    rows = torch.utils.data.TensorDataset(torch.arange(50.0))

    def order(clf):
        return torch.cat([b[0] for b in clf.net_.get_iterator(rows, training=True)]).tolist()

    kept = RegularizedMLPClassifier(hidden_layer_sizes=(4,), max_iter=1, shuffle=False,
                                    random_state=0).fit(X, y)  # fmt: skip
    assert order(kept) == list(range(50))
    drawn = RegularizedMLPClassifier(hidden_layer_sizes=(4,), max_iter=1, random_state=0)
    drawn.fit(X, y)
    assert sorted(order(drawn)) == list(range(50)) and order(drawn) != list(range(50))


def _forward(clf, X):
    """scikit-learn's MLP forward pass, from ``coefs_`` and ``intercepts_`` alone."""
    activations = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh}
    a = X.astype(np.float64)
    for i, (W, b) in enumerate(zip(clf.coefs_, clf.intercepts_)):
        a = a @ W + b
        if i < clf.n_layers_ - 2:
            a = activations[clf.activation](a)
    return a


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_the_fitted_attributes_are_what_the_module_holds(table, activation):
    X, y = table
    clf = RegularizedMLPClassifier(hidden_layer_sizes=(7, 5), activation=activation,
                                   max_iter=15, random_state=0).fit(X, y)  # fmt: skip
    linear = [m for m in clf.net_.module_.modules() if isinstance(m, torch.nn.Linear)]
    assert [W.shape for W in clf.coefs_] == [(5, 7), (7, 5), (5, 3)]
    for W, b, layer in zip(clf.coefs_, clf.intercepts_, linear, strict=True):
        np.testing.assert_array_equal(W, layer.weight.detach().numpy().T)
        np.testing.assert_array_equal(b, layer.bias.detach().numpy())
    assert clf.n_layers_ == 4 and clf.n_outputs_ == 3 and clf.out_activation_ == "softmax"
    # the weights are the model's: a forward pass through them is predict_proba
    logits = _forward(clf, X)
    probabilities = np.exp(logits - logits.max(1, keepdims=True))
    probabilities /= probabilities.sum(1, keepdims=True)
    np.testing.assert_allclose(probabilities, clf.predict_proba(X), atol=1e-5)
    # ... and, as in scikit-learn, changing them changes the model
    clf.intercepts_[-1][0] += 100.0
    assert (clf.predict(X) == clf.classes_[0]).all()


def test_loss_and_t_follow_the_training(table):
    X, y = table
    clf = RegularizedMLPClassifier(hidden_layer_sizes=(4,), max_iter=30, early_stopping=False,
                                   random_state=0)  # fmt: skip
    clf.fit(X, y)
    kept = int(np.argmin(clf.loss_curve_))  # the best epoch's weights are kept
    assert clf.loss_ == clf.loss_curve_[kept] == clf.best_loss_
    assert clf.t_ == clf.n_iter_ * len(X)
    clf.partial_fit(X[:20], y[:20])  # partial_fit keeps its last epoch, counts its rows
    assert clf.loss_ == clf.loss_curve_[-1] and clf.t_ == (clf.n_iter_ - 1) * len(X) + 20
    # with early stopping, the held-out rows are not seen by the optimizer
    stopped = RegularizedMLPClassifier(hidden_layer_sizes=(4,), max_iter=12, early_stopping=True,
                                       validation_fraction=0.25, random_state=0).fit(X, y)
    assert stopped.t_ == stopped.n_iter_ * 45
    best = int(np.argmax(stopped.validation_scores_))
    assert stopped.loss_ == stopped.loss_curve_[best]
    for name in ("coefs_", "intercepts_", "n_layers_", "n_outputs_", "out_activation_", "loss_",
                 "t_"):
        assert not hasattr(RegularizedMLPClassifier(), name)


def test_the_regressors_attributes():
    X, y = make_regression(n_samples=40, n_features=3, n_targets=2, random_state=0)
    reg = RegularizedMLPRegressor(hidden_layer_sizes=(6,), max_iter=5, random_state=0).fit(X, y)
    assert [W.shape for W in reg.coefs_] == [(3, 6), (6, 2)]
    assert reg.n_layers_ == 3 and reg.n_outputs_ == 2 and reg.out_activation_ == "identity"
    outputs = _forward(reg, X) * reg.y_scale_ + reg.y_mean_
    np.testing.assert_allclose(outputs, reg.predict(X), rtol=1e-5, atol=1e-4)
    binary = RegularizedMLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0)
    assert binary.fit(X, y[:, 0] > 0).n_outputs_ == 2  # one logit per class: softmax


def test_a_grid_over_the_solver_parameters(table):
    X, y = table
    grid = [
        {"solver": ["sgd"], "momentum": [0.0, 0.9], "nesterovs_momentum": [True, False]},
        {"solver": ["adam"], "beta_1": [0.8, 0.9], "beta_2": [0.99, 0.999],
         "shuffle": [True, False]},
    ]
    base = RegularizedMLPClassifier(hidden_layer_sizes=(8,), max_iter=5, learning_rate_init=0.05,
                                    random_state=0)
    search = GridSearchCV(base, grid, cv=2, error_score="raise").fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 12 and np.isfinite(scores).all()
    assert search.best_estimator_.get_params()["solver"] == search.best_params_["solver"]
    # the candidates are different models: SGD and Adam do not train alike
    sgd, adam = (clone(base).set_params(solver=s).fit(X, y) for s in ("sgd", "adam"))
    assert not np.allclose(sgd.coefs_[0], adam.coefs_[0])


def test_the_net_estimators_keep_optimizer_and_take_shuffle(table):
    X, y = table
    with pytest.raises(ValueError, match=r"got unknown parameter\(s\) \['solver'\]"):
        RegularizedNetClassifier(solver="sgd", max_iter=1).fit(X, y)
    net = RegularizedNetClassifier(optimizer=torch.optim.SGD, optimizer__momentum=0.5,
                                   shuffle=False, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        net.fit(X, y)
    assert net.net_.optimizer_.param_groups[0]["momentum"] == 0.5
    assert net.net_.iterator_train__shuffle is False


def test_a_warm_start_fit_builds_its_optimizer_from_the_parameters_as_they_are(table):
    X, y = table
    net = RegularizedNetClassifier(optimizer=torch.optim.SGD, optimizer__momentum=0.5,
                                   warm_start=True, max_iter=1, random_state=0).fit(X, y)
    net.set_params(optimizer__momentum=0.8, optimizer__nesterov=True).fit(X, y)
    group = net.net_.optimizer_.param_groups[0]
    assert (group["momentum"], group["nesterov"]) == (0.8, True)
    mlp = RegularizedMLPClassifier(hidden_layer_sizes=(4,), solver="sgd", momentum=0.5,
                                   warm_start=True, max_iter=1, random_state=0).fit(X, y)
    mlp.set_params(momentum=0.7, nesterovs_momentum=False).fit(X, y)
    group = mlp.net_.optimizer_.param_groups[0]
    assert (group["momentum"], group["nesterov"]) == (0.7, False)
