"""Eight networks in one vectorized pass, against one network and against eight separate fits.

    .ci/env python -m benchmarks.members              # writes benchmarks/results/members.md
    .ci/env python -m benchmarks.members --quick      # two small tables, 30 epochs at most

Each finished row is cached (``results/members_cache.json``): a stopped run continues.

For each table (KEEL tables of up to 10,000 training rows), the training rows of fold 0 of a
shuffled stratified 10-fold split (seed 0) go through the package's preprocessing
(``sklearn_regpen.tables.make_preprocessor``: imputation, one-hot categories, standardization),
and three fits of ``RegularizedMLPClassifier`` with its defaults (100 ReLU units, Adam, batches of
200, stop after 10 epochs without improvement of the training loss) and the given penalty run
one after the other in this process, on one thread:

1. one network (``random_state=0``);
2. ``n_members=8``: eight networks in one pass, each stopping at its own epoch;
3. the same eight networks fitted one by one (``n_members=1`` with each member's random state),
   whose training the pass runs step for step, up to float rounding.

The CPU time of each fit (``time.process_time``), the pass's ratio to one network and the eight
separate fits' ratio to the pass are reported, with the test accuracy on the fold's held-out rows
of the single network and of the 8-member average. The machine may be shared: ratios within a
row are measured back to back in one process.

A section times one training step of 8 members two ways: ``torch.func.vmap`` of
``torch.func.grad`` over ``functional_call`` of the MLP (the stacked-parameter recipe of
PyTorch's model-ensembling tutorial), and the stacked MLP the package trains (one batched matrix
product per layer, plain autograd), median of 200 steps each, the two interleaved. The last
runs ``tabular_search`` on one table with its candidate-fold fits in passes and one by one.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "members.md"
#: each finished (table, penalty) row, so that a stopped run continues where it was
CACHE = Path(__file__).parent / "results" / "members_cache.json"
#: KEEL tables of the choose set, training folds of 160 to 9,893 rows
TABLES = ["wine", "vehicle", "titanic", "satimage", "penbased"]
QUICK_TABLES = ["wine", "vehicle"]
PENALTIES = {"l2": {}, "c2c": {"alpha": 10.0, "epsilon": 0.1}, "jacobian": {"alpha": 0.1}}
N_MEMBERS = 8


def _fold0(name):
    from sklearn.model_selection import StratifiedKFold

    from benchmarks.tabular import load_table
    from sklearn_regpen.tables import make_preprocessor

    X, y = load_table(name)
    train, test = next(StratifiedKFold(10, shuffle=True, random_state=0).split(X, y))
    prep = make_preprocessor(X.iloc[train]).fit(X.iloc[train], y[train])
    as_array = lambda rows: np.asarray(prep.transform(X.iloc[rows]), dtype=np.float32)  # noqa: E731
    return as_array(train), y[train], as_array(test), y[test]


def _timed(fit):
    started = time.process_time()
    model = fit()
    return model, time.process_time() - started


def measure(table: str, penalty: str, max_iter: int) -> dict:
    from sklearn_regpen import RegularizedMLPClassifier
    from sklearn_regpen._members import member_random_states

    X, y, X_test, y_test = _fold0(table)
    params = dict(penalty=penalty, max_iter=max_iter, n_threads=1, **PENALTIES[penalty])
    one, t_one = _timed(lambda: RegularizedMLPClassifier(random_state=0, **params).fit(X, y))
    ensemble, t_pass = _timed(
        lambda: RegularizedMLPClassifier(random_state=0, n_members=N_MEMBERS, **params).fit(X, y)
    )
    states = member_random_states(0, N_MEMBERS)
    separate, t_separate = _timed(
        lambda: [RegularizedMLPClassifier(random_state=r, **params).fit(X, y) for r in states]
    )
    average = np.mean([m.predict_proba(X_test) for m in separate], axis=0)
    return {
        "table": table, "rows": len(y), "features": X.shape[1], "penalty": penalty,
        "epochs_one": one.n_iter_, "epochs_members": [m.n_iter_ for m in separate],
        "cpu_one": t_one, "cpu_pass": t_pass, "cpu_separate": t_separate,
        "accuracy_one": one.score(X_test, y_test),
        "accuracy_pass": ensemble.score(X_test, y_test),
        "pass_vs_separate": float(np.abs(ensemble.predict_proba(X_test) - average).max()),
    }  # fmt: skip


#: the table of the search section
SEARCH_TABLE = "vehicle"


def measure_search(table: str, max_iter: int) -> dict:
    """``tabular_search`` with its candidate-fold fits in passes, and one by one."""
    from unittest import mock

    from sklearn_regpen import RegularizedMLPClassifier, _members
    from sklearn_regpen.search import tabular_search

    X, y, X_test, y_test = _fold0(table)
    estimator = RegularizedMLPClassifier(max_iter=max_iter, n_threads=1)
    passes, t_passes = _timed(lambda: tabular_search(estimator).fit(X, y))
    with mock.patch.object(_members, "batchable", lambda estimators: "one by one"):
        alone, t_alone = _timed(lambda: tabular_search(estimator).fit(X, y))
    return {
        "table": table, "rows": len(y), "cpu_passes": t_passes, "cpu_alone": t_alone,
        "accuracy_passes": passes.score(X_test, y_test),
        "accuracy_alone": alone.score(X_test, y_test),
        "same_choice": passes.top_params_ == alone.top_params_,
    }  # fmt: skip


def step_times(n_features: int = 16, n_classes: int = 7, rounds: int = 200) -> dict:
    """Milliseconds per training step of 8 members of a ``n_features``-100-``n_classes`` MLP on
    batches of 200 rows (cross-entropy and its gradient): vmap against the stacked MLP."""
    import torch
    import torch.nn.functional as F
    from torch.func import functional_call, grad_and_value, stack_module_state, vmap

    from sklearn_regpen._members import StackedMLP
    from sklearn_regpen.modules import MLP

    torch.manual_seed(0)
    modules = [MLP(n_features, n_classes) for _ in range(N_MEMBERS)]
    params, _ = stack_module_state(modules)
    params = {n: p.detach().clone() for n, p in params.items()}
    x = torch.randn(N_MEMBERS, 200, n_features)
    y = torch.randint(0, n_classes, (N_MEMBERS, 200))
    base = MLP(n_features, n_classes).to("meta")

    def one_member(p, x, y):
        return F.cross_entropy(functional_call(base, p, (x,)), y)

    vmapped = vmap(grad_and_value(one_member))
    leaves = {n: p.clone().requires_grad_(True) for n, p in params.items()}
    stacked = StackedMLP(modules[0], leaves)

    def stacked_step():
        z = stacked(x.reshape(-1, n_features)).reshape(N_MEMBERS, 200, n_classes)
        losses = F.cross_entropy(z.transpose(1, 2), y, reduction="none").mean(dim=1)
        return torch.autograd.grad(losses.sum(), list(leaves.values()))

    steps = {"vmap": lambda: vmapped(params, x, y), "stacked": stacked_step}
    times = {name: [] for name in steps}
    for step in steps.values():
        step()  # warm-up
    for _ in range(rounds):  # interleaved, so that a load on the machine hits both alike
        for name, step in steps.items():
            started = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - started)
    return {name: 1e3 * statistics.median(t) for name, t in times.items()}


def _per_epoch(row: dict) -> float:
    """The pass's CPU per epoch of its average member, over one network's CPU per epoch."""
    member_epochs = np.mean(row["epochs_members"])
    return (row["cpu_pass"] / member_epochs) / (row["cpu_one"] / row["epochs_one"])


def _versions() -> str:
    import platform

    import sklearn
    import torch

    return (f"Python {platform.python_version()}, torch {torch.__version__}, scikit-learn "
            f"{sklearn.__version__}, {platform.machine()}")  # fmt: skip


def report(rows: list[dict], steps: dict, max_iter: int, search: dict | None = None,
           command: str = "") -> str:  # fmt: skip
    lines = [
        "# Eight networks in one vectorized pass",
        "",
        f"Command: `.ci/env python -m benchmarks.members{command}`. {_versions()}. Seeds: the "
        "split's 0, "
        "the single network's `random_state=0`, the members' drawn from `random_state=0`.",
        "",
        "`python -m benchmarks.members`: `RegularizedMLPClassifier` with its defaults (100 ReLU "
        f"units, Adam, batches of 200, at most {max_iter} epochs, stopping after 10 epochs "
        "without improvement of the training loss) on the training rows of fold 0 of a shuffled "
        "stratified 10-fold split of KEEL tables (imputed, one-hot, standardized), one thread. "
        "*One*: one network. *Pass*: `n_members=8`, eight networks trained in one vectorized "
        "pass, each stopping at its own epoch. *Separate*: the same eight networks fitted one "
        "by one. CPU seconds of each fit, measured back to back in one process; accuracy on the "
        "fold's held-out rows. *max diff*: largest difference between the pass's averaged "
        "probabilities and those of the eight separate fits, which run the same trainings "
        "(initialization, batches, draws) with differently rounded arithmetic: about 1e-7 after "
        "a few epochs, it grows with the epochs a training runs, as between any two differently "
        "rounded trainings.",
        "",
        "| table | rows | features | penalty | epochs: one / members | CPU s: one | pass | "
        "separate | pass / one | per epoch | separate / pass | accuracy: one | pass | max diff |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        members = r["epochs_members"]
        lines.append(
            f"| {r['table']} | {r['rows']} | {r['features']} | {r['penalty']} | "
            f"{r['epochs_one']} / {min(members)}-{max(members)} | {r['cpu_one']:.1f} | "
            f"{r['cpu_pass']:.1f} | {r['cpu_separate']:.1f} | "
            f"**{r['cpu_pass'] / r['cpu_one']:.2f}x** | {_per_epoch(r):.2f}x | "
            f"{r['cpu_separate'] / r['cpu_pass']:.2f}x | "
            f"{r['accuracy_one']:.4f} | {r['accuracy_pass']:.4f} | {r['pass_vs_separate']:.1e} |"
        )
    ratios = [r["cpu_pass"] / r["cpu_one"] for r in rows]
    epochs = [_per_epoch(r) for r in rows]
    speedups = [r["cpu_separate"] / r["cpu_pass"] for r in rows]
    lines += [
        "",
        f"Pass / one: median {statistics.median(ratios):.2f}x, at most {max(ratios):.2f}x "
        f"(the target is 3x). *Per epoch*, the pass's CPU time per epoch of its average member "
        f"against one network's per epoch (8 networks trained for as long as one): median "
        f"{statistics.median(epochs):.2f}x, at most {max(epochs):.2f}x. Separate / pass: median "
        f"{statistics.median(speedups):.2f}x. Each member stops at its own epoch and then leaves "
        "the pass, so *pass / one* also carries how much longer than the single network the "
        "members train.",
        "",
        "## One training step of 8 members, two ways",
        "",
        f"Cross-entropy and its gradient for 8 members of a 16-100-7 MLP on batches of 200 rows "
        f"(satimage-sized), median of 200 interleaved steps: `vmap(grad(functional_call))` "
        f"{steps['vmap']:.2f} ms, the stacked MLP (`torch.baddbmm` per layer, plain autograd) "
        f"{steps['stacked']:.2f} ms ({steps['vmap'] / steps['stacked']:.1f}x faster), which is "
        "why the package trains members as a stacked MLP.",
        "",
    ]
    if search is not None:
        lines += [
            "## A search, in passes and one by one",
            "",
            f"`tabular_search(RegularizedMLPClassifier(max_iter={max_iter}))` (8 candidates, 3 "
            f"folds, the 3 best refitted) on the same training rows of {search['table']} "
            f"({search['rows']} rows): its 24 candidate-fold fits in four passes (one per "
            f"penalty) took {search['cpu_passes']:.1f} CPU s, one by one "
            f"{search['cpu_alone']:.1f} s ({search['cpu_alone'] / search['cpu_passes']:.2f}x); "
            f"test accuracy {search['accuracy_passes']:.4f} and {search['accuracy_alone']:.4f}, "
            f"{'the same' if search['same_choice'] else 'different'} top candidates.",
            "",
        ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two small tables, 30 epochs")
    parser.add_argument("--penalties", default=",".join(PENALTIES))
    parser.add_argument("--tables", default=",".join(TABLES))
    parser.add_argument("--skip", default="", help="table/penalty pairs to leave out, a,b")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    import torch
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    tables = QUICK_TABLES if args.quick else args.tables.split(",")
    skip = set(filter(None, args.skip.split(",")))
    max_iter = 30 if args.quick else 200
    cache = CACHE if args.out == RESULTS else args.out.with_suffix(".json")
    done = json.loads(cache.read_text()) if cache.is_file() else {}
    rows = []
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        measure(QUICK_TABLES[0], "l2", 2)  # warm-up: torch's first calls are slow
        for table in tables:
            for penalty in args.penalties.split(","):
                if f"{table}/{penalty}" in skip:
                    continue
                key = f"{table}/{penalty}/{max_iter}"
                if key not in done:
                    done[key] = measure(table, penalty, max_iter)
                    cache.write_text(json.dumps(done, indent=1))
                rows.append(done[key])
                r = rows[-1]
                print(f"{table} {penalty}: one {r['cpu_one']:.1f}s, pass {r['cpu_pass']:.1f}s, "
                      f"separate {r['cpu_separate']:.1f}s", flush=True)  # fmt: skip
        steps = step_times()
        key = f"search/{SEARCH_TABLE}/{max_iter}"
        if not args.quick and key not in done:
            done[key] = measure_search(SEARCH_TABLE, max_iter)
            cache.write_text(json.dumps(done, indent=1))
        search = done.get(key)
    text = report(rows, steps, max_iter, search, "".join(f" {a}" for a in argv or sys.argv[1:]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
