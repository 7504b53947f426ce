"""Tables as users have them: target checks, column inference, the preprocessing pipeline."""

import numpy as np
import pandas as pd
import pytest

from sklearn_regpen.tables import TableError, infer_columns, make_preprocessor, split_target


@pytest.fixture
def table():
    return pd.DataFrame(
        {
            "age": [30.0, np.nan, 50.0, 41.0, 22.0, 35.0],
            "colour": [" red", "blue", None, "red", "blue", "red"],
            "count": [1, 2, 3, 4, 5, 6],
            "label": ["yes", "no", "yes", "no", "yes", "no"],
        }
    )


def test_split_target_separates_and_cleans_without_touching_the_input(table):
    before = table.copy()
    X, y = split_target(table, "label")
    assert list(X.columns) == ["age", "colour", "count"]
    assert list(y) == ["yes", "no", "yes", "no", "yes", "no"]
    assert X["colour"].iloc[0] == "red"  # surrounding whitespace is not a new category
    pd.testing.assert_frame_equal(table, before)


@pytest.mark.parametrize(
    "change, target, message",
    [
        (lambda t: t, "lable", "target column 'lable' is not in the table; its columns are"),
        (lambda t: t.assign(empty=np.nan), "label", "columns with no value at all"),
        (lambda t: t.assign(label="yes"), "label", "has a single value, 'yes'"),
        (
            lambda t: t.assign(label=[None, "no", "yes", "no", "yes", "no"]),
            "label",
            "has 1 missing values",
        ),
        (lambda t: t[["label"]], "label", "no feature column besides the target"),
        (
            lambda t: t.assign(age=[30.0, np.inf, 1.0, -np.inf, 2.0, 3.0]),
            "label",
            r"column 'age' has 2 infinite values, in data rows 1, 3 \(counting from 0\)",
        ),
        (
            lambda t: t.assign(count=[1, 2, 3, 4, 5, 1e300]),
            "label",
            r"column 'count' has 1 value beyond ±3.4e\+38 \(float32's range",
        ),
        (
            lambda t: t.assign(label=[1.0, 2.0, 1.0, np.inf, 2.0, 1.0]),
            "label",
            "column 'label' has 1 infinite value",
        ),
        (lambda t: t.iloc[:0], "label", "the table has no rows"),
    ],
)
def test_bad_tables_are_explained(table, change, target, message):
    with pytest.raises(TableError, match=message):
        split_target(change(table), target)


def test_numeric_and_categorical_columns_are_inferred(table):
    X, _ = split_target(table.assign(flag=[True, False] * 3), "label")
    assert infer_columns(X) == (["age", "count", "flag"], ["colour"])


def test_preprocessor_imputes_encodes_and_scales(table):
    X, _ = split_target(table, "label")
    prep = make_preprocessor(X)
    Z = prep.fit_transform(X)
    # 2 numeric columns + one-hot of {blue, red} (the missing colour imputed as "red")
    assert Z.shape == (6, 4) and np.isfinite(Z).all()
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    # a category never seen in training gets all zeros before scaling, not an error
    unseen = prep.transform(X.assign(colour="green").iloc[:1])
    assert np.isfinite(unseen).all()
