import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

# The networks under test are tiny: one thread is faster than two, and it keeps parallel test
# processes (and other work on a 2-core machine) from oversubscribing the cores.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed_torch():
    """Every test starts from the same torch and numpy state, and leaves it as it found it."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        np.random.seed(0)
        yield


@pytest.fixture(autouse=True)
def _quiet_convergence():
    """Tests train for a few epochs on purpose; tests about the warning use ``pytest.warns``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture(scope="module")
def blobs():
    """A small, easy 3-class table: 240 rows, 6 standardized features."""
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=240, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    return X, y


@pytest.fixture(scope="module")
def regression_data():
    from sklearn.datasets import make_regression

    X, y = make_regression(n_samples=200, n_features=5, n_targets=2, noise=0.5, random_state=0)
    return X, y / y.std(axis=0)


def pytest_addoption(parser):
    parser.addoption(
        "--write-docs",
        action="store_true",
        help="rewrite the command outputs the docs pages show (docs/**/outputs/*.txt) from real "
        "runs of the commands above them, at the page's own settings",
    )
