"""Inputs a new user gets wrong, or combinations nobody tried: each test holds one cause that a
hostile battery found (a silently wrong result, or a traceback where a message was due)."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import GroupKFold

from sklearn_regpen import RegularizedMLPClassifier, RegularizedNetClassifier
from sklearn_regpen.search import EnsembleSearchCV, TopCandidatesSearchCV

FAST = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0)


@pytest.fixture(scope="module")
def table():
    return make_classification(n_samples=120, n_features=6, n_informative=4, random_state=0)


# -- searches: groups, failed candidates ---------------------------------------------------------
def _group_pure(folds, groups):
    return all(not set(groups[train]) & set(groups[test]) for train, test in folds)


def test_top_candidates_splits_on_groups_and_refits_without_them(table):
    X, y = table
    groups = np.arange(len(y)) % 4
    search = TopCandidatesSearchCV(RegularizedMLPClassifier(**FAST), {"alpha": [1e-4, 1.0]},
                                   top_k=2, cv=GroupKFold(4))  # fmt: skip
    search.fit(X, y, groups=groups)  # GroupKFold raises without groups; the refit took none
    assert len(search.estimators_) == 2
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_ensemble_search_splits_on_groups(table, monkeypatch):
    X, y = table
    groups = np.arange(len(y)) % 4
    seen = []
    original = GroupKFold.split

    def spy(self, X, y=None, groups=None):
        folds = list(original(self, X, y, groups))
        seen.append(_group_pure(folds, np.arange(len(y)) % 4))
        return iter(folds)

    monkeypatch.setattr(GroupKFold, "split", spy)
    search = EnsembleSearchCV(RegularizedMLPClassifier(**FAST), {"alpha": [1e-4, 1.0]},
                              cv=GroupKFold(4)).fit(X, y, groups=groups)  # fmt: skip
    assert seen == [True]
    assert len(search.estimators_) >= 4


def test_ensemble_search_survives_a_failed_candidate(table):
    X, y = table
    grid = {"alpha": [1e-4, -1.0]}  # -1 is refused by every fit
    with pytest.warns(FitFailedWarning, match="alpha"):
        search = EnsembleSearchCV(RegularizedMLPClassifier(**FAST), grid).fit(X, y)
    assert np.isnan(search.candidate_scores_[1]) and np.isfinite(search.candidate_scores_[0])
    assert search.weights_[1] == 0 and search.weights_[0] == 1
    assert search.best_params_ == {"alpha": 1e-4}
    assert np.isfinite(search.ensemble_score_)
    assert search.predict_proba(X[:3]).shape == (3, 2)


def test_top_candidates_survive_a_failed_candidate(table):
    X, y = table
    grid = {"alpha": [-1.0, 1e-4]}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search = TopCandidatesSearchCV(RegularizedMLPClassifier(**FAST), grid, top_k=2).fit(X, y)
    kinds = {type(w.message) for w in caught}
    assert FitFailedWarning in kinds and UserWarning in kinds  # "only 1 candidate(s) ..."
    assert search.top_params_ == [{"alpha": 1e-4}]
    assert np.isfinite(search.best_score_)
    np.testing.assert_allclose(search.predict_proba(X[:3]).sum(axis=1), 1)


class _FailsOnAllRows(RegularizedMLPClassifier):
    """Fits on folds; its refit on all 120 rows fails when alpha is 1."""

    def fit(self, X, y, sample_weight=None):
        if len(X) == 120 and self.alpha == 1.0:
            raise RuntimeError("out of memory")
        return super().fit(X, y, sample_weight=sample_weight)


def test_top_candidates_pass_over_a_failed_refit(table):
    X, y = table
    search = TopCandidatesSearchCV(_FailsOnAllRows(**FAST), {"alpha": [1e-4, 1.0, 10.0]},
                                   top_k=2)  # fmt: skip
    failed = r"refit of candidate \{'alpha': 1.0\}.*out of memory"
    with pytest.warns(FitFailedWarning, match=failed):
        search.fit(X, y)
    assert len(search.estimators_) == 2 and {"alpha": 1.0} not in search.top_params_


@pytest.mark.filterwarnings("ignore:One or more of the test scores are non-finite")
def test_searches_refuse_to_succeed_without_any_score(table):
    X, y = table

    def nan_scorer(estimator, X, y):
        return np.nan

    top = TopCandidatesSearchCV(RegularizedMLPClassifier(**FAST), {"alpha": [1e-4, 1.0]},
                                top_k=1, scoring=nan_scorer)  # fmt: skip
    with pytest.raises(ValueError, match="No candidate has a cross-validation score"):
        top.fit(X, y)
    ensemble = EnsembleSearchCV(RegularizedMLPClassifier(**FAST), {"alpha": [-1.0, -2.0]})
    with pytest.raises(ValueError, match="No candidate"), pytest.warns(FitFailedWarning):
        ensemble.fit(X, y)


# -- continued fits: the optimizer as asked, parameters that are arrays ----------------------------
NET = dict(module__hidden_layer_sizes=(8,), max_iter=2, random_state=0)


def _adam_steps(est):
    return max(int(state["step"]) for state in est.net_.optimizer_.state.values())


def test_warm_start_builds_the_optimizer_the_parameters_ask_for(table):
    X, y = table
    clf = RegularizedNetClassifier(warm_start=True, **NET).fit(X, y)
    assert isinstance(clf.net_.optimizer_, torch.optim.Adam)
    clf.set_params(optimizer=torch.optim.SGD, optimizer__momentum=0.9).fit(X, y)
    assert isinstance(clf.net_.optimizer_, torch.optim.SGD)
    assert clf.net_.optimizer_.defaults["momentum"] == 0.9
    clf.set_params(optimizer__momentum=0.5, optimizer__nesterov=True).fit(X, y)
    assert clf.net_.optimizer_.defaults["momentum"] == 0.5
    assert clf.net_.optimizer_.defaults["nesterov"] is True


def test_partial_fit_keeps_the_optimizer_state_until_its_parameters_change(table):
    X, y = table
    clf = RegularizedNetClassifier(batch_size=60, **NET)
    clf.partial_fit(X, y, classes=[0, 1]).partial_fit(X, y)
    assert _adam_steps(clf) == 4  # two epochs of two steps: the state carried on
    clf.set_params(optimizer__betas=(0.5, 0.9)).partial_fit(X, y)
    assert _adam_steps(clf) == 2  # a fresh Adam, with the new betas
    assert clf.net_.optimizer_.defaults["betas"] == (0.5, 0.9)


class _Scaled(torch.nn.Module):
    """A linear model on inputs scaled by a fixed array: an array-valued module argument."""

    def __init__(self, n_features, n_outputs, scale):
        super().__init__()
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))
        self.linear = torch.nn.Linear(n_features, n_outputs)

    def forward(self, x):
        return self.linear(x * self.scale)


@pytest.mark.parametrize("scale", [np.ones(6), torch.ones(6)], ids=["array", "tensor"])
def test_array_module_arguments_allow_continued_fits(table, scale):
    X, y = table
    clf = RegularizedNetClassifier(_Scaled, module__scale=scale, max_iter=2, warm_start=True,
                                   random_state=0).fit(X, y)  # fmt: skip
    clf.fit(X, y).partial_fit(X, y)
    assert clf.n_iter_ == 5
    clf.set_params(module__scale=2 * scale)
    with pytest.raises(ValueError, match="module__scale"):
        clf.fit(X, y)
    assert clf.n_iter_ == 5


# -- semi-supervised: rows the data loss can use ---------------------------------------------------
SEMI = dict(penalty="c2c", semi_supervised=True, hidden_layer_sizes=(8,), max_iter=3,
            random_state=0)


@pytest.fixture(scope="module")
def ten_labelled(table):
    X, y = table
    y = y.copy()
    y[10:] = -1
    return X, y


def test_early_stopping_refuses_a_validation_split_without_labels(ten_labelled):
    X, y = ten_labelled
    clf = RegularizedMLPClassifier(early_stopping=True, validation_fraction=0.03, **SEMI)
    with pytest.raises(ValueError, match="no labelled row for validation"):
        clf.fit(X, y)
    assert not hasattr(clf, "net_")
    clf.set_params(validation_fraction=0.2).fit(X, y)
    assert np.isfinite(clf.validation_scores_).all()


@pytest.mark.parametrize("how", ["sample_weight", "class_weight"])
def test_zero_weight_on_every_labelled_row_is_refused(ten_labelled, how):
    X, y = ten_labelled
    weights = np.where(y >= 0, 0.0, 1.0)
    clf = RegularizedMLPClassifier(**SEMI)
    if how == "class_weight":
        clf.set_params(class_weight={0: 0.0, 1: 0.0})
        weights = None
    with pytest.raises(ValueError, match=f"^{how} is zero for every labelled row"):
        clf.fit(X, y, sample_weight=weights)
    assert not hasattr(clf, "net_")


# -- messages: mistakes named before training ------------------------------------------------------
@pytest.mark.parametrize(
    "params, match",
    [
        ({"module__hiden": (8,)},
         r"module__hiden: MLP takes no argument 'hiden'\. Did you mean module__hidden_layer_sizes"),
        ({"optimizer": torch.optim.SGD, "optimizer__momentun": 0.9},
         r"optimizer__momentun: SGD .* Did you mean optimizer__momentum\? Its arguments: "
         r"optimizer__momentum, optimizer__dampening"),
        ({"module__hidden_layer_sizes": [-3]},
         r"building the module MLP from .*module__hidden_layer_sizes=\[-3\] failed"),
        ({"optimizer": torch.optim.SGD, "optimizer__momentum": -1},
         r"building the optimizer SGD from optimizer__momentum=-1 failed"),
        ({"optimizer": torch.optim.LBFGS},
         r"optimizer=LBFGS cannot train here: it needs a closure"),
        ({"optimizer": torch.optim.SparseAdam},
         r"optimizer=SparseAdam cannot train here: it takes sparse gradients only"),
    ],
    ids=["module-name", "optimizer-name", "module-value", "optimizer-value", "lbfgs", "sparseadam"],
)
def test_module_and_optimizer_mistakes_are_named(table, params, match):
    X, y = table
    clf = RegularizedNetClassifier(max_iter=1, **params)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
    assert not hasattr(clf, "net_")


def test_skorch_param_groups_still_reach_the_optimizer(table):
    X, y = table
    clf = RegularizedNetClassifier(optimizer=torch.optim.SGD, optimizer__momentum=0.9,
                                   optimizer__param_groups=[("*bias", {"momentum": 0.5})],
                                   max_iter=1).fit(X, y)  # fmt: skip
    momenta = sorted(group["momentum"] for group in clf.net_.optimizer_.param_groups)
    assert momenta[0] == 0.5 and momenta[-1] == 0.9


class _Pooled(torch.nn.Module):
    """Averages the batch into one row of logits: (1, K) for any batch."""

    def __init__(self, n_features, n_outputs):
        super().__init__()
        self.linear = torch.nn.Linear(n_features, n_outputs)

    def forward(self, x):
        return self.linear(x).mean(dim=0, keepdim=True)


def test_outputs_with_one_row_for_a_batch_are_refused(table):
    X, y = table
    with pytest.raises(ValueError, match=r"outputs of shape \(1, 2\) for a batch of X of shape "
                                         r"\(2, 6\).*must return \(n_rows, 2\)"):  # fmt: skip
        RegularizedNetClassifier(_Pooled, max_iter=1).fit(X, y)


class _TinyCNN(torch.nn.Module):
    def __init__(self, n_outputs):
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.Conv2d(1, 2, 3, padding=1),
            torch.nn.Flatten(),
            torch.nn.Linear(2 * 16, n_outputs),
        )

    def forward(self, x):
        return self.layers(x)


def test_flattened_rows_on_an_image_model_get_the_shape_expected(table):
    rng = np.random.default_rng(0)
    images, labels = rng.random((40, 1, 4, 4)), np.arange(40) % 2
    clf = RegularizedNetClassifier(_TinyCNN, max_iter=1, random_state=0).fit(images, labels)
    expected = (r"rows of shape \(16,\), but RegularizedNetClassifier was fitted on rows of "
                r"shape \(1, 4, 4\).*reshape\(-1, 1, 4, 4\)")
    with pytest.raises(ValueError, match=expected):
        clf.predict(images.reshape(40, 16))
    with pytest.raises(ValueError, match=r"rows of shape \(16,\).*\(1, 4, 4\)"):
        clf.set_params(warm_start=True).fit(images.reshape(40, 16), labels)


def test_weights_beyond_float32_are_refused_before_training(table):
    X, y = table
    weights = np.ones(len(y))
    weights[0] = 1e39
    clf = RegularizedMLPClassifier(**FAST)
    with pytest.raises(ValueError, match=r"sample_weight sums to 1e\+39, beyond float32's range"):
        clf.fit(X, y, sample_weight=weights)
    assert not hasattr(clf, "net_")


def test_tensors_that_require_grad_are_read_as_data(table):
    X, y = table
    x = torch.tensor(X, dtype=torch.float32, requires_grad=True)
    clf = RegularizedMLPClassifier(**FAST).fit(x, torch.tensor(y))
    reference = RegularizedMLPClassifier(**FAST).fit(x.detach().numpy(), y)
    expected = reference.predict_proba(X.astype(np.float32))
    np.testing.assert_array_equal(clf.predict_proba(x), expected)
    assert x.grad is None and x.requires_grad
