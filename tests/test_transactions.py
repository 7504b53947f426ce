"""A fit is a transaction: a call that fails, for any reason, leaves the estimator as it was.

One test per path that used to delete a fitted model (the red-team run of 297 hostile cases), plus
the meaning of Ctrl-C: after a completed epoch of this call the model keeps this call's best
epoch; before one, it is left as it was.
"""

import pickle

import numpy as np
import pytest
import torch

from sklearn_regpen import (
    RegularizedMLPClassifier,
    RegularizedMLPRegressor,
    TrainingDivergedError,
    _loop,
)
from sklearn_regpen._training import PenalizedNet

FAST = dict(hidden_layer_sizes=(16,), max_iter=15, random_state=0, learning_rate_init=0.01)


def state(estimator, X):
    """What a user sees of a fitted estimator: its predictions and its fitted attributes."""
    return {
        "proba": estimator.predict_proba(X) if hasattr(estimator, "classes_") else None,
        "predict": estimator.predict(X),
        "n_iter_": estimator.n_iter_,
        "loss_curve_": list(estimator.loss_curve_),
        "attributes": sorted(k for k in vars(estimator) if k.endswith("_")),
        "weights": [p.detach().clone() for p in estimator.net_.module_.parameters()],
    }


def assert_unchanged(before, estimator, X):
    after = state(estimator, X)
    for key in ("proba", "predict"):
        np.testing.assert_array_equal(before[key], after[key])
    for key in ("n_iter_", "loss_curve_", "attributes"):
        assert before[key] == after[key], key
    for a, b in zip(before["weights"], after["weights"]):
        assert torch.equal(a, b)


@pytest.fixture
def fitted(blobs):
    X, y = blobs
    clf = RegularizedMLPClassifier(**FAST).fit(X, y)
    return clf, state(clf, X)


def diverge_on_next_epoch(monkeypatch):
    """The next epoch's loss reads as NaN, as a real divergence does."""
    monkeypatch.setattr(_loop, "epoch_loss", lambda net: float("nan"))


# -- the red-team paths ----------------------------------------------------------------------------
def test_partial_fit_with_an_unknown_label_keeps_the_model(blobs, fitted):
    X, y = blobs
    clf, before = fitted
    with pytest.raises(ValueError, match="labels not in classes_"):
        clf.partial_fit(X, np.where(y == 2, 7, y))  # a typo in the labels
    assert_unchanged(before, clf, X)


def test_partial_fit_with_other_classes_keeps_the_model(blobs, fitted):
    X, y = blobs
    clf, before = fitted
    with pytest.raises(ValueError, match="differs from the classes of the first fit"):
        clf.partial_fit(X, y, classes=[0, 1, 2, 3])
    assert_unchanged(before, clf, X)


def test_warm_start_refit_with_an_unknown_label_keeps_the_model(blobs, fitted):
    X, y = blobs
    clf, before = fitted
    clf.set_params(warm_start=True)
    with pytest.raises(ValueError, match="labels not in classes_"):
        clf.fit(X, np.where(y == 2, 9, y))
    assert_unchanged(before, clf, X)


def test_refit_with_a_bad_penalty_option_keeps_the_model(blobs, fitted):
    X, y = blobs
    clf, before = fitted
    clf.set_params(penalty="vat", penalty__n_power_iteration=2)  # a typo of the option's name
    with pytest.raises(ValueError, match="no option 'n_power_iteration'"):
        clf.fit(X, y)
    assert_unchanged(before, clf, X)


def test_refit_with_one_class_keeps_the_model(blobs, fitted):
    X, y = blobs
    clf, before = fitted
    with pytest.raises(ValueError, match="at least 2 classes"):
        clf.fit(X[y == 0], y[y == 0])
    assert_unchanged(before, clf, X)


@pytest.mark.parametrize("how", ["warm_start", "partial_fit", "fresh fit"])
def test_divergence_keeps_the_model(blobs, fitted, monkeypatch, how):
    X, y = blobs
    clf, before = fitted
    diverge_on_next_epoch(monkeypatch)
    with pytest.raises(TrainingDivergedError, match="loss became nan at epoch"):
        if how == "partial_fit":
            clf.partial_fit(X, y)
        else:
            clf.set_params(warm_start=how == "warm_start").fit(X, y)
    monkeypatch.undo()
    assert_unchanged(before, clf, X)


def test_divergence_of_a_first_fit_leaves_it_unfitted(blobs, monkeypatch):
    X, y = blobs
    clf = RegularizedMLPClassifier(**FAST)
    diverge_on_next_epoch(monkeypatch)
    with pytest.raises(TrainingDivergedError):
        clf.fit(X, y)
    assert not [k for k in vars(clf) if k.endswith("_")]
    assert vars(clf) == vars(RegularizedMLPClassifier(**FAST))


def test_a_failed_fit_on_other_features_keeps_the_old_feature_count(blobs, fitted, monkeypatch):
    """validate_data records n_features_in_ before training: a failure must take it back."""
    X, y = blobs
    clf, before = fitted
    diverge_on_next_epoch(monkeypatch)
    with pytest.raises(TrainingDivergedError):
        clf.fit(X[:, :4], y)
    monkeypatch.undo()
    assert clf.n_features_in_ == X.shape[1]
    assert_unchanged(before, clf, X)


def test_the_regressor_is_transactional_too(regression_data, monkeypatch):
    X, y = regression_data
    reg = RegularizedMLPRegressor(**FAST).fit(X, y)
    before = state(reg, X)
    with pytest.raises(ValueError, match="outputs"):
        reg.partial_fit(X, y[:, 0])
    diverge_on_next_epoch(monkeypatch)
    with pytest.raises(TrainingDivergedError):
        reg.partial_fit(X, y)
    monkeypatch.undo()
    assert_unchanged(before, reg, X)


# -- Ctrl-C ----------------------------------------------------------------------------------------
def interrupt_in_epoch(monkeypatch, epoch):
    """KeyboardInterrupt in the given epoch of the next call (1-based), mid-epoch: after the
    epoch's first optimizer steps have changed the weights."""
    calls = {"n": 0}
    original = PenalizedNet.fit_loop

    def fit_loop(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == epoch:
            with torch.no_grad():  # half an epoch's worth of change to the weights
                for p in self.module_.parameters():
                    p.add_(0.5)
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(PenalizedNet, "fit_loop", fit_loop)


@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_interrupt_in_the_first_epoch_of_a_continued_fit_keeps_the_model(
    blobs, fitted, monkeypatch, how
):
    X, y = blobs
    clf, before = fitted
    interrupt_in_epoch(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        if how == "partial_fit":
            clf.partial_fit(X, y)
        else:
            clf.set_params(warm_start=True).fit(X, y)
    assert_unchanged(before, clf, X)


def test_interrupt_after_an_epoch_of_a_continued_fit_keeps_its_best_epoch(
    blobs, fitted, monkeypatch
):
    X, y = blobs
    clf, before = fitted
    interrupt_in_epoch(monkeypatch, 4)
    clf.set_params(warm_start=True)
    with pytest.warns(UserWarning, match=f"keeps the weights of epoch {FAST['max_iter'] + 3}"):
        with pytest.raises(KeyboardInterrupt):
            clf.fit(X, y)
    assert clf.n_iter_ == FAST["max_iter"] + 3
    monkeypatch.undo()
    # the same three epochs without the interrupt (their losses fall, so the third is the best)
    reference = RegularizedMLPClassifier(**FAST).fit(X, y)
    reference.set_params(warm_start=True, max_iter=3).fit(X, y)
    assert reference.loss_curve_ == clf.loss_curve_
    np.testing.assert_array_equal(reference.predict_proba(X), clf.predict_proba(X))


def test_interrupt_during_label_encoding_propagates_and_keeps_the_model(
    blobs, fitted, monkeypatch
):
    X, y = blobs
    clf, before = fitted

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(RegularizedMLPClassifier, "_encode_targets", interrupted)
    with pytest.raises(KeyboardInterrupt):  # not UnboundLocalError
        clf.partial_fit(X, y)
    monkeypatch.undo()
    assert_unchanged(before, clf, X)


def test_a_failed_call_leaves_a_model_that_pickles_and_continues(blobs, fitted, monkeypatch):
    X, y = blobs
    clf, before = fitted
    diverge_on_next_epoch(monkeypatch)
    with pytest.raises(TrainingDivergedError):
        clf.partial_fit(X, y)
    monkeypatch.undo()
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), before["proba"])
    restored.partial_fit(X, y)
    assert restored.n_iter_ == FAST["max_iter"] + 1
