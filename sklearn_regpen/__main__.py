"""``python -m sklearn_regpen``: the command line of :mod:`sklearn_regpen.cli` (regpen-sweep)."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main(prog="python -m sklearn_regpen"))
