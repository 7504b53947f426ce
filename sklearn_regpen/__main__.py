"""The main job: a penalty / strength / noise sweep with a ranked table.

    python -m sklearn_regpen                       # digits, 50 training rows per class
    python -m sklearn_regpen --dataset wine --per-class 20 --penalties none,jacobian,c2c
    python -m sklearn_regpen --dask                # the same sweep on a local Dask cluster
    python -m sklearn_regpen --scheduler tcp://10.0.0.5:8786   # ... or on a running one
    python -m sklearn_regpen --csv data.csv --target label --grid tabular   # your own table
    python -m sklearn_regpen --csv houses.csv --target price --na-values '<null>' --out results

A ``GridSearchCV`` over ``penalty``, ``alpha`` and ``epsilon`` of a ``Pipeline`` (preprocessing,
then ``RegularizedMLPClassifier`` or ``RegularizedMLPRegressor``) on a training set. Two reference
models go through the same preprocessing and the same folds: a baseline that ignores the inputs
(the majority class, or the mean target) and scikit-learn's ``MLPClassifier`` / ``MLPRegressor``
with its defaults. The table ranks every candidate and both references by cross-validation score
(mean ± std over the folds, and the mean fit time). Only the candidate with the best
cross-validation score is refitted on the whole training set and scored on the held-out rows,
with the two references for comparison: the held-out rows judge the choice, they do not make it.

Bundled tables (``--dataset``) are classification tasks: ``--per-class`` rows of each class are
for training, the rest are held out, and the inputs are standardized. With ``--csv FILE --target
COLUMN`` the table is read from a CSV file (never written to): numeric and text columns are told
apart, a ``ColumnTransformer`` imputes, one-hot encodes and scales them
(``sklearn_regpen.tables``), and ``--test-size`` of the rows are held out (stratified by class
for classification). ``--na-values`` names the markers of missing cells besides pandas' own
(KEEL files write ``<null>``).

Classification or regression (``--task auto``): a target with text or boolean values is
classification; a numeric target is regression when scikit-learn's ``type_of_target`` calls it
``continuous`` (non-integer values) or when it has more than 20 distinct values (counts, ages,
prices in whole units), and classification otherwise (integer codes of at most 20 classes).
``--task classification`` or ``--task regression`` overrides the guess. Regression standardizes
the target for the networks (``RegularizedMLPRegressor(normalize_y=True)``, its default; the
``MLPRegressor`` reference through ``TransformedTargetRegressor``; predictions come back in the
target's units), uses ``KFold`` rather than ``StratifiedKFold``, and scores by R^2 unless
``--scoring`` names another scikit-learn scorer.

With ``--out DIR`` the chosen pipeline, refitted on every training row, is saved as
``DIR/model.joblib`` (``joblib.load`` it and call ``predict`` on a table with the same columns),
and the table as ``DIR/results.csv`` and ``DIR/results.md``.

Every option and the data are checked before any training: a bad value ends the job with a
message and exit status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import importlib.util
import math
import re
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from joblib import Parallel, delayed, effective_n_jobs
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import get_scorer, get_scorer_names
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold, train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import type_of_target

from ._dask import replicated_inputs
from .datasets import CLASSIFICATION, load_classification, per_class_split
from .estimators import RegularizedMLPClassifier, RegularizedMLPRegressor
from .penalties import PENALTIES
from .search import param_grid, tabular_grid
from .tables import TableError, infer_columns, make_preprocessor, split_target

DEFAULT_PENALTIES = ("none", "l2", "noise", "jacobian", "noisy_jacobian", "c2c")
#: under ``--task auto``, a numeric target with more distinct values than this is regression
MAX_AUTO_CLASSES = 20
#: the largest seed numpy's generators take
MAX_SEED = 2**32 - 1
DEFAULT_SCORING = {"classification": "accuracy", "regression": "r2"}
#: what a scorer's metric is for, by the module scikit-learn defines it in
_SCORER_MODULES = {
    "sklearn.metrics._classification": "classification",
    "sklearn.metrics._ranking": "classification",
    "sklearn.metrics._scorer": "classification",  # the likelihood ratios
    "sklearn.metrics._regression": "regression",
}
_ADDRESS = re.compile(
    r"^(?:(?:tcp|tls|ws|wss|ucx)://)?(?:[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$"
)


class OptionError(ValueError):
    """A bad option, or data the options cannot work with; the message says which and why."""


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Examples and the explanation as written, defaults after each option that has one."""

    def _get_help_string(self, action):
        if action.default in (None, False, ""):
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    paragraphs = __doc__.split("\n\n")
    parser = argparse.ArgumentParser(
        prog="python -m sklearn_regpen",
        description="\n\n".join(paragraphs[:2]),
        epilog="\n\n".join(paragraphs[2:]).strip(),
        formatter_class=_Formatter,
    )
    data = parser.add_argument_group("data")
    data.add_argument("--dataset", default="digits", choices=sorted(CLASSIFICATION),
                      help="bundled scikit-learn table to use (classification)")
    data.add_argument("--per-class", type=int, default=50,
                      help="bundled tables: training rows per class; all other rows are held out")
    data.add_argument("--csv", type=Path, metavar="FILE",
                      help="your own table, a CSV file with a header row (replaces --dataset)")
    data.add_argument("--target", metavar="COLUMN",
                      help="the CSV column holding the labels or values to predict")
    data.add_argument("--na-values", metavar="MARKERS", default="",
                      help="with --csv: comma-separated cell values that mean 'missing', on top "
                           "of pandas' own (empty, NA, NaN, null...), e.g. '<null>,?'")
    data.add_argument("--test-size", type=float, default=0.25,
                      help="with --csv: share of the rows held out (stratified for "
                           "classification)")
    data.add_argument("--task", default="auto", choices=("auto", "classification", "regression"),
                      help="auto: regression for a numeric target that is continuous or has more "
                           f"than {MAX_AUTO_CLASSES} distinct values, classification otherwise")
    search = parser.add_argument_group("search")
    search.add_argument("--grid", default="ranges", choices=("ranges", "tabular"),
                        help="'ranges': --penalties x --grid-size values over each penalty's "
                             "range; 'tabular': the 8 candidates of search.TABULAR_GRID")
    search.add_argument("--penalties", default=",".join(DEFAULT_PENALTIES),
                        help=f"comma-separated penalties, from: {', '.join(PENALTIES)}")
    search.add_argument("--grid-size", type=int, default=3,
                        help="values per knob (alpha, epsilon) and penalty, log-spaced over the "
                             "penalty's useful range")
    search.add_argument("--cv", type=int, default=3,
                        help="cross-validation folds (stratified for classification)")
    search.add_argument("--scoring", metavar="NAME",
                        help="any scikit-learn scorer name that fits the task, e.g. "
                             "balanced_accuracy, f1_macro, neg_log_loss, r2, "
                             "neg_mean_absolute_error (default: accuracy for classification, "
                             "r2 for regression)")
    search.add_argument("--hidden", default="100",
                        help="hidden layer sizes, comma-separated (e.g. 256,256)")
    search.add_argument("--max-iter", type=int, default=200, help="maximum epochs per fit")
    search.add_argument("--seed", type=int, default=0,
                        help=f"seed of the split, the folds and every network (0 to {MAX_SEED})")
    run = parser.add_argument_group("running and output")
    run.add_argument("--n-jobs", type=int, default=-1,
                     help="parallel fits (-1: all cores, -2: all but one); with --dask, local "
                          "worker processes")
    dask = run.add_mutually_exclusive_group()
    dask.add_argument("--dask", action="store_true",
                      help="run the search and the refits on a local Dask cluster (needs the "
                           "'dask' extra)")
    dask.add_argument("--scheduler", metavar="ADDRESS",
                      help="run them on a running Dask cluster, e.g. tcp://10.0.0.5:8786")
    run.add_argument("--scheduler-timeout", type=float, default=10.0, metavar="SECONDS",
                     help="with --scheduler: seconds to wait for the scheduler to answer and "
                          "for a worker")
    run.add_argument("--top", type=int, default=0,
                     help="candidates to show, best first (0: all); the reference rows are "
                          "always shown")
    run.add_argument("--out", type=Path, metavar="DIR",
                     help="write model.joblib (the chosen pipeline, refitted on every training "
                          "row), results.csv and results.md there")
    return parser


# -- options and data, all checked before any training --------------------------------------------


@dataclass
class Data:
    """The training and held-out rows, and what the pipeline needs to know about them."""

    X_train: object
    X_test: object
    y_train: np.ndarray
    y_test: np.ndarray
    task: str
    preprocess: tuple
    description: str
    notes: list[str] = field(default_factory=list)


def _parse_args(argv=None, parser: argparse.ArgumentParser | None = None) -> argparse.Namespace:
    """Parse and check every option, read and split the data; exit 2 with a message if wrong."""
    parser = parser or build_parser()
    args = parser.parse_args(argv)
    try:
        _check_options(args)
        args.data = _load_data(args)
        args.scoring = _check_scoring(args.scoring, args.data)
        _check_cv(args)
        _make_out_dir(args)  # last: a refused run leaves no empty directory behind
    except OptionError as error:
        parser.error(str(error))
    return args


def _check_options(args: argparse.Namespace) -> None:
    """Checks that need no data; fills in the parsed forms of the list options."""
    args.penalties = list(dict.fromkeys(p.strip() for p in args.penalties.split(",") if p.strip()))
    if not args.penalties:
        raise OptionError(f"--penalties: no penalty given; choose from {', '.join(PENALTIES)}")
    unknown = [p for p in args.penalties if p not in PENALTIES]
    if unknown:
        raise OptionError(f"--penalties: unknown penalties {unknown}; choose from "
                          f"{', '.join(PENALTIES)}")
    text = args.hidden
    try:
        args.hidden = tuple(int(h) for h in text.split(","))
    except ValueError:
        raise OptionError(f"--hidden must be comma-separated integers, got {text!r}") from None
    if any(h < 1 for h in args.hidden):
        raise OptionError(f"--hidden: layer sizes must be at least 1, got {text!r}")
    for name in ("per_class", "grid_size", "max_iter"):
        if getattr(args, name) < 1:
            raise OptionError(f"--{name.replace('_', '-')} must be at least 1, got "
                              f"{getattr(args, name)}")
    if args.cv < 2:
        raise OptionError(f"--cv must be at least 2, got {args.cv}")
    if args.n_jobs == 0:
        raise OptionError("--n-jobs must be a number of parallel fits (1 or more), or -1 for all "
                          "cores, -2 for all but one...; got 0")
    if not 0 <= args.seed <= MAX_SEED:
        raise OptionError(f"--seed must be between 0 and {MAX_SEED}, got {args.seed}")
    if args.top < 0:
        raise OptionError(f"--top must be 0 (every row) or a number of rows, got {args.top}")
    if (args.csv is None) != (args.target is None):
        raise OptionError("--csv and --target go together: --csv data.csv --target label")
    if not 0 < args.test_size < 1:
        raise OptionError(f"--test-size must be between 0 and 1, got {args.test_size}")
    args.na_values = [v.strip() for v in args.na_values.split(",") if v.strip()]
    if args.na_values and args.csv is None:
        raise OptionError("--na-values is for --csv files")
    if args.csv is None and args.task == "regression":
        raise OptionError(f"--task regression needs --csv: the bundled table {args.dataset!r} "
                          "is a classification task")
    if not math.isfinite(args.scheduler_timeout) or args.scheduler_timeout <= 0:
        raise OptionError(f"--scheduler-timeout must be a positive number of seconds, got "
                          f"{args.scheduler_timeout}")
    args.on_dask = args.dask or args.scheduler is not None
    if args.on_dask and importlib.util.find_spec("distributed") is None:
        raise OptionError(f"{'--dask' if args.dask else '--scheduler'} needs the 'distributed' "
                          "package: pip install 'sklearn-regpen[dask]'")
    if args.scheduler is not None:
        match = _ADDRESS.match(args.scheduler.strip())
        if not match or not 1 <= int(match.group(1)) <= 65535:
            raise OptionError(f"--scheduler: {args.scheduler!r} is not a scheduler address; "
                              "write [tcp://]HOST:PORT, e.g. tcp://10.0.0.5:8786")
        args.scheduler = args.scheduler.strip()


def _load_data(args: argparse.Namespace) -> Data:
    if args.csv is None:
        return _bundled_data(args)
    return _csv_data(args)


def _bundled_data(args: argparse.Namespace) -> Data:
    X, y = load_classification(args.dataset)
    labels, counts = np.unique(y, return_counts=True)
    if args.per_class >= counts.min():
        raise OptionError(
            f"--per-class {args.per_class}: the smallest class of {args.dataset} "
            f"(class {labels[counts.argmin()]}) has {counts.min()} rows, and one must be held out: "
            f"at most --per-class {counts.min() - 1}"
        )
    X_train, X_test, y_train, y_test = per_class_split(X, y, args.per_class, args.seed)
    description = (f"[bold]{args.dataset}[/]: {len(y_train)} training rows ({args.per_class} per "
                   f"class), {len(y_test)} held out, {X.shape[1]} features")
    return Data(X_train, X_test, y_train, y_test, "classification", ("scale", StandardScaler()),
                description)


def _read_csv(args: argparse.Namespace) -> pd.DataFrame:
    path = args.csv
    if path.is_dir():
        raise OptionError(f"--csv: {path} is a directory, not a CSV file")
    if not path.exists():
        raise OptionError(f"--csv: no such file: {path}")
    try:
        return pd.read_csv(path, na_values=args.na_values or None)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise OptionError(f"--csv: {path} cannot be read as a CSV file: {error}")
    except OSError as error:
        raise OptionError(f"--csv: {path} cannot be read: {error}")


def _infer_task(y: np.ndarray, args: argparse.Namespace) -> tuple[str, str]:
    """``(task, reason)`` for the target ``y``, following ``--task``."""
    numeric = pd.api.types.is_numeric_dtype(y.dtype) and not pd.api.types.is_bool_dtype(y.dtype)
    kind = type_of_target(y)
    distinct = len(np.unique(y.astype(str) if not numeric else y))
    if args.task == "regression":
        if not numeric:
            example = next(v for v in y if isinstance(v, str))
            raise OptionError(f"--task regression: target column {args.target!r} is not numeric "
                              f"(it has values like {example!r})")
        return "regression", "--task regression"
    if args.task == "classification":
        if kind == "continuous":
            example = next(v for v in y if float(v) != int(v))
            raise OptionError(
                f"--task classification: target column {args.target!r} has non-integer values "
                f"(like {example!r}), which are not class labels; use --task regression"
            )
        return "classification", "--task classification"
    if kind == "continuous":
        return "regression", f"{args.target!r} has non-integer values; --task to override"
    if numeric and distinct > MAX_AUTO_CLASSES:
        return "regression", (f"{args.target!r} is numeric with {distinct} distinct values "
                              f"(more than {MAX_AUTO_CLASSES}); --task to override")
    return "classification", (f"{args.target!r} has {distinct} classes; --task to override")


def _text_columns_with_stray_markers(X: pd.DataFrame) -> dict:
    """Text columns that would be numeric but for a few markers, e.g. ``<null>`` or ``?``."""
    found = {}
    for name in infer_columns(X)[1]:
        column = X[name].dropna().astype(str)
        numbers = pd.to_numeric(column, errors="coerce")
        markers = sorted(set(column[numbers.isna()]))
        if 0 < len(markers) <= 3 and numbers.notna().mean() > 0.5:
            found[str(name)] = markers
    return found


def _csv_data(args: argparse.Namespace) -> Data:
    table = _read_csv(args)
    try:
        X, y = split_target(table, args.target)
    except TableError as error:
        raise OptionError(f"--csv {args.csv}: {error}")
    task, reason = _infer_task(y, args)
    if task == "regression":
        y = y.astype(np.float64)
        n_test = math.ceil(args.test_size * len(y))
        if n_test < 2 or len(y) - n_test < 2 * args.cv:
            raise OptionError(
                f"--csv {args.csv}: {len(y)} rows are too few for --cv {args.cv} and --test-size "
                f"{args.test_size}: regression needs 2 held-out rows and 2 rows in each of the "
                "--cv folds"
            )
        stratify = None
    else:
        labels, counts = np.unique(y.astype(str), return_counts=True)
        # every class needs a held-out row and a row in each of the --cv training folds
        needed = max(math.ceil(args.cv / (1 - args.test_size)) + 1, math.ceil(1 / args.test_size))
        if counts.min() < needed:
            rare = {str(k): int(n) for k, n in zip(labels, counts) if n < needed}
            shown = dict(list(rare.items())[:10])
            more = f" and {len(rare) - 10} more" if len(rare) > 10 else ""
            raise OptionError(
                f"--csv {args.csv}: {len(rare)} of {len(labels)} classes have fewer than "
                f"{needed} rows (needed for --cv {args.cv} and --test-size {args.test_size}): "
                f"{shown}{more}"
            )
        stratify = y
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=args.test_size, stratify=stratify, random_state=args.seed
    )
    numeric, categorical = infer_columns(X)
    description = (
        f"[bold]{escape(args.csv.name)}[/]: {task} ({escape(reason)}), {len(y_train)} training "
        f"rows, {len(y_test)} held out, {X.shape[1]} features ({len(numeric)} numeric, "
        f"{len(categorical)} categorical: imputed, one-hot encoded and scaled)"
    )
    notes = [
        f"column {name!r} is read as text because of the values {markers}; if they mark missing "
        f"cells, pass --na-values '{','.join(markers)}'"
        for name, markers in _text_columns_with_stray_markers(X).items()
    ]
    return Data(X_train, X_test, y_train, y_test, task, ("prep", make_preprocessor(X)),
                description, notes)


def _scorer_task(name: str) -> str | None:
    module = getattr(get_scorer(name)._score_func, "__module__", "")
    return _SCORER_MODULES.get(module)


def _check_scoring(name: str | None, data: Data) -> str:
    """The scorer name to use: ``--scoring``, checked against the task and the target."""
    if name is None:
        return DEFAULT_SCORING[data.task]
    if name not in get_scorer_names():
        close = difflib.get_close_matches(name, get_scorer_names(), n=3)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise OptionError(f"--scoring: unknown scorer {name!r}; {hint}the names are those of "
                          "sklearn.metrics.get_scorer_names()")
    kind = _scorer_task(name)
    if kind is None:
        raise OptionError(f"--scoring {name} compares clusterings; use a {data.task} score such "
                          f"as {DEFAULT_SCORING[data.task]}")
    if kind != data.task:
        raise OptionError(f"--scoring {name} is a {kind} score, and the task is {data.task}; use "
                          f"a {data.task} score such as {DEFAULT_SCORING[data.task]} (or --task)")
    # a model that ignores the inputs finds what the target and the scorer cannot do together:
    # a binary-only score on several classes, a pos_label the labels lack, logs of negative values
    y = np.concatenate([np.asarray(data.y_train), np.asarray(data.y_test)])
    X = np.zeros((len(y), 1))
    dummy = DummyClassifier(strategy="prior") if data.task == "classification" else DummyRegressor()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            get_scorer(name)(dummy.fit(X, y), X, y)
    except (ValueError, TypeError) as error:
        raise OptionError(f"--scoring {name} does not work with this target: {error}")
    return name


def _check_cv(args: argparse.Namespace) -> None:
    """Enough training rows for ``--cv`` folds (for --csv, _csv_data has checked already)."""
    if args.csv is None and args.cv > args.per_class:
        raise OptionError(f"--cv {args.cv}: more folds than the {args.per_class} training rows of "
                          f"each class (--per-class); use at most --cv {args.per_class}")


def _make_out_dir(args: argparse.Namespace) -> None:
    if args.out is None:
        return
    if args.out.exists() and not args.out.is_dir():
        raise OptionError(f"--out: {args.out} exists and is not a directory")
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OptionError(f"--out: cannot create the directory {args.out}: {error}") from None


# -- the search -----------------------------------------------------------------------------------


def _models(args: argparse.Namespace, task: str):
    """``(network step, parameter prefix, {reference name: reference step})`` for the task."""
    net_options = dict(hidden_layer_sizes=args.hidden, max_iter=args.max_iter,
                       random_state=args.seed)
    # one torch thread per fit (the estimators' default): parallelism comes from n_jobs
    if task == "classification":
        return (
            RegularizedMLPClassifier(**net_options),
            "net__",
            {"majority class": DummyClassifier(strategy="most_frequent"),
             "sklearn MLPClassifier": MLPClassifier(random_state=args.seed)},
        )

    # the network standardizes the target itself (normalize_y=True); scikit-learn's MLPRegressor
    # does not, so the reference gets the same standardization from TransformedTargetRegressor
    reference = TransformedTargetRegressor(MLPRegressor(random_state=args.seed),
                                           transformer=StandardScaler())
    return (
        RegularizedMLPRegressor(**net_options),
        "net__",
        {"mean target": DummyRegressor(strategy="mean"), "sklearn MLPRegressor": reference},
    )


def _fit_and_score(pipeline, params, scorer, X_train, y_train, X_test, y_test):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = clone(pipeline).set_params(**params).fit(X_train, y_train)
    return model, float(scorer(model, X_test, y_test))


def _progress(console: Console) -> Progress:
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _search_with_progress(search, X, y, console: Console, callbacks: bool = True) -> None:
    """Fit ``search``, showing scikit-learn's own progress bar where it has one (1.9 and later).

    ``callbacks=False`` keeps to a plain spinner: scikit-learn's progress bar reports back over a
    local socket, which workers on other machines cannot reach.
    """
    try:
        from sklearn.callback import ProgressBar
    except ImportError:
        callbacks = False
    if not callbacks:
        with _progress(console) as progress:
            progress.add_task("cross-validation", total=None)
            search.fit(X, y)
        return
    search.set_callbacks(ProgressBar(max_propagation_depth=0))
    search.fit(X, y)


@dataclass
class Sweep:
    """What the main job found.

    ``rows`` holds one dict per candidate and per reference model, best cross-validation score
    first; ``chosen`` is the candidate row with the best score, ``model`` its pipeline refitted
    on every training row, ``references`` the reference rows (baseline first). Only ``chosen``
    and the reference rows have a ``held_out`` score.
    """

    rows: list[dict]
    chosen: dict
    references: list[dict]
    model: Pipeline
    data: Data
    scoring: str
    cv_seconds: float


def sweep(args: argparse.Namespace, console: Console) -> Sweep:
    """Run the search, then refit the chosen candidate and the references and score them."""
    data = args.data
    console.print(data.description, soft_wrap=True)
    for note in data.notes:
        console.print(f"[yellow]note[/]: {escape(note)}", soft_wrap=True)
    net, prefix, references = _models(args, data.task)
    pipeline = Pipeline([data.preprocess, ("net", net)])
    # on Dask, -1 means every worker thread of the cluster
    n_jobs = -1 if args.on_dask else args.n_jobs
    if args.grid == "tabular":
        grid = tabular_grid(prefix=prefix)
    else:
        grid = param_grid(args.penalties, args.grid_size, prefix=prefix)
    n_candidates = sum(math.prod(len(v) for v in entry.values()) for entry in grid)
    grid += [{"net": [reference]} for reference in references.values()]
    if data.task == "classification":
        splitter = StratifiedKFold(args.cv, shuffle=True, random_state=args.seed)
    else:
        splitter = KFold(args.cv, shuffle=True, random_state=args.seed)
    # fixed folds, and the data and folds that Dask copies to every worker (see _dask.py)
    X_train, y_train, X_test, y_test = data.X_train, data.y_train, data.X_test, data.y_test
    folds, shared = replicated_inputs(X_train, y_train, splitter, X_test, y_test)
    search = GridSearchCV(pipeline, grid, cv=folds, scoring=args.scoring, n_jobs=n_jobs,
                          refit=False)
    scorer = get_scorer(args.scoring)

    with warnings.catch_warnings(), _backend(args, console, shared):
        warnings.simplefilter("ignore", ConvergenceWarning)
        started = time.perf_counter()
        _search_with_progress(search, X_train, y_train, console, callbacks=not args.on_dask)
        cv_seconds = time.perf_counter() - started
        results = search.cv_results_
        params = results["params"]
        console.print(f"searched {n_candidates} candidates and {len(references)} reference "
                      f"models x {args.cv} folds in {cv_seconds:.0f}s")

        rows = []
        for i, p in enumerate(params):
            row = {"model": "", "penalty": None, "alpha": None, "epsilon": None,
                   "cv_mean": float(results["mean_test_score"][i]),
                   "cv_std": float(results["std_test_score"][i]),
                   "fit_seconds": float(results["mean_fit_time"][i]),
                   "held_out": None, "chosen": False, "params": p}
            if i < n_candidates:
                penalty = PENALTIES[p[prefix + "penalty"]]
                row.update(
                    model=type(net).__name__,
                    penalty=p[prefix + "penalty"],
                    alpha=p.get(prefix + "alpha") if penalty.uses_alpha else None,
                    epsilon=p.get(prefix + "epsilon") if penalty.uses_epsilon else None,
                )
            else:
                row["model"] = list(references)[i - n_candidates]
            rows.append(row)
        candidates = [r for r in rows[:n_candidates] if not math.isnan(r["cv_mean"])]
        if not candidates:
            raise OptionError(f"--scoring {args.scoring}: every candidate failed to score; "
                              "scikit-learn's warnings above say why")
        chosen = max(candidates, key=lambda r: r["cv_mean"])  # the first of equals
        chosen["chosen"] = True

        refits = [chosen, *rows[n_candidates:]]
        with _progress(console) as progress:
            task = progress.add_task("refit + held-out score", total=len(refits))
            jobs = Parallel(n_jobs=n_jobs, return_as="generator")(
                delayed(_fit_and_score)(pipeline, r["params"], scorer, X_train, y_train,
                                        X_test, y_test)
                for r in refits
            )
            models = []
            for r, (model, held_out) in zip(refits, jobs):
                r["held_out"] = held_out
                models.append(model)
                progress.advance(task)

    for r in rows:
        del r["params"]
    rows.sort(key=lambda r: (math.isnan(r["cv_mean"]), -np.nan_to_num(r["cv_mean"], nan=0.0),
                             r["model"], r["penalty"] or ""))
    return Sweep(rows, chosen, refits[1:], models[0], data, args.scoring, cv_seconds)


def run_sweep(args: argparse.Namespace, console: Console) -> list[dict]:
    """The rows of :func:`sweep`: every candidate and reference, best cross-validation first."""
    return sweep(args, console).rows


def _rank_labels(rows: list[dict]) -> list[str]:
    labels, rank = [], 0
    for r in rows:
        if r["penalty"] is None:
            labels.append("ref")
        else:
            rank += 1
            labels.append(str(rank))
    return labels


def _shown(rows: list[dict], top: int) -> list[tuple[str, dict]]:
    """``(rank, row)`` of the first ``top`` candidates (0: all) and of every reference row."""
    labelled = list(zip(_rank_labels(rows), rows))
    return [(label, r) for label, r in labelled
            if not top or label == "ref" or int(label) <= top]


def _name(row: dict) -> str:
    return row["penalty"] if row["penalty"] is not None else row["model"]


def render(rows: list[dict], top: int = 0, scoring: str = "accuracy") -> Table:
    """The ranked table: the first ``top`` candidates (0: all) and the reference rows.

    The chosen candidate (``row["chosen"]``) is bold, the reference rows are dim; there is no
    held-out column, so that nothing invites choosing on the held-out rows.
    """
    table = Table(title=f"Penalty sweep, ranked by cross-validation {scoring}")
    for column in ("#", "penalty", "alpha", "eps", f"CV {scoring}", "± std", "fit s"):
        table.add_column(column, justify="left" if column == "penalty" else "right")
    for label, r in _shown(rows, top):
        style = "bold" if r.get("chosen") else "dim" if label == "ref" else None
        table.add_row(
            label, _name(r),
            "-" if r["alpha"] is None else f"{r['alpha']:g}",
            "-" if r["epsilon"] is None else f"{r['epsilon']:g}",
            f"{r['cv_mean']:.4f}", f"{r['cv_std']:.4f}", f"{r['fit_seconds']:.2f}",
            style=style,
        )
    return table


def summary(result: Sweep) -> str:
    """One line: the chosen candidate and its held-out score, then the references'."""
    chosen, data = result.chosen, result.data
    knobs = ", ".join(f"{k}={chosen[k]:g}" for k in ("alpha", "epsilon") if chosen[k] is not None)
    references = ", ".join(f"{r['model']} {r['held_out']:.4f}" for r in result.references)
    return (f"chosen by CV: {chosen['penalty']}{f' ({knobs})' if knobs else ''}, refitted on "
            f"{len(data.y_train)} training rows: held-out {result.scoring} "
            f"{chosen['held_out']:.4f} on {len(data.y_test)} rows; for comparison, {references}")


def write_results(result: Sweep, out: Path) -> list[Path]:
    """``model.joblib``, ``results.csv`` and ``results.md`` in ``out``; returns their paths."""
    paths = [out / "model.joblib", out / "results.csv", out / "results.md"]
    joblib.dump(result.model, paths[0])
    columns = ["rank", "model", "penalty", "alpha", "epsilon", "cv_mean", "cv_std",
               "fit_seconds", "chosen", "held_out"]
    table = pd.DataFrame(
        [{"rank": label, **r} for label, r in _shown(result.rows, 0)]
    ).reindex(columns=columns)
    table.to_csv(paths[1], index=False)
    lines = [
        f"| # | penalty | alpha | eps | CV {result.scoring} | ± std | fit s |",
        "|--:|:--|--:|--:|--:|--:|--:|",
    ]
    for label, r in _shown(result.rows, 0):
        cells = [
            label, f"**{_name(r)}**" if r["chosen"] else _name(r),
            "-" if r["alpha"] is None else f"{r['alpha']:g}",
            "-" if r["epsilon"] is None else f"{r['epsilon']:g}",
            f"{r['cv_mean']:.4f}", f"{r['cv_std']:.4f}", f"{r['fit_seconds']:.2f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", summary(result), ""]
    paths[2].write_text("\n".join(lines), encoding="utf-8")
    return paths


@contextlib.contextmanager
def _backend(args: argparse.Namespace, console: Console, shared: list):
    """joblib's default backend, or Dask when ``--dask`` or ``--scheduler`` asks for it.

    On Dask, ``shared`` (the data and the folds) is copied to every worker up front, so that the
    sweep survives a worker that dies. A scheduler that does not answer within
    ``--scheduler-timeout`` seconds is an :class:`OptionError`.
    """
    if not args.on_dask:
        yield
        return
    from ._dask import dask_backend

    n_workers = effective_n_jobs(args.n_jobs)
    with contextlib.ExitStack() as stack:
        try:
            client = stack.enter_context(dask_backend(
                args.scheduler, n_workers=n_workers, scatter=shared,
                timeout=args.scheduler_timeout if args.scheduler else 60,
            ))
        except OSError as error:  # TimeoutError included
            if args.scheduler is None:
                raise OptionError(f"--dask: the local cluster did not start: {error}") from None
            raise OptionError(f"--scheduler {args.scheduler}: no Dask scheduler with a worker "
                              f"answered within {args.scheduler_timeout:g} s ({error})") from None
        threads = sum(client.nthreads().values())
        console.print(f"Dask scheduler {client.scheduler.address}, worker threads: {threads}")
        yield


def main(argv=None) -> int:
    parser = build_parser()
    args = _parse_args(argv, parser)
    console = Console()
    started = time.perf_counter()
    try:
        result = sweep(args, console)
    except OptionError as error:
        parser.error(str(error))
    console.print(render(result.rows, args.top, result.scoring))
    console.print(summary(result), soft_wrap=True)
    if args.out is not None:
        paths = write_results(result, args.out)
        console.print(f"wrote {', '.join(str(p) for p in paths)}", soft_wrap=True)
    console.print(f"total wall time {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
