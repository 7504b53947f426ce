"""The main job, run as a user would, with settings small enough for the test suite."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from sklearn_regpen.__main__ import main, render

QUICK = ["--dataset", "iris", "--per-class", "10", "--penalties", "none,l2,c2c", "--grid-size", "2",
         "--cv", "2", "--max-iter", "30", "--hidden", "16", "--n-jobs", "1"]


def test_main_prints_a_ranked_table(capsys):
    assert main(QUICK) == 0
    out = capsys.readouterr().out
    assert "iris: 30 training rows (10 per class), 120 held out" in out
    assert "searched 7 candidates x 2 folds" in out  # none 1 + l2 2 + c2c 2x2
    assert "Penalty sweep, ranked by cross-validation accuracy" in out
    assert "best by CV:" in out and "penalty='none' scores" in out


def test_render_ranks_and_marks_settings_that_beat_the_baseline():
    rows = [
        dict(penalty="c2c", alpha=1.0, epsilon=0.1, cv_mean=0.9, cv_std=0.01, held_out=0.95,
             fit_seconds=1.0),
        dict(penalty="none", alpha=None, epsilon=None, cv_mean=0.8, cv_std=0.02, held_out=0.90,
             fit_seconds=0.5),
    ]
    console = Console(record=True, width=120, color_system="standard")
    console.print(render(rows))
    lines = [line for line in console.export_text(clear=False).splitlines() if "│" in line]
    assert [line.split("│")[2].strip() for line in lines] == ["c2c", "none"]
    # the regularized row that beats penalty="none" on held-out data is shown in green
    assert "\x1b[32m0.9500" in console.export_text(styles=True)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--penalties", "none,jacobain"], "unknown penalties ['jacobain']"),
        (["--hidden", "ten"], "--hidden must be comma-separated integers"),
        (["--cv", "1"], "--cv must be at least 2"),
        (["--dataset", "mnist"], "invalid choice: 'mnist'"),
    ],
)
def test_bad_options_are_explained(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_help_runs_as_a_command():
    result = subprocess.run([sys.executable, "-m", "sklearn_regpen", "--help"],
                            capture_output=True, text=True, check=True)
    assert "--penalties" in result.stdout and "--per-class" in result.stdout


def _write_csv(path, n=40, **changes):
    rng = np.random.default_rng(0)
    label = np.array(["cat", "dog"] * (n // 2))
    table = pd.DataFrame({
        "weight": rng.normal(size=n) + (label == "dog"),
        "colour": rng.choice(["red", "blue", None], size=n),
        "legs": rng.integers(3, 5, size=n),
        "label": label,
    })
    table = table.assign(**changes)
    table.to_csv(path, index=False)
    return path


CSV_QUICK = ["--grid", "tabular", "--cv", "2", "--max-iter", "5", "--hidden", "8", "--n-jobs", "1"]


def test_main_runs_on_a_csv_file_and_leaves_it_alone(tmp_path, capsys):
    path = _write_csv(tmp_path / "pets.csv")
    before = path.read_bytes()
    assert main(["--csv", str(path), "--target", "label", *CSV_QUICK]) == 0
    out = capsys.readouterr().out
    assert "pets.csv: 30 training rows, 10 held out, 3 features (2 numeric, 1 categorical" in out
    assert "searched 8 candidates x 2 folds" in out
    assert "Penalty sweep, ranked by cross-validation accuracy" in out
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "changes, target, message",
    [
        ({}, "species", "target column 'species' is not in the table; its columns are"),
        ({"empty": np.nan}, "label", "columns with no value at all (every cell empty or NaN): "
                                     "['empty']"),
        ({"label": "cat"}, "label", "target column 'label' has a single value, 'cat'"),
        ({"label": ["cat"] * 38 + ["dog"] * 2}, "label", "classes with fewer than 4 rows"),
    ],
)
def test_bad_csv_files_are_explained(tmp_path, capsys, changes, target, message):
    path = _write_csv(tmp_path / "pets.csv", **changes)
    before = path.read_bytes()
    with pytest.raises(SystemExit) as exit_info:
        main(["--csv", str(path), "--target", target, *CSV_QUICK])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--csv", "nowhere.csv", "--target", "y"], "--csv: no such file: nowhere.csv"),
        (["--csv", "data.csv"], "--csv and --target go together"),
        (["--target", "y"], "--csv and --target go together"),
    ],
)
def test_csv_options_are_checked(capsys, argv, message):
    with pytest.raises(SystemExit):
        main(argv)
    assert message in capsys.readouterr().err
