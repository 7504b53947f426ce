"""The speed benchmark runs end to end (tiny sizes) and reports what it promises.

Only the per-fit penalty cost and threads sections run here: overhead, memory, per-step cost and
the CNN section are ``overhead.py``'s and ``penalty_cost.py``'s functions, which take a minute
even at tiny sizes on a busy machine. The thesis' MNIST benchmark writes its report from a cache
of results (its fits need MNIST and minutes each).
"""

import importlib
import json

import pytest

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
