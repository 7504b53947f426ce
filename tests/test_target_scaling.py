"""The regressor standardizes its targets (``normalize_y=True``): the fit does not depend on the
units of ``y``, the scaling is fitted state, and continuing fits keep the first fit's scaling."""

import pickle

import numpy as np
import pytest
from sklearn.datasets import make_regression

from sklearn_regpen import RegularizedMLPRegressor, TrainingDivergedError

FAST = dict(hidden_layer_sizes=(16,), max_iter=40, random_state=0, learning_rate_init=0.01)


@pytest.fixture(scope="module")
def data():
    X, y = make_regression(n_samples=200, n_features=5, noise=5.0, random_state=0)
    return X, y


@pytest.mark.parametrize("penalty", ["l2", "jacobian", "c2c"])
def test_r2_does_not_depend_on_the_units_of_y(data, penalty):
    X, y = data
    scores = [
        RegularizedMLPRegressor(penalty=penalty, alpha=0.1, **FAST).fit(X, target).score(X, target)
        for target in (y, 1000 * y, y + 1e4, 1000 * y + 1e4)
    ]
    assert scores[0] > 0.9
    np.testing.assert_allclose(scores, scores[0], atol=1e-5)


def test_without_scaling_the_units_matter(data):
    X, y = data
    plain = RegularizedMLPRegressor(normalize_y=False, **FAST)
    assert plain.fit(X, y + 1e4).score(X, y + 1e4) < plain.fit(X, y).score(X, y) - 0.1
    assert plain.y_mean_.tolist() == [0.0] and plain.y_scale_.tolist() == [1.0]


def test_scaling_is_weighted_and_handles_a_constant_target(data, regression_data):
    X, y = data
    weights = np.random.default_rng(0).uniform(0, 3, len(y))
    reg = RegularizedMLPRegressor(**FAST).fit(X, y, sample_weight=weights)
    mean = np.average(y, weights=weights)
    np.testing.assert_allclose(reg.y_mean_, [mean])
    std = np.sqrt(np.average((y - mean) ** 2, weights=weights))
    np.testing.assert_allclose(reg.y_scale_, [std])
    constant = RegularizedMLPRegressor(**FAST).fit(X, np.full(len(y), 1e4 + 0.1))
    assert constant.y_scale_.tolist() == [1.0]
    # early stopping (the default) scores constant held-out targets by minus their squared
    # error, where R^2 is undefined and would stay 0: the score improves as the outputs learn 0
    scores = constant.validation_scores_
    assert all(s <= 0 for s in scores) and max(scores) > scores[0]
    np.testing.assert_allclose(constant.predict(X), 1e4 + 0.1, atol=0.5)  # zeros, learnt
    X2, Y2 = regression_data
    two = RegularizedMLPRegressor(**FAST).fit(X2, 50 * Y2 + [3, -7])
    assert two.y_mean_.shape == two.y_scale_.shape == (2,) and two.predict(X2).shape == Y2.shape


def test_scaling_survives_pickling(data):
    X, y = data
    reg = RegularizedMLPRegressor(**FAST).fit(X, 1000 * y + 1e4)
    copy = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(copy.predict(X), reg.predict(X))
    np.testing.assert_array_equal(copy.y_mean_, reg.y_mean_)


def test_partial_fit_and_warm_start_keep_the_first_scaling(data):
    X, y = data
    reg = RegularizedMLPRegressor(**FAST).partial_fit(X, y)
    first = reg.y_mean_.copy(), reg.y_scale_.copy()
    reg.partial_fit(X[:50], y[:50] + 100)
    np.testing.assert_array_equal(reg.y_mean_, first[0])
    np.testing.assert_array_equal(reg.y_scale_, first[1])
    warm = RegularizedMLPRegressor(warm_start=True, **FAST).fit(X, y)
    warm.set_params(max_iter=2).fit(X, 3 * y)
    assert warm.y_scale_[0] == pytest.approx(y.std())


def test_a_failed_fit_restores_the_scaling(data, monkeypatch):
    X, y = data
    reg = RegularizedMLPRegressor(**FAST).fit(X, y)
    before, mean = reg.predict(X), reg.y_mean_

    def diverge(*args, **kwargs):
        raise TrainingDivergedError("diverged")

    monkeypatch.setattr(RegularizedMLPRegressor, "_run", diverge)
    with pytest.raises(TrainingDivergedError):
        reg.fit(X, 1000 * y + 5)
    assert reg.y_mean_ is mean
    np.testing.assert_array_equal(reg.predict(X), before)


def test_the_estimators_share_every_other_default():
    """Each estimator's ``__init__`` adds its own parameters (and defaults chosen on tables)
    and passes the rest on; its signature (which scikit-learn, IDEs and the docs read)
    lists the base class's parameters with their
    defaults, and no ``**kwargs``."""
    import inspect

    from sklearn_regpen.estimators import (
        RegularizedMLPClassifier,
        _RegularizedMLP,
    )

    def defaults(cls):
        return {n: p.default for n, p in inspect.signature(cls.__init__).parameters.items()
                if n != "self"}  # fmt: skip

    shared = defaults(_RegularizedMLP)
    assert "kwargs" not in shared
    # the classifier's alpha was chosen on classification tables, the regressor's alpha and
    # layers on regression tables
    assert defaults(RegularizedMLPClassifier) == {**shared, "class_weight": None, "alpha": 0.1}
    assert defaults(RegularizedMLPRegressor) == {**shared, "normalize_y": True, "alpha": 0.1,
                                                 "hidden_layer_sizes": (256, 256)}  # fmt: skip
    # the MLP estimators' stopping rule was chosen on tables; the Nets keep scikit-learn's
    assert shared["early_stopping"] is True and shared["n_iter_no_change"] == 30
