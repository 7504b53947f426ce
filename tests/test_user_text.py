"""Text a user reads says what was run, on what data and what it shows, never how the project was
built: no tracker numbers, no word of the machines or people it was built with, no path that only
the developers' checkout has.

Checked: the README, the changelog (the docs site shows it), every docs source page, the package's
code (docstrings, messages, the command line's help), the notebooks, the benchmark scripts (their
help and docstrings) and the benchmark reports the docs site shows. Not checked: ``tests/`` (for
developers) and ``CONTRIBUTING.md`` (for contributors), and the site's build folders, which copy
the files above.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: the phrases that speak of the project's history or its machines
HISTORY = re.compile(
    r"\bissue [0-9]+|\bissue's|\(issue\)|\bseeds?'(?!\])|shared/|GPU was lent|lent to this work"
    r"|developers' (jobs|benchmarks)|shared by \w+ developers|our (shared|otherwise idle) ",
    re.IGNORECASE,
)
BUILT = {"_generated", "generated", "_build", "__pycache__"}


def user_files() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "CHANGELOG.md"]
    files += [p for p in (ROOT / "docs").rglob("*") if p.suffix in (".md", ".rst", ".py")]
    files += (ROOT / "sklearn_regpen").rglob("*.py")
    files += (ROOT / "examples").glob("*.ipynb")
    files += (ROOT / "benchmarks").glob("*.py")
    files += (ROOT / "benchmarks" / "results").rglob("*.md")
    return sorted(p for p in files if not BUILT & set(p.relative_to(ROOT).parts))


def test_the_pattern_catches_what_it_should():
    for phrase in ["(issue 16: 28 tables", "Issue 7's tables", "the seeds' experiments",
                   "../shared/data/mnist", "no GPU was lent", "the issue's loop",
                   "shared by four developers", "on our shared 2-core machine"]:  # fmt: skip
        assert HISTORY.search(phrase), phrase
    for phrase in ["setup['seeds']", "over 3 seeds, mean", "a shared machine", "tissue 4"]:
        assert not HISTORY.search(phrase), phrase


def test_user_text_has_no_project_history():
    files = user_files()
    assert len(files) > 80
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}"
        for path in files
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if HISTORY.search(line)
    ]
    assert not found, "project history in user text:\n" + "\n".join(found)
