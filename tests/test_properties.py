"""Property-based: whatever shapes, dtypes, labels and parameters are thrown at the estimators,
they either refuse with a clean scikit-learn style error or return finite predictions of the
right shape and type."""

import warnings

import numpy as np
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from sklearn_regpen import RegularizedMLPClassifier, RegularizedMLPRegressor
from sklearn_regpen.penalties import PENALTIES

LABEL_KINDS = {
    "int": lambda k: np.arange(k) * 3 - 2,
    "str": lambda k: np.array([f"class {i}" for i in range(k)], dtype=object),
    "bool": lambda k: np.array([False, True][:k]),
}


@st.composite
def problems(draw):
    n = draw(st.integers(0, 30))
    d = draw(st.integers(1, 4))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    scale = draw(st.sampled_from([1e-3, 1.0, 1e3]))
    X = draw(st.lists(st.floats(-1, 1), min_size=n * d, max_size=n * d))
    X = (np.array(X, dtype=np.float64).reshape(n, d) * scale).astype(dtype)
    params = dict(
        penalty=draw(st.sampled_from(sorted(PENALTIES) + ["jacobain"])),
        alpha=draw(st.sampled_from([-1.0, 0.0, 1e-3, 1.0, 10.0, "1"])),
        epsilon=draw(st.sampled_from([-0.1, 0.0, 0.1, 1.0])),
        hidden_layer_sizes=draw(st.sampled_from([(4,), (3, 2), (), (0,)])),
        batch_size=draw(st.sampled_from([1, 7, 200])),
        max_iter=2,
        random_state=0,
    )
    return X, params


def _is_clean_error(error: Exception) -> bool:
    """scikit-learn's own errors are ValueError (InvalidParameterError is also a TypeError)."""
    return isinstance(error, ValueError) and len(str(error)) > 10


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=problems(), n_classes=st.integers(1, 3), kind=st.sampled_from(sorted(LABEL_KINDS)),
       seed=st.integers(0, 2**16))
def test_classifier_refuses_cleanly_or_predicts_finitely(problem, n_classes, kind, seed):
    X, params = problem
    labels = LABEL_KINDS[kind](min(n_classes, 2) if kind == "bool" else n_classes)
    y = labels[np.random.default_rng(seed).integers(0, len(labels), len(X))]
    clf = RegularizedMLPClassifier(**params)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
    except Exception as error:  # noqa: BLE001 - the property is about which errors escape
        assert _is_clean_error(error), repr(error)
        assert not hasattr(clf, "net_")
        return
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), len(clf.classes_)) and np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    predicted = clf.predict(X)
    assert predicted.shape == (len(X),) and set(predicted.tolist()) <= set(clf.classes_.tolist())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=problems(), n_outputs=st.integers(0, 2), seed=st.integers(0, 2**16))
def test_regressor_refuses_cleanly_or_predicts_finitely(problem, n_outputs, seed):
    X, params = problem
    rng = np.random.default_rng(seed)
    y = rng.normal(size=len(X)) if n_outputs == 0 else rng.normal(size=(len(X), n_outputs))
    reg = RegularizedMLPRegressor(**params)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            reg.fit(X, y)
    except Exception as error:  # noqa: BLE001
        assert _is_clean_error(error), repr(error)
        return
    predicted = reg.predict(X)
    assert predicted.shape == y.shape and predicted.dtype == np.float64
    assert np.all(np.isfinite(predicted))


def _fits(problem) -> bool:
    X, params = problem
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            RegularizedMLPClassifier(**params).fit(X, np.arange(len(X)) % 2)
    except ValueError:
        return False
    return True


def test_the_strategy_reaches_both_outcomes():
    """Guard against a vacuous property: the strategy yields problems that fit and that fail."""
    quick = settings(max_examples=200, deadline=None, database=None)
    assert _fits(find(problems(), _fits, settings=quick))
    assert not _fits(find(problems(), lambda p: not _fits(p), settings=quick))
