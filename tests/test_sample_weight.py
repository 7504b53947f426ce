"""``sample_weight``: what a weight means, checked as identities, and its way through routing.

A row of weight ``w`` counts as ``w`` copies of it in the data loss, in the penalty's term and in
weight decay (``alpha / sum(w)``, as scikit-learn's MLP): with the whole data in one batch,
integer weights and repeated rows give the same objective, so the same model up to float32
rounding. All-ones weights are no weights; rows of weight 0 are dropped before training.
"""

import numpy as np
import pytest
import sklearn
import torch
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_regpen import RegularizedMLPClassifier, RegularizedMLPRegressor
from sklearn_regpen._objective import Objective
from sklearn_regpen.penalties import make_penalty

FAST = dict(hidden_layer_sizes=(16,), max_iter=20, random_state=0, learning_rate_init=0.01)
PENALTIES = [("none", {}), ("l2", {"alpha": 0.1}), ("jacobian", {"alpha": 0.1}),
             ("c2c", {"alpha": 1.0, "epsilon": 0.2})]  # fmt: skip


@pytest.mark.parametrize("penalty, knobs", PENALTIES)
def test_all_ones_weights_are_no_weights(blobs, penalty, knobs):
    X, y = blobs
    params = dict(penalty=penalty, **knobs, **FAST)
    plain = RegularizedMLPClassifier(**params).fit(X, y)
    ones = RegularizedMLPClassifier(**params).fit(X, y, sample_weight=np.ones(len(y)))
    np.testing.assert_allclose(ones.predict_proba(X), plain.predict_proba(X), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("penalty, knobs", PENALTIES)
def test_zero_weight_rows_have_no_effect(blobs, penalty, knobs):
    X, y = blobs
    weights = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    weights[::3] = 0.0
    params = dict(penalty=penalty, **knobs, **FAST)
    with_zeros = RegularizedMLPClassifier(**params).fit(X, y, sample_weight=weights)
    keep = weights > 0
    without = RegularizedMLPClassifier(**params).fit(X[keep], y[keep], sample_weight=weights[keep])
    np.testing.assert_array_equal(with_zeros.predict_proba(X), without.predict_proba(X))


@pytest.mark.parametrize("penalty, knobs", PENALTIES[:3])  # c2c draws its noise per row
@pytest.mark.parametrize("estimator", [RegularizedMLPClassifier, RegularizedMLPRegressor])
def test_integer_weights_are_repeated_rows(penalty, knobs, estimator):
    """scikit-learn's sample-weight equivalence, at float32's tolerance (its own check's 1e-7 is
    below float32 rounding over 30 epochs), with one batch holding the whole data."""
    rng = np.random.default_rng(42)
    X = rng.random((15, 6))
    y = rng.integers(0, 3, 15) if estimator is RegularizedMLPClassifier else rng.normal(size=15)
    weights = rng.integers(0, 5, 15)
    # every row trains (the regressor's default early stopping draws validation rows)
    params = dict(penalty=penalty, **knobs, **{**FAST, "max_iter": 30}, early_stopping=False)
    weighted = estimator(**params).fit(X, y, sample_weight=weights)
    repeated = estimator(**params).fit(X.repeat(weights, axis=0), y.repeat(weights))
    np.testing.assert_allclose(weighted.predict(X) if estimator is RegularizedMLPRegressor
                               else weighted.predict_proba(X),
                               repeated.predict(X) if estimator is RegularizedMLPRegressor
                               else repeated.predict_proba(X), rtol=1e-5, atol=1e-6)  # fmt: skip


def test_the_objective_weights_every_part():
    """Data loss, term and decay are weighted means: a weight of 2 is a repeated row."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3))
    net = net.double()
    x, y = torch.randn(6, 4, dtype=torch.float64), torch.tensor([0, 1, 2, 0, 1, 2])
    w = torch.tensor([1.0, 2.0, 0.0, 1.0, 3.0, 1.0], dtype=torch.float64)
    rows = torch.arange(6).repeat_interleave(w.long())
    for name in ("none", "l2", "jacobian", "hsfob_db1"):
        objective = Objective(make_penalty(name, alpha=0.3, n_projections=None)
                              if name in ("jacobian", "hsfob_db1") else
                              make_penalty(name, alpha=0.3))  # fmt: skip
        weighted, _ = objective.loss(net, x, y, w)
        repeated, _ = objective.loss(net, x[rows], y[rows])
        torch.testing.assert_close(weighted, repeated, rtol=1e-12, atol=1e-12)


def test_weights_move_the_model(blobs):
    """Heavier rows of one class pull the predictions towards it."""
    X, y = blobs
    heavy = np.where(y == 2, 20.0, 1.0)
    plain = RegularizedMLPClassifier(**FAST).fit(X, y)
    weighted = RegularizedMLPClassifier(**FAST).fit(X, y, sample_weight=heavy)
    assert (weighted.predict(X) == 2).sum() > (plain.predict(X) == 2).sum()


def test_early_stopping_scores_with_the_weights(blobs, monkeypatch):
    X, y = blobs
    seen = []
    original = RegularizedMLPClassifier._score_outputs

    def spy(self, outputs, targets, sample_weight=None):
        seen.append(sample_weight)
        return original(self, outputs, targets, sample_weight)

    monkeypatch.setattr(RegularizedMLPClassifier, "_score_outputs", spy)
    weights = np.arange(1, len(y) + 1, dtype=float)
    RegularizedMLPClassifier(early_stopping=True, **FAST).fit(X, y, sample_weight=weights)
    assert seen and all(w is not None and len(w) == 24 for w in seen)  # 10% of 240 rows
    assert set(seen[0]) <= set(weights)


@pytest.mark.parametrize(
    "weights, match",
    [
        (-np.ones(240), "finite and non-negative"),
        (np.full(240, np.nan), "finite and non-negative"),
        (np.ones(10), "1-D array of 240 numbers"),
        (np.ones((240, 2)), "1-D array of 240 numbers"),
        (np.zeros(240), "zero for every row"),
        (np.array(["a"] * 240), "1-D array of 240 numbers"),
    ],
)
def test_bad_weights_are_refused_before_training(blobs, monkeypatch, weights, match):
    X, y = blobs

    def no_training(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(RegularizedMLPClassifier, "_run", no_training)
    given = weights.copy()
    with pytest.raises(ValueError, match=match):
        RegularizedMLPClassifier(**FAST).fit(X, y, sample_weight=weights)
    np.testing.assert_array_equal(weights, given)  # nothing passed in is modified


def test_partial_fit_takes_weights(blobs):
    X, y = blobs
    clf = RegularizedMLPClassifier(**FAST)
    clf.partial_fit(X, y, classes=[0, 1, 2], sample_weight=np.ones(len(y)))
    clf.partial_fit(X, y, sample_weight=np.where(y == 0, 2.0, 1.0))
    assert clf.n_iter_ == 2


def test_metadata_routing_through_pipeline_and_grid_search(blobs):
    X, y = blobs
    weights = np.where(y == 2, 5.0, 1.0)
    with sklearn.config_context(enable_metadata_routing=True):
        net = RegularizedMLPClassifier(**FAST).set_fit_request(sample_weight=True)
        net.set_score_request(sample_weight=True)  # the search scores with the weights too
        pipe = make_pipeline(StandardScaler().set_fit_request(sample_weight=False), net)
        search = GridSearchCV(pipe, {"regularizedmlpclassifier__alpha": [0.1]}, cv=2)
        search.fit(X, y, sample_weight=weights)
        assert np.isfinite(search.best_score_)
    # the refitted best model is the one a direct fit with the weights gives
    direct = make_pipeline(StandardScaler(), RegularizedMLPClassifier(**FAST))
    direct.fit(X, y, regularizedmlpclassifier__sample_weight=weights)
    np.testing.assert_array_equal(search.predict_proba(X), direct.predict_proba(X))
