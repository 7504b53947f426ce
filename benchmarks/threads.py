"""Which ``n_threads`` default: one fit alone, and a search with ``n_jobs=-1``, idle and loaded.

    .ci/env python -m benchmarks.threads                 # idle machine
    .ci/env python -m benchmarks.threads --load 2        # two busy processes beside it

1. **One fit**: a 784-256-10 ReLU network on 60,000 MNIST-sized rows (``penalty="none"``, batch
   128), the estimator with ``n_threads=1`` and with ``n_threads=None`` (torch's own count)
   against a hand-written PyTorch loop left at torch's default threads; wall time, median of the
   rounds, interleaved.
2. **A search**: ``GridSearchCV(n_jobs=-1, cv=3)`` over four ``alpha`` values on 10,000
   digits-shaped rows (64 features, 100 ReLU units), with ``n_threads=1`` and ``None``: joblib's
   worker processes limit each worker's threads to its share of the cores, and torch reads that
   limit when it starts in the worker.

``--load N`` starts N busy processes (one pure-Python loop each) for the duration, as other jobs
on a shared machine would.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from sklearn_regpen import RegularizedMLPClassifier

from . import overhead
from ._report import Report, markdown_table


def _busy(stop):
    while not stop.is_set():
        sum(range(10_000))


def _estimator(n_threads, epochs, hidden=256):
    return RegularizedMLPClassifier(
        (hidden,), penalty="none", batch_size=overhead.BATCH, learning_rate_init=overhead.LR,
        max_iter=epochs, tol=0.0, n_iter_no_change=epochs + 1, random_state=0,
        n_threads=n_threads,
    )  # fmt: skip


def _ratios(fns: dict, rounds: int, header: list[str]) -> str:
    """Median wall time of each callable, after one warm-up call each (allocations, library
    set-up, joblib's worker processes), and its ratio to the first's."""
    for fn in fns.values():
        fn()
    medians = overhead.interleaved_medians(fns, rounds)
    base = next(iter(medians.values()))
    rows = [(name, f"{m:.2f} s", f"{m / base:.2f}x") for name, m in medians.items()]
    return markdown_table(header, rows)


def fit_table(rounds: int, epochs: int) -> str:
    X, y = overhead.synthetic(60_000, 784)
    fns = {
        "hand-written loop, torch's default threads": lambda: overhead.fit_torch(X, y, epochs),
        "estimator, n_threads=1": lambda: _estimator(1, epochs).fit(X, y),
        "estimator, n_threads=None": lambda: _estimator(None, epochs).fit(X, y),
        'estimator, n_threads="auto"': lambda: _estimator("auto", epochs).fit(X, y),
    }
    table = _ratios(fns, rounds, ["method", "wall per fit", "/ hand-written loop"])
    note = (f"\n\n60,000 x 784, one 256-unit ReLU layer, batch 128, {epochs} epochs per fit, "
            f"median of {rounds}; torch's default here: {torch.get_num_threads()} threads.")
    return table + note


def search_table(rounds: int, epochs: int) -> str:
    X, y = overhead.synthetic(10_000, 64)
    grid = {"alpha": [1e-4, 1e-3, 1e-2, 1e-1]}

    def search(n_threads):
        GridSearchCV(_estimator(n_threads, epochs, hidden=100), grid, cv=3, n_jobs=-1).fit(X, y)

    fns = {f"n_threads={k!r}": (lambda k=k: search(k)) for k in (1, None, "auto")}
    table = _ratios(fns, rounds, ["search", "wall per search", "/ n_threads=1"])
    note = (f"\n\nGridSearchCV(n_jobs=-1, cv=3), 4 candidates (12 fits, then a refit), "
            f"10,000 x 64, 100 ReLU units, {epochs} epochs per fit, median of {rounds}.")
    return table + note


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--load", type=int, default=0, help="busy processes beside the timings")
    parser.add_argument("--quick", action="store_true", help="one round, one epoch")
    parser.add_argument("--out", default="benchmarks/results")
    parser.add_argument("--machine", default="", help="how busy the machine was, for the header")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.epochs = 1, 1
    report = Report(f"Threads: one fit and a search, {args.load} busy processes beside them",
                    seeds=[0], module=__spec__.name, argv=argv)  # fmt: skip
    load = os.getloadavg()[0]
    report.add("## Machine", f"{os.cpu_count()} CPUs; load average {load:.1f} when the run began"
               f"{f' ({args.machine})' if args.machine else ''}.")  # fmt: skip
    stop = multiprocessing.Event()
    busy = [multiprocessing.Process(target=_busy, args=(stop,)) for _ in range(args.load)]
    for process in busy:
        process.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            report.show("## One fit", fit_table(args.rounds, args.epochs))
            report.show("## A search with n_jobs=-1",
                        search_table(args.rounds, 10 * args.epochs))  # fmt: skip
    finally:
        stop.set()
        for process in busy:
            process.join()
    name = "threads.md" if not args.load else f"threads_load{args.load}.md"
    report.write(f"{args.out}/{name}")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    raise SystemExit(main())
