"""RealMLP's ingredients one at a time, on the classifier's defaults, on the choose tables.

    .ci/env python -m benchmarks.tabular_ingredients               # the choose tables
    .ci/env python -m benchmarks.tabular_ingredients --report-only
    .ci/env python -m benchmarks.tabular_ingredients --quick       # 2 small tables, 1 fold

``RealMLP_TD_Classifier()`` leads the package's default classifier on the confirm tables
(``benchmarks/tabular_anchors.py``). It differs in many ways; this study adds to the default
network, one at a time, the pieces of RealMLP that change the module: dropout after each hidden
layer (RealMLP's 0.15), smooth clipping of the standardized inputs (``x / sqrt(1 + (x / 3)^2)``,
RealMLP's preprocessing after its robust scaling) and periodic numerical embeddings (RealMLP's
"PBLD": each input ``x_j`` also enters as ``W_j cos(2 pi (w_j x_j + b_j)) + c_j``, 16
frequencies drawn with standard deviation 0.1 mapped to 4 values, beside ``x_j`` itself), the
last also with RealMLP's wider network (two layers of 256).

Every candidate is a ``RegularizedNetClassifier`` whose module is one of the modules below, with
the training settings of ``RegularizedMLPClassifier()`` spelled out (``STANDING``), so that the
reference, the plain MLP, trains as the default classifier does. The rule is the candidates
study's (``benchmarks/tabular_candidates.py``): a candidate would go on to the confirm tables
only if it led the reference on the choose tables within 3x its CPU. The confirm tables are not
run here.

Cells are (table, fold, candidate) on the folds, preprocessing and threads of the anchors study,
cached in ``results/tabular_ingredients_cache.json``.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import tabular_pools as pools
from ._cells import fit_and_score, with_preprocessing
from ._report import RESULTS, Report, markdown_table
from ._runner import Study, add_arguments, cell_key, code_fingerprint, provenance
from .tabular_anchors import FOLDS, QUICK_FOLDS, QUICK_TABLES, standard_error
from .tabular_candidates import CPU_LIMIT, regime_rows, scores_of
from .tabular_methods import SEED
from .tabular_methods import folds as split_folds

TASK = "classification"
#: the training settings of ``RegularizedMLPClassifier()``, spelled out
STANDING = {"penalty": "l2", "alpha": 0.1, "early_stopping": True, "scoring": "loss",
            "n_iter_no_change": 30, "learning_rate_init": 3e-3, "max_iter": 500,
            "batch_size": 200}  # fmt: skip
EMBEDDING = {"frequencies": 16, "width": 4, "sigma": 0.1}


class DropoutMLP(nn.Module):
    """The default MLP with dropout after each hidden layer's activation."""

    def __init__(self, n_features, n_outputs, hidden=(100,), p=0.15):
        super().__init__()
        layers, width = [], n_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(p)]
            width = h
        self.layers = nn.Sequential(*layers, nn.Linear(width, n_outputs))

    def forward(self, x):
        return self.layers(x)


class ClippedMLP(nn.Module):
    """The default MLP on smoothly clipped inputs, ``x / sqrt(1 + (x / 3)^2)``."""

    def __init__(self, n_features, n_outputs, hidden=(100,)):
        super().__init__()
        from sklearn_regpen.modules import MLP

        self.mlp = MLP(n_features, n_outputs, hidden)

    def forward(self, x):
        return self.mlp(x / torch.sqrt(1 + (x / 3) ** 2))


class PeriodicEmbedding(nn.Module):
    """Each input ``x_j`` beside ``W_j cos(2 pi (w_j x_j + b_j)) + c_j``: ``frequencies``
    periodic features per input, mapped linearly to ``width`` values. The frequencies and phases
    are kept flat (one dimension), so that weight decay, which acts on matrices, leaves them
    alone, as RealMLP does."""

    def __init__(self, n_features, frequencies=16, width=4, sigma=0.1):
        super().__init__()
        self.shape = (n_features, frequencies)
        self.frequency = nn.Parameter(sigma * torch.randn(n_features * frequencies))
        self.phase = nn.Parameter(2 * torch.rand(n_features * frequencies) - 1)
        self.weight = nn.Parameter(torch.randn(n_features, frequencies, width)
                                   / math.sqrt(frequencies))  # fmt: skip
        self.bias = nn.Parameter(torch.zeros(n_features * width))
        self.n_outputs = n_features * (1 + width)

    def forward(self, x):
        angle = x[..., None] * self.frequency.view(self.shape) + self.phase.view(self.shape)
        periodic = torch.cos(2 * math.pi * angle)
        embedded = torch.einsum("bdk,dkm->bdm", periodic, self.weight).flatten(1) + self.bias
        return torch.cat([x, embedded], dim=1)


class EmbeddedMLP(nn.Module):
    """The default MLP on :class:`PeriodicEmbedding` of the inputs."""

    def __init__(self, n_features, n_outputs, hidden=(100,)):
        super().__init__()
        from sklearn_regpen.modules import MLP

        self.embed = PeriodicEmbedding(n_features, **EMBEDDING)
        self.mlp = MLP(self.embed.n_outputs, n_outputs, hidden)

    def forward(self, x):
        return self.mlp(self.embed(x))


def plain_mlp(n_features, n_outputs, hidden=(100,)):
    from sklearn_regpen.modules import MLP

    return MLP(n_features, n_outputs, hidden)


#: candidate -> (module, its module__ arguments)
CANDIDATES = {
    "MLP (the default classifier's network)": (plain_mlp, {}),
    "dropout 0.15": (DropoutMLP, {}),
    "smooth clipping": (ClippedMLP, {}),
    "periodic embeddings": (EmbeddedMLP, {}),
    "periodic embeddings, hidden (256, 256)": (EmbeddedMLP, {"hidden": (256, 256)}),
}
REFERENCE = "MLP (the default classifier's network)"


def run_cell(params: dict, *, quick: bool = False) -> dict:
    """Fit one candidate on one fold of one table: ``{"score", "fit_cpu_s", "fit_wall_s",
    "n_iter"}``."""
    from sklearn_regpen import RegularizedNetClassifier

    X, y = pools.load(params["table"])
    train, test = split_folds(TASK, y, params["fold"])
    module, arguments = CANDIDATES[params["candidate"]]
    options = {**STANDING, **({"max_iter": 10} if quick else {})}
    net = RegularizedNetClassifier(module, random_state=SEED, n_threads=1, **options,
                                   **{f"module__{k}": v for k, v in arguments.items()})  # fmt: skip
    model = with_preprocessing(net, X)
    result = fit_and_score(model, X, y, train, test)
    return {**result, "n_iter": int(model[-1].n_iter_)}


def report(cache, tables, fold_ids, fingerprint, argv, quick: bool) -> Report:
    rep = Report("Classification: RealMLP's ingredients on the default classifier (choose tables)"
                 + (" (quick mode: a test of the code, not a result)" if quick else ""),
                 seeds=[SEED], module=__spec__.name, argv=argv)  # fmt: skip
    names = list(CANDIDATES)
    summary = scores_of(cache, tables, fold_ids, names, "candidate")
    done = list(summary["scores"][REFERENCE])
    rep.add("## Setup", (
        f"{len(tables)} classification tables (choose set of `benchmarks/tabular_pools.py`), the "
        "folds and preprocessing of the anchors study, `random_state=0`, one thread. Each "
        "candidate is `RegularizedNetClassifier(module)` with the default classifier's training "
        "settings: " + ", ".join(f"`{k}={v!r}`" for k, v in STANDING.items())
        + f". Tables complete for every candidate: {len(done)} of {len(tables)}. These choose "
        "tables are the only ones used: a candidate that led here would go on to the confirm "
        "tables, which no choice looks at, before any default changed."))  # fmt: skip
    if not done:
        return rep
    means_of = {n: np.mean([np.mean(v) for v in summary["scores"][n].values()]) for n in names}
    order = sorted(names, key=lambda n: -means_of[n])
    header, means, diffs = regime_rows(TASK, summary["scores"], REFERENCE, order, done)
    base_cpu = summary["cpu"][REFERENCE]
    for row, n in zip(diffs, order):
        row += [f"{summary['cpu'][n]:.0f}", f"{summary['cpu'][n] / base_cpu:.2f}x",
                f"{np.nanmean(summary['epochs'][n]):.0f}"]  # fmt: skip
    rep.add("## Mean accuracy per regime (number of tables)", markdown_table(header, means))
    rep.add("## Paired differences against the default classifier's network", (
        "Each candidate's accuracy minus that of the plain MLP on the same (table, fold); the "
        "standard error over those cells in brackets. CPU seconds of all its fits, as a multiple "
        "of the plain MLP's, and the mean epochs trained.\n\n"
        + markdown_table([*header, "CPU s", "CPU ratio", "epochs"], diffs)))  # fmt: skip
    if len(done) == len(tables):
        gains = {n: [a - b for t in done for a, b in zip(summary["scores"][n][t],
                                                          summary["scores"][REFERENCE][t])]
                 for n in names if n != REFERENCE}  # fmt: skip
        leading = [n for n, g in gains.items()
                   if np.mean(g) > 0 and summary["cpu"][n] <= CPU_LIMIT * base_cpu]  # fmt: skip
        best = max(gains, key=lambda n: np.mean(gains[n]))
        mean_se = {n: f"{100 * np.mean(g):+.2f} points (SE {100 * standard_error(g):.2f})"
                   for n, g in gains.items()}  # fmt: skip
        verb = "leads" if len(leading) == 1 else "lead"
        within = (f"{len(leading)} of {len(gains)} candidates {verb} the plain MLP within "
                  f"{CPU_LIMIT:g}x its CPU" if leading else "no candidate leads the plain MLP "
                  f"within {CPU_LIMIT:g}x its CPU")  # fmt: skip
        rep.add("## What it says", (
            f"The largest mean gain is {mean_se[best]}, by {best}; {within}. Each against the "
            "plain MLP: " + "; ".join(f"{n} {t}" for n, t in mean_se.items()) + "."))  # fmt: skip
    rows = [[t, pools.ROWS[TASK][t]] + [f"{np.mean(summary['scores'][n][t]):.4f}" for n in order]
            for t in done]  # fmt: skip
    rep.add("## accuracy per table", markdown_table(["table", "rows", *order], rows))
    keys = [cell_key({"table": t, "fold": f, "candidate": n})
            for t in tables for f in fold_ids for n in names]  # fmt: skip
    rep.add("## Provenance", provenance(cache, keys, fingerprint))
    return rep


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="2 small tables, 1 fold, 10 epochs (the suite's run)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the results")
    add_arguments(parser)
    args = parser.parse_args(argv)
    suffix = "_quick" if args.quick else ""
    tables = QUICK_TABLES[TASK] if args.quick else pools.CHOOSE[TASK]
    fold_ids = QUICK_FOLDS if args.quick else FOLDS[TASK]
    fingerprint = code_fingerprint([__file__, "benchmarks/tabular_methods.py",
                                    "benchmarks/tabular_pools.py", "benchmarks/_cells.py",
                                    "sklearn_regpen"])  # fmt: skip

    def plan(cache) -> list[dict]:
        order = sorted((pools.ROWS[TASK][t], t) for t in tables)
        return [{"table": t, "fold": f, "candidate": c}
                for _, t in order for f in fold_ids for c in CANDIDATES]  # fmt: skip

    study = Study(cache=args.out / f"tabular_ingredients{suffix}_cache.json", run=run_cell,
                  plan=plan, fingerprint=fingerprint, options={"quick": args.quick},
                  label="tabular ingredients",
                  describe=lambda p, r: f"score {r['score']:.4f}")  # fmt: skip
    cache, outcome = study.execute(args)
    rep = report(cache, tables, fold_ids, fingerprint, argv, args.quick)
    rep.write(args.out / f"tabular_ingredients{suffix}.md")
    return 1 if outcome.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
