"""Where the MNIST studies find MNIST, and its arrays loaded once per process.

Nothing is downloaded: the studies read MNIST's four IDX files (``train-images-idx3-ubyte.gz``,
``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz``, ``t10k-labels-idx1-ubyte.gz``,
from Yann LeCun's MNIST page or any mirror) from the folder given by ``--data`` or, without it,
by the ``REGPEN_MNIST`` environment variable.
"""

from __future__ import annotations

import argparse
import functools
import os
from pathlib import Path

ENV = "REGPEN_MNIST"
WHERE = (
    f"pass --data FOLDER or set {ENV}=FOLDER, a folder holding MNIST's four IDX files "
    "(train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
    "t10k-labels-idx1-ubyte.gz: Yann LeCun's MNIST page or any mirror of it)"
)


def add_data_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=os.environ.get(ENV),
                        help=f"folder of MNIST's IDX files (default: ${ENV})")  # fmt: skip


def check_data(parser: argparse.ArgumentParser, data) -> Path:
    """The MNIST folder, or a usage error that says where to get it."""
    if data is None:
        parser.error(f"MNIST is needed: {WHERE}")
    if not Path(data).is_dir():
        parser.error(f"no MNIST folder at {data}: {WHERE}")
    return Path(data).resolve()


@functools.lru_cache(maxsize=2)
def mnist(folder: str):
    """``load_mnist(folder)``, read once per process (the studies' cells share it)."""
    from sklearn_regpen.datasets import load_mnist

    return load_mnist(folder)
