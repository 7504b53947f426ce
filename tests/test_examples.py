"""The example notebooks run, and the small-data benchmark runs and seeds every method alike.

Every ``examples/*.ipynb`` is executed with nbclient in a fresh kernel of this test run's Python,
with ``REGPEN_QUICK=1`` in the kernel's environment (each notebook shrinks its settings then) and
a temporary working directory, so a notebook that writes files cannot write into the repository.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "examples").glob("*.ipynb"))
#: seconds a notebook may take in quick mode, all its cells together
NOTEBOOK_TIMEOUT = 180


# -- notebooks -------------------------------------------------------------------------------------
def test_there_are_notebooks():
    names = {path.name for path in NOTEBOOKS}
    assert {"quickstart.ipynb", "tabular_pipeline.ipynb", "pytorch_loop.ipynb"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs(path, tmp_path):
    """Every cell runs without error, in quick mode, within the notebook's time budget."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")

    notebook = nbformat.read(path, as_version=4)
    sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    assert 'QUICK = os.environ.get("REGPEN_QUICK") == "1"' in sources[0], (
        f"{path.name}: the first code cell must set QUICK from REGPEN_QUICK"
    )
    # one more cell, in memory only: which Python and which QUICK the kernel ran with
    notebook.cells.append(
        nbformat.v4.new_code_cell("import sys\nprint(sys.executable)\nprint(QUICK)")
    )
    client = nbclient.NotebookClient(
        notebook, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    deadline = time.monotonic() + NOTEBOOK_TIMEOUT
    env = {**os.environ, "REGPEN_QUICK": "1"}
    with client.setup_kernel(env=env):
        for index, cell in enumerate(notebook.cells):
            # what is left of the notebook's budget bounds each cell; an error raises
            # CellExecutionError with the cell's traceback
            client.timeout = max(1, int(deadline - time.monotonic()))
            client.execute_cell(cell, index)
    executable, quick = notebook.cells[-1].outputs[0]["text"].split()
    assert Path(executable).resolve() == Path(sys.executable).resolve()
    assert quick == "True"
    assert list(tmp_path.iterdir()) == [], "the notebook left files in its working directory"


def test_notebooks_cite_sections_that_exist():
    """A section a notebook sends the reader to ("README, \"X\"", "documentation: Page, \"X\"",
    "the user guide's \"X\"") is a heading of the README or of a docs page."""
    import json
    import re

    pages = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]
    headings = {
        line.lstrip("#").strip()
        for page in pages
        if "_generated" not in page.parts
        for line in page.read_text().splitlines()
        if line.startswith("#")
    }
    cited = 0
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text())["cells"]
        text = " ".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        text = re.sub(r"\s+", " ", text)
        assert not re.search(r"README's \w+ section", text), path.name
        cites = r'(?:README|documentation: [^,"]+|user guide\'s),? \(?"([^"]+)"'
        for section in re.findall(cites, text):
            cited += 1
            assert any(h.startswith(section) for h in headings), f"{path.name}: {section!r}"
    assert cited >= 3


# -- the small-data benchmark ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_data():
    from benchmarks import small_data

    return small_data


def test_small_data_main_writes_its_report(small_data, tmp_path):
    argv = ["--quick", "--dataset", "iris", "--sizes", "10,20,60", "--max-iter", "3"]
    argv += ["--penalties", "none,l2,c2c", "--out", str(tmp_path)]
    assert small_data.main(argv) == 0
    text = (tmp_path / "small_data_iris.md").read_text()
    assert (tmp_path / "small_data_iris.png").stat().st_size > 0
    # iris has 50 rows per class: 60 cannot be drawn, and the report says so
    assert "skipped, as the smallest class cannot supply them with a row left to test: [60]" in text
    assert "| method | 10 / class |" in text  # --quick: the smallest size, 2 seeds
    # the error table and the choices table have every method, the paired table all but none
    assert [text.count(f"| {m} |") for m in ("`none`", "`l2`", "`c2c`")] == [2, 3, 3]
    rows = small_data.pd.read_csv(tmp_path / "small_data_iris.csv")
    assert len(rows) == 3 * 2  # methods x seeds
    assert set(rows["alpha"].dropna()) <= {1e-4, 1e-2, 1.0}  # the quick grid
    assert rows["test_error"].between(0, 1).all()


def test_small_data_refuses_sizes_no_class_can_supply(small_data, tmp_path):
    with pytest.raises(SystemExit, match="smallest class has 50 rows"):
        small_data.main(["--dataset", "iris", "--sizes", "50", "--out", str(tmp_path)])


def test_small_data_grids(small_data):
    """The thesis' strength grid, and epsilon searched wherever a penalty has one."""
    assert small_data.ALPHAS[0] == 1e-6 and small_data.ALPHAS[-1] == 3.0
    assert np.allclose(np.diff(np.log(small_data.ALPHAS)), np.log(3e6) / 6, rtol=0.05)
    for name, cls in small_data.PENALTIES.items():
        grid = small_data.candidates(name)
        alphas, epsilons = {a for a, _ in grid}, {e for _, e in grid}
        assert (alphas == set(small_data.ALPHAS)) == cls.uses_alpha
        assert (len(epsilons) > 1) == cls.uses_epsilon
    assert small_data.candidates("none") == [(None, None)]


def test_small_data_every_method_sees_the_same_rows_and_initial_weights(small_data, monkeypatch):
    """For one seed, every penalty trains on the same rows from the same initial weights."""
    from sklearn.datasets import load_iris

    from sklearn_regpen import RegularizedMLPClassifier

    X, y = load_iris(return_X_y=True)
    splits = [small_data.split(X, y, 10, seed=3) for _ in range(2)]
    for a, b in zip(*splits):
        np.testing.assert_array_equal(a, b)
    fit_rows, valid_rows, train_rows, test_rows = splits[0]
    assert sorted([*fit_rows, *valid_rows]) == sorted(train_rows)
    assert not set(train_rows) & set(test_rows)
    assert np.bincount(y[train_rows]).tolist() == [10, 10, 10]
    assert not np.array_equal(small_data.split(X, y, 10, seed=4)[2], train_rows)

    initial = []
    build = RegularizedMLPClassifier._build_net

    def record(self, *args, **kwargs):
        net = build(self, *args, **kwargs)
        initial.append({k: v.clone() for k, v in net.module_.state_dict().items()})
        return net

    monkeypatch.setattr(RegularizedMLPClassifier, "_build_net", record)
    fitted = []
    for penalty, alpha, epsilon in [("none", None, None), ("noise", None, 0.5), ("vat", 3.0, 1.0)]:
        model = small_data.make_model(penalty, alpha, epsilon, seed=3, max_iter=2, hidden=8)
        fitted.append(model.fit(X[train_rows], y[train_rows]))
    other_seed = small_data.make_model("none", None, None, seed=4, max_iter=2, hidden=8)
    other_seed.fit(X[train_rows], y[train_rows])

    assert len(initial) == 4
    for weights in initial[1:3]:
        for name, tensor in weights.items():
            assert (tensor == initial[0][name]).all(), name
    assert not all((initial[3][k] == v).all() for k, v in initial[0].items())
    # and the penalties did train differently from there
    final = [m[-1].net_.module_.state_dict()["layers.0.weight"] for m in fitted]
    assert not (final[0] == final[2]).all()
