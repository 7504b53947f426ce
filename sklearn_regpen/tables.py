"""Tables as users have them: a DataFrame with numeric and string columns and a target column.

:func:`split_target` checks the table and separates the target, :func:`infer_columns` decides
which columns are numeric and which categorical, and :func:`make_preprocessor` builds the
``ColumnTransformer`` that every model of the tabular benchmark and of the ``--csv`` job sees:
missing values imputed (median for numbers, most frequent value for categories), categories
one-hot encoded, then everything standardized.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

__all__ = ["TableError", "split_target", "infer_columns", "make_preprocessor"]


class TableError(ValueError):
    """A table that cannot be learned from as given; the message says what is wrong."""


def _strip_strings(column: pd.Series) -> pd.Series:
    if column.dtype == object or isinstance(column.dtype, pd.StringDtype):
        stripped = column.map(lambda v: v.strip() if isinstance(v, str) else v)
        return stripped.astype(object).where(stripped.notna(), np.nan)  # None is missing too
    return column


def split_target(table: pd.DataFrame, target: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Check ``table`` and return ``(X, y)``: the feature columns and the target's values.

    Text cells lose surrounding whitespace (``" A"`` and ``"A"`` are one category) and empty
    cells (``None``) become ``NaN``, which the preprocessing imputes; the input is not modified.

    Raises
    ------
    TableError
        The target column is missing; the table has no feature column or no row; a column is
        entirely empty (NaN); the target has missing values or fewer than two classes.

    Examples
    --------
    >>> table = pd.DataFrame({"size": [1.0, 2.0, 3.0], "colour": ["red", " blue", "red"],
    ...                       "label": ["a", "b", "a"]})
    >>> X, y = split_target(table, "label")
    >>> list(X.columns), list(y), list(X["colour"])
    (['size', 'colour'], ['a', 'b', 'a'], ['red', 'blue', 'red'])
    """
    if target not in table.columns:
        raise TableError(
            f"target column {target!r} is not in the table; its columns are {list(table.columns)}"
        )
    if table.columns.duplicated().any():
        duplicated = sorted(set(table.columns[table.columns.duplicated()].astype(str)))
        raise TableError(f"the table has duplicated column names: {duplicated}")
    if len(table) == 0:
        raise TableError("the table has no rows")
    X = table.drop(columns=[target]).apply(_strip_strings)
    if X.shape[1] == 0:
        raise TableError(f"the table has no feature column besides the target {target!r}")
    empty = [str(c) for c in X.columns if X[c].isna().all()]
    if empty:
        raise TableError(f"columns with no value at all (every cell empty or NaN): {empty}")
    y = _strip_strings(table[target])
    if y.isna().any():
        raise TableError(
            f"target column {target!r} has {int(y.isna().sum())} missing values; drop those rows"
        )
    classes = y.unique()
    if len(classes) < 2:
        raise TableError(
            f"target column {target!r} has a single class, {classes[0]!r}: a classifier needs two"
        )
    return X, y.to_numpy()


def infer_columns(X: pd.DataFrame) -> tuple[list, list]:
    """``(numeric, categorical)`` column names: numbers and booleans are numeric, the rest
    (text, categories) categorical.

    Examples
    --------
    >>> infer_columns(pd.DataFrame({"a": [1, 2], "b": ["x", "y"], "c": [0.5, None]}))
    (['a', 'c'], ['b'])
    """
    numeric = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c].dtype)]
    categorical = [c for c in X.columns if c not in set(numeric)]
    return numeric, categorical


def make_preprocessor(X: pd.DataFrame) -> Pipeline:
    """Impute, one-hot encode the categorical columns and standardize every column.

    Numeric columns: missing values replaced by the column's median. Categorical columns:
    missing values replaced by the most frequent value, then one-hot encoded (categories unseen
    in training get all zeros). A ``StandardScaler`` follows over all columns, so every model
    gets the same scaled inputs and ``epsilon`` is measured in standard deviations.

    Examples
    --------
    >>> X = pd.DataFrame({"a": [1.0, 2.0, None], "b": ["x", "y", "x"]})
    >>> make_preprocessor(X).fit_transform(X).shape
    (3, 3)
    """
    numeric, categorical = infer_columns(X)
    parts = []
    if numeric:
        parts.append(("numeric", SimpleImputer(strategy="median"), numeric))
    if categorical:
        encode = make_pipeline(
            SimpleImputer(strategy="most_frequent"),
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
        )
        parts.append(("categorical", encode, categorical))
    columns = ColumnTransformer(parts, sparse_threshold=0.0)
    return Pipeline([("columns", columns), ("scale", StandardScaler())])
