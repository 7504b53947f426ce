"""Sweeping: the grid search over the candidates and the references, then the refits.

:func:`sweep` runs a ``GridSearchCV`` over ``penalty``, ``alpha`` and ``epsilon`` of the network
step, with the two reference models as extra candidates of the same search (same preprocessing,
same folds), then refits the chosen candidate and the references on every training row and scores
them on the held-out rows. On Dask (``--dask``, ``--scheduler``) the same joblib calls run on the
cluster (:func:`backend`).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import time
import warnings
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import get_scorer
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from .._dask import replicated_inputs
from ..estimators import RegularizedMLPClassifier, RegularizedMLPRegressor
from ..penalties import PENALTIES
from ..search import param_grid, tabular_grid
from .errors import OptionError
from .table import Data

#: the parameters of the network step are ``net__<name>``
PREFIX = "net__"


def models(args: argparse.Namespace, task: str):
    """``(network step, {reference name: reference step})`` for the task."""
    net_options = dict(max_iter=args.max_iter, random_state=args.seed)
    if args.hidden is not None:  # else the estimator's default for the task
        net_options["hidden_layer_sizes"] = args.hidden
    # one torch thread per fit (the estimators' default): parallelism comes from n_jobs
    if task == "classification":
        return (
            RegularizedMLPClassifier(**net_options),
            {"majority class": DummyClassifier(strategy="most_frequent"),
             "sklearn MLPClassifier": MLPClassifier(random_state=args.seed)},
        )
    # the network standardizes the target itself (normalize_y=True); scikit-learn's MLPRegressor
    # does not, so the reference gets the same standardization from TransformedTargetRegressor
    reference = TransformedTargetRegressor(MLPRegressor(random_state=args.seed),
                                           transformer=StandardScaler())
    return (
        RegularizedMLPRegressor(**net_options),
        {"mean target": DummyRegressor(strategy="mean"), "sklearn MLPRegressor": reference},
    )


def _fit_and_score(pipeline, params, scorer, X_train, y_train, X_test, y_test):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = clone(pipeline).set_params(**params).fit(X_train, y_train)
    return model, float(scorer(model, X_test, y_test))


def progress_bar(console: Console) -> Progress:
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
        with progress_bar(console) as progress:
            progress.add_task("cross-validation", total=None)
            search.fit(X, y)
        return
    search.set_callbacks(ProgressBar(max_propagation_depth=0))
    search.fit(X, y)


@dataclass
class Sweep:
    """What the sweep found.

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
    net, references = models(args, data.task)
    pipeline = Pipeline([*data.preprocess, ("net", net)])
    # on Dask, -1 means every worker thread of the cluster
    n_jobs = -1 if args.on_dask else args.n_jobs
    if args.grid == "tabular":
        grid = tabular_grid(prefix=PREFIX)
    else:
        grid = param_grid(args.penalties, args.grid_size, prefix=PREFIX)
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

    with warnings.catch_warnings(), backend(args, console, shared):
        warnings.simplefilter("ignore", ConvergenceWarning)
        started = time.perf_counter()
        _search_with_progress(search, X_train, y_train, console, callbacks=not args.on_dask)
        cv_seconds = time.perf_counter() - started
        results = search.cv_results_
        console.print(f"searched {n_candidates} candidates and {len(references)} reference "
                      f"models x {args.cv} folds in {cv_seconds:.0f}s")

        rows = []
        for i, p in enumerate(results["params"]):
            row = {"model": "", "penalty": None, "alpha": None, "epsilon": None,
                   "cv_mean": float(results["mean_test_score"][i]),
                   "cv_std": float(results["std_test_score"][i]),
                   "fit_seconds": float(results["mean_fit_time"][i]),
                   "held_out": None, "chosen": False, "params": p}
            if i < n_candidates:
                penalty = PENALTIES[p[PREFIX + "penalty"]]
                row.update(
                    model=type(net).__name__,
                    penalty=p[PREFIX + "penalty"],
                    alpha=p.get(PREFIX + "alpha") if penalty.uses_alpha else None,
                    epsilon=p.get(PREFIX + "epsilon") if penalty.uses_epsilon else None,
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
        with progress_bar(console) as progress:
            task = progress.add_task("refit + held-out score", total=len(refits))
            jobs = Parallel(n_jobs=n_jobs, return_as="generator")(
                delayed(_fit_and_score)(pipeline, r["params"], scorer, X_train, y_train,
                                        X_test, y_test)
                for r in refits
            )
            fitted = []
            for r, (model, held_out) in zip(refits, jobs):
                r["held_out"] = held_out
                fitted.append(model)
                progress.advance(task)

    for r in rows:
        del r["params"]
    rows.sort(key=lambda r: (math.isnan(r["cv_mean"]), -np.nan_to_num(r["cv_mean"], nan=0.0),
                             r["model"], r["penalty"] or ""))
    return Sweep(rows, chosen, refits[1:], fitted[0], data, args.scoring, cv_seconds)


def run_sweep(args: argparse.Namespace, console: Console) -> list[dict]:
    """The rows of :func:`sweep`: every candidate and reference, best cross-validation first."""
    return sweep(args, console).rows


@contextlib.contextmanager
def backend(args: argparse.Namespace, console: Console, shared: list):
    """joblib's default backend, or Dask when ``--dask`` or ``--scheduler`` asks for it.

    On Dask, ``shared`` (the data and the folds) is copied to every worker up front, so that the
    sweep survives a worker that dies. A scheduler that does not answer within
    ``--scheduler-timeout`` seconds is an :class:`OptionError`.
    """
    if not args.on_dask:
        yield
        return
    from .._dask import dask_backend

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
