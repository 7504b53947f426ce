"""The main job: a penalty / strength / noise sweep with a ranked table.

    python -m sklearn_regpen                       # digits, 50 training rows per class
    python -m sklearn_regpen --dataset wine --per-class 20 --penalties none,jacobian,c2c
    python -m sklearn_regpen --dask                # the same sweep on a local Dask cluster
    python -m sklearn_regpen --scheduler tcp://10.0.0.5:8786   # ... or on a running one
    python -m sklearn_regpen --csv data.csv --target label --grid tabular   # your own table

A ``GridSearchCV`` over ``penalty``, ``alpha`` and ``epsilon`` of a ``Pipeline`` (``StandardScaler``
then ``RegularizedMLPClassifier``) on a small training set; every candidate is then refitted on the
whole training set and scored on the held-out rows, and the table is ranked by cross-validation
score (the held-out column is for judging the search, not for choosing).

With ``--csv FILE --target COLUMN`` the table is read from a CSV file: numeric and text columns are
told apart, a ``ColumnTransformer`` imputes, one-hot encodes and scales them
(``sklearn_regpen.tables``), and ``--test-size`` of the rows (stratified) are held out.
"""

from __future__ import annotations

import argparse
import contextlib
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed, effective_n_jobs
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ._dask import replicated_inputs
from .datasets import CLASSIFICATION, load_classification, per_class_split
from .estimators import RegularizedMLPClassifier
from .penalties import PENALTIES
from .search import param_grid, tabular_grid
from .tables import TableError, infer_columns, make_preprocessor, split_target

DEFAULT_PENALTIES = ("none", "l2", "noise", "jacobian", "noisy_jacobian", "c2c")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sklearn_regpen",
        description=__doc__.split("\n\n")[1],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--dataset", default="digits", choices=sorted(CLASSIFICATION),
                        help="bundled scikit-learn table to use")
    parser.add_argument("--per-class", type=int, default=50,
                        help="training rows per class; all other rows are held out")
    parser.add_argument("--csv", type=Path, metavar="FILE",
                        help="your own table, a CSV file with a header row (replaces --dataset)")
    parser.add_argument("--target", metavar="COLUMN", help="the CSV column holding the labels")
    parser.add_argument("--test-size", type=float, default=0.25,
                        help="with --csv: share of the rows held out (stratified)")
    parser.add_argument("--grid", default="ranges", choices=("ranges", "tabular"),
                        help="'ranges': --penalties x --grid-size values over each penalty's "
                             "range; 'tabular': the 8 candidates of search.TABULAR_GRID")
    parser.add_argument("--penalties", default=",".join(DEFAULT_PENALTIES),
                        help=f"comma-separated penalties, from: {', '.join(PENALTIES)}")
    parser.add_argument("--grid-size", type=int, default=3,
                        help="values per knob (alpha, epsilon) and penalty, log-spaced over the "
                             "penalty's useful range")
    parser.add_argument("--cv", type=int, default=3, help="cross-validation folds")
    parser.add_argument("--hidden", default="100",
                        help="hidden layer sizes, comma-separated (e.g. 256,256)")
    parser.add_argument("--max-iter", type=int, default=200, help="maximum epochs per fit")
    parser.add_argument("--n-jobs", type=int, default=-1,
                        help="parallel fits (-1: all cores); with --dask, local worker processes")
    dask = parser.add_mutually_exclusive_group()
    dask.add_argument("--dask", action="store_true",
                      help="run the search and the refits on a local Dask cluster (needs the "
                           "'dask' extra)")
    dask.add_argument("--scheduler", metavar="ADDRESS",
                      help="run them on a running Dask cluster, e.g. tcp://10.0.0.5:8786")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the split, the folds and every network")
    parser.add_argument("--top", type=int, default=0, help="rows of the table to show (0: all)")
    return parser


def _parse_args(argv=None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.penalties = [p.strip() for p in args.penalties.split(",") if p.strip()]
    unknown = [p for p in args.penalties if p not in PENALTIES]
    if unknown:
        parser.error(f"unknown penalties {unknown}; choose from {', '.join(PENALTIES)}")
    try:
        args.hidden = tuple(int(h) for h in args.hidden.split(","))
    except ValueError:
        parser.error(f"--hidden must be comma-separated integers, got {args.hidden!r}")
    for name in ("per_class", "grid_size", "max_iter"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.cv < 2:
        parser.error("--cv must be at least 2")
    if (args.csv is None) != (args.target is None):
        parser.error("--csv and --target go together: --csv data.csv --target label")
    if not 0 < args.test_size < 1:
        parser.error("--test-size must be between 0 and 1")
    args.table = None
    if args.csv is not None:
        args.table = _read_table(parser, args)
    args.on_dask = args.dask or args.scheduler is not None
    return args


def _read_table(parser: argparse.ArgumentParser, args: argparse.Namespace):
    """``(X, y)`` from ``--csv`` / ``--target``, or a parser error that says what is wrong."""
    try:
        table = pd.read_csv(args.csv)
    except FileNotFoundError:
        parser.error(f"--csv: no such file: {args.csv}")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        parser.error(f"--csv: {args.csv} cannot be read as a CSV file: {error}")
    try:
        X, y = split_target(table, args.target)
    except TableError as error:
        parser.error(f"--csv {args.csv}: {error}")
    labels, counts = np.unique(y.astype(str), return_counts=True)
    # every class needs a held-out row and a row in each of the --cv training folds
    needed = max(int(np.ceil(args.cv / (1 - args.test_size))) + 1, int(np.ceil(1 / args.test_size)))
    if counts.min() < needed:
        rare = {str(k): int(n) for k, n in zip(labels, counts) if n < needed}
        parser.error(f"--csv {args.csv}: classes with fewer than {needed} rows (needed for "
                     f"--cv {args.cv} and --test-size {args.test_size}): {rare}")
    return X, y


def _training_data(args: argparse.Namespace, console: Console):
    """Training and held-out rows, and the preprocessing step in front of the network."""
    if args.table is None:
        X, y = load_classification(args.dataset)
        X_train, X_test, y_train, y_test = per_class_split(X, y, args.per_class, args.seed)
        console.print(
            f"[bold]{args.dataset}[/]: {len(y_train)} training rows ({args.per_class} per class), "
            f"{len(y_test)} held out, {X.shape[1]} features"
        )
        return X_train, X_test, y_train, y_test, ("scale", StandardScaler())
    X, y = args.table
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=args.test_size, stratify=y, random_state=args.seed
    )
    numeric, categorical = infer_columns(X)
    console.print(
        f"[bold]{args.csv.name}[/]: {len(y_train)} training rows, {len(y_test)} held out, "
        f"{X.shape[1]} features ({len(numeric)} numeric, {len(categorical)} categorical: "
        "imputed, one-hot encoded and scaled)"
    )
    return X_train, X_test, y_train, y_test, ("prep", make_preprocessor(X))


def _refit_and_score(pipeline, params, X_train, y_train, X_test, y_test):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        started = time.perf_counter()
        model = clone(pipeline).set_params(**params).fit(X_train, y_train)
        seconds = time.perf_counter() - started
    return model.score(X_test, y_test), seconds


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


def run_sweep(args: argparse.Namespace, console: Console) -> list[dict]:
    """Run the search and the held-out refits; return one row per candidate, best CV first."""
    X_train, X_test, y_train, y_test, preprocess = _training_data(args, console)
    pipeline = Pipeline([
        preprocess,
        # one torch thread per fit (the estimators' default): parallelism comes from n_jobs
        ("net", RegularizedMLPClassifier(hidden_layer_sizes=args.hidden, max_iter=args.max_iter,
                                         random_state=args.seed)),
    ])
    # on Dask, -1 means every worker thread of the cluster
    n_jobs = -1 if args.on_dask else args.n_jobs
    if args.grid == "tabular":
        grid = tabular_grid(prefix="net__")
    else:
        grid = param_grid(args.penalties, args.grid_size, prefix="net__")
    splitter = StratifiedKFold(args.cv, shuffle=True, random_state=args.seed)
    # fixed folds, and the data and folds that Dask copies to every worker (see _dask.py)
    folds, shared = replicated_inputs(X_train, y_train, splitter, X_test, y_test)
    search = GridSearchCV(pipeline, grid, cv=folds, n_jobs=n_jobs, refit=False)

    with warnings.catch_warnings(), _backend(args, console, shared):
        warnings.simplefilter("ignore", ConvergenceWarning)
        started = time.perf_counter()
        _search_with_progress(search, X_train, y_train, console, callbacks=not args.on_dask)
        cv_seconds = time.perf_counter() - started
        results = search.cv_results_
        params = results["params"]
        console.print(f"searched {len(params)} candidates x {args.cv} folds in {cv_seconds:.0f}s")

        with _progress(console) as progress:
            task = progress.add_task("refit + held-out score", total=len(params))
            jobs = Parallel(n_jobs=n_jobs, return_as="generator")(
                delayed(_refit_and_score)(pipeline, p, X_train, y_train, X_test, y_test)
                for p in params
            )
            held_out = []
            for outcome in jobs:
                held_out.append(outcome)
                progress.advance(task)

    rows = []
    for i, p in enumerate(params):
        penalty = PENALTIES[p["net__penalty"]]
        rows.append({
            "penalty": p["net__penalty"],
            "alpha": p.get("net__alpha") if penalty.uses_alpha else None,
            "epsilon": p.get("net__epsilon") if penalty.uses_epsilon else None,
            "cv_mean": float(results["mean_test_score"][i]),
            "cv_std": float(results["std_test_score"][i]),
            "held_out": float(held_out[i][0]),
            "fit_seconds": float(held_out[i][1]),
        })
    rows.sort(key=lambda r: (-r["cv_mean"], r["penalty"]))
    return rows


def render(rows: list[dict], top: int = 0) -> Table:
    """The ranked table: one row per candidate, best cross-validation score first.

    Held-out accuracies of regularized settings that beat ``penalty="none"`` are green.
    """
    table = Table(title="Penalty sweep, ranked by cross-validation accuracy")
    for column in ("#", "penalty", "alpha", "eps", "CV acc", "± std", "held-out", "fit s"):
        table.add_column(column, justify="left" if column == "penalty" else "right")
    baseline = max((r["held_out"] for r in rows if r["penalty"] == "none"), default=None)
    for rank, r in enumerate(rows[: top or None], start=1):
        held = f"{r['held_out']:.4f}"
        if baseline is not None and r["penalty"] != "none" and r["held_out"] > baseline:
            held = f"[green]{held}[/]"
        table.add_row(
            str(rank), r["penalty"],
            "-" if r["alpha"] is None else f"{r['alpha']:g}",
            "-" if r["epsilon"] is None else f"{r['epsilon']:g}",
            f"{r['cv_mean']:.4f}", f"{r['cv_std']:.4f}", held, f"{r['fit_seconds']:.2f}",
        )
    return table


@contextlib.contextmanager
def _backend(args: argparse.Namespace, console: Console, shared: list):
    """joblib's default backend, or Dask when ``--dask`` or ``--scheduler`` asks for it.

    On Dask, ``shared`` (the data and the folds) is copied to every worker up front, so that the
    sweep survives a worker that dies.
    """
    if not args.on_dask:
        yield
        return
    from ._dask import dask_backend

    n_workers = effective_n_jobs(args.n_jobs)
    with dask_backend(args.scheduler, n_workers=n_workers, scatter=shared) as client:
        threads = sum(client.nthreads().values())
        console.print(f"Dask scheduler {client.scheduler.address}, worker threads: {threads}")
        yield


def main(argv=None) -> int:
    args = _parse_args(argv)
    console = Console()
    started = time.perf_counter()
    rows = run_sweep(args, console)
    console.print(render(rows, args.top))
    best = rows[0]
    baseline = next((r for r in rows if r["penalty"] == "none"), None)
    knobs = ", ".join(f"{k}={best[k]:g}" for k in ("alpha", "epsilon") if best[k] is not None)
    summary = (f"best by CV: {best['penalty']}{f' ({knobs})' if knobs else ''}, "
               f"held-out accuracy {best['held_out']:.4f}")
    if baseline is not None:
        beats = sum(r["held_out"] > baseline["held_out"] for r in rows if r["penalty"] != "none")
        summary += (f"; penalty='none' scores {baseline['held_out']:.4f} held out, and {beats} "
                    f"regularized settings beat it")
    console.print(summary, soft_wrap=True)
    console.print(f"total wall time {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
