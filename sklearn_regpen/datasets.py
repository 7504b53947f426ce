"""Datasets for the main job, the examples and the benchmarks: scikit-learn's bundled tables,
and MNIST read from a local folder."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import datasets as skd

__all__ = [
    "CLASSIFICATION",
    "MNIST_FILES",
    "load_classification",
    "load_mnist",
    "per_class_split",
    "read_idx",
]

#: bundled classification tables, by the name the command line takes
CLASSIFICATION = {
    "digits": skd.load_digits,
    "breast_cancer": skd.load_breast_cancer,
    "wine": skd.load_wine,
    "iris": skd.load_iris,
}


def load_classification(name: str) -> tuple[pd.DataFrame, np.ndarray]:
    """A bundled classification table as ``(X, y)``, ``X`` a DataFrame with named columns.

    Parameters
    ----------
    name : {"digits", "breast_cancer", "wine", "iris"}
        One of scikit-learn's bundled tables (:data:`CLASSIFICATION`); nothing is downloaded.

    Returns
    -------
    X : pandas.DataFrame of shape (n_samples, n_features)
        The features, with scikit-learn's column names.
    y : ndarray of shape (n_samples,)
        The integer class labels.

    Examples
    --------
    >>> X, y = load_classification("wine")
    >>> X.shape, len(set(y))
    ((178, 13), 3)
    """
    if name not in CLASSIFICATION:
        raise ValueError(f"Unknown dataset {name!r}; choose one of {sorted(CLASSIFICATION)}")
    bunch = CLASSIFICATION[name](as_frame=True)
    return bunch.data, bunch.target.to_numpy()


def per_class_split(X, y, n_per_class: int, random_state=0):
    """Hold out all but ``n_per_class`` random rows of each class.

    The small-data protocol of the seeds: a fixed number of training rows per class, the rest
    for testing.

    Parameters
    ----------
    X : array-like or pandas.DataFrame of shape (n_samples, n_features)
        Features; DataFrames are split with ``iloc``.
    y : array-like of shape (n_samples,)
        Class labels.
    n_per_class : int
        Training rows per class; every class needs at least one row more.
    random_state : int or None, default=0
        Seeds the choice of rows (``numpy.random.default_rng``).

    Returns
    -------
    X_train, X_test, y_train, y_test
        The split, ``X`` parts of the same type as ``X``, ``y`` parts as ndarrays.

    Examples
    --------
    >>> X, y = load_classification("iris")
    >>> X_train, X_test, y_train, y_test = per_class_split(X, y, 5)
    >>> len(y_train), len(y_test)
    (15, 135)
    """
    rng = np.random.default_rng(random_state)
    y = np.asarray(y)
    train = []
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        if len(rows) <= n_per_class:
            raise ValueError(
                f"class {label!r} has {len(rows)} rows: fewer than "
                f"n_per_class + 1 = {n_per_class + 1}"
            )
        train.extend(rng.choice(rows, n_per_class, replace=False))
    mask = np.zeros(len(y), dtype=bool)
    mask[train] = True
    take = (lambda rows: X.iloc[rows]) if hasattr(X, "iloc") else (lambda rows: X[rows])
    return take(mask), take(~mask), y[mask], y[~mask]


#: the four files of MNIST, by the role they play; each may also be gzipped (``.gz``) or named
#: with a dot before ``idx`` (``train-images.idx3-ubyte``)
MNIST_FILES = {
    "X_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "X_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def read_idx(path) -> np.ndarray:
    """An unsigned-byte IDX array (LeCun's MNIST format), plain or gzipped, as ``uint8``.

    The header is two zero bytes, the type code ``0x08`` (unsigned byte), the number of
    dimensions, then each dimension as a big-endian 32-bit integer; the data follow.

    Parameters
    ----------
    path : str or path-like
        The file; a name ending in ``.gz`` is read through gzip.

    Returns
    -------
    ndarray of uint8
        The array, of the shape the header announces.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        raw = stream.read()
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file (bad magic number)")
    n_dims = raw[3]
    header = 4 + 4 * n_dims
    shape = tuple(int(v) for v in np.frombuffer(raw[4:header], dtype=">u4"))
    if len(raw) - header != int(np.prod(shape)):
        raise ValueError(
            f"{path}: the header announces shape {shape} ({int(np.prod(shape))} bytes) but "
            f"{len(raw) - header} bytes follow"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def load_mnist(path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST from a local folder holding its four standard IDX files (gzipped or not).

    Nothing is downloaded; a missing file is named in the error.

    Parameters
    ----------
    path : str or path-like
        The folder holding the files of :data:`MNIST_FILES` (each may end in ``.gz``, and be
        spelled with a dot before ``idx``: ``train-images.idx3-ubyte.gz``).

    Returns
    -------
    X_train, y_train, X_test, y_test
        Images flattened to rows of ``28 * 28`` float32 pixels scaled to ``[0, 1]`` (as in the
        techreport), labels as int64.

    Examples
    --------
    >>> load_mnist("/nonexistent")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: MNIST folder /nonexistent lacks train-images-idx3-ubyte[.gz], ...
    """
    folder = Path(path)
    found, missing = {}, []
    for role, name in MNIST_FILES.items():
        # LeCun's names, and the dotted spelling of some mirrors (train-images.idx3-ubyte)
        dotted = name.replace("-idx", ".idx")
        candidates = [folder / n for n in (name, f"{name}.gz", dotted, f"{dotted}.gz")]
        present = [c for c in candidates if c.is_file()]
        if present:
            found[role] = present[0]
        else:
            missing.append(f"{name}[.gz]")
    if missing:
        raise FileNotFoundError(f"MNIST folder {folder} lacks {', '.join(missing)}")
    arrays = {role: read_idx(file) for role, file in found.items()}
    for part in ("train", "test"):
        images, labels = arrays[f"X_{part}"], arrays[f"y_{part}"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(
                f"MNIST {part} files disagree: images of shape {images.shape}, labels of shape "
                f"{labels.shape}"
            )

    def rows(images):
        return (images.reshape(len(images), -1) / np.float32(255)).astype(np.float32)

    return (
        rows(arrays["X_train"]),
        arrays["y_train"].astype(np.int64),
        rows(arrays["X_test"]),
        arrays["y_test"].astype(np.int64),
    )
