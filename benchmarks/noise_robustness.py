"""Robustness to input noise, techreport Figure 2: test error against the standard deviation of
Gaussian noise added to the test inputs, one line per penalty.

    .ci/env python -m benchmarks.noise_robustness            # digits, the table's settings
    .ci/env python -m benchmarks.noise_robustness --quick    # smoke test

Uses the settings ``noise_jacobian_table.py`` chose (``--params``, default
``OUT/noise_jacobian_params.json``; chosen afresh when missing), refits them with the same seeds
and writes ``noise_robustness.md`` and ``noise_robustness.png``.
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from sklearn_regpen.diagnostics import noise_errors

from ._report import Report, markdown_table, pyplot
from ._techreport import LABELS, PENALTIES, chosen_params, fit_chosen, load_data, parser, settings

STDS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    p = parser(__doc__.splitlines()[0], "noise_robustness.md")
    p.add_argument("--stds", type=float, nargs="+", default=list(STDS))
    p.add_argument("--draws", type=int, default=None, help="noise draws per std (default 5)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    setup = settings(args)
    draws = args.draws or (1 if args.quick else 5)
    report = Report("Robustness to Gaussian input noise (techreport Figure 2)",
                    seeds=setup["seeds"], module=__spec__.name, argv=argv)  # fmt: skip
    X_train, y_train, X_test, y_test, data = load_data(args)
    print(data)
    chosen = chosen_params(args, X_train, y_train, setup)
    models = fit_chosen(chosen, setup, X_train, y_train)
    curves = {}
    for penalty in PENALTIES:
        per_seed = [
            noise_errors(m, X_test, y_test, args.stds, n_draws=draws, random_state=seed)["error"]
            for seed, m in zip(setup["seeds"], models[penalty])
        ]
        curves[penalty] = 100 * np.mean(per_seed, axis=0)

    plt = pyplot()

    fig, ax = plt.subplots(figsize=(6, 4))
    for penalty in PENALTIES:
        ax.plot(args.stds, curves[penalty], marker="o", label=f"{LABELS[penalty]} ({penalty})")
    ax.set_xlabel("std of Gaussian noise added to the test inputs (pixels in [0, 1])")
    ax.set_ylabel("test error (%)")
    ax.set_title(f"Error under input noise, {data.split(':')[0]}")
    ax.grid(alpha=0.3)
    ax.legend()
    header = ["penalty", *(f"std {s:g}" for s in args.stds)]
    rows = [[f"`{p}`", *(f"{v:.2f}" for v in curves[p])] for p in PENALTIES]
    report.add(
        "## Test error % under Gaussian input noise",
        f"{data}; the settings of `noise_jacobian_table.py`, tanh MLP {setup['hidden']}; mean "
        f"over {len(setup['seeds'])} seeds and {draws} noise draws per seed "
        "(`sklearn_regpen.diagnostics.noise_errors`).\n\n" + markdown_table(header, rows),
    )
    report.figure("noise_robustness.png", fig, "test error against input noise")
    report.write(args.out / args.name)
    print(markdown_table(header, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
