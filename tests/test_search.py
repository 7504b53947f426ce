"""``TopCandidatesSearchCV`` and ``tabular_search``: a grid search that averages its best few."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from sklearn_regpen import RegularizedMLPClassifier, RegularizedMLPRegressor
from sklearn_regpen.search import TopCandidatesSearchCV, tabular_search

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
