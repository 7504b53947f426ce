"""The sweep's options: the parser, its help (plain text), and every check made before training.

:func:`parse_sweep_args` parses the options, checks them, reads and splits the data and checks the
output directory, so that a job that cannot finish ends before its first fit, with a message and
exit status 2. Defaults that the estimators also have (``--max-iter``, ``--hidden``) are read from
the estimators, so the two cannot drift apart.
"""

from __future__ import annotations

import argparse
import difflib
import importlib.util
import math
import re
import tempfile
import warnings
from pathlib import Path

import numpy as np
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.metrics import get_scorer, get_scorer_names

from ..datasets import CLASSIFICATION
from ..estimators import RegularizedMLPClassifier, RegularizedMLPRegressor
from ..penalties import PENALTIES
from .errors import OptionError
from .table import MAX_AUTO_CLASSES, Data, bundled_data, csv_data

DEFAULT_PENALTIES = ("none", "l2", "noise", "jacobian", "noisy_jacobian", "c2c")
#: the largest seed numpy's generators take
MAX_SEED = 2**32 - 1
DEFAULT_SCORING = {"classification": "accuracy", "regression": "r2"}
#: the networks' defaults, as the estimators define them
NET_DEFAULTS = RegularizedMLPClassifier().get_params()
#: each task's network's hidden layers, as its estimator defines them
HIDDEN_DEFAULTS = {"classification": RegularizedMLPClassifier().hidden_layer_sizes,
                   "regression": RegularizedMLPRegressor().hidden_layer_sizes}  # fmt: skip
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

# The help, in plain text (argparse fills in %(prog)s: the command's name as it was run).
DESCRIPTION = """\
A penalty sweep: a cross-validated grid search over penalty, alpha and epsilon of a pipeline
(preprocessing, then RegularizedMLPClassifier or RegularizedMLPRegressor) on a training set, and a
table that ranks every candidate by cross-validation score.

examples:
  %(prog)s                                        # digits, 50 training rows per class
  %(prog)s --dataset wine --per-class 20 --penalties none,jacobian,c2c
  %(prog)s --csv data.csv --target label --out results/          # your own table
  %(prog)s --csv houses.csv --target price --na-values '<null>' --out results/
  %(prog)s predict --model results/ --csv new.csv --out predictions.csv
  %(prog)s --dask                                 # the sweep on a local Dask cluster
  %(prog)s --scheduler tcp://10.0.0.5:8786        # ... or on a running one"""

EPILOG = """\
Two reference models go through the same preprocessing and the same folds: a baseline that
ignores the inputs (the majority class, or the mean target) and scikit-learn's MLPClassifier or
MLPRegressor with its defaults. The table ranks every candidate and both references by
cross-validation score (mean and standard deviation over the folds, and the mean fit time). Only
the candidate with the best cross-validation score is refitted on the whole training set and
scored on the held-out rows, with the two references for comparison: the held-out rows judge the
choice, they do not make it.

Bundled tables (--dataset) are classification tasks: --per-class rows of each class are for
training, the rest are held out, and the inputs are standardized. With --csv FILE --target COLUMN
the table is read from a CSV file (never written to): numeric and text columns are told apart,
missing cells are imputed (median of a numeric column, most frequent text), text columns one-hot
encoded and every column standardized, and --test-size of the rows are held out (stratified by
class for classification). --na-values names the markers of missing cells besides pandas' own
(KEEL files write <null>). A header that names a column twice is refused: pandas would rename the
second copy and learn from it as a feature.

Classification or regression (--task auto): a target with text or True/False values is
classification; a numeric target is regression when scikit-learn's type_of_target calls it
continuous (non-integer values) or when it has more than %(max_classes)d distinct values (counts,
ages, prices in whole units), and classification otherwise (integer codes of at most
%(max_classes)d classes). --task classification or --task regression overrides the guess.
Regression standardizes the target for the networks (RegularizedMLPRegressor's normalize_y=True;
the MLPRegressor reference gets the same through TransformedTargetRegressor; predictions come back
in the target's units), uses KFold rather than StratifiedKFold, and scores by R^2 unless --scoring
names another scikit-learn scorer.

With --out DIR the chosen pipeline, refitted on every training row, is saved as DIR/model.joblib
(joblib.load it and call predict on a table with the same columns), with DIR/model.json (the
target, the feature columns and the --na-values the file was read with), and the table as
DIR/results.csv and DIR/results.md. "%(prog)s predict --model DIR --csv new.csv --out
predictions.csv" predicts the target of every row of a new file, read as the training file was
(%(prog)s predict --help).

Paths are relative to the current directory. Every option, the data and the output directory are
checked before any training: a bad value ends the job with a message and exit status 2."""


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Examples and the explanation as written, defaults after each option that has one."""

    def _get_help_string(self, action):
        if action.default in (None, False, ""):
            return action.help
        return super()._get_help_string(action)


def build_parser(prog: str = "regpen-sweep") -> argparse.ArgumentParser:
    """The sweep's parser; ``prog`` is the command's name in its help and messages."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=DESCRIPTION,
        epilog=EPILOG.replace("%(max_classes)d", str(MAX_AUTO_CLASSES)),
        formatter_class=HelpFormatter,
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
    search.add_argument("--hidden", default=None,
                        help="hidden layer sizes, comma-separated (e.g. 256,256), as the "
                             "networks' hidden_layer_sizes (default: the estimator's, "
                             + "; ".join(f"{','.join(map(str, h))} for {task}"
                                         for task, h in HIDDEN_DEFAULTS.items()) + ")")
    search.add_argument("--max-iter", type=int, default=NET_DEFAULTS["max_iter"],
                        help="maximum epochs per fit, as the networks' max_iter")
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
                          "row), model.json, results.csv and results.md there")
    return parser


def parse_sweep_args(argv=None, parser: argparse.ArgumentParser | None = None):
    """Parse and check every option, read and split the data; exit 2 with a message if wrong."""
    parser = parser or build_parser()
    args = parser.parse_args(argv)
    try:
        check_options(args)
        args.data = load_data(args)
        args.scoring = check_scoring(args.scoring, args.data)
        check_cv(args)
        if args.out is not None:
            make_out_dir(args.out)  # last: a refused run leaves no empty directory behind
    except OptionError as error:
        parser.error(str(error))
    return args


def check_options(args: argparse.Namespace) -> None:
    """Checks that need no data; fills in the parsed forms of the list options."""
    args.penalties = list(dict.fromkeys(p.strip() for p in args.penalties.split(",") if p.strip()))
    if not args.penalties:
        raise OptionError(f"--penalties: no penalty given; choose from {', '.join(PENALTIES)}")
    unknown = [p for p in args.penalties if p not in PENALTIES]
    if unknown:
        raise OptionError(f"--penalties: unknown penalties {unknown}; choose from "
                          f"{', '.join(PENALTIES)}")
    text = args.hidden
    if text is not None:  # None: each task's estimator's own default
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


def load_data(args: argparse.Namespace) -> Data:
    if args.csv is None:
        return bundled_data(args.dataset, args.per_class, args.seed)
    return csv_data(args.csv, args.target, na_values=args.na_values, task=args.task,
                    test_size=args.test_size, cv=args.cv, seed=args.seed)


def _scorer_task(name: str) -> str | None:
    module = getattr(get_scorer(name)._score_func, "__module__", "")
    return _SCORER_MODULES.get(module)


def check_scoring(name: str | None, data: Data) -> str:
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
        raise OptionError(f"--scoring {name} does not work with this target: {error}") from None
    return name


def check_cv(args: argparse.Namespace) -> None:
    """Enough training rows for ``--cv`` folds (for --csv, csv_data has checked already)."""
    if args.csv is None and args.cv > args.per_class:
        raise OptionError(f"--cv {args.cv}: more folds than the {args.per_class} training rows of "
                          f"each class (--per-class); use at most --cv {args.per_class}")


def check_writable(directory: Path, option: str) -> None:
    """Refuse a directory in which no file can be created (permissions, a read-only disk): the
    job would otherwise fail there only after all its training."""
    try:
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as error:
        raise OptionError(f"{option}: cannot write in the directory {directory}: "
                          f"{error.strerror or error}") from None


def make_out_dir(out: Path, option: str = "--out") -> None:
    """Create the output directory ``out`` if needed, and check that files can be written there."""
    if out.exists() and not out.is_dir():
        raise OptionError(f"{option}: {out} exists and is not a directory")
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OptionError(f"{option}: cannot create the directory {out}: "
                          f"{error.strerror or error}") from None
    try:
        check_writable(out, option)
    except OptionError:
        if created:
            out.rmdir()
        raise
