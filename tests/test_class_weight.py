"""``class_weight`` on the classifier, as scikit-learn defines it: weights that multiply
``sample_weight``, ``"balanced"`` counted on the labelled rows of the ``y`` given to ``fit``."""

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.metrics import balanced_accuracy_score
from sklearn.utils.class_weight import compute_class_weight

from sklearn_regpen import RegularizedMLPClassifier

FAST = dict(hidden_layer_sizes=(16,), max_iter=20, random_state=0, learning_rate_init=0.01)


def test_balanced_raises_balanced_accuracy_on_a_95_5_table():
    X, y = make_classification(n_samples=2000, n_features=8, n_informative=4, weights=[0.95],
                               flip_y=0.02, class_sep=0.6, random_state=0)  # fmt: skip
    train, test = slice(0, 1000), slice(1000, None)
    assert 0.03 < y[train].mean() < 0.07
    params = dict(hidden_layer_sizes=(32,), max_iter=100, random_state=0)
    plain = RegularizedMLPClassifier(**params).fit(X[train], y[train])
    balanced = RegularizedMLPClassifier(class_weight="balanced", **params).fit(X[train], y[train])
    plain_score = balanced_accuracy_score(y[test], plain.predict(X[test]))
    balanced_score = balanced_accuracy_score(y[test], balanced.predict(X[test]))
    assert balanced_score > plain_score + 0.05, (plain_score, balanced_score)


@pytest.mark.parametrize("labels", [np.array([0, 1, 2]), np.array(["a", "b", "c"])])
def test_dict_weights_equal_the_same_sample_weight(blobs, labels):
    X, y = blobs
    y = labels[y]
    class_weight = {labels[0]: 3.0, labels[2]: 0.5}  # labels[1] not given: weight 1
    weights = np.array([class_weight.get(label, 1.0) for label in y])
    by_class = RegularizedMLPClassifier(class_weight=class_weight, **FAST).fit(X, y)
    by_row = RegularizedMLPClassifier(**FAST).fit(X, y, sample_weight=weights)
    np.testing.assert_array_equal(by_class.predict_proba(X), by_row.predict_proba(X))


def test_balanced_is_scikit_learns_and_multiplies_sample_weight(blobs):
    X, y = blobs
    keep = np.r_[np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:40], np.flatnonzero(y == 2)[:10]]
    X, y = X[keep], y[keep]
    sample_weight = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    per_class = compute_class_weight("balanced", classes=np.unique(y), y=y)
    balanced = RegularizedMLPClassifier(class_weight="balanced", **FAST)
    balanced.fit(X, y, sample_weight=sample_weight)
    by_row = RegularizedMLPClassifier(**FAST).fit(X, y, sample_weight=sample_weight * per_class[y])
    np.testing.assert_array_equal(balanced.predict_proba(X), by_row.predict_proba(X))


def test_balanced_counts_labelled_rows_only(blobs):
    X, y = blobs
    y = y.copy()
    y[(y == 0) & (np.arange(len(y)) % 2 == 0)] = -1  # half of class 0 unlabelled
    labelled = y >= 0
    per_class = compute_class_weight("balanced", classes=np.array([0, 1, 2]), y=y[labelled])
    weights = np.ones(len(y))
    weights[labelled] = per_class[y[labelled]]
    params = dict(penalty="c2c", alpha=1.0, semi_supervised=True, **FAST)
    balanced = RegularizedMLPClassifier(class_weight="balanced", **params).fit(X, y)
    by_row = RegularizedMLPClassifier(**params).fit(X, y, sample_weight=weights)
    np.testing.assert_array_equal(balanced.predict_proba(X), by_row.predict_proba(X))


@pytest.mark.parametrize(
    "class_weight, match",
    [
        ("balance", "class_weight"),
        ({0: -1.0}, "finite, non-negative"),
        ({0: np.nan}, "finite, non-negative"),
        ({0: "heavy"}, "finite, non-negative"),
        ({7: 2.0}, r"class_weight=\{7: 2.0\}"),  # not a class, as scikit-learn refuses it
        ({0: 0.0, 1: 0.0, 2: 0.0}, "zero for every row"),
        ([1.0, 2.0, 3.0], "class_weight"),
    ],
)
def test_bad_class_weights_are_refused_before_training(blobs, monkeypatch, class_weight, match):
    X, y = blobs

    def no_training(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(RegularizedMLPClassifier, "_run", no_training)
    with pytest.raises(ValueError, match=match):
        RegularizedMLPClassifier(class_weight=class_weight, **FAST).fit(X, y)


def test_partial_fit_takes_a_dict_and_refuses_balanced(blobs):
    X, y = blobs
    clf = RegularizedMLPClassifier(class_weight={2: 4.0}, **FAST)
    clf.partial_fit(X, y, classes=[0, 1, 2]).partial_fit(X, y)
    assert clf.n_iter_ == 2
    with pytest.raises(ValueError, match="not supported by partial_fit"):
        clf = RegularizedMLPClassifier(class_weight="balanced", **FAST)
        clf.partial_fit(X, y, classes=[0, 1, 2])
