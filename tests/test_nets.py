"""RegularizedNetClassifier / RegularizedNetRegressor: a CNN the test defines itself, on digits
as images (n, 1, 8, 8); skorch-style parameters; shapes refused before training; the MLP
estimators as the MLP case."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from torch import nn

from sklearn_regpen import (
    RegularizedMLPClassifier,
    RegularizedMLPRegressor,
    RegularizedNetClassifier,
    RegularizedNetRegressor,
)
from sklearn_regpen._training import PenalizedNet
from sklearn_regpen.modules import MLP, ResNet, SmallCNN
from sklearn_regpen.penalties import PENALTIES


class DigitCNN(nn.Module):
    """The test's own CNN: conv 3x3, ReLU, 2x2 max-pooling, dense to the classes."""

    def __init__(self, n_classes=10, channels=4):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten()
        )
        self.head = nn.Linear(channels * 16, n_classes)

    def forward(self, x):
        return self.head(self.features(x))


@pytest.fixture(scope="module")
def images():
    X, y = load_digits(return_X_y=True)
    return (X / 16).reshape(-1, 1, 8, 8).astype(np.float32), y


FAST = dict(max_iter=3, batch_size=64, learning_rate_init=0.01, random_state=0)


@pytest.mark.parametrize("penalty", list(PENALTIES))
def test_a_cnn_trains_with_every_penalty(images, penalty):
    X, y = images
    X, y = X[:256], y[:256]
    clf = RegularizedNetClassifier(DigitCNN, penalty=penalty, alpha=0.01, epsilon=0.1, **FAST)
    clf.fit(X, y)
    assert clf.n_iter_ == 3 and np.isfinite(clf.loss_curve_).all()
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    proba = clf.predict_proba(X[:7])
    assert proba.shape == (7, 10) and np.allclose(proba.sum(1), 1)
    assert set(clf.predict(X)) <= set(y)


def test_grid_search_over_a_module_parameter_then_pickle(images):
    X, y = images
    X, y = X[:400], y[:400]
    search = GridSearchCV(
        RegularizedNetClassifier(DigitCNN, penalty="jacobian", alpha=0.01, **FAST),
        {"module__channels": [2, 6]},
        cv=2,
    ).fit(X, y)
    assert search.best_params_["module__channels"] in (2, 6)
    best = search.best_estimator_
    assert best.net_.module_.head.in_features == best.module__channels * 16
    restored = pickle.loads(pickle.dumps(best))
    np.testing.assert_array_equal(restored.predict_proba(X), best.predict_proba(X))
    assert restored.get_params() == best.get_params()


def test_skorch_style_parameters_round_trip():
    clf = RegularizedNetClassifier(
        DigitCNN, module__channels=3, optimizer=torch.optim.SGD, optimizer__momentum=0.9
    )
    params = clf.get_params()
    assert params["module__channels"] == 3 and params["optimizer__momentum"] == 0.9
    assert params["module"] is DigitCNN and params["optimizer"] is torch.optim.SGD
    copy = clone(clf)
    assert copy.get_params() == params and copy.module__channels == 3
    copy.set_params(module__channels=5, penalty__n_projections=2, alpha=0.3)
    assert copy.get_params()["module__channels"] == 5 and copy.alpha == 0.3
    assert copy.penalty_options == {"n_projections": 2}
    assert clf.module__channels == 3  # the original is untouched
    assert "module__channels=3" in repr(clf)
    # stored, and refused by fit with a suggestion (scikit-learn's rule: init never raises)
    typos = [RegularizedNetClassifier(DigitCNN, max_iters=3), clone(clf).set_params(max_iters=3)]
    for typo in typos:
        with pytest.raises(ValueError, match="module__<name>.*Did you mean 'max_iter'"):
            typo.fit(np.zeros((4, 1, 8, 8)), [0, 1, 0, 1])


def test_sgd_with_optimizer_parameters_and_a_torch_device(images):
    X, y = images
    clf = RegularizedNetClassifier(
        DigitCNN, optimizer=torch.optim.SGD, optimizer__momentum=0.9, device=torch.device("cpu"),
        **{**FAST, "learning_rate_init": 0.05},
    ).fit(X[:256], y[:256])  # fmt: skip
    assert isinstance(clf.net_.optimizer_, torch.optim.SGD)
    assert clf.net_.optimizer_.param_groups[0]["momentum"] == 0.9


def _no_training(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(PenalizedNet, "fit_loop", fail)


def test_an_output_width_that_does_not_fit_the_classes_is_refused_before_training(
    images, monkeypatch
):
    X, y = images
    _no_training(monkeypatch)
    clf = RegularizedNetClassifier(DigitCNN, module__n_classes=3, **FAST)
    with pytest.raises(ValueError, match=r"outputs of shape \(2, 3\).*10 classes"):
        clf.fit(X, y)
    assert not hasattr(clf, "net_")
    reg = RegularizedNetRegressor(DigitCNN, module__n_classes=1, **FAST)
    with pytest.raises(ValueError, match=r"outputs of shape \(2, 1\).*2 targets"):
        reg.fit(X, np.c_[y, y].astype(float))


def test_an_input_shape_that_does_not_fit_x_is_refused_before_training(images, monkeypatch):
    X, y = images
    _no_training(monkeypatch)
    with pytest.raises(ValueError, match=r"rows of shape \(64,\).*Conv2d\(1, 4"):
        RegularizedNetClassifier(DigitCNN, **FAST).fit(X.reshape(len(X), -1), y)
    with pytest.raises(ValueError, match=r"rows of shape \(1, 8, 8\).*in_features=32"):
        RegularizedNetClassifier(MLP, module__n_features=32, **FAST).fit(X, y)


def test_bad_modules_and_optimizer_options_are_refused(images):
    X, y = images
    cases = [
        (dict(module=DigitCNN()), "not an instance"),
        (dict(module="cnn"), "nn.Module subclass or a callable"),
        (dict(optimizer__lr=0.1), "learning_rate_init"),
        (dict(optimizer__weight_decay=0.1), "penalty='l2'"),
    ]
    for params, message in cases:
        with pytest.raises(ValueError, match=message):
            RegularizedNetClassifier(**{"module": DigitCNN, **FAST, **params}).fit(X, y)


def test_warm_start_partial_fit_and_predict_check_the_shapes(images):
    X, y = images
    X, y = X[:256], y[:256]
    clf = RegularizedNetClassifier(DigitCNN, warm_start=True, **FAST).fit(X, y)
    clf.fit(X, y)
    assert clf.n_iter_ == 6
    clf.set_params(module__channels=5)
    with pytest.raises(ValueError, match="module__channels=unset \\(now 5\\)"):
        clf.fit(X, y)
    with pytest.raises(ValueError, match="fitted on rows of shape \\(1, 8, 8\\)"):
        clf.predict(X.reshape(len(X), 1, 4, 16))
    part = RegularizedNetClassifier(DigitCNN, **FAST).partial_fit(X, y, classes=np.arange(10))
    part.partial_fit(X, y)
    assert part.n_iter_ == 2


@pytest.mark.parametrize(
    "penalty, class_weight", [("l2", None), ("jacobian", None), ("l2", "balanced")]
)
def test_the_mlp_estimator_is_the_net_estimator_with_an_mlp_module(blobs, penalty, class_weight):
    X, y = blobs
    X, y = (X[40:], y[40:]) if class_weight else (X, y)  # unequal classes for the weights
    # the stopping rule set: the MLP estimators' defaults differ from the Nets' there
    params = dict(penalty=penalty, alpha=0.01, max_iter=10, learning_rate_init=0.01,
                  random_state=0, class_weight=class_weight, early_stopping=False,
                  n_iter_no_change=10)  # fmt: skip
    mlp = RegularizedMLPClassifier(hidden_layer_sizes=(16,), activation="tanh", **params)
    net = RegularizedNetClassifier(module__hidden_layer_sizes=(16,), module__activation="tanh",
                                   **params)  # fmt: skip
    np.testing.assert_array_equal(mlp.fit(X, y).predict_proba(X), net.fit(X, y).predict_proba(X))


@pytest.mark.parametrize("normalize_y", [True, False])
def test_the_regressor_is_the_mlp_regressor_with_an_mlp_module(regression_data, normalize_y):
    X, y = regression_data
    y = 1000 * y + 1e4  # units where normalize_y matters
    # the stopping rule and alpha set: the MLP regressor's defaults differ from the Net's there
    params = dict(max_iter=10, learning_rate_init=0.01, random_state=0, normalize_y=normalize_y,
                  early_stopping=False, n_iter_no_change=10, alpha=1e-4)  # fmt: skip
    mlp = RegularizedMLPRegressor(hidden_layer_sizes=(16,), **params).fit(X, y)
    net = RegularizedNetRegressor(module__hidden_layer_sizes=(16,), **params).fit(X, y)
    np.testing.assert_array_equal(mlp.predict(X), net.predict(X))


def test_the_thesis_modules_take_their_shapes_from_the_data():
    X = np.random.default_rng(0).random((40, 1, 20, 20), dtype=np.float32)
    y = np.arange(40) % 4
    clf = RegularizedNetClassifier(SmallCNN, module__channels=(4, 4, 4), module__hidden=8,
                                   max_iter=1, random_state=0).fit(X, y)  # fmt: skip
    assert clf.predict_proba(X).shape == (40, 4)
    with pytest.raises(ValueError, match="at least 18 pixels"):
        SmallCNN((1, 8, 8))
    out = ResNet((3, 16, 16), 5, norm="group")(torch.zeros(2, 3, 16, 16))
    assert out.shape == (2, 5)


def test_early_stopping_sample_weight_and_unlabelled_rows_on_images(images):
    X, y = images
    X, y = X[:300], y[:300]
    weights = np.where(y % 2 == 0, 2.0, 1.0)
    clf = RegularizedNetClassifier(DigitCNN, early_stopping=True, **{**FAST, "max_iter": 4})
    clf.fit(X, y, sample_weight=weights)
    assert len(clf.validation_scores_) == clf.n_iter_ == 4
    semi = np.where(np.arange(len(y)) % 3 == 0, -1, y)
    clf = RegularizedNetClassifier(DigitCNN, penalty="vat", alpha=1.0, epsilon=0.5,
                                   semi_supervised=True, **FAST).fit(X, semi)  # fmt: skip
    assert clf.classes_.tolist() == list(range(10))


def test_signature_and_repr_show_every_parameter_once():
    """The task classes add one parameter each and pass the rest on: their signature lists all of
    them with their defaults, so the repr shows only what was set, as scikit-learn's does."""
    import inspect

    names = list(inspect.signature(RegularizedNetClassifier.__init__).parameters)
    assert names[:3] == ["self", "module", "penalty"] and "class_weight" in names
    assert "normalize_y" in inspect.signature(RegularizedNetRegressor.__init__).parameters
    est = RegularizedNetClassifier(alpha=0.5, module__channels=4)
    assert repr(est) == "RegularizedNetClassifier(alpha=0.5, module__channels=4)"
    assert repr(RegularizedNetRegressor()) == "RegularizedNetRegressor()"
