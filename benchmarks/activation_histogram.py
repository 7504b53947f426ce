"""Hidden activations, techreport Figure 1: normalized histograms of the tanh activations of
the first hidden layer on the test set, without and with Jacobian regularization.

    .ci/env python benchmarks/activation_histogram.py            # digits, the table's settings
    .ci/env python benchmarks/activation_histogram.py --quick    # smoke test

Uses the settings ``noise_jacobian_table.py`` chose (``--params``), the seed-0 model of each
penalty, and writes ``activation_histogram.md`` and ``activation_histogram.png``.
"""

from __future__ import annotations

import sys

import numpy as np
import torch
from _report import Report, markdown_table
from _techreport import LABELS, chosen_params, fit_chosen, load_data, params_text, parser, settings

COMPARED = ("none", "jacobian", "noisy_jacobian")


def hidden_activations(model, X) -> np.ndarray:
    """The first hidden layer's activations (after tanh) for the rows of ``X``, flattened."""
    first = model.net_.module_.layers[:2]  # Linear, Tanh
    with torch.no_grad():
        return first(torch.as_tensor(np.asarray(X, dtype=np.float32))).numpy().ravel()


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser(__doc__.splitlines()[0], "activation_histogram.md").parse_args(argv)
    torch.set_num_threads(1)
    setup = settings(args)
    setup["seeds"] = setup["seeds"][:1]
    title = "Hidden activations with and without Jacobian regularization (techreport Figure 1)"
    report = Report(title, seeds=setup["seeds"], argv=[__file__, *argv])
    X_train, y_train, X_test, y_test, data = load_data(args)
    print(data)
    chosen = chosen_params(args, X_train, y_train, setup)
    models = fit_chosen(chosen, setup, X_train, y_train, penalties=COMPARED)
    values = {p: hidden_activations(models[p][0], X_test) for p in COMPARED}

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bins = np.linspace(-1, 1, 41)
    fig, ax = plt.subplots(figsize=(6, 4))
    for p in COMPARED:
        ax.hist(values[p], bins=bins, density=True, histtype="step", linewidth=1.8,
                label=f"{LABELS[p]} ({params_text(chosen[p])})")  # fmt: skip
    ax.set_xlabel("activation of the first hidden layer (tanh)")
    ax.set_ylabel("density")
    ax.set_yscale("log")
    ax.set_title(f"Hidden activations on the test set, {data.split(':')[0]}")
    ax.legend()
    header = ["model", "setting", "abs(h) > 0.95 %", "abs(h) < 0.1 %", "mean abs(h)"]
    rows = [
        [LABELS[p], params_text(chosen[p]), f"{100 * np.mean(np.abs(values[p]) > 0.95):.1f}",
         f"{100 * np.mean(np.abs(values[p]) < 0.1):.1f}", f"{np.mean(np.abs(values[p])):.3f}"]
        for p in COMPARED
    ]  # fmt: skip
    report.add(
        "## First-hidden-layer activations on the test set",
        f"{data}; tanh MLP {setup['hidden']}, seed-0 models with the settings of "
        "`noise_jacobian_table.py`. Saturated: `abs(h) > 0.95`; near-linear: `abs(h) < 0.1`.\n\n"
        + markdown_table(header, rows),
    )
    report.figure("activation_histogram.png", fig, "hidden activation histograms")
    path = report.write(args.out / args.name)
    print(f"wrote {path}")
    print(markdown_table(header, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
