"""``regpen-sweep predict``: a saved model predicts a new CSV file read as its training file was."""

import json

import joblib
import numpy as np
import pandas as pd
import pytest
from test_main import houses_table

from sklearn_regpen.cli import main
from sklearn_regpen.tables import split_target

QUICK = ["--grid", "tabular", "--cv", "2", "--max-iter", "5", "--hidden", "8", "--n-jobs", "1"]


def _houses(n, seed):
    """A regression table in KEEL's manner: '<null>' marks missing cells of a numeric column."""
    table = houses_table(n, seed)
    table.loc[table.index % 7 == 3, "rooms"] = "<null>"
    return table


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model directory written by the sweep on houses.csv, read with --na-values '<null>'."""
    folder = tmp_path_factory.mktemp("job")
    _houses(60, seed=0).to_csv(folder / "houses.csv", index=False)
    assert main(["--csv", str(folder / "houses.csv"), "--target", "price", "--na-values",
                 "<null>", "--out", str(folder / "results"), *QUICK]) == 0
    return folder / "results"


def test_the_model_directory_says_how_the_file_was_read(trained):
    reading = json.loads((trained / "model.json").read_text())
    assert reading["csv"] is True and reading["target"] == "price"
    assert reading["task"] == "regression" and reading["na_values"] == ["<null>"]
    assert reading["columns"] == ["area", "rooms", "town"]


def test_predict_reads_the_new_file_as_the_training_file_was_read(trained, tmp_path, capsys):
    new = _houses(25, seed=1)
    # a new file without the target, its columns in another order, with a column the model lacks
    new = new.drop(columns="price")[["town", "rooms", "area"]].assign(agent=["x"] * 25)
    new.to_csv(tmp_path / "new.csv", index=False)
    out = tmp_path / "predictions.csv"
    assert main(["predict", "--model", str(trained), "--csv", str(tmp_path / "new.csv"),
                 "--out", str(out)]) == 0
    predictions = pd.read_csv(out)
    assert list(predictions.columns) == ["price"] and len(predictions) == 25

    # the same numbers as the saved model on the file read with the job's --na-values
    model = joblib.load(trained / "model.joblib")
    X = pd.read_csv(tmp_path / "new.csv", na_values=["<null>"])[["area", "rooms", "town"]]
    expected = model.predict(X)
    np.testing.assert_allclose(predictions["price"], expected, rtol=1e-6)
    assert X["rooms"].isna().sum() == 4  # rows 3, 10, 17, 24: the markers were read as missing
    printed = " ".join(capsys.readouterr().out.split())
    assert "columns the model does not use, left out: ['agent']" in printed


def test_the_saved_model_reads_a_table_read_without_the_markers(trained, tmp_path):
    # pd.read_csv without na_values reads 'rooms' as text ('3', '<null>'): the saved model reads
    # it as the job read its training file, where median imputation of text would fail
    _houses(25, seed=1).to_csv(tmp_path / "new.csv", index=False)
    plain, _ = split_target(pd.read_csv(tmp_path / "new.csv"), "price")
    marked, _ = split_target(pd.read_csv(tmp_path / "new.csv", na_values=["<null>"]), "price")
    assert plain["rooms"].dtype == object and marked["rooms"].dtype == np.float64
    model = joblib.load(trained / "model.joblib")
    np.testing.assert_array_equal(model.predict(plain), model.predict(marked))


def test_predict_finds_the_paths_from_the_current_directory(trained, tmp_path, monkeypatch):
    _houses(10, seed=2).to_csv(tmp_path / "new.csv", index=False)
    monkeypatch.chdir(tmp_path)
    assert main(["predict", "--model", str(trained), "--csv", "new.csv", "--out",
                 "out/predictions.csv"]) == 0
    assert len(pd.read_csv(tmp_path / "out" / "predictions.csv")) == 10
    # the model file names its directory too
    assert main(["predict", "--model", str(trained / "model.joblib"), "--csv", "new.csv",
                 "--out", "again.csv"]) == 0
    pd.testing.assert_frame_equal(pd.read_csv("again.csv"), pd.read_csv("out/predictions.csv"))


@pytest.mark.parametrize(
    "make_argv, message",
    [
        (lambda d, m: ["--model", str(d / "nowhere"), "--csv", str(d / "new.csv")],
         "--model: {d}/nowhere is not a directory"),
        (lambda d, m: ["--model", str(d), "--csv", str(d / "new.csv")],
         "--model: {d} has no model.joblib and no model.json"),
        (lambda d, m: ["--model", str(m), "--csv", str(d / "missing.csv")],
         "--csv: no such file: {d}/missing.csv"),
        (lambda d, m: ["--model", str(m), "--csv", str(d / "short.csv")],
         "--csv {d}/short.csv: the model needs the columns ['town'], which the file lacks"),
        (lambda d, m: ["--model", str(m), "--csv", str(d / "text.csv")],
         "column 'area' held numbers when the model was trained, but here holds values that "
         "are not numbers besides the missing-cell markers ['<null>']: ['big']"),
        (lambda d, m: ["--model", str(m), "--csv", str(d / "new.csv"), "--out", str(d)],
         "--out: {d} is a directory; give a file name"),
    ],
)
def test_predict_explains_what_it_cannot_use(trained, tmp_path, capsys, make_argv, message):
    new = _houses(5, seed=3).drop(columns="price")
    new.to_csv(tmp_path / "new.csv", index=False)
    new.drop(columns="town").to_csv(tmp_path / "short.csv", index=False)
    new.astype({"area": object}).assign(area=["big", 1, 2, 3, 4]).to_csv(tmp_path / "text.csv",
                                                                          index=False)
    argv = make_argv(tmp_path, trained)
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "predictions.csv")]
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", *argv])
    assert exit_info.value.code == 2
    assert message.format(d=tmp_path) in " ".join(capsys.readouterr().err.split())
    assert not (tmp_path / "predictions.csv").exists()


def test_predict_refuses_a_model_of_a_bundled_table(tmp_path, capsys):
    out = tmp_path / "iris"
    assert main(["--dataset", "iris", "--per-class", "10", "--penalties", "none", "--cv", "2",
                 "--max-iter", "5", "--hidden", "8", "--n-jobs", "1", "--out", str(out)]) == 0
    pd.DataFrame({"a": [1.0]}).to_csv(tmp_path / "new.csv", index=False)
    with pytest.raises(SystemExit):
        main(["predict", "--model", str(out), "--csv", str(tmp_path / "new.csv"), "--out",
              str(tmp_path / "p.csv")])
    assert "was fitted on a bundled table, not a CSV file" in capsys.readouterr().err
