"""The estimators' scikit-learn face: training, parameters, searches, seeding, errors."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_regpen import RegularizedMLPClassifier, RegularizedMLPRegressor, TrainingDivergedError
from sklearn_regpen.penalties import PENALTIES, make_penalty

FAST = dict(hidden_layer_sizes=(16,), max_iter=30, random_state=0, learning_rate_init=0.01)


def own_term(name, model, X, task):
    """The penalty's own per-sample term (alpha=1), averaged on X, for a fitted model."""
    pen = make_penalty(name, alpha=1.0, epsilon=0.3, task=task)
    x = torch.as_tensor(X, dtype=torch.float32)
    y = torch.as_tensor(
        model._encoded_y, dtype=torch.long if task == "classification" else torch.float32
    )
    with torch.random.fork_rng():
        torch.manual_seed(0)
        # noise terms: average over several draws so the comparison is about the model, not one draw
        return float(np.mean([pen(model.net_.module_, x, y).item() for _ in range(20)]))


STRENGTH = {
    "l2": 1.0,
    "jacobian": 1.0,
    "logit_jacobian": 0.1,
    "noisy_jacobian": 1.0,
    "c2c": 30.0,
    "noise": 0.0,
    "c2c_adversarial": 30.0,
    "vat": 30.0,
    "kl": 30.0,
    "double_backprop": 1.0,
    "hsfob": 1.0,
    "hsfob_db1": 1.0,
    "hsfob_db2": 1.0,
}


@pytest.mark.parametrize("name", sorted(set(PENALTIES) - {"none"}))
def test_penalty_lowers_its_own_term(blobs, name):
    """Training with a penalty ends with a smaller value of that penalty than training without."""
    X, y = blobs
    X = StandardScaler().fit_transform(X)
    fitted = {}
    for penalty in ("none", name):
        model = RegularizedMLPClassifier(penalty=penalty, alpha=STRENGTH[name], epsilon=0.3, **FAST)
        model.fit(X, y)
        model._encoded_y = np.searchsorted(model.classes_, y)
        fitted[penalty] = own_term(name, model, X, "classification")
    assert fitted[name] < 0.9 * fitted["none"], fitted


@pytest.mark.parametrize("name", ["jacobian", "c2c", "noisy_jacobian"])
def test_regressor_penalty_lowers_its_own_term(regression_data, name):
    X, y = regression_data
    fitted = {}
    for penalty in ("none", name):
        model = RegularizedMLPRegressor(penalty=penalty, alpha=STRENGTH[name], epsilon=0.3, **FAST)
        model._encoded_y = y
        fitted[penalty] = own_term(name, model.fit(X, y), X, "regression")
    assert fitted[name] < 0.9 * fitted["none"], fitted


def test_classifier_learns(blobs):
    X, y = blobs
    clf = RegularizedMLPClassifier(random_state=0)
    # on 5 held-out folds, scikit-learn's MLPClassifier() scores 0.78 on this table
    assert cross_val_score(clf, X, y, cv=5).mean() > 0.75
    clf.fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(np.log(proba), clf.predict_log_proba(X), atol=1e-6)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(1)])


def test_regressor_single_and_multi_output(regression_data):
    X, Y = regression_data
    multi = RegularizedMLPRegressor(hidden_layer_sizes=(32,), random_state=0).fit(X, Y)
    assert multi.predict(X).shape == Y.shape and multi.n_outputs_ == 2
    assert multi.score(X, Y) > 0.9
    single = RegularizedMLPRegressor(hidden_layer_sizes=(32,), random_state=0).fit(X, Y[:, 0])
    assert single.predict(X).shape == (len(X),)
    assert single.score(X, Y[:, 0]) > 0.9


def test_string_labels_and_dataframe(blobs):
    X, y = blobs
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    labels = np.array(["cat", "dog", "eel"])[y]
    clf = RegularizedMLPClassifier(**FAST).fit(frame, labels)
    assert list(clf.classes_) == ["cat", "dog", "eel"]
    assert list(clf.feature_names_in_) == list(frame.columns)
    assert set(clf.predict(frame)) <= {"cat", "dog", "eel"}


def test_same_random_state_same_predictions_and_global_rng_untouched(blobs):
    X, y = blobs
    before = torch.random.get_rng_state()
    a = RegularizedMLPClassifier(penalty="c2c", alpha=1.0, **FAST).fit(X, y).predict_proba(X)
    b = RegularizedMLPClassifier(penalty="c2c", alpha=1.0, **FAST).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert torch.equal(before, torch.random.get_rng_state())
    c = RegularizedMLPClassifier(penalty="c2c", alpha=1.0, **{**FAST, "random_state": 1})
    assert not np.array_equal(a, c.fit(X, y).predict_proba(X))


def test_input_arrays_are_not_modified(blobs):
    X, y = blobs
    X32, y_copy = X.astype(np.float32), y.copy()
    X32_copy = X32.copy()
    RegularizedMLPClassifier(penalty="noise", epsilon=0.5, **FAST).fit(X32, y).predict(X32)
    np.testing.assert_array_equal(X32, X32_copy)
    np.testing.assert_array_equal(y, y_copy)


def test_get_set_params_and_clone():
    clf = RegularizedMLPClassifier(
        penalty="jacobian", alpha=0.3, epsilon=0.2, hidden_layer_sizes=(8, 4)
    )
    params = clf.get_params()
    assert params["penalty"] == "jacobian" and params["alpha"] == 0.3 and params["epsilon"] == 0.2
    assert clf.set_params(alpha=0.5) is clf and clf.alpha == 0.5
    twin = clone(clf)
    assert twin is not clf and twin.get_params() == clf.get_params()
    assert not any(k.endswith("_") for k in vars(twin))


def test_clone_of_fitted_is_unfitted(blobs):
    X, y = blobs
    fitted = RegularizedMLPClassifier(**FAST).fit(X, y)
    twin = clone(fitted)
    assert not hasattr(twin, "net_") and twin.get_params() == fitted.get_params()


def test_grid_search_in_pipeline(blobs):
    X, y = blobs
    pipe = Pipeline([("scale", StandardScaler()), ("net", RegularizedMLPClassifier(**FAST))])
    grid = {"net__penalty": ["none", "c2c"], "net__alpha": [0.1, 1.0], "net__epsilon": [0.1, 0.3]}
    search = GridSearchCV(pipe, grid, cv=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 8
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_estimator_.named_steps["net"].penalty in {"none", "c2c"}
    assert search.score(X, y) > 0.5


@pytest.mark.parametrize(
    "params, match",
    [
        ({"penalty": "jacobain"}, "'penalty' parameter"),
        ({"alpha": -0.1}, "'alpha' parameter"),
        ({"epsilon": -1.0}, "'epsilon' parameter"),
        ({"alpha": "strong"}, "'alpha' parameter"),
        ({"hidden_layer_sizes": (10, 0)}, "hidden_layer_sizes"),
        ({"penalty": "c2c", "epsilon": 0.0}, "epsilon must be > 0"),
        ({"device": "tpu"}, "device must be 'auto', 'cpu', 'cuda'"),
        ({"learning_rate": "linear"}, "'learning_rate' parameter"),
    ],
)
def test_bad_parameters_raise_before_training(blobs, params, match):
    X, y = blobs
    clf = RegularizedMLPClassifier(**{**FAST, **params})
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
    assert not hasattr(clf, "net_") and not hasattr(clf, "n_features_in_")


def test_one_class_is_refused(blobs):
    X, _ = blobs
    with pytest.raises(ValueError, match="at least 2 classes"):
        RegularizedMLPClassifier(**FAST).fit(X, np.zeros(len(X)))


def test_divergence_stops_with_a_clear_error(regression_data):
    X, y = regression_data
    reg = RegularizedMLPRegressor(
        hidden_layer_sizes=(16, 16), learning_rate_init=1e6, max_iter=50, random_state=0
    )
    with pytest.raises(TrainingDivergedError, match="smaller alpha or learning_rate_init"):
        reg.fit(X, y)
    assert not hasattr(reg, "net_") and not hasattr(reg, "n_features_in_")


def test_early_stopping_keeps_the_best_epoch(blobs):
    X, y = blobs
    clf = RegularizedMLPClassifier(
        early_stopping=True, n_iter_no_change=3, **{**FAST, "max_iter": 200}
    )
    clf.fit(X, y)
    assert clf.n_iter_ < 200
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert len(clf.loss_curve_) == len(clf.validation_scores_) == clf.n_iter_


def _spy_on_validation(monkeypatch, cls):
    """Record each validation call's (outputs, targets, weights, score)."""
    seen, original = [], cls._score_outputs

    def spy(self, outputs, targets, sample_weight=None):
        score = original(self, outputs, targets, sample_weight)
        seen.append((outputs, targets, sample_weight, score))
        return score

    monkeypatch.setattr(cls, "_score_outputs", spy)
    return seen


def test_early_stopping_on_the_loss_scores_minus_the_held_out_log_loss(blobs, monkeypatch):
    from scipy.special import softmax
    from sklearn.metrics import log_loss

    X, y = blobs
    seen = _spy_on_validation(monkeypatch, RegularizedMLPClassifier)
    weights = np.linspace(0.5, 2.0, len(y))
    clf = RegularizedMLPClassifier(early_stopping=True, scoring="loss", **FAST)
    clf.fit(X, y, sample_weight=weights)
    assert len(seen) == clf.n_iter_ == len(clf.validation_scores_)
    for (outputs, targets, w, score), recorded in zip(seen, clf.validation_scores_):
        expected = log_loss(targets, softmax(outputs, axis=1), sample_weight=w, labels=[0, 1, 2])
        assert score == pytest.approx(-expected, rel=1e-6) and recorded == score
    assert clf.best_validation_score_ == max(clf.validation_scores_) < 0
    # scoring=None scores the same held-out rows by their accuracy
    seen.clear()
    RegularizedMLPClassifier(early_stopping=True, scoring=None, **FAST).fit(X, y, weights)
    outputs, targets, w, score = seen[0]
    np.testing.assert_array_equal(targets, seen[0][1])
    assert score == pytest.approx(np.average(outputs.argmax(axis=1) == targets, weights=w))


def test_early_stopping_on_the_loss_skips_unlabelled_rows_and_sums_a_regressors_outputs(
    regression_data,
):
    clf = RegularizedMLPClassifier(scoring="loss", semi_supervised=True)
    outputs = np.array([[2.0, 0.0], [0.0, 1.0], [5.0, -5.0]])
    targets = np.array([0, -1, 1])
    # the unlabelled row (-1) has no loss; the others: log(1 + e^-2) and log(1 + e^10)
    expected = -np.mean([np.log1p(np.exp(-2.0)), np.log1p(np.exp(10.0))])
    assert clf._score_outputs(outputs, targets) == pytest.approx(expected)
    reg = RegularizedMLPRegressor(scoring="loss")
    outputs, targets = np.array([[1.0, 2.0], [0.0, 0.0]]), np.array([[0.0, 0.0], [3.0, 1.0]])
    # half the squared error, summed over the outputs, averaged over the rows (weights 1 and 3)
    halves = np.array([0.5 * (1 + 4), 0.5 * (9 + 1)])
    weights = np.array([1.0, 3.0])
    assert reg._score_outputs(outputs, targets, weights) == pytest.approx(
        -np.average(halves, weights=weights)
    )


def test_early_stopping_on_the_loss_goes_on_while_the_accuracy_is_flat(blobs, monkeypatch):
    """On an easy table the held-out accuracy stops moving early, while the log-loss still falls
    for many epochs: the two scorings stop at different epochs, the loss later."""
    X, y = blobs
    settings = {**FAST, "max_iter": 300, "early_stopping": True, "n_iter_no_change": 5}
    on_loss = RegularizedMLPClassifier(scoring="loss", **settings).fit(X, y)
    on_accuracy = RegularizedMLPClassifier(scoring=None, **settings).fit(X, y)
    assert on_loss.n_iter_ > on_accuracy.n_iter_
    assert len(set(on_loss.validation_scores_)) == on_loss.n_iter_  # every epoch tells apart


def test_stops_when_loss_plateaus_and_warns_otherwise(blobs):
    X, y = blobs
    on_loss = {**FAST, "early_stopping": False}  # the training loss stops the fit
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        RegularizedMLPClassifier(**{**on_loss, "max_iter": 2}).fit(X, y)
    converged = RegularizedMLPClassifier(**{**on_loss, "max_iter": 2000, "tol": 1e-2}).fit(X, y)
    assert converged.n_iter_ < 2000 and converged.best_loss_ == min(converged.loss_curve_)


def test_adaptive_learning_rate_divides_by_five_on_each_stall(blobs):
    X, y = blobs
    settings = {**FAST, "max_iter": 2000, "tol": 1e-2, "n_iter_no_change": 2,
                "learning_rate_init": 1e-5}
    constant = RegularizedMLPClassifier(**settings).fit(X, y)
    assert constant.net_.optimizer_.param_groups[0]["lr"] == 1e-5
    adaptive = RegularizedMLPClassifier(learning_rate="adaptive", **settings).fit(X, y)
    # 1e-5 stalls, 2e-6 stalls, 4e-7 is at most 1e-6: the third stall stops training
    assert adaptive.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(1e-5 / 25)
    assert adaptive.n_iter_ >= 3 * (settings["n_iter_no_change"] + 1) > constant.n_iter_
    assert adaptive.n_iter_ < settings["max_iter"]
    # every parameter group (the decayed weights and the biases) moves together
    rates = [group["lr"] for group in adaptive.net_.optimizer_.param_groups]
    assert len(rates) == 2 and rates == pytest.approx([4e-7, 4e-7])
    # the rate starts again from learning_rate_init on the next fit
    adaptive.set_params(max_iter=1).fit(X, y)
    assert adaptive.net_.optimizer_.param_groups[0]["lr"] == 1e-5


def test_verbose_prints_progress(blobs, capsys):
    X, y = blobs
    RegularizedMLPClassifier(verbose=True, **{**FAST, "max_iter": 3}).fit(X, y)
    assert "Iteration 3, loss = " in capsys.readouterr().out


def test_predict_checks_features(blobs):
    X, y = blobs
    clf = RegularizedMLPClassifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :3])


@pytest.fixture
def threads_seen(monkeypatch):
    """torch's thread count at the start of each fit's epochs."""
    seen = []
    original = RegularizedMLPClassifier._run

    def spy(self, *args):
        seen.append(torch.get_num_threads())
        return original(self, *args)

    monkeypatch.setattr(RegularizedMLPClassifier, "_run", spy)
    return seen


def test_n_threads_applies_during_fit_and_is_restored(blobs, threads_seen):
    X, y = blobs
    seen = threads_seen
    before = torch.get_num_threads()
    RegularizedMLPClassifier(n_threads=1, **FAST).fit(X, y)
    assert seen == [1] and torch.get_num_threads() == before
    # "auto": one thread for a small network; None leaves torch alone
    assert RegularizedMLPClassifier().get_params()["n_threads"] == "auto"
    RegularizedMLPClassifier(**FAST).fit(X, y)
    RegularizedMLPClassifier(n_threads=None, **FAST).fit(X, y)
    assert seen[1:] == [1, before] and torch.get_num_threads() == before


def test_auto_threads_use_torchs_count_for_large_steps(threads_seen):
    """A step of at least 50 MFLOP (here 784-512-512-3, 64 rows: about 0.26 GFLOP) gets torch's
    own thread count, as a fit in a plain process should; joblib and Dask workers set that count
    to their share of the cores."""
    seen = threads_seen
    rng = np.random.default_rng(0)
    X, y = rng.random((64, 784)), np.arange(64) % 3
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        clf = RegularizedMLPClassifier((512, 512), max_iter=1, random_state=0).fit(X, y)
        RegularizedMLPClassifier((8,), max_iter=1, random_state=0).fit(X, y)
    finally:
        torch.set_num_threads(previous)
    assert seen == [2, 1]
    assert clf.predict(X).shape == (64,)
