"""Our parameter constraints (``_param_checks``) accept and refuse what scikit-learn's did.

They replace ``sklearn.utils._param_validation``, a private module a scikit-learn upgrade may
change. The estimators' own constraints are checked value by value against scikit-learn's
implementation while it is still importable; the rest needs nothing private.
"""

from __future__ import annotations

import importlib
from numbers import Integral, Real

import numpy as np
import pytest

from sklearn_regpen._param_checks import (
    Interval,
    InvalidParameterError,
    StrOptions,
    validate_params,
)

#: the constraints of the estimators, as estimators.py declares them, in our vocabulary
CONSTRAINTS = {
    "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    "activation": [StrOptions({"relu", "tanh", "logistic", "identity"})],
    "alpha": [Interval(Real, 0, None, closed="left")],
    "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "early_stopping": ["boolean"],
    "random_state": ["random_state"],
    "n_threads": [Interval(Integral, 1, None, closed="left"), None],
    "verbose": ["verbose"],
    "penalty_options": [dict, None],
}

#: values thrown at every parameter; bools are left out (ours refuse them as numbers, on purpose)
VALUES = [
    0, 1, 5, -1, 0.0, 0.5, 1.0, 1.5, -0.1, np.inf, np.nan, np.int64(3), np.float32(0.25),
    None, "relu", "tanh", "sigmoid", "", (100,), [10, 10], np.array([4]), {}, {"xi": 1.0},
    np.random.RandomState(0), 2**40, object(),
]  # fmt: skip


def _ours_accepts(name, value) -> bool:
    try:
        validate_params(CONSTRAINTS, {name: value}, "Estimator")
    except InvalidParameterError:
        return False
    return True


@pytest.mark.parametrize("name", sorted(CONSTRAINTS))
def test_agrees_with_scikit_learn(name):
    """Where scikit-learn's private module still exists, ours accepts exactly the same values."""
    try:
        private = importlib.import_module("sklearn.utils._param_validation")
    except ImportError:  # the reason this module exists; nothing left to compare against
        pytest.skip("scikit-learn no longer has sklearn.utils._param_validation")

    def theirs(constraint):
        if isinstance(constraint, Interval):
            return private.Interval(constraint.type, constraint.left, constraint.right,
                                    closed=constraint.closed)  # fmt: skip
        if isinstance(constraint, StrOptions):
            return private.StrOptions(constraint.options)
        return constraint

    their_constraints = {name: [theirs(c) for c in CONSTRAINTS[name]]}
    for value in VALUES:
        try:
            private.validate_parameter_constraints(their_constraints, {name: value}, "Estimator")
            accepted = True
        except private.InvalidParameterError:
            accepted = False
        assert _ours_accepts(name, value) == accepted, (name, value)


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("alpha", -1, "must be a float in the range [0, inf). Got -1 instead."),
        ("activation", "sigmoid",
         "must be a str among {'identity', 'logistic', 'relu', 'tanh'}. Got 'sigmoid' instead."),
        ("n_threads", 0, "must be an int in the range [1, inf) or None. Got 0 instead."),
        ("validation_fraction", 1.0, "must be a float in the range (0, 1). Got 1.0 instead."),
        ("penalty_options", [1], "must be an instance of 'dict' or None. Got [1] instead."),
        ("early_stopping", "yes", "must be an instance of 'bool'. Got 'yes' instead."),
    ],
)  # fmt: skip
def test_message_names_parameter_and_range(name, value, message):
    with pytest.raises(InvalidParameterError) as caught:
        validate_params(CONSTRAINTS, {name: value}, "RegularizedMLPClassifier")
    assert str(caught.value) == f"The {name!r} parameter of RegularizedMLPClassifier {message}"
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, TypeError)


def test_booleans_are_not_numbers():
    assert not Interval(Real, 0, None, closed="left").is_satisfied_by(True)
    assert not Interval(Integral, 0, None, closed="left").is_satisfied_by(np.True_)


def test_unchecked_and_unconstrained_parameters_pass():
    validate_params({"a": "no_validation"}, {"a": object(), "b": object()}, "Estimator")


def test_bad_constraints_are_refused():
    with pytest.raises(ValueError, match="unknown constraint"):
        validate_params({"a": ["nonsense"]}, {"a": 1}, "Estimator")
    with pytest.raises(ValueError, match="closed"):
        Interval(Real, 0, 1, closed="open")
    with pytest.raises(ValueError, match="strings"):
        StrOptions({1})


def test_the_package_imports_nothing_private_from_scikit_learn():
    """No module of the package imports scikit-learn's private parameter validation."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "sklearn_regpen"
    offenders = [
        str(path.relative_to(root))
        for path in sorted(root.rglob("*.py"))
        if "sklearn.utils._param_validation" in path.read_text()
        and path.name != "_param_checks.py"
    ]
    assert offenders == [], offenders
