"""``benchmarks/techreport_mnist.py`` end to end: on real MNIST in quick mode where the data lie
beside the repository (``../shared/data/mnist``), and on tiny IDX files everywhere; plus the
MNIST loader's two file-naming conventions."""

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

from benchmarks import techreport_mnist
from sklearn_regpen.datasets import MNIST_FILES, load_mnist


def _write_idx(path: Path, array: np.ndarray):
    header = bytes([0, 0, 8, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def fake_mnist(folder: Path, dotted: bool, n_train=200, n_test=60) -> Path:
    """Separable 28x28 'digits' in MNIST's four files, named ``train-images-idx3-ubyte.gz``
    (LeCun's) or ``train-images.idx3-ubyte.gz`` (``dotted``, as in ``../shared/data/mnist``)."""
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = np.arange(n) % 10
        images = rng.integers(0, 60, (n, 28, 28)) + 150 * (
            np.arange(784) % 10 == labels[:, None]
        ).reshape(n, 28, 28)
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            name = f"{prefix}-{kind}-ubyte.gz"
            _write_idx(folder / (name.replace("-idx", ".idx") if dotted else name), array)
    return folder


@pytest.mark.parametrize("dotted", [False, True])
def test_load_mnist_reads_both_file_names(tmp_path, dotted):
    X_train, y_train, X_test, y_test = load_mnist(fake_mnist(tmp_path, dotted))
    assert X_train.shape == (200, 784) and X_test.shape == (60, 784)
    assert X_train.dtype == np.float32 and 0 <= X_train.min() and X_train.max() <= 1
    assert list(y_test[:3]) == [0, 1, 2] and len(MNIST_FILES) == 4


def test_benchmark_on_tiny_files(tmp_path):
    (tmp_path / "mnist").mkdir()
    data = fake_mnist(tmp_path / "mnist", dotted=True)
    out = tmp_path / "out"
    argv = ["--data", str(data), "--quick", "--hidden", "8", "--max-iter", "2",
            "--valid-rows", "50", "--test-rows", "60", "--hessian-rows", "5",
            "--threads", "1", "--out", str(out)]  # fmt: skip
    assert techreport_mnist.main(argv) == 0
    text = (out / "techreport_mnist.md").read_text()
    assert "MNIST (quick: 3,000 training rows)" in text
    for penalty in techreport_mnist.PENALTIES:
        assert f"| `{penalty}` |" in text
    assert "| 1.19 |" in text  # the techreport's number for noisy_jacobian beside ours
    assert "hessian_sq_norm" in text and "## Cost" in text
    for figure in ("techreport_mnist_activations.png", "techreport_mnist_noise.png"):
        assert (out / figure).stat().st_size > 10_000
    # a second run finds every fit in the cache and fits nothing
    cache = out / "techreport_mnist_cache.json"
    before = cache.read_text()
    assert techreport_mnist.main(argv) == 0 and cache.read_text() == before


def test_a_missing_data_folder_is_named_before_any_fit(tmp_path, capsys):
    with pytest.raises(SystemExit):
        techreport_mnist.main(["--data", str(tmp_path / "nowhere"), "--out", str(tmp_path)])
    assert "nowhere" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


# MNIST beside this checkout (as in the project's development set-up) or named by REGPEN_MNIST
REAL = Path(os.environ.get("REGPEN_MNIST", Path(__file__).parents[2] / "shared/data/mnist"))


@pytest.mark.skipif(not REAL.is_dir(), reason=f"MNIST not found at {REAL} (set REGPEN_MNIST)")
def test_quick_mode_on_real_mnist(tmp_path):
    """The suite's run of the benchmark: a few thousand real rows, under a minute."""
    argv = ["--quick", "--data", str(REAL), "--threads", "1", "--out", str(tmp_path)]
    assert techreport_mnist.main(argv) == 0
    text = (tmp_path / "techreport_mnist.md").read_text()
    table = text.split("## Test error (techreport Table 1)")[1].split("###")[0]
    errors = [float(line.split("|")[4].split()[0]) for line in table.splitlines()
              if line.startswith("| MLP")]  # fmt: skip
    assert len(errors) == 7 and max(errors) < 20  # 5 epochs of a 100-unit net: about 12%


# -- the neighbours of a choice ----------------------------------------------------------------
def _cell(penalty, hidden, **setting):
    return {"penalty": penalty, "hidden": hidden, "setting": setting, "seed": 0}


def test_next_point_continues_the_grid_spacing():
    # evenly spaced (noise's standard deviations): one more step; else the 1-3-10 ladder
    assert techreport_mnist.next_point(0.3, [0.1, 0.2, 0.3], +1) == 0.4
    assert techreport_mnist.next_point(0.1, [0.1, 0.2, 0.3], -1) is None  # 0 is no std
    assert techreport_mnist.next_point(0.03, [0.03, 0.1, 0.3, 1.0], -1) == 0.01
    assert techreport_mnist.next_point(1.0, [0.3, 1.0], +1) == 3.0
    assert techreport_mnist.next_point(10.0, [10.0, 100.0], -1) == 3.0


def _settings(cells):
    return {tuple(sorted(c["setting"].items())) for c in cells}


def _jacobian(alpha, rate=None):
    return _cell("jacobian", [1000, 1000], alpha=alpha,
                 **({} if rate is None else {"learning_rate_init": rate}))  # fmt: skip


def test_a_choice_at_the_grid_end_adds_the_next_point_and_stops_when_beaten():
    grid = [_jacobian(a) for a in (0.03, 0.1, 0.3, 1.0)]
    slow = [_jacobian(a, 1e-3) for a in (0.03, 0.1, 0.3, 1.0)]
    fast = [_jacobian(a, 1e-2) for a in (0.03, 0.1, 0.3, 1.0)]
    tried = grid + slow + fast
    # the point past the end of alpha's grid, at the same rate; nothing on the rate's axis,
    # which was tried both ways
    assert techreport_mnist.neighbours(grid[0], tried) == [_jacobian(0.01)]
    won = _jacobian(0.01)
    assert _settings(techreport_mnist.neighbours(won, tried + [won])) == {
        (("alpha", 0.003),), (("alpha", 0.01), ("learning_rate_init", 1e-3)),
        (("alpha", 0.01), ("learning_rate_init", 1e-2))}
    # MAX_BEYOND points past the grid at most
    second = _jacobian(0.003)
    assert _settings(techreport_mnist.neighbours(second, tried + [won, second])) == {
        (("alpha", 0.003), ("learning_rate_init", 1e-3)),
        (("alpha", 0.003), ("learning_rate_init", 1e-2))}
    # an interior choice at the grid's rate has its neighbours in the grid already
    assert techreport_mnist.neighbours(grid[1], tried) == []
    # two axes at their ends add one point each (and the rate, tried at 3e-3 only, its two)
    vats = [_cell("vat", [1000], **s) for s in techreport_mnist.GRIDS["full"]["vat"]]
    vat = _cell("vat", [1000], alpha=1.0, epsilon=1.0)
    assert _settings(techreport_mnist.neighbours(vat, vats)) == {
        (("alpha", 3.0), ("epsilon", 1.0)), (("alpha", 1.0), ("epsilon", 0.3)),
        (("alpha", 1.0), ("epsilon", 1.0), ("learning_rate_init", 1e-3)),
        (("alpha", 1.0), ("epsilon", 1.0), ("learning_rate_init", 1e-2))}


def test_a_choice_at_the_slower_rate_tries_its_neighbours_at_that_rate():
    grid = [_jacobian(a) for a in (0.03, 0.1, 0.3, 1.0)]
    slow = _jacobian(0.03, 1e-3)
    # the grid's neighbour above was tried at 3e-3 only; below, the point past the grid; and
    # the rate's next point down, 1e-3 being the end of the rates tried
    assert _settings(techreport_mnist.neighbours(slow, grid + [slow])) == {
        (("alpha", 0.01), ("learning_rate_init", 1e-3)),
        (("alpha", 0.1), ("learning_rate_init", 1e-3)),
        (("alpha", 0.03), ("learning_rate_init", 3e-4))}
    # once all three were tried and lost, nothing more; the other architecture's cells do not
    # count as tried
    tried = [_jacobian(0.01, 1e-3), _jacobian(0.1, 1e-3), _jacobian(0.03, 3e-4)]
    assert techreport_mnist.neighbours(slow, grid + [slow] + tried) == []
    other = [{**c, "hidden": [1000]} for c in tried]
    assert len(techreport_mnist.neighbours(slow, grid + [slow] + other)) == 3
    # a neighbour that wins calls for its own next neighbours
    assert _settings(techreport_mnist.neighbours(tried[1], grid + [slow] + tried)) == {
        (("alpha", 0.3), ("learning_rate_init", 1e-3)),
        (("alpha", 0.1), ("learning_rate_init", 3e-4))}
