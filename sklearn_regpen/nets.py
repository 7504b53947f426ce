"""``RegularizedNetClassifier`` and ``RegularizedNetRegressor``: any torch module, skorch-style.

The module is a parameter: an ``nn.Module`` subclass, or any callable returning a module, built
anew at every fit from ``module__<name>`` parameters, as skorch does; the optimizer likewise
(``optimizer``, ``optimizer__<name>``). Everything else (penalties, validation, the
transactional fit, early stopping, ``warm_start``, ``partial_fit``, seeding, devices) is the
machinery of the MLP estimators, shared through ``estimators._RegularizedEstimator``; an MLP
estimator is this estimator with ``module=MLP``.

skorch-style parameters in ``**kwargs``: scikit-learn's ``get_params`` reads the ``__init__``
signature, which cannot list them, so :meth:`_RegularizedNet.get_params` adds them and
:meth:`_RegularizedNet.set_params` takes them, and ``clone`` (which rebuilds an estimator from
``get_params(deep=False)``) round-trips them. They are kept in one private dict rather than as
attributes, so that ``__init__`` sets no attribute that is not a parameter of its signature
(scikit-learn's ``check_no_attributes_set_in_init``, which skorch's nets fail).
"""

from __future__ import annotations

import copy
import difflib
import inspect
import math

import torch
from sklearn.base import ClassifierMixin, RegressorMixin

from ._docs import (
    CLASS_WEIGHT_DOC,
    NET_DEFAULTS,
    NET_DOC,
    NORMALIZE_Y_DOC,
    NORMALIZED_ALPHA_DOC,
    _penalty_lines,
)
from ._param_checks import StrOptions
from ._training import COUPLED_DECAY, FUSED_ADAM
from .estimators import _Classifier, _Regressor, _RegularizedEstimator
from .modules import MLP

__all__ = ["RegularizedNetClassifier", "RegularizedNetRegressor"]

#: the prefixes ``**kwargs`` and ``set_params`` route, as in skorch
PREFIXES = ("module__", "optimizer__")

#: the module arguments the estimator fills from the data when the module's signature has them
#: and no ``module__<name>`` sets them
DATA_ARGUMENTS = ("n_features", "input_shape", "n_outputs")


#: optimizers the training loop cannot run, and why
REFUSED_OPTIMIZERS = {
    "LBFGS": "it needs a closure that evaluates the loss again at every step, and training "
    "takes one step per batch without one",
    "SparseAdam": "it takes sparse gradients only, and the network's gradients are dense",
}


def _holds_module(value) -> bool:
    """Whether ``value`` is a torch module, or a list, tuple, set or dict holding one."""
    if isinstance(value, torch.nn.Module):
        return True
    if isinstance(value, dict):
        return any(_holds_module(v) for v in value.values())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_holds_module(v) for v in value)
    return False


def _own_copy(value):
    """``value``, deep-copied when it holds a torch module: a ``module__backbone=bb`` is copied
    at every fit, so the fit trains its own copy, never ``bb`` in place, and two estimators given
    the same ``bb`` never share weights."""
    return copy.deepcopy(value) if _holds_module(value) else value


def _signature_names(factory) -> set[str]:
    try:
        return set(inspect.signature(factory).parameters)
    except (TypeError, ValueError):  # a builtin or C callable without a signature
        return set()


def _check_arguments(prefix: str, factory, given: dict, taken_elsewhere=(), extra=()) -> None:
    """Refuse ``prefix<name>`` arguments that ``factory``'s signature does not take (unless it
    takes ``**kwargs``, or has no signature) and that are not among ``extra`` (taken by skorch),
    naming them, the closest valid name and all the valid ones."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    valid = [name for name, p in params.items() if name not in ("self", *taken_elsewhere)
             and p.kind is not p.VAR_POSITIONAL] + list(extra)  # fmt: skip
    unknown = [name for name in given if name not in params and name not in extra]
    if not unknown:
        return
    close = difflib.get_close_matches(unknown[0], valid, n=1, cutoff=0.4)
    hint = f" Did you mean {prefix}{close[0]}?" if close else ""
    name = getattr(factory, "__name__", repr(factory))
    raise ValueError(
        f"{', '.join(prefix + u for u in unknown)}: {name} takes no argument "
        f"{', '.join(map(repr, unknown))}.{hint} Its arguments: "
        f"{', '.join(prefix + v for v in valid) or 'none'}"
    )


class _RegularizedNet(_RegularizedEstimator):
    """The case of any module: ``module`` and ``optimizer``, with their prefixed parameters."""

    _allow_nd = True
    _any_keyword = True  # module__* and optimizer__*, checked in fit

    _parameter_constraints: dict = {
        **_RegularizedEstimator._parameter_constraints,
        "module": "no_validation",  # checked in _check_architecture, with a clearer message
        "optimizer": "no_validation",
    }

    def __init__(self, module=MLP, *, optimizer=torch.optim.Adam, **kwargs):
        shared = _RegularizedEstimator._get_param_names()
        super().__init__(**{k: kwargs.pop(k) for k in shared if k in kwargs})
        self.module = module
        self.optimizer = optimizer
        # checked in fit, as every parameter (scikit-learn's rule: __init__ and set_params
        # store, never raise)
        self._prefixed = dict(kwargs)

    # -- skorch-style parameters ----------------------------------------------------------------
    def _check_prefixed(self) -> None:
        bad = [k for k in self._prefixed if not k.startswith(PREFIXES) or k in PREFIXES]
        if bad:
            close = difflib.get_close_matches(bad[0], self._get_param_names(), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"{type(self).__name__} got unknown parameter(s) {bad}: besides its own "
                f"parameters it takes module__<name> and optimizer__<name> only.{hint}"
            )

    def get_params(self, deep=True):
        """Parameters of the estimator: those of ``__init__``, then every ``module__<name>`` and
        ``optimizer__<name>`` set, as skorch's ``NeuralNet.get_params`` does."""
        params = super().get_params(deep=deep)
        params.update(vars(self).get("_prefixed", {}))
        return params

    def set_params(self, **params):
        """Set parameters; ``module__<name>`` and ``optimizer__<name>`` keys set the module's and
        the optimizer's arguments (used from the next ``fit``), ``penalty__<option>`` one entry
        of ``penalty_options``."""
        # besides the signature's names and penalty__<option>, every key is kept here and
        # checked in fit (so set_params, like __init__, never raises on a name)
        own = set(self._get_param_names())

        def kept_here(key):
            return key.startswith(PREFIXES) or (key not in own and "__" not in key)

        prefixed = {k: params.pop(k) for k in list(params) if kept_here(k)}
        super().set_params(**params)
        if prefixed:  # a new dict: a snapshot of vars(self) keeps the old one
            self._prefixed = {**self._prefixed, **prefixed}
        return self

    def __getattr__(self, name):
        # est.module__hidden reads the parameter, as on a skorch net
        if name.startswith(PREFIXES) and name in vars(self).get("_prefixed", {}):
            return vars(self)["_prefixed"][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _params_for(self, prefix: str) -> dict:
        return {k[len(prefix) :]: v for k, v in self._prefixed.items() if k.startswith(prefix)}

    # -- the module and the optimizer -----------------------------------------------------------
    def _check_architecture(self) -> dict:
        self._check_prefixed()
        module = self.module
        if isinstance(module, torch.nn.Module) or not callable(module):
            raise ValueError(
                "module must be an nn.Module subclass or a callable returning a module (the "
                "estimator builds a fresh one at every fit, with the module__* parameters); got "
                f"{module!r}" + (
                    f": pass the class, {type(module).__name__}, not an instance"
                    if isinstance(module, torch.nn.Module) else ""
                )
            )  # fmt: skip
        optimizer = self.optimizer
        if not callable(optimizer) or isinstance(optimizer, torch.optim.Optimizer):
            raise ValueError(
                "optimizer must be a torch.optim.Optimizer subclass (or a callable taking the "
                f"parameters and keyword arguments), such as torch.optim.Adam; got {optimizer!r}"
            )
        refused = REFUSED_OPTIMIZERS.get(getattr(optimizer, "__name__", None))
        if refused and isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer):
            raise ValueError(
                f"optimizer={optimizer.__name__} cannot train here: {refused}. Use "
                "torch.optim.Adam (the default), AdamW or SGD"
            )
        options = self._params_for("optimizer__")
        if "lr" in options:
            raise ValueError(
                "optimizer__lr: the learning rate is learning_rate_init (which "
                "learning_rate='adaptive' lowers); set that instead"
            )
        if "weight_decay" in options and optimizer in COUPLED_DECAY:
            raise ValueError(
                f"optimizer__weight_decay with {optimizer.__name__}: its coupled decay is "
                "penalty='l2' (alpha is the decay); for decoupled decay use "
                "optimizer=torch.optim.AdamW"
            )
        # the module's own arguments; those filled from the data are named by the data
        _check_arguments("module__", module, self._params_for("module__"))
        # skorch's param_groups: [(pattern, {option: value}), ...] for some of the parameters
        _check_arguments("optimizer__", optimizer, options, taken_elsewhere=("params", "lr"),
                         extra=("param_groups",))  # fmt: skip
        return {"module": module, **{k: v for k, v in self._prefixed.items()
                                     if k.startswith("module__")}}  # fmt: skip

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True  # and more: images (n, channels, height, width)
        return tags

    def _module_factory(self, input_shape, n_outputs):
        user = self._params_for("module__")
        known = _signature_names(self.module)
        from_data = {
            "n_features": math.prod(input_shape),
            "input_shape": tuple(input_shape),
            "n_outputs": n_outputs,
        }
        filled = {k: v for k, v in from_data.items() if k in known and k not in user}
        return self.module, {**filled, **{k: _own_copy(v) for k, v in user.items()}}

    def _optimizer_factory(self):
        options = self._params_for("optimizer__")
        if self.optimizer is torch.optim.Adam and FUSED_ADAM:
            # as for the MLP estimators: one fused update, unless the user chose how
            if not {"fused", "foreach", "capturable", "differentiable"} & set(options):
                options = {"fused": True, **options}
        return self.optimizer, options


_NET_EXAMPLE = """    >>> import torch
    >>> from torch import nn
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_regpen import {name}
    >>> class TinyCNN(nn.Module):
    ...     def __init__(self, n_outputs, channels=4):
    ...         super().__init__()
    ...         self.layers = nn.Sequential(
    ...             nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(), nn.Flatten(),
    ...             nn.Linear(channels * 64, n_outputs))
    ...     def forward(self, x):
    ...         return self.layers(x)
    >>> X, y = load_digits(return_X_y=True)
    >>> X = (X / 16).reshape(-1, 1, 8, 8)          # images: (n, channels, height, width)
    {example}"""


class RegularizedNetClassifier(ClassifierMixin, _Classifier, _RegularizedNet):
    __doc__ = NET_DOC.format(
        summary="Classifier training your own torch module with an input-space regularizer.",
        **NET_DEFAULTS,
        loss="cross-entropy",
        outputs="one logit per class",
        f_meaning="the class probabilities ``softmax(z)`` of the logits ``z``",
        penalties=_penalty_lines(),
        alpha_units="",
        task_parameters=CLASS_WEIGHT_DOC,
        score_name="accuracy",
        semi_supervised="""Rows whose label is ``-1`` are unlabelled: the data loss uses the
        labelled rows, the penalty all rows (as for ``RegularizedMLPClassifier``).""",
        attributes="""    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_outputs_ : int
        Number of classes: the module's outputs, one logit per class.""",
        examples=_NET_EXAMPLE.format(
            name="RegularizedNetClassifier",
            example=""">>> clf = RegularizedNetClassifier(TinyCNN, module__channels=8,
    ...     penalty="jacobian", alpha=0.01, tol=0.05, random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True""",
        ),
    )

    _parameter_constraints: dict = {
        **_RegularizedNet._parameter_constraints,
        "class_weight": [StrOptions({"balanced"}), dict, None],
    }

    def __init__(self, module=MLP, *, class_weight=None, **kwargs):
        super().__init__(module, **kwargs)
        self.class_weight = class_weight


class RegularizedNetRegressor(RegressorMixin, _Regressor, _RegularizedNet):
    __doc__ = NET_DOC.format(
        summary="Regressor training your own torch module with an input-space regularizer.",
        **NET_DEFAULTS,
        loss="half the squared error",
        outputs="one output per target",
        f_meaning="the raw outputs ``z``",
        penalties=_penalty_lines(),
        alpha_units=NORMALIZED_ALPHA_DOC,
        task_parameters=NORMALIZE_Y_DOC,
        score_name="R^2",
        semi_supervised="""Only the classifier has unlabelled rows; True raises ``ValueError``.""",
        attributes="""    n_outputs_ : int
        Number of targets.""",
        examples=_NET_EXAMPLE.format(
            name="RegularizedNetRegressor",
            example=""">>> reg = RegularizedNetRegressor(TinyCNN, penalty="c2c", alpha=1.0,
    ...     tol=0.05, random_state=0).fit(X, y / 9)
    >>> reg.predict(X[:2]).shape
    (2,)""",
        ),
    )

    _parameter_constraints: dict = {
        **_RegularizedNet._parameter_constraints,
        "normalize_y": ["boolean"],
    }

    def __init__(self, module=MLP, *, normalize_y=True, **kwargs):
        super().__init__(module, **kwargs)
        self.normalize_y = normalize_y
