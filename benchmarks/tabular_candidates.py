"""Candidate defaults of ``RegularizedMLPClassifier`` and ``RegularizedMLPRegressor``, chosen on
the choose tables of ``benchmarks/tabular_pools.py`` and confirmed on its confirm tables.

    .ci/env python -m benchmarks.tabular_candidates                # all candidates, choose tables
    .ci/env python -m benchmarks.tabular_candidates --set confirm  # the picks, confirm tables
    .ci/env python -m benchmarks.tabular_candidates --report-only
    .ci/env python -m benchmarks.tabular_candidates --quick        # 2 small tables a pool, 1 fold

Each candidate changes one or two settings of the estimators as they were before this study
(``PREVIOUS``: a constant rate of 3e-3, up to 500 epochs, stop when the training loss stalls,
``penalty="l2"`` at ``alpha=1e-4``, one network), and spells out every setting it studies, so
its cells mean the same whatever the estimators' defaults are now.

The rule, fixed before any result: for each estimator, the candidate with the highest mean score
over the choose tables (mean over tables of the mean over folds: accuracy, or R^2), among those
whose fits take at most 3x the CPU of ``PREVIOUS`` on those tables; and, by the same rule, the
best candidate that trains one network, the one a default can take (``WHY_SINGLE``; this second
pick was added after the first choose tables had put members on top). ``--set confirm`` then
runs ``PREVIOUS`` and the picks on the confirm tables, which no choice looks at; a pick holds when
its paired gain over ``PREVIOUS`` there is positive, and, from the third round on, its gain
over the standing default too (``STANDING``, which the confirm set also runs; this part was
added once the third round's classifier pick had gained over ``PREVIOUS`` on the confirm
tables but lost to the standing default there). The confirm report
also sets them beside the anchors of ``benchmarks/tabular_anchors.py`` on the same tables.

Cells are (table, fold, candidate), on the folds, preprocessing and threads of the anchors study
(``benchmarks/tabular_methods.py``), cached in ``results/tabular_candidates_cache.json``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from . import tabular_pools as pools
from ._cells import fit_and_score, with_preprocessing
from ._report import RESULTS, Report, markdown_table
from ._runner import Cache, Study, add_arguments, cell_key, code_fingerprint, provenance
from .tabular_anchors import FOLDS, QUICK_FOLDS, QUICK_TABLES, REGIMES, standard_error
from .tabular_methods import METHODS, SEED
from .tabular_methods import folds as split_folds

#: the estimators' settings before this study, spelled out
PREVIOUS = {"penalty": "l2", "alpha": 1e-4, "epsilon": 0.1, "learning_rate": "auto",
            "learning_rate_init": 3e-3, "max_iter": 500, "n_iter_no_change": 10,
            "early_stopping": False, "scoring": None, "n_members": 1,
            "hidden_layer_sizes": (100,)}  # fmt: skip

#: candidate -> the settings it changes from PREVIOUS (the same for both estimators)
CANDIDATES = {
    "previous defaults": {},
    "learning_rate_init=1e-3": {"learning_rate_init": 1e-3},
    "learning_rate_init=1e-3, max_iter=200": {"learning_rate_init": 1e-3, "max_iter": 200},
    "early_stopping": {"early_stopping": True},
    "early_stopping, n_iter_no_change=30": {"early_stopping": True, "n_iter_no_change": 30},
    "n_members=8": {"n_members": 8},
    "early_stopping, n_members=8": {"early_stopping": True, "n_members": 8},
    "l2 alpha=1": {"alpha": 1.0},
    "noise epsilon=0.1": {"penalty": "noise", "epsilon": 0.1},
    "jacobian alpha=0.1": {"penalty": "jacobian", "alpha": 0.1},
    "vat alpha=1 epsilon=0.5": {"penalty": "vat", "alpha": 1.0, "epsilon": 0.5},
    # combinations of the above that did well on the first choose tables
    "l2 alpha=0.1": {"alpha": 0.1},
    "l2 alpha=3": {"alpha": 3.0},
    "l2 alpha=1, n_members=8": {"alpha": 1.0, "n_members": 8},
    "early_stopping, l2 alpha=1": {"early_stopping": True, "alpha": 1.0},
    "early_stopping, l2 alpha=1, n_members=8": {
        "early_stopping": True,
        "alpha": 1.0,
        "n_members": 8,
    },
    "early_stopping, learning_rate_init=1e-3": {"early_stopping": True, "learning_rate_init": 1e-3},
    # a second round: early stopping on the validation loss, which tells epochs apart where the
    # accuracy of a few dozen held-out rows cannot (added after the first round's confirm run)
    "early_stopping on the loss": {"early_stopping": True, "scoring": "loss"},
    "early_stopping on the loss, n_iter_no_change=30": {
        "early_stopping": True,
        "scoring": "loss",
        "n_iter_no_change": 30,
    },
    "early_stopping on the loss, n_iter_no_change=30, l2 alpha=0.1": {
        "early_stopping": True,
        "scoring": "loss",
        "n_iter_no_change": 30,
        "alpha": 0.1,
    },
    "early_stopping on the loss, n_iter_no_change=30, n_members=8": {
        "early_stopping": True,
        "scoring": "loss",
        "n_iter_no_change": 30,
        "n_members": 8,
    },
    # round three: the width and depth of RealMLP's network (three layers of 256), on the
    # classifier's defaults of round two
    "early_stopping on the loss, n_iter_no_change=30, l2 alpha=0.1, hidden (256, 256)": {
        "early_stopping": True,
        "scoring": "loss",
        "n_iter_no_change": 30,
        "alpha": 0.1,
        "hidden_layer_sizes": (256, 256),
    },
    "early_stopping on the loss, n_iter_no_change=30, l2 alpha=0.1, hidden (256, 256, 256)": {
        "early_stopping": True,
        "scoring": "loss",
        "n_iter_no_change": 30,
        "alpha": 0.1,
        "hidden_layer_sizes": (256, 256, 256),
    },
}
REFERENCE = "previous defaults"
#: the estimators' defaults when the latest round started (round two's picks): the confirm set
#: runs them beside the new picks, and a pick replaces them only where it beats them there
STANDING = {"classification": "early_stopping on the loss, n_iter_no_change=30, l2 alpha=0.1",
            "regression": "early_stopping on the loss, n_iter_no_change=30"}  # fmt: skip
CPU_LIMIT = 3.0  # a candidate's CPU on the choose tables, at most this times REFERENCE's
ANCHORS = {"classification": ["MLPClassifier()", "HistGradientBoostingClassifier()",
                              "RealMLP_TD_Classifier()", "LogisticRegression"],
           "regression": ["MLPRegressor(), standardized target", "HistGradientBoostingRegressor()",
                          "RealMLP_TD_Regressor()", "RidgeCV"]}  # fmt: skip


def settings(candidate: str) -> dict:
    """Every setting the study varies, for ``candidate``."""
    return {**PREVIOUS, **CANDIDATES[candidate]}


def run_cell(params: dict, *, quick: bool = False) -> dict:
    """Fit one candidate on one fold of one table: ``{"score", "fit_cpu_s", "fit_wall_s",
    "n_iter"}``."""
    from sklearn_regpen import RegularizedMLPClassifier, RegularizedMLPRegressor

    task = pools.task_of(params["table"])
    X, y = pools.load(params["table"])
    train, test = split_folds(task, y, params["fold"])
    options = settings(params["candidate"])
    if quick:
        options["max_iter"] = 10
    kind = RegularizedMLPClassifier if task == "classification" else RegularizedMLPRegressor
    model = with_preprocessing(kind(random_state=SEED, n_threads=1, **options), X)
    result = fit_and_score(model, X, y, train, test)
    return {**result, "n_iter": int(model[-1].n_iter_)}


# -- the choice ------------------------------------------------------------------------------------
def scores_of(cache: Cache, tables, fold_ids, names, key: str) -> dict | None:
    """``{name: {table: [score per fold]}}`` over the tables complete for every name, and the
    CPU seconds; ``key`` is the cell field that names the method ("candidate" or "method")."""
    out, cpu, epochs = {n: {} for n in names}, {n: 0.0 for n in names}, {n: [] for n in names}
    for table in tables:
        cells = {(f, n): cache.result({"table": table, "fold": f, key: n})
                 for f in fold_ids for n in names}  # fmt: skip
        if any(r is None for r in cells.values()):
            continue
        for n in names:
            out[n][table] = [cells[(f, n)]["score"] for f in fold_ids]
            cpu[n] += sum(cells[(f, n)]["fit_cpu_s"] for f in fold_ids)
            epochs[n] += [cells[(f, n)].get("n_iter", np.nan) for f in fold_ids]
    return {"scores": out, "cpu": cpu, "epochs": epochs}


def choose(summary: dict, *, single: bool = False) -> str | None:
    """The rule: the highest mean score among the candidates within the CPU limit (with
    ``single``, among those that train one network)."""
    scores, cpu = summary["scores"], summary["cpu"]
    if not scores[REFERENCE]:
        return None
    allowed = [n for n in scores if cpu[n] <= CPU_LIMIT * cpu[REFERENCE]
               and (not single or settings(n)["n_members"] == 1)]  # fmt: skip
    return max(allowed, key=lambda n: np.mean([np.mean(v) for v in scores[n].values()]))


def picks(summary: dict) -> list[str]:
    """The rule's choice, then the best candidate that trains one network (the one the
    estimators' defaults can take: see :data:`WHY_SINGLE`), without repeats."""
    out = []
    for name in (choose(summary), choose(summary, single=True)):
        if name is not None and name not in out:
            out.append(name)
    return out


#: why the defaults take the best single network, when the rule's choice trains several
WHY_SINGLE = (
    "The estimators' defaults train one network: with `n_members` above 1, `partial_fit`, "
    '`warm_start` and `solver="sgd"` are refused, and the defaults must keep them. So a '
    "default takes the best candidate that trains one network, and the rule's choice, when it "
    "trains several, stays one parameter away (`n_members=8`). This second pick was added to the "
    "study after the first choose tables had put members on top; both are confirmed."
)


def regime_rows(
    task: str, per_method: dict, reference: str, names, tables
) -> tuple[list, list, list]:
    """The header and rows of two tables: mean score per regime, and the paired difference with
    ``reference`` (standard error over the cells in brackets)."""
    tags = {t: pools.regimes(t) for t in tables}
    regimes = [(label, [t for t in tables if keep(*tags[t])]) for label, keep in REGIMES]
    regimes = [(label, members) for label, members in regimes if members]
    header = ["method"] + [f"{label} ({len(members)})" for label, members in regimes]
    means, diffs = [], []
    for n in names:
        means.append([n] + [f"{np.mean([np.mean(per_method[n][t]) for t in m]):.4f}"
                            for _, m in regimes])  # fmt: skip
        row = [n]
        for _, members in regimes:
            d = [a - b for t in members for a, b in zip(per_method[n][t], per_method[reference][t])]
            row.append(f"{np.mean(d):+.4f} ({standard_error(d):.4f})")
        diffs.append(row)
    return header, means, diffs


def report_task(cache: Cache, anchors: Cache, task: str, which: str, tables, fold_ids,
                names: list[str], fingerprint: str, report: Report) -> str | None:  # fmt: skip
    metric = "accuracy" if task == "classification" else "R^2"
    summary = scores_of(cache, tables, fold_ids, names, "candidate")
    done = list(summary["scores"][REFERENCE])
    report.add("## Setup", (
        f"{len(tables)} {task} tables ({which} set of `benchmarks/tabular_pools.py`), the folds "
        "and preprocessing of the anchors study, `random_state=0`, one thread. "
        f"Tables complete for every candidate: {len(done)} of {len(tables)}"
        + (f" (not yet: {', '.join(t for t in tables if t not in done)})." if len(done) < len(
            tables) else ".")
        + " Each candidate's settings, beyond those it names, are the previous defaults: "
        + ", ".join(f"`{k}={v!r}`" for k, v in PREVIOUS.items()) + "."))  # fmt: skip
    if not done:
        return None
    order = sorted(
        names, key=lambda n: -np.mean([np.mean(v) for v in summary["scores"][n].values()])
    )
    header, means, diffs = regime_rows(task, summary["scores"], REFERENCE, order, done)
    reference_cpu = summary["cpu"][REFERENCE]
    for row, n in zip(diffs, order):
        row += [f"{summary['cpu'][n]:.0f}", f"{summary['cpu'][n] / reference_cpu:.2f}x",
                f"{np.nanmean(summary['epochs'][n]):.0f}"]  # fmt: skip
    report.add(f"## Mean {metric} per regime (number of tables)", markdown_table(header, means))
    report.add("## Paired differences against the previous defaults", (
        f"Each candidate's {metric} minus that of the previous defaults on the same (table, "
        "fold); the standard error over those cells in brackets. CPU seconds of all its fits, "
        "that CPU as a multiple of the previous defaults', and the mean epochs trained.\n\n"
        + markdown_table([*header, "CPU s", "CPU ratio", "epochs"], diffs)))  # fmt: skip
    chosen = None
    if which == "choose" and len(done) == len(tables):
        chosen = picks(summary)

        def spelled(name: str) -> str:
            return ", ".join(f"`{k}={v!r}`" for k, v in CANDIDATES[name].items()) or "no change"

        text = (
            f"The rule (highest mean {metric} among candidates within {CPU_LIMIT:g}x the CPU "
            f"of the previous defaults) chooses **{chosen[0]}** ({spelled(chosen[0])})."
        )
        if len(chosen) > 1:
            text += (
                f" The best candidate that trains one network is **{chosen[1]}** "
                f"({spelled(chosen[1])}). " + WHY_SINGLE
            )
        report.add("## The choice", text + " The confirm tables, never used here, say whether "
                   "each holds.")  # fmt: skip
    elif which == "confirm":
        lines, adopted = [], None
        standing = STANDING[task] if STANDING[task] in names else None

        def gain(name: str, over: str) -> list:
            return [a - b for t in done
                    for a, b in zip(summary["scores"][name][t], summary["scores"][over][t])]

        for name in names[1:]:
            if name == standing:
                continue
            gains = gain(name, REFERENCE)
            holds = np.mean(gains) > 0
            line = (f"- **{name}** minus the previous defaults: {np.mean(gains):+.4f} {metric} "
                    f"(SE {standard_error(gains):.4f} over {len(gains)} cells)")  # fmt: skip
            if standing is not None and name != standing:
                over = gain(name, standing)
                holds = holds and np.mean(over) > 0
                line += (f"; minus the standing default ({standing}): {np.mean(over):+.4f} "
                         f"(SE {standard_error(over):.4f})")  # fmt: skip
            if holds and settings(name)["n_members"] == 1 and adopted is None:
                adopted = name
            lines.append(line + f": it **{'holds' if holds else 'does not hold'}**.")
        if lines:
            keeps = (f"the estimator keeps its standing default, **{standing}**" if standing
                     else "the estimator keeps the previous defaults")  # fmt: skip
            verdict = (
                f"The estimator's default becomes **{adopted}**."
                if adopted and adopted != standing
                else f"No single-network pick holds: {keeps}."
            )
            if standing:
                verdict += (" A pick holds when it gains over both the previous defaults and the "
                            "standing default, the estimator's default when the latest round "
                            "started.")  # fmt: skip
            report.add("## Does the choice hold?", (
                f"On the {len(done)} confirm tables:\n\n" + "\n".join(lines) + "\n\n"
                + verdict + ("\n\n" + WHY_SINGLE if len(lines) > 1 else "")))  # fmt: skip
    present = [m for m in ANCHORS[task] if m in METHODS[task]]
    joint = scores_of(anchors, done, fold_ids, present, "method")
    both = [t for t in done if all(t in joint["scores"][m] for m in present)]
    if both:
        merged = {**{n: summary["scores"][n] for n in names}, **joint["scores"]}
        header, means, diffs = regime_rows(task, merged, REFERENCE, [*present, *order], both)
        report.add(
            f"## Against the anchors (the same {len(both)} tables)",
            (
                f"Mean {metric} per regime of the anchors study's methods beside the "
                "candidates, and each one's paired difference with the previous defaults.\n\n"
                + markdown_table(header, means)
                + "\n\n"
                + markdown_table(header, diffs)
            ),
        )
    rows = [[t, pools.ROWS[task][t]] + [f"{np.mean(summary['scores'][n][t]):.4f}" for n in order]
            for t in done]  # fmt: skip
    report.add(f"## {metric} per table", markdown_table(["table", "rows", *order], rows))
    keys = [cell_key({"table": t, "fold": f, "candidate": n})
            for t in tables for f in fold_ids for n in names]  # fmt: skip
    report.add("## Provenance", provenance(cache, keys, fingerprint))
    return chosen


# -- the command -----------------------------------------------------------------------------------
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pool", choices=["both", *pools.TASKS], default="both")
    parser.add_argument("--set", choices=["choose", "confirm"], default="choose",
                        help="'choose': every candidate; 'confirm': the previous defaults, "
                        "the standing defaults and the candidates the choose tables picked",
                        )  # fmt: skip
    parser.add_argument(
        "--quick",
        action="store_true",
        help="2 small tables a pool, 1 fold, 10 epochs (the test suite's run)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the results")
    add_arguments(parser)
    args = parser.parse_args(argv)
    tasks = list(pools.TASKS) if args.pool == "both" else [args.pool]
    suffix = "_quick" if args.quick else ""
    cache_path = args.out / f"tabular_candidates{suffix}_cache.json"
    anchors = Cache(args.out / f"tabular_anchors{suffix}_cache.json")
    fingerprint = code_fingerprint([__file__, "benchmarks/tabular_methods.py",
                                    "benchmarks/tabular_pools.py", "benchmarks/_cells.py",
                                    "sklearn_regpen"])  # fmt: skip

    def tables_of(task: str, which: str) -> list[str]:
        return QUICK_TABLES[task] if args.quick else (pools.CHOOSE if which == "choose"
                                                      else pools.CONFIRM)[task]  # fmt: skip

    def folds_of(task: str):
        return QUICK_FOLDS if args.quick else FOLDS[task]

    def chosen(cache: Cache, task: str) -> list[str] | None:
        summary = scores_of(cache, tables_of(task, "choose"), folds_of(task), list(CANDIDATES),
                            "candidate")  # fmt: skip
        complete = len(summary["scores"][REFERENCE]) == len(tables_of(task, "choose"))
        return picks(summary) if complete else None

    def names_of(cache: Cache, task: str) -> list[str]:
        if args.set == "choose":
            return list(CANDIDATES)
        confirmed = [REFERENCE, STANDING[task], *(chosen(cache, task) or [])]
        return list(dict.fromkeys(confirmed))  # in order, without repeats

    # what each (table, fold) runs, read once: the confirm set runs the picks of the complete
    # choose tables, which it never changes (reading them for every planned cell made the
    # planning cost more than the fits it planned)
    names = {t: names_of(Cache(cache_path), t) for t in tasks}

    def plan(cache: Cache) -> list[dict]:
        order = sorted((pools.ROWS[t][n], n, t) for t in tasks for n in tables_of(t, args.set))
        return [{"table": n, "fold": f, "candidate": c} for _, n, t in order
                for f in folds_of(t) for c in names[t]]  # fmt: skip

    study = Study(cache=cache_path, run=run_cell, plan=plan, fingerprint=fingerprint,
                  options={"quick": args.quick}, label="tabular candidates",
                  describe=lambda p, r: f"score {r['score']:.4f}, {r['n_iter']} epochs, "
                  f"fit {r['fit_cpu_s']:.1f} CPU s")  # fmt: skip
    if args.set == "confirm" and not args.report_only:
        missing = [t for t in tasks if chosen(Cache(cache_path), t) is None]
        if missing:
            raise SystemExit(f"the choose tables are not complete for {', '.join(missing)}: "
                             "run the choose set first")  # fmt: skip
    start = time.perf_counter()
    cache, outcome = study.execute(args)
    for task in tasks:
        report = Report(
            f"{task.capitalize()}: candidate defaults on the {args.set} tables"
            + (" (quick mode: a test of the code, not a result)" if args.quick else ""),
            seeds=[SEED], module=__spec__.name, argv=argv)  # fmt: skip
        report_task(cache, anchors, task, args.set, tables_of(task, args.set), folds_of(task),
                    names_of(cache, task), fingerprint, report)  # fmt: skip
        report.write(args.out / f"tabular_candidates_{task}_{args.set}{suffix}.md")
    print(
        f"done in {time.perf_counter() - start:.0f} s; {outcome.ran} cells fitted, "
        f"{outcome.left} left, {len(outcome.failures)} failed",
        flush=True,
    )
    return 1 if outcome.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
