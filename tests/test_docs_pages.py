"""Every code block on every page of the documentation runs, as a reader would paste them.

Each page's blocks run in order, in one namespace and one fresh working directory per page:

- ``python`` blocks are executed;
- ``bash`` blocks are read command by command: the package's command line
  (``python -m sklearn_regpen``, ``regpen-sweep``) runs for real in a subprocess, with
  :data:`QUICK` appended to its arguments (fewer epochs and folds); a benchmark's
  command (``python -m benchmarks.NAME ...``) is checked by parsing its arguments with the
  benchmark's own parser, not run (each takes minutes to hours; their quick runs are tested in
  ``tests/test_benchmarks.py`` and beside it); ``python -m pytest`` is the suite running this;
- a block that can run only on the reader's side (a cluster address, an install from PyPI, a
  browser) is preceded on the page by a MyST comment ``% not run by the tests: <why>`` and the
  page says so in its text; the test prints it with that reason instead of running it, and a
  marked block whose reason is empty fails.

A bash block followed by ``{literalinclude} outputs/NAME.txt`` shows that file as its output: the
file holds ``$ `` and the block's command, then what the command printed. The test checks that the
recorded command is the block's and that the recorded table's header is what the command prints
now; ``pytest tests/test_docs_pages.py --write-docs`` reruns such commands at the page's own
settings (no :data:`QUICK`) and rewrites the files.

Blocks without a language are output shown on the page, not code. The API pages' examples are
the docstrings' doctests, which ``--doctest-modules`` runs.
"""

from __future__ import annotations

import argparse
import importlib
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(
    path
    for path in DOCS.rglob("*.md")
    if not {"_generated", "_build", "generated"} & set(path.relative_to(DOCS).parts)
)
SKIP_MARK = re.compile(r"^%\s*not run by the tests:(.*)$")
FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[A-Za-z{}-]*)\s*(?P<arg>.*)$")
#: seconds after which a command of a page is stopped (a hung command, not a slow one: how long
#: the pages take is measured and reported, not asserted)
COMMAND_TIMEOUT = 600
#: appended to the command line's arguments in the suite: the page's run, shortened
QUICK = ["--max-iter", "10", "--cv", "2"]
#: and for the bundled datasets, fewer rows and strengths
QUICK_BUNDLED = ["--per-class", "20", "--grid-size", "1"]


@dataclass
class Block:
    lang: str
    arg: str  # what follows the language on the fence line (a directive's argument)
    code: str
    line: int  # of the opening fence, 1-based
    skip: str | None  # the reason given on the page, when the block is marked


def code_blocks(text: str) -> list[Block]:
    """The fenced blocks of a MyST page, in order, with the skip mark of the line before each."""
    lines = text.splitlines()
    blocks, index = [], 0
    while index < len(lines):
        fence = FENCE.match(lines[index])
        if not fence:
            index += 1
            continue
        indent, start = len(fence["indent"]), index
        body = []
        index += 1
        while index < len(lines) and not re.match(rf"^ {{{indent}}}```\s*$", lines[index]):
            body.append(lines[index][indent:])
            index += 1
        index += 1
        previous = [line.strip() for line in lines[:start] if line.strip()]
        mark = SKIP_MARK.match(previous[-1]) if previous else None
        skip = mark.group(1).strip() if mark else None
        blocks.append(Block(fence["lang"], fence["arg"].strip(), "\n".join(body) + "\n",
                            start + 1, skip))  # fmt: skip
    return blocks


def commands(script: str) -> list[list[str]]:
    """A bash block's commands as argument lists: continuation lines joined, comments dropped,
    ``NAME=value`` assignments expanded into the commands after them."""
    variables: dict[str, str] = {}
    result = []
    for line in script.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue
        assignment = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", words[0], re.DOTALL)
        if assignment and len(words) == 1:
            variables[assignment[1]] = assignment[2]
            continue
        result.append([re.sub(r"\$\{?(\w+)\}?", lambda m: variables[m[1]], w) for w in words])
    return result


class _Parsed(Exception):
    """Raised by the patched parser once a benchmark's arguments have parsed."""


def check_benchmark_arguments(module: str, argv: list[str], monkeypatch) -> None:
    parse = argparse.ArgumentParser.parse_args

    def parse_then_stop(self, args=None, namespace=None):
        parse(self, args, namespace)  # a wrong argument exits with status 2 and its message
        raise _Parsed

    with monkeypatch.context() as patch:
        patch.setattr(argparse.ArgumentParser, "parse_args", parse_then_stop)
        with pytest.raises(_Parsed):
            importlib.import_module(module).main(argv)


def run_command(words: list[str], where: Path, monkeypatch, at: str, full: bool = False) -> str:
    """Run (or, for a benchmark, check) one command of a bash block; return what it printed.

    ``full``: at the page's own settings, for the recorded outputs; otherwise shortened by
    :data:`QUICK`."""
    shown = shlex.join(words)
    if words[0] == ".ci/env":
        words = words[1:]
    if words[0] == "regpen-sweep":
        words = ["python", "-m", "sklearn_regpen", *words[1:]]
    assert words[:2] == ["python", "-m"], f"{at}: no rule runs {shown!r}"
    module, argv = words[2], words[3:]
    if module == "pytest":
        return ""  # the test suite, which is running this test
    if module.startswith("benchmarks."):
        check_benchmark_arguments(module, argv, monkeypatch)
        return ""
    assert module == "sklearn_regpen", f"{at}: no rule runs {shown!r}"
    if not full and argv[:1] != ["predict"]:  # predict trains nothing: nothing to shorten
        argv = [*argv, *QUICK, *([] if "--csv" in argv else QUICK_BUNDLED)]
    done = subprocess.run([sys.executable, "-m", module, *argv], cwd=where, capture_output=True,
                          text=True, timeout=COMMAND_TIMEOUT)  # fmt: skip
    assert done.returncode == 0, f"{at}: {shown}\n{done.stderr[-3000:]}"
    return done.stdout


def table_header(output: str) -> list[str]:
    """The ranked table's columns, as its header line names them."""
    line = next(line for line in output.splitlines() if "penalty" in line and "alpha" in line)
    return re.split(r"\s*[┃│|]\s*|\s{2,}", line.strip(" ┃│|"))


def test_blocks_are_found():
    """The parser sees the blocks the pages hold (a fence it missed would go untested)."""
    fences = sum(len(re.findall(r"^ *```(?:python|bash)\s*$", p.read_text(), re.M)) for p in PAGES)
    found = [b for p in PAGES for b in code_blocks(p.read_text()) if b.lang in ("python", "bash")]
    assert len(found) == fences > 20
    assert commands('M="a,b"\npython -m x --m "$M" \\\n  --k 1  # note\n') == [
        ["python", "-m", "x", "--m", "a,b", "--k", "1"]
    ]


def check_weights_page(namespace: dict) -> None:
    """The weighted search scores each fold with the weights: finite scores, and the refitted
    search's score is the weighted accuracy."""
    import numpy as np
    import sklearn
    from sklearn.metrics import accuracy_score

    search, X, y, w = (namespace[k] for k in ("search", "X", "y", "w"))
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all() and len(scores) == 2, scores
    assert search.best_index_ == int(np.argmax(scores))
    with sklearn.config_context(enable_metadata_routing=True):
        score = search.score(X, y, sample_weight=w)
    predicted = search.predict(X)
    assert score == pytest.approx(accuracy_score(y, predicted, sample_weight=w))
    assert score != pytest.approx(accuracy_score(y, predicted))  # the weights count


#: what a page's example must show, checked on its namespace once its blocks have run
CHECKS = {"user_guide/weights.md": check_weights_page}


def recorded_output(page: Path, blocks: list[Block], index: int) -> Path | None:
    """The file a ``{literalinclude} outputs/...`` right after block ``index`` shows, if any."""
    following = blocks[index + 1] if index + 1 < len(blocks) else None
    if following and following.lang == "{literalinclude}" and "outputs/" in following.arg:
        return page.parent / following.arg
    return None


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
def test_page_code_blocks_run_in_order(page, tmp_path, monkeypatch, request):
    name = str(page.relative_to(ROOT))
    write = request.config.getoption("--write-docs")
    blocks = code_blocks(page.read_text())
    unknown = [b for b in blocks if b.lang not in ("", "python", "bash")]
    assert all(b.lang.startswith("{") for b in unknown), [(b.lang, b.line) for b in unknown]
    if not any(b.lang in ("python", "bash") for b in blocks):
        pytest.skip("no code block on this page")
    monkeypatch.chdir(tmp_path)  # a block that writes files cannot write into the repository
    monkeypatch.syspath_prepend(str(ROOT))  # the benchmarks package of this checkout
    namespace: dict = {"__name__": "__docs__"}
    skipped = []
    started = time.perf_counter()
    for index, block in enumerate(blocks):
        at = f"{name}:{block.line}"
        if block.lang not in ("python", "bash"):
            continue
        if block.skip is not None:
            assert block.skip, f"{at}: a block marked not to run must say why"
            skipped.append(f"line {block.line}: {block.skip}")
            continue
        if block.lang == "python":
            code = compile(block.code, f"{name}, block at line {block.line}", "exec")
            exec(code, namespace)  # noqa: S102 - running the page is the point
            continue
        record = recorded_output(page, blocks, index)
        for words in commands(block.code):
            output = run_command(words, tmp_path, monkeypatch, at, full=write and bool(record))
            if record is None:
                continue
            command = "$ " + shlex.join(words)
            if write:
                record.parent.mkdir(exist_ok=True)
                record.write_text(f"{command}\n{output}")
                continue
            assert record.is_file(), f"{at}: no {record}; run pytest {__file__} --write-docs"
            recorded = record.read_text()
            assert recorded.splitlines()[0] == command, (
                f"{at}: {record.name} was recorded for another command; rerun with --write-docs"
            )
            assert table_header(recorded) == table_header(output), f"{at}: {record.name} is stale"
    check = CHECKS.get(page.relative_to(DOCS).as_posix())
    if check:
        check(namespace)
    print(f"{name}: {time.perf_counter() - started:.1f} s")
    if skipped:
        print(f"{name}: not run, as the page says: " + "; ".join(skipped))
