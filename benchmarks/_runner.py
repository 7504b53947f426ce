"""The experiment runner every study of ``benchmarks/`` runs its fits through.

A study is a list of *cells*: one fit each, described by a JSON-able dict of parameters (the data
slice, the estimator's settings, the seed). The runner

* runs the cells that are not yet done, ``--jobs`` of them at once in separate processes, and
  writes each result to the study's cache file the moment it is known (so a stopped run loses at
  most the cells that were running);
* stops cleanly between cells once ``--budget`` minutes have passed (running cells finish);
* shows a progress bar (cells done, cells left, estimated time left) and one line per finished
  cell, which is what a log file of a background run keeps;
* lets the report and figures be regenerated from the cache alone (``--report-only``).

Each cached result is keyed by its parameters and stamped with a *fingerprint* of the code that
produced it (:func:`code_fingerprint`: the study's module and the package, docstrings and comments
left out, plus the torch version). A cell counts as done only at the current fingerprint. When
the code changes in a way that should not change any result (a refactor, a new option that is off
by default), ``--adopt N`` refits ``N`` cells of each older fingerprint and, if every compared
field comes out identical (or, for a study that sets ``rtol``, equal to that relative tolerance:
another CPU's kernels round a long training differently), stamps the rest of that fingerprint's
cells with the current one instead of refitting them all; otherwise they are refitted as the run
goes on. ``--report-only`` reads every cached result whatever its fingerprint, and the report
says which code made which.

Studies with a second phase (test seeds of the setting chosen on validation) give the runner a
function of the cache that returns the cells to run; it is asked again whenever a worker is free,
so a later phase starts as soon as what it depends on is cached.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import importlib
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "sklearn_regpen"


# -- what ran the cells --------------------------------------------------------------------------
def _source_digest(path: Path) -> str:
    """The code of one Python file without its docstrings and comments (its AST): editing prose
    does not change a fingerprint, editing code does."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()


def code_fingerprint(paths: Iterable[Path | str], *, exclude: Sequence[str] = ()) -> str:
    """A short hash of the code in ``paths`` (files, or folders of ``*.py`` files, relative to the
    repository or absolute), leaving out files whose path relative to the repository starts with
    any of ``exclude``; the torch version is part of it (its kernels decide the numbers)."""
    import torch

    files = []
    for path in map(Path, paths):
        path = path if path.is_absolute() else REPO / path
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    digest = hashlib.sha256(f"torch {torch.__version__}".encode())
    for file in files:
        relative = file.relative_to(REPO).as_posix()
        if any(relative.startswith(prefix) for prefix in exclude):
            continue
        digest.update(f"{relative}:{_source_digest(file)}".encode())
    return digest.hexdigest()[:12]


def git_commit() -> str:
    """The repository's commit, with ``+changes`` when the work tree differs from it."""

    def git(*args):  # fmt: skip
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout

    commit = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    return commit + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")


# -- the cache -----------------------------------------------------------------------------------
def cell_key(params: dict) -> str:
    """The cache key of a cell: its parameters as canonical JSON."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"))


class Cache:
    """A study's results, one JSON file: ``{key: record}``, a record being the cell's
    ``params``, its ``result``, the ``fingerprint`` and ``commit`` of the code that ran it, and
    its ``cpu_s`` / ``wall_s``. Written atomically after every cell, sorted, one record a few
    lines, so that the file diffs and merges cleanly in git.

    Each record's text is kept once written, so that storing a cell serializes that cell only:
    with thousands of cached cells, writing the whole file from scratch after every cell cost
    more than the small fits it stored. Code that changes records in place passes their keys to
    :meth:`save`."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.records: dict[str, dict] = (
            json.loads(self.path.read_text()) if self.path.exists() else {}
        )
        self._texts: dict[str, str] = {}  # key -> the record's lines in the file

    def get(self, params: dict) -> dict | None:
        return self.records.get(cell_key(params))

    def result(self, params: dict, fingerprint: str | None = None) -> dict | None:
        """The cached result of ``params`` (at ``fingerprint`` only, when given), or None."""
        record = self.get(params)
        if record is None or (fingerprint is not None and record["fingerprint"] != fingerprint):
            return None
        return record["result"]

    def put(self, params: dict, record: dict) -> None:
        key = cell_key(params)
        self.records[key] = record
        self.save([key])

    def save(self, changed: Iterable[str] | None = None) -> None:
        """Write the file: ``json.dumps(records, indent=1, sort_keys=True)``, reusing the text of
        every record but those of ``changed`` (all, when None)."""
        if changed is None:
            self._texts.clear()
        for key in changed or ():
            self._texts.pop(key, None)
        for key in self.records.keys() - self._texts.keys():
            # the record as json.dumps writes it at depth 1 of the whole dict
            self._texts[key] = json.dumps({key: self.records[key]}, indent=1, sort_keys=True)[2:-2]
        body = ",\n".join(self._texts[key] for key in sorted(self.records))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text("{\n" + body + "\n}\n" if body else "{}\n")
        os.replace(tmp, self.path)

    def fingerprints(self, keys: Iterable[str] | None = None) -> dict[str, int]:
        """How many records (of ``keys``, or all) each fingerprint stamped."""
        counts: dict[str, int] = {}
        for key in self.records if keys is None else keys:
            if key in self.records:
                fp = self.records[key]["fingerprint"]
                counts[fp] = counts.get(fp, 0) + 1
        return counts


# -- running cells -------------------------------------------------------------------------------
def _resolve(function: Callable) -> tuple[str, str]:
    """``(module, name)`` under which a worker process imports ``function``."""
    module = function.__module__
    if module == "__main__":  # run as `python -m benchmarks.x`: import it by that name
        module = getattr(sys.modules["__main__"].__spec__, "name", module)
    return module, function.__qualname__


def _run_one(where: tuple[str, str], params: dict, options: dict) -> tuple[dict, float, float]:
    """Run one cell in this process: ``(result, cpu seconds, wall seconds)``."""
    module, name = where
    function = getattr(importlib.import_module(module), name)
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(params, **options)
    return result, time.process_time() - cpu, time.perf_counter() - wall


def compared(result: dict, spec):
    """What ``--adopt`` compares of a result: a field, or the first ``n`` entries of one for a
    ``(field, n)`` spec."""
    if isinstance(spec, str):
        return result.get(spec)
    name, n = spec
    value = result.get(name)
    return None if value is None else list(value[:n])


def agree(new, old, rtol: float) -> bool:
    """Whether a refit's field ``new`` equals the cached ``old``: identical, or numbers (and
    lists of numbers of the same length) within ``rtol`` of each other, relatively."""
    if new == old or rtol == 0:
        return new == old
    numbers = (int, float)
    if isinstance(new, numbers) and isinstance(old, numbers):
        return math.isclose(new, old, rel_tol=rtol)
    if isinstance(new, list) and isinstance(old, list) and len(new) == len(old):
        return all(agree(a, b, rtol) for a, b in zip(new, old))
    return False


@dataclass
class Outcome:
    """What one call of :func:`run_cells` did."""

    ran: int = 0
    left: int = 0
    stopped: bool = False  # by the budget
    cpu_s: float = 0.0  # CPU seconds inside the cells
    wall_s: float = 0.0  # wall seconds of the whole call
    fits_wall_s: float = 0.0  # wall seconds inside the cells
    own_s: float = 0.0  # wall seconds of the runner's own work: planning, storing, reporting
    failures: list = field(default_factory=list)


def _clock(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class _Bar:
    """A rich progress bar on a terminal; nothing elsewhere (the per-cell lines are the log)."""

    def __init__(self, total: int, label: str):
        self.progress = None
        if sys.stdout.isatty() and total:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(
                TextColumn(label), BarColumn(), MofNCompleteColumn(), TextColumn("cells;"),
                TimeElapsedColumn(), TextColumn("elapsed,"), TimeRemainingColumn(),
                TextColumn("left"),
            )  # fmt: skip
            self.task = self.progress.add_task(label, total=total)
            self.progress.start()

    def advance(self) -> None:
        if self.progress is not None:
            self.progress.advance(self.task)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def run_cells(
    cells: Sequence[dict] | Callable[[], Sequence[dict]],
    run: Callable[..., dict],
    *,
    store: Callable[[dict, dict, float, float], None],
    options: dict | None = None,
    jobs: int = 1,
    deadline: float = math.inf,
    describe: Callable[[dict, dict], str] = lambda params, result: "",
    label: str = "cells",
) -> Outcome:
    """Run ``run(params, **options)`` for each cell, ``jobs`` at once, and call
    ``store(params, result, cpu_s, wall_s)`` in this process as each finishes.

    ``run`` is a module-level function (worker processes import it by name); ``options`` are
    what it needs beyond the cell's parameters (a data folder, a thread count), never part of a
    key. ``cells`` is a list, or a function returning the cells still wanted, asked again each
    time a worker is free, so that a study can release its next phase (the test seeds of a
    setting chosen on validation) as soon as the cells it depends on are stored. No cell starts
    after ``deadline`` (a ``time.time()``). A cell that raises is reported and left out; the
    others go on. This is the one loop every study's fits go through."""
    source = cells if callable(cells) else (lambda fixed=list(cells): fixed)
    where = _resolve(run)
    options = options or {}
    outcome = Outcome()
    started: set[str] = set()

    def wanted() -> list:
        tick = time.perf_counter()
        cells = [c for c in source() if cell_key(c) not in started]
        outcome.own_s += time.perf_counter() - tick
        return cells

    pending = wanted()
    outcome.left = len(pending)
    if not pending:
        return outcome
    start = time.perf_counter()
    bar = _Bar(len(pending), label)
    print(f"{label}: {len(pending)} to run now, {jobs} at a time", flush=True)

    def finished(params, result, cpu, wall):
        outcome.ran += 1
        outcome.cpu_s += cpu
        outcome.fits_wall_s += wall
        tick = time.perf_counter()
        store(params, result, cpu, wall)
        outcome.own_s += time.perf_counter() - tick
        outcome.left = len(wanted()) + running_count()
        bar.advance()
        eta = outcome.cpu_s / outcome.ran * outcome.left / max(jobs, 1)
        print(f"[{outcome.ran} done, {outcome.left} left, ~{_clock(eta)} to go] "
              f"{cell_key(params)} ({cpu:.0f} CPU s) {describe(params, result)}",
              flush=True)  # fmt: skip

    def failed(params, error):
        outcome.failures.append((params, repr(error)))
        print(f"FAILED {cell_key(params)}: {error!r}", flush=True)

    running: dict = {}

    def running_count() -> int:
        return len(running)

    def take():
        cells = wanted()
        if not cells or time.time() >= deadline:
            return None
        started.add(cell_key(cells[0]))
        return cells[0]

    try:
        if jobs == 1:
            while (params := take()) is not None:
                try:
                    result, cpu, wall = _run_one(where, params, options)
                except Exception as error:  # noqa: BLE001 (reported; the study goes on)
                    failed(params, error)
                    continue
                finished(params, result, cpu, wall)
        else:
            # spawned workers: a forked copy of a process that already ran torch can deadlock
            with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
                while True:
                    while len(running) < jobs and (params := take()) is not None:
                        running[pool.submit(_run_one, where, params, options)] = params
                    if not running:
                        break
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        params = running.pop(future)
                        try:
                            finished(params, *future.result())
                        except Exception as error:  # noqa: BLE001
                            failed(params, error)
    finally:
        bar.close()
    outcome.left = len(wanted())
    outcome.stopped = outcome.left > 0
    outcome.wall_s = time.perf_counter() - start
    print(f"{label}: {outcome.ran} ran; the runner's own work (planning, cache writes) took "
          f"{outcome.own_s:.2f} s, {100 * outcome.own_s / max(outcome.fits_wall_s, 1e-9):.2f}% "
          "of the fits' wall time", flush=True)  # fmt: skip
    if outcome.stopped:
        print(f"{label}: stopped by the budget with {outcome.left} cells left; "
              "run the same command again to continue", flush=True)  # fmt: skip
    return outcome


# -- a study -------------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The runner's options, shared by every study's command line."""
    group = parser.add_argument_group("running")
    group.add_argument("--jobs", type=int, default=1, help="cells run at once, in processes")
    group.add_argument(
        "--budget",
        type=float,
        default=math.inf,
        metavar="MINUTES",
        help="start no cell after this many minutes; rerun to continue",
    )
    group.add_argument(
        "--report-only",
        action="store_true",
        help="fit nothing: write the report and figures from the cache",
    )
    group.add_argument("--adopt", type=int, default=0, metavar="N",
                       help="refit N cells of each older code fingerprint; if all come out "
                       "identical, count that fingerprint's other cells as current")  # fmt: skip


@dataclass
class Study:
    """A study's cells and how to run them.

    Parameters
    ----------
    cache : Path
        The study's cache file.
    run : callable
        ``(params, **options) -> result`` (a JSON-able dict), a module-level function.
    options : dict
        Passed to ``run`` beside each cell's parameters, never part of a key (a data folder,
        a thread count).
    plan : callable
        ``cache -> list of params``: every cell the study needs given what is cached so far
        (for a one-phase study, the same list whatever the cache).
    fingerprint : str or callable
        :func:`code_fingerprint` of the code that runs the cells, or ``params -> str`` where
        cells depend on different code (scikit-learn's models on the preprocessing only, the
        package's on the package too), so that changing the package refits only its cells.
    compare : sequence of str or (str, int)
        The result fields that must be identical for ``--adopt`` to accept a fingerprint; a
        pair ``(field, n)`` compares the first ``n`` entries of a list field only. Long trainings
        are chaotic: the same code on another CPU starts from the same losses to 1e-7 and ends a
        few test rows apart (an MNIST MLP's 30 epochs moved by up to 0.09 points of test
        error), so such studies compare the first epochs of the loss curve, which any change of
        the computation moves at once, and not the final errors.
    rtol : float, default=0
        The relative tolerance of that comparison for numbers and lists of numbers: the same
        code on another CPU rounds differently (an MNIST fit's first epochs by about 1e-7 of
        their loss), which is not a change of the code.
    describe : callable
        ``(params, result) -> str``, a few words per finished cell for the log.
    """

    cache: Path
    run: Callable[[dict], dict]
    plan: Callable[[Cache], list]
    fingerprint: str | Callable[[dict], str]
    compare: Sequence[str | tuple[str, int]] = ("score",)
    rtol: float = 0.0
    #: (old, new) fingerprint pairs whose refits agreed in this call: cells of the old code that
    #: a later phase plans are restamped as they come, not refitted; so are those of pairs that an
    #: earlier call agreed on, which the cache keeps (:meth:`agreements`)
    agreed: set = field(default_factory=set)
    describe: Callable[[dict, dict], str] = lambda params, result: ""
    label: str = "cells"
    options: dict = field(default_factory=dict)

    def fingerprint_of(self, params: dict) -> str:
        """The fingerprint of the code that runs the cell ``params``."""
        return self.fingerprint(params) if callable(self.fingerprint) else self.fingerprint

    @staticmethod
    def agreements(cache: Cache) -> set:
        """The (old, new) fingerprint pairs whose refits agreed in any call: a cell restamped
        from ``old`` to ``new`` records both, and restamping happens only on agreement."""
        return {(r["adopted_from"], r["fingerprint"])
                for r in cache.records.values() if "adopted_from" in r}  # fmt: skip

    def missing(self, cache: Cache) -> list:
        out, restamp = [], {}  # restamp: current fingerprint -> keys of an adopted code's cells
        agreed = self.agreed | self.agreements(cache)
        for p in self.plan(cache):
            current = self.fingerprint_of(p)
            if cache.result(p, current) is not None:
                continue
            record = cache.records.get(cell_key(p))
            if record is not None and (record["fingerprint"], current) in agreed:
                restamp.setdefault(current, []).append(cell_key(p))
            else:
                out.append(p)
        for current, keys in restamp.items():  # planned by a later phase: not refitted
            self._restamp(cache, keys, current)
        return out

    def _store(self, cache: Cache, commit: str):
        def store(params, result, cpu, wall):
            cache.put(params, {"params": params, "result": result, "cpu_s": round(cpu, 3),
                               "wall_s": round(wall, 3), "fingerprint": self.fingerprint_of(params),
                               "commit": commit})  # fmt: skip

        return store

    def adopt(self, cache: Cache, n: int, jobs: int) -> None:
        """Refit ``n`` cells of each older fingerprint among the planned cells; restamp that
        fingerprint's cells if every ``compare`` field is identical. A later phase is planned
        only once the cells it depends on are current, so the plan is read again after each
        adoption, until it brings no new older cells."""
        decided: dict[tuple, bool] = {}  # (old, new) fingerprints -> whether the refits agreed
        while True:
            planned = {cell_key(p): p for p in self.plan(cache)}
            stale: dict[tuple, list] = {}
            for key, params in planned.items():
                record = cache.records.get(key)
                current = self.fingerprint_of(params)
                if record is not None and record["fingerprint"] != current:
                    stale.setdefault((record["fingerprint"], current), []).append(key)
            todo = {pair: keys for pair, keys in stale.items() if decided.get(pair) is not False}
            if not todo:
                return
            for (old, new), keys in todo.items():
                if decided.get((old, new)):  # agreed before: restamp the newly planned cells
                    self._restamp(cache, keys, new)
                else:
                    decided[(old, new)] = self._adopt_group(cache, planned, old, new, keys, n,
                                                            jobs)  # fmt: skip

    def _adopt_group(self, cache: Cache, planned: dict, old: str, new: str, keys: list, n: int,
                     jobs: int) -> bool:  # fmt: skip
        keys.sort(key=lambda k: cache.records[k]["cpu_s"])  # the cheapest cells check it
        probe = [planned[k] for k in keys[:n]]
        refits = {}

        def keep(params, result, cpu, wall):
            refits[cell_key(params)] = (result, cpu, wall)

        run_cells(probe, self.run, store=keep, jobs=jobs, options=self.options,
                  label=f"checking fingerprint {old}")  # fmt: skip
        same = len(refits) == len(probe) and all(
            agree(compared(refits[cell_key(p)][0], f),
                  compared(cache.records[cell_key(p)]["result"], f), self.rtol)
            for p in probe for f in self.compare
        )  # fmt: skip
        if not same:
            print(f"fingerprint {old}: the refits differ; its {len(keys)} cells will be "
                  "refitted", flush=True)  # fmt: skip
            return False
        self._restamp(cache, keys, new)
        self.agreed.add((old, new))
        print(f"fingerprint {old}: {len(probe)} refits identical; {len(keys)} cells adopted",
              flush=True)  # fmt: skip
        return True

    @staticmethod
    def _restamp(cache: Cache, keys: list, new: str) -> None:
        for key in keys:
            record = cache.records[key]
            record["adopted_from"] = record["fingerprint"]
            record["fingerprint"] = new
        cache.save(keys)

    def execute(self, args: argparse.Namespace) -> tuple[Cache, Outcome]:
        """Run what is missing (unless ``--report-only``), phase after phase; return the cache
        and what this call ran, for the report."""
        cache = Cache(self.cache)
        if args.report_only:
            return cache, Outcome()
        if args.adopt:
            self.adopt(cache, args.adopt, args.jobs)
        deadline = time.time() + 60 * args.budget if math.isfinite(args.budget) else math.inf
        outcome = run_cells(lambda: self.missing(cache), self.run,
                            store=self._store(cache, git_commit()), options=self.options,
                            jobs=args.jobs, deadline=deadline, describe=self.describe,
                            label=self.label)  # fmt: skip
        return cache, outcome


def provenance(cache: Cache, keys: Iterable[str], fingerprint: str | Iterable[str]) -> str:
    """A sentence for a report: which code fingerprints and commits made the results in
    ``keys``, and whether they are the current code's (``fingerprint``: one, or several)."""
    current = {fingerprint} if isinstance(fingerprint, str) else set(fingerprint)
    records = [cache.records[k] for k in keys if k in cache.records]
    if not records:
        return "No cached result yet."
    by_fp = cache.fingerprints(cache_key for cache_key in keys)
    commits = sorted({r["commit"] for r in records})
    parts = [f"{n} at code `{fp}`" + (" (the current code)" if fp in current else "")
             for fp, n in sorted(by_fp.items(), key=lambda item: -item[1])]  # fmt: skip
    cpu = sum(r["cpu_s"] for r in records)
    return (f"{len(records)} cached fits ({', '.join(parts)}; commits {', '.join(commits)}); "
            f"{cpu / 3600:.2f} CPU hours inside the fits.")  # fmt: skip
