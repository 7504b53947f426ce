"""Predicting: ``predict --model DIR --csv new.csv --out predictions.csv``.

The model directory is one the sweep wrote with ``--out``: ``model.joblib``, and ``model.json``,
which says how the training file was read (the target, the feature columns, the missing-cell
markers of ``--na-values``). The new file is read the same way, its feature columns are taken by
name (a target column, or any other extra column, is left out), and the predictions are written
as a CSV file with one column, named after the target, one row per row of the new file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import joblib
import pandas as pd
from rich.console import Console
from rich.markup import escape

from .errors import OptionError
from .options import HelpFormatter, make_out_dir
from .report import MODEL_FILE, READING_FILE
from .table import read_csv_table

DESCRIPTION = """\
Predict the target of every row of a CSV file with a model that the sweep ("{sweep} ... --out
DIR") saved. The file is read as the training file was: with the same --na-values markers, its
feature columns taken by name; the target column and any other extra column may be there and are
left out.

example:
  %(prog)s --model results/ --csv new.csv --out predictions.csv"""

EPILOG = """\
predictions.csv has one column, named after the target, and one row per row of the new file, in
the same order. Paths are relative to the current directory. The model, the file and the output
path are checked before anything is written: a problem ends the command with a message and exit
status 2."""


def build_parser(prog: str = "regpen-sweep predict") -> argparse.ArgumentParser:
    sweep = prog.removesuffix(" predict")
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION.format(sweep=sweep),
                                     epilog=EPILOG, formatter_class=HelpFormatter)
    parser.add_argument("--model", type=Path, metavar="DIR", required=True,
                        help="the directory that the sweep's --out wrote (model.joblib and "
                             "model.json)")
    parser.add_argument("--csv", type=Path, metavar="FILE", required=True,
                        help="the rows to predict, a CSV file with a header row")
    parser.add_argument("--out", type=Path, metavar="FILE", required=True,
                        help="the CSV file to write the predictions to (replaced if it exists)")
    return parser


def read_model_dir(directory: Path) -> tuple[dict, object]:
    """``(reading, model)`` from a directory the sweep wrote; :class:`OptionError` if it is not
    one, or holds a model of a bundled table. The path of its model.joblib names it too."""
    if directory.is_file() and directory.name == MODEL_FILE:
        directory = directory.parent
    if not directory.is_dir():
        raise OptionError(f"--model: {directory} is not a directory (give the directory that the "
                          "sweep's --out wrote)")
    missing = [name for name in (MODEL_FILE, READING_FILE) if not (directory / name).is_file()]
    if missing:
        raise OptionError(f"--model: {directory} has no {' and no '.join(missing)}; give the "
                          "directory that the sweep's --out wrote")
    try:
        reading = json.loads((directory / READING_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise OptionError(f"--model: {directory / READING_FILE} cannot be read: {error}") from None
    if not reading.get("csv"):
        raise OptionError(f"--model: the model in {directory} was fitted on a bundled table, not "
                          f"a CSV file; load {MODEL_FILE} with joblib and call its predict")
    try:
        model = joblib.load(directory / MODEL_FILE)
    except Exception as error:  # unpickling can raise almost anything
        raise OptionError(f"--model: {directory / MODEL_FILE} cannot be loaded: "
                          f"{type(error).__name__}: {error}") from None
    return reading, model


def features(table: pd.DataFrame, reading: dict, path: Path) -> tuple[pd.DataFrame, list]:
    """``(X, left_out)``: the model's feature columns of ``table``, in training order, and the
    names of the extra columns left out."""
    columns = reading["columns"]
    by_name = {str(c): c for c in table.columns}
    missing = [c for c in columns if c not in by_name]
    if missing:
        raise OptionError(f"--csv {path}: the model needs the columns {missing}, which the file "
                          f"lacks; its columns are {[str(c) for c in table.columns]}")
    left_out = [name for name in by_name if name not in set(columns)]
    X = table[[by_name[c] for c in columns]]
    X.columns = columns
    return X, left_out


def check_out_file(out: Path) -> None:
    if out.is_dir():
        raise OptionError(f"--out: {out} is a directory; give a file name, e.g. "
                          f"{out / 'predictions.csv'}")
    make_out_dir(out.parent if str(out.parent) else Path("."), option="--out")


def main(argv=None, prog: str = "regpen-sweep predict") -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    console = Console()
    try:
        reading, model = read_model_dir(args.model)
        table = read_csv_table(args.csv, reading["na_values"])
        X, left_out = features(table, reading, args.csv)
        check_out_file(args.out)
        try:
            predictions = model.predict(X)
        except ValueError as error:
            raise OptionError(f"--csv {args.csv}: {error}") from None
    except OptionError as error:
        parser.error(str(error))
    target = reading["target"]
    pd.DataFrame({target: predictions}).to_csv(args.out, index=False)
    ignored = [c for c in left_out if c != target]
    if ignored:
        console.print(f"[yellow]note[/]: columns the model does not use, left out: "
                      f"{escape(str(ignored))}", soft_wrap=True)
    console.print(f"predicted {target!r} ({reading['task']}) for {len(predictions)} rows of "
                  f"{escape(str(args.csv))}; wrote {escape(str(args.out))}", soft_wrap=True)
    return 0
