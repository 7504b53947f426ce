"""The thesis' Table 2 on real MNIST with its small CNN, through ``RegularizedNetClassifier``.

    export REGPEN_MNIST=/path/to/mnist                        # or --data /path/to/mnist
    .ci/env python -m benchmarks.thesis_mnist --jobs 2        # the full protocol; resumable
    .ci/env python -m benchmarks.thesis_mnist --report-only   # the report from the cache
    .ci/env python -m benchmarks.thesis_mnist --quick         # smoke test, < 1 min

The thesis' protocol (its sections 7.1.1 and 7.3), kept: ``N`` training images per class
(50, 100, 200, 1000) drawn at random by seed, :class:`sklearn_regpen.modules.SmallCNN`, Adam at a
constant 1e-3, batches of 32, 100 epochs without early stopping, tested on MNIST's 10,000 test
images. Methods: the thesis' baseline (``none``), db (``double_backprop``), jac (``jacobian``),
fob (``logit_jacobian``), NI (``noise``), hsfob, hsfob-db1, hsfob-db2, plus ``c2c`` and ``vat``,
each at the package's default projections (``n_projections="auto"``), and a hand-written PyTorch
loop with the baseline's CNN, initial weights, rows and batches.

Changed, and said in the report: the thesis kept each method's strength with the best **test**
accuracy. Here the training images are drawn from rows 0-49,999 of MNIST's training file and
every strength is chosen on **validation rows 50,000-59,999**, which no training draw contains:
the same amount of data for the choice as the thesis', never the test images. The choice is made
once per size on seed 0; the other seeds train the chosen strength. Strengths are points of the
thesis' log grid over [1e-6, 3] (a factor of about 12 between points), three points per method
to start; a choice at either end of the points tried adds the next point beyond it, until the
choice is inside. At 1000 images per class the baseline, the loop and the three methods with the
largest gain at the smaller sizes run, at the strength chosen at 200 per class.

Seeds: 10 at 50 and 100 images per class, 3 at 200 and 1000. Each method's gain is its test
accuracy minus the baseline's, paired by seed, with a 95 % t-interval; "better" or "worse" where
the interval excludes 0, "not established" otherwise.

Every fit is one cell of the experiment runner (``benchmarks/_runner.py``), cached in
``results/thesis_mnist_cache.json`` as it finishes: the study stops (``--budget``) and continues.
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

SIZES = (50, 100, 200, 1000)
SEEDS = {50: 10, 100: 10, 200: 3, 1000: 3}
LR, BATCH, EPOCHS = 1e-3, 32, 100
POOL_ROWS = 50_000  # training images are drawn from rows 0-49,999; validation rows follow
N_BEST = 3  # methods besides the baseline at 1000 images per class

#: the thesis' names of our penalties, in the order of its Table 2, then ours without numbers
METHODS = {
    "none": "baseline",
    "double_backprop": "db",
    "jacobian": "jac",
    "logit_jacobian": "fob",
    "noise": "NI",
    "hsfob": "hsfob",
    "hsfob_db1": "hsfob-db1",
    "hsfob_db2": "hsfob-db2",
    "c2c": "c2c",
    "vat": "vat",
}
LOOP = "loop"

#: the thesis' Table 2: recognition rate (%) and its std over 10 seeds, at 50/100/200/1000 per class
THESIS = {
    "double_backprop": [(92.273, 0.49), (95.010, 0.47), (96.725, 0.19), (98.378, 0.10)],
    "jacobian": [(91.010, 0.44), (94.215, 0.31), (96.458, 0.17), (98.258, 0.09)],
    "logit_jacobian": [(90.828, 0.36), (94.274, 0.40), (96.433, 0.21), (98.311, 0.03)],
    "noise": [(91.283, 0.64), (94.180, 0.33), (96.475, 0.24), (98.260, 0.08)],
    "none": [(90.195, 0.45), (93.528, 0.48), (96.017, 0.28), (98.015, 0.14)],
    "hsfob": [(90.881, 0.34), (94.106, 0.28), (96.479, 0.18), (98.256, 0.09)],
    "hsfob_db1": [(92.239, 0.49), (95.090, 0.49), (96.862, 0.19), (98.389, 0.13)],
    "hsfob_db2": [(92.139, 0.34), (95.012, 0.41), (96.849, 0.20), (98.380, 0.08)],
}


def thesis_alpha(k: int) -> float:
    """Point ``k`` of the thesis' strength grid: ``k = 0..6`` are its 7 points from 1e-6 to 3
    (``numpy.geomspace(1e-6, 3, 7)`` to 2 digits); other ``k`` extend it by the same factor."""
    return float(f"{1e-6 * (3e6 ** (1 / 6)) ** k:.2g}")


class Ladder:
    """A method's candidates: ``knob`` at the points ``value(k)`` for integer ``k``, starting
    from ``start``, with the other knobs of ``fixed``."""

    def __init__(self, knob: str, value, start: tuple, fixed: dict | None = None):
        self.knob, self.value, self.start, self.fixed = knob, value, start, fixed or {}

    def setting(self, k: int) -> dict:
        return {**self.fixed, self.knob: self.value(k)}

    def text(self) -> str:
        points = ", ".join(f"{self.value(k):g}" for k in self.start)
        fixed = "".join(f", {key} {v:g}" for key, v in self.fixed.items())
        return f"{self.knob} in {{{points}}}{fixed}"


#: the starting points: the thesis' three largest strengths for the gradient, Jacobian and
#: Hessian terms (the logits' Jacobian, ~100x the probabilities', one point lower); NI's std in
#: pixel units, c2c's strength at std 0.1 and vat's L2 radius over the 784 pixels by factors of 2
#: and 10 around the values used on MNIST in their papers
LADDERS = {
    "double_backprop": Ladder("alpha", thesis_alpha, (4, 5, 6)),
    "jacobian": Ladder("alpha", thesis_alpha, (4, 5, 6)),
    "logit_jacobian": Ladder("alpha", thesis_alpha, (3, 4, 5)),
    "noise": Ladder("epsilon", lambda k: 0.1 * 2.0**k, (0, 1, 2)),
    "hsfob": Ladder("alpha", thesis_alpha, (4, 5, 6)),
    "hsfob_db1": Ladder("alpha", thesis_alpha, (4, 5, 6)),
    "hsfob_db2": Ladder("alpha", thesis_alpha, (4, 5, 6)),
    "c2c": Ladder("alpha", lambda k: 10.0**k, (0, 1, 2), {"epsilon": 0.1}),
    "vat": Ladder("epsilon", lambda k: 2.0**k, (0, 1, 2), {"alpha": 1.0}),
}
MAX_EXTENSIONS = 4  # points added beyond the start on either side, at most
#: the code whose change changes a fit: the package but its command line, searches, table
#: preprocessing and docstring templates, and this study
CODE = (["sklearn_regpen", "benchmarks/thesis_mnist.py"],
        ("sklearn_regpen/__main__.py", "sklearn_regpen/cli", "sklearn_regpen/_dask.py",
         "sklearn_regpen/search.py", "sklearn_regpen/_ensemble.py", "sklearn_regpen/tables.py",
         "sklearn_regpen/_docs.py"))  # fmt: skip


# -- one cell: a fit on N images per class, scored on validation and test rows -------------------
def rows(params: dict, data: str):
    """The cell's training images (``size`` per class of the pool, drawn by seed), validation
    rows (after the pool) and test rows; images shaped ``(n, 1, 28, 28)``."""
    from sklearn_regpen.datasets import per_class_split

    X_all, y_all, X_test, y_test = mnist(data)
    pool = max(min(POOL_ROWS, len(X_all) - params["valid_rows"]), 1)
    train, _, _, _ = per_class_split(np.arange(pool), y_all[:pool], params["size"],
                                     random_state=params["seed"])  # fmt: skip
    valid = slice(pool, pool + params["valid_rows"])
    test = slice(0, params["test_rows"])
    image = (-1, 1, 28, 28)
    return ((X_all[train].reshape(image), y_all[train]),
            (X_all[valid].reshape(image), y_all[valid]),
            (X_test[test].reshape(image), y_test[test]))  # fmt: skip


def make_model(method: str, setting: dict, seed: int, *, epochs: int, device: str, threads: int):
    from sklearn_regpen import RegularizedNetClassifier
    from sklearn_regpen.modules import SmallCNN

    return RegularizedNetClassifier(
        SmallCNN, penalty=method, learning_rate="constant", learning_rate_init=LR,
        batch_size=BATCH, max_iter=epochs, tol=0.0,
        n_iter_no_change=epochs,  # a fixed number of epochs, as in the thesis
        random_state=seed, device=device, n_threads=threads, **setting,
    )  # fmt: skip


def hand_loop(X, y, evaluate, seed: int, *, epochs: int, device: str, threads: int) -> list:
    """The plain PyTorch loop: the estimator's initial weights and batch order, nothing else.
    Returns the class probabilities of each array of ``evaluate``."""
    import torch

    from sklearn_regpen.modules import SmallCNN

    seed_value = np.random.RandomState(seed).randint(np.iinfo(np.int32).max)
    torch.set_num_threads(threads)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed_value)
        net = SmallCNN((1, 28, 28), 10).to(device)  # the estimator's first draw: same weights
        opt = torch.optim.Adam(net.parameters(), lr=LR)
        x, t = torch.tensor(X, device=device), torch.tensor(y, device=device)
        for _ in range(epochs):
            order = torch.randperm(len(x), device=device)
            for start in range(0, len(x), BATCH):
                batch = order[start : start + BATCH]
                opt.zero_grad()
                torch.nn.functional.cross_entropy(net(x[batch]), t[batch]).backward()
                opt.step()
        net.eval()
        with torch.no_grad():
            return [torch.cat([net(torch.tensor(A[i : i + 1000], device=device)).softmax(1)
                               for i in range(0, len(A), 1000)]).cpu().numpy()
                    for A in evaluate]  # fmt: skip


def run_cell(params: dict, *, data: str, threads: int = 1) -> dict:
    """Fit one method at one setting on ``size`` images per class; validation and test scores."""
    import torch
    from sklearn.metrics import log_loss

    (X, y), (X_val, y_val), (X_test, y_test) = rows(params, data)
    knobs = {"epochs": params["epochs"], "device": params["device"], "threads": threads}
    torch.set_num_threads(threads)
    curve, n_iter = [], params["epochs"]
    if params["method"] == LOOP:
        p_val, p_test = hand_loop(X, y, (X_val, X_test), params["seed"], **knobs)
    else:
        model = make_model(params["method"], params["setting"], params["seed"], **knobs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a fixed number of epochs; nothing to warn about
            model.fit(X, y)
        p_val, p_test = model.predict_proba(X_val), model.predict_proba(X_test)
        curve, n_iter = [float(v) for v in model.loss_curve_], int(model.n_iter_)
    labels = np.arange(10)
    return {
        "valid_accuracy": float(np.mean(p_val.argmax(1) == y_val)),
        "valid_log_loss": float(log_loss(y_val, p_val, labels=labels)),
        "test_accuracy": float(np.mean(p_test.argmax(1) == y_test)),
        "loss_curve": curve,
        "n_iter": n_iter,
    }


# -- the study: each size's choice on seed 0, then the chosen setting's other seeds --------------
class Plan:
    """The cells the study needs given what is cached: it grows as choices are made."""

    def __init__(self, args, cache, fingerprint: str | None):
        self.args, self.cache, self.fingerprint = args, cache, fingerprint

    def cell(self, method: str, size: int, setting: dict, seed: int) -> dict:
        a = self.args
        return {"method": method, "size": size, "setting": setting, "seed": seed,
                "epochs": a.epochs, "valid_rows": a.valid_rows, "test_rows": a.test_rows,
                "device": a.device}  # fmt: skip

    def result(self, cell: dict):
        return self.cache.result(cell, self.fingerprint)

    def seeds(self, size: int) -> list[int]:
        return list(range(self.args.seeds or SEEDS.get(size, 3)))

    def ladder(self, method: str, size: int):
        """``(cells, chosen)``: the candidates tried at ``size`` on seed 0, extended past an end
        that was chosen, and the chosen cell (None until every needed candidate is cached)."""
        if method not in LADDERS or self.args.quick:
            setting = LADDERS[method].setting(LADDERS[method].start[1]) if method in LADDERS \
                else {}  # fmt: skip
            cell = self.cell(method, size, setting, 0)
            return [cell], (cell if self.result(cell) is not None else None)
        ladder = LADDERS[method]
        ks = list(ladder.start)
        while True:
            cells = [self.cell(method, size, ladder.setting(k), 0) for k in ks]
            results = [self.result(c) for c in cells]
            if any(r is None for r in results):
                return cells, None
            best = max(range(len(ks)), key=lambda i: (results[i]["valid_accuracy"],
                                                      -results[i]["valid_log_loss"]))  # fmt: skip
            if best == 0 and ks[0] > ladder.start[0] - MAX_EXTENSIONS:
                ks.insert(0, ks[0] - 1)
            elif best == len(ks) - 1 and ks[-1] < ladder.start[-1] + MAX_EXTENSIONS:
                ks.append(ks[-1] + 1)
            else:
                return cells, cells[best]

    def chosen_setting(self, method: str, size: int):
        """The setting ``method`` trains at ``size``: chosen there, or at the largest chosen size
        below it for sizes without a choice (1000 per class)."""
        source = size if size in self.args.choose_sizes else max(
            (s for s in self.args.choose_sizes if s < size), default=size)  # fmt: skip
        _, chosen = self.ladder(method, source)
        return None if chosen is None else chosen["setting"]

    def methods(self, size: int) -> list[str]:
        """Every method at a chosen size; the baseline, the loop and the best ``N_BEST`` of the
        smaller sizes (once all of them are in) at the others."""
        if size in self.args.choose_sizes:
            return self.args.methods
        smaller = [s for s in self.args.sizes if s < size]
        gains = {m: [self.gain(m, s) for s in smaller] for m in self.args.methods
                 if m in METHODS and m != "none"}  # fmt: skip
        if any(g is None or g[0] is None for row in gains.values() for g in row):
            best = []
        else:
            best = sorted(gains, key=lambda m: -np.mean([g[0] for g in gains[m]]))[:N_BEST]
        return [m for m in self.args.methods if m in ("none", LOOP) or m in best]

    def runs(self, method: str, size: int) -> list[dict]:
        """The test cells of ``method`` at ``size``: the chosen setting, every seed."""
        setting = self.chosen_setting(method, size)
        if setting is None:
            return []
        return [self.cell(method, size, setting, s) for s in self.seeds(size)]

    def gain(self, method: str, size: int):
        """``(mean, low, high, n)`` of the paired test-accuracy gain over the baseline in points,
        over the seeds both have; None until both have every seed."""
        mine, base = self.runs(method, size), self.runs("none", size)
        if not mine or not base:
            return None
        a = [self.result(c) for c in mine]
        b = [self.result(c) for c in base]
        if any(r is None for r in a + b):
            return None
        return paired_interval([100 * (x["test_accuracy"] - y["test_accuracy"])
                                for x, y in zip(a, b)])  # fmt: skip

    def finished(self) -> bool:
        """Every planned fit cached, and the methods of every size known."""
        sizes_known = all(len(self.methods(s)) > 2 for s in self.args.sizes
                          if s not in self.args.choose_sizes)  # fmt: skip
        return sizes_known and all(self.result(c) is not None for c in self.cells())

    def cells(self) -> list[dict]:
        out = []
        for size in self.args.sizes:
            methods = self.methods(size)
            if size in self.args.choose_sizes:
                for m in methods:
                    out += self.ladder(m, size)[0]
            for m in methods:
                out += self.runs(m, size)
        unique = {cell_key(c): c for c in out}
        return list(unique.values())


def paired_interval(diffs) -> tuple:
    """Mean of ``diffs`` and its 95 % t-interval (none for one value), and their number."""
    from scipy import stats

    d = np.asarray(diffs, dtype=float)
    if len(d) < 2:
        return float(d.mean()), None, None, len(d)
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    return float(d.mean()), float(d.mean() - half), float(d.mean() + half), len(d)


def verdict(gain) -> str:
    mean, low, high, n = gain
    if low is None:
        return "not established (one seed)"
    return "better" if low > 0 else "worse" if high < 0 else "not established"


# -- the command ---------------------------------------------------------------------------------
def parse(argv) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.thesis_mnist",
                                description=__doc__.split("\n\n")[0])  # fmt: skip
    add_data_argument(p)
    p.add_argument(
        "--quick",
        action="store_true",
        help="10 images per class, 2 epochs, one candidate per method: smoke test",
    )
    p.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=None,
        help="images per class (default 50 100 200 1000; quick: 10)",
    )
    p.add_argument(
        "--choose-sizes",
        type=int,
        nargs="+",
        default=None,
        help="sizes where strengths are chosen (default 50 100 200; quick: 10); "
        "others train the strength chosen at the largest smaller one",
    )
    p.add_argument(
        "--seeds",
        type=int,
        default=None,
        help="seeds per size (default 10 at 50 and 100, 3 at 200 and 1000; quick: 1)",
    )
    p.add_argument("--epochs", type=int, default=None, help="default 100 (quick: 2)")
    p.add_argument("--valid-rows", type=int, default=None, help="default 10000 (quick: 500)")
    p.add_argument("--test-rows", type=int, default=None, help="default 10000 (quick: 500)")
    p.add_argument("--methods", nargs="+", default=[LOOP, *METHODS], choices=[LOOP, *METHODS])
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads per fit")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--name", default="thesis_mnist.md")
    p.add_argument("--cache", type=Path, default=None,
                   help="default: the report's name with _cache.json, beside it")  # fmt: skip
    add_arguments(p)
    args = p.parse_args(argv)
    q = args.quick
    defaults = {
        "sizes": [10] if q else list(SIZES),
        "choose_sizes": [10] if q else [50, 100, 200],
        "seeds": 1 if q else None,
        "epochs": 2 if q else EPOCHS,
        "valid_rows": 500 if q else 10_000,
        "test_rows": 500 if q else 10_000,
    }
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.sizes = sorted(set(args.sizes))
    if "none" not in args.methods:
        p.error("the baseline ('none') is needed: every gain is measured against it")
    if args.cache is None:
        args.cache = args.out / args.name.replace(".md", "_cache.json")
    args.data = None if args.report_only and args.data is None else check_data(p, args.data)
    return args


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse(argv)
    fingerprint = code_fingerprint(CODE[0], exclude=CODE[1])
    study = Study(
        cache=args.cache, run=run_cell, fingerprint=fingerprint,
        plan=lambda cache: Plan(args, cache, fingerprint).cells(),
        # the training's first epochs: the errors of a long training move by rounding alone on
        # another CPU (the runner's `compare`)
        compare=(("loss_curve", 3),), rtol=1e-4,
        label="thesis MNIST fits",
        options={"data": str(args.data), "threads": args.threads},
        describe=lambda p, r: (f"{p['method']} {p['size']}/class {setting_text(p['setting'])} "
                               f"seed {p['seed']}: validation {100 * r['valid_accuracy']:.2f}%, "
                               f"test {100 * r['test_accuracy']:.2f}%"),
    )  # fmt: skip
    cache, outcome = study.execute(args)
    report(args, cache, fingerprint, outcome, argv)
    return 0


# -- the report ----------------------------------------------------------------------------------
def setting_text(setting: dict) -> str:
    return ", ".join(f"{k} {v:g}" for k, v in sorted(setting.items())) or "-"


def name(method: str) -> str:
    return "hand-written loop" if method == LOOP else f"`{method}` ({METHODS[method]})"


def interval_text(gain) -> str:
    mean, low, high, n = gain
    return f"{mean:+.2f}" + ("" if low is None else f" [{low:+.2f}, {high:+.2f}]") + f" ({n})"


def report(args, cache, fingerprint, outcome, argv) -> None:
    plan = Plan(args, cache, None)  # every cached result counts, whatever code made it
    seeds = ", ".join(f"{len(plan.seeds(s))} at {s}/class" for s in args.sizes)
    rep = Report("Real MNIST with the thesis' small CNN: its Table 2 through the estimator",
                 seeds=seeds, module="benchmarks.thesis_mnist", argv=argv)  # fmt: skip
    cells = plan.cells()
    done = [c for c in cells if cache.get(c) is not None]
    rep.cached(outcome.ran, len(done))
    status = (f"{len(done)} of the {len(cells)} fits planned so far are cached"
              + ("." if plan.finished() else "; the study is not finished (the command above "
                 "continues it): methods without every seed are marked, and later sizes are "
                 "planned once the choices they depend on are made."))  # fmt: skip
    rep.show(
        "## What was run",
        f"MNIST: for each seed, N training images per class drawn at random from rows 0-49,999 "
        f"of the training file; strengths chosen on validation rows 50,000-"
        f"{50_000 + args.valid_rows - 1:,} (seed 0, accuracy, ties by log-loss); test on the "
        f"first {args.test_rows:,} test images. SmallCNN, Adam at a constant {LR:g}, batches of "
        f"{BATCH}, {args.epochs} epochs, no early stopping, device {args.device}; every penalty "
        "at its default projections (`n_projections='auto'`: one random projection of the "
        "Jacobian for 784 inputs and 10 classes, unbiased, at about the cost of a gradient). "
        "Sizes with a choice: "
        f"{', '.join(map(str, args.choose_sizes))} per class. "
        + (f"At {', '.join(str(s) for s in args.sizes if s not in args.choose_sizes)} per class "
           f"the baseline, the loop and the {N_BEST} methods with the largest mean gain at the "
           "smaller sizes, at the strength chosen at the largest smaller size. "
           if any(s not in args.choose_sizes for s in args.sizes) else "")
        + "Starting candidates: " + "; ".join(f"`{m}` {LADDERS[m].text()}" for m in LADDERS
                                              if m in args.methods)
        + ". A choice at an end of the points tried adds the next point beyond it.\n\n"
        "**The thesis chose each strength on the test set** (its section 7.3: \"the one that "
        "yields the best test result will be compared\"); here the choice never sees a test "
        "image. The table of choices below shows what choosing on the test images would have "
        f"given among the same seed-0 fits.\n\n{status}",
    )  # fmt: skip

    sizes = args.sizes
    results = {(m, s): [r for r in (cache.result(c) for c in plan.runs(m, s)) if r is not None]
               for s in sizes for m in plan.methods(s)}  # fmt: skip
    rows = []
    for m in args.methods:
        row = [name(m)]
        for s in sizes:
            acc = [100 * r["test_accuracy"] for r in results.get((m, s), [])]
            n = len(plan.seeds(s))
            row.append("-" if not acc else f"{np.mean(acc):.2f} ± {np.std(acc, ddof=1):.2f}"
                       if len(acc) > 1 else f"{acc[0]:.2f}")  # fmt: skip
            if acc and len(acc) < n:
                row[-1] += f" ({len(acc)} of {n} seeds)"
            row.append(f"{THESIS[m][SIZES.index(s)][0]:.2f}"
                       if m in THESIS and s in SIZES else "-")  # fmt: skip
        rows.append(row)
    header = ["method (thesis name)"]
    for s in sizes:
        header += [f"{s}/class", f"thesis {s}/class"]
    rep.show("## Test accuracy % (mean ± sd over seeds) beside the thesis' Table 2",
             markdown_table(header, rows))  # fmt: skip

    gains, rows = {}, []
    for m in args.methods:
        if m in ("none",):
            continue
        row = [name(m)]
        for s in sizes:
            g = plan.gain(m, s) if (m, s) in results else None
            gains[m, s] = g
            thesis = (f"{THESIS[m][SIZES.index(s)][0] - THESIS['none'][SIZES.index(s)][0]:+.2f}"
                      if m in THESIS and s in SIZES else "-")  # fmt: skip
            row += ["-" if g is None else f"{interval_text(g)} **{verdict(g)}**", thesis]
        rows.append(row)
    header = ["method"]
    for s in sizes:
        header += [f"gain at {s}/class, 95% interval (seeds)", f"thesis {s}/class"]
    rep.show(
        "## Gain over the baseline (points of test accuracy, paired by seed)",
        "On each seed, the method's accuracy minus the baseline's on the same training images; "
        "mean, 95 % t-interval and number of seeds; **better** or **worse** where the interval "
        "excludes 0. The thesis' gain is the difference of its means (its Table 2 gives no "
        "paired figures). "
        "A dash: not every seed of the method and the baseline is in yet.\n\n"
        + markdown_table(header, rows),
    )  # fmt: skip

    rows = []
    for m in args.methods:
        if m not in LADDERS:
            continue
        row = [f"`{m}`"]
        for s in args.choose_sizes:
            tried, chosen = plan.ladder(m, s)
            scored = [(c, cache.result(c)) for c in tried if cache.result(c) is not None]
            if chosen is None:
                row.append(f"{len(scored)} of {len(tried)} candidates")
                continue
            by_test = max(scored, key=lambda cr: cr[1]["test_accuracy"])
            lost = 100 * (by_test[1]["test_accuracy"] - cache.result(chosen)["test_accuracy"])
            vals = ", ".join(f"{c['setting'][LADDERS[m].knob]:g}: {100 * r['valid_accuracy']:.2f}"
                             for c, r in scored)  # fmt: skip
            row.append(f"**{LADDERS[m].knob} {chosen['setting'][LADDERS[m].knob]:g}** "
                       f"(validation % {vals}); test choice +{lost:.2f}")  # fmt: skip
        rows.append(row)
    rep.add(
        "## What validation chose (seed 0)",
        "Each candidate's validation accuracy; the chosen one in bold; how many test points "
        "choosing on the test images would have added among the same fits.\n\n"
        + markdown_table(["method", *(f"{s}/class" for s in args.choose_sizes)], rows),
    )  # fmt: skip
    loops = []
    for s in sizes:
        a = results.get((LOOP, s), [])
        b = results.get(("none", s), [])
        k = min(len(a), len(b))
        if k:
            d = [100 * (x["test_accuracy"] - y["test_accuracy"]) for x, y in zip(a[:k], b[:k])]
            loops.append(
                f"{s}/class: the estimator minus the loop {-np.mean(d):+.2f} points "
                f"over {k} seed(s)"
            )
    if loops:
        rep.add("## The estimator against a hand-written PyTorch loop",
                "The same CNN, initial weights, images, batches and Adam, no penalty: "
                + "; ".join(loops) + ".")  # fmt: skip
    if any(g is not None for g in gains.values()):
        rep.figure(
            "thesis_mnist.png",
            figure(args, gains),
            "gain over the baseline against images per class, ours and the thesis'",
        )
    rep.add("## Cost", provenance(cache, [cell_key(c) for c in done], fingerprint)
            + " Each fit ran on one CPU thread unless the command says otherwise.")  # fmt: skip
    rep.write(args.out / args.name)


def figure(args, gains: dict):
    plt = pyplot()
    methods = [m for m in args.methods if m not in ("none",)]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    cmap = plt.get_cmap("tab10")
    width = 0.8 / max(len(methods), 1)
    for i, m in enumerate(methods):
        color = cmap(i % 10)
        xs, ys, lo, hi = [], [], [], []
        for j, s in enumerate(args.sizes):
            g = gains.get((m, s))
            if g is None:
                continue
            x = j + (i - len(methods) / 2) * width
            xs.append(x)
            ys.append(g[0])
            lo.append(g[0] - (g[1] if g[1] is not None else g[0]))
            hi.append((g[2] if g[2] is not None else g[0]) - g[0])
            if m in THESIS and s in SIZES:
                k = SIZES.index(s)
                ax.plot(x, THESIS[m][k][0] - THESIS["none"][k][0], "x", color=color, ms=6)
        if xs:
            ax.errorbar(xs, ys, [lo, hi], fmt="o", ms=4, capsize=2, color=color,
                        label=METHODS.get(m, m))  # fmt: skip
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(range(len(args.sizes)), [f"{s}/class" for s in args.sizes])
    ax.set_ylabel("test accuracy minus the baseline's (points)")
    ax.set_title("dots: ours, paired by seed, 95% interval; crosses: the thesis' Table 2",
                 fontsize=9)  # fmt: skip
    ax.legend(fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.grid(alpha=0.3, axis="y")
    return fig


if __name__ == "__main__":
    raise SystemExit(main())
