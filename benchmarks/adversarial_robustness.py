"""Adversarial robustness: test accuracy under FGSM and few-step PGD attacks of growing radius,
per penalty, with the settings chosen for the techreport table.

    .ci/env python -m benchmarks.adversarial_robustness                # L2 radii, digits
    .ci/env python -m benchmarks.adversarial_robustness --norm linf --name adversarial_linf.md
    .ci/env python -m benchmarks.adversarial_robustness --quick        # smoke test

White-box attacks on the cross-entropy at the true label (``sklearn_regpen.diagnostics``), no
box constraint on the pixels; PGD has a random start and keeps each row's worst iterate. Writes
``adversarial_robustness.md`` and a PNG of the same name (``--name`` changes both).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from sklearn_regpen.diagnostics import attack_accuracies

from ._report import Report, markdown_table, pyplot
from ._techreport import LABELS, PENALTIES, chosen_params, fit_chosen, load_data, parser, settings

NORM_NAMES = {"l2": "L2", "linf": "L-inf"}
RADII = {"l2": (0.0, 0.25, 0.5, 0.75, 1.0, 1.25), "linf": (0.0, 0.02, 0.04, 0.06, 0.08, 0.1)}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    p = parser(__doc__.splitlines()[0], "adversarial_robustness.md")
    p.add_argument("--norm", choices=("l2", "linf"), default="l2")
    p.add_argument("--radii", type=float, nargs="+", default=None)
    p.add_argument("--steps", type=int, default=10, help="PGD steps (default 10)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    setup = settings(args)
    radii = args.radii or list(RADII[args.norm])
    report = Report(f"Adversarial robustness ({args.norm} attacks)", seeds=setup["seeds"],
                    module=__spec__.name, argv=argv)  # fmt: skip
    X_train, y_train, X_test, y_test, data = load_data(args)
    print(data)
    chosen = chosen_params(args, X_train, y_train, setup)
    models = fit_chosen(chosen, setup, X_train, y_train)
    accuracy = {}
    for attack in ("fgsm", "pgd"):
        for penalty in PENALTIES:
            per_seed = [
                attack_accuracies(m, X_test, y_test, radii, attack=attack, norm=args.norm,
                                  n_steps=args.steps, random_state=seed)["accuracy"]
                for seed, m in zip(setup["seeds"], models[penalty])
            ]  # fmt: skip
            accuracy[attack, penalty] = 100 * np.mean(per_seed, axis=0)

    plt = pyplot()

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, attack in zip(axes, ("fgsm", "pgd")):
        for penalty in PENALTIES:
            ax.plot(radii, accuracy[attack, penalty], marker="o",
                    label=f"{LABELS[penalty]} ({penalty})")  # fmt: skip
        name = "FGSM" if attack == "fgsm" else f"PGD, {args.steps} steps"
        ax.set_title(f"{name}, {NORM_NAMES[args.norm]} ball")
        ax.set_xlabel(f"attack radius ({NORM_NAMES[args.norm]} norm, pixels in [0, 1])")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy (%)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=3, bbox_to_anchor=(0.5, 0.0))
    sections = []
    for attack in ("fgsm", "pgd"):
        header = ["penalty", *(f"r = {r:g}" for r in radii)]
        rows = [[f"`{p}`", *(f"{v:.1f}" for v in accuracy[attack, p])] for p in PENALTIES]
        title = "FGSM" if attack == "fgsm" else f"PGD ({args.steps} steps, random start)"
        sections.append(f"### {title}\n\n" + markdown_table(header, rows))
    report.add(
        f"## Test accuracy % under {args.norm} attacks",
        f"{data}; the settings of `noise_jacobian_table.py`, tanh MLP {setup['hidden']}; mean "
        f"over {len(setup['seeds'])} seeds. r = 0 is the clean accuracy.\n\n"
        + "\n\n".join(sections),
    )
    figure_name = Path(args.name).with_suffix(".png").name
    report.figure(figure_name, fig, "accuracy against attack radius")
    report.write(args.out / args.name)
    print("\n\n".join(sections))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
