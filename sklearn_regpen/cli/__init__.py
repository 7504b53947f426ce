"""The command line: ``regpen-sweep`` (or ``python -m sklearn_regpen``), a penalty sweep with a
ranked table, and ``regpen-sweep predict``, predictions of a model the sweep saved.

The modules follow what the command does: ``options`` (the parser and every check made before
training), ``table`` (reading and splitting the table), ``sweep`` (the search and the refits),
``report`` (the ranked table and the files of ``--out``), ``predict`` (the ``predict`` command).
The command line is the interface; these modules' Python names may change.
"""

from __future__ import annotations

import sys
import time

from rich.console import Console

from . import predict
from .errors import OptionError
from .options import build_parser, parse_sweep_args
from .report import render, summary, write_results
from .sweep import sweep

__all__ = ["main"]


def main(argv=None, prog: str = "regpen-sweep") -> int:
    """Run the command with the arguments ``argv`` (default: the process's own); ``prog`` is its
    name in help and messages. Returns the exit status; bad options exit with status 2."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["predict"]:
        return predict.main(argv[1:], prog=f"{prog} predict")
    return sweep_main(argv, prog)


def sweep_main(argv, prog: str = "regpen-sweep") -> int:
    parser = build_parser(prog)
    args = parse_sweep_args(argv, parser)
    console = Console()
    started = time.perf_counter()
    try:
        result = sweep(args, console)
    except OptionError as error:
        parser.error(str(error))
    console.print(render(result.rows, args.top, result.scoring))
    console.print(summary(result), soft_wrap=True)
    if args.out is not None:
        paths = write_results(result, args.out)
        console.print(f"wrote {', '.join(str(p) for p in paths)}", soft_wrap=True)
    console.print(f"total wall time {time.perf_counter() - started:.0f}s")
    return 0
