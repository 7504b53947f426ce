"""The README runs as written: its Python blocks, in order, in one namespace; it stays short, and
CI runs exactly its test command."""

from __future__ import annotations

import re
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
#: seconds all the README's blocks may take together on a 2-core machine
BUDGET = 120


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def test_readme_is_a_door_not_the_house():
    assert len(README.splitlines()) <= 250
    assert len(python_blocks(README)) >= 3


def test_readme_python_blocks_run_in_order(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # a block that writes files cannot write into the repository
    namespace: dict = {"__name__": "__readme__"}
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # every warning a reader would see, once each
        for number, block in enumerate(python_blocks(README), 1):
            code = compile(block, f"README.md, Python block {number}", "exec")
            exec(code, namespace)  # noqa: S102 - running the README is the point
    assert time.perf_counter() - started < BUDGET
    # the one expected warning (short fits stop at max_iter) is silenced, and the README says why
    assert [f"{w.category.__name__}: {w.message}" for w in caught] == []
    printed = capsys.readouterr().out
    accuracy = float(re.search(r"accuracy: ([0-9.]+)", printed).group(1))
    assert accuracy > 0.9, printed


def test_ci_runs_the_readme_test_command():
    run = (ROOT / ".ci" / "run").read_text()
    commands = [line for line in run.splitlines() if line.startswith(".ci/env ")]
    assert commands == [".ci/env python -m pytest"]
    assert re.search(r"^\.ci/env python -m pytest\s", README, flags=re.MULTILINE)
    assert re.search(r"^\.ci/env python -m sklearn_regpen\s", README, flags=re.MULTILINE)


def test_readme_names_the_docs_build_command():
    conf = (ROOT / "docs" / "conf.py").read_text()
    command = "python -m sphinx -W --keep-going -b html docs docs/_build/html"
    assert command in README and command in conf
