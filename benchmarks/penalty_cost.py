"""Per-step cost of every penalty, as a ratio to an unpenalized step, next to its FLOP lower bound.

    .ci/env python -m benchmarks.penalty_cost            # about two minutes on a 2-core CPU
    .ci/env python -m benchmarks.penalty_cost --quick    # fewer repeats, for a look
    .ci/env python -m benchmarks.penalty_cost --threads 1 --clock cpu   # on a shared machine

One training step is ``Objective.backward`` (the objective's gradient, as the estimators compute
it) + an Adam step (fused, with l2's coupled decay inside it, as in the estimators) on the
techreport's network, a 784-1000-1000-10 tanh MLP, with a batch of 128 rows in float32 on the
CPU. Every setting trains its own copy of the same initial network. After a warm-up, the
settings are timed in interleaved rounds (each round times every setting once, so that a change
of machine load hits them all alike) and each setting's median over the rounds is divided by the
median of ``none`` from the same rounds. On a machine that other jobs load, ``--threads 1
--clock cpu`` times the process's CPU time instead of the wall clock, which those jobs barely
disturb.

The lower bound counts matrix products only, in units of a plain step. A plain step is one
forward pass (F) and its backward pass (2F: gradients for the inputs of each layer and for its
weights), 3F in all. Extra work per penalty, with K = 10 outputs:

* a second forward and backward pass on a perturbed batch: +3F, i.e. +1 (``c2c``, ``kl``);
* one power-iteration step: a forward pass and a backward pass for the input only, +2F = +2/3
  (``c2c_adversarial``, ``vat``);
* one vector-Jacobian product differentiated again for the weight update: the product is a
  backward pass for the input (F) and its own backward pass costs about 2F more, +1 per product
  (``double_backprop`` 1, one random projection 1, an exact Jacobian norm or Fisher trace K);
* a forward pass whose outputs nothing else can use: +F = +1/3 (``noisy_jacobian`` takes its
  products at ``x + eps n`` while the data loss needs the outputs at ``x``; the other product
  penalties share one forward pass between the two);
* ``noise`` trains on the noisy batch instead of the clean one and ``l2`` adds a sum of squares
  of the weights: nothing extra.

The same bounds hold for any network, in units of its own plain step, so ``--model cnn`` times
the thesis' SmallCNN (``sklearn_regpen.modules.SmallCNN``) on 28x28 images, batch 128, against
them. One difference there: a plain step needs no gradient for the input of the first
convolution, which every input-gradient penalty must compute; that convolution is a small share
of the network's FLOPs, so the bounds are kept.

The bound is a ratio of FLOP counts, not of times: the batched products (``K`` cotangents of
128 rows in one product of ``128 K`` rows) run at a higher FLOP rate than the 128-row plain
step, so a measured ratio can fall below it.
"""

from __future__ import annotations

import argparse
import copy
import platform
import statistics
import time

import torch

from sklearn_regpen._objective import Objective
from sklearn_regpen._training import FUSED_ADAM
from sklearn_regpen.modules import MLP, SmallCNN
from sklearn_regpen.penalties import make_penalty

N_FEATURES, HIDDEN, N_CLASSES, BATCH = 784, (1000, 1000), 10, 128

#: (penalty name, options, FLOP lower bound in plain steps); see the module docstring
SETTINGS = [
    ("none", {}, 1.0),
    ("l2", {}, 1.0),
    ("noise", {}, 1.0),
    ("c2c", {}, 2.0),
    ("kl", {}, 2.0),
    ("c2c_adversarial", {}, 1 + 2 / 3 + 1),
    ("vat", {}, 1 + 2 / 3 + 1),
    ("vat", {"n_power_iterations": 2}, 1 + 2 * 2 / 3 + 1),
    ("jacobian", {"n_projections": None}, 1 + N_CLASSES),
    ("jacobian", {"n_projections": 1}, 2.0),
    ("logit_jacobian", {"n_projections": None}, 1 + N_CLASSES),
    ("noisy_jacobian", {"n_projections": None}, 1 + N_CLASSES + 1 / 3),  # + the clean forward
    ("double_backprop", {}, 2.0),
    ("hsfob", {"n_projections": None}, 1 + N_CLASSES),
    ("hsfob", {"n_projections": 1}, 2.0),
    ("hsfob_db1", {"n_projections": None}, 1 + N_CLASSES + 1),
    ("hsfob_db1", {"n_projections": 1}, 3.0),
    ("hsfob_db2", {"n_projections": None}, 1 + N_CLASSES + 1),
    ("hsfob_db2", {"n_projections": 1}, 4.0),  # two independent trace estimates
]


def label(name: str, options: dict) -> str:
    return name + "".join(f", {k}={v}" for k, v in options.items())


class Trainer:
    """One setting: its penalty, its own copy of the network and its own Adam, set up as the
    estimators set theirs (fused where torch has it, l2's decay inside Adam's update)."""

    def __init__(self, name, options, module, x, y):
        self.penalty = make_penalty(name, alpha=0.1, epsilon=0.1, **options)
        self.module = copy.deepcopy(module)
        params = list(self.module.parameters())
        groups = [
            {"params": [p for p in params if p.dim() > 1]},
            {"params": [p for p in params if p.dim() <= 1]},
        ]
        fused = {"fused": True} if FUSED_ADAM else {}
        self.optimizer = torch.optim.Adam(groups, lr=1e-4, **fused)
        # the objective the estimators use, with the labels checked once and l2's decay in Adam
        self.objective = Objective(self.penalty, check_labels=False)
        self.optimizer.param_groups[0]["weight_decay"] = self.objective.rate(x)
        self.x, self.y = x, y

    def step(self):
        self.optimizer.zero_grad(set_to_none=True)
        self.objective.backward(self.module, self.x, self.y, decay_in_optimizer=True)
        self.optimizer.step()

    def time(self, steps: int, clock=time.perf_counter) -> float:
        start = clock()
        for _ in range(steps):
            self.step()
        return (clock() - start) / steps


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


#: the networks ``measure`` times: (module, shape of one input row)
MODELS = {
    "mlp": (lambda: MLP(N_FEATURES, N_CLASSES, HIDDEN, "tanh"), (N_FEATURES,)),
    "cnn": (lambda: SmallCNN((1, 28, 28), N_CLASSES), (1, 28, 28)),
}
DESCRIPTIONS = {"mlp": "784-1000-1000-10 tanh MLP", "cnn": "SmallCNN on 28x28 images"}


def measure(
    rounds: int, steps: int, warmup: int, clock=time.perf_counter, model: str = "mlp"
) -> list[dict]:
    torch.manual_seed(0)
    build, shape = MODELS[model]
    module = build()
    x = torch.rand(BATCH, *shape)  # pixel-like inputs in [0, 1]
    y = torch.randint(0, N_CLASSES, (BATCH,))
    trainers = [Trainer(name, options, module, x, y) for name, options, _ in SETTINGS]
    for trainer in trainers:
        trainer.time(warmup)
    times = [[] for _ in trainers]
    for _ in range(rounds):
        for trainer, record in zip(trainers, times):
            record.append(trainer.time(steps, clock))
    base = statistics.median(times[0])
    return [
        dict(label=label(name, options), ms=1e3 * statistics.median(t),
             ratio=statistics.median(t) / base, bound=bound)
        for (name, options, bound), t in zip(SETTINGS, times)
    ]


def render(rows: list[dict]) -> str:
    lines = [
        "| penalty | ms / step | ratio to `none` | FLOP lower bound |",
        "|---|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| `{row['label']}` | {row['ms']:.1f} | {row['ratio']:.2f} | {row['bound']:.1f} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds of 1 step instead of 7 of 2")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall-clock time, or the process's CPU time (use with --threads 1)")
    parser.add_argument("--model", choices=sorted(MODELS), default="mlp",
                        help="the 784-1000-1000-10 MLP, or SmallCNN on 28x28 images")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rounds, steps, warmup = (3, 1, 1) if args.quick else (7, 2, 2)
    rows = measure(rounds, steps, warmup, CLOCKS[args.clock], args.model)
    print(
        f"{DESCRIPTIONS[args.model]}, batch {BATCH}, float32, CPU "
        f"({platform.processor() or platform.machine()}), torch {torch.__version__}, "
        f"{torch.get_num_threads()} thread(s), {args.clock} clock; median of {rounds} "
        f"interleaved rounds of {steps} step(s)\n"
    )
    print(render(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
