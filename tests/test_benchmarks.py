"""The speed benchmark runs end to end (tiny sizes) and reports what it promises.

Only the per-fit penalty cost and threads sections run here: overhead, memory, per-step cost and
the CNN section are ``overhead.py``'s and ``penalty_cost.py``'s functions, which take a minute
even at tiny sizes on a busy machine. The thesis' MNIST study is checked on its plan (the
grid, its extension, the paired gain) from a made-up cache, and end to end on tiny files.
"""

import importlib

import numpy as np
import pytest

from benchmarks import speed, thesis_mnist
from benchmarks._runner import Cache, cell_key


def test_speed_quick_reports_every_penalty_against_its_bound(tmp_path):
    skip = "overhead,memory,steps,cnn"
    argv = ["--quick", "--threads", "1", "--skip", skip, "--out", str(tmp_path)]
    assert speed.main(argv) == 0
    report = (tmp_path / "speed.md").read_text()
    assert "command: `.ci/env python -m benchmarks.speed --quick" in report
    assert "Penalty cost through the estimator" in report and "n_threads=1" in report
    for name, options, bound in speed.penalty_cost.SETTINGS:
        row = next(
            r
            for r in report.splitlines()
            if r.startswith(f"| `{speed.penalty_cost.label(name, options)}` |")
        )
        cells = [c.strip() for c in row.strip("|").split("|")]
        ratio = float(cells[2].rstrip("x"))
        assert cells[3] == f"{bound:.2f}x"
        assert cells[4] == ("yes" if ratio <= 1.1 * bound else cells[4]) and cells[4]


def _thesis_plan(tmp_path, *extra):
    args = thesis_mnist.parse(["--report-only", "--out", str(tmp_path), *extra])
    cache = Cache(tmp_path / "cache.json")
    return args, cache, thesis_mnist.Plan(args, cache, None)


def _put(cache, cell, valid, test=0.9):
    result = {"valid_accuracy": valid, "valid_log_loss": 1 - valid, "test_accuracy": test,
              "loss_curve": [1.0], "n_iter": 1}  # fmt: skip
    cache.records[cell_key(cell)] = {"params": cell, "result": result, "fingerprint": "f",
                                     "cpu_s": 1.0, "wall_s": 1.0}  # fmt: skip


def test_thesis_grid_is_the_thesis_log_grid_and_extends_past_a_chosen_end(tmp_path):
    assert [thesis_mnist.thesis_alpha(k) for k in range(7)] == [
        1e-6, 1.2e-5, 0.00014, 0.0017, 0.021, 0.25, 3.0]  # fmt: skip
    args, cache, plan = _thesis_plan(tmp_path, "--methods", "none", "jacobian")
    cells, chosen = plan.ladder("jacobian", 50)
    assert [c["setting"]["alpha"] for c in cells] == [0.021, 0.25, 3.0] and chosen is None
    for cell, valid in zip(cells, (0.80, 0.85, 0.90)):  # the largest strength wins: an end
        _put(cache, cell, valid)
    cells, chosen = plan.ladder("jacobian", 50)
    assert [c["setting"]["alpha"] for c in cells] == [0.021, 0.25, 3.0, 36.0] and chosen is None
    assert cells[-1] in plan.cells() and not plan.runs("jacobian", 50)
    _put(cache, cells[-1], 0.70)  # beyond it is worse: 3 is inside now
    cells, chosen = plan.ladder("jacobian", 50)
    assert chosen["setting"] == {"alpha": 3.0}
    assert [c["seed"] for c in plan.runs("jacobian", 50)] == list(range(10))
    # 1000 per class trains the strength chosen at 200, and only the best methods: not yet known
    assert plan.runs("jacobian", 1000) == [] and plan.methods(1000) == ["none"]


def test_thesis_gain_is_paired_by_seed_with_its_interval(tmp_path):
    mean, low, high, n = thesis_mnist.paired_interval([2.0, 2.5, 3.0])  # sd 0.5, t(2) 4.3027
    assert (mean, n) == (2.5, 3) and low == pytest.approx(2.5 - 4.302653 * 0.5 / np.sqrt(3))
    assert high == pytest.approx(5 - low) and thesis_mnist.verdict((mean, low, high, n)) == "better"
    assert thesis_mnist.verdict(thesis_mnist.paired_interval([-1.0, 2.0])) == "not established"
    assert thesis_mnist.verdict(thesis_mnist.paired_interval([-1.0, -1.1, -0.9])) == "worse"
    args, cache, plan = _thesis_plan(tmp_path, "--methods", "none", "noise", "--sizes", "50",
                                     "--seeds", "3")  # fmt: skip
    for cell in plan.cells():
        _put(cache, cell, 0.9 if cell["setting"] == {"epsilon": 0.2} else 0.8)
    runs = plan.runs("noise", 50)
    base = plan.runs("none", 50)
    for seed, (a, b) in enumerate(zip(runs, base)):
        _put(cache, a, 0.9, test=0.92 + 0.01 * seed)
        _put(cache, b, 0.9, test=0.90)
    mean, low, high, n = plan.gain("noise", 50)
    assert n == 3 and mean == pytest.approx(3.0) and low > 0 and plan.finished()


def test_thesis_study_runs_end_to_end_on_tiny_files(tmp_path):
    from test_techreport_mnist import fake_mnist

    (tmp_path / "mnist").mkdir()
    data = fake_mnist(tmp_path / "mnist", dotted=False)
    argv = ["--quick", "--data", str(data), "--sizes", "5", "--choose-sizes", "5",
            "--valid-rows", "40", "--test-rows", "60", "--methods", "loop", "none", "jacobian",
            "--out", str(tmp_path / "out")]  # fmt: skip
    assert thesis_mnist.main(argv) == 0
    text = (tmp_path / "out" / "thesis_mnist.md").read_text()
    assert "The thesis chose each strength on the test set" in text
    assert "| `jacobian` (jac) |" in text and "| hand-written loop |" in text
    assert "3 of the 3 fits planned so far are cached." in text
    assert (tmp_path / "out" / "thesis_mnist.png").is_file()
    # the report alone, from the cache, without the data
    out = tmp_path / "out"
    assert thesis_mnist.main(["--quick", "--report-only", "--sizes", "5", "--choose-sizes", "5",
                              "--valid-rows", "40", "--test-rows", "60", "--methods", "loop",
                              "none", "jacobian", "--out", str(out)]) == 0  # fmt: skip
    assert (out / "thesis_mnist.md").read_text().count("| `jacobian` (jac) |") == 2


def test_climb_rule_study_quick(tmp_path):
    from benchmarks import climb_rule

    assert climb_rule.main(["--quick", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "climb_rule.md").read_text()
    for penalty in climb_rule.FAMILIES:
        assert f"| `{penalty}` | 2 |" in text
    assert "## Real climbs" in text and (tmp_path / "climb_rule.png").is_file()
    # the forced climbs are found by the package's rule on every curve
    cache = Cache(tmp_path / "climb_rule_cache.json")
    curves = [r["result"]["loss_curve"] for r in cache.records.values()
              if r["params"]["kind"] == "flat"]  # fmt: skip
    assert len(curves) == 2 * len(climb_rule.FAMILIES)
    assert all(climb_rule.new_rule(climb_rule.spiked(c)) for c in curves)


@pytest.mark.parametrize("study", ["thesis_mnist", "mnist_recipe"])
def test_mnist_studies_say_where_to_get_mnist(study, tmp_path, monkeypatch, capsys):
    """Without --data or REGPEN_MNIST, or with a folder that is not there, a usage error names
    both ways to point at MNIST and its four files, before any work."""
    monkeypatch.delenv("REGPEN_MNIST", raising=False)
    main = importlib.import_module(f"benchmarks.{study}").main
    for argv in ([], ["--data", str(tmp_path / "nowhere")]):
        with pytest.raises(SystemExit) as stop:
            main([*argv, "--out", str(tmp_path)])
        assert stop.value.code == 2
        message = capsys.readouterr().err
        assert "--data FOLDER or set REGPEN_MNIST=FOLDER" in message
        assert "train-images-idx3-ubyte.gz" in message
    monkeypatch.setenv("REGPEN_MNIST", str(tmp_path / "elsewhere"))
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path)])
    assert f"no MNIST folder at {tmp_path / 'elsewhere'}" in capsys.readouterr().err


def test_members_report_gives_the_ratios_it_promises():
    from benchmarks import members

    row = {"table": "wine", "rows": 160, "features": 13, "penalty": "l2", "epochs_one": 10,
           "epochs_members": [10, 20], "cpu_one": 1.0, "cpu_pass": 4.5, "cpu_separate": 9.0,
           "accuracy_one": 0.9, "accuracy_pass": 0.95, "pass_vs_separate": 1e-7}  # fmt: skip
    steps = members.step_times(rounds=2)
    assert steps["vmap"] > 0 and steps["stacked"] > 0
    report = members.report([row], steps, max_iter=200)
    # pass / one 4.5x; per epoch: (4.5 / 15 epochs) / (1.0 / 10 epochs) = 3x; separate / pass 2x
    assert "| **4.50x** | 3.00x | 2.00x |" in report and "at most 200 epochs" in report
