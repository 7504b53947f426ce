"""Real MNIST through the estimator: the techreport's Table 1, Figures 1 and 2, Hessian norms.

    export REGPEN_MNIST=/path/to/mnist                          # or --data /path/to/mnist
    .ci/env python -m benchmarks.techreport_mnist --jobs 2      # the full protocol; resumable
    .ci/env python -m benchmarks.techreport_mnist --report-only # the report from the cache
    .ci/env python -m benchmarks.techreport_mnist --quick       # smoke test, < 1 min

The techreport's protocol (its section 8): train on rows 0-49,999 of MNIST's training file,
choose each penalty's ``alpha`` / ``epsilon`` and the architecture (a tanh MLP of one or of two
hidden layers of 1000) on rows 50,000-59,999 with seed 0 (each architecture's best setting is
also tried at a slower rate, 1e-3, since a deeper net may want one, and the neighbours of a
choice are tried along each axis, the rate's included: the grid's next values, and past an end
of the grid the next point beyond, up to two), then report the test error
of the chosen setting as mean ± sd over seeds 0, 1 and 2. Each architecture's own best setting
runs every seed too, so that the report compares one hidden layer with two. Every model is a
``RegularizedMLPClassifier`` with the package's defaults (``learning_rate="auto"``: a cosine
decay on images, run to the last epoch) except the architecture, ``batch_size=128``,
``max_iter=30`` and the rate: 3e-3 unless the setting gives 1e-3 (``learning_rate_init="auto"``
would take 1e-3 for two layers). Rows: ``none``, ``l2``, ``noise``, ``jacobian``,
``noisy_jacobian`` (the techreport's Table 1), ``c2c`` and ``vat``. Each fit also measures, on
the test rows, the input-Hessian norm (``diagnostics.sensitivity`` on the first 500 rows), the
first hidden layer's activations (Figure 1) and the error under Gaussian input noise (Figure 2);
the report shows them for the chosen settings.

Every fit is one cell of the experiment runner (``benchmarks/_runner.py``): cached in
``results/techreport_mnist_cache.json`` as it finishes, so the study stops (``--budget``) and
continues; ``--report-only`` writes ``techreport_mnist.md`` and its figures from the cache alone.
``--quick`` trains a 100-unit layer for 5 epochs on 3,000 rows with one candidate per penalty.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

from ._mnist import add_data_argument, check_data, mnist
from ._report import RESULTS, Report, markdown_table, pyplot
from ._runner import Study, add_arguments, cell_key, code_fingerprint, provenance
from ._techreport import LABELS as TABLE_LABELS
from ._techreport import PAPER, mean_sd, params_text

PENALTIES = ("none", "l2", "noise", "jacobian", "noisy_jacobian", "c2c", "vat")
LABELS = {**TABLE_LABELS, "c2c": "MLP + c2c", "vat": "MLP + VAT"}

#: candidates per penalty; pixels in [0, 1], so epsilon is in pixel units (vat: an L2 radius)
GRIDS = {
    "full": {
        "none": [{}],
        "l2": [{"alpha": a} for a in (1e-3, 1e-2, 1e-1, 1.0)],
        "noise": [{"epsilon": e} for e in (0.1, 0.2, 0.3)],
        "jacobian": [{"alpha": a} for a in (0.03, 0.1, 0.3, 1.0)],
        "noisy_jacobian": [{"alpha": a, "epsilon": e} for a in (0.1, 0.3, 1.0) for e in (0.1, 0.3)],
        "c2c": [{"alpha": a, "epsilon": e} for a in (10.0, 100.0) for e in (0.1, 0.3)],
        "vat": [{"alpha": a, "epsilon": e} for a in (0.3, 1.0) for e in (1.0, 3.0)],
    },
    "quick": {
        "none": [{}],
        "l2": [{"alpha": 1e-2}],
        "noise": [{"epsilon": 0.1}],
        "jacobian": [{"alpha": 0.1}],
        "noisy_jacobian": [{"alpha": 0.1, "epsilon": 0.1}],
        "c2c": [{"alpha": 10.0, "epsilon": 0.1}],
        "vat": [{"alpha": 1.0, "epsilon": 1.0}],
    },
}
#: the rate of the grid, and the one each architecture's best setting is tried again at
GRID_RATE, SLOWER_RATE = 3e-3, 1e-3
RATE = "learning_rate_init"
STDS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
BINS = np.linspace(-1, 1, 41)
SENSITIVITY = ("jacobian_sq_norm", "hessian_sq_norm", "logit_jacobian_sq_norm")
#: the code whose change changes a fit: the package (but its command line, searches, table
#: preprocessing and docstring templates) and this study
CODE = (["sklearn_regpen", "benchmarks/techreport_mnist.py"],
        ("sklearn_regpen/__main__.py", "sklearn_regpen/cli", "sklearn_regpen/_dask.py",
         "sklearn_regpen/search.py", "sklearn_regpen/_ensemble.py", "sklearn_regpen/tables.py",
         "sklearn_regpen/_docs.py"))  # fmt: skip


def parse(argv) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(p)
    p.add_argument("--quick", action="store_true", help="few thousand rows, tiny net: smoke test")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads per fit")
    p.add_argument("--train-rows", type=int, default=None, help="default 50000 (quick: 3000)")
    p.add_argument("--valid-rows", type=int, default=None, help="default 10000 (quick: 1000)")
    p.add_argument("--test-rows", type=int, default=None, help="default 10000 (quick: 1000)")
    p.add_argument("--max-iter", type=int, default=None, help="epochs; default 30 (quick: 5)")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="default 0 1 2 (quick: 0)")
    p.add_argument("--hidden", nargs="+", default=None,
                   help="architectures, widths joined by commas; default 1000 1000,1000 "
                        "(quick: 100)")  # fmt: skip
    p.add_argument("--grid", choices=list(GRIDS), default=None, help="default full (quick: quick)")
    p.add_argument("--penalties", nargs="+", choices=PENALTIES, default=list(PENALTIES))
    p.add_argument("--hessian-rows", type=int, default=None, help="default 500 (quick: 100)")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--name", default="techreport_mnist.md")
    p.add_argument("--cache", type=Path, default=None,
                   help="default: the report's name with _cache.json, beside it")  # fmt: skip
    add_arguments(p)
    args = p.parse_args(argv)
    q = args.quick
    defaults = {
        "train_rows": 3000 if q else 50_000,
        "valid_rows": 1000 if q else 10_000,
        "test_rows": 1000 if q else 10_000,
        "max_iter": 5 if q else 30,
        "seeds": [0] if q else [0, 1, 2],
        "hidden": ["100"] if q else ["1000", "1000,1000"],
        "grid": "quick" if q else "full",
        "hessian_rows": 100 if q else 500,
    }
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.hidden = [[int(w) for w in h.split(",")] for h in args.hidden]
    if args.cache is None:
        args.cache = args.out / args.name.replace(".md", "_cache.json")
    args.data = None if args.report_only and args.data is None else check_data(p, args.data)
    return args


# -- one cell: a fit and its measurements --------------------------------------------------------
def split(params: dict, data: str):
    """The cell's training, validation and test rows (the techreport's split: validation from
    row 50,000, or from the end of a smaller file)."""
    X_all, y_all, X_test, y_test = mnist(data)
    start = max(min(50_000, len(X_all) - params["valid_rows"]), 1)
    n_fit = min(params["train_rows"], start)
    valid = slice(start, start + params["valid_rows"])
    return ((X_all[:n_fit], y_all[:n_fit]), (X_all[valid], y_all[valid]),
            (X_test[: params["test_rows"]], y_test[: params["test_rows"]]))  # fmt: skip


def run_cell(params: dict, *, data: str, threads: int = 1) -> dict:
    """Fit one setting on the training rows; errors, loss curve and measurements."""
    import torch

    from sklearn_regpen import RegularizedMLPClassifier
    from sklearn_regpen.diagnostics import noise_errors, sensitivity

    (X_fit, y_fit), (X_val, y_val), (X_test, y_test) = split(params, data)
    model = RegularizedMLPClassifier(
        hidden_layer_sizes=tuple(params["hidden"]), activation="tanh", penalty=params["penalty"],
        batch_size=128, max_iter=params["epochs"], random_state=params["seed"],
        device=params["device"], n_threads=threads,
        # the protocol: every training row, all the epochs (the validation rows are separate);
        # the rate of the grid is 3e-3, the slower trials' 1e-3 (learning_rate_init="auto"
        # would pick either by the depth)
        early_stopping=False, **{"alpha": 1e-4, RATE: GRID_RATE, **params["setting"]},
    )  # fmt: skip
    torch.set_num_threads(threads)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the climb rule is applied to the curve in the report
        model.fit(X_fit, y_fit)
    first = model.net_.module_.layers[:2]
    with torch.no_grad():
        x = torch.as_tensor(X_test, device=model.net_.device)
        acts = first(x).cpu().numpy().ravel()
    rows = X_test[: params["hessian_rows"]]
    measured = sensitivity(model, rows, hessian_projections=16, random_state=0).mean()
    noisy = noise_errors(model, X_test, y_test, STDS, random_state=params["seed"])["error"]
    return {
        "valid_error": float(1 - model.score(X_val, y_val)),
        "test_error": float(1 - model.score(X_test, y_test)),
        "loss_curve": [float(v) for v in model.loss_curve_],
        "n_iter": int(model.n_iter_),
        "noise_errors": [float(v) for v in noisy],
        "activation_density": np.histogram(acts, bins=BINS, density=True)[0].tolist(),
        "activation_saturated": float(np.mean(np.abs(acts) > 0.95)),
        "activation_small": float(np.mean(np.abs(acts) < 0.1)),
        "activation_mean_abs": float(np.mean(np.abs(acts))),
        "sensitivity": {name: float(measured[name]) for name in SENSITIVITY},
    }


# -- the study: selection on validation (seed 0), then the chosen setting's other seeds ----------
def cell(args, penalty: str, hidden: list, setting: dict, seed: int) -> dict:
    return {"penalty": penalty, "hidden": hidden, "setting": setting, "seed": seed,
            "epochs": args.max_iter, "train_rows": args.train_rows,
            "valid_rows": args.valid_rows, "test_rows": args.test_rows,
            "hessian_rows": args.hessian_rows, "device": args.device}  # fmt: skip


def selection(args) -> dict:
    """Every candidate of each penalty, seed 0: one-layer cells first, so that the cheaper
    architecture's table fills first."""
    grid = GRIDS[args.grid]
    return {p: [cell(args, p, h, s, args.seeds[0]) for h in args.hidden for s in grid[p]]
            for p in args.penalties}  # fmt: skip


def best_cached(cache, cells: list, fingerprint: str | None) -> tuple[dict | None, int]:
    """The cached cell of lowest validation error among ``cells`` (None if none is cached),
    and how many of ``cells`` are cached."""
    cached = [(c, r) for c in cells if (r := cache.result(c, fingerprint)) is not None]
    if not cached:
        return None, 0
    return min(cached, key=lambda pair: pair[1]["valid_error"])[0], len(cached)


def choice(cache, cells: list, fingerprint: str | None):
    """The cell of lowest validation error among ``cells``, if all are cached, else None."""
    best, n_cached = best_cached(cache, cells, fingerprint)
    return best if n_cached == len(cells) else None


def grid_choices(args, cache, fingerprint: str | None) -> dict:
    """``{(penalty, hidden): cell}``: the best seed-0 cell of each penalty's grid within each
    architecture, once that architecture's grid is all cached (the rate trials not included)."""
    out = {}
    for penalty, candidates in selection(args).items():
        for hidden in args.hidden:
            best = choice(cache, [c for c in candidates if c["hidden"] == hidden], fingerprint)
            if best is not None:
                out[(penalty, tuple(hidden))] = best
    return out


def rate_trials(args, cache, fingerprint: str | None) -> list:
    """Each penalty's best setting of each architecture again at :data:`SLOWER_RATE`, once that
    architecture's candidates are all cached: whether a deeper net wants a slower rate than a
    shallower one."""
    if args.grid != "full":
        return []
    return [slower(best) for best in grid_choices(args, cache, fingerprint).values()]


def slower(c: dict) -> dict:
    """The cell ``c`` at :data:`SLOWER_RATE`."""
    return {**c, "setting": {**c["setting"], RATE: SLOWER_RATE}}


def architecture_choices(args, cache, fingerprint: str | None) -> dict:
    """``{(penalty, hidden): cell}``: the best seed-0 candidate of each penalty within each
    architecture, its slower-rate trial and the neighbours of its choices included, once all of
    them are cached."""
    return _best_of(args, cache, fingerprint, candidates_of(args, cache, fingerprint))


def _best_of(args, cache, fingerprint: str | None, candidates: dict) -> dict:
    out = {}
    for penalty, cells in candidates.items():
        for hidden in args.hidden:
            best = choice(cache, [c for c in cells if c["hidden"] == hidden], fingerprint)
            if best is not None:
                out[(penalty, tuple(hidden))] = best
    return out


def candidates_of(args, cache, fingerprint: str | None) -> dict:
    """Every candidate of each penalty: the grid, then the slower-rate trials and the
    neighbours of each choice as they come (:func:`neighbours`)."""
    cands = selection(args)
    for trial in rate_trials(args, cache, fingerprint):
        cands[trial["penalty"]].append(trial)
    if args.grid != "full":
        return cands
    while True:  # each neighbour may be chosen in turn, and call for its own
        added = [c for best in _best_of(args, cache, fingerprint, cands).values()
                 for c in neighbours(best, cands[best["penalty"]])
                 if c not in cands[best["penalty"]]]  # fmt: skip
        if not added:
            return cands
        for c in added:
            cands[c["penalty"]].append(c)


#: points at most added beyond either end of a grid's axis
MAX_BEYOND = 2
#: the ladder of geometric grids: 1 and 3 times the powers of 10
LADDER = sorted(float(f"{m * 10.0**k:.1g}") for m in (1, 3) for k in range(-6, 5))


def next_point(value: float, grid: list, direction: int) -> float | None:
    """The point after ``value`` (an end of ``grid``, the axis' values in the grid) in
    ``direction`` (+1 up, -1 down): one more step for an evenly spaced axis of three or more
    points (noise's standard deviations), else the next point of :data:`LADDER`."""
    values = sorted(set(grid))
    steps = np.diff(values)
    if len(values) >= 3 and np.allclose(steps, steps[0]):
        point = round(float(value + direction * steps[0]), 10)
        return point if point > 0 else None
    further = [v for v in LADDER if (v - value) * direction > value * 1e-9]
    return (min(further) if direction > 0 else max(further)) if further else None


def neighbours(best: dict, cells: list) -> list:
    """The untried cells one step from ``best`` along each axis of its setting, the rate
    included: the points of an axis are the grid's values (the rate's: 3e-3 and
    :data:`SLOWER_RATE`) and those tried along the line through ``best`` (every other value
    the same); past an end the next point beyond (:func:`next_point`), up to
    :data:`MAX_BEYOND` points beyond the grid. At the grid's rate an interior choice has its
    neighbours in the grid already; a choice at an end of an axis may be held there only by the
    grid, and a choice at the slower rate has neighbours that only that rate can try."""
    grid = GRIDS["full"][best["penalty"]]
    point = _point(best)
    lines = [_point(c) for c in cells if c["hidden"] == best["hidden"]]
    out = []
    for axis, value in point.items():
        on_grid = [GRID_RATE, SLOWER_RATE] if axis == RATE else [s[axis] for s in grid]
        line = [p[axis] for p in lines
                if all(p.get(a) == v for a, v in point.items() if a != axis)]  # fmt: skip
        values = sorted(set(on_grid) | set(line))
        i = values.index(value)
        for direction, grid_end in ((-1, min(on_grid)), (+1, max(on_grid))):
            if 0 <= i + direction < len(values):
                step = values[i + direction]
            elif sum((v - grid_end) * direction > 0 for v in values) < MAX_BEYOND:
                step = next_point(value, on_grid, direction)
            else:
                continue
            if step is None:
                continue
            neighbour = {**best, "setting": _setting({**point, axis: step})}
            if neighbour not in cells:
                out.append(neighbour)
    return out


def _point(c: dict) -> dict:
    """A cell's setting with its rate spelled out."""
    return {**c["setting"], RATE: c["setting"].get(RATE, GRID_RATE)}


def _setting(point: dict) -> dict:
    """The setting of a point: the grid's rate is left unsaid, as in the grid's cells."""
    return {a: v for a, v in point.items() if not (a == RATE and v == GRID_RATE)}


def planner(args, fingerprint: str | None):
    def plan(cache) -> list:
        cells = []
        for candidates in candidates_of(args, cache, fingerprint).values():
            cells += candidates
        order = {tuple(h): i for i, h in enumerate(args.hidden)}
        cells.sort(key=lambda c: order[tuple(c["hidden"])])  # stable: penalty order within
        # every seed of each architecture's best: the chosen row's, and one layer against two
        best = architecture_choices(args, cache, fingerprint).values()
        return cells + [{**c, "seed": s} for c in best for s in args.seeds[1:]]

    return plan


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse(argv)
    fingerprint = code_fingerprint(CODE[0], exclude=CODE[1])
    study = Study(
        cache=args.cache, run=run_cell, plan=planner(args, fingerprint), fingerprint=fingerprint,
        # the training's first epochs: the errors of a long training move by rounding alone on
        # another CPU (the runner's `compare`)
        compare=(("loss_curve", 3),), rtol=1e-4,
        label="techreport MNIST fits",
        options={"data": str(args.data), "threads": args.threads},
        describe=lambda p, r: (f"{p['penalty']} {arch_text(p['hidden'])} "
                               f"{params_text(p['setting'])} seed {p['seed']}: validation "
                               f"{100 * r['valid_error']:.2f}%, test {100 * r['test_error']:.2f}%"),
    )  # fmt: skip
    cache, outcome = study.execute(args)
    report(args, cache, fingerprint, outcome, argv)
    return 0


# -- the report ----------------------------------------------------------------------------------
def arch_text(hidden) -> str:
    return "-".join(map(str, hidden))


def report(args, cache, fingerprint, outcome, argv) -> None:
    from sklearn_regpen._climb import loss_climb

    rep = Report("Real MNIST: techreport Table 1, Figures 1 and 2 through the estimator",
                 seeds=args.seeds, module="benchmarks.techreport_mnist",
                 argv=argv)  # fmt: skip
    sel = candidates_of(args, cache, None)
    plan = planner(args, None)(cache)
    done = [c for c in plan if cache.get(c) is not None]
    rep.cached(outcome.ran, len(done))
    n_fit = min(args.train_rows, 50_000)
    data = (f"MNIST training rows 0-{n_fit - 1:,}, validation rows 50,000-"
            f"{50_000 + args.valid_rows - 1:,}, test rows 0-{args.test_rows - 1:,}")  # fmt: skip
    if args.quick:
        data = f"MNIST (quick: {args.train_rows:,} training rows)"
    # each penalty's best candidate so far: its choice once every candidate is cached
    chosen, tests, pending = {}, {}, {}
    for penalty, candidates in sel.items():
        best, n_cached = best_cached(cache, candidates, None)
        if best is None:
            continue
        chosen[penalty] = best
        if n_cached < len(candidates):
            pending[penalty] = f"{n_cached} of {len(candidates)}"
        results = [cache.result({**best, "seed": s}) for s in args.seeds]
        tests[penalty] = [r for r in results if r is not None]
    finished = len(done) == len(plan) and not pending and len(chosen) == len(sel)
    status = (f"{len(done)} of {len(plan)} planned fits cached"
              + ("" if finished else "; the study is not finished: a row whose candidates are "
                 "not all cached shows the best so far, marked, and the command above continues "
                 "it"))  # fmt: skip
    rows = []
    for p in args.penalties:
        paper = f"{PAPER[p][0]:.2f}" if p in PAPER else "-"
        if p not in chosen:
            rows.append([LABELS[p], f"`{p}`", f"selection: 0 of {len(sel[p])} candidates",
                         "-", "-", paper])  # fmt: skip
            continue
        best = chosen[p]
        setting = f"{arch_text(best['hidden'])}, {params_text(best['setting'])}"
        if p in pending:
            setting += f" (best so far: {pending[p]} candidates cached)"
        errors = [r["test_error"] for r in tests[p]]
        seeds = f"{len(errors)} of {len(args.seeds)}"
        rows.append([LABELS[p], f"`{p}`", setting, mean_sd(errors), seeds, paper])
    rep.show(
        "## Test error (techreport Table 1)",
        f"{data}; tanh MLP {' or '.join(arch_text(h) for h in args.hidden)} (architecture and "
        f"setting chosen on the validation rows, seed {args.seeds[0]}, among the grid of "
        f"each penalty (section \"Validation error of every candidate\"), each "
        f"architecture's best setting at the rate {SLOWER_RATE:g}, and the neighbours of a "
        f"choice along each axis, the rate's included, up to two points past an end of the "
        f"grid), batch 128, "
        f"{args.max_iter} epochs, a rate of 3e-3 unless the setting gives one, package "
        f"defaults otherwise (`learning_rate='auto'`: a cosine decay on 784 pixels, run to the "
        f"last epoch); test error mean ± sd over the "
        f"seeds; device {args.device}. One test row is {100 / args.test_rows:.2f}% of error. "
        f"{status}.\n\n"
        + markdown_table(["model", "penalty", "chosen (validation)", "test error % (mean ± sd)",
                          "seeds", "techreport %"], rows),
    )  # fmt: skip
    rep.add(
        "### Test error % per seed",
        markdown_table(
            ["penalty", *(f"seed {s}" for s in args.seeds)],
            [[f"`{p}`", *(f"{100 * r['test_error']:.2f}" for r in tests[p])]
             for p in args.penalties if p in tests],
        ),
    )  # fmt: skip
    per_arch, grid_best = [], grid_choices(args, cache, None)
    for p in args.penalties:
        for hidden in args.hidden:
            best = grid_best.get((p, tuple(hidden)))
            if best is None:
                continue
            r = cache.result(best)
            row = [
                f"`{p}`",
                arch_text(hidden),
                params_text(best["setting"]),
                f"{100 * r['valid_error']:.2f}",
                f"{100 * r['test_error']:.2f}",
                "-",
            ]
            trial = cache.result(slower(best))
            if trial is not None:
                row[-1] = (f"{100 * trial['valid_error']:.2f} / "
                           f"{100 * trial['test_error']:.2f}")  # fmt: skip
            elif args.grid == "full":
                row[-1] = "not run yet"
            per_arch.append(row)
    rep.add(
        "### The best setting of each architecture (seed 0)",
        "Chosen on validation within each architecture's grid; the test error of that seed-0 "
        f"fit; the same setting at a rate of {SLOWER_RATE:g} (validation / test error %), which "
        "also takes part in the choice.\n\n"
        + markdown_table(["penalty", "hidden", "setting", "validation error %",
                          "test error % (seed 0)", f"at rate {SLOWER_RATE:g}"], per_arch),
    )  # fmt: skip
    depth_section(rep, args, cache)

    seed0 = {p: cache.result(chosen[p]) for p in chosen}
    if seed0:
        rep.show(
            "## Input sensitivity (seed-0 chosen models, means over test rows)",
            f"On the first {args.hessian_rows} test rows: `||J||_F^2` of the probabilities, "
            "`sum_k ||d^2 p_k / dx^2||_F^2` (16 Gaussian projections per row) and `||J_z||_F^2` "
            "of the logits (`sklearn_regpen.diagnostics.sensitivity`).\n\n"
            + markdown_table(["penalty", *SENSITIVITY],
                             [[f"`{p}`", *(f"{r['sensitivity'][c]:.4g}" for c in SENSITIVITY)]
                              for p, r in seed0.items()]),
        )  # fmt: skip
        figures(rep, args, chosen, seed0, tests)

    climbs, table = [], []
    for p in args.penalties:
        for c in sel[p]:
            record = cache.get(c)
            if record is None:
                continue
            r = record["result"]
            curve = r["loss_curve"]
            climb = loss_climb(curve)
            if climb is not None:
                climbs.append(
                    f"`{p}` {arch_text(c['hidden'])} {params_text(c['setting'])}: "
                    f"{climb.end_text()}, {climb.ratio:.2f}x "
                    f"the lowest ({climb.lowest:.4g} at epoch {climb.lowest_epoch})"
                )
            table.append([f"`{p}`", arch_text(c["hidden"]), params_text(c["setting"]),
                          f"{100 * r['valid_error']:.2f}", f"{curve[-1] / min(curve):.2f}",
                          r["n_iter"], f"{record['cpu_s'] / 60:.1f}"])  # fmt: skip
    rep.add(
        "## Validation error of every candidate (seed 0)",
        markdown_table(["penalty", "hidden", "setting", "validation error %",
                        "last / lowest training loss", "epochs", "CPU min"], table)
        + "\n\n" + ("Training losses that ended in a climb (`TrainingLossClimbWarning`'s rule):\n\n"
                    + "\n".join(f"- {c}" for c in climbs) if climbs
                    else "No fit's training loss ended in a climb (`TrainingLossClimbWarning`'s "
                         "rule)."),
    )  # fmt: skip
    rep.add("## Cost", provenance(cache, [cell_key(c) for c in done], fingerprint)
            + " Each fit ran on one CPU thread unless the command says otherwise.")  # fmt: skip
    rep.write(args.out / args.name)


def depth_section(rep: Report, args, cache) -> None:
    """Each architecture's best setting (its rate included) over every seed: whether the deeper
    net trains as well as the shallower one, paired by seed."""
    if len(args.hidden) < 2:
        return
    arch = architecture_choices(args, cache, None)
    rows = []
    for p in args.penalties:
        errors = {}
        for hidden in args.hidden:
            best = arch.get((p, tuple(hidden)))
            results = [] if best is None else [cache.result({**best, "seed": s})
                                               for s in args.seeds]  # fmt: skip
            if results and all(r is not None for r in results):
                errors[tuple(hidden)] = (best, [100 * r["test_error"] for r in results])
        if len(errors) < len(args.hidden):
            rows.append([f"`{p}`", *(["not finished"] * len(args.hidden)), "-"])
            continue
        cells = [f"{mean_sd([e / 100 for e in errs])} ({params_text(best['setting'])})"
                 for best, errs in errors.values()]  # fmt: skip
        shallow, deep = (errors[tuple(h)][1] for h in (args.hidden[0], args.hidden[-1]))
        diff = np.subtract(deep, shallow)
        sd = diff.std(ddof=1) if len(diff) > 1 else float("nan")
        rows.append([f"`{p}`", *cells, f"{diff.mean():+.2f} ± {sd:.2f}"])
    rate_figure(rep, args, cache)
    deepest, first = arch_text(args.hidden[-1]), arch_text(args.hidden[0])
    rep.add(
        "### One hidden layer against two (test error %, every seed)",
        "Each architecture at its own best setting, the rate "
        f"{SLOWER_RATE:g} included, chosen on the validation rows (seed 0); the test rows, "
        "never used to choose, confirm it: test error mean ± sd over seeds "
        f"{', '.join(map(str, args.seeds))}; the last column is {deepest} minus {first}, paired "
        "by seed (mean ± sd of the differences).\n\n"
        + markdown_table(["penalty", *(arch_text(h) for h in args.hidden),
                          f"{deepest} minus {first}"], rows),
    )  # fmt: skip


def rate_figure(rep: Report, args, cache) -> None:
    """Per penalty and architecture, the lowest validation error (seed 0) among the settings
    tried at each rate: the picture behind ``learning_rate_init="auto"``."""
    candidates = candidates_of(args, cache, None)
    curves = {}  # penalty -> {hidden: {rate: lowest validation error %}}
    for p in args.penalties:
        for c in candidates.get(p, []):
            r = cache.result(c)
            if r is None:
                continue
            rates = curves.setdefault(p, {}).setdefault(arch_text(c["hidden"]), {})
            rate = _point(c)[RATE]
            rates[rate] = min(rates.get(rate, np.inf), 100 * r["valid_error"])
    if not curves:
        return
    plt = pyplot()
    columns = min(4, len(curves))
    rows = -(-len(curves) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(2.6 * columns, 2.6 * rows), sharex=True,
                             squeeze=False)  # fmt: skip
    ticks = sorted({rate for per_arch in curves.values() for rates in per_arch.values()
                    for rate in rates})  # fmt: skip
    for ax, (p, per_arch) in zip(axes.flat, curves.items()):
        for hidden, rates in per_arch.items():
            xs = sorted(rates)
            ax.plot(xs, [rates[x] for x in xs], "o-", label=hidden)
        ax.set_xscale("log")
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks], fontsize=7)
        ax.minorticks_off()
        ax.set_title(p, fontsize=9)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(curves):]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("validation error %", fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("learning_rate_init", fontsize=8)
    axes[0][0].legend(fontsize=7, title="hidden", title_fontsize=7)
    fig.suptitle("Lowest validation error among the settings tried at each rate (seed 0)",
                 fontsize=10)  # fmt: skip
    fig.tight_layout()
    rep.figure("techreport_mnist_rates.png", fig,
               "lowest validation error among the settings tried at each rate, one and two "
               "hidden layers")  # fmt: skip


def figures(rep: Report, args, chosen: dict, seed0: dict, tests: dict) -> None:
    plt = pyplot()
    compared = [p for p in ("none", "jacobian", "noisy_jacobian") if p in seed0]
    fig1, ax = plt.subplots(figsize=(6, 4))
    act_rows = []
    for p in compared:
        r = seed0[p]
        ax.stairs(r["activation_density"], BINS, linewidth=1.8,
                  label=f"{LABELS[p]} ({params_text(chosen[p]['setting'])})")  # fmt: skip
        act_rows.append([LABELS[p], f"{100 * r['activation_saturated']:.1f}",
                         f"{100 * r['activation_small']:.1f}",
                         f"{r['activation_mean_abs']:.3f}"])  # fmt: skip
    ax.set_xlabel("activation of the first hidden layer (tanh)")
    ax.set_ylabel("density")
    ax.set_yscale("log")
    ax.set_title("Hidden activations on the MNIST test set")
    ax.legend()
    rep.add(
        "## Hidden activations (techreport Figure 1)",
        "First hidden layer of the seed-0 chosen models on the test rows.\n\n"
        + markdown_table(["model", "abs(h) > 0.95 %", "abs(h) < 0.1 %", "mean abs(h)"], act_rows),
    )
    rep.figure("techreport_mnist_activations.png", fig1, "hidden activation histograms")

    curves = {p: 100 * np.mean([r["noise_errors"] for r in tests[p]], axis=0) for p in tests}
    fig2, ax = plt.subplots(figsize=(6, 4))
    for p, curve in curves.items():
        ax.plot(STDS, curve, marker="o", label=f"{LABELS[p]} ({p})")
    ax.set_xlabel("std of Gaussian noise added to the test pixels")
    ax.set_ylabel("test error (%)")
    ax.set_title("MNIST test error under input noise")
    ax.grid(alpha=0.3)
    ax.legend()
    rep.add(
        "## Test error % under Gaussian input noise (techreport Figure 2)",
        "Mean over the seeds fitted so far, one noise draw each.\n\n"
        + markdown_table(["penalty", *(f"std {s:g}" for s in STDS)],
                         [[f"`{p}`", *(f"{v:.2f}" for v in c)] for p, c in curves.items()]),
    )  # fmt: skip
    rep.figure("techreport_mnist_noise.png", fig2, "test error against input noise")


if __name__ == "__main__":
    raise SystemExit(main())
