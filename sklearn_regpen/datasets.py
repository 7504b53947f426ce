"""Datasets for the main job, the examples and the benchmarks: scikit-learn's bundled tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn import datasets as skd

#: bundled classification tables, by the name the command line takes
CLASSIFICATION = {
    "digits": skd.load_digits,
    "breast_cancer": skd.load_breast_cancer,
    "wine": skd.load_wine,
    "iris": skd.load_iris,
}


def load_classification(name: str) -> tuple[pd.DataFrame, np.ndarray]:
    """A bundled classification table as ``(X, y)``, ``X`` a DataFrame with named columns."""
    if name not in CLASSIFICATION:
        raise ValueError(f"Unknown dataset {name!r}; choose one of {sorted(CLASSIFICATION)}")
    bunch = CLASSIFICATION[name](as_frame=True)
    return bunch.data, bunch.target.to_numpy()


def per_class_split(X, y, n_per_class: int, random_state=0):
    """Hold out all but ``n_per_class`` random rows of each class.

    Returns ``X_train, X_test, y_train, y_test``; the small-data protocol of the seeds (a fixed
    number of training rows per class, the rest for testing).

    Examples
    --------
    >>> X, y = load_classification("iris")
    >>> X_train, X_test, y_train, y_test = per_class_split(X, y, 5)
    >>> len(y_train), len(y_test)
    (15, 135)
    """
    rng = np.random.default_rng(random_state)
    y = np.asarray(y)
    train = []
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        if len(rows) <= n_per_class:
            raise ValueError(
                f"class {label!r} has {len(rows)} rows: fewer than "
                f"n_per_class + 1 = {n_per_class + 1}"
            )
        train.extend(rng.choice(rows, n_per_class, replace=False))
    mask = np.zeros(len(y), dtype=bool)
    mask[train] = True
    take = (lambda rows: X.iloc[rows]) if hasattr(X, "iloc") else (lambda rows: X[rows])
    return take(mask), take(~mask), y[mask], y[~mask]
