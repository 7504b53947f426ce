"""The searches that average: ``TopCandidatesSearchCV`` (its best few refitted),
``EnsembleSearchCV`` (a greedy ensemble of fold models) and ``tabular_search``."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import accuracy_score, log_loss, r2_score
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    ShuffleSplit,
    StratifiedKFold,
    cross_val_predict,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_regpen import RegularizedMLPClassifier, RegularizedMLPRegressor
from sklearn_regpen.search import (
    EnsembleSearchCV,
    TopCandidatesSearchCV,
    ensemble_weights,
    tabular_search,
)

FAST = dict(hidden_layer_sizes=(8,), max_iter=10, random_state=0, learning_rate_init=0.01)
GRID = {"alpha": [1e-4, 1.0, 10.0]}


def test_top_1_is_the_grid_search(blobs):
    X, y = blobs
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    ours = TopCandidatesSearchCV(RegularizedMLPClassifier(**FAST), GRID, top_k=1, cv=folds)
    grid = GridSearchCV(RegularizedMLPClassifier(**FAST), GRID, cv=folds)
    ours.fit(X, y), grid.fit(X, y)
    assert ours.best_params_ == grid.best_params_
    np.testing.assert_array_equal(ours.predict_proba(X), grid.predict_proba(X))


def test_top_k_averages_the_best_candidates(blobs):
    X, y = blobs
    search = TopCandidatesSearchCV(RegularizedMLPClassifier(**FAST), GRID, top_k=2).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert search.best_score_ == scores.max() and len(search.estimators_) == 2
    mean = np.mean([est.predict_proba(X) for est in search.estimators_], axis=0)
    np.testing.assert_allclose(search.predict_proba(X), mean)
    assert set(search.predict(X)) <= set(search.classes_) and 0 <= search.score(X, y) <= 1


def test_regression_and_the_ready_made_search(regression_data):
    X, y = regression_data
    search = tabular_search(RegularizedMLPRegressor(**FAST), top_k=2).fit(X, y)
    assert search.predict(X).shape == y.shape and len(search.cv_results_["params"]) == 8
    with pytest.raises(AttributeError):
        search.predict_proba(X)
    with pytest.raises(ValueError, match="top_k"):
        TopCandidatesSearchCV(RegularizedMLPRegressor(**FAST), GRID, top_k=0).fit(X, y)


# -- ensemble_weights ------------------------------------------------------------------------------
def _binary(*p1):
    """Class probabilities of binary candidates from their probabilities of class 1."""
    return np.stack([np.stack([1 - np.asarray(p), np.asarray(p)], axis=1) for p in p1])


Y6, CLASSES = np.array([0, 0, 0, 1, 1, 1]), np.array([0, 1])


def test_greedy_selection_mixes_candidates_that_err_on_different_rows():
    # a and b are each wrong on one row, right on all together; c is wrong everywhere
    a, b = [0.1, 0.1, 0.6, 0.9, 0.9, 0.9], [0.4, 0.6, 0.1, 0.9, 0.9, 0.9]
    c = [0.9, 0.9, 0.9, 0.1, 0.1, 0.1]
    weights = ensemble_weights(_binary(c, a, b), Y6, scoring="accuracy", size=4, classes=CLASSES)
    # picks: a (best alone, the first of equals), b (a + b is right everywhere), then a twice
    # (the first candidate that keeps every row right); the prefixes from the second on all
    # score 1.0 and the longest is kept
    np.testing.assert_allclose(weights, [0, 0.75, 0.25])
    mixed = np.tensordot(weights, _binary(c, a, b), 1)
    assert accuracy_score(Y6, mixed.argmax(axis=1)) == 1.0


def test_selection_never_scores_below_the_best_candidate_alone():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=60)
    proba = rng.dirichlet(np.ones(3), size=(5, 60))
    for scoring, metric in [("accuracy", lambda p: accuracy_score(y, p.argmax(axis=1))),
                            (None, lambda p: -log_loss(y, p, labels=[0, 1, 2]))]:  # fmt: skip
        weights = ensemble_weights(proba, y, scoring=scoring, size=7, classes=np.arange(3))
        assert weights.min() >= 0 and np.isclose(weights.sum(), 1)
        assert any(np.allclose(weights * k, np.round(weights * k)) for k in range(1, 8))
        best_alone = max(metric(p) for p in proba)
        assert metric(np.tensordot(weights, proba, 1)) >= best_alone - 1e-12


def test_regression_selection_uses_r2():
    y = np.linspace(-1, 1, 20)
    over, under = 1.5 * y, 0.5 * y  # each alone has R^2 0.75; their mean is exact
    weights = ensemble_weights(np.stack([over, under, -y]), y, size=6)
    np.testing.assert_allclose(weights, [0.5, 0.5, 0])


# -- EnsembleSearchCV ------------------------------------------------------------------------------
def test_out_of_fold_predictions_are_cross_val_predict(blobs):
    X, y = blobs
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    search = EnsembleSearchCV(RegularizedMLPClassifier(**FAST), GRID, cv=folds).fit(X, y)
    for params, oof, score in zip(
        search.candidate_params_, search.oof_predictions_, search.candidate_scores_
    ):
        model = RegularizedMLPClassifier(**FAST).set_params(**params)
        expected = cross_val_predict(model, X, y, cv=folds, method="predict_proba")
        np.testing.assert_allclose(oof, expected, rtol=1e-6)
        assert score == pytest.approx(-log_loss(y, oof))  # the default selection score
    assert search.best_score_ == search.candidate_scores_.max()
    assert search.ensemble_score_ >= search.best_score_
    np.testing.assert_allclose(
        search.weights_,
        ensemble_weights(search.oof_predictions_, y, classes=search.classes_),
    )


def test_the_ensemble_is_the_weighted_mean_of_the_fold_models(blobs):
    X, y = blobs
    search = EnsembleSearchCV(RegularizedMLPClassifier(**FAST), GRID, cv=3).fit(X, y)
    chosen = np.flatnonzero(search.weights_)
    assert len(search.estimators_) == 3 * len(chosen)
    np.testing.assert_allclose(search.member_weights_, np.repeat(search.weights_[chosen] / 3, 3))
    members = zip(search.estimators_, search.member_weights_)
    expected = sum(w * m.predict_proba(X) for m, w in members)
    np.testing.assert_allclose(search.predict_proba(X), expected)
    np.testing.assert_allclose(search.predict_proba(X).sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_array_equal(search.predict(X), search.classes_[expected.argmax(axis=1)])
    again = pickle.loads(pickle.dumps(search))
    np.testing.assert_array_equal(again.predict_proba(X), search.predict_proba(X))
    assert clone(search).get_params()["param_grid"] == GRID


def test_a_class_missing_from_a_training_fold_gets_probability_zero(blobs):
    X, y = blobs
    y = y.copy()
    y[:4] = 3  # a rare class, all four rows in the first fold's held-out part
    rest = np.arange(4, len(y))
    folds = [(rest, np.arange(0, 4)), (np.r_[0:4, 4:120], np.arange(120, 240)),
             (np.r_[0:4, 120:240], np.arange(4, 120))]  # fmt: skip
    search = EnsembleSearchCV(RegularizedMLPClassifier(**FAST), GRID, cv=folds).fit(X, y)
    assert search.oof_predictions_.shape == (3, len(y), 4)
    np.testing.assert_array_equal(search.oof_predictions_[:, :4, 3], 0)
    assert search.predict_proba(X).shape == (len(y), 4)


def test_sample_weights_are_cut_to_each_fold(blobs):
    X, y = blobs
    pipe = make_pipeline(StandardScaler(), RegularizedMLPClassifier(**FAST))
    grid = {"regularizedmlpclassifier__alpha": [1e-4, 1.0]}
    plain = EnsembleSearchCV(pipe, grid).fit(X, y)
    ones = np.ones(len(y))
    weighted = EnsembleSearchCV(pipe, grid).fit(X, y, regularizedmlpclassifier__sample_weight=ones)
    np.testing.assert_allclose(weighted.oof_predictions_, plain.oof_predictions_, rtol=1e-6)


def test_ensemble_regression_and_bad_parameters(regression_data):
    X, y = regression_data
    search = EnsembleSearchCV(RegularizedMLPRegressor(**FAST), GRID, cv=KFold(3)).fit(X, y)
    assert search.oof_predictions_.shape == (3, *y.shape) and not hasattr(search, "classes_")
    expected = sum(w * m.predict(X) for m, w in zip(search.estimators_, search.member_weights_))
    np.testing.assert_allclose(search.predict(X), expected)
    assert search.ensemble_score_ >= search.best_score_
    assert search.score(X, y) == pytest.approx(r2_score(y, expected))
    with pytest.raises(AttributeError):
        search.predict_proba(X)
    for bad in (0, 2.5, None):
        with pytest.raises(ValueError, match="ensemble_size"):
            EnsembleSearchCV(RegularizedMLPRegressor(**FAST), GRID, ensemble_size=bad).fit(X, y)


def test_folds_that_do_not_hold_out_every_row_once_are_refused_before_any_fit(blobs):
    X, y = blobs

    class Counting(RegularizedMLPClassifier):
        fits = 0

        def fit(self, X, y, **kwargs):
            Counting.fits += 1
            return super().fit(X, y, **kwargs)

    half = np.arange(len(y) // 2)
    for folds in (ShuffleSplit(3, test_size=0.2, random_state=0), [(half, half)]):
        with pytest.raises(ValueError, match="hold out every row exactly once"):
            EnsembleSearchCV(Counting(**FAST), GRID, cv=folds).fit(X, y)
    assert Counting.fits == 0
