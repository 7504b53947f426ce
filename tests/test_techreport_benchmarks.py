"""The techreport benchmarks run end to end on tiny settings and write their reports to tmp_path.

The paper-sized runs are the scripts' defaults; here every network is 8 units wide and trained
for a few epochs, so these tests check the plumbing (selection, saved settings, tables, figures,
the MNIST path), not the figures themselves.
"""

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks import (
    activation_histogram,
    adversarial_robustness,
    noise_jacobian_table,
    noise_robustness,
)

TINY = ["--quick", "--hidden", "8", "--max-iter", "4", "--max-rows", "150", "--seeds", "0"]


def test_table_then_figures_reuse_its_settings(tmp_path, capsys):
    out = ["--out", str(tmp_path)]
    assert noise_jacobian_table.main([*TINY, *out]) == 0
    text = (tmp_path / "noise_jacobian_table.md").read_text()
    for penalty in ("none", "l2", "noise", "jacobian", "noisy_jacobian"):
        assert f"`{penalty}`" in text
    assert "- seeds: 0" in text and "paper, MNIST" not in text
    saved = json.loads((tmp_path / "noise_jacobian_params.json").read_text())
    assert saved["setup"] == {"hidden": [8], "max_iter": 4}
    capsys.readouterr()
    for module in (noise_robustness, activation_histogram, adversarial_robustness):
        name = module.__name__.removeprefix("benchmarks.")
        assert module.main([*TINY, *out]) == 0
        assert "settings from" in capsys.readouterr().out  # no new selection
        assert (tmp_path / f"{name}.md").read_text().count("|") > 10
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000


def _write_idx(path: Path, array: np.ndarray):
    header = bytes([0, 0, 8, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def test_table_on_mnist_files_prints_the_papers_numbers(tmp_path):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 120), ("t10k", 40)):
        labels = np.arange(n) % 10
        images = rng.integers(0, 60, (n, 28, 28)) + 150 * (
            np.arange(784) % 10 == labels[:, None]
        ).reshape(n, 28, 28)
        _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", images)
        _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", labels)
    out = str(tmp_path / "out")
    assert noise_jacobian_table.main([*TINY, "--data", str(tmp_path), "--out", out]) == 0
    text = (tmp_path / "out" / "noise_jacobian_table.md").read_text()
    assert "MNIST: 120 training rows, 40 test rows, 784 pixels" in text
    assert "| 1.19 |" in text  # the paper's N + J figure beside ours


def test_missing_mnist_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        noise_jacobian_table.main([*TINY, "--data", str(tmp_path), "--out", str(tmp_path)])
