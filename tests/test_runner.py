"""The experiment runner (``benchmarks/_runner.py``): cells cached as they finish, a rerun that
continues, the budget, report-only, processes, the code fingerprint and ``--adopt``."""

import argparse
import json
import math
import os
import time

import pytest

from benchmarks import _runner
from benchmarks._runner import Cache, Study, cell_key, code_fingerprint, run_cells


def square(params, *, log=None, offset=0.0):
    """A cell: records that it ran (in ``log``, a folder), returns x^2 + offset."""
    if log is not None:
        with open(os.path.join(log, f"{params['x']}-{time.time_ns()}"), "w"):
            pass
    if params["x"] == 13:
        raise ValueError("thirteen")
    return {"score": params["x"] ** 2 + offset}


def args(**kw):
    return argparse.Namespace(**{"jobs": 1, "budget": math.inf, "report_only": False,
                                 "adopt": 0, **kw})  # fmt: skip


def study(tmp_path, xs, fingerprint="A", offset=0.0, **kw):
    return Study(cache=tmp_path / "cache.json", run=square, fingerprint=fingerprint,
                 plan=lambda cache: [{"x": x} for x in xs],
                 options={"log": str(tmp_path / "log"), "offset": offset}, **kw)  # fmt: skip


def runs(tmp_path):
    return sorted(int(name.split("-")[0]) for name in os.listdir(tmp_path / "log"))


@pytest.fixture
def log(tmp_path):
    (tmp_path / "log").mkdir()
    return tmp_path


def test_cells_are_cached_and_a_rerun_continues(log):
    cache, outcome = study(log, [1, 2, 3]).execute(args())
    assert outcome.ran == 3 and runs(log) == [1, 2, 3]
    on_disk = json.loads((log / "cache.json").read_text())
    record = on_disk[cell_key({"x": 2})]
    assert record["result"] == {"score": 4} and record["fingerprint"] == "A"
    assert record["params"] == {"x": 2} and record["cpu_s"] >= 0 and "commit" in record
    # options (a folder, a thread count) are not part of the key
    assert "log" not in cell_key(record["params"])
    cache, outcome = study(log, [1, 2, 3, 4]).execute(args())
    assert outcome.ran == 1 and runs(log) == [1, 2, 3, 4]


def test_the_budget_stops_between_cells_and_the_rerun_finishes(log):
    cache, outcome = study(log, [1, 2, 3]).execute(args(budget=0.0))
    assert outcome.ran == 0 and outcome.stopped and outcome.left == 3
    assert not (log / "cache.json").exists()
    calls = []

    def store(params, result, cpu, wall):
        calls.append(params["x"])
        time.sleep(0.6)  # the deadline passes while the first result is stored

    # a deadline reached after the first cell: that cell finishes, no other starts
    deadline = time.time() + 0.5
    cells = [{"x": 1}, {"x": 2}]

    def slow_source():
        return [c for c in cells if c["x"] not in calls]

    outcome = run_cells(slow_source, square, store=store, deadline=deadline)
    assert calls == [1] and outcome.stopped and outcome.left == 1


def test_a_failing_cell_is_reported_and_the_others_go_on(log):
    cache, outcome = study(log, [12, 13, 14]).execute(args())
    assert outcome.ran == 2 and len(outcome.failures) == 1
    assert "thirteen" in outcome.failures[0][1]
    assert cache.result({"x": 13}) is None and cache.result({"x": 14}) == {"score": 196}


def test_processes_give_the_same_results(log):
    cache, outcome = study(log, [1, 2, 3, 4, 5]).execute(args(jobs=2))
    assert outcome.ran == 5
    assert [cache.result({"x": x})["score"] for x in range(1, 6)] == [1, 4, 9, 16, 25]


def test_a_later_phase_is_released_as_soon_as_its_inputs_are_cached(log):
    """The plan asks for x=100 once x=1 is cached: it runs in the same call."""

    def plan(cache):
        return [{"x": 1}, {"x": 2}] + ([{"x": 100}] if cache.result({"x": 1}) else [])

    s = Study(cache=log / "cache.json", run=square, fingerprint="A", plan=plan,
              options={"log": str(log / "log")})  # fmt: skip
    cache, outcome = s.execute(args())
    assert outcome.ran == 3 and runs(log) == [1, 2, 100]


def test_report_only_reads_every_fingerprint_and_runs_nothing(log):
    study(log, [1, 2]).execute(args())
    cache, outcome = study(log, [1, 2], fingerprint="B").execute(args(report_only=True))
    assert outcome.ran == 0 and runs(log) == [1, 2]
    assert cache.result({"x": 2}) == {"score": 4}  # any fingerprint
    assert cache.result({"x": 2}, "B") is None  # not the current code's
    assert "2 at code `A`" in _runner.provenance(cache, cache.records, "B")


def test_a_new_fingerprint_refits_unless_adopted(log):
    study(log, [1, 2, 3]).execute(args())
    # identical results at code B: two refits, then the third cell is adopted, not refitted
    cache, outcome = study(log, [1, 2, 3], fingerprint="B").execute(args(adopt=2))
    assert outcome.ran == 0 and runs(log) == [1, 1, 2, 2, 3]
    assert all(r["fingerprint"] == "B" for r in cache.records.values())
    assert cache.records[cell_key({"x": 3})]["adopted_from"] == "A"
    # different results at code C: nothing adopted, everything refitted
    cache, outcome = study(log, [1, 2, 3], fingerprint="C", offset=0.5).execute(args(adopt=1))
    assert outcome.ran == 3 and cache.result({"x": 3}, "C") == {"score": 9.5}
    # and without --adopt a new fingerprint refits everything
    cache, outcome = study(log, [1, 2], fingerprint="D", offset=0.5).execute(args())
    assert outcome.ran == 2


def test_adoption_within_a_relative_tolerance(log):
    study(log, [1, 2, 3]).execute(args())
    # a refit that differs by rounding only: refused by the exact comparison ...
    cache, outcome = study(log, [1, 2, 3], fingerprint="B", offset=1e-9).execute(args(adopt=1))
    assert outcome.ran == 3
    # ... adopted within rtol; a larger difference still refits everything
    cache, outcome = study(log, [1, 2, 3], fingerprint="C", offset=2e-9,
                           rtol=1e-6).execute(args(adopt=1))  # fmt: skip
    assert outcome.ran == 0 and cache.records[cell_key({"x": 3})]["adopted_from"] == "B"
    cache, outcome = study(log, [1, 2, 3], fingerprint="D", offset=0.5,
                           rtol=1e-6).execute(args(adopt=1))  # fmt: skip
    assert outcome.ran == 3


def curve(params, *, log=None, tail=0.0):
    """A cell with a curve: its first points fixed by the code, its last one "chaotic"."""
    square(params, log=log)
    x = params["x"]
    return {"curve": [x, x + 1.0, x + 2.0 + tail]}


def test_adoption_can_compare_the_first_points_of_a_curve(log):
    def curves(fingerprint, tail, compare):
        return Study(cache=log / "cache.json", run=curve, fingerprint=fingerprint,
                     plan=lambda cache: [{"x": x} for x in (1, 2)], compare=compare,
                     options={"log": str(log / "log"), "tail": tail})  # fmt: skip

    curves("A", 0.0, ("curve",)).execute(args())
    # the last point moved (another CPU's rounding, amplified): the whole curve differs ...
    cache, outcome = curves("B", 0.5, ("curve",)).execute(args(adopt=1))
    assert outcome.ran == 2
    # ... its first two points do not
    cache, outcome = curves("C", 0.25, (("curve", 2),)).execute(args(adopt=1))
    assert outcome.ran == 0 and cache.records[cell_key({"x": 2})]["adopted_from"] == "B"
    assert _runner.compared({"curve": [1, 2, 3]}, ("curve", 2)) == [1, 2]
    assert _runner.compared({}, ("curve", 2)) is None


def test_a_later_phase_restamps_the_cells_of_an_adopted_code(log):
    """Cells that a later phase plans once an earlier one is cached at the current code are
    restamped, not refitted, when their code was adopted."""

    def phased(fingerprint, offset=0.0):
        def plan(cache):
            ready = cache.result({"x": 3}, fingerprint) is not None
            return [{"x": 1}, {"x": 3}] + ([{"x": 2}] if ready else [])

        return Study(cache=log / "cache.json", run=square, fingerprint=fingerprint, plan=plan,
                     options={"log": str(log / "log"), "offset": offset})  # fmt: skip

    study(log, [1, 2]).execute(args())  # code A: cells 1 and 2, not 3
    cache, outcome = phased("B").execute(args(adopt=1))
    # adoption refits cell 1 (the probe), the run fits the new cell 3, and cell 2, planned
    # after it, is restamped: fitted once only, at code A
    assert runs(log) == [1, 1, 2, 3] and outcome.ran == 1
    assert cache.records[cell_key({"x": 2})]["fingerprint"] == "B"
    assert cache.records[cell_key({"x": 2})]["adopted_from"] == "A"
    # a code whose refits differ is not restamped later either
    cache, outcome = phased("C", offset=0.5).execute(args(adopt=1))
    assert outcome.ran == 3 and cache.result({"x": 2}, "C") == {"score": 4.5}


def test_agree_compares_numbers_and_lists_of_numbers():
    assert _runner.agree([1.0, 2.0], [1.0, 2.0 + 1e-9], 1e-6)
    assert not _runner.agree([1.0, 2.0], [1.0, 2.0 + 1e-9], 0.0)
    assert not _runner.agree([1.0, 2.0], [1.0], 1e-6)
    assert not _runner.agree(1.0, 1.1, 1e-6)
    assert not _runner.agree("a", "b", 1e-6) and _runner.agree("a", "a", 1e-6)


def test_the_fingerprint_follows_code_not_prose(tmp_path, monkeypatch):
    monkeypatch.setattr(_runner, "REPO", tmp_path)
    module = tmp_path / "m.py"
    module.write_text('"""Doc."""\n\ndef f(x):\n    """Doc."""\n    return x + 1  # one\n')
    first = code_fingerprint(["m.py"])
    module.write_text('"""Other doc."""\n\n\ndef f(x):\n    """More."""\n    return x + 1  # two\n')
    assert code_fingerprint(["m.py"]) == first
    module.write_text('"""Doc."""\n\ndef f(x):\n    return x + 2\n')
    assert code_fingerprint(["m.py"]) != first
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("A = 1\n")
    (tmp_path / "pkg" / "skip.py").write_text("B = 1\n")
    with_pkg = code_fingerprint(["pkg"], exclude=["pkg/skip"])
    (tmp_path / "pkg" / "skip.py").write_text("B = 2\n")
    assert code_fingerprint(["pkg"], exclude=["pkg/skip"]) == with_pkg
    assert code_fingerprint(["pkg"]) != with_pkg


def test_the_cache_file_is_sorted_json_written_whole(tmp_path):
    cache = Cache(tmp_path / "c.json")
    cache.put({"b": 1, "a": 2}, {"result": {}, "fingerprint": "A", "cpu_s": 0.0})
    text = (tmp_path / "c.json").read_text()
    assert json.loads(text) == cache.records and json.dumps(cell_key({"a": 2, "b": 1})) in text
    assert not list(tmp_path.glob("*.tmp"))


def test_each_write_is_the_whole_dict_dumped_sorted_though_only_new_records_are_serialized(
    tmp_path, monkeypatch
):
    path = tmp_path / "c.json"
    cache = Cache(path)
    cache.save()
    assert path.read_text() == "{}\n"

    def whole() -> str:
        return json.dumps(cache.records, indent=1, sort_keys=True) + "\n"

    for i in (3, 1, 2):
        cache.put({"i": i, "name": "x"}, {"result": {"score": i / 7, "list": [i, None]},
                                          "fingerprint": "A", "cpu_s": 0.5})  # fmt: skip
        assert path.read_text() == whole()
    # a record changed in place is written again when its key is named, or on a full save
    key = cell_key({"i": 1, "name": "x"})
    cache.records[key]["fingerprint"] = "B"
    cache.save([key])
    assert path.read_text() == whole()
    cache.records[key]["fingerprint"] = "C"
    cache.save()
    assert path.read_text() == whole()
    # a reloaded cache reads what was written, and a put serializes the new record only
    again = Cache(path)
    assert again.records == cache.records
    calls = []
    real_dumps = json.dumps
    monkeypatch.setattr(_runner.json, "dumps", lambda obj, **kw: calls.append(obj) or
                        real_dumps(obj, **kw))  # fmt: skip
    again.save()
    again.put({"i": 4, "name": "x"}, {"result": {}, "fingerprint": "A", "cpu_s": 0.1})
    monkeypatch.undo()
    serialized = [c for c in calls if isinstance(c, dict) and len(c) == 1 and "i" not in c]
    assert len(serialized) == 3 + 1  # three on the full save, then the new record alone
    assert path.read_text() == json.dumps(again.records, indent=1, sort_keys=True) + "\n"


def test_cells_may_depend_on_different_code(log):
    """A fingerprint per cell: changing the code of the odd cells refits those only."""

    def fingerprint(odd_code):
        return lambda params: odd_code if params["x"] % 2 else "even"

    study(log, [1, 2, 3], fingerprint=fingerprint("A")).execute(args())
    cache, outcome = study(log, [1, 2, 3], fingerprint=fingerprint("B")).execute(args())
    assert outcome.ran == 2 and runs(log) == [1, 1, 2, 3, 3]
    assert {k: r["fingerprint"] for k, r in cache.records.items()} == {
        cell_key({"x": 1}): "B",
        cell_key({"x": 2}): "even",
        cell_key({"x": 3}): "B",
    }
    # --adopt restamps the odd cells only, and the report counts both codes as current
    cache, outcome = study(log, [1, 2, 3], fingerprint=fingerprint("C")).execute(args(adopt=1))
    assert outcome.ran == 0 and runs(log) == [1, 1, 1, 2, 3, 3]
    assert cache.records[cell_key({"x": 3})]["fingerprint"] == "C"
    text = _runner.provenance(cache, cache.records, ["C", "even"])
    assert "2 at code `C` (the current code)" in text
    assert "1 at code `even` (the current code)" in text


def test_adopt_reaches_the_cells_of_a_later_phase(log):
    """Seeds of a chosen setting are planned only once the selection is current: after the
    selection's cells are adopted, the seeds' older cells are adopted too, not refitted."""

    def plan(cache):
        selection = [{"x": 1}, {"x": 2}]
        if any(cache.result(p, "B") is None for p in selection):
            return selection
        return [*selection, {"x": 10}, {"x": 11}]

    def phased(fingerprint):
        return Study(cache=log / "cache.json", run=square, fingerprint=fingerprint, plan=plan,
                     options={"log": str(log / "log")})  # fmt: skip

    def plan_a(cache):
        return [{"x": 1}, {"x": 2}, {"x": 10}, {"x": 11}]

    Study(cache=log / "cache.json", run=square, fingerprint="A", plan=plan_a,
          options={"log": str(log / "log")}).execute(args())  # fmt: skip
    assert runs(log) == [1, 2, 10, 11]
    cache, outcome = phased("B").execute(args(adopt=1))
    # one refit checks the selection's group, which then lets the seeds be planned; their group
    # is the same (A -> B) and already decided, so they are adopted without another refit
    assert outcome.ran == 0 and runs(log) == [1, 1, 2, 10, 11]
    assert all(r["fingerprint"] == "B" for r in cache.records.values())


def test_a_later_call_restamps_the_cells_of_a_code_adopted_before(log):
    """An adoption holds beyond the call that made it: cells of the adopted code that a later
    call plans are restamped without ``--adopt``, as the cache records the agreement."""
    study(log, [1, 2, 3]).execute(args())  # code A
    cache, _ = study(log, [1, 2]).execute(args())  # nothing to fit
    cache, outcome = study(log, [1], fingerprint="B").execute(args(adopt=1))
    assert outcome.ran == 0 and runs(log) == [1, 1, 2, 3]  # the probe refitted cell 1
    assert Study.agreements(cache) == {("A", "B")}
    # a later call, without --adopt, plans cells 2 and 3 of code A: restamped, not refitted
    cache, outcome = study(log, [1, 2, 3], fingerprint="B").execute(args())
    assert outcome.ran == 0 and runs(log) == [1, 1, 2, 3]
    assert cache.records[cell_key({"x": 3})]["adopted_from"] == "A"
    # a code never adopted is refitted as before
    cache, outcome = study(log, [1], fingerprint="C").execute(args())
    assert outcome.ran == 1
