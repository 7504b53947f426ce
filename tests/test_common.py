"""scikit-learn's estimator checks on the estimators: defaults and an input-gradient penalty, for
the MLP estimators and for the Net estimators with an MLP module (its sizes filled from the data).

Cheap instances (small network, few epochs) keep the run short; every expected failure carries the
reason a reviewer would accept, and the README lists them.
"""

import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_regpen import (
    RegularizedMLPClassifier,
    RegularizedMLPRegressor,
    RegularizedNetClassifier,
    RegularizedNetRegressor,
)

CHEAP = dict(hidden_layer_sizes=(16,), max_iter=30, learning_rate_init=0.01, random_state=0)
#: the same, as a Net estimator: module=MLP is the default, its sizes set skorch-style
NET_CHEAP = dict(module__hidden_layer_sizes=(16,), max_iter=30, learning_rate_init=0.01,
                 random_state=0)  # fmt: skip

ESTIMATORS = [
    RegularizedMLPClassifier(**CHEAP),
    RegularizedMLPClassifier(penalty="jacobian", alpha=0.1, **CHEAP),
    RegularizedMLPRegressor(**CHEAP),
    RegularizedMLPRegressor(penalty="c2c", alpha=1.0, epsilon=0.1, **CHEAP),
    RegularizedNetClassifier(penalty="jacobian", alpha=0.1, **NET_CHEAP),
    RegularizedNetRegressor(**NET_CHEAP),
]

#: check name -> reason, for every estimator; see the docs' "scikit-learn conformance"
EXPECTED_FAILURES: dict[str, str] = {
    f"check_sample_weight_equivalence_on_{kind}_data": (
        "integer weights equal repeated rows only to float32 rounding (6e-7 relative after 30 "
        "epochs, below the check's 1e-7), and for c2c in expectation only (its noise is drawn per "
        "row); tests/test_sample_weight.py checks the identity at float32's tolerance"
    )
    for kind in ("dense", "sparse")
}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=lambda est: EXPECTED_FAILURES)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)
