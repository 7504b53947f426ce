"""Wall time of one grid search with one worker against two, on Dask and on joblib's processes.

    .ci/env python -m benchmarks.parallel_search                 # 8 candidates x 3 folds = 24 fits
    .ci/env python -m benchmarks.parallel_search --n-threads 2   # two torch threads per fit

The search: a ``StandardScaler`` + ``RegularizedMLPClassifier`` pipeline on digits (50 training rows
per class, 64 features), 8 candidates (``l2`` and ``c2c`` at 4 strengths each: fits of similar
cost) x 3 folds. Each backend is timed with one worker and with two, the runs interleaved so that
both see the same machine, after an untimed warm-up that imports torch in every worker. The
speed-up is the ratio of the two times measured in this one run; with two free cores the ideal
is 2.

On a shared machine other people's jobs take cores too: the script also times a plain CPU-bound
loop in one process against two copies in two processes, before and after, and prints that ratio
as the speed-up the machine could give at the time (the ceiling for the searches).

Backends: a ``distributed.LocalCluster`` of single-threaded worker processes on 127.0.0.1 (one
worker, then two), and joblib's default process pool (``n_jobs=1``, which runs in this process,
then ``n_jobs=2``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext

import joblib
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, ParameterGrid, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_regpen import RegularizedMLPClassifier
from sklearn_regpen._dask import local_cluster
from sklearn_regpen.datasets import load_classification, per_class_split

GRID = {"net__penalty": ["l2", "c2c"], "net__alpha": [1e-3, 1e-2, 1e-1, 1.0]}
FOLDS = 3


def _spin(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def free_core_ratio(pool: ProcessPoolExecutor, n: int = 5_000_000) -> float:
    """Work rate of two busy processes over one: about 2 with two free cores, 1 with one."""
    pool.submit(_spin, 1).result()
    started = time.perf_counter()
    pool.submit(_spin, n).result()
    one = time.perf_counter() - started
    started = time.perf_counter()
    for future in [pool.submit(_spin, n) for _ in range(2)]:
        future.result()
    return 2 * one / (time.perf_counter() - started)


def make_search(n_threads: int, max_iter: int, n_jobs: int) -> GridSearchCV:
    """The benchmarked search: 8 candidates x 3 folds."""
    net = RegularizedMLPClassifier(hidden_layer_sizes=(64,), max_iter=max_iter,
                                   random_state=0, n_threads=n_threads)
    pipeline = Pipeline([("scale", StandardScaler()), ("net", net)])
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=0)
    return GridSearchCV(pipeline, GRID, cv=folds, n_jobs=n_jobs, refit=False, error_score="raise")


def timed_search(X, y, backend, n_threads: int, max_iter: int, n_jobs: int) -> float:
    """Seconds for one search under ``backend`` (a context manager, or None for joblib's own)."""
    search = make_search(n_threads, max_iter, n_jobs)
    with backend() if backend else nullcontext():
        started = time.perf_counter()
        search.fit(X, y)
        return time.perf_counter() - started


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed searches per setting")
    parser.add_argument("--max-iter", type=int, default=100, help="epochs per fit")
    parser.add_argument("--n-threads", type=int, default=1, help="torch threads per fit")
    args = parser.parse_args(argv)

    from distributed import Client

    X, y = load_classification("digits")
    X, _, y, _ = per_class_split(X, y, 50, random_state=0)
    n_fits = len(ParameterGrid(GRID)) * FOLDS
    warnings.simplefilter("ignore", ConvergenceWarning)  # sent on to the workers by scikit-learn

    with ProcessPoolExecutor(2) as pool:
        ceiling_before = free_core_ratio(pool)
    with local_cluster(1) as one, local_cluster(2) as two, \
            Client(one, timeout=60) as client_one, Client(two, timeout=60) as client_two:
        settings = {
            ("Dask LocalCluster", 1): (lambda: joblib.parallel_backend("dask", client=client_one),
                                       -1),
            ("Dask LocalCluster", 2): (lambda: joblib.parallel_backend("dask", client=client_two),
                                       -1),
            ("joblib (loky)", 1): (None, 1),
            ("joblib (loky)", 2): (None, 2),
        }
        # warm-up: import torch and our package in every worker, and run each code path once
        for backend, n_jobs in settings.values():
            timed_search(X, y, backend, args.n_threads, 1, n_jobs)
        times = {key: [] for key in settings}
        for _ in range(args.repeats):
            for key, (backend, n_jobs) in settings.items():
                times[key].append(timed_search(X, y, backend, args.n_threads, args.max_iter,
                                               n_jobs))

    with ProcessPoolExecutor(2) as pool:
        ceiling_after = free_core_ratio(pool)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"{n_fits} fits ({n_fits // FOLDS} candidates x {FOLDS} folds), {args.max_iter} epochs, "
          f"{len(X)} rows x {X.shape[1]} features, {args.n_threads} torch thread(s) per fit; "
          f"{os.cpu_count()} cores, load average {load} at the end; torch {torch.__version__}; "
          f"median of {args.repeats} runs\n")
    print("| backend | 1 worker (s) | 2 workers (s) | speed-up (1 / 2) |")
    print("|---|---:|---:|---:|")
    for name in dict.fromkeys(key[0] for key in settings):
        t1 = statistics.median(times[name, 1])
        t2 = statistics.median(times[name, 2])
        print(f"| {name} | {t1:.2f} | {t2:.2f} | {t1 / t2:.2f}x |")
    print(f"| CPU-bound loop, 1 vs 2 processes (before / after) | | | "
          f"{ceiling_before:.2f}x / {ceiling_after:.2f}x |")


if __name__ == "__main__":
    main()
