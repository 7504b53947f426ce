"""The training recipe on MNIST: which learning-rate schedule keeps every penalty's training stable.

    .ci/env python -m benchmarks.mnist_recipe --data /path/to/mnist   # 10.5 CPU-min, 1 thread

The reduced protocol that chose the package's ``learning_rate="auto"`` for images:
training rows 0 to ``--rows`` - 1 of MNIST's training file, validation on rows 50,000-59,999
(never the test set), the techreport's tanh network of 1000 units, batch 128, ``--max-iter``
epochs, one seed, the penalties' default options (``jacobian`` with one projection). For each
recipe and penalty: the validation error, the last epoch's training loss against the lowest
(the climb that ``TrainingLossClimbWarning`` reports) and the CPU time. ``--device cuda`` for a GPU.

Recipes besides the estimator's own options: a linear warm-up over the first epoch (given to the
cosine schedule) and gradient-norm clipping, injected into the skorch net by subclassing: they
are candidates, measured here before any becomes an option.
"""

from __future__ import annotations

import functools
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

from sklearn_regpen import RegularizedMLPClassifier, TrainingLossClimbWarning
from sklearn_regpen import estimators as _estimators
from sklearn_regpen._climb import loss_climb
from sklearn_regpen._schedule import CosineSchedule
from sklearn_regpen._training import training_batches
from sklearn_regpen.datasets import load_mnist

from ._mnist import add_data_argument, check_data
from ._report import RESULTS, Report, markdown_table

#: recipe name -> (estimator parameters, warm-up epochs, gradient-norm clip)
RECIPES = {
    "constant 3e-3 (old default)": ({"learning_rate": "constant"}, 0, None),
    "constant 1e-3": ({"learning_rate": "constant", "learning_rate_init": 1e-3}, 0, None),
    "cosine 3e-3": ({"learning_rate": "cosine"}, 0, None),
    "cosine 3e-3 + warm-up 1 epoch": ({"learning_rate": "cosine"}, 1, None),
    "cosine 3e-3 + clip 1": ({"learning_rate": "cosine"}, 0, 1.0),
    "cosine 1e-3": ({"learning_rate": "cosine", "learning_rate_init": 1e-3}, 0, None),
}
PENALTIES = {
    "none": {"penalty": "none"},
    "jacobian a=1": {"penalty": "jacobian", "alpha": 1.0},
    "jacobian a=0.1": {"penalty": "jacobian", "alpha": 0.1},
    "noisy_jacobian a=1 e=0.1": {"penalty": "noisy_jacobian", "alpha": 1.0, "epsilon": 0.1},
}


class _Candidate(RegularizedMLPClassifier):
    """The classifier with a warm-up and gradient clipping forced in (study only)."""

    def __init__(self, *, warmup_epochs=0, clip=None, **params):
        super().__init__(**params)
        self.warmup_epochs = warmup_epochs
        self.clip = clip

    def _build_net(self, *args, **kwargs):
        net = super()._build_net(*args, **kwargs)
        net.max_grad_norm = self.clip
        return net

    def _run(self, net, plan, progress, seed):
        steps_per_epoch = len(training_batches(len(plan.X), min(self.batch_size, len(plan.X))))
        warmup_steps = self.warmup_epochs * steps_per_epoch
        warmup = functools.partial(CosineSchedule, warmup_steps=warmup_steps)
        original = _estimators.CosineSchedule
        _estimators.CosineSchedule = warmup
        try:
            return super()._run(net, plan, progress, seed)
        finally:
            _estimators.CosineSchedule = original

    @classmethod
    def _get_param_names(cls):
        return sorted({*RegularizedMLPClassifier._get_param_names(), "warmup_epochs", "clip"})


def main(argv=None) -> int:
    import argparse

    argv = sys.argv[1:] if argv is None else list(argv)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(p)
    p.add_argument("--rows", type=int, default=20_000, help="training rows (from row 0)")
    p.add_argument("--valid-rows", type=int, default=10_000, help="validation rows from 50,000")
    p.add_argument("--max-iter", type=int, default=15)
    p.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    p.add_argument("--penalties", nargs="+", default=list(PENALTIES), choices=list(PENALTIES))
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--name", default="mnist_recipe.md")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    report = Report("MNIST training recipe: schedules and stability", seeds=[0],
                    module=__spec__.name, argv=argv)  # fmt: skip
    X, y, _, _ = load_mnist(check_data(p, args.data))
    X_fit, y_fit = X[: args.rows], y[: args.rows]
    X_val, y_val = X[50_000 : 50_000 + args.valid_rows], y[50_000 : 50_000 + args.valid_rows]
    rows = []
    for recipe in args.recipes:
        params, warmup, clip = RECIPES[recipe]
        for name in args.penalties:
            model = _Candidate(
                hidden_layer_sizes=(1000,), activation="tanh", batch_size=128,
                max_iter=args.max_iter, random_state=0, device=args.device,
                n_threads=args.threads, warmup_epochs=warmup, clip=clip,
                early_stopping=False, **{"alpha": 1e-4, **params, **PENALTIES[name]},
            )  # fmt: skip
            started = time.process_time()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                warnings.simplefilter("ignore", TrainingLossClimbWarning)
                model.fit(X_fit, y_fit)
            cpu = time.process_time() - started
            curve = model.loss_curve_
            error = 100 * (1 - model.score(X_val, y_val))
            climb = loss_climb(curve)
            ratio = curve[-1] / min(curve)
            row = [recipe, name, f"{error:.2f}", f"{min(curve):.4f} (epoch "
                   f"{int(np.argmin(curve)) + 1})", f"{curve[-1]:.4f}", f"{ratio:.2f}",
                   "yes" if climb else "no", f"{cpu:.0f}"]  # fmt: skip
            rows.append(row)
            print(" | ".join(row), flush=True)
    header = ["recipe", "penalty", "validation error %", "lowest training loss",
              "last training loss", "last / lowest", "climb warning", "CPU s"]  # fmt: skip
    report.add(
        "## Validation error and training-loss climbs",
        f"MNIST training rows 0-{args.rows - 1}, validation rows 50,000-"
        f"{50_000 + args.valid_rows - 1}; tanh MLP (1000,), batch 128, {args.max_iter} epochs, "
        f"seed 0, {args.threads} torch threads, device {args.device}; the penalties' default "
        "options (one projection for `jacobian` and `noisy_jacobian`). The model keeps its "
        "best-loss epoch; `last / lowest` is the training loss of the last epoch against the "
        "lowest, the ratio the climb warning reads.\n\n" + markdown_table(header, rows),
    )
    report.write(args.out / args.name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
