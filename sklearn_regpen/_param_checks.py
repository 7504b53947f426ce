"""Declarative parameter checks, in our own small code.

The estimators declare ``_parameter_constraints`` as scikit-learn's estimators do, and check them
when ``fit`` starts. scikit-learn's implementation lives in a private module
(``sklearn.utils._param_validation``) that any release may move or change; importing it would let a
scikit-learn upgrade break ``import sklearn_regpen``. This module gives the same vocabulary and the
same messages with nothing private:

- :class:`Interval` (``Interval(Integral, 1, None, closed="left")``) and :class:`StrOptions`
  (``StrOptions({"cpu", "cuda"})``);
- a Python type (``dict``): an instance of it;
- ``None``: the value None;
- the strings ``"array-like"``, ``"boolean"``, ``"random_state"``, ``"verbose"``, and
  ``"no_validation"`` (anything goes), as scikit-learn spells them.

:func:`validate_params` raises :class:`InvalidParameterError`, a ``ValueError`` (and a
``TypeError``, as scikit-learn's is), with scikit-learn's message: ``The 'alpha' parameter of
RegularizedMLPClassifier must be a float in the range [0, inf). Got -1 instead.``

Examples
--------
>>> from numbers import Real
>>> constraints = {"alpha": [Interval(Real, 0, None, closed="left")],
...                "device": [StrOptions({"cpu", "cuda", "auto"})]}
>>> validate_params(constraints, {"alpha": 0.1, "device": "cpu"}, "Estimator")
>>> validate_params(constraints, {"alpha": -1, "device": "cpu"}, "Estimator")
Traceback (most recent call last):
...
sklearn_regpen._param_checks.InvalidParameterError: The 'alpha' parameter of Estimator must be a float in the range [0, inf). Got -1 instead.
"""  # noqa: E501

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
import torch

__all__ = ["InvalidParameterError", "Interval", "StrOptions", "same_value", "validate_params"]


class InvalidParameterError(ValueError, TypeError):
    """A parameter has a value or type its constraints do not allow.

    A ``ValueError`` and a ``TypeError``, like scikit-learn's error of the same name, so that code
    catching either keeps working.
    """


class Interval:
    """Numbers of a type within bounds.

    Parameters
    ----------
    type : {numbers.Integral, numbers.Real}
        ``Integral`` accepts Python and NumPy integers; ``Real`` accepts any real number. Booleans
        are refused by both.
    left, right : float or None
        The bounds; None is unbounded on that side.
    closed : {"left", "right", "both", "neither"}
        Which bounds belong to the interval.
    """

    def __init__(self, type, left, right, *, closed):
        if type not in (Integral, Real):
            raise ValueError(f"type must be numbers.Integral or numbers.Real, got {type!r}")
        if closed not in ("left", "right", "both", "neither"):
            raise ValueError(f"closed must be 'left', 'right', 'both' or 'neither', got {closed!r}")
        if left is not None and right is not None and right < left:
            raise ValueError(f"right ({right}) must not be below left ({left})")
        self.type = type
        self.left = left
        self.right = right
        self.closed = closed

    def is_satisfied_by(self, value) -> bool:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, self.type):
            return False
        if isinstance(value, float) and math.isnan(value):
            return False
        low = -math.inf if self.left is None else self.left
        high = math.inf if self.right is None else self.right
        above = value >= low if self.closed in ("left", "both") else value > low
        below = value <= high if self.closed in ("right", "both") else value < high
        return bool(above and below)

    def __str__(self) -> str:
        kind = "an int" if self.type is Integral else "a float"
        left = "-inf" if self.left is None else self.left
        right = "inf" if self.right is None else self.right
        opening = "[" if self.closed in ("left", "both") and self.left is not None else "("
        closing = "]" if self.closed in ("right", "both") and self.right is not None else ")"
        return f"{kind} in the range {opening}{left}, {right}{closing}"

    def __repr__(self) -> str:
        name = "Integral" if self.type is Integral else "Real"
        return f"Interval({name}, {self.left!r}, {self.right!r}, closed={self.closed!r})"


class StrOptions:
    """One of a set of strings.

    Parameters
    ----------
    options : set of str
        The accepted values.
    """

    def __init__(self, options):
        if not all(isinstance(option, str) for option in options):
            raise ValueError(f"options must be strings, got {options!r}")
        self.options = set(options)

    def is_satisfied_by(self, value) -> bool:
        return isinstance(value, str) and value in self.options

    def __str__(self) -> str:
        return f"a str among {{{', '.join(repr(o) for o in sorted(self.options))}}}"

    def __repr__(self) -> str:
        return f"StrOptions({sorted(self.options)!r})"


def _is_array_like(value) -> bool:
    """A sequence or array, not a scalar or a string (scikit-learn's "array-like")."""
    if isinstance(value, (str, bytes)):
        return False
    if hasattr(value, "shape") and getattr(value, "ndim", 1) == 0:
        return False
    return hasattr(value, "__len__") or hasattr(value, "shape") or hasattr(value, "__array__")


_NAMED = {
    "array-like": (_is_array_like, "an array-like"),
    "boolean": (lambda v: isinstance(v, (bool, np.bool_)), "an instance of 'bool'"),
    "random_state": (
        lambda v: v is None
        or isinstance(v, np.random.RandomState)
        or (isinstance(v, Integral) and not isinstance(v, (bool, np.bool_)) and 0 <= v < 2**32),
        "an int in the range [0, 4294967295], an instance of 'numpy.random.RandomState' or None",
    ),
    "verbose": (
        lambda v: isinstance(v, (bool, np.bool_)) or (isinstance(v, Integral) and v >= 0),
        "an int in the range [0, inf) or an instance of 'bool'",
    ),
}


def _check(constraint):
    """``(predicate, description)`` of one constraint."""
    if isinstance(constraint, (Interval, StrOptions)):
        return constraint.is_satisfied_by, str(constraint)
    if constraint is None:
        return (lambda v: v is None), "None"
    if isinstance(constraint, type):
        return (lambda v: isinstance(v, constraint)), f"an instance of '{constraint.__name__}'"
    if isinstance(constraint, str) and constraint in _NAMED:
        return _NAMED[constraint]
    raise ValueError(f"unknown constraint {constraint!r}")


def _describe(descriptions: list[str]) -> str:
    if len(descriptions) == 1:
        return descriptions[0]
    return f"{', '.join(descriptions[:-1])} or {descriptions[-1]}"


def validate_params(constraints: dict, params: dict, caller_name: str) -> None:
    """Check every parameter that has constraints; raise on the first that meets none of them.

    Parameters
    ----------
    constraints : dict
        Parameter name to a list of constraints (any one suffices), or to the string
        ``"no_validation"``. Parameters without an entry are not checked.
    params : dict
        Parameter name to value, e.g. ``estimator.get_params(deep=False)``.
    caller_name : str
        The estimator or function named in the message.

    Raises
    ------
    InvalidParameterError
        ``The '<name>' parameter of <caller_name> must be <what the constraints allow>. Got
        <value!r> instead.``
    """
    for name, value in params.items():
        allowed = constraints.get(name, "no_validation")
        if isinstance(allowed, str) and allowed == "no_validation":
            continue
        checks = [_check(constraint) for constraint in allowed]
        if any(predicate(value) for predicate, _ in checks):
            continue
        raise InvalidParameterError(
            f"The {name!r} parameter of {caller_name} must be "
            f"{_describe([description for _, description in checks])}. Got {value!r} instead."
        )


def same_value(a, b) -> bool:
    """Whether two parameter values are the same, for anything a parameter may hold.

    Arrays and tensors are the same when they have the same type, dtype, shape and values (NaN
    equal to NaN; a tensor's device too); lists, tuples and dicts item by item; anything else by
    ``==`` when that gives a truth value (``a == b`` of two arrays does not), else by identity.

    >>> same_value(np.ones(3), np.ones(3)), same_value(np.ones(3), np.ones(4))
    (True, False)
    >>> same_value((8, 8), (8, 8)), same_value({"k": np.zeros(2)}, {"k": np.zeros(2)})
    (True, True)
    """
    if a is b:
        return True
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same_value, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    arrays = (np.ndarray, torch.Tensor)
    if isinstance(a, arrays) or isinstance(b, arrays):
        if type(a) is not type(b) or a.dtype != b.dtype or a.shape != b.shape:
            return False
        if isinstance(a, torch.Tensor):
            if a.device != b.device:
                return False
            a, b = a.detach().cpu().numpy(), b.detach().cpu().numpy()
        try:
            return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
        except TypeError:  # object arrays
            return False
    try:
        equal = a == b
    except Exception:  # noqa: BLE001 (a value whose == raises is not known to be the same)
        return False
    return bool(equal) if isinstance(equal, (bool, np.bool_)) else False
