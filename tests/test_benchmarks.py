"""The speed benchmark runs end to end (tiny sizes) and reports what it promises.

Only the per-fit penalty cost and threads sections run here: overhead, memory, per-step cost and
the CNN section are ``overhead.py``'s and ``penalty_cost.py``'s functions, which take a minute
even at tiny sizes on a busy machine. The thesis' MNIST benchmark writes its report from a cache
of results (its fits need MNIST and minutes each).
"""

import json

from benchmarks import speed, thesis_mnist


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


def test_thesis_mnist_report_puts_the_thesis_numbers_beside_ours(tmp_path):
    results = []
    for seed, shift in ((0, 0.0), (1, 0.01)):
        for method, accuracy in (("loop", 0.915), ("none", 0.91), ("double_backprop", 0.93),
                                 ("noise", 0.905)):  # fmt: skip
            results.append({
                "method": method, "size": 50, "seed": seed, "epochs": 30, "grid": "short",
                "alpha": 3.0 if method == "double_backprop" else None,
                "epsilon": 0.1 if method == "noise" else None,
                "test_accuracy": accuracy + shift, "cpu_seconds": 10.0, "wall_seconds": 20.0,
                "candidates": [] if method in ("none", "loop") else [
                    {"alpha": 3.0, "epsilon": None, "valid_accuracy": 0.9, "valid_log_loss": 0.3,
                     "test_accuracy_80": 0.92},
                    {"alpha": 0.3, "epsilon": None, "valid_accuracy": 0.8, "valid_log_loss": 0.5,
                     "test_accuracy_80": 0.93},
                ],
            })  # fmt: skip
    (tmp_path / "thesis_mnist.json").write_text(json.dumps({"results": results}))
    argv = ["--sizes", "50", "--seeds", "2", "--epochs", "30", "--grid", "short", "--methods",
            "loop,none,double_backprop,noise", "--report-only", "--out", str(tmp_path)]  # fmt: skip
    assert thesis_mnist.main(argv) == 0
    report = (tmp_path / "thesis_mnist.md").read_text()
    assert "The thesis chose each method's strength on the test set" in report
    assert "| `none` (baseline) | 91.50 (0.50) | 90.195 (0.45) |" in report
    assert "| `double_backprop` (db) | 93.50 (0.50) | 92.273 (0.49) |" in report
    assert "target >= 89.195: met" in report and "not above the baseline: NI -0.50" in report
    assert "test choice +1.00" in report and (tmp_path / "thesis_mnist.png").is_file()


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
