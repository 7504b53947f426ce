"""Many members in one vectorized pass: member i equals the fit of its own, ensembles, searches."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning

from sklearn_regpen import RegularizedMLPClassifier, RegularizedMLPRegressor
from sklearn_regpen._loop import TrainingDivergedError
from sklearn_regpen._members import batchable, fit_members, member_random_states


@pytest.fixture(scope="module")
def classes():
    X, y = make_classification(60, 4, n_informative=3, n_redundant=0, n_classes=3,
                               random_state=0)  # fmt: skip
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def targets():
    X, y = make_regression(60, 5, n_targets=2, random_state=0)
    return X.astype(np.float32), y / y.std()


#: three fits that differ in everything a search varies: seed, alpha, epsilon, rows (so batch
#: counts and last batches differ: 60, 30 and 55 rows in batches of 16) and sample weights
SPECS = [
    dict(alpha=0.3, epsilon=0.2, random_state=1),
    dict(alpha=1.0, epsilon=0.5, random_state=7),
    dict(alpha=0.1, epsilon=0.1, random_state=3),
]


def _data(X, y):
    return [(X, y, None), (X[:30], y[:30], None), (X[5:], y[5:], np.linspace(0.5, 2.0, 55))]


def _check_members_equal_own_fits(base, X, y, predict):
    estimators = [clone(base).set_params(**spec) for spec in SPECS]
    assert batchable(estimators) is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = fit_members(estimators, _data(X, y))
        for member, spec, (X_i, y_i, w_i) in zip(fitted, SPECS, _data(X, y)):
            own = clone(base).set_params(**spec).fit(X_i, y_i, sample_weight=w_i)
            assert member.n_iter_ == own.n_iter_
            np.testing.assert_allclose(member.loss_curve_, own.loss_curve_, rtol=1e-5)
            np.testing.assert_allclose(predict(member, X), predict(own, X), rtol=1e-4,
                                       atol=1e-5)  # fmt: skip
    return fitted


#: at least one penalty of each family of the design notes; projected Jacobian forms draw
#: their directions, the others their noise or power-iteration start
FAMILIES = [
    ("none", {}),
    ("l2", {}),
    ("noise", {}),
    ("jacobian", {}),
    ("jacobian", {"n_projections": 1}),
    ("noisy_jacobian", {}),
    ("c2c", {}),
    ("c2c_adversarial", {}),
    ("vat", {}),
    ("kl", {}),
    ("double_backprop", {}),
    ("hsfob", {"n_projections": 2}),
    ("hsfob_db2", {}),
]


@pytest.mark.parametrize(("penalty", "options"), FAMILIES)
def test_member_equals_its_own_fit(classes, penalty, options):
    base = RegularizedMLPClassifier((6,), penalty=penalty, penalty_options=options or None,
                                    max_iter=4, batch_size=16, learning_rate_init=0.01)  # fmt: skip
    _check_members_equal_own_fits(base, *classes, lambda est, X: est.predict_proba(X))


@pytest.mark.parametrize(
    "options",
    [
        dict(penalty="c2c", early_stopping=True, validation_fraction=0.2, n_iter_no_change=1),
        dict(penalty="noise", early_stopping=True, scoring=None, validation_fraction=0.2,
             n_iter_no_change=1),
        dict(penalty="vat", learning_rate="cosine"),
        dict(penalty="jacobian", learning_rate="adaptive", n_iter_no_change=1, tol=10.0),
        dict(penalty="l2", tol=0.05, n_iter_no_change=1),
    ],
)
def test_member_equals_its_own_fit_regression_schedules_and_stopping(targets, options):
    base = RegularizedMLPRegressor((6,), max_iter=12, batch_size=16, learning_rate_init=0.01,
                                   **options)  # fmt: skip
    fitted = _check_members_equal_own_fits(base, *targets, lambda est, X: est.predict(X))
    if options["penalty"] == "l2":  # members that stop at different epochs leave the pass
        assert len({member.n_iter_ for member in fitted}) > 1


def test_a_diverging_member_fails_alone(targets):
    X, y = targets
    base = RegularizedMLPRegressor((6,), normalize_y=False, max_iter=3, batch_size=16)
    huge = y * 1e20  # finite, but its squared error overflows float32
    with pytest.raises(TrainingDivergedError):
        clone(base).fit(X, huge)
    estimators = [clone(base), clone(base)]
    results = fit_members(estimators, [(X, y, None), (X, huge, None)])
    assert results[0] is estimators[0] and hasattr(estimators[0], "net_")
    assert isinstance(results[1], TrainingDivergedError)
    assert not hasattr(estimators[1], "net_")  # left as it was


def test_batchable_names_what_differs():
    base = RegularizedMLPClassifier((6,))
    assert batchable([base, clone(base).set_params(alpha=3.0, random_state=2)]) is None
    assert "hidden_layer_sizes" in batchable([base, clone(base).set_params(hidden_layer_sizes=7)])
    assert "warm_start" in batchable([clone(base).set_params(warm_start=True)] * 2)


# -- n_members on the estimators ----------------------------------------------------------------
def test_ensemble_averages_members_that_equal_their_own_fits(classes, targets):
    X, y = classes
    clf = RegularizedMLPClassifier((6,), penalty="c2c", alpha=1.0, n_members=3, max_iter=4,
                                   batch_size=16, random_state=5)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
        own = [clone(clf).set_params(n_members=1, random_state=r).fit(X, y)
               for r in member_random_states(5, 3)]  # fmt: skip
    expected = np.mean([m.predict_proba(X) for m in own], axis=0)
    np.testing.assert_allclose(clf.predict_proba(X), expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0, rtol=1e-6)
    assert clf.n_iter_ == max(m.n_iter_ for m in own)

    X, y = targets
    reg = RegularizedMLPRegressor((6,), n_members=2, max_iter=4, batch_size=16, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg.fit(X, y)
        own = [clone(reg).set_params(n_members=1, random_state=r).fit(X, y)
               for r in member_random_states(1, 2)]  # fmt: skip
    expected = np.mean([m.predict(X) for m in own], axis=0)
    np.testing.assert_allclose(reg.predict(X), expected, rtol=1e-4, atol=1e-5)


def test_one_member_is_the_plain_fit(classes):
    X, y = classes
    params = dict(hidden_layer_sizes=(6,), max_iter=3, batch_size=16, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = RegularizedMLPClassifier(**params).fit(X, y)
        one = RegularizedMLPClassifier(n_members=1, **params).fit(X, y)
    np.testing.assert_array_equal(plain.predict_proba(X), one.predict_proba(X))


@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_ensemble_refuses_to_continue_before_training(classes, how):
    X, y = classes
    clf = RegularizedMLPClassifier((6,), n_members=2, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if how == "warm_start":
            clf.fit(X, y).set_params(warm_start=True)
            before = clf.predict_proba(X)
            with pytest.raises(ValueError, match="do not continue"):
                clf.fit(X, y)
            np.testing.assert_array_equal(clf.predict_proba(X), before)
        else:
            with pytest.raises(ValueError, match="do not continue"):
                clf.partial_fit(X, y, classes=np.unique(y))
            assert not hasattr(clf, "net_")


def test_n_members_is_checked(classes):
    with pytest.raises(ValueError, match="n_members"):
        RegularizedMLPClassifier(n_members=0).fit(*classes)


# -- searches -------------------------------------------------------------------------------------
def _count_passes(monkeypatch):
    from sklearn_regpen import _members

    passes = []
    train = _members.train_members

    def counting(fits):
        passes.append(len(fits))
        return train(fits)

    monkeypatch.setattr(_members, "train_members", counting)
    return passes


def test_search_trains_each_penalty_s_candidates_and_folds_in_one_pass(classes, monkeypatch):
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sklearn_regpen.search import EnsembleSearchCV

    X, y = classes
    passes = _count_passes(monkeypatch)
    pipe = make_pipeline(StandardScaler(), RegularizedMLPClassifier((6,), max_iter=4,
                                                                    random_state=0))  # fmt: skip
    grid = [{"regularizedmlpclassifier__penalty": ["l2"],
             "regularizedmlpclassifier__alpha": [1e-4, 1e-2]},
            {"regularizedmlpclassifier__penalty": ["c2c"],
             "regularizedmlpclassifier__alpha": [10.0],
             "regularizedmlpclassifier__epsilon": [0.1, 0.3]}]  # fmt: skip
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search = EnsembleSearchCV(pipe, grid, cv=folds).fit(X, y)
        assert sorted(passes) == [6, 6]  # 2 candidates x 3 folds, per penalty
        # each fold model is its own fit: the pipeline refitted by cross_val_predict
        for params, oof in zip(search.candidate_params_, search.oof_predictions_):
            own = cross_val_predict(clone(pipe).set_params(**params), X, y, cv=folds,
                                    method="predict_proba")  # fmt: skip
            np.testing.assert_allclose(oof, own, rtol=1e-4, atol=1e-6)


def test_search_falls_back_to_separate_fits_or_one_pass_per_architecture(classes, monkeypatch):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    from sklearn_regpen.search import TopCandidatesSearchCV

    X, y = classes
    passes = _count_passes(monkeypatch)
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    grid = {"C": [0.01, 1.0]}
    ours = TopCandidatesSearchCV(LogisticRegression(), grid, top_k=1, cv=folds).fit(X, y)
    theirs = GridSearchCV(LogisticRegression(), grid, cv=folds).fit(X, y)
    for key in ["mean_test_score", "std_test_score", "rank_test_score", "split0_test_score"]:
        np.testing.assert_allclose(ours.cv_results_[key], theirs.cv_results_[key], err_msg=key)
    np.testing.assert_array_equal(ours.cv_results_["param_C"], theirs.cv_results_["param_C"])
    assert passes == []
    # networks of different architectures: one pass each, for its folds
    net = RegularizedMLPClassifier(max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        TopCandidatesSearchCV(net, {"hidden_layer_sizes": [(4,), (5,)]}, top_k=1,
                              cv=folds).fit(X, y)  # fmt: skip
    assert passes == [3, 3]


def test_a_failed_fit_scores_nan_with_a_warning(classes):
    from sklearn.exceptions import FitFailedWarning

    from sklearn_regpen.search import TopCandidatesSearchCV

    X, y = classes
    net = RegularizedMLPClassifier((6,), max_iter=2, random_state=0)
    failed = r"candidate \{'alpha': -1.0\} on fold\(s\) 0, 1, 2 of 3"
    with pytest.warns(FitFailedWarning, match=failed):
        search = TopCandidatesSearchCV(net, {"alpha": [1e-4, -1.0]}, top_k=1).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"][0])
    assert np.isnan(search.cv_results_["mean_test_score"][1])
    assert search.best_params_ == {"alpha": 1e-4}
    with pytest.raises(ValueError, match="All the 3 fits failed"):
        TopCandidatesSearchCV(net, {"alpha": [-1.0]}, top_k=1).fit(X, y)


@pytest.mark.parametrize("n_members", [1, 2])
def test_warnings_name_the_caller_not_the_package(classes, n_members):
    X, y = classes
    with pytest.warns(ConvergenceWarning) as caught:
        RegularizedMLPClassifier((6,), n_members=n_members, max_iter=1, random_state=0).fit(X, y)
    assert {record.filename for record in caught} == {__file__}


def test_a_member_with_a_last_batch_of_one_row_batches_as_its_own_fit(targets):
    """49 rows in batches of 16: the fit trains on batches of 16, 16 and 17 (a last batch of one
    row joins the one before), and so does its member in a pass beside members of other sizes."""
    X, y = targets
    base = RegularizedMLPRegressor((6,), max_iter=5, batch_size=16, learning_rate_init=0.01,
                                   early_stopping=False)  # fmt: skip
    data = [(X[:49], y[:49], None), (X, y, None)]
    estimators = [clone(base).set_params(random_state=s) for s in (1, 2)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = fit_members(estimators, data)
        for member, seed, (X_i, y_i, _) in zip(fitted, (1, 2), data):
            own = clone(base).set_params(random_state=seed).fit(X_i, y_i)
            np.testing.assert_allclose(member.loss_curve_, own.loss_curve_, rtol=1e-5)
