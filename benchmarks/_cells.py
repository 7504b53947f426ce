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


def load_cache(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def save_cache(path: Path, cache: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(cache, indent=1, sort_keys=True))
    os.replace(tmp, path)


def call_cell(params: dict, *, run: tuple[str, str], options: dict) -> dict:
    """Run one cell of :func:`run_missing` (in a worker process): ``run`` names the study's
    module-level function, called with the cell's values as positional arguments."""
    import importlib

    module, name = run
    return getattr(importlib.import_module(module), name)(*params["cell"], **options)


def run_missing(cells: Iterable[tuple], key: Callable[..., Hashable], run: Callable[..., dict],
                cache_path: Path, cache: dict, *, commit: str, jobs: int,
                describe: Callable[[dict], str], options: dict | None = None) -> int:  # fmt: skip
    """Run ``run(*cell, **options)`` for every cell whose ``key(*cell)`` is not in ``cache``,
    through the experiment runner (:func:`benchmarks._runner.run_cells`, ``jobs`` processes at
    once), storing each result (with ``commit``) in ``cache`` and on disk as it comes, and
    printing ``describe(result)`` for it. Returns how many cells ran.

    ``run`` is a module-level function (the runner's worker processes import it by name); a
    cell's values are JSON-able (table names, fold and setting numbers). The cache keeps the
    study's own keys, so caches written before keep regenerating their reports."""
    from ._runner import _resolve, run_cells

    tasks = [cell for cell in cells if key(*cell) not in cache]
    if not tasks:
        return 0
    print(f"{len(tasks)} tasks to run ({commit})", flush=True)

    def store(params, result, cpu, wall):
        cache[key(*params["cell"])] = {**result, "commit": commit}
        save_cache(cache_path, cache)

    outcome = run_cells([{"cell": list(cell)} for cell in tasks], call_cell, store=store,
                        options={"run": _resolve(run), "options": options or {}}, jobs=jobs,
                        describe=lambda params, result: describe(result))  # fmt: skip
    if outcome.failures:
        failed = "; ".join(f"{tuple(p['cell'])}: {e}" for p, e in outcome.failures)
        raise SystemExit(f"{len(outcome.failures)} cells failed ({failed}); the others are cached")
    return outcome.ran
