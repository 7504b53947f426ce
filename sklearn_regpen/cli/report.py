"""Reporting: the ranked table on the terminal, the one-line summary, and the files of ``--out``.

``--out DIR`` holds ``model.joblib`` (the chosen pipeline, refitted on every training row),
``model.json`` (how its training file was read: what ``predict`` needs to read a new one the same
way), ``results.csv`` and ``results.md`` (the ranked table and the summary).
"""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import pandas as pd
from rich.table import Table

from .. import __version__
from .sweep import Sweep

#: the files of ``--out``
MODEL_FILE, READING_FILE = "model.joblib", "model.json"


def _rank_labels(rows: list[dict]) -> list[str]:
    labels, rank = [], 0
    for r in rows:
        if r["penalty"] is None:
            labels.append("ref")
        else:
            rank += 1
            labels.append(str(rank))
    return labels


def _shown(rows: list[dict], top: int) -> list[tuple[str, dict]]:
    """``(rank, row)`` of the first ``top`` candidates (0: all) and of every reference row."""
    labelled = list(zip(_rank_labels(rows), rows))
    return [(label, r) for label, r in labelled
            if not top or label == "ref" or int(label) <= top]


def _name(row: dict) -> str:
    return row["penalty"] if row["penalty"] is not None else row["model"]


def _cells(label: str, row: dict) -> list[str]:
    return [
        label, _name(row),
        "-" if row["alpha"] is None else f"{row['alpha']:g}",
        "-" if row["epsilon"] is None else f"{row['epsilon']:g}",
        f"{row['cv_mean']:.4f}", f"{row['cv_std']:.4f}", f"{row['fit_seconds']:.2f}",
    ]


def render(rows: list[dict], top: int = 0, scoring: str = "accuracy") -> Table:
    """The ranked table: the first ``top`` candidates (0: all) and the reference rows.

    The chosen candidate (``row["chosen"]``) is bold, the reference rows are dim; there is no
    held-out column, so that nothing invites choosing on the held-out rows.
    """
    table = Table(title=f"Penalty sweep, ranked by cross-validation {scoring}")
    for column in ("#", "penalty", "alpha", "eps", f"CV {scoring}", "± std", "fit s"):
        table.add_column(column, justify="left" if column == "penalty" else "right")
    for label, r in _shown(rows, top):
        style = "bold" if r.get("chosen") else "dim" if label == "ref" else None
        table.add_row(*_cells(label, r), style=style)
    return table


def summary(result: Sweep) -> str:
    """One line: the chosen candidate and its held-out score, then the references'."""
    chosen, data = result.chosen, result.data
    knobs = ", ".join(f"{k}={chosen[k]:g}" for k in ("alpha", "epsilon") if chosen[k] is not None)
    references = ", ".join(f"{r['model']} {r['held_out']:.4f}" for r in result.references)
    return (f"chosen by CV: {chosen['penalty']}{f' ({knobs})' if knobs else ''}, refitted on "
            f"{len(data.y_train)} training rows: held-out {result.scoring} "
            f"{chosen['held_out']:.4f} on {len(data.y_test)} rows; for comparison, {references}")


def write_results(result: Sweep, out: Path) -> list[Path]:
    """The model, how its data were read, and the table, in ``out``; returns their paths."""
    paths = [out / MODEL_FILE, out / READING_FILE, out / "results.csv", out / "results.md"]
    joblib.dump(result.model, paths[0])
    reading = result.data.reading
    paths[1].write_text(json.dumps({
        "csv": reading is not None,
        **(reading or {"task": result.data.task}),
        "scoring": result.scoring,
        "sklearn_regpen": __version__,
    }, indent=2) + "\n", encoding="utf-8")
    columns = ["rank", "model", "penalty", "alpha", "epsilon", "cv_mean", "cv_std",
               "fit_seconds", "chosen", "held_out"]
    table = pd.DataFrame(
        [{"rank": label, **r} for label, r in _shown(result.rows, 0)]
    ).reindex(columns=columns)
    table.to_csv(paths[2], index=False)
    lines = [
        f"| # | penalty | alpha | eps | CV {result.scoring} | ± std | fit s |",
        "|--:|:--|--:|--:|--:|--:|--:|",
    ]
    for label, r in _shown(result.rows, 0):
        cells = _cells(label, r)
        if r["chosen"]:
            cells[1] = f"**{cells[1]}**"
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", summary(result), ""]
    paths[3].write_text("\n".join(lines), encoding="utf-8")
    return paths
