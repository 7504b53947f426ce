"""What every experiment benchmark writes next to its table: how to rerun it and on what.

A result file is Markdown: a title, the exact command, the versions, the seeds, the wall time,
then the benchmark's own tables and figure links. ``Report`` gathers these so the benchmarks
write the same header without copying it::

    report = Report("Noise + Jacobian (techreport Table 1)", seeds=[0, 1, 2],
                    module=__spec__.name, argv=argv)
    report.add("## Test error", markdown_table)
    report.figure("robustness.png", fig)          # saved beside the Markdown file
    report.write(results_dir / "table1.md")       # records the wall time since Report() was made
"""

from __future__ import annotations

import platform
import shlex
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def versions() -> str:
    """Python, torch, scikit-learn, skorch and numpy versions, plus the CPU thread count."""
    import numpy
    import sklearn
    import skorch
    import torch

    return (
        f"Python {platform.python_version()}, torch {torch.__version__}, "
        f"scikit-learn {sklearn.__version__}, skorch {skorch.__version__}, "
        f"numpy {numpy.__version__}; {platform.machine()}, torch threads {torch.get_num_threads()}"
    )


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend (benchmarks run without a screen)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A GitHub Markdown table; floats are written as given, so format them first."""
    lines = ["| " + " | ".join(map(str, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    return "\n".join(lines)


class Report:
    """Collect a benchmark's sections and write them under one reproducibility header."""

    def __init__(
        self,
        title: str,
        *,
        seeds: Sequence[int] | str,
        module: str,
        argv: Sequence[str] | None = None,
    ):
        """``module`` is the benchmark's import name (``__spec__.name``, e.g.
        ``benchmarks.speed``) and ``argv`` its options (default ``sys.argv[1:]``): the header's
        command is ``.ci/env python -m MODULE ARGV``."""
        self.title = title
        self.seeds = seeds
        argv = sys.argv[1:] if argv is None else argv
        self.command = shlex.join([".ci/env", "python", "-m", module, *argv])
        self.sections: list[str] = []
        self.figures: list[tuple[str, object]] = []
        self.start = time.perf_counter()
        self.cache_note = ""

    def cached(self, fitted: int, total: int) -> None:
        """Say in the header that this command fitted ``fitted`` of the ``total`` results it
        reports and read the others from a cache: the wall time counts only the former."""
        self.cache_note = f" (fitted {fitted} of the {total} results; the rest from the cache)"

    def add(self, heading: str, body: str) -> None:
        self.sections.append(f"{heading}\n\n{body.strip()}\n")

    def show(self, heading: str, body: str) -> None:
        """``add``, and print the section at once: a long run shows each table when it is done."""
        print(f"{heading}\n\n{body}\n", flush=True)
        self.add(heading, body)

    def figure(self, filename: str, fig, caption: str = "") -> None:
        """Save ``fig`` (a matplotlib figure) beside the report and link it from the file."""
        self.figures.append((filename, fig))
        self.sections.append(f"![{caption or filename}]({filename})\n")

    def write(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        for filename, fig in self.figures:
            fig.savefig(path.parent / filename, dpi=120, bbox_inches="tight")
        wall = time.perf_counter() - self.start
        seeds = self.seeds if isinstance(self.seeds, str) else ", ".join(map(str, self.seeds))
        header = [
            f"# {self.title}",
            "",
            f"- command: `{self.command}`",
            f"- versions: {versions()}",
            f"- seeds: {seeds}",
            f"- wall time: {wall:.0f} s{self.cache_note}",
            "",
        ]
        path.write_text("\n".join(header) + "\n" + "\n".join(self.sections))
        print(f"wrote {path}")
        return path
