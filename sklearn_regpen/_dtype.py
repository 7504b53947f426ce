"""The precision the network computes in: the estimators' ``dtype`` parameter.

``"float32"`` (the default) is what PyTorch and GPUs are fast at; ``"float64"`` trains and
predicts in double precision, slower, for results that must not depend on rounding. Data of
either NumPy precision is accepted by both: the network's parameters, its inputs, targets and
sample weights, and so the data loss and the penalty, are all in ``dtype``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

#: the ``dtype`` parameter's values, and the torch precision of each
DTYPES = {"float32": torch.float32, "float64": torch.float64}

#: the largest magnitude float32 arithmetic can hold
FLOAT32_MAX = float(np.finfo(np.float32).max)


def torch_dtype(name: str) -> torch.dtype:
    """The torch precision of a ``dtype`` parameter value (``"float32"`` or ``"float64"``)."""
    return DTYPES[name]


def check_range(what: str, array, dtype: str) -> None:
    """Refuse finite values of ``array`` that arithmetic in ``dtype`` would turn into inf.

    Only float32 can fall short: a float64 network holds every finite float64 value.
    """
    if dtype != "float32":
        return
    values = array.data if sp.issparse(array) else np.asarray(array)
    if not values.size or values.dtype.kind != "f" or values.dtype.itemsize <= 4:
        return  # float32 (or narrower) holds nothing float32 cannot
    largest = max(values.max(), -values.min())  # no |values| temporary the size of the data
    if largest > FLOAT32_MAX:
        raise ValueError(
            f"{what} has values of magnitude up to {largest:.3g}, beyond float32's range "
            f"({FLOAT32_MAX:.3g}), in which the network computes; rescale it (StandardScaler), "
            "or train in double precision (dtype='float64')"
        )
