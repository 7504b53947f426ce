"""How the defaults of ``RegularizedMLPClassifier`` and ``TABULAR_GRID`` were chosen.

    .ci/env python -m benchmarks.tabular_defaults --jobs 2
    .ci/env python -m benchmarks.tabular_defaults --quick      # 2 tables, 1 fold (tests)

One setting changed at a time from the estimator's defaults: training length and learning rate
(constant or ``"adaptive"``), early stopping, batch size, width and depth, activation, penalty and
strength, each fitted on the ten smaller KEEL tables of ``benchmarks/tabular.py`` with the same
preprocessing, scored by mean test accuracy and mean rank.
The folds are folds 5-9 of the same ``StratifiedKFold(10, shuffle=True, random_state=0)`` whose
folds 0-4 the main benchmark reports: the same tables, other test rows. The choice is therefore
not independent of the benchmark's tables, and the README says so.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
import pandas as pd

from ._cells import fit_and_score, load_cache, run_missing, with_preprocessing
from ._report import RESULTS, Report, markdown_table
from .tabular import DATASETS as BENCHMARK_DATASETS
from .tabular import code_hashes, git_commit, load_table
from .tabular import folds as outer_folds

DATASETS = BENCHMARK_DATASETS[:10]  # the ten smaller tables (bands ... wisconsin)
FOLDS = range(5, 10)

#: name -> RegularizedMLPClassifier parameters changed from the estimator's defaults
SETTINGS = {
    "defaults": {},
    "sklearn MLPClassifier()": None,  # the reference the defaults must match
    # training length and learning rate
    "learning_rate_init=1e-3, max_iter=200 (scikit-learn's)": {
        "learning_rate_init": 1e-3,
        "max_iter": 200,
    },
    "learning_rate_init=1e-3": {"learning_rate_init": 1e-3},
    "learning_rate_init=1e-2": {"learning_rate_init": 1e-2},
    'learning_rate="adaptive"': {"learning_rate": "adaptive"},
    'learning_rate="adaptive", learning_rate_init=1e-2': {
        "learning_rate": "adaptive",
        "learning_rate_init": 1e-2,
    },
    # early stopping on a validation split (the best epoch's weights are restored)
    "early_stopping": {"early_stopping": True},
    "early_stopping, n_iter_no_change=20": {"early_stopping": True, "n_iter_no_change": 20},
    # batch size, width, depth, activation
    "batch_size=32": {"batch_size": 32},
    "hidden (256,)": {"hidden_layer_sizes": (256,)},
    "hidden (100, 100)": {"hidden_layer_sizes": (100, 100)},
    "hidden (256, 256)": {"hidden_layer_sizes": (256, 256)},
    "tanh": {"activation": "tanh"},
    # penalty and strength
    "l2 alpha=1e-2": {"penalty": "l2", "alpha": 1e-2},
    "l2 alpha=1": {"penalty": "l2", "alpha": 1.0},
    "jacobian alpha=0.1": {"penalty": "jacobian", "alpha": 0.1},
    "jacobian alpha=1": {"penalty": "jacobian", "alpha": 1.0},
    "c2c alpha=10 eps=0.1": {"penalty": "c2c", "alpha": 10.0, "epsilon": 0.1},
    "c2c alpha=10 eps=0.3": {"penalty": "c2c", "alpha": 10.0, "epsilon": 0.3},
    "noise eps=0.3": {"penalty": "noise", "epsilon": 0.3},
    "vat alpha=1 eps=0.5": {"penalty": "vat", "alpha": 1.0, "epsilon": 0.5},
    "hsfob alpha=1": {"penalty": "hsfob", "alpha": 1.0},
}


def run_one(dataset, fold, setting, quick):
    from sklearn.neural_network import MLPClassifier

    from sklearn_regpen import RegularizedMLPClassifier

    X, y = load_table(dataset)
    train, test = outer_folds(y, [fold])[0]
    params = SETTINGS[setting]
    short = {"max_iter": 10} if quick else {}
    if params is None:
        model = MLPClassifier(random_state=0, **short)
    else:
        model = RegularizedMLPClassifier(random_state=0, n_threads=1, **{**params, **short})
    result = fit_and_score(with_preprocessing(model, X), X, y, train, test)
    return {"accuracy": result["score"], "fit_cpu_s": result["fit_cpu_s"],
            "epochs": int(model.n_iter_)}  # fmt: skip


def _standard_error(differences: pd.Series) -> float:
    return float(differences.std(ddof=1) / np.sqrt(len(differences)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--settings", help="comma-separated subset of the settings")
    parser.add_argument("--folds", type=int, default=len(FOLDS), help="folds to use, from 5 on")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    datasets = DATASETS[:2] if args.quick else DATASETS
    fold_ids = FOLDS[:1] if args.quick else FOLDS[: args.folds]
    settings = [s for s in SETTINGS if not args.settings or s in args.settings.split(",")]
    if args.quick:
        settings = ["defaults", 'learning_rate="adaptive"', "sklearn MLPClassifier()"]
    name = "tabular_defaults_quick" if args.quick else "tabular_defaults"
    cache_path = args.out / f"{name}_cache.json"
    cache = load_cache(cache_path)
    version = code_hashes()["package"]
    commit = git_commit()
    report = Report(
        "Tabular defaults: one setting changed at a time",
        seeds=[0],
        module=__spec__.name,
        argv=argv,
    )

    def key(d, f, s):
        return f"{d}|{f}|{s}|{SETTINGS[s]!r}|{version}"

    cells = [(d, f, s) for d in datasets for f in fold_ids for s in settings]
    fitted = run_missing(
        cells,
        key,
        run_one,
        cache_path,
        cache,
        commit=commit,
        jobs=args.jobs,
        options={"quick": args.quick},
        describe=lambda r: f"{r['accuracy']:.4f}",
    )

    acc = pd.DataFrame(
        {
            s: [np.mean([cache[key(d, f, s)]["accuracy"] for f in fold_ids]) for d in datasets]
            for s in settings
        },
        index=datasets,
    )
    ranks = acc.rank(axis=1, ascending=False).mean()
    cpu = {
        s: sum(cache[key(d, f, s)]["fit_cpu_s"] for d in datasets for f in fold_ids)
        for s in settings
    }
    epochs = {
        s: np.mean([cache[key(d, f, s)]["epochs"] for d in datasets for f in fold_ids])
        for s in settings
    }
    base = acc["defaults"]
    rows = [
        [
            s,
            f"{acc[s].mean():.4f}",
            f"{(acc[s] - base).mean():+.4f} ± {_standard_error(acc[s] - base):.4f}",
            f"{int((acc[s] > base + 1e-9).sum())}/{int((acc[s] < base - 1e-9).sum())}",
            f"{ranks[s]:.2f}",
            f"{epochs[s]:.0f}",
            f"{cpu[s]:.0f}",
        ]
        for s in sorted(settings, key=lambda s: -acc[s].mean())
    ]
    cells = list(itertools.product(datasets, fold_ids, settings))
    report.cached(fitted, len(cells))
    report.add(
        "## Setup",
        f"Datasets: {', '.join(datasets)}; folds {list(fold_ids)} of "
        "StratifiedKFold(10, shuffle=True, random_state=0); one thread; "
        f"random_state=0. Package source {version}, commit(s) "
        f"{sorted({cache[key(*t)]['commit'] for t in cells})}.",
    )
    report.add(
        "## Mean test accuracy over the tables, one change from the defaults at a time",
        markdown_table(
            [
                "setting",
                "mean accuracy",
                "vs defaults ± SE over tables",
                "tables better/worse",
                "mean rank",
                "mean epochs",
                "fit CPU s",
            ],
            rows,
        ),
    )
    report.add(
        "## Per table",
        markdown_table(
            ["dataset", *settings],
            [[d, *(f"{acc.loc[d, s]:.3f}" for s in settings)] for d in datasets],
        ),
    )
    path = report.write(args.out / f"{name}.md")
    print(path.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
