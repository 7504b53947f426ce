"""scikit-learn's estimator checks on the estimators: defaults and an input-gradient penalty, for
the MLP estimators and for the Net estimators with an MLP module (its sizes filled from the data),
in float32 (the default); and in float64, where no check is expected to fail but the
sample-weight equivalence under early stopping.

Cheap instances (small network, few epochs) keep the run short; every expected failure carries the
reason a reviewer would accept, and the user guide's contract page lists them.
"""

import warnings

import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import estimator_checks
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_regpen import (
    RegularizedMLPClassifier,
    RegularizedMLPRegressor,
    RegularizedNetClassifier,
    RegularizedNetRegressor,
)
from sklearn_regpen.penalties import PENALTIES

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

#: check name -> reason, for every float32 estimator; see the docs' "scikit-learn contract"
EXPECTED_FAILURES: dict[str, str] = {
    f"check_sample_weight_equivalence_on_{kind}_data": (
        "integer weights equal repeated rows only to float32 rounding (6e-7 relative after 30 "
        "epochs, below the check's 1e-7), and for c2c in expectation only (its noise is drawn per "
        "row); with dtype='float64' the check passes for every penalty that draws no noise"
    )
    for kind in ("dense", "sparse")
}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=lambda est: EXPECTED_FAILURES)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


#: the penalties that draw no noise (those without ``epsilon``): in float64 a fit is then a
#: deterministic function of the data to rounding far below the checks' 1e-7 (on these small
#: tables the Jacobian and Fisher penalties' ``n_projections="auto"`` is exact, with no draw)
NOISE_FREE = [name for name, cls in PENALTIES.items() if not cls.uses_epsilon]

#: in float64, every check and no expected failure, for one classifier and one regressor trained
#: on every row (the MLP estimators' default early stopping holds out a random share of them);
#: and both at their defaults, early stopping included
FLOAT64 = [
    RegularizedMLPClassifier(
        penalty="double_backprop", alpha=0.1, dtype="float64", early_stopping=False, **CHEAP
    ),  # fmt: skip
    RegularizedMLPRegressor(
        penalty="jacobian", alpha=0.1, dtype="float64", early_stopping=False, **CHEAP
    ),  # fmt: skip
    RegularizedMLPClassifier(dtype="float64", **CHEAP),
    RegularizedMLPRegressor(dtype="float64", **CHEAP),
]

#: with early stopping (the MLP estimators' default) the validation rows are drawn row by row: a
#: row of weight 2 is held out or not as one, its two copies each on their own
EARLY_STOPPING_FAILURES = {
    f"check_sample_weight_equivalence_on_{kind}_data": (
        "early_stopping=True (the MLP estimators' default) draws its validation rows row by row, "
        "so a row of weight 2 and two copies of it are split differently; with "
        "early_stopping=False the check passes in float64"
    )
    for kind in ("dense", "sparse")
}


def _float64_failures(estimator) -> dict:
    return EARLY_STOPPING_FAILURES if estimator.early_stopping else {}


@parametrize_with_checks(FLOAT64, expected_failed_checks=_float64_failures)
def test_sklearn_compatible_in_float64(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


#: the checks that compare two fits, or two batchings of one prediction, at 1e-7: those float32
#: rounding fails (the sample-weight equivalence) or can fail (the regressor's invariances, in
#: standardized units times the target's scale)
PRECISION_CHECKS = (
    "check_sample_weight_equivalence_on_dense_data",
    "check_sample_weight_equivalence_on_sparse_data",
    "check_methods_subset_invariance",
    "check_methods_sample_order_invariance",
)


@pytest.mark.parametrize("check", PRECISION_CHECKS)
@pytest.mark.parametrize("penalty", NOISE_FREE)
@pytest.mark.parametrize("estimator", [RegularizedMLPClassifier, RegularizedMLPRegressor])
def test_float64_precision_checks_for_every_noise_free_penalty(estimator, penalty, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # every row trains (the default early stopping would hold some out)
        model = estimator(penalty=penalty, alpha=0.1, dtype="float64", early_stopping=False,
                          **CHEAP)  # fmt: skip
        getattr(estimator_checks, check)(estimator.__name__, model)
