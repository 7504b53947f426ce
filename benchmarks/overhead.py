"""Training-loop overhead, peak memory and the cost of ``l2``, as ratios measured in one run.

    .ci/env python -m benchmarks.overhead --threads 1    # full run (about 15 minutes on 2 cores)
    .ci/env python -m benchmarks.overhead --quick        # fewer rows and repeats, a smoke test

``--threads N`` sets torch's CPU threads and numpy's BLAS threads (scikit-learn's MLP) for every
method alike. On a machine shared with other jobs, use 1: with 2 threads on 2 busy cores every
OpenMP region waits for a descheduled thread, and the ratios measure the scheduler (we saw the
hand-written loop take 165 s instead of 17 s, dominated by its per-batch ``x[rows]`` gathers).

Overhead: one hidden layer of 256 ReLU units, Adam (lr 1e-3), batch 128, 10 epochs, no early
stopping, on synthetic data of the MNIST shape (60,000 x 784 float32, 10 classes) and of the
digits shape (1,437 x 64). Each fit starts from numpy arrays and ends with a trained model. The
hand-written torch loop over in-memory tensors is the 1.00 baseline; scikit-learn's
``MLPClassifier``, plain skorch and ``RegularizedMLPClassifier(penalty="none")`` are timed in the
same process, the methods interleaved in every repeat, and each ratio is the median over repeats.

Memory: each method fits the MNIST-sized data in a fresh subprocess; the growth of peak resident
memory during ``fit`` (Linux ``VmHWM``, reset just before the fit, over ``VmRSS`` at that point)
is reported against the float32 training array plus the model and optimizer state.

l2: ``penalty="l2"`` against ``penalty="none"`` through the estimator, on the penalty-cost network
(784-1000-1000-10 tanh, batch 128), next to the explicit sum-of-squares term added to
the loss, which is what ``l2`` computed before it became weight decay in the optimizer.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from unittest import mock

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from skorch import NeuralNetClassifier
from threadpoolctl import threadpool_limits
from torch import nn

from sklearn_regpen import RegularizedMLPClassifier

HIDDEN, BATCH, EPOCHS, LR, N_CLASSES = 256, 128, 10, 1e-3, 10
SHAPES = {"MNIST-sized": (60_000, 784), "digits-sized": (1_437, 64)}
#: the repository root: the memory subprocesses run ``python -m benchmarks.overhead`` from it
ROOT = Path(__file__).resolve().parents[1]


def synthetic(n_rows: int, n_features: int, seed: int = 0):
    """Inputs uniform in [0, 1] (float32) and labels of a random linear teacher (learnable)."""
    rng = np.random.default_rng(seed)
    X = rng.random((n_rows, n_features), dtype=np.float32)
    teacher = rng.standard_normal((n_features, N_CLASSES)).astype(np.float32)
    y = (X @ teacher).argmax(axis=1).astype(np.int64)
    return X, y


def mlp(n_features: int, hidden=(HIDDEN,), activation=nn.ReLU) -> nn.Module:
    widths = [n_features, *hidden]
    layers = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(fan_in, fan_out), activation()]
    return nn.Sequential(*layers, nn.Linear(widths[-1], N_CLASSES))


# -- the methods: each takes numpy (X, y) and returns a trained model ---------------------------
def fit_torch(X, y, epochs=EPOCHS):
    """The baseline: a plain PyTorch loop over shuffled in-memory tensors."""
    torch.manual_seed(0)
    x_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    model = mlp(X.shape[1])
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        order = torch.randperm(len(x_t))
        for start in range(0, len(x_t), BATCH):
            rows = order[start : start + BATCH]
            optimizer.zero_grad()
            loss = loss_fn(model(x_t[rows]), y_t[rows])
            loss.backward()
            optimizer.step()
    return model


def fit_sklearn(X, y, epochs=EPOCHS):
    model = MLPClassifier(
        hidden_layer_sizes=(HIDDEN,), solver="adam", alpha=0.0, batch_size=BATCH,
        learning_rate_init=LR, max_iter=epochs, tol=0.0, n_iter_no_change=epochs + 1,
        random_state=0,
    )
    return model.fit(X, y)


def fit_skorch(X, y, epochs=EPOCHS):
    """skorch's defaults, except no validation split, shuffled batches and a logits criterion."""
    torch.manual_seed(0)
    net = NeuralNetClassifier(
        mlp(X.shape[1]), criterion=nn.CrossEntropyLoss, optimizer=torch.optim.Adam, lr=LR,
        batch_size=BATCH, max_epochs=epochs, train_split=None, iterator_train__shuffle=True,
        verbose=0,
    )
    return net.fit(X, y)


def fit_regpen(X, y, epochs=EPOCHS, penalty="none", hidden=(HIDDEN,), activation="relu"):
    model = RegularizedMLPClassifier(
        hidden, activation, penalty=penalty, batch_size=BATCH, learning_rate_init=LR,
        max_iter=epochs, tol=0.0, n_iter_no_change=epochs + 1, random_state=0,
        n_threads=torch.get_num_threads(),  # the same threads as every other method
    )
    return model.fit(X, y)


METHODS = {
    "hand-written torch loop": fit_torch,
    "scikit-learn MLPClassifier": fit_sklearn,
    "plain skorch NeuralNetClassifier": fit_skorch,
    'RegularizedMLPClassifier(penalty="none")': fit_regpen,
}


def interleaved_medians(fns: dict, repeats: int, clock=time.perf_counter) -> dict:
    """Median seconds of each callable, calling them in turn (rotating the order) every repeat.

    ``clock`` is the wall clock by default; ``time.process_time`` (the process's CPU time) is
    less disturbed by other jobs on a shared machine.
    """
    times = {name: [] for name in fns}
    names = list(fns)
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            started = clock()
            fns[name]()
            times[name].append(clock() - started)
    return {name: statistics.median(ts) for name, ts in times.items()}


def overhead_table(shapes: dict, repeats: dict, clock=time.perf_counter) -> str:
    names = list(METHODS)
    lines = [
        "| data | " + " | ".join(names) + " |",
        "|---" * (len(names) + 1) + "|",
    ]
    for label, (n_rows, n_features) in shapes.items():
        X, y = synthetic(n_rows, n_features)
        for fn in METHODS.values():  # warm-up: imports, allocator, thread pools
            fn(X[:512], y[:512], epochs=1)
        med = interleaved_medians({n: (lambda f=f: f(X, y)) for n, f in METHODS.items()},
                                  repeats[label], clock)
        base = med[names[0]]
        cells = [f"{med[n] / base:.2f}x" for n in names]
        cells[0] = f"1.00 ({base:.2f} s)"
        lines.append(f"| {label} ({n_rows:,} x {n_features}), median of {repeats[label]} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)


# -- memory: one subprocess per method -------------------------------------------------------------
def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def memory_child(method: str, n_rows: int, epochs: int) -> None:
    """Fit once and print JSON: resident memory growth during the fit and its reference."""
    X, y = synthetic(n_rows, SHAPES["MNIST-sized"][1])
    fit = METHODS[method]
    fit(X[:256], y[:256], epochs=1)  # lazy imports and first-call allocations, outside the fit
    import gc

    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM (peak RSS) to the current RSS
    before = _status_kib("VmRSS")
    fit(X, y, epochs=epochs)
    peak = _status_kib("VmHWM")
    n_params = sum(p.numel() for p in mlp(X.shape[1]).parameters())
    # float32 parameters, their gradients and Adam's two moments
    state = 4 * n_params * 4
    print(json.dumps({"growth": (peak - before) * 1024, "array": X.nbytes, "state": state}))


def memory_table(n_rows: int, epochs: int, threads: int | None) -> str:
    lines = [
        "| method | peak RSS growth during fit | / (float32 array + model and Adam state) |",
        "|---|---|---|",
    ]
    for method in METHODS:
        out = subprocess.run(
            [sys.executable, "-m", __spec__.name, "--memory-child", method, "--rows", str(n_rows),
             "--epochs", str(epochs), *(["--threads", str(threads)] if threads else [])],
            check=True, capture_output=True, text=True, cwd=ROOT,  # where -m finds benchmarks/
        ).stdout
        m = json.loads(out.strip().splitlines()[-1])
        reference = m["array"] + m["state"]
        growth = m["growth"]
        lines.append(f"| {method} | {growth / 2**20:.0f} MiB | {growth / reference:.2f}x |")
    ref_line = (f"\n\nReference: float32 array {m['array'] / 2**20:.0f} MiB + model and Adam state "
                f"{m['state'] / 2**20:.1f} MiB ({n_rows:,} x 784, {epochs} epochs, "
                "one subprocess per method).")
    return "\n".join(lines) + ref_line


# -- l2: its closed-form gradient against a plain step ---------------------------------------------
def l2_table(n_rows: int, repeats: int, epochs: int) -> str:
    from sklearn_regpen._objective import Objective

    X, y = synthetic(n_rows, 784, seed=1)
    net = dict(hidden=(1000, 1000), activation="tanh", epochs=epochs)

    def through_autograd(self, module, x, y, sample_weight=None, *, decay_in_optimizer=False):
        loss, outputs = self.loss(module, x, y, sample_weight)  # the sum of squares included
        loss.backward()
        return loss.detach(), outputs

    def explicit():
        # the same estimator, with l2's closed-form gradient swapped for autograd of the term
        # (Adam's own decay is still set: the timing, not the update, is what this measures)
        with mock.patch.object(Objective, "backward", through_autograd):
            fit_regpen(X, y, penalty="l2", **net)

    fns = {
        "none": lambda: fit_regpen(X, y, penalty="none", **net),
        "l2": lambda: fit_regpen(X, y, penalty="l2", **net),
        "l2, explicit sum of squares through autograd": explicit,
    }
    for fn in fns.values():
        fn()
    med = interleaved_medians(fns, repeats)
    lines = ['| penalty | time per fit / penalty="none" | FLOP bound |', "|---|---|---|"]
    for name in fns:
        lines.append(f"| `{name}` | {med[name] / med['none']:.3f}x | 1.0x |")
    lines.append(f"\n784-1000-1000-10 tanh, batch 128, {n_rows:,} rows x {epochs} epochs per fit, "
                 f"median of {repeats}; penalty=\"none\" took {med['none']:.2f} s.")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("--quick", action="store_true", help="fewer rows and repeats")
    parser.add_argument("--skip", default="", help="comma-separated sections to skip: "
                        "overhead, memory, l2")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's own choice)")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--epochs", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    if args.threads:  # torch's threads, and the BLAS threads of numpy (scikit-learn's MLP)
        torch.set_num_threads(args.threads)
        threadpool_limits(args.threads)
    if args.memory_child:
        memory_child(args.memory_child, args.rows, args.epochs)
        return

    skip = set(filter(None, args.skip.split(",")))
    shapes = dict(SHAPES)
    repeats = {"MNIST-sized": 5, "digits-sized": 31}
    mem_rows, mem_epochs, l2_rows, l2_repeats, l2_epochs = 60_000, EPOCHS, 4_000, 21, 1
    if args.quick:
        shapes["MNIST-sized"] = (10_000, 784)
        repeats = {"MNIST-sized": 3, "digits-sized": 11}
        mem_rows, mem_epochs, l2_rows, l2_repeats, l2_epochs = 10_000, 2, 2_000, 7, 1

    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads), python "
          f"{platform.python_version()}\n")
    if "overhead" not in skip:
        print("## Training-loop overhead (time per fit / hand-written torch loop)\n")
        print(overhead_table(shapes, repeats) + "\n", flush=True)
    if "memory" not in skip:
        print("## Peak memory during a fit on MNIST-sized data\n")
        print(memory_table(mem_rows, mem_epochs, args.threads) + "\n", flush=True)
    if "l2" not in skip:
        print("## l2 cost (time per fit / penalty=\"none\")\n")
        print(l2_table(l2_rows, l2_repeats, l2_epochs), flush=True)


if __name__ == "__main__":
    main()
