"""The rest of the scikit-learn contract: continuing fits, persistence, pipelines, bad input.

Each bad-input case here is a row of the "Bad input" page of the user guide
(docs/user_guide/bad_input.md).
"""

import io
import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from skorch.exceptions import DeviceWarning

from sklearn_regpen import (
    RegularizedMLPClassifier,
    RegularizedMLPRegressor,
    TrainingLossClimbWarning,
)
from sklearn_regpen._training import PenalizedNet

FAST = dict(hidden_layer_sizes=(16,), max_iter=20, random_state=0, learning_rate_init=0.01)


# -- continuing fits -------------------------------------------------------------------------------
def test_warm_start_continues_from_the_previous_weights(blobs):
    X, y = blobs
    warm = RegularizedMLPClassifier(warm_start=True, **FAST).fit(X, y)
    first_curve = list(warm.loss_curve_)
    weights = warm.net_.module_.layers[0].weight.detach().clone()
    warm.fit(X, y)
    assert warm.n_iter_ == 2 * FAST["max_iter"]
    assert warm.loss_curve_[: len(first_curve)] == first_curve
    # the second fit starts where the first ended: its first epoch beats the first fit's first
    assert warm.loss_curve_[len(first_curve)] < first_curve[0]
    assert not torch.equal(weights, warm.net_.module_.layers[0].weight)
    cold = RegularizedMLPClassifier(**FAST).fit(X, y).fit(X, y)
    assert cold.n_iter_ == FAST["max_iter"]


def test_partial_fit_runs_one_epoch_per_call_and_needs_classes_first(blobs):
    X, y = blobs
    clf = RegularizedMLPClassifier(**FAST)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:100], y[:100], classes=[0, 1, 2])
    for _ in range(9):
        clf.partial_fit(X, y)
    assert clf.n_iter_ == 10 and len(clf.loss_curve_) == 10
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    with pytest.raises(ValueError, match="labels not in classes_"):
        clf.partial_fit(X, y + 5)


def test_partial_fit_classes_can_be_absent_from_the_first_batch(blobs):
    X, y = blobs
    clf = RegularizedMLPClassifier(**FAST).partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    assert clf.predict_proba(X).shape == (len(X), 3)


def test_regressor_partial_fit(regression_data):
    X, y = regression_data
    reg = RegularizedMLPRegressor(**FAST)
    for _ in range(5):
        reg.partial_fit(X, y)
    assert reg.n_iter_ == 5 and reg.predict(X).shape == y.shape
    with pytest.raises(ValueError, match="outputs"):
        reg.partial_fit(X, y[:, 0])


def test_keyboard_interrupt_keeps_the_last_good_epoch(blobs, monkeypatch):
    X, y = blobs
    calls = {"n": 0}
    original = PenalizedNet.fit_loop

    def interrupted_on_third_epoch(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(PenalizedNet, "fit_loop", interrupted_on_third_epoch)
    clf = RegularizedMLPClassifier(**FAST)
    with pytest.warns(UserWarning, match="keeps the weights of epoch 2"):
        with pytest.raises(KeyboardInterrupt):
            clf.fit(X, y)
    assert clf.n_iter_ == 2
    assert np.all(np.isfinite(clf.predict_proba(X)))


def test_a_late_loss_spike_does_not_leave_the_worst_weights(blobs, monkeypatch):
    """Without early stopping the lowest-training-loss epoch's weights are kept: a spike in the
    last epochs (seen with vat on a one-hot table) must not be what the model predicts with."""
    X, y = blobs
    calls = {"n": 0}
    original = PenalizedNet.fit_loop

    def spoiled_after_fourth_epoch(self, *args, **kwargs):
        calls["n"] += 1
        result = original(self, *args, **kwargs)
        if calls["n"] > 4:  # wreck the weights and report the loss such weights would have
            with torch.no_grad():
                for p in self.module_.parameters():
                    p.mul_(-50.0)
            self.history.record("train_loss", 1e3 + calls["n"])
        return result

    monkeypatch.setattr(PenalizedNet, "fit_loop", spoiled_after_fourth_epoch)
    clf = RegularizedMLPClassifier(**{**FAST, "max_iter": 50, "n_iter_no_change": 3})
    with pytest.warns(TrainingLossClimbWarning, match="at epoch 8"):  # reported, not only hidden
        clf.fit(X, y)
    best = int(np.argmin(clf.loss_curve_)) + 1
    assert clf.n_iter_ == 8 and best <= 4
    monkeypatch.setattr(PenalizedNet, "fit_loop", original)
    unspoiled = RegularizedMLPClassifier(**{**FAST, "max_iter": best}).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), unspoiled.predict_proba(X))


def test_keyboard_interrupt_before_any_epoch_leaves_it_unfitted(blobs, monkeypatch):
    X, y = blobs

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(PenalizedNet, "fit_loop", interrupted)
    clf = RegularizedMLPClassifier(**FAST)
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, y)
    with pytest.raises(NotFittedError):
        clf.predict(X)


# -- persistence -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "dump, load",
    [
        (pickle.dumps, pickle.loads),
        (
            lambda m: (joblib.dump(m, buf := io.BytesIO()), buf.getvalue())[1],
            lambda b: joblib.load(io.BytesIO(b)),
        ),
    ],
)
def test_pickle_and_joblib_round_trips_predict_identically(blobs, dump, load):
    X, y = blobs
    clf = RegularizedMLPClassifier(penalty="jacobian", alpha=0.1, **FAST).fit(X, y)
    restored = load(dump(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    assert restored.get_params() == clf.get_params()


def test_model_recorded_on_cuda_loads_on_a_cpu_only_machine(blobs):
    """Mocked GPU (no CUDA here): a pickle whose net says device='cuda' maps onto the CPU."""
    X, y = blobs
    clf = RegularizedMLPClassifier(**FAST).fit(X, y)
    expected = clf.predict(X)
    clf.net_.device = "cuda"
    payload = pickle.dumps(clf)
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the mapping to CPU is not exercised")
    # skorch says so twice: once for the module's tensors, once for the data device it will use
    with (
        pytest.warns(UserWarning, match="requested device"),
        pytest.warns(DeviceWarning, match="no CUDA devices are available"),
    ):
        restored = pickle.loads(payload)
    assert torch.device(restored.net_.device).type == "cpu"
    np.testing.assert_array_equal(restored.predict(X), expected)


# -- tables and pipelines --------------------------------------------------------------------------
def test_mixed_frame_through_a_column_transformer():
    rng = np.random.default_rng(0)
    n = 200
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "income": rng.lognormal(10, 1, n),
            "city": rng.choice(["paris", "rome", "oslo"], n),
            "member": rng.choice([True, False], n),
        }
    )
    y = np.where((frame["age"] > 45) | (frame["city"] == "oslo"), "yes", "no")
    prep = ColumnTransformer(
        [
            ("num", StandardScaler(), ["age", "income"]),
            ("cat", OneHotEncoder(), ["city", "member"]),
        ]
    )
    net = RegularizedMLPClassifier(penalty="c2c", alpha=1.0, **{**FAST, "max_iter": 100})
    pipe = make_pipeline(prep, net)
    scores = cross_validate(pipe, frame, y, cv=3)["test_score"]
    assert scores.mean() > 0.85  # the rule is learnable: a majority vote scores about 0.5
    assert set(pipe.fit(frame, y).predict(frame)) <= {"yes", "no"}


@pytest.mark.parametrize(
    "labels",
    [
        np.array([False, True]),
        np.array([3, 7]),
        np.array(["neg", "pos"], dtype=object),
    ],
)
def test_binary_labels_of_any_type(blobs, labels):
    X, y = blobs
    target = labels[(y > 0).astype(int)]
    clf = RegularizedMLPClassifier(**FAST).fit(X, target)
    assert clf.classes_.tolist() == sorted(labels.tolist())
    assert clf.predict_proba(X).shape == (len(X), 2)
    assert set(clf.predict(X).tolist()) <= set(labels.tolist())


def test_float32_and_float64_inputs_agree(blobs):
    X, y = blobs
    p64 = RegularizedMLPClassifier(**FAST).fit(X, y).predict_proba(X)
    p32 = RegularizedMLPClassifier(**FAST).fit(X.astype(np.float32), y).predict_proba(X)
    np.testing.assert_allclose(p32, p64, atol=1e-5)


def test_sparse_input_is_densified(blobs):
    X, y = blobs
    dense = RegularizedMLPClassifier(**FAST).fit(X, y).predict_proba(X)
    sparse = (
        RegularizedMLPClassifier(**FAST).fit(sp.csr_matrix(X), y).predict_proba(sp.csr_matrix(X))
    )
    np.testing.assert_allclose(sparse, dense, atol=1e-6)


def test_dataframe_is_not_modified(blobs):
    X, y = blobs
    frame = pd.DataFrame(X.astype(np.float32), columns=[f"c{i}" for i in range(X.shape[1])])
    before = frame.copy()
    RegularizedMLPClassifier(penalty="noise", epsilon=1.0, **FAST).fit(frame, y).predict(frame)
    pd.testing.assert_frame_equal(frame, before)


def test_tags_tell_the_truth():
    clf, reg = RegularizedMLPClassifier(), RegularizedMLPRegressor()
    assert clf.__sklearn_tags__().input_tags.sparse
    assert not clf.__sklearn_tags__().input_tags.allow_nan
    assert reg.__sklearn_tags__().target_tags.multi_output
    assert not clf.__sklearn_tags__().non_deterministic
    assert RegularizedMLPClassifier(device="cuda").__sklearn_tags__().non_deterministic


def test_clone_keeps_parameters_not_fit(blobs):
    X, y = blobs
    fitted = RegularizedMLPClassifier(warm_start=True, **FAST).fit(X, y)
    assert not hasattr(clone(fitted), "_progress")


# -- bad input: one row of the docs' table each------------------------------------------------
BAD_INPUT = [
    (
        "NaN in X",
        lambda X, y: (np.where(np.eye(*X.shape) > 0, np.nan, X), y),
        "Input X contains NaN",
    ),
    (
        "inf in X",
        lambda X, y: (np.where(np.eye(*X.shape) > 0, np.inf, X), y),
        "Input X contains infinity",
    ),
    ("empty X", lambda X, y: (X[:0], y[:0]), "0 sample"),
    ("1-D X", lambda X, y: (X[:, 0], y), "Expected 2D array"),
    ("one class", lambda X, y: (X, np.zeros_like(y)), "at least 2 classes"),
    ("X and y lengths differ", lambda X, y: (X, y[:-1]), "inconsistent numbers of samples"),
    (
        "NaN in y",
        lambda X, y: (X, np.where(np.arange(len(y)) == 0, np.nan, y)),
        "Input y contains NaN",
    ),
    ("continuous y for the classifier", lambda X, y: (X, y + 0.5), "Unknown label type"),
]


@pytest.mark.parametrize("case, corrupt, message", BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_is_refused_before_training(blobs, case, corrupt, message):
    X, y = corrupt(*blobs)
    clf = RegularizedMLPClassifier(**FAST)
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y)
    assert not hasattr(clf, "net_")


def test_wrong_number_of_features_at_predict(blobs):
    X, y = blobs
    clf = RegularizedMLPClassifier(**FAST).fit(X, y)
    with pytest.raises(
        ValueError, match="X has 5 features, but RegularizedMLPClassifier is expecting 6"
    ):
        clf.predict(X[:, :5])


def test_regressor_refuses_non_numeric_targets(regression_data):
    X, _ = regression_data
    with pytest.raises(ValueError, match="could not convert|dtype"):
        RegularizedMLPRegressor(**FAST).fit(X, np.array(["a"] * len(X), dtype=object))
