"""What the noise + Jacobian techreport benchmarks share: data, the five models, their selection.

``noise_jacobian_table.py`` chooses each penalty's ``alpha`` / ``epsilon`` on a validation split
and saves the choice as ``noise_jacobian_params.json`` in its output folder; the robustness,
activation and attack benchmarks read that file (``--params``) or, without it, make the same
choice themselves. Models are then refitted on the whole training split with each seed: fixed
seeds make the refits identical to those of the table.
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split

from sklearn_regpen import RegularizedMLPClassifier
from sklearn_regpen.datasets import load_mnist

from ._report import RESULTS

PENALTIES = ("none", "l2", "noise", "jacobian", "noisy_jacobian")
LABELS = {
    "none": "MLP",
    "l2": "MLP + L2",
    "noise": "MLP + Noise",
    "jacobian": "MLP + Jacob",
    "noisy_jacobian": "MLP + N + J",
}
#: techreport Table 1, test error in %
PAPER = {
    "none": (1.82, 2.01, 5.74),
    "l2": (1.66, 2.20, 5.6),
    "noise": (1.33, 1.7, 4.85),
    "jacobian": (1.31, 1.65, 4.85),
    "noisy_jacobian": (1.19, 1.51, 4.6),
}
PAPER_COLUMNS = ("MNIST", "MNIST-BINARY", "USPS")
PARAMS_FILE = "noise_jacobian_params.json"

#: candidate settings per penalty; inputs are pixels in [0, 1], so epsilon is in pixel units
FULL_GRID = {
    "none": [{}],
    "l2": [{"alpha": a} for a in (1e-3, 1e-2, 1e-1, 1.0)],
    "noise": [{"epsilon": e} for e in (0.05, 0.1, 0.2, 0.3)],
    "jacobian": [{"alpha": a} for a in (0.01, 0.1, 1.0, 10.0)],
    "noisy_jacobian": [
        {"alpha": a, "epsilon": e} for a in (0.01, 0.1, 1.0, 10.0) for e in (0.1, 0.3)
    ],
}
QUICK_GRID = {
    "none": [{}],
    "l2": [{"alpha": 1e-2}],
    "noise": [{"epsilon": 0.1}, {"epsilon": 0.3}],
    "jacobian": [{"alpha": 0.1}, {"alpha": 1.0}],
    "noisy_jacobian": [{"alpha": 0.1, "epsilon": 0.1}, {"alpha": 1.0, "epsilon": 0.3}],
}


def parser(description: str, default_name: str) -> argparse.ArgumentParser:
    """The options every techreport benchmark takes."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        help="folder with MNIST's four IDX files (gzipped or not); "
        "default: scikit-learn's digits, pixels scaled to [0, 1]",
    )
    p.add_argument("--quick", action="store_true", help="small nets, few epochs: a smoke test")
    p.add_argument("--out", type=Path, default=RESULTS, help="folder for the Markdown and PNGs")
    p.add_argument("--name", default=default_name, help="file name of the Markdown result")
    p.add_argument(
        "--seeds", type=int, nargs="+", default=None, help="default 0 1 2 3 4 (quick: 0)"
    )
    p.add_argument(
        "--hidden",
        type=int,
        nargs="+",
        default=None,
        help="hidden widths; default 256 on digits, 1000 1000 on MNIST, 32 quick",
    )
    p.add_argument("--max-iter", type=int, default=None, help="epochs; default 100 (quick: 40)")
    p.add_argument("--max-rows", type=int, default=None, help="use only this many training rows")
    p.add_argument(
        "--params",
        type=Path,
        default=None,
        help=f"chosen settings (default: OUT/{PARAMS_FILE} when it exists)",
    )
    return p


def settings(args) -> dict:
    mnist = args.data is not None
    return {
        "seeds": args.seeds or ([0] if args.quick else [0, 1, 2, 3, 4]),
        "hidden": tuple(
            args.hidden or ((32,) if args.quick else (1000, 1000) if mnist else (256,))
        ),
        "max_iter": args.max_iter or (40 if args.quick else 100),
        "grid": QUICK_GRID if args.quick else FULL_GRID,
    }


def load_data(args):
    """``X_train, y_train, X_test, y_test, description``; pixels in [0, 1] either way."""
    if args.data is not None:
        X_train, y_train, X_test, y_test = load_mnist(args.data)
        name = "MNIST"
    else:
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(
            X / 16.0, y, test_size=0.5, stratify=y, random_state=0
        )
        name = "digits"
    if args.quick:
        X_train, y_train = X_train[:500], y_train[:500]
        X_test, y_test = X_test[:300], y_test[:300]
    if args.max_rows:
        X_train, y_train = X_train[: args.max_rows], y_train[: args.max_rows]
    description = (
        f"{name}: {len(X_train)} training rows, {len(X_test)} test rows, "
        f"{X_train.shape[1]} pixels in [0, 1]"
    )
    return X_train, y_train, X_test, y_test, description


def make_model(penalty: str, params: dict, setup: dict, seed: int) -> RegularizedMLPClassifier:
    """The techreport's model: a tanh MLP trained with Adam, one torch thread."""
    return RegularizedMLPClassifier(
        hidden_layer_sizes=setup["hidden"],
        activation="tanh",
        penalty=penalty,
        max_iter=setup["max_iter"],
        n_threads=1,
        random_state=seed,
        early_stopping=False,  # the techreport's fixed epoch budget on every training row
        **{"alpha": 1e-4, "learning_rate_init": 3e-3, **params},
    )


def fit(model, X, y):
    """Fit, without the warning a fixed epoch budget raises by design."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def select(X_train, y_train, setup: dict, log=print) -> tuple[dict, list]:
    """Each penalty's setting with the lowest validation error (20% of the training rows).

    Returns ``{penalty: params}`` and the rows ``(penalty, params, validation error, validation
    log-loss)``. A validation error moves in steps of one row, so ties are common: they go to
    the lower validation log-loss.
    """
    X_fit, X_val, y_fit, y_val = train_test_split(
        X_train, y_train, test_size=0.2, stratify=y_train, random_state=0
    )
    chosen, rows = {}, []
    for penalty in PENALTIES:
        best = None
        for params in setup["grid"][penalty]:
            model = fit(make_model(penalty, params, setup, seed=0), X_fit, y_fit)
            error = 1 - model.score(X_val, y_val)
            loss = log_loss(y_val, model.predict_proba(X_val), labels=model.classes_)
            rows.append((penalty, params, error, loss))
            log(f"  {penalty:15s} {params}: validation error {100 * error:.2f}%, loss {loss:.4f}")
            if best is None or (error, loss) < best[1]:
                best = (params, (error, loss))
        chosen[penalty] = best[0]
    return chosen, rows


def chosen_params(args, X_train, y_train, setup, log=print) -> dict:
    """The settings chosen by ``noise_jacobian_table.py``, or a fresh selection without them."""
    path = args.params or (args.out / PARAMS_FILE)
    if path.is_file():
        saved = json.loads(path.read_text())
        if saved.get("setup") == describe(setup):
            log(f"settings from {path}")
            return saved["chosen"]
        log(f"{path} was made with other settings; choosing again")
    log("choosing alpha / epsilon on a validation split")
    return select(X_train, y_train, setup, log)[0]


def describe(setup: dict) -> dict:
    """The parts of ``setup`` that decide the selection, as JSON-friendly values."""
    return {"hidden": list(setup["hidden"]), "max_iter": setup["max_iter"]}


def save_params(out: Path, chosen: dict, setup: dict) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / PARAMS_FILE
    path.write_text(json.dumps({"setup": describe(setup), "chosen": chosen}, indent=2) + "\n")
    return path


def fit_chosen(chosen: dict, setup: dict, X_train, y_train, penalties=PENALTIES, log=print):
    """``{penalty: [model per seed]}``, each refitted on the whole training split."""
    models = {}
    for penalty in penalties:
        models[penalty] = []
        for seed in setup["seeds"]:
            model = fit(make_model(penalty, chosen[penalty], setup, seed), X_train, y_train)
            models[penalty].append(model)
            log(f"  fitted {penalty} {chosen[penalty]} seed {seed} ({model.n_iter_} epochs)")
    return models


def params_text(params: dict) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in params.items()) or "-"


def mean_sd(values) -> str:
    values = 100 * np.asarray(values, dtype=float)
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{values.mean():.2f} ± {values.std(ddof=1):.2f}"
