"""The speed benchmark in one command: loop overhead, peak memory and every penalty's cost.

    .ci/env python -m benchmarks.speed --threads 1 --clock cpu   # full run, ~20 min on 2 cores
    .ci/env python -m benchmarks.speed --quick                   # a smoke test (seconds)

Prints, and writes to ``benchmarks/results/speed.md`` (``--out DIR`` elsewhere):

1. **Training-loop overhead**: time per fit of ``RegularizedMLPClassifier(penalty="none")``,
   scikit-learn's ``MLPClassifier`` and plain skorch, over a hand-written torch loop, on data of
   the MNIST and digits shapes (``overhead.py`` holds the methods and their settings).
2. **Peak memory** of a fit on MNIST-sized data, one subprocess per method (``overhead.py``).
3. **Penalty cost through the estimator**: time per fit of
   ``RegularizedMLPClassifier(penalty=p, ...)`` over ``penalty="none"``, on the techreport's network
   (784-1000-1000-10 tanh, batch 128, Adam), one epoch over synthetic rows of the MNIST shape per
   fit, every setting of ``penalty_cost.SETTINGS`` with its FLOP lower bound (derived in
   ``penalty_cost.py``) and whether it is within 10% of that bound. A fit includes everything a
   user pays for: validation, the copy to tensors, building the network and the optimizer.
4. **Penalty cost per step**: the same settings, one training step each (``Objective.backward`` and
   the estimators' fused Adam, ``penalty_cost.py``), without what a fit adds once (validation,
   building the network and optimizer): the ratio the FLOP bounds speak of.
5. **Threads**: ``penalty="none"`` fits with ``n_threads=1`` against ``n_threads=2`` on the
   digits and MNIST shapes, wall and CPU time both.
6. **CNN** (``cnn``): on the thesis' SmallCNN with 28x28 images, batch 128, the per-step cost of
   every penalty against its FLOP bound (``penalty_cost.py --model cnn``), and, side by side in
   the same run, ``RegularizedNetClassifier(SmallCNN, penalty="none")`` against a hand-written
   PyTorch loop for the same model, batches and optimizer (``cnn_overhead_table``).

    .ci/env python -m benchmarks.speed --threads 1 --clock cpu --only cnn   # -> speed_cnn.md

Every table's methods are timed in the same process, interleaved (each round times every method
once, rotating the order), and each ratio is a ratio of medians over the rounds. ``--clock cpu``
times the process's CPU time (``time.process_time``), which other jobs on a shared machine barely
disturb; with ``--threads 1`` it equals the compute time. The threads table always reports both.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import warnings
from pathlib import Path

import torch
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from sklearn_regpen import RegularizedMLPClassifier, RegularizedNetClassifier
from sklearn_regpen._training import FUSED_ADAM
from sklearn_regpen.modules import SmallCNN

from . import overhead, penalty_cost
from ._report import RESULTS, Report, markdown_table

CLOCKS = penalty_cost.CLOCKS
#: the target: within 10% of the FLOP bound
TOLERANCE = 1.10


def verdict(ratio: float, bound: float) -> str:
    """``yes`` within ``TOLERANCE`` of the FLOP bound, else by how much it is above."""
    return "yes" if ratio <= TOLERANCE * bound else f"no (+{100 * (ratio / bound - 1):.0f}%)"


#: the techreport's two-layer network: 784-1000-1000-10 tanh
HIDDEN = (1000, 1000)


def penalty_fit(X, y, name: str, options: dict, threads: int, hidden=HIDDEN):
    """A fit of the techreport's network (by default) with one penalty: one epoch over ``X``."""
    return RegularizedMLPClassifier(
        hidden,
        "tanh",
        penalty=name,
        alpha=0.1,
        epsilon=0.1,
        batch_size=128,
        max_iter=1,
        tol=0.0,
        random_state=0,
        n_threads=threads,
        penalty_options=options or None,
    ).fit(X, y)


def penalty_table(n_rows: int, rounds: int, clock, hidden=HIDDEN) -> str:
    X, y = overhead.synthetic(n_rows, 784, seed=1)
    threads = torch.get_num_threads()
    settings = penalty_cost.SETTINGS
    fns = {
        penalty_cost.label(name, options): (
            lambda name=name, options=options: penalty_fit(X, y, name, options, threads, hidden)
        )
        for name, options, _ in settings
    }
    for fn in fns.values():  # warm-up
        fn()
    med = overhead.interleaved_medians(fns, rounds, clock)
    base = med["none"]
    rows = []
    for (name, options, bound), key in zip(settings, fns):
        ratio = med[key] / base
        rows.append(
            (f"`{key}`", f"{med[key]:.2f}", f"{ratio:.2f}x", f"{bound:.2f}x", verdict(ratio, bound))
        )
    table = markdown_table(
        [
            "penalty",
            "s / fit",
            'time per fit / penalty="none"',
            "FLOP bound",
            "within 10% of the bound",
        ],
        rows,
    )
    return table + (
        f"\n\n784-{'-'.join(map(str, hidden))}-10 tanh, batch 128, Adam, "
        f"{n_rows:,} rows x 1 epoch per fit "
        f"({-(-n_rows // 128)} steps), alpha = epsilon = 0.1, median of {rounds} interleaved "
        "rounds."
    )


def step_table(rounds: int, clock) -> str:
    """``penalty_cost.py``'s per-step ratios, with the verdict column of the fit table."""
    steps = 1 if rounds < 3 else 2
    rows = []
    for row in penalty_cost.measure(rounds, steps, 1, clock):
        rows.append(
            (
                f"`{row['label']}`",
                f"{row['ms']:.1f}",
                f"{row['ratio']:.2f}x",
                f"{row['bound']:.2f}x",
                verdict(row["ratio"], row["bound"]),
            )
        )
    table = markdown_table(
        [
            "penalty",
            "ms / step",
            'time per step / penalty="none"',
            "FLOP bound",
            "within 10% of the bound",
        ],
        rows,
    )
    return table + (
        f"\n\n784-1000-1000-10 tanh, batch 128, fused Adam; median of {rounds} "
        f"interleaved rounds of {steps} step(s)."
    )


def cnn_step_table(rounds: int, clock) -> str:
    """``penalty_cost.py --model cnn``: per-step ratios on SmallCNN, 28x28, batch 128."""
    rows = []
    for row in penalty_cost.measure(rounds, 1, 1, clock, model="cnn"):
        rows.append((f"`{row['label']}`", f"{row['ms']:.0f}", f"{row['ratio']:.2f}x",
                     f"{row['bound']:.2f}x", verdict(row["ratio"], row["bound"])))  # fmt: skip
    table = markdown_table(
        ["penalty", "ms / step", 'time per step / penalty="none"', "FLOP bound",
         "within 10% of the bound"],
        rows,
    )  # fmt: skip
    return table + (
        f"\n\nSmallCNN (conv 32-64-64, dense 64; 93k parameters) on 1x28x28 inputs in [0, 1], "
        f"batch 128, fused Adam, alpha = epsilon = 0.1; median of {rounds} interleaved rounds of "
        "one step."
    )


def _cnn_loop(X, y, epochs: int, batch: int, fused: bool):
    """The hand-written loop: SmallCNN, Adam, shuffled in-memory batches, cross-entropy."""
    torch.manual_seed(0)
    model = SmallCNN((1, 28, 28), 10)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, **({"fused": True} if fused else {}))
    for _ in range(epochs):
        order = torch.randperm(len(X))
        for start in range(0, len(X), batch):
            rows = order[start : start + batch]
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(X[rows]), y[rows]).backward()
            optimizer.step()
    return model


def cnn_overhead_table(n_rows: int, epochs: int, rounds: int, clock) -> str:
    """Time per fit of the estimator over the hand-written loop, both on SmallCNN, interleaved."""
    torch.manual_seed(0)
    X = torch.rand(n_rows, 1, 28, 28)
    y = torch.randint(0, 10, (n_rows,))
    X_np, y_np = X.numpy(), y.numpy()
    rows = []
    for batch in (32, 128):
        def estimator(batch=batch):
            RegularizedNetClassifier(
                SmallCNN, penalty="none", learning_rate_init=1e-3, batch_size=batch,
                max_iter=epochs, tol=0.0, n_iter_no_change=epochs, random_state=0,
                n_threads=torch.get_num_threads(),
            ).fit(X_np, y_np)  # fmt: skip

        methods = {
            "loop": lambda batch=batch: _cnn_loop(X, y, epochs, batch, FUSED_ADAM),
            "loop, default Adam": lambda batch=batch: _cnn_loop(X, y, epochs, batch, False),
            "estimator": estimator,
        }
        medians = overhead.interleaved_medians(methods, rounds, clock)
        base = medians["loop"]
        rows.append((
            str(batch), f"{base:.2f}", f"{medians['loop, default Adam'] / base:.3f}x",
            f"{medians['estimator']:.2f}", f"{medians['estimator'] / base:.3f}x",
            "yes" if medians["estimator"] <= TOLERANCE * base else "no",
        ))  # fmt: skip
    table = markdown_table(
        ["batch", "hand-written loop, s per fit", "loop with default (unfused) Adam / loop",
         "RegularizedNetClassifier, s per fit", "estimator / loop", "within 1.10x"],
        rows,
    )  # fmt: skip
    return table + (
        f"\n\n{n_rows:,} random 1x28x28 images, 10 classes, {epochs} epochs per fit, Adam lr "
        "1e-3 (fused, as the estimator's, in the loop the ratio is taken to); the estimator's "
        "fit includes everything it does once (validation, the copy to tensors, building the "
        f"module and the optimizer, the shape check). Median of {rounds} interleaved rounds."
    )


def threads_table(shapes: dict, rounds: int) -> str:
    """n_threads=1 against n_threads=2, both clocks, interleaved."""
    rows = []
    for label, (n_rows, n_features, epochs) in shapes.items():
        X, y = overhead.synthetic(n_rows, n_features)

        def fit(k, X=X, y=y, epochs=epochs):
            RegularizedMLPClassifier(
                (overhead.HIDDEN,),
                penalty="none",
                batch_size=overhead.BATCH,
                max_iter=epochs,
                tol=0.0,
                random_state=0,
                n_threads=k,
            ).fit(X, y)

        fit(1), fit(2)  # warm-up
        wall, cpu = {1: [], 2: []}, {1: [], 2: []}
        for r in range(rounds):
            for k in (1, 2) if r % 2 == 0 else (2, 1):
                w0, c0 = time.perf_counter(), time.process_time()
                fit(k)
                wall[k].append(time.perf_counter() - w0)
                cpu[k].append(time.process_time() - c0)
        w1, w2 = statistics.median(wall[1]), statistics.median(wall[2])
        c1, c2 = statistics.median(cpu[1]), statistics.median(cpu[2])
        rows.append(
            (
                f"{label} ({n_rows:,} x {n_features}, {epochs} epochs), median of {rounds}",
                f"{w1:.2f} s",
                f"{w2:.2f} s ({w2 / w1:.2f}x)",
                f"{c1:.2f} s",
                f"{c2:.2f} s ({c2 / c1:.2f}x)",
            )
        )
    return markdown_table(
        ["data", "wall, 1 thread", "wall, 2 threads", "CPU, 1 thread", "CPU, 2 threads"], rows
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes and repeats (smoke test)")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch and BLAS threads of every timed method (default: torch's)",
    )
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="wall",
        help="wall clock, or the process's CPU time (use with --threads 1)",
    )
    parser.add_argument(
        "--skip",
        default="",
        help="comma-separated sections to skip: overhead, memory, penalties, steps, threads, cnn",
    )
    parser.add_argument("--only", default="", help="comma-separated sections to run (all others "
                        "skipped)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=RESULTS,
                        help="folder for speed.md (speed_<sections>.md with --only)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    if args.threads:
        torch.set_num_threads(args.threads)
        threadpool_limits(args.threads)
    clock = CLOCKS[args.clock]
    skip = set(filter(None, args.skip.split(",")))
    if args.only:
        keep = set(args.only.split(","))
        skip |= {"overhead", "memory", "penalties", "steps", "threads", "cnn"} - keep

    shapes = dict(overhead.SHAPES)
    repeats = {"MNIST-sized": 5, "digits-sized": 31}
    mem_rows, mem_epochs = 60_000, overhead.EPOCHS
    pen_rows, pen_rounds, pen_hidden, step_rounds = 2_560, 5, HIDDEN, 7
    thread_shapes = {"digits-sized": (1_437, 64, 10), "MNIST-sized": (10_000, 784, 2)}
    thread_rounds = 7
    cnn_rounds, cnn_rows, cnn_epochs, cnn_fit_rounds = 5, 2_048, 2, 5
    if args.quick:
        cnn_rounds, cnn_rows, cnn_epochs, cnn_fit_rounds = 1, 256, 1, 1
        shapes = {"MNIST-sized": (1_000, 784), "digits-sized": (300, 64)}
        repeats = {"MNIST-sized": 1, "digits-sized": 2}
        mem_rows, mem_epochs, pen_rows, pen_rounds, pen_hidden = 1_000, 1, 128, 1, (64, 64)
        step_rounds = 1
        thread_shapes = {"digits-sized": (300, 64, 1)}
        thread_rounds = 1

    machine = (
        f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), python {platform.python_version()}, "
        f"{args.clock} clock"
    )
    report = Report(
        "Speed: loop overhead, memory and penalty cost through the estimator",
        seeds="0 (data and every fit)",
        module=__spec__.name,
        argv=argv,
    )
    print(machine + "\n", flush=True)
    report.add("## Machine", machine)
    sections = [
        (
            "overhead",
            "## Training-loop overhead (time per fit / hand-written torch loop)",
            lambda: overhead.overhead_table(shapes, repeats, clock),
        ),
        (
            "memory",
            "## Peak memory during a fit on MNIST-sized data",
            lambda: overhead.memory_table(mem_rows, mem_epochs, args.threads),
        ),
        (
            "penalties",
            '## Penalty cost through the estimator (time per fit / penalty="none")',
            lambda: penalty_table(pen_rows, pen_rounds, clock, pen_hidden),
        ),
        (
            "steps",
            '## Penalty cost per training step (time per step / penalty="none")',
            lambda: step_table(step_rounds, clock),
        ),
        (
            "threads",
            '## n_threads=1 against n_threads=2 (penalty="none", one 256-unit layer)',
            lambda: threads_table(thread_shapes, thread_rounds),
        ),
        (
            "cnn",
            '## CNN: penalty cost per training step on SmallCNN, 28x28, batch 128 (time / "none")',
            lambda: cnn_step_table(cnn_rounds, clock),
        ),
        (
            "cnn",
            "## CNN: RegularizedNetClassifier(SmallCNN) over a hand-written loop, same run",
            lambda: cnn_overhead_table(cnn_rows, cnn_epochs, cnn_fit_rounds, clock),
        ),
    ]
    for key, heading, make in sections:
        if key not in skip:
            report.show(heading, make())
    # a partial run (--only) gets its own file: it must not replace the full report
    name = "speed.md" if not args.only else f"speed_{'_'.join(sorted(keep))}.md"
    report.write(args.out / name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
