"""The package's untuned estimators against the methods a scikit-learn user tries first, on both
pools of tables (``benchmarks/tabular_pools.py``).

    .ci/env python -m benchmarks.tabular_anchors                 # the choose tables of both pools
    .ci/env python -m benchmarks.tabular_anchors --set confirm   # the confirm tables
    .ci/env python -m benchmarks.tabular_anchors --pool regression --jobs 2 --budget 60
    .ci/env python -m benchmarks.tabular_anchors --report-only   # the reports from the cache
    .ci/env python -m benchmarks.tabular_anchors --quick         # 2 small tables a pool, 1 fold

Classification: folds 0-4 of ``StratifiedKFold(10, shuffle=True, random_state=0)``, accuracy on the
test rows. Regression: the 5 folds of ``KFold(5, shuffle=True, random_state=0)``, R^2 on the test
rows. Every method sits behind the same preprocessing (``sklearn_regpen.tables.make_preprocessor``:
median / most-frequent imputation, one-hot encoding of text columns, ``StandardScaler``), fitted on
the training rows only, with one BLAS and one torch thread. Each method runs with its defaults
(``random_state=0``): ``LogisticRegression`` / ``RidgeCV``, ``MLPClassifier()`` /
``MLPRegressor()`` (and ``MLPRegressor()`` on a standardized target, through
``TransformedTargetRegressor``), ``HistGradientBoosting*()``, pytabkit's ``RealMLP_TD_*()`` and the
package's ``RegularizedMLP*()``, the reference of the paired differences. The CPU time of each fit
is recorded beside its score.

The methods and the code of one cell are in ``benchmarks/tabular_methods.py``. Each (table,
fold, method) is one cell of the experiment runner (``benchmarks/_runner.py``),
cached in ``results/tabular_anchors_cache.json``; scikit-learn's and pytabkit's cells depend on the
preprocessing code and their library's version, the package's cells on the package too, so a
change of the package refits the package's cells only.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd

from . import tabular_pools as pools
from ._report import RESULTS, Report, markdown_table, pyplot
from ._runner import Cache, Study, add_arguments, cell_key, provenance
from .tabular_methods import (
    DEFAULT,
    METHODS,
    PACKAGE_METHODS,
    SEARCHES,
    SEED,
    fingerprints,
    run_cell,
)

FOLDS = {"classification": range(5), "regression": range(5)}
QUICK_TABLES = {"classification": ["iris", "MASS/biopsy"],
                "regression": ["MASS/birthwt", "sklearn/diabetes"]}  # fmt: skip
QUICK_FOLDS = range(1)


# -- the report ------------------------------------------------------------------------------------
def standard_error(values) -> float:
    values = np.asarray(values, dtype=float)
    return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else math.nan


def summarize(cache, task: str, tables: list[str], methods: list[str], fold_ids) -> dict:
    """Scores and CPU per (table, method) over the tables complete for every method."""
    complete, scores, cpu = [], {}, {}
    for table in tables:
        results = {(f, m): cache.result({"table": table, "fold": f, "method": m})
                   for f in fold_ids for m in methods}  # fmt: skip
        if any(r is None for r in results.values()):
            continue
        complete.append(table)
        for m in methods:
            scores[(table, m)] = [results[(f, m)]["score"] for f in fold_ids]
            cpu[(table, m)] = [results[(f, m)]["fit_cpu_s"] for f in fold_ids]
    return {"complete": complete, "scores": scores, "cpu": cpu}


REGIMES = [("all", lambda size, kind: True), ("under 1,000 rows", lambda s, k: s == "small"),
           ("1,000 rows or more", lambda s, k: s == "large"),
           ("mostly categorical", lambda s, k: k == "categorical"),
           ("mostly numeric", lambda s, k: k == "numeric")]  # fmt: skip


def report_pool(cache, task: str, which: str, tables: list[str], methods: list[str], fold_ids,
                fps: dict, report: Report, quick: bool) -> None:  # fmt: skip
    if DEFAULT[task] not in methods:  # --methods without it: the comparisons need it
        methods = [*methods, DEFAULT[task]]
    every = methods
    searches = [m for m in methods if m in SEARCHES[task]]
    methods = [m for m in methods if m not in SEARCHES[task]]  # the searches have their section
    summary = summarize(cache, task, tables, methods, fold_ids)
    complete, scores, cpu = summary["complete"], summary["scores"], summary["cpu"]
    metric = "accuracy" if task == "classification" else "R^2"
    split = ("StratifiedKFold(10, shuffle=True, random_state=0), folds 0-4"
             if task == "classification" else "KFold(5, shuffle=True, random_state=0)")  # fmt: skip
    missing = [t for t in tables if t not in complete]
    report.add("## Setup", (
        f"{len(tables)} {task} tables ("
        + ("two small tables" if quick else f"{which} set of `benchmarks/tabular_pools.py`")
        + f"), "
        f"{split}; {metric} on the test rows. Every method behind the same preprocessing "
        "(median / most-frequent imputation, one-hot encoding, StandardScaler) fitted on the "
        "training rows, with its defaults and `random_state=0`, one BLAS and torch thread. "
        + (f"Tables complete for every method: {len(complete)} of {len(tables)}"
           + (f" (not yet: {', '.join(missing)})." if missing else ".")))
        + (" Quick mode: one fold, short fits (a test of the code, not a result)."
           if quick else ""))  # fmt: skip
    if not complete:
        report.add("## Results", "No table is complete for every method yet.")
        return
    tags = {t: pools.regimes(t) for t in complete}
    default = DEFAULT[task]
    per_table = pd.DataFrame({m: [np.mean(scores[(t, m)]) for t in complete] for m in methods},
                             index=complete)  # fmt: skip
    regimes = [(label, [t for t in complete if keep(*tags[t])]) for label, keep in REGIMES]
    regimes = [(label, members) for label, members in regimes if members]
    header = ["method"] + [f"{label} ({len(members)})" for label, members in regimes]
    rows = []
    for m in sorted(methods, key=lambda m: -per_table[m].mean()):
        rows.append([f"`{m}`"] + [f"{per_table.loc[members, m].mean():.4f}"
                                  for _, members in regimes])  # fmt: skip
    report.add(f"## Mean {metric} per regime (number of tables)", (
        "Mean over tables of the mean over folds. Regimes: under 1,000 rows or not; mostly "
        "categorical when more than half of the feature columns are one-hot encoded.\n\n"
        + markdown_table(header, rows)))  # fmt: skip

    rows = []
    for m in methods:
        if m == default:
            continue
        cells = [[s - d for s, d in zip(scores[(t, m)], scores[(t, default)])] for t in complete]
        row = [f"`{m}`"]
        for _, members in regimes:
            diffs = [x for t, c in zip(complete, cells) if t in members for x in c]
            row.append(f"{np.mean(diffs):+.4f} ({standard_error(diffs):.4f})")
        total_cpu = sum(sum(cpu[(t, m)]) for t in complete)
        row.append(f"{total_cpu:.1f}")
        rows.append(row)
    ours_cpu = sum(sum(cpu[(t, default)]) for t in complete)
    rows.append([f"`{default}` (reference)"] + ["0"] * len(regimes) + [f"{ours_cpu:.1f}"])
    report.add(f"## Paired differences against `{default}`", (
        f"Each method's {metric} minus that of `{default}` on the same (table, fold), mean over "
        "the cells of the regime, and its standard error over those cells in brackets (positive: "
        "the method beats the package's default). CPU seconds of every fit on these tables.\n\n"
        + markdown_table([*header, "CPU s"], rows)))  # fmt: skip

    rows = [[t, pools.ROWS[task][t], "/".join(tags[t])]
            + [f"{per_table.loc[t, m]:.4f}" for m in methods] for t in complete]  # fmt: skip
    report.add(f"## {metric} per table", markdown_table(
        ["table", "rows", "regime", *[f"`{m}`" for m in methods]], rows))  # fmt: skip

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    sizes = np.array([pools.ROWS[task][t] for t in complete])
    for i, m in enumerate(m for m in methods if m != default):
        gap = per_table[m] - per_table[default]
        if task == "regression":
            gap = gap.clip(-0.5, 0.5)
        ax.scatter(sizes * (1 + 0.04 * i), gap, label=m, s=22)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("rows of the table (log scale)")
    clipped = " (clipped to +-0.5)" if task == "regression" else ""
    ax.set_ylabel(f"{metric} minus {default}{clipped}")
    ax.set_title(f"{task}, {which} tables: each method against the package's default")
    ax.legend(fontsize=7)
    name = f"tabular_anchors_{task}_{which}{'_quick' if quick else ''}.png"
    report.figure(name, fig, f"{metric} of each method minus the package's default, per table")

    report_searches(cache, task, tables, methods, searches, fold_ids, report)
    keys = [cell_key({"table": t, "fold": f, "method": m})
            for t in tables for f in fold_ids for m in every]  # fmt: skip
    report.add("## Provenance", provenance(cache, keys, fps.values()) + " "
               + cost_left(cache, task, tables, every, fold_ids))  # fmt: skip


def report_searches(cache, task: str, tables: list[str], others: list[str], searches: list[str],
                    fold_ids, report: Report) -> None:  # fmt: skip
    """The package's search against every other method, scikit-learn's search included, on the
    tables where all of them are complete, with each one's CPU time."""
    ours, theirs = SEARCHES[task]
    if ours not in searches:
        return
    methods = [*others, *(m for m in searches if m != ours)]
    summary = summarize(cache, task, tables, [ours, *methods], fold_ids)
    complete, scores, cpu = summary["complete"], summary["scores"], summary["cpu"]
    metric = "accuracy" if task == "classification" else "R^2"
    heading = f"## `{ours}` against every method"
    if not complete:
        report.add(heading, "No table is complete for the searches yet.")
        return
    tags = {t: pools.regimes(t) for t in complete}
    regimes = [(label, [t for t in complete if keep(*tags[t])]) for label, keep in REGIMES]
    regimes = [(label, members) for label, members in regimes if members]
    total = {m: sum(sum(cpu[(t, m)]) for t in complete) for m in [ours, *methods]}
    rows = []
    for m in methods:
        row = [f"`{m}`"]
        for _, members in regimes:
            diffs = [a - b for t in members for a, b in zip(scores[(t, ours)], scores[(t, m)])]
            row.append(f"{np.mean(diffs):+.4f} ({standard_error(diffs):.4f})")
        rows.append([*row, f"{total[m]:.1f}"])
    rows.append([f"`{ours}` (CPU s)"] + [""] * len(regimes) + [f"{total[ours]:.1f}"])
    missing = [t for t in tables if t not in complete]
    ratio = (f" Its CPU time is {total[ours] / total[theirs]:.2f}x that of `{theirs}`."
             if theirs in total and total[theirs] > 0 else "")  # fmt: skip
    report.add(heading, (
        f"On the {len(complete)} of {len(tables)} tables where every method, both searches "
        "included, is complete" + (f" (not yet: {', '.join(missing)})" if missing else "")
        + f": `{ours}`'s {metric} minus each method's on the same (table, fold), mean over the "
        "cells of the regime and its standard error in brackets (positive: the search is "
        "ahead); each method's CPU seconds on these tables. Both searches score their "
        "candidates on 3 shuffled inner folds of the training rows." + ratio + "\n\n"
        + markdown_table(["method", *[f"{label} ({len(m)})" for label, m in regimes], "CPU s"],
                         rows)))  # fmt: skip


def cost_left(cache, task: str, tables: list[str], methods: list[str], fold_ids) -> str:
    """A sentence: the cells not cached yet and their estimated CPU time, each method's CPU
    seconds per training row so far times the training rows of its cells left (a rough guide:
    the time per row grows on the larger tables for the networks that stop early)."""
    share = 0.9 if task == "classification" else 0.8  # of a table's rows in a training fold
    left, seconds, unknown = 0, 0.0, set()
    for m in methods:
        done = [(pools.ROWS[task][t], r["fit_cpu_s"]) for t in tables for f in fold_ids
                if (r := cache.result({"table": t, "fold": f, "method": m})) is not None]
        todo = [pools.ROWS[task][t] for t in tables for f in fold_ids
                if cache.result({"table": t, "fold": f, "method": m}) is None]  # fmt: skip
        left += len(todo)
        if todo and not done:
            unknown.add(m)
        elif todo:
            rate = sum(c for _, c in done) / sum(share * rows for rows, _ in done)
            seconds += rate * share * sum(todo)
    if not left:
        return "Every cell is cached."
    return (f"{left} cells are not cached yet; at each method's CPU per training row so far they "
            f"would take about {seconds / 3600:.1f} CPU hours"
            + (f", plus those of {', '.join(sorted(unknown))} (no cell yet)" if unknown else "")
            + ".")  # fmt: skip


# -- the command -----------------------------------------------------------------------------------
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pool", choices=["both", *pools.TASKS], default="both")
    parser.add_argument("--set", choices=["choose", "confirm"], default="choose",
                        help="which tables of each pool (defaults are chosen on 'choose' only)")
    parser.add_argument("--methods", help="comma-separated subset of the methods")
    parser.add_argument("--quick", action="store_true",
                        help="2 small tables a pool, 1 fold, short fits (the test suite's run)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the results")
    add_arguments(parser)
    args = parser.parse_args(argv)
    tasks = list(pools.TASKS) if args.pool == "both" else [args.pool]
    chosen = {t: ([m.strip() for m in args.methods.split(",") if m.strip() in METHODS[t]]
                  if args.methods else list(METHODS[t])) for t in tasks}  # fmt: skip
    if args.methods:
        unknown = set(m.strip() for m in args.methods.split(",")) - set().union(
            *(METHODS[t] for t in tasks))
        if unknown:
            raise SystemExit(f"unknown methods {sorted(unknown)}; they are {dict(METHODS)}")
    named = pools.CHOOSE if args.set == "choose" else pools.CONFIRM
    tables = {t: QUICK_TABLES[t] if args.quick else named[t] for t in tasks}
    fold_ids = {t: QUICK_FOLDS if args.quick else FOLDS[t] for t in tasks}
    fps = fingerprints()
    cache_path = args.out / f"tabular_anchors{'_quick' if args.quick else ''}_cache.json"

    def plan(cache) -> list[dict]:
        # small tables first, every method on a (table, fold) before the next: whole tables
        # complete early, and a run stopped half-way still gives paired results
        order = sorted((pools.ROWS[t][n], n, t) for t in tasks for n in tables[t])
        return [{"table": n, "fold": f, "method": m}
                for _, n, t in order for f in fold_ids[t] for m in chosen[t]]  # fmt: skip

    def fingerprint(params) -> str:
        return fps["package" if params["method"] in PACKAGE_METHODS else "reference"]

    study = Study(cache=cache_path, run=run_cell, plan=plan, fingerprint=fingerprint,
                  options={"quick": args.quick}, label="tabular anchors",
                  describe=lambda p, r: f"score {r['score']:.4f}, fit {r['fit_cpu_s']:.1f} CPU s")
    start = time.perf_counter()
    before = study.missing(Cache(cache_path))
    cache, outcome = study.execute(args)
    after = {cell_key(p) for p in study.missing(cache)}
    for task in tasks:
        report = Report(
            f"{task.capitalize()}: the package's defaults against the usual methods "
            f"({'quick mode' if args.quick else args.set + ' tables'})",
            seeds=[SEED], module=__spec__.name, argv=argv)  # fmt: skip
        fitted = [p for p in before if pools.task_of(p["table"]) == task
                  and cell_key(p) not in after]  # fmt: skip
        report.cached(len(fitted), len(tables[task]) * len(fold_ids[task]) * len(chosen[task]))
        report_pool(cache, task, args.set, tables[task], chosen[task], fold_ids[task], fps,
                    report, args.quick)  # fmt: skip
        name = f"tabular_anchors_{task}_{args.set}{'_quick' if args.quick else ''}.md"
        report.write(args.out / name)
    print(f"done in {time.perf_counter() - start:.0f} s; {outcome.ran} cells fitted, "
          f"{outcome.left} left, {len(outcome.failures)} failed", flush=True)
    return 1 if outcome.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
