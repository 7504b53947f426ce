"""Hidden activations, techreport Figure 1: normalized histograms of the tanh activations of
the first hidden layer on the test set, without and with Jacobian regularization.

    .ci/env python -m benchmarks.activation_histogram            # digits, the table's settings
    .ci/env python -m benchmarks.activation_histogram --quick    # smoke test

Uses the settings ``noise_jacobian_table.py`` chose (``--params``), the seed-0 model of each
penalty, plus ``jacobian`` at ``--stronger`` times its chosen ``alpha`` (the validated strength
may be too weak to show the effect the paper describes), and writes ``activation_histogram.md``
and ``activation_histogram.png``.
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from ._report import Report, markdown_table, pyplot
from ._techreport import (
    LABELS,
    chosen_params,
    fit,
    fit_chosen,
    load_data,
    make_model,
    params_text,
    parser,
    settings,
)

COMPARED = ("none", "jacobian", "noisy_jacobian")


def hidden_activations(model, X) -> np.ndarray:
    """The first hidden layer's activations (after tanh) for the rows of ``X``, flattened."""
    first = model.net_.module_.layers[:2]  # Linear, Tanh
    with torch.no_grad():
        return first(torch.as_tensor(np.asarray(X, dtype=np.float32))).numpy().ravel()


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    p = parser(__doc__.splitlines()[0], "activation_histogram.md")
    p.add_argument("--stronger", type=float, default=10.0, help="factor on jacobian's alpha")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    setup = settings(args)
    setup["seeds"] = setup["seeds"][:1]
    title = "Hidden activations with and without Jacobian regularization (techreport Figure 1)"
    report = Report(title, seeds=setup["seeds"], module=__spec__.name, argv=argv)
    X_train, y_train, X_test, y_test, data = load_data(args)
    print(data)
    chosen = chosen_params(args, X_train, y_train, setup)
    models = fit_chosen(chosen, setup, X_train, y_train, penalties=COMPARED)
    stronger = {"alpha": args.stronger * chosen["jacobian"]["alpha"]}
    strong_model = fit(make_model("jacobian", stronger, setup, setup["seeds"][0]), X_train, y_train)
    curves = [(LABELS[p], chosen[p], models[p][0]) for p in COMPARED]
    curves.append((f"{LABELS['jacobian']}, stronger", stronger, strong_model))
    values = {label: hidden_activations(model, X_test) for label, _, model in curves}

    plt = pyplot()

    bins = np.linspace(-1, 1, 41)
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, params, _ in curves:
        ax.hist(values[label], bins=bins, density=True, histtype="step", linewidth=1.8,
                label=f"{label} ({params_text(params)})")  # fmt: skip
    ax.set_xlabel("activation of the first hidden layer (tanh)")
    ax.set_ylabel("density")
    ax.set_yscale("log")
    ax.set_title(f"Hidden activations on the test set, {data.split(':')[0]}")
    ax.legend()
    header = ["model", "setting", "abs(h) > 0.95 %", "abs(h) < 0.1 %", "mean abs(h)",
              "test error %"]  # fmt: skip
    rows = [
        [label, params_text(params), f"{100 * np.mean(np.abs(values[label]) > 0.95):.1f}",
         f"{100 * np.mean(np.abs(values[label]) < 0.1):.1f}",
         f"{np.mean(np.abs(values[label])):.3f}", f"{100 * (1 - model.score(X_test, y_test)):.2f}"]
        for label, params, model in curves
    ]  # fmt: skip
    report.add(
        "## First-hidden-layer activations on the test set",
        f"{data}; tanh MLP {setup['hidden']}, seed-0 models with the settings of "
        f"`noise_jacobian_table.py`, and `jacobian` at {args.stronger:g} times its chosen alpha. "
        "Saturated: `abs(h) > 0.95`; near-linear: `abs(h) < 0.1`.\n\n"
        + markdown_table(header, rows),
    )
    report.figure("activation_histogram.png", fig, "hidden activation histograms")
    report.write(args.out / args.name)
    print(markdown_table(header, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
