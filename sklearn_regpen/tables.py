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

from ._dtype import FLOAT32_MAX

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
        entirely empty (NaN); a numeric column (features or target) holds an infinite value or
        one beyond float32's range (about 3.4e38, the networks compute in float32); the target
        has missing values or a single value.

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
    for name in [*X.columns, target]:
        _check_magnitudes(table[name], name)
    y = _strip_strings(table[target])
    if y.isna().any():
        raise TableError(
            f"target column {target!r} has {int(y.isna().sum())} missing values; drop those rows"
        )
    classes = y.unique()
    if len(classes) < 2:
        raise TableError(
            f"target column {target!r} has a single value, {classes[0]!r}: nothing to learn"
        )
    return X, y.to_numpy()


def _check_magnitudes(column: pd.Series, name) -> None:
    """Refuse infinite values and values beyond float32's range in a numeric column."""
    if not pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype):
        return
    values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        infinite = np.isinf(values)
        huge = ~infinite & (np.abs(values) > FLOAT32_MAX)
    for bad, adjective, beyond in ((infinite, "infinite ", ""),
                                   (huge, "", f" beyond ±{FLOAT32_MAX:.3g} (float32's range: the "
                                              "networks compute in float32)")):
        if bad.any():
            rows = np.flatnonzero(bad)
            shown = ", ".join(str(r) for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
            raise TableError(
                f"column {name!r} has {len(rows)} {adjective}"
                f"{'value' if len(rows) == 1 else 'values'}{beyond}, in data rows {shown} "
                "(counting from 0); fix or drop them"
            )


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
