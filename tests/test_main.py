"""The main job, run as a user would, with settings small enough for the test suite."""

import os
import re
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_regpen import RegularizedMLPClassifier
from sklearn_regpen.cli import main
from sklearn_regpen.cli.report import render
from sklearn_regpen.cli.table import infer_task
from sklearn_regpen.datasets import load_classification, per_class_split
from sklearn_regpen.tables import split_target

ROOT = Path(__file__).resolve().parents[1]
QUICK = ["--dataset", "iris", "--per-class", "10", "--penalties", "none,l2,c2c", "--grid-size", "2",
         "--cv", "2", "--max-iter", "30", "--hidden", "16", "--n-jobs", "1"]


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if any search starts: option checks must come before training."""

    def refuse(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(GridSearchCV, "fit", refuse)


def test_main_prints_a_ranked_table(capsys):
    assert main(QUICK) == 0
    out = capsys.readouterr().out
    assert "iris: 30 training rows (10 per class), 120 held out" in out
    # none 1 + l2 2 + c2c 2x2, and the majority class and scikit-learn's MLPClassifier
    assert "searched 7 candidates and 2 reference models x 2 folds" in out
    assert "Penalty sweep, ranked by cross-validation accuracy" in out
    assert "majority class" in out and "sklearn MLPClassifier" in out
    assert "held-out" not in out.split("Penalty sweep")[1].split("chosen by CV")[0]
    assert re.search(r"chosen by CV: \w+.*: held-out accuracy [01]\.\d{4} on 120 rows; for "
                     r"comparison, majority class 0\.3333, sklearn MLPClassifier [01]\.\d{4}",
                     " ".join(out.split()))


def _refit(row, **net):
    """The chosen row's pipeline, as a user would build it from the saved table."""
    params = {k: row[k] for k in ("penalty", "alpha", "epsilon") if pd.notna(row[k])}
    return RegularizedMLPClassifier(**net, **params)


def test_out_holds_the_chosen_model_refitted_and_the_table(tmp_path, capsys):
    out_dir = tmp_path / "results"
    assert main([*QUICK, "--out", str(out_dir)]) == 0
    assert sorted(p.name for p in out_dir.iterdir()) == ["model.joblib", "model.json",
                                                         "results.csv", "results.md"]
    table = pd.read_csv(out_dir / "results.csv")
    assert len(table) == 7 + 2 and list(table["rank"]).count("ref") == 2
    # held-out scores for the chosen candidate and the two references only
    assert table["held_out"].notna().sum() == 3 and table["chosen"].sum() == 1
    chosen = table[table["chosen"]].iloc[0]
    candidates = table[table["rank"] != "ref"]
    assert chosen["cv_mean"] == candidates["cv_mean"].max() and chosen["rank"] == "1"

    X, y = load_classification("iris")
    X_train, X_test, y_train, y_test = per_class_split(X, y, 10, random_state=0)
    model = joblib.load(out_dir / "model.joblib")
    assert model.predict(X_test).shape == (120,)
    assert model.score(X_test, y_test) == pytest.approx(chosen["held_out"], abs=1e-12)
    # ... and it is the chosen parameters refitted on every training row
    again = Pipeline([("scale", StandardScaler()),
                      ("net", _refit(chosen, hidden_layer_sizes=(16,), max_iter=30,
                                     random_state=0))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        again.fit(X_train, y_train)
    assert again.score(X_test, y_test) == pytest.approx(chosen["held_out"], abs=1e-12)

    markdown = (out_dir / "results.md").read_text()
    assert "| # | penalty | alpha | eps | CV accuracy | ± std | fit s |" in markdown
    assert "| ref | majority class |" in markdown and "chosen by CV:" in markdown
    assert f"wrote {out_dir / 'model.joblib'}" in " ".join(capsys.readouterr().out.split())


def _row(penalty, cv_mean, model="RegularizedMLPClassifier", chosen=False, **knobs):
    return dict(model=model, penalty=penalty, alpha=knobs.get("alpha"),
                epsilon=knobs.get("epsilon"), cv_mean=cv_mean, cv_std=0.01, fit_seconds=1.0,
                held_out=None, chosen=chosen)


RENDER_ROWS = [
    _row("c2c", 0.9, chosen=True, alpha=1.0, epsilon=0.1),
    _row(None, 0.85, model="sklearn MLPClassifier"),
    _row("none", 0.8),
    _row("l2", 0.7, alpha=1e-4),
    _row(None, 0.1, model="majority class"),
]


def _rendered(rows, **options):
    console = Console(record=True, width=120, color_system="standard")
    console.print(render(rows, **options))
    lines = [line for line in console.export_text(clear=False).splitlines() if "│" in line]
    return [[cell.strip() for cell in line.split("│")[1:3]] for line in lines], console


def test_render_ranks_candidates_and_shows_the_reference_rows():
    cells, console = _rendered(RENDER_ROWS, scoring="balanced_accuracy")
    assert cells == [["1", "c2c"], ["ref", "sklearn MLPClassifier"], ["2", "none"], ["3", "l2"],
                     ["ref", "majority class"]]
    text = console.export_text(styles=True)
    assert "CV balanced_accuracy" in text and "held" not in text
    assert "\x1b[1m" in text  # the chosen row is bold
    # --top counts candidates; the reference rows stay
    assert _rendered(RENDER_ROWS, top=1)[0] == [["1", "c2c"], ["ref", "sklearn MLPClassifier"],
                                                ["ref", "majority class"]]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--penalties", "none,jacobain"], "--penalties: unknown penalties ['jacobain']"),
        (["--penalties", ""], "--penalties: no penalty given; choose from none,"),
        (["--penalties", " , "], "--penalties: no penalty given"),
        (["--hidden", "ten"], "--hidden must be comma-separated integers, got 'ten'"),
        (["--hidden", "0"], "--hidden: layer sizes must be at least 1, got '0'"),
        (["--hidden", "64,-3"], "--hidden: layer sizes must be at least 1, got '64,-3'"),
        (["--cv", "1"], "--cv must be at least 2, got 1"),
        (["--cv", "100"], "--cv 100: more folds than the 50 training rows of each class "
                          "(--per-class); use at most --cv 50"),
        (["--n-jobs", "0"], "--n-jobs must be a number of parallel fits (1 or more), or -1"),
        (["--seed", "-1"], "--seed must be between 0 and 4294967295, got -1"),
        (["--seed", str(2**32)], "--seed must be between 0 and 4294967295"),
        (["--top", "-1"], "--top must be 0 (every row) or a number of rows, got -1"),
        (["--per-class", "1000"], "--per-class 1000: the smallest class of digits (class 8) "
                                  "has 174 rows"),
        (["--per-class", "0"], "--per-class must be at least 1, got 0"),
        (["--max-iter", "0"], "--max-iter must be at least 1, got 0"),
        (["--dataset", "mnist"], "invalid choice: 'mnist'"),
        (["--test-size", "nan"], "--test-size must be between 0 and 1, got nan"),
        (["--scheduler", "tcp://10.0.0.5"], "--scheduler: 'tcp://10.0.0.5' is not a scheduler "
                                            "address; write [tcp://]HOST:PORT"),
        (["--scheduler", "tcp://10.0.0.5:99999"], "is not a scheduler address"),
        (["--scheduler", "http://host:80/x"], "is not a scheduler address"),
        (["--scheduler-timeout", "0"], "--scheduler-timeout must be a positive number"),
        (["--scoring", "acuracy"], "--scoring: unknown scorer 'acuracy'; did you mean accuracy"),
        (["--scoring", "r2"], "--scoring r2 is a regression score, and the task is "
                              "classification"),
        (["--scoring", "adjusted_rand_score"], "--scoring adjusted_rand_score compares "
                                               "clusterings"),
        (["--scoring", "f1"], "--scoring f1 does not work with this target: Target is multiclass"),
        (["--task", "regression"], "--task regression needs --csv"),
        (["--na-values", "<null>"], "--na-values is for --csv files"),
    ],
)
def test_bad_options_are_explained_before_any_training(capsys, no_training, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert message in err


def test_an_unreachable_scheduler_is_explained_after_its_timeout(capsys, no_training):
    pytest.importorskip("distributed")
    with socket.socket() as probe:  # a port on loopback that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    started = time.perf_counter()
    with pytest.raises(SystemExit) as exit_info:
        main([*QUICK, "--scheduler", address, "--scheduler-timeout", "0.5"])
    assert exit_info.value.code == 2
    assert time.perf_counter() - started < 30
    err = " ".join(capsys.readouterr().err.split())
    assert f"--scheduler {address}: no Dask scheduler with a worker answered within 0.5 s" in err


def test_help_runs_as_a_command():
    result = subprocess.run([sys.executable, "-m", "sklearn_regpen", "--help"],
                            capture_output=True, text=True, check=True)
    for option in ("--penalties", "--per-class", "--task", "--na-values", "--scoring", "--out",
                   "--scheduler-timeout"):
        assert option in result.stdout
    assert "type_of_target" in result.stdout  # the explanation of --task auto, from __doc__
    assert "(default: None)" not in result.stdout


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
    out = " ".join(capsys.readouterr().out.split())
    assert ("pets.csv: classification ('label' has 2 classes; --task to override), 30 training "
            "rows, 10 held out, 3 features (2 numeric, 1 categorical") in out
    assert "searched 8 candidates and 2 reference models x 2 folds" in out
    assert "Penalty sweep, ranked by cross-validation accuracy" in out
    assert "held-out accuracy" in out and "on 10 rows" in out
    assert path.read_bytes() == before


def houses_table(n, seed):
    """A regression table of houses: numeric area, rooms (object, so a marker can stand in a
    cell), a text column and a continuous price."""
    rng = np.random.default_rng(seed)
    area, rooms = rng.uniform(30, 200, size=n).round(1), rng.integers(1, 6, size=n)
    return pd.DataFrame({
        "area": area,
        "rooms": rooms.astype(object),
        "town": rng.choice(["north", "south"], size=n),
        "price": (1000 * area + 5000 * rooms + rng.normal(0, 1e4, n)).round(2),
    })


def _write_regression_csv(path, n=60, missing="<null>"):
    """A regression table in KEEL's manner: a continuous target, ``missing`` for empty cells."""
    table = houses_table(n, seed=0)
    table.loc[table.index.isin([3, 7, 9]), "rooms"] = missing
    table.to_csv(path, index=False)
    return path


def test_main_fits_a_regression_table_with_null_markers(tmp_path, capsys):
    path = _write_regression_csv(tmp_path / "houses.csv")
    out_dir = tmp_path / "out"
    assert main(["--csv", str(path), "--target", "price", "--na-values", "<null>",
                 "--out", str(out_dir), *CSV_QUICK]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert ("houses.csv: regression ('price' has non-integer values; --task to override), 45 "
            "training rows, 15 held out, 3 features (2 numeric, 1 categorical") in out
    assert "Penalty sweep, ranked by cross-validation r2" in out
    assert "mean target" in out and "sklearn MLPRegressor" in out and "note" not in out
    assert "held-out r2" in out

    # the saved model predicts prices from a table with the same columns, '<null>' cells and all
    table = pd.read_csv(path, na_values=["<null>"])
    X, y = split_target(table, "price")
    _, X_test, _, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    model = joblib.load(out_dir / "model.joblib")
    predictions = model.predict(X_test)
    assert predictions.shape == (15,) and np.isfinite(predictions).all()
    results = pd.read_csv(out_dir / "results.csv")
    chosen = results[results["chosen"]].iloc[0]
    assert model.score(X_test, y_test) == pytest.approx(chosen["held_out"], rel=1e-9)
    # the baseline predicts the training mean: about R^2 = 0 held out
    baseline = results[results["model"] == "mean target"].iloc[0]
    assert baseline["rank"] == "ref" and -0.5 < baseline["held_out"] <= 0.05


def test_null_markers_without_na_values_are_pointed_out(tmp_path, capsys):
    path = _write_regression_csv(tmp_path / "houses.csv")
    assert main(["--csv", str(path), "--target", "price", *CSV_QUICK, "--scoring",
                 "neg_mean_absolute_error"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "(1 numeric, 2 categorical" in out  # 'rooms' is text because of '<null>'
    assert ("column 'rooms' is read as text because of the values ['<null>']; if they mark "
            "missing cells, pass --na-values '<null>'") in out
    assert "ranked by cross-validation neg_mean_absolute_error" in out


def test_the_task_can_be_overridden(tmp_path, capsys):
    # integer ratings 1..5: classes under --task auto, numbers under --task regression
    path = _write_csv(tmp_path / "ratings.csv", n=60, label=np.tile([1, 2, 3, 4, 5], 12))
    assert main(["--csv", str(path), "--target", "label", "--task", "regression",
                 "--scoring", "neg_mean_squared_error", *CSV_QUICK]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "ratings.csv: regression (--task regression), 45 training rows" in out
    assert "mean target" in out and "held-out neg_mean_squared_error" in out


@pytest.mark.parametrize(
    "y, task, reason",
    [
        (np.array(["cat", "dog", "cat"], dtype=object), "classification", "'y' has 2 classes"),
        (np.array([True, False, True]), "classification", "'y' has 2 classes"),
        (np.array([1, 2, 3, 1]), "classification", "'y' has 3 classes"),
        (np.array([0.5, 1.5, 2.0]), "regression", "'y' has non-integer values"),
        (np.arange(21), "regression", "'y' is numeric with 21 distinct values (more than 20)"),
        (np.arange(21.0), "regression", "'y' is numeric with 21 distinct values (more than 20)"),
        (np.arange(20), "classification", "'y' has 20 classes"),
    ],
)
def test_the_task_is_inferred_from_the_target(y, task, reason):
    assert infer_task(y, "auto", "y") == (task, f"{reason}; --task to override")


@pytest.mark.parametrize(
    "make_argv, message",
    [
        (lambda d: ["--csv", str(d), "--target", "label"],
         "--csv: {d} is a directory, not a CSV file"),
        (lambda d: ["--csv", str(_write_csv(d / "t.csv", weight=np.inf)), "--target", "label"],
         "--csv {d}/t.csv: column 'weight' has 40 infinite values, in data rows 0, 1, 2, 3, 4, "
         "... (counting from 0)"),
        (lambda d: ["--csv", str(_write_csv(d / "t.csv", weight=[1e300] + [1.0] * 39)),
                    "--target", "label"],
         "--csv {d}/t.csv: column 'weight' has 1 value beyond ±3.4e+38 (float32's range"),
        (lambda d: ["--csv", str(_write_csv(d / "t.csv", label=np.linspace(0, 1, 40))),
                    "--target", "label", "--task", "classification"],
         "--task classification: target column 'label' has non-integer values (like "),
        (lambda d: ["--csv", str(_write_csv(d / "t.csv")), "--target", "label", "--task",
                    "regression"],
         "--task regression: target column 'label' is not numeric (it has values like 'cat')"),
        (lambda d: ["--csv", str(_write_csv(d / "t.csv")), "--target", "label", "--scoring",
                    "neg_mean_squared_error"],
         "--scoring neg_mean_squared_error is a regression score, and the task is classification"),
        (lambda d: ["--csv", str(_write_csv(d / "t.csv")), "--target", "label", "--scoring", "f1"],
         "--scoring f1 does not work with this target: pos_label=1 is not a valid label"),
        (lambda d: ["--csv", str(_write_csv(d / "t.csv", label=np.linspace(0, 1, 40))),
                    "--target", "label", "--scoring", "accuracy"],
         "--scoring accuracy is a classification score, and the task is regression"),
        (lambda d: ["--csv", str(_write_regression_csv(d / "t.csv", n=5)), "--target", "price"],
         "--csv {d}/t.csv: 5 rows are too few for --cv 2 and --test-size 0.25"),
        (lambda d: ["--csv", str(_write_csv(d / "t.csv")), "--target", "label", "--out",
                    str(_write_csv(d / "taken.csv"))],
         "--out: {d}/taken.csv exists and is not a directory"),
    ],
)
def test_bad_csv_runs_are_explained_before_any_training(tmp_path, capsys, no_training,
                                                        make_argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main([*make_argv(tmp_path), *CSV_QUICK])
    assert exit_info.value.code == 2
    assert message.format(d=tmp_path) in " ".join(capsys.readouterr().err.split())


@pytest.mark.parametrize(
    "changes, target, message",
    [
        ({}, "species", "target column 'species' is not in the table; its columns are"),
        ({"label": np.repeat(np.arange(20), 2)}, "label", "20 of 20 classes have fewer than 4 "
                                                          "rows (needed for --cv 2"),
        ({"empty": np.nan}, "label", "columns with no value at all (every cell empty or NaN): "
                                     "['empty']"),
        ({"label": "cat"}, "label", "target column 'label' has a single value, 'cat'"),
        ({"label": ["cat"] * 38 + ["dog"] * 2}, "label", "1 of 2 classes have fewer than 4 rows"),
    ],
)
def test_bad_csv_files_are_explained(tmp_path, capsys, no_training, changes, target, message):
    path = _write_csv(tmp_path / "pets.csv", **changes)
    before = path.read_bytes()
    with pytest.raises(SystemExit) as exit_info:
        main(["--csv", str(path), "--target", target, *CSV_QUICK])
    assert exit_info.value.code == 2
    assert message in " ".join(capsys.readouterr().err.split())
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


# -- the command's name, its help and its defaults -------------------------------------------------


@pytest.mark.parametrize(
    "command, prog",
    [([sys.executable, "-m", "sklearn_regpen"], "python -m sklearn_regpen"),
     ([str(Path(sys.executable).with_name("regpen-sweep"))], "regpen-sweep")],
)
def test_help_is_plain_text_under_the_commands_own_name(command, prog):
    if not Path(command[0]).exists():
        pytest.fail(f"{command[0]} is missing: the package is not installed with its scripts")
    for sub in ([], ["predict"]):
        result = subprocess.run([*command, *sub, "--help"], capture_output=True, text=True,
                                check=True)
        usage = f"usage: {' '.join([prog, *sub])} "
        assert result.stdout.startswith(usage)
        for markup in ("``", ":func:", ":class:", ":mod:", "[bold]"):
            assert markup not in result.stdout
        if sub:  # predict's help names the sweep by the same name
            assert f'the sweep ("{prog} ... --out DIR")' in " ".join(result.stdout.split())
    assert f"{prog} predict --model results/ --csv new.csv --out predictions.csv" in result.stdout


def test_defaults_are_the_estimators(monkeypatch):
    from sklearn_regpen import RegularizedMLPRegressor
    from sklearn_regpen.cli.options import build_parser
    from sklearn_regpen.cli.sweep import models

    args = build_parser().parse_args([])
    assert args.hidden is None  # each task's network keeps its estimator's layers
    for task, estimator in (("classification", RegularizedMLPClassifier()),
                            ("regression", RegularizedMLPRegressor())):  # fmt: skip
        assert args.max_iter == estimator.max_iter
        network = models(args, task)[0]
        assert network.hidden_layer_sizes == estimator.hidden_layer_sizes
        assert ",".join(map(str, estimator.hidden_layer_sizes)) in build_parser().format_help()


# -- paths are the user's --------------------------------------------------------------------------


def test_relative_paths_are_read_from_the_current_directory(tmp_path, monkeypatch, capsys):
    _write_csv(tmp_path / "pets.csv")
    monkeypatch.chdir(tmp_path)
    assert main(["--csv", "pets.csv", "--target", "label", "--out", "results", *CSV_QUICK]) == 0
    assert (tmp_path / "results" / "model.joblib").is_file()


def test_ci_env_runs_commands_where_it_is_called(tmp_path):
    # .ci/env builds the environment the suite runs in; it must not move the user's paths
    env_script = ROOT / ".ci" / "env"
    if Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
        pytest.skip("the suite runs outside .ci/env's environment; calling it would build one")
    result = subprocess.run([str(env_script), "python", "-c", "import os; print(os.getcwd())"],
                            cwd=tmp_path, capture_output=True, text=True, check=True)
    assert Path(result.stdout.strip()).resolve() == tmp_path.resolve()


# -- files and targets refused before training -----------------------------------------------------


def test_a_repeated_column_name_is_refused(tmp_path, capsys, no_training):
    # pandas would read the second 'label' as 'label.1' and learn the target from it
    path = tmp_path / "pets.csv"
    _write_csv(path)
    lines = path.read_text().splitlines()
    rows = [line + "," + line.rsplit(",", 1)[1] for line in lines]
    path.write_text("\n".join(rows) + "\n")
    assert pd.read_csv(path).columns[-1] == "label.1"
    with pytest.raises(SystemExit) as exit_info:
        main(["--csv", str(path), "--target", "label", *CSV_QUICK])
    assert exit_info.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"--csv {path}: the header names more than one column 'label'" in err
    assert "'label.1'" in err


def _unwritable_directories():
    """Directories that exist but where no file can be created, as this process sees them."""
    found = []
    if hasattr(os, "geteuid") and os.geteuid() != 0:  # root writes through permissions
        found.append("read-only")
    if Path("/proc/self").is_dir():  # Linux: nothing can create files in /proc
        found.append("/proc/self")
    return found


@pytest.mark.parametrize("where", _unwritable_directories())
def test_an_unwritable_out_directory_is_refused_before_training(tmp_path, capsys, no_training,
                                                                where):
    if where == "read-only":
        out = tmp_path / "locked"
        out.mkdir()
        out.chmod(0o500)
    else:
        out = Path(where)
    try:
        with pytest.raises(SystemExit) as exit_info:
            main([*QUICK, "--out", str(out)])
    finally:
        if where == "read-only":
            out.chmod(0o700)
    assert exit_info.value.code == 2
    assert f"--out: cannot write in the directory {out}" in capsys.readouterr().err


@pytest.mark.parametrize(
    "label, task, message",
    [
        ([True, False] * 20, "regression",
         "--task regression: target column 'label' holds True/False values, which are classes, "
         "not numbers"),
        (np.repeat([1e20, 2e20], 20), "classification",
         "--task classification: target column 'label' has whole numbers too large for class "
         "codes (like 1e+20, beyond 64-bit integers), which are not class labels"),
    ],
)
def test_a_target_the_task_cannot_use_is_explained(tmp_path, capsys, no_training, label, task,
                                                   message):
    path = _write_csv(tmp_path / "t.csv", label=label)
    with pytest.raises(SystemExit) as exit_info:
        main(["--csv", str(path), "--target", "label", "--task", task, *CSV_QUICK])
    assert exit_info.value.code == 2
    assert message in " ".join(capsys.readouterr().err.split())
