"""One cell of a tabular benchmark, (table, fold, method): fit, score, cache.

Shared by ``tabular.py``, ``tabular_choose.py``, ``tabular_defaults.py`` and
``tabular_imbalanced.py``, so that every table of theirs is measured the same way: the same
preprocessing, one BLAS and torch thread, scikit-learn's convergence warnings silenced, CPU and
wall time of the fit alone, and each result cached the moment it is known.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path


def with_preprocessing(model, X):
    """``model`` behind ``sklearn_regpen.tables.make_preprocessor(X)``, as a ``Pipeline``."""
    from sklearn.pipeline import Pipeline

    from sklearn_regpen.tables import make_preprocessor

    return Pipeline([("prep", make_preprocessor(X)), ("model", model)])


def fit_and_score(model, X, y, train, test, metric: Callable | None = None) -> dict:
    """Fit ``model`` on the ``train`` rows of ``X`` (a DataFrame) and ``y``, and score it on the
    ``test`` rows: ``model.score`` or ``metric(y_true, y_pred)``.

    One BLAS and one torch thread; ``ConvergenceWarning`` silenced (the short references stop
    at their ``max_iter`` by design). Returns ``{"score", "fit_cpu_s", "fit_wall_s"}``, the
    times of the fit alone (CPU seconds of the process: the machine may be shared).
    """
    import torch
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        wall, cpu = time.perf_counter(), time.process_time()
        model.fit(X.iloc[train], y[train])
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if metric is None:
            score = model.score(X.iloc[test], y[test])
        else:
            score = metric(y[test], model.predict(X.iloc[test]))
    return {"score": float(score), "fit_cpu_s": cpu, "fit_wall_s": wall}


def run_parallel(run, tasks, jobs: int):
    """``(task, run(*task))`` for every task, in the order they finish, ``jobs`` processes at
    once (joblib); the caller caches each result as it comes, so a stopped run loses little."""
    from joblib import Parallel, delayed

    return Parallel(n_jobs=jobs, return_as="generator_unordered")(
        delayed(lambda t: (t, run(*t)))(t) for t in tasks
    )


def load_cache(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def save_cache(path: Path, cache: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(cache, indent=1, sort_keys=True))
    os.replace(tmp, path)


def run_missing(cells: Iterable[tuple], key: Callable[..., Hashable], run: Callable[..., dict],
                cache_path: Path, cache: dict, *, commit: str, jobs: int,
                describe: Callable[[dict], str]) -> int:  # fmt: skip
    """Run ``run(*cell)`` for every cell whose ``key(*cell)`` is not in ``cache``, ``jobs`` at a
    time, storing each result (with ``commit``) in ``cache`` and on disk as it comes, and
    printing ``describe(result)`` for it. Returns how many cells ran."""
    tasks = [cell for cell in cells if key(*cell) not in cache]
    if not tasks:
        return 0
    print(f"{len(tasks)} tasks to run ({commit})", flush=True)
    for done, (cell, result) in enumerate(run_parallel(run, tasks, jobs), start=1):
        cache[key(*cell)] = {**result, "commit": commit}
        save_cache(cache_path, cache)
        print(f"[{done}/{len(tasks)}] {' '.join(map(str, cell))}: {describe(result)}", flush=True)
    return len(tasks)
