"""Exact Jacobian norms and Fisher traces against one random projection: cost, noise, accuracy.

    .ci/env python -m benchmarks.projections            # about 10 minutes on 2 cores
    .ci/env python -m benchmarks.projections --quick    # a smoke test

For ``jacobian``, ``logit_jacobian``, ``noisy_jacobian``, ``hsfob``, ``hsfob_db1`` and
``hsfob_db2`` (``n_projections=None`` against ``n_projections=1``), on two shapes:

* digits (1,797 x 64, 10 classes, standardized; the estimator's default 100 ReLU units, batch 200)
* MNIST-shaped synthetic data (784 features, 10 classes; 784-1000-1000-10 tanh, batch 128)

it reports

1. **cost**: time per fit of the estimator over ``penalty="none"`` (CPU clock, one thread,
   interleaved rounds, ratio of medians);
2. **noise**: on a network trained for a few epochs without penalty, for one batch, the relative
   error ``||g_1 - g|| / ||g||`` of the one-projection penalty's parameter gradient ``g_1`` against
   the exact one ``g`` (mean over 100 draws), next to the error that drawing the batch itself
   puts in the exact gradient (``||g_batch - g_all|| / ||g_all||`` over 100 random batches,
   ``g_all`` over 2,000 rows): when the first is not far above the second, one projection adds
   noise of the kind stochastic gradient descent already lives with;
3. **accuracy** (digits only): held-out accuracy of the two, 3 seeds, at the strength
   ``alpha`` in the middle of each penalty's search range.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sklearn_regpen import RegularizedMLPClassifier
from sklearn_regpen.penalties import PENALTIES, make_penalty

from ._report import RESULTS, Report, markdown_table
from .overhead import interleaved_medians, synthetic

NAMES = ["jacobian", "logit_jacobian", "noisy_jacobian", "hsfob", "hsfob_db1", "hsfob_db2"]


def digits():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y
    )
    scaler = StandardScaler().fit(X_train)
    f32 = np.float32
    return (
        scaler.transform(X_train).astype(f32),
        y_train,
        scaler.transform(X_test).astype(f32),
        y_test,
    )


SHAPES = {
    "digits": dict(hidden_layer_sizes=(100,), activation="relu", batch_size=200),
    "MNIST-shaped": dict(hidden_layer_sizes=(1000, 1000), activation="tanh", batch_size=128),
}


def middle_alpha(name: str) -> float:
    low, high = PENALTIES[name].alpha_range
    return float(np.sqrt(low * high))


def estimator(shape, name, projections, alpha=0.1, **kw):
    options = None if name == "none" else {"n_projections": projections}
    return RegularizedMLPClassifier(
        **SHAPES[shape],
        penalty=name,
        alpha=alpha,
        epsilon=0.1,
        n_threads=1,
        penalty_options=options,
        **kw,
    )


def cost_rows(data: dict, rounds: int, epochs: dict) -> list:
    rows = []
    for shape, (X, y) in data.items():
        fns = {
            "none": lambda s=shape, X=X, y=y: estimator(
                s, "none", None, max_iter=epochs[s], tol=0
            ).fit(X, y)
        }
        for name in NAMES:
            for m in (None, 1):
                fns[(name, m)] = lambda s=shape, n=name, m=m, X=X, y=y: estimator(
                    s, n, m, max_iter=epochs[s], tol=0
                ).fit(X, y)
        for fn in fns.values():
            fn()
        med = interleaved_medians(fns, rounds, time.process_time)
        for name in NAMES:
            exact, one = med[(name, None)] / med["none"], med[(name, 1)] / med["none"]
            rows.append((shape, name, f"{exact:.2f}x", f"{one:.2f}x", f"{exact / one:.2f}"))
    return rows


def flat_grad(value, module):
    grads = torch.autograd.grad(value, list(module.parameters()), allow_unused=True)
    return torch.cat(
        [
            (torch.zeros_like(p) if g is None else g).flatten()
            for p, g in zip(module.parameters(), grads)
        ]
    )


def noise_rows(data: dict, draws: int) -> list:
    rows = []
    for shape, (X, y) in data.items():
        torch.manual_seed(0)
        net = estimator(shape, "none", None, max_iter=3, random_state=0).fit(X, y)
        module = net.net_.module_
        codes = np.searchsorted(net.classes_, y[:2000])  # the module's output columns
        x_all, y_all = torch.from_numpy(X[:2000]), torch.from_numpy(codes).long()
        batch = SHAPES[shape]["batch_size"]
        gen = torch.Generator().manual_seed(1)
        for name in NAMES:
            exact_pen = make_penalty(name, alpha=1.0, epsilon=0.1, n_projections=None)
            one_pen = make_penalty(name, alpha=1.0, epsilon=0.1, n_projections=1)
            torch.manual_seed(2)
            g_all = flat_grad(exact_pen(module, x_all, y_all), module)
            rows_b = torch.randperm(len(x_all), generator=gen)[:batch]
            xb, yb = x_all[rows_b], y_all[rows_b]
            torch.manual_seed(3)
            g = flat_grad(exact_pen(module, xb, yb), module)
            proj = [
                (flat_grad(one_pen(module, xb, yb), module) - g).norm() / g.norm()
                for _ in range(draws)
            ]
            sampling = []
            for _ in range(draws):
                idx = torch.randperm(len(x_all), generator=gen)[:batch]
                gb = flat_grad(exact_pen(module, x_all[idx], y_all[idx]), module)
                sampling.append((gb - g_all).norm() / g_all.norm())
            rows.append(
                (
                    shape,
                    name,
                    f"{float(torch.stack(proj).mean()):.2f}",
                    f"{float(torch.stack(sampling).mean()):.2f}",
                )
            )
    return rows


def accuracy_rows(seeds, max_iter: int) -> list:
    X, y, X_test, y_test = digits()
    rows = []
    for name in NAMES:
        alpha = middle_alpha(name)
        scores = {}
        for m in (None, 1):
            scores[m] = [
                estimator("digits", name, m, alpha=alpha, max_iter=max_iter, random_state=s)
                .fit(X, y)
                .score(X_test, y_test)
                for s in seeds
            ]
        rows.append(
            (
                name,
                f"{alpha:g}",
                f"{np.mean(scores[None]):.3f} ± {np.std(scores[None]):.3f}",
                f"{np.mean(scores[1]):.3f} ± {np.std(scores[1]):.3f}",
            )
        )
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for projections.md")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    torch.set_num_threads(1)
    X, y, _, _ = digits()
    Xm, ym = synthetic(2_000, 784)  # MNIST-shaped: pixels in [0, 1], a linear teacher's labels
    rounds, draws, seeds, max_iter = 5, 100, [0, 1, 2], 100
    epochs = {"digits": 5, "MNIST-shaped": 1}
    data = {"digits": (X, y), "MNIST-shaped": (Xm[:1280], ym[:1280])}
    if args.quick:
        rounds, draws, seeds, max_iter = 1, 3, [0], 2
        epochs = {"digits": 1, "MNIST-shaped": 1}
        data = {"digits": (X[:400], y[:400]), "MNIST-shaped": (Xm[:400], ym[:400])}
    report = Report(
        "Exact Jacobian norms and Fisher traces against one projection",
        seeds=seeds,
        module=__spec__.name,
        argv=argv,
    )
    sections = [
        (
            '## Cost: time per fit / penalty="none" (CPU clock, 1 thread)',
            lambda: markdown_table(
                ["data", "penalty", "exact", "1 projection", "exact / 1 proj."],
                cost_rows(data, rounds, epochs),
            ),
        ),
        (
            "## Noise: relative gradient error of one projection, and of drawing the batch",
            lambda: markdown_table(
                [
                    "data",
                    "penalty",
                    "one projection vs exact, same batch",
                    "exact, batch vs 2,000 rows",
                ],
                noise_rows(
                    {"digits": (X, y), "MNIST-shaped": (Xm, ym)} if not args.quick else data, draws
                ),
            ),
        ),
        (
            "## Accuracy on digits (held-out 30%, mean ± std over seeds)",
            lambda: markdown_table(
                ["penalty", "alpha", "exact", "1 projection"], accuracy_rows(seeds, max_iter)
            ),
        ),
    ]
    for heading, make in sections:
        report.show(heading, make())
    report.write(args.out / "projections.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
