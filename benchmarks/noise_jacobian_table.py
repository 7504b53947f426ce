"""Noise + Jacobian, techreport Table 1: test error of a tanh MLP with none / l2 / noise /
jacobian / noisy_jacobian, each with its alpha / epsilon chosen on a validation split.

    .ci/env python -m benchmarks.noise_jacobian_table            # digits, 5 seeds
    .ci/env python -m benchmarks.noise_jacobian_table --quick    # smoke test
    .ci/env python -m benchmarks.noise_jacobian_table --data ~/mnist   # the paper's MNIST

Writes ``noise_jacobian_table.md`` and ``noise_jacobian_params.json`` (the chosen settings, which
the robustness, activation and attack benchmarks reuse) under ``benchmarks/results/`` or
``--out``. It also measures, on the seed-0 models, the input sensitivity the techreport reasons
about: ``||J||_F^2`` and the Hessian norm that noise on the Jacobian's input should shrink.
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from sklearn_regpen.diagnostics import sensitivity

from ._report import Report, markdown_table
from ._techreport import (
    LABELS,
    PAPER,
    PAPER_COLUMNS,
    PENALTIES,
    fit_chosen,
    load_data,
    mean_sd,
    params_text,
    parser,
    save_params,
    select,
    settings,
)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser(__doc__.splitlines()[0], "noise_jacobian_table.md").parse_args(argv)
    torch.set_num_threads(1)
    setup = settings(args)
    report = Report("Noise + Jacobian: test error (techreport Table 1)", seeds=setup["seeds"],
                    module=__spec__.name, argv=argv)  # fmt: skip
    X_train, y_train, X_test, y_test, data = load_data(args)
    mnist = args.data is not None
    print(data)
    chosen, validation = select(X_train, y_train, setup)
    save_params(args.out, chosen, setup)
    models = fit_chosen(chosen, setup, X_train, y_train)

    errors = {p: [1 - m.score(X_test, y_test) for m in models[p]] for p in PENALTIES}
    header = ["model", "penalty", "chosen", "test error % (mean ± sd over seeds)"]
    if mnist:
        header.append("paper, MNIST %")
    rows = []
    for p in PENALTIES:
        row = [LABELS[p], f"`{p}`", params_text(chosen[p]), mean_sd(errors[p])]
        rows.append(row + ([f"{PAPER[p][0]:.2f}"] if mnist else []))
    one_row = 100 / len(y_test)
    report.add(
        "## Test error",
        f"{data}; tanh MLP {setup['hidden']}, Adam (learning rate 1e-3, batch 200), "
        f"{setup['max_iter']} epochs at most (stopping after 10 epochs without a 1e-4 drop of "
        f"the training loss). One test row is {one_row:.2f}% of the test error.\n\n"
        + markdown_table(header, rows),
    )
    per_seed = markdown_table(
        ["penalty", *(f"seed {s}" for s in setup["seeds"])],
        [[f"`{p}`", *(f"{100 * e:.2f}" for e in errors[p])] for p in PENALTIES],
    )
    report.add("### Test error % per seed", per_seed)

    projections = 16 if X_test.shape[1] > 100 else None
    measured = {p: sensitivity(models[p][0], X_test, hessian_projections=projections,
                               random_state=0).mean() for p in PENALTIES}  # fmt: skip
    columns = ["jacobian_sq_norm", "hessian_sq_norm", "logit_jacobian_sq_norm", "fisher_trace"]
    report.add(
        "## Input sensitivity on the test set (seed-0 models, means over rows)",
        "`jacobian_sq_norm` is `||J||_F^2` of the probabilities, `hessian_sq_norm` is "
        "`sum_k ||d^2 p_k / dx^2||_F^2` ("
        + ("16 Gaussian projections per row" if projections else "exact")
        + "), then `||J_z||_F^2` of the logits and `Tr I(x)`; "
        "see `sklearn_regpen.diagnostics.sensitivity`.\n\n"
        + markdown_table(
            ["penalty", *columns],
            [[f"`{p}`", *(f"{measured[p][c]:.4g}" for c in columns)] for p in PENALTIES],
        ),
    )
    report.add(
        "## Validation scores of every candidate (seed 0, 20% of the training rows)",
        markdown_table(
            ["penalty", "setting", "validation error %", "validation log-loss"],
            [
                [f"`{p}`", params_text(params), f"{100 * e:.2f}", f"{loss:.4f}"]
                for p, params, e, loss in validation
            ],
        )
        + "\n\nTies in validation error go to the lower validation log-loss.",
    )
    report.add(
        "## The paper's Table 1 (test error %)",
        markdown_table(
            ["model", *PAPER_COLUMNS],
            [[LABELS[p], *(f"{v:.2f}" for v in PAPER[p])] for p in PENALTIES],
        ),
    )
    report.write(args.out / args.name)
    print(markdown_table(header, rows))
    return 0


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    raise SystemExit(main())
