"""When does a training loss "climb"? The rule behind ``TrainingLossClimbWarning``, checked.

    .ci/env python -m benchmarks.climb_rule --jobs 2              # 330 small fits, resumable
    .ci/env python -m benchmarks.climb_rule --data /path/to/mnist # also MNIST's real climbs
    .ci/env python -m benchmarks.climb_rule --report-only         # the report from the cache

The warning must stay silent where training went well and speak where it did not:

* **flat, noisy curves** (no climb): 30 fits of each penalty family on an easy 300-row table
  (``make_classification``, a new table per seed, standardized), one hidden layer of 16,
  batches of 32, 150 epochs at a constant rate with no early stop. The penalties that draw noise
  make their losses wander; the last epoch of such a curve often lies well above its minimum.
* **forced climbs**, made from those same curves: a late spike (the last epoch's loss raised by
  half of the fall from the first epoch to the lowest) and a sustained climb (the last fifth of
  the epochs ramped up by as much).
* **real climbs**, with ``--data`` (MNIST's IDX files): the training recipes that climbed on
  MNIST (a tanh MLP of 1000 at a constant 3e-3, ``jacobian`` at alpha 1 and 0.1 and
  ``noisy_jacobian``, 15 epochs on 20,000 rows; two layers of 1000 with ``jacobian`` at alpha
  0.3, which plateaus above its best loss), and Adam at a rate 30x too high on a small table.

Every fit is a cell of the experiment runner, cached in ``results/climb_rule_cache.json``; the
report applies the package's rule (``sklearn_regpen._climb.loss_climb``) and the rule it replaced
to every cached curve, so a change of rule is judged without refitting.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

from ._mnist import add_data_argument, mnist
from ._report import RESULTS, Report, markdown_table, pyplot
from ._runner import Study, add_arguments, cell_key, code_fingerprint, provenance

#: the penalties that draw noise first: their curves are the noisy ones
FAMILIES = ("noise", "vat", "c2c_adversarial", "c2c", "noisy_jacobian", "none", "l2",
            "jacobian", "logit_jacobian", "double_backprop", "hsfob")  # fmt: skip
SEEDS = 30
EPOCHS = 150
#: the MNIST recipes that climbed (tanh MLP, batch 128, constant rate, 20,000 rows)
MNIST_CLIMBS = [
    {"penalty": "jacobian", "setting": {"alpha": 1.0}, "hidden": [1000], "epochs": 15},
    {"penalty": "jacobian", "setting": {"alpha": 0.1}, "hidden": [1000], "epochs": 15},
    {"penalty": "noisy_jacobian", "setting": {"alpha": 1.0, "epsilon": 0.1}, "hidden": [1000],
     "epochs": 15},
    {"penalty": "jacobian", "setting": {"alpha": 0.3}, "hidden": [1000, 1000], "epochs": 20},
]  # fmt: skip
#: the code whose change changes a curve: the package but its command line, searches, table
#: preprocessing, docstring templates and the rule itself (applied to the curves in the report)
CODE = (["sklearn_regpen", "benchmarks/climb_rule.py"],
        ("sklearn_regpen/__main__.py", "sklearn_regpen/cli", "sklearn_regpen/_dask.py",
         "sklearn_regpen/search.py", "sklearn_regpen/_ensemble.py", "sklearn_regpen/tables.py",
         "sklearn_regpen/_docs.py", "sklearn_regpen/_climb.py"))  # fmt: skip


def old_rule(losses) -> bool:
    """The rule the package used before: the last epoch above 1.3x the lowest, by more than a
    tenth of the fall from the first epoch to the lowest."""
    low, last, first = min(losses), losses[-1], losses[0]
    return len(losses) > 1 and last > 1.3 * low and last - low > 0.1 * (first - low)


def new_rule(losses) -> bool:
    from sklearn_regpen._climb import loss_climb

    return loss_climb(losses) is not None


RULES = {"before": old_rule, "now": new_rule}


# -- cells -----------------------------------------------------------------------------------------
def run_cell(params: dict, *, data: str | None = None, threads: int = 1) -> dict:
    import torch
    from sklearn.datasets import make_classification
    from sklearn.preprocessing import StandardScaler

    from sklearn_regpen import RegularizedMLPClassifier

    torch.set_num_threads(threads)
    kind = params["kind"]
    if kind == "mnist":
        X_all, y_all, _, _ = mnist(data)
        X, y = X_all[: params["rows"]], y_all[: params["rows"]]
        model = RegularizedMLPClassifier(
            hidden_layer_sizes=tuple(params["hidden"]), activation="tanh",
            penalty=params["penalty"], learning_rate="constant", learning_rate_init=3e-3,
            batch_size=128, max_iter=params["epochs"], n_iter_no_change=params["epochs"],
            random_state=0, n_threads=threads, early_stopping=False,
            **{"alpha": 1e-4, **params["setting"]},
        )  # fmt: skip
    else:
        X, y = make_classification(n_samples=300, n_features=10, n_informative=5,
                                   class_sep=1.5, random_state=params["seed"])  # fmt: skip
        X = StandardScaler().fit_transform(X)
        fast = kind == "fast"  # Adam at 0.1 on a tanh net: overshoots
        model = RegularizedMLPClassifier(
            hidden_layer_sizes=(64,) if fast else (16,), activation="tanh" if fast else "relu",
            penalty=params["penalty"], learning_rate="constant",
            learning_rate_init=0.1 if fast else 3e-3, batch_size=16 if fast else 32,
            max_iter=params["epochs"], n_iter_no_change=params["epochs"], tol=0.0,
            random_state=params["seed"], n_threads=threads, early_stopping=False, alpha=1e-4,
        )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    return {"loss_curve": [float(v) for v in model.loss_curve_]}


def cells(args) -> list[dict]:
    out = [{"kind": "flat", "penalty": p, "seed": s, "epochs": args.epochs}
           for p in FAMILIES for s in range(args.seeds)]  # fmt: skip
    out += [{"kind": "fast", "penalty": "none", "seed": s, "epochs": 11} for s in range(10)]
    if args.data is not None:
        out += [{"kind": "mnist", "rows": 20_000, **c} for c in MNIST_CLIMBS]
    return out


# -- forced climbs ---------------------------------------------------------------------------------
def spiked(curve) -> list:
    """The last epoch raised by half of the fall from the first epoch to the lowest."""
    c = list(curve)
    c[-1] = c[-1] + 0.5 * (c[0] - min(c))
    return c


def ramped(curve) -> list:
    """The last fifth of the epochs ramped up linearly by half of the fall from the first epoch
    to the lowest: a sustained climb."""
    c = np.array(curve, dtype=float)
    n = max(len(c) // 5, 2)
    c[-n:] += np.linspace(0, 0.5 * (c[0] - c.min()), n)
    return c.tolist()


# -- command ---------------------------------------------------------------------------------------
def parse(argv) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.climb_rule",
                                description=__doc__.split("\n\n")[0])  # fmt: skip
    add_data_argument(p)
    p.add_argument("--seeds", type=int, default=SEEDS, help="fits per penalty family")
    p.add_argument("--quick", action="store_true", help="2 fits per family, 20 epochs")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--name", default="climb_rule.md")
    p.add_argument("--cache", type=Path, default=None)
    add_arguments(p)
    args = p.parse_args(argv)
    args.epochs = 20 if args.quick else EPOCHS
    if args.quick:
        args.seeds = 2
    if args.cache is None:
        args.cache = args.out / args.name.replace(".md", "_cache.json")
    if args.data is not None and not Path(args.data).is_dir():
        p.error(f"no MNIST folder at {args.data}")
    return args


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse(argv)
    fingerprint = code_fingerprint(CODE[0], exclude=CODE[1])
    data = None if args.data is None else str(args.data)
    study = Study(
        cache=args.cache, run=run_cell, fingerprint=fingerprint, plan=lambda cache: cells(args),
        # the first epochs: a long curve moves by rounding alone on another CPU
        compare=(("loss_curve", 3),), rtol=1e-4, label="loss curves", options={"data": data},
        describe=lambda p, r: " ".join(str(p.get(k, "")) for k in ("kind", "penalty", "seed")),
    )  # fmt: skip
    cache, outcome = study.execute(args)
    report(args, cache, fingerprint, outcome, argv)
    return 0


def report(args, cache, fingerprint, outcome, argv) -> None:
    planned = cells(args)
    found = [(c, cache.result(c)) for c in planned]
    found = [(c, r["loss_curve"]) for c, r in found if r is not None]
    rep = Report("The training-loss climb rule on flat, forced and real climbs",
                 seeds=f"0-{args.seeds - 1} per family", module="benchmarks.climb_rule",
                 argv=argv)  # fmt: skip
    rep.cached(outcome.ran, len(found))
    flat = [(c, curve) for c, curve in found if c["kind"] == "flat"]
    rows = []
    for p in FAMILIES:
        curves = [curve for c, curve in flat if c["penalty"] == p]
        if not curves:
            continue
        row = [f"`{p}`", len(curves)]
        for rule in RULES.values():
            row += [sum(rule(c) for c in curves), sum(rule(spiked(c)) for c in curves),
                    sum(rule(ramped(c)) for c in curves)]  # fmt: skip
        rows.append(row)
    header = ["penalty", "fits"]
    for name in RULES:
        header += [f"{name}: alarms on flat", f"{name}: late spikes found",
                   f"{name}: ramps found"]  # fmt: skip
    rep.show(
        "## Flat noisy curves and forced climbs",
        f"{args.epochs} epochs on an easy 300-row table per fit (hidden 16, batch 32, Adam 3e-3, "
        "no early stop). An alarm on one of these fits is a false alarm unless its curve was not "
        "flat after all (the fits that raised one are listed below, with their losses); the "
        "late spike and the ramp are climbs put on the same curves, and every one should be "
        "found. `before`: the last epoch over 1.3x the lowest (and over a tenth of the fall); "
        "`now`: the package's rule (`sklearn_regpen._climb.loss_climb`).\n\n"
        + markdown_table(header, rows),
    )  # fmt: skip
    alarms = [(c, curve) for c, curve in flat if any(rule(curve) for rule in RULES.values())]
    if alarms:
        rep.add(
            "### The fits of the flat set that raised an alarm",
            "Each with its lowest and highest epoch loss, so that the reader can judge whether "
            "it was flat.\n\n"
            + markdown_table(
                ["penalty", "seed", "lowest loss", "highest loss after the lowest", "last loss",
                 *(f"{n}: alarm" for n in RULES)],
                [[f"`{c['penalty']}`", c["seed"], f"{min(curve):.4g}",
                  f"{max(curve[int(np.argmin(curve)):]):.4g}", f"{curve[-1]:.4g}",
                  *("yes" if rule(curve) else "no" for rule in RULES.values())]
                 for c, curve in alarms],
            ),
        )  # fmt: skip
    real = [(c, curve) for c, curve in found if c["kind"] in ("fast", "mnist")]
    if real:
        rows = []
        for c, curve in real:
            what = (f"MNIST {'-'.join(map(str, c['hidden']))} `{c['penalty']}` "
                    f"{c['setting']}" if c["kind"] == "mnist"
                    else f"300-row table, Adam at 0.1, seed {c['seed']}")  # fmt: skip
            rows.append([what, f"{min(curve):.4g}", f"{curve[-1]:.4g}",
                         f"{curve[-1] / min(curve):.2f}",
                         *("yes" if rule(curve) else "no" for rule in RULES.values())])  # fmt: skip
        rep.show("## Real climbs",
                 markdown_table(["fit", "lowest loss", "last loss", "last / lowest",
                                 *(f"{n}: found" for n in RULES)], rows))  # fmt: skip
    if flat:
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(7, 4))
        for p in ("noise", "vat", "c2c_adversarial"):
            for c, curve in flat:
                if c["penalty"] == p and c["seed"] == 0:
                    ax.plot(range(1, len(curve) + 1), curve, lw=1, label=f"`{p}`, seed 0")
                    alarms = "alarm" if old_rule(curve) else ""
                    if alarms:
                        ax.plot(len(curve), curve[-1], "rx")
        ax.set_xlabel("epoch")
        ax.set_ylabel("training objective")
        ax.set_yscale("log")
        ax.set_title("Flat noisy curves (a red cross: the former rule called it a climb)",
                     fontsize=9)  # fmt: skip
        ax.legend(fontsize=8)
        rep.figure("climb_rule.png", fig, "flat noisy training curves")
    keys = [cell_key(c) for c, _ in found]
    rep.add("## Cost", provenance(cache, keys, fingerprint))
    rep.write(args.out / args.name)


if __name__ == "__main__":
    raise SystemExit(main())
