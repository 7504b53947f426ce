"""Targets on their way into the network: class weights (classifier), standardization (regressor).

Both are plain NumPy, computed once per fit in the estimators' ``_plan``, before any training.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.utils.class_weight import compute_class_weight


def check_class_weight(class_weight) -> None:
    """Refuse what scikit-learn's ``class_weight`` does not define, naming the parameter."""
    if class_weight is None or (isinstance(class_weight, str) and class_weight == "balanced"):
        return
    if not isinstance(class_weight, dict):
        raise ValueError(
            f"class_weight must be None, 'balanced' or a dict {{class label: weight}}; got "
            f"{class_weight!r}"
        )
    for label, weight in class_weight.items():
        if (
            isinstance(weight, bool)
            or not isinstance(weight, Real)
            or not np.isfinite(weight)
            or weight < 0
        ):
            raise ValueError(
                f"class_weight[{label!r}] = {weight!r}: class weights must be finite, "
                "non-negative numbers"
            )


def class_row_weights(class_weight, y, labelled: np.ndarray, classes: np.ndarray,
                      incremental: bool) -> np.ndarray | None:  # fmt: skip
    """Each row's class weight (1 for unlabelled rows), as scikit-learn defines ``class_weight``
    (``compute_class_weight``): ``"balanced"`` gives class ``c`` the weight
    ``n_labelled / (n_classes * n_labelled_c)``, counted on the labelled rows of this ``y``; a dict
    gives its classes their weight and the others 1. None when ``class_weight`` is None."""
    check_class_weight(class_weight)
    if class_weight is None:
        return None
    y_labelled = np.asarray(y)[labelled]
    if isinstance(class_weight, str):
        if incremental:
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit, whose batches do not "
                "show the class frequencies (as in scikit-learn's SGDClassifier): pass "
                "compute_class_weight('balanced', classes=classes, y=y_sample) as a dict"
            )
        missing = np.setdiff1d(classes, y_labelled)
        if len(missing):
            raise ValueError(
                f"class_weight='balanced' needs every class in y; {missing!r} have no labelled "
                "row in this fit"
            )
    try:
        per_class = compute_class_weight(class_weight, classes=classes, y=y_labelled)
    except ValueError as error:
        raise ValueError(f"class_weight={class_weight!r}: {error}") from None
    weights = np.ones(len(labelled), dtype=np.float64)
    weights[labelled] = per_class[np.searchsorted(classes, y_labelled)]
    return weights


def standardization(targets: np.ndarray, sample_weight=None) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, scale)`` per output column, weighted when ``sample_weight`` is given; a column
    whose spread is zero (or lost in float64 rounding of its mean) gets scale 1, as in
    scikit-learn's ``StandardScaler``."""
    targets = np.asarray(targets, dtype=np.float64)
    mean = np.average(targets, axis=0, weights=sample_weight)
    var = np.average((targets - mean) ** 2, axis=0, weights=sample_weight)
    scale = np.sqrt(var)
    tiny = 10 * np.finfo(np.float64).eps * np.maximum(np.abs(mean), 1.0)
    scale[~(scale > tiny)] = 1.0
    return mean, scale
