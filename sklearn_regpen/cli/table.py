"""Reading the job's table: a bundled one, or the user's CSV file, checked and split.

:func:`read_csv_table` reads a CSV file as both the sweep and ``predict`` read it (the header
checked for repeated names first); :func:`csv_data` and :func:`bundled_data` turn the options into
the training and held-out rows (:class:`Data`); :class:`TableCells` is the first step of every
pipeline the job fits on a CSV file, so that a saved model reads a table's cells as the job read
its training file.
"""

from __future__ import annotations

import csv
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from rich.markup import escape
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted

from ..datasets import load_classification, per_class_split
from ..tables import TableError, infer_columns, make_preprocessor, split_target
from .errors import OptionError

#: under ``--task auto``, a numeric target with more distinct values than this is regression
MAX_AUTO_CLASSES = 20
#: integer-valued labels beyond this are not class codes to scikit-learn (it casts them to int64)
INT64_MAX = 2**63


@dataclass
class Data:
    """The training and held-out rows, and what the pipeline needs to know about them.

    ``reading`` is how a CSV file was read (its target, feature columns and missing-cell markers),
    saved beside the model so that ``predict`` reads new files the same way; None for a bundled
    table.
    """

    X_train: object
    X_test: object
    y_train: np.ndarray
    y_test: np.ndarray
    task: str
    preprocess: list
    description: str
    notes: list[str] = field(default_factory=list)
    reading: dict | None = None


# -- reading a CSV file ---------------------------------------------------------------------------


def repeated_header_names(path: Path) -> list[str]:
    """Names that the header line of the CSV file ``path`` gives to more than one column.

    pandas renames a repeated name (a second ``label`` becomes ``label.1``), so the repetition
    cannot be seen in the table it reads; it is read here from the raw header line. Names are
    compared without surrounding spaces; empty names (pandas' ``Unnamed: i``) do not count.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
    ...     _ = f.write("x,label, label,y\\n1,a,a,2\\n")
    >>> repeated_header_names(Path(f.name))
    ['label']
    >>> os.remove(f.name)
    """
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as file:
        header = next(csv.reader(file), [])
    names = [name.strip() for name in header if name.strip()]
    return sorted({name for name in names if names.count(name) > 1})


def read_csv_table(path: Path, na_values: list[str], option: str = "--csv") -> pd.DataFrame:
    """The table in the CSV file ``path``, with ``na_values`` as extra missing-cell markers.

    Raises :class:`OptionError`, naming ``option``, for a missing file, a directory, a file that
    is not CSV, and a header that names a column twice.
    """
    if path.is_dir():
        raise OptionError(f"{option}: {path} is a directory, not a CSV file")
    if not path.exists():
        raise OptionError(f"{option}: no such file: {path}")
    try:
        repeated = repeated_header_names(path)
        if repeated:
            names = ", ".join(repr(name) for name in repeated)
            raise OptionError(
                f"{option} {path}: the header names more than one column {names}; pandas would "
                f"read the second as '{repeated[0]}.1', a separate column that the model learns "
                "from (a copy of the target would give away the answer); rename or drop the "
                "repeated columns"
            )
        return pd.read_csv(path, na_values=na_values or None)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError,
            csv.Error) as error:
        raise OptionError(f"{option}: {path} cannot be read as a CSV file: {error}") from None
    except OSError as error:
        raise OptionError(f"{option}: {path} cannot be read: {error}") from None


def text_columns_with_stray_markers(X: pd.DataFrame) -> dict:
    """Text columns that would be numeric but for a few markers, e.g. ``<null>`` or ``?``."""
    found = {}
    for name in infer_columns(X)[1]:
        column = X[name].dropna().astype(str)
        numbers = pd.to_numeric(column, errors="coerce")
        markers = sorted(set(column[numbers.isna()]))
        if 0 < len(markers) <= 3 and numbers.notna().mean() > 0.5:
            found[str(name)] = markers
    return found


# -- classification or regression -----------------------------------------------------------------


def _is_number(value) -> bool:
    try:
        return math.isfinite(float(value)) and not isinstance(value, (bool, np.bool_))
    except (TypeError, ValueError):
        return False


def infer_task(y: np.ndarray, task: str, target: str) -> tuple[str, str]:
    """``(task, reason)`` for the target values ``y`` of column ``target``, following ``task``
    (``"auto"``, ``"classification"`` or ``"regression"``, the ``--task`` option)."""
    boolean = pd.api.types.is_bool_dtype(y.dtype) or (
        y.dtype == object and all(isinstance(v, (bool, np.bool_)) for v in y)
    )
    numeric = pd.api.types.is_numeric_dtype(y.dtype) and not boolean
    with warnings.catch_warnings():  # labels beyond int64 warn as scikit-learn casts them
        warnings.simplefilter("ignore", RuntimeWarning)
        kind = type_of_target(y)
    distinct = len(np.unique(y.astype(str) if not numeric else y))
    if task == "regression":
        if boolean:
            raise OptionError(
                f"--task regression: target column {target!r} holds True/False values, which "
                "are classes, not numbers; use --task classification (or auto)"
            )
        if not numeric:
            example = next((v for v in y if not _is_number(v)), y[0])
            raise OptionError(f"--task regression: target column {target!r} is not numeric "
                              f"(it has values like {example!r})")
        return "regression", "--task regression"
    if task == "classification":
        if kind == "continuous":
            values = np.asarray(y, dtype=np.float64)
            fractional = values[values != np.round(values)]
            if len(fractional):
                what = f"non-integer values (like {fractional[0]!r})"
            else:
                huge = values[np.abs(values) >= INT64_MAX]
                what = (f"whole numbers too large for class codes (like {huge[0]:g}, beyond "
                        "64-bit integers)")
            raise OptionError(
                f"--task classification: target column {target!r} has {what}, which are not "
                "class labels; use --task regression, or write the labels as text"
            )
        return "classification", "--task classification"
    if kind == "continuous":
        return "regression", f"{target!r} has non-integer values; --task to override"
    if numeric and distinct > MAX_AUTO_CLASSES:
        return "regression", (f"{target!r} is numeric with {distinct} distinct values "
                              f"(more than {MAX_AUTO_CLASSES}); --task to override")
    return "classification", f"{target!r} has {distinct} classes; --task to override"


# -- the training and held-out rows ---------------------------------------------------------------


def bundled_data(dataset: str, per_class: int, seed: int) -> Data:
    """``per_class`` training rows of each class of a bundled table; the rest held out."""
    X, y = load_classification(dataset)
    labels, counts = np.unique(y, return_counts=True)
    if per_class >= counts.min():
        raise OptionError(
            f"--per-class {per_class}: the smallest class of {dataset} "
            f"(class {labels[counts.argmin()]}) has {counts.min()} rows, and one must be held out: "
            f"at most --per-class {counts.min() - 1}"
        )
    X_train, X_test, y_train, y_test = per_class_split(X, y, per_class, seed)
    description = (f"[bold]{dataset}[/]: {len(y_train)} training rows ({per_class} per "
                   f"class), {len(y_test)} held out, {X.shape[1]} features")
    return Data(X_train, X_test, y_train, y_test, "classification", [("scale", StandardScaler())],
                description)


def csv_data(path: Path, target: str, *, na_values: list[str], task: str, test_size: float,
             cv: int, seed: int) -> Data:
    """The CSV file's rows, split into training and held-out rows (stratified for classes)."""
    table = read_csv_table(path, na_values)
    try:
        X, y = split_target(table, target)
    except TableError as error:
        raise OptionError(f"--csv {path}: {error}") from None
    task, reason = infer_task(y, task, target)
    if task == "regression":
        y = y.astype(np.float64)
        n_test = math.ceil(test_size * len(y))
        if n_test < 2 or len(y) - n_test < 2 * cv:
            raise OptionError(
                f"--csv {path}: {len(y)} rows are too few for --cv {cv} and --test-size "
                f"{test_size}: regression needs 2 held-out rows and 2 rows in each of the "
                "--cv folds"
            )
        stratify = None
    else:
        labels, counts = np.unique(y.astype(str), return_counts=True)
        # every class needs a held-out row and a row in each of the --cv training folds
        needed = max(math.ceil(cv / (1 - test_size)) + 1, math.ceil(1 / test_size))
        if counts.min() < needed:
            rare = {str(k): int(n) for k, n in zip(labels, counts) if n < needed}
            shown = dict(list(rare.items())[:10])
            more = f" and {len(rare) - 10} more" if len(rare) > 10 else ""
            raise OptionError(
                f"--csv {path}: {len(rare)} of {len(labels)} classes have fewer than "
                f"{needed} rows (needed for --cv {cv} and --test-size {test_size}): "
                f"{shown}{more}"
            )
        stratify = y
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, stratify=stratify, random_state=seed
    )
    numeric, categorical = infer_columns(X)
    description = (
        f"[bold]{escape(path.name)}[/]: {task} ({escape(reason)}), {len(y_train)} training "
        f"rows, {len(y_test)} held out, {X.shape[1]} features ({len(numeric)} numeric, "
        f"{len(categorical)} categorical: imputed, one-hot encoded and scaled)"
    )
    notes = [
        f"column {name!r} is read as text because of the values {markers}; if they mark missing "
        f"cells, pass --na-values '{','.join(markers)}'"
        for name, markers in text_columns_with_stray_markers(X).items()
    ]
    reading = {"target": target, "task": task, "na_values": list(na_values),
               "columns": [str(c) for c in X.columns]}
    steps = [("cells", TableCells(na_values=tuple(na_values))), ("prep", make_preprocessor(X))]
    return Data(X_train, X_test, y_train, y_test, task, steps, description, notes, reading)


# -- a saved model reads cells as the job did -----------------------------------------------------


class TableCells(TransformerMixin, BaseEstimator):
    """Read a table's cells as the job read its training file.

    The job reads its CSV file with ``--na-values`` and strips the spaces around text cells; a
    saved model is often given a table read without them (``pd.read_csv("new.csv")``), where a
    marker such as ``<null>`` turns a numeric column into text. This step, first in the pipeline,
    makes both the same: text cells lose surrounding spaces, cells equal to one of ``na_values``
    become missing, and the columns that were numeric in ``fit`` are converted back to numbers. On
    the training table itself it changes nothing. The input is not modified.

    Parameters
    ----------
    na_values : tuple of str, default=()
        Cell values that mean "missing", besides pandas' own.

    Attributes
    ----------
    numeric_columns_ : list
        Columns that held numbers (or True/False) in ``fit``.
    boolean_columns_ : list
        Those of them that held True/False.
    n_features_in_ : int
        Number of columns in ``fit``.
    feature_names_in_ : ndarray of str
        Column names in ``fit``.

    Examples
    --------
    >>> train = pd.DataFrame({"rooms": [1.0, None, 3.0], "town": ["north", "south", "north"]})
    >>> new = pd.DataFrame({"rooms": ["2", "<null>"], "town": [" south", "<null>"]})
    >>> cells = TableCells(na_values=("<null>",)).fit(train)
    >>> cells.transform(new)
       rooms   town
    0    2.0  south
    1    NaN    NaN
    """

    def __init__(self, na_values=()):
        self.na_values = na_values

    def fit(self, X, y=None):
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"TableCells reads DataFrames (a table's columns), got {type(X)}")
        self.numeric_columns_ = list(infer_columns(X)[0])
        self.boolean_columns_ = [c for c in self.numeric_columns_
                                 if pd.api.types.is_bool_dtype(X[c].dtype)]
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def transform(self, X):
        check_is_fitted(self)
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"TableCells reads DataFrames (a table's columns), got {type(X)}")
        markers = {str(v).strip() for v in self.na_values}
        columns = {}
        for name in X.columns:
            column = X[name]
            if column.dtype == object or isinstance(column.dtype, pd.StringDtype):
                column = column.map(lambda v: v.strip() if isinstance(v, str) else v)
                column = column.astype(object).where(column.notna() & ~column.isin(markers),
                                                     np.nan)
                if name in self.numeric_columns_:
                    column = self._as_numbers(column, name)
            columns[name] = column
        return pd.DataFrame(columns, index=X.index)

    def _as_numbers(self, column: pd.Series, name) -> pd.Series:
        """A column that held numbers in ``fit``, read as text here: its cells as numbers."""
        if name in self.boolean_columns_:  # pandas reads True/true/TRUE as booleans
            words = {"true": True, "false": False}
            column = column.map(lambda v: words.get(v.lower(), v) if isinstance(v, str) else v)
        numbers = pd.to_numeric(column, errors="coerce")
        bad = column.notna() & pd.isna(numbers)
        if bad.any():
            values = sorted({str(v) for v in column[bad]})
            shown = values[:5] + (["..."] if len(values) > 5 else [])
            markers = f" besides the missing-cell markers {list(self.na_values)}" if (
                self.na_values) else ""
            raise ValueError(
                f"column {name!r} held numbers when the model was trained, but here holds "
                f"values that are not numbers{markers}: {shown}; empty those cells if they "
                "are missing values"
            )
        return numbers.astype(np.float64)

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self)
        return np.asarray(self.feature_names_in_, dtype=object)
