"""The red-team causes beyond lost models: each gets a clear error or the right value.

Every case is a row of the "bad input" table in the docs.
"""

import os
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from sklearn_regpen import RegularizedMLPClassifier, RegularizedMLPRegressor
from sklearn_regpen.diagnostics import attack_accuracies, diagnose, noise_errors
from sklearn_regpen.penalties import PENALTIES, make_penalty

FAST = dict(hidden_layer_sizes=(16,), max_iter=15, random_state=0, learning_rate_init=0.01)


@pytest.fixture(scope="module")
def fitted(blobs):
    X, y = blobs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return RegularizedMLPClassifier(**FAST).fit(X, y)


# -- diagnostics with y as a column ----------------------------------------------------------------
@pytest.mark.parametrize("shape", ["column", "dataframe"])
def test_diagnostics_read_y_as_a_column(blobs, fitted, shape):
    """y of shape (n, 1) used to broadcast against (n,) predictions: 29.9 for a true 0.08."""
    X, y = blobs
    column = y.reshape(-1, 1) if shape == "column" else pd.DataFrame({"label": y})
    truth = float(np.mean(fitted.predict(X) != y))
    assert noise_errors(fitted, X, column, [0.0])["error"].iloc[0] == pytest.approx(truth)
    assert diagnose(fitted, X, column)["error"] == pytest.approx(truth)
    accuracy = attack_accuracies(fitted, X, column, [0.0], attack="fgsm")["accuracy"].iloc[0]
    assert accuracy == pytest.approx(1 - truth)


def test_diagnostics_refuse_two_label_columns(blobs, fitted):
    X, y = blobs
    with pytest.raises(ValueError, match="one label per row"):
        noise_errors(fitted, X, np.c_[y, y], [0.0])


# -- values the network's float32 cannot hold ------------------------------------------------------
def test_x_beyond_float32_is_refused_at_fit_and_predict(blobs, fitted):
    X, y = blobs
    huge = X.copy()
    huge[0, 0] = 1e39  # finite in float64, inf in float32
    with pytest.raises(ValueError, match="beyond float32's range"):
        RegularizedMLPClassifier(**FAST).fit(huge, y)
    with pytest.raises(ValueError, match="beyond float32's range"):
        fitted.predict_proba(huge)


def test_y_beyond_float32_is_refused(regression_data):
    X, y = regression_data
    with pytest.raises(ValueError, match="y has values .* beyond float32's range"):
        RegularizedMLPRegressor(**FAST).fit(X, y * 1e40)


# -- numpy scalars ---------------------------------------------------------------------------------
def test_numpy_scalars_are_accepted_for_alpha_and_epsilon(blobs):
    X, y = blobs
    clf = RegularizedMLPClassifier(penalty="c2c", alpha=np.int64(1), epsilon=np.float32(0.25),
                                   **FAST).fit(X, y)
    same = RegularizedMLPClassifier(penalty="c2c", alpha=1, epsilon=0.25, **FAST).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), same.predict_proba(X))
    pen = make_penalty("vat", alpha=np.float32(0.5), epsilon=np.float16(0.25))
    assert (pen.alpha, pen.epsilon) == (0.5, 0.25)


# -- continuing a network whose architecture the parameters no longer describe ---------------------
@pytest.mark.parametrize("change", [{"hidden_layer_sizes": (8,)}, {"activation": "tanh"}])
@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_continuing_with_another_architecture_is_refused(blobs, change, how):
    X, y = blobs
    clf = RegularizedMLPClassifier(**FAST).fit(X, y)
    before = clf.predict_proba(X)
    clf.set_params(**change)
    name = next(iter(change))
    with pytest.raises(ValueError, match=f"continues the fitted network, whose {name}="):
        if how == "partial_fit":
            clf.partial_fit(X, y)
        else:
            clf.set_params(warm_start=True).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), before)
    # without warm_start, fit builds the new network
    clf.set_params(warm_start=False).fit(X, y)
    assert clf.net_.module__hidden_layer_sizes == clf.hidden_layer_sizes or name == "activation"


# -- the semi-supervised marker as a class ---------------------------------------------------------
def test_minus_one_cannot_be_a_class_of_a_semi_supervised_fit(blobs):
    X, y = blobs
    clf = RegularizedMLPClassifier(semi_supervised=True, **FAST)
    with pytest.raises(ValueError, match="contains -1, which marks unlabelled rows"):
        clf.partial_fit(X, y, classes=[-1, 0, 1, 2])
    assert not hasattr(clf, "classes_")


# -- penalty options the estimator sets itself -----------------------------------------------------
@pytest.mark.parametrize("option", ["task", "alpha", "epsilon", "reduction"])
def test_reserved_penalty_options_are_refused(blobs, option):
    X, y = blobs
    clf = RegularizedMLPClassifier(penalty="c2c", penalty_options={option: 1}, **FAST)
    with pytest.raises(ValueError, match=f"penalty_options cannot set \\['{option}'\\]"):
        clf.fit(X, y)


# -- threads ---------------------------------------------------------------------------------------
def test_n_threads_is_checked_at_fit_and_at_predict(blobs, fitted):
    X, y = blobs
    with pytest.raises(ValueError, match=r"n_threads must be 'auto', None or an int from 1 to"):
        RegularizedMLPClassifier(n_threads=10**6, **FAST).fit(X, y)
    clf = RegularizedMLPClassifier(**FAST).fit(X, y)
    clf.n_threads = 0  # set after fit, bypassing set_params
    with pytest.raises(ValueError, match="n_threads"):
        clf.predict(X)
    clf.n_threads = os.cpu_count()
    assert clf.predict(X).shape == y.shape


# -- standalone penalties on malformed batches -----------------------------------------------------
@pytest.mark.parametrize("name", sorted(PENALTIES))
def test_a_batch_without_its_batch_dimension_is_refused(name):
    module = torch.nn.Linear(3, 2)
    with pytest.raises(ValueError, match="x must be a batch"):
        make_penalty(name)(module, torch.randn(3), torch.tensor([1]))


@pytest.mark.parametrize("name", sorted(PENALTIES))
def test_a_one_logit_classifier_is_refused(name):
    """The softmax of one logit is constant: the cross-entropy is 0, and so is every term of the
    probabilities (vat used to return 0 silently). ``logit_jacobian`` alone has a term of the logit,
    so on its own it is allowed; its objective is refused like every other."""
    module = torch.nn.Linear(3, 1)
    x, y = torch.randn(5, 3), torch.zeros(5, dtype=torch.long)
    penalty = make_penalty(name, alpha=1.0, epsilon=0.1)
    with pytest.raises(ValueError, match="at least 2 classes"):
        penalty.objective(module, x, y)
    if name not in ("none", "l2", "logit_jacobian"):
        with pytest.raises(ValueError, match="at least 2 classes"):
            penalty(module, x, y)


def test_a_one_output_regressor_is_fine_for_vat():
    module = torch.nn.Linear(3, 1)
    value = make_penalty("vat", epsilon=0.5, task="regression")(module, torch.randn(5, 3))
    assert value > 0
