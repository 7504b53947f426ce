"""The estimators' shared machinery, and ``RegularizedMLPClassifier`` / ``RegularizedMLPRegressor``.

``_RegularizedEstimator`` holds everything a fit does whatever the network is (validation,
seeding, the transaction, the epoch loop, publishing); ``_Classifier`` and ``_Regressor`` hold
what the task adds (labels or targets, scores, predictions). The MLP estimators are the case
whose module is :class:`~sklearn_regpen.modules.MLP`, built from scikit-learn's parameter names
(``hidden_layer_sizes``, ``activation``); ``nets.py`` has the case of any module
(``RegularizedNetClassifier`` / ``RegularizedNetRegressor``, ``module__*`` and ``optimizer__*``).

Design: composition, not inheritance. The estimators are thin scikit-learn-native classes
(``BaseEstimator`` + ``ClassifierMixin``/``RegressorMixin``) that validate parameters and data,
encode labels, seed torch, and build a skorch net (``_training.PenalizedNet``) inside ``fit``,
stored as ``net_``. Subclassing skorch's ``NeuralNetClassifier`` instead would inherit what makes
plain skorch nets fail scikit-learn's estimator checks (fitted attributes set in ``__init__``, no
input validation, a default validation split, early stopping by ``KeyboardInterrupt``). The epoch
loop (``_loop.run_epochs``) drives ``net_.fit_loop(..., epochs=1)``, so stopping rules and the
divergence check are plain Python.
"""

from __future__ import annotations

import copy
import difflib
import functools
import inspect
import math
import os
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from torch.utils.data import TensorDataset

from ._batch_norm import batch_norm_layers, one_row_message, values_per_channel
from ._climb import TrainingLossClimbWarning, climb_message, loss_climb
from ._docs import (
    CLASS_WEIGHT_DOC,
    CLASSIFIER_DEFAULTS,
    ESTIMATOR_DOC,
    MLP_ATTRIBUTES_DOC,
    NORMALIZE_Y_DOC,
    NORMALIZED_ALPHA_DOC,
    REGRESSOR_DEFAULTS,
    _penalty_lines,
)
from ._dtype import DTYPES, FLOAT32_MAX, check_range, torch_dtype
from ._links import API_PAGE_TEMPLATE
from ._loop import Progress, TrainingDivergedError, run_epochs
from ._mlp_attributes import MLPAttributes
from ._objective import data_loss
from ._param_checks import Interval, StrOptions, same_value, validate_params
from ._schedule import LEARNING_RATES, CosineSchedule, resolve_learning_rate, resolve_rate
from ._targets import class_row_weights, standardization
from ._torch_state import default_dtype, forward_flops, probing, seeded, training_allowed
from ._training import FUSED_ADAM, PenalizedNet, predict_batch_size, training_batches
from .modules import ACTIVATIONS, MLP, describe_input
from .penalties import PENALTIES, make_penalty

__all__ = [
    "RegularizedMLPClassifier",
    "RegularizedMLPRegressor",
    "TrainingDivergedError",
    "TrainingLossClimbWarning",
]

#: the prefix that routes ``set_params`` keys into ``penalty_options``, as in skorch
PENALTY_PREFIX = "penalty__"

#: penalty arguments the estimator sets itself, refused in ``penalty_options``
RESERVED_OPTIONS = ("alpha", "epsilon", "task", "reduction")

#: sparse input: other formats are converted to CSR (so NaN and inf are checked), then densified
ACCEPT_SPARSE = ("csr", "csc", "coo")


@contextmanager
def _torch_threads(n_threads: int | None):
    """Run with torch using ``n_threads`` CPU threads, then restore the previous count."""
    if n_threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _as_tensor(array, dtype, device) -> torch.Tensor:
    """A new tensor on ``device`` (a copy: the user's array is never shared or written to).

    Sparse input is densified: the network's first layer is dense anyway, and one dense copy
    of the training data is what the in-memory batches need.
    """
    array = array.toarray() if sp.issparse(array) else np.asarray(array)
    return torch.tensor(array, dtype=dtype, device=device)


def _detached(value):
    """A torch tensor as a NumPy array (detached from any graph, on the CPU); anything else as
    it is. Data given as tensors, even ones that require grad, is read like an array."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return value


def _resolve_device(device) -> torch.device:
    """``device`` as a ``torch.device``: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ... or a
    ``torch.device``; a clear ``ValueError`` for a name torch does not know or a missing GPU."""
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
        if resolved.type not in ("cpu", "cuda", "mps"):
            raise RuntimeError
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device must be 'auto', 'cpu', 'cuda', 'cuda:<index>', 'mps' or a torch.device; got "
            f"{device!r}"
        ) from None
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={device!r} was requested but torch sees no MPS device")
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested but torch sees no CUDA device; use 'cpu'"
            )
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r}: torch sees {torch.cuda.device_count()} CUDA device(s)"
            )
    return resolved


#: ``n_threads="auto"`` uses torch's thread count for work of at least this many FLOPs per
#: training step (or prediction batch), one thread below: ``benchmarks/threads.py`` measured a
#: second thread at 0.69x the wall time of one for a 784-256-10 network (156 MFLOP per step of
#: 128 rows) on an idle 2-core machine, and at no gain for a digits-sized one (9 MFLOP per step),
#: while on a loaded machine a second thread cost the small fits 1.3x to 3x
AUTO_THREADS_MIN_FLOPS = 5e7


def _thread_count(n_threads) -> int | str | None:
    """``n_threads`` checked against the machine: "auto", None, or 1 up to the number of CPUs."""
    cpus = os.cpu_count() or 1
    if n_threads is None or (isinstance(n_threads, str) and n_threads == "auto"):
        return n_threads
    if isinstance(n_threads, bool) or not isinstance(n_threads, Integral) or not (
        1 <= n_threads <= cpus
    ):
        raise ValueError(
            f"n_threads must be 'auto', None or an int from 1 to the number of CPUs ({cpus}); "
            f"got {n_threads!r}"
        )
    return int(n_threads)


def _row_flops(net, x: torch.Tensor, *, keep: bool = False) -> float:
    """FLOPs of one row's forward pass through ``net``'s module, counted on the first row of
    ``x`` (:func:`forward_flops`: evaluation mode, a forked generator), or as kept on the net
    by an earlier count; ``keep`` (a fit, on its own network) keeps the count there, so that
    predictions need not count again."""
    flops = vars(net).get("row_flops_")
    if flops is None:
        flops = forward_flops(net.module_, x[:1])
        if keep:
            net.row_flops_ = flops
    return flops


def _threads(n_threads, net, x: torch.Tensor, rows_per_pass: int, passes: int,
             keep: bool = False) -> int | None:  # fmt: skip
    """The thread count for work of ``passes`` forward-pass equivalents over ``rows_per_pass``
    rows of ``x`` through ``net``: ``n_threads`` as checked by :func:`_thread_count`, with "auto"
    resolved to torch's own count (which joblib and Dask already limit in their workers) for work
    of at least :data:`AUTO_THREADS_MIN_FLOPS`, else 1 (``keep``: see :func:`_row_flops`)."""
    n_threads = _thread_count(n_threads)
    if n_threads != "auto":
        return n_threads
    flops = passes * rows_per_pass * _row_flops(net, x, keep=keep)
    return None if flops >= AUTO_THREADS_MIN_FLOPS else 1


def _check_sample_weight(sample_weight, n_rows: int, dtype: str = "float32") -> np.ndarray | None:
    """``sample_weight`` as a float64 vector of ``n_rows`` finite, non-negative weights with a
    positive sum (within float32's range when the network computes in float32), or a
    ``ValueError`` saying what is wrong."""
    if sample_weight is None:
        return None
    weights = np.asarray(sample_weight)
    if weights.ndim == 0:
        weights = np.full(n_rows, weights)
    if weights.ndim != 1 or len(weights) != n_rows or weights.dtype.kind not in "iuf":
        raise ValueError(
            f"sample_weight must be a 1-D array of {n_rows} numbers (one per row of X); got "
            f"shape {weights.shape}, dtype {weights.dtype}"
        )
    weights = weights.astype(np.float64)
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError("sample_weight must be finite and non-negative")
    if weights.sum() <= 0:
        raise ValueError("sample_weight is zero for every row: no row would count")
    if dtype == "float32" and weights.sum() > FLOAT32_MAX:
        raise ValueError(
            f"sample_weight sums to {weights.sum():.3g}, beyond float32's range "
            f"({FLOAT32_MAX:.3g}), in which the network sums a batch's weights; divide the "
            "weights by a common factor (the weighted losses do not change; with penalty='l2' "
            "the decay, alpha / sum(w) per batch, grows by that factor), or train in double "
            "precision (dtype='float64')"
        )
    return weights


#: ``learning_rate="adaptive"`` divides the rate by this on each stall, and stops at MIN_LR or
#: below, as scikit-learn's MLP does for its SGD solver
LR_DIVISOR, MIN_LR = 5.0, 1e-6


def _lower_learning_rate(net):
    """``on_stall`` for ``run_epochs``: divide the optimizer's rate by 5 and go on, or say stop."""

    def lower() -> bool:
        groups = net.optimizer_.param_groups
        if groups[0]["lr"] <= MIN_LR:
            return False
        for group in groups:
            group["lr"] /= LR_DIVISOR
        return True

    return lower


@dataclass
class _Plan:
    """Everything a fit needs, checked before training starts."""

    X: np.ndarray
    targets: np.ndarray
    sample_weight: np.ndarray | None
    n_outputs: int
    target_attrs: dict
    penalty: object
    architecture: dict  # the module's architecture as asked, compared when a fit continues
    device: torch.device
    continuing: bool
    incremental: bool

    @property
    def dtype(self) -> torch.dtype:
        """The precision the network trains in."""
        return torch_dtype(self.architecture["dtype"])


def _full_signature(cls) -> inspect.Signature:
    """The parameters of every ``__init__`` up the hierarchy, as one signature.

    The task classes (the classifiers, the regressors) add their one parameter
    (``class_weight``, ``normalize_y``) and pass the rest on as ``**kwargs``; with this
    signature on their ``__init__`` (set by ``_RegularizedEstimator.__init_subclass__``),
    scikit-learn's ``get_params``, ``clone`` and repr, IDEs and the API pages see every parameter
    and its default, written once.
    """
    params, var_keyword = {}, None
    for klass in reversed(cls.__mro__):
        init = vars(klass).get("__init__")
        if init is None or klass is object:
            continue
        for param in inspect.signature(init).parameters.values():
            if param.kind is param.VAR_KEYWORD:
                # the class's own **kwargs only passes the rest on; a base's takes them (Net)
                var_keyword = param if klass is not cls else var_keyword
            elif param.kind is not param.VAR_POSITIONAL:
                params[param.name] = param
    ordered = sorted(params.values(), key=lambda p: p.kind)  # positional first, stable
    return inspect.Signature([*ordered, *([var_keyword] if var_keyword else [])])


def _checked_keywords(init, signature: inspect.Signature):
    """``init``, showing ``signature``, refusing keywords it lacks as Python would, but naming
    the class the user called (``RegularizedMLPClassifier.__init__() got an unexpected keyword
    argument 'solvr'``) rather than the base whose ``__init__`` received them."""
    known = set(signature.parameters) - {"self"}

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        unknown = [k for k in kwargs if k not in known]
        if unknown:
            close = difflib.get_close_matches(unknown[0], sorted(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise TypeError(f"{type(self).__name__}.__init__() got an unexpected keyword "
                            f"argument {unknown[0]!r}{hint}")
        init(self, *args, **kwargs)

    return __init__


class _RegularizedEstimator(BaseEstimator):
    """Shared parameters, validation and training, whatever the module; subclasses set the
    module (``_check_architecture``, ``_module_factory``, ``_optimizer_factory``), the task and
    the targets (``_Classifier``, ``_Regressor``)."""

    _task: str = ""
    #: whether ``__init__`` keeps keywords besides its parameters (the Net's ``module__*``)
    _any_keyword: bool = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        own = vars(cls).get("__init__")
        if own is not None:
            full = _full_signature(cls)
            if set(full.parameters) - set(inspect.signature(own).parameters):
                own.__signature__ = full  # it passes some on as **kwargs: show them
                if not cls.__name__.startswith("_") and not cls._any_keyword:
                    cls.__init__ = _checked_keywords(own, full)  # names it for a bad keyword

    def __init__(
        self,
        *,
        penalty="l2",
        alpha=1e-4,
        epsilon=0.1,
        batch_size=200,
        shuffle=True,
        learning_rate="auto",
        learning_rate_init=3e-3,
        max_iter=500,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        scoring="loss",
        warm_start=False,
        semi_supervised=False,
        random_state=None,
        device="cpu",
        dtype="float32",
        n_threads="auto",
        verbose=False,
        penalty_options=None,
    ):
        # every module's parameters, once; the MLP and Net cases add theirs and pass these on
        self.penalty = penalty
        self.alpha = alpha
        self.epsilon = epsilon
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.scoring = scoring
        self.warm_start = warm_start
        self.semi_supervised = semi_supervised
        self.random_state = random_state
        self.device = device
        self.dtype = dtype
        self.n_threads = n_threads
        self.verbose = verbose
        self.penalty_options = penalty_options

    #: whether X may have more than two dimensions (images: ``(n, channels, height, width)``)
    _allow_nd: bool = False

    # scikit-learn's HTML repr links each estimator to its page of the API reference
    _doc_link_module = "sklearn_regpen"
    _doc_link_template = API_PAGE_TEMPLATE

    _parameter_constraints: dict = {
        "penalty": [StrOptions(set(PENALTIES))],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "learning_rate": [StrOptions(set(LEARNING_RATES))],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "scoring": [StrOptions({"loss"}), None],
        "warm_start": ["boolean"],
        "semi_supervised": ["boolean"],
        "random_state": ["random_state"],
        "device": [str, torch.device],
        "dtype": [StrOptions(set(DTYPES))],
        "n_threads": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"}), None],
        "verbose": ["verbose"],
        "penalty_options": [dict, None],
    }

    # -- penalty options, also routable skorch-style as ``penalty__<option>`` ----------------------
    def set_params(self, **params):
        """Set parameters; ``penalty__<option>=value`` sets one entry of ``penalty_options``."""
        routed = {
            k[len(PENALTY_PREFIX) :]: params.pop(k)
            for k in list(params)
            if k.startswith(PENALTY_PREFIX)
        }
        super().set_params(**params)
        if routed:
            self.penalty_options = {**(self._options_dict()), **routed}
        return self

    def _options_dict(self) -> dict:
        options = self.penalty_options
        if options is None:
            return {}
        if not isinstance(options, dict):
            raise ValueError(
                f"penalty_options must be a dict of the penalty's options, got {options!r}"
            )
        reserved = sorted(set(options) & set(RESERVED_OPTIONS))
        if reserved:
            raise ValueError(
                f"penalty_options cannot set {reserved}: alpha and epsilon are the estimator's "
                "own parameters, the task follows from the estimator, and the reduction is "
                "fixed by training"
            )
        return dict(options)

    def _make_penalty(self):
        """The penalty this estimator trains with; a clear ValueError for a bad name or option."""
        try:
            return make_penalty(
                self.penalty, self.alpha, self.epsilon, task=self._task, **self._options_dict()
            )
        except ValueError as error:
            raise ValueError(
                f"{error} (penalty options come from penalty_options or {PENALTY_PREFIX}<option>)"
            ) from None

    # -- subclass hooks ----------------------------------------------------------------------------
    def _encode_targets(self, y, classes, continuing: bool):
        """Return ``(targets, n_outputs, fitted_attributes)`` for validated ``y``."""
        raise NotImplementedError

    def _target_tensor(self, targets, device, dtype: torch.dtype) -> torch.Tensor:
        raise NotImplementedError

    def _weigh_rows(self, y, target_attrs: dict, sample_weight, incremental: bool):
        """Row weights for training: ``sample_weight`` (or None), times the class weights."""
        return sample_weight

    def _scale_targets(self, targets, target_attrs: dict, sample_weight, continuing: bool):
        """``(targets, target_attrs)`` in the units the network learns (the regressor's
        standardized targets)."""
        return targets, target_attrs

    def _check_unlabelled(self, targets, penalty) -> None:
        """Refuse unlabelled rows the penalty cannot use (only classifiers have them)."""

    def _validation_split(self, targets, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """``(train_rows, valid_rows)`` for ``early_stopping``: ``validation_fraction`` of the
        rows held out (scikit-learn's split), stratified by class for a classifier. The held-out
        rows are at least one per class; a class of one row, or too few rows to give every class
        a row on both sides, makes the split unstratified."""
        rows = np.arange(len(targets))
        if self._task != "classification":
            return train_test_split(rows, test_size=self.validation_fraction, random_state=seed)
        classes, counts = np.unique(targets, return_counts=True)
        n_valid = max(math.ceil(self.validation_fraction * len(rows)), len(classes))
        if counts.min() < 2 or len(rows) - n_valid < len(classes):
            return train_test_split(rows, test_size=self.validation_fraction, random_state=seed)
        return train_test_split(rows, test_size=n_valid, random_state=seed, stratify=targets)

    def _check_labelled_split(self, targets, train_rows, valid_rows) -> None:
        """Refuse an early-stopping split with no labelled row on either side (only
        classifiers have unlabelled rows)."""

    def _metric(self, outputs: np.ndarray, targets, sample_weight=None) -> float:
        """The metric of ``score`` (accuracy, R^2) of raw outputs against encoded targets."""
        raise NotImplementedError

    def _scored_rows(self, targets) -> np.ndarray | slice:
        """The validation rows that have a target (only classifiers have unlabelled rows)."""
        return slice(None)

    def _score_outputs(self, outputs: np.ndarray, targets, sample_weight=None) -> float:
        """Validation score of raw outputs against encoded targets (higher is better), weighted
        by ``sample_weight`` when given: minus the mean data loss the network trains on
        (``scoring="loss"``), or the metric of ``score`` (``scoring=None``)."""
        if self.scoring is None:
            return self._metric(outputs, targets, sample_weight)
        rows = self._scored_rows(targets)
        outputs = torch.as_tensor(outputs[rows], dtype=torch.float64)
        losses = data_loss(self._task, outputs, self._target_tensor(targets[rows], "cpu",
                                                                    torch.float64))
        weights = None if sample_weight is None else sample_weight[rows]
        return -float(np.average(losses.numpy(), weights=weights))

    # -- fitting -----------------------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Train the network on ``X`` and ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training inputs: NumPy arrays or pandas DataFrames (column names are kept in
            ``feature_names_in_``), float32 or float64; sparse matrices are densified. Not
            modified.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels (classifier; ``-1`` marks unlabelled rows when
            ``semi_supervised=True``) or targets (regressor; 2-D for several outputs).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row: a row of weight ``w`` counts as ``w`` copies of it
            in the data loss, in the penalty's term (each a weighted mean over the batch), in
            ``l2``'s decay (``alpha / sum(w)`` per batch, as scikit-learn's MLP) and in the
            early-stopping score. All ones is the same as None; rows of weight 0 are dropped
            before training, so they have no effect. For the penalties that draw noise or a
            random start for each row (``noise``, ``noisy_jacobian``, ``c2c``, ``kl``,
            ``c2c_adversarial``, ``vat``), and with random projections, a weight equals repeated
            rows in expectation only: each copy would get a draw of its own.

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        TrainingDivergedError
            The loss stopped being finite; the estimator is left as it was before the call.
        ValueError
            Bad parameters or data (see the user guide's "Bad input" page), before any
            training.

        Notes
        -----
        A fit is a transaction. Everything (parameters, data, labels, weights, penalty options,
        the network's architecture when continuing) is checked before any training. A call that
        fails, for any reason, a :class:`TrainingDivergedError` included, leaves the estimator as
        it was before the call: fitted with the same predictions, or unfitted. On
        ``KeyboardInterrupt`` after at least one completed epoch, the estimator keeps the weights
        of the best epoch of this call (it can predict), warns, and the interrupt propagates;
        before that, it is left as it was.
        """
        return self._fit(X, y, incremental=False, sample_weight=sample_weight)

    def _fit(self, X, y, *, incremental: bool, classes=None, sample_weight=None):
        before = dict(vars(self))
        try:
            plan = self._plan(X, y, incremental, classes, sample_weight)
            net, progress, interrupted = self._train(plan)
            self._publish(net, progress, {
                **plan.target_attrs,
                "_input_shape": tuple(plan.X.shape[1:]),
                "_fitted_architecture": plan.architecture,
            })  # fmt: skip
        except BaseException:
            vars(self).clear()
            vars(self).update(before)
            raise
        if interrupted:
            warnings.warn(
                f"fit interrupted: the model keeps the weights of epoch {progress.kept_epoch}",
                UserWarning,
                stacklevel=3,
            )
            raise KeyboardInterrupt
        return self

    def _plan(self, X, y, incremental, classes, sample_weight) -> _Plan:
        """Check everything a fit needs and return it; no training, no change but
        ``n_features_in_`` / ``feature_names_in_`` (which the caller restores on failure)."""
        validate_params(
            self._parameter_constraints, self.get_params(deep=False), type(self).__name__
        )
        architecture = {**self._check_architecture(), "dtype": self.dtype}
        _thread_count(self.n_threads)
        continuing = (incremental or self.warm_start) and hasattr(self, "net_")
        X, y, sample_weight = _detached(X), _detached(y), _detached(sample_weight)
        if continuing:
            self._check_same_architecture(architecture, incremental)
            self._check_input_shape(X)
        X, y = validate_data(
            self,
            X,
            y,
            reset=not continuing,
            accept_sparse=ACCEPT_SPARSE,
            allow_nd=self._allow_nd,
            dtype=(np.float32, np.float64),
            multi_output=self._task == "regression",
            y_numeric=self._task == "regression",
        )
        if sp.issparse(X):
            X = X.tocsr()  # rows can be sliced (COO's cannot); densified when training starts
        check_range("X", X, self.dtype)
        weights = _check_sample_weight(sample_weight, X.shape[0], self.dtype)
        targets, n_outputs, target_attrs = self._encode_targets(y, classes, continuing)
        weights = self._weigh_rows(y, target_attrs, weights, incremental)
        targets, target_attrs = self._scale_targets(targets, target_attrs, weights, continuing)
        penalty = self._make_penalty()
        self._check_unlabelled(targets, penalty)
        if weights is not None and (weights == 0).any():
            keep = weights > 0  # rows of weight 0 have no effect: not even on the batches
            X, targets, weights = X[keep], targets[keep], weights[keep]
        device = torch.device(self.net_.device) if continuing else _resolve_device(self.device)
        if continuing:
            self._check_input_shape(X)
        return _Plan(X, targets, weights, n_outputs, target_attrs, penalty, architecture, device,
                     continuing, incremental)  # fmt: skip

    def _check_input_shape(self, X) -> None:
        """Refuse rows of another shape than those the model was fitted on, before
        ``validate_data`` (whose message counts ``X.shape[1]``, an image's channels, as its
        features) when the model was fitted on N-D rows (images); for rows of features,
        ``validate_data`` checks ``n_features_in_``."""
        fitted = getattr(self, "_input_shape", None)
        if fitted is None:
            return
        shape = getattr(X, "shape", None)
        if shape is None:  # a list or another array-like
            if len(fitted) == 1:
                return  # validate_data's message on the number of features says it all
            try:
                shape = np.asarray(X).shape
            except (ValueError, TypeError):  # ragged: validate_data says what is wrong
                return
        shape = tuple(shape)
        if len(shape) < 1 or shape[1:] == fitted:
            return
        if len(fitted) > 1 or len(shape) > 2:
            raise ValueError(
                f"X has rows of shape {tuple(shape[1:])}, but {type(self).__name__} was fitted "
                f"on rows of shape {fitted}: pass X of shape (n_samples, "
                f"{', '.join(map(str, fitted))})"
                + (f", e.g. X.reshape(-1, {', '.join(map(str, fitted))})"
                   if math.prod(shape[1:]) == math.prod(fitted) else "")
            )  # fmt: skip

    def _check_same_architecture(self, asked: dict, incremental: bool) -> None:
        fitted = self._fitted_architecture
        changed = [k for k in {**fitted, **asked}
                   if k not in fitted or k not in asked or not same_value(fitted[k], asked[k])]
        if changed:
            how = "partial_fit" if incremental else "fit with warm_start=True"
            def shown(params, k):
                return repr(params[k]) if k in params else "unset"

            details = ", ".join(f"{k}={shown(fitted, k)} (now {shown(asked, k)})" for k in changed)
            raise ValueError(
                f"{how} continues the fitted network, whose {details} differ from the "
                "parameters; set them back, or fit a new network (warm_start=False, or a fresh "
                "estimator for partial_fit)"
            )

    # -- the module and the optimizer -------------------------------------------------------------
    def _check_architecture(self) -> dict:
        """The module's architecture as the parameters ask for it (checked, before any data):
        what a continued fit must find unchanged."""
        raise NotImplementedError

    def _module_factory(self, input_shape: tuple, n_outputs: int):
        """``(factory, kwargs)``: the module is ``factory(**kwargs)``, for rows of shape
        ``input_shape`` and ``n_outputs`` outputs."""
        raise NotImplementedError

    def _optimizer_factory(self):
        """``(optimizer class, kwargs)``; the learning rate is ``learning_rate_init``."""
        raise NotImplementedError

    def _hidden_layer_count(self) -> int | None:
        """Hidden layers of the network, where the estimator knows them (None: a user's module)."""
        return None

    def _rate(self, X) -> tuple[float, str]:
        """``(rate, reason)``: the peak learning rate of a fit on ``X``, ``learning_rate_init``
        resolved (``"auto"`` decides from the inputs and the network)."""
        return resolve_rate(self.learning_rate_init, int(np.prod(X.shape[1:])),
                            self._hidden_layer_count())  # fmt: skip

    def _build_net(self, plan: _Plan) -> PenalizedNet:
        factory, module_kwargs = self._module_factory(tuple(plan.X.shape[1:]), plan.n_outputs)
        optimizer, optimizer_kwargs = self._optimizer_factory()
        net = PenalizedNet(
            factory,
            **{f"module__{k}": v for k, v in module_kwargs.items()},
            criterion=torch.nn.Identity,  # unused: the data loss is the objective's
            optimizer=optimizer,
            **{f"optimizer__{k}": v for k, v in optimizer_kwargs.items()},
            lr=self._rate(plan.X)[0],
            batch_size=self.batch_size,
            max_epochs=1,
            train_split=None,
            callbacks="disable",
            device=plan.device,
            penalty=None,
        )
        try:
            net.initialize()
        except torch.cuda.OutOfMemoryError:
            raise
        except (TypeError, ValueError, RuntimeError) as error:  # a bad module__/optimizer__ value
            what, built, kwargs = (
                ("optimizer", optimizer, optimizer_kwargs) if hasattr(net, "module_")
                else ("module", factory, module_kwargs)
            )  # fmt: skip
            arguments = ", ".join(f"{what}__{k}={v!r}" for k, v in kwargs.items())
            raise ValueError(
                f"building the {what} {getattr(built, '__name__', built)!s} from "
                f"{arguments or 'no arguments'} failed: {error}"
            ) from error
        net.module_.to(plan.dtype)  # the same parameters, converted in place
        return net

    def _check_module_shapes(self, module: torch.nn.Module, plan: _Plan) -> None:
        """Run the module on two rows of X (evaluation mode, no gradient, no training) and refuse
        it, naming both shapes, when it cannot take X's rows or its outputs do not fit the
        classes or targets, or when training batches of one row would reach a BatchNorm layer
        that has one value per channel of a row."""
        n_rows = min(2, plan.X.shape[0])
        x = _as_tensor(plan.X[:n_rows], plan.dtype, plan.device)
        name = getattr(type(module), "__name__", "module")
        try:
            with probing(module, x), values_per_channel(batch_norm_layers(module)) as widths:
                out = module(x)
        except (RuntimeError, ValueError, TypeError, IndexError) as error:
            expects = describe_input(module)
            raise ValueError(
                f"the module ({name}) cannot take X's rows: X has shape {tuple(plan.X.shape)}, "
                f"rows of shape {tuple(plan.X.shape[1:])}"
                f"{f', while {expects}' if expects else ''}. The module raised: "
                f"{str(error).splitlines()[0] if str(error) else type(error).__name__}"
            ) from None
        classifying = self._task == "classification"
        what = "classes in y" if classifying else "targets in y"
        each = "logit per class" if classifying else "output per target"
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        if (not isinstance(out, torch.Tensor) or out.dim() != 2 or out.shape[1] != plan.n_outputs
                or out.shape[0] != n_rows):  # fmt: skip
            raise ValueError(
                f"the module ({name}) returns outputs of shape {shape} for a batch of X of shape "
                f"{tuple(x.shape)}, but there are {plan.n_outputs} {what}: it must return "
                f"(n_rows, {plan.n_outputs}), one {each}"
            )
        # training batches have at least two rows unless batch_size or X has one
        if min(self.batch_size, plan.X.shape[0]) == 1:
            flat = [layer for layer, values in widths.items() if values == 1]
            if flat:
                raise ValueError(f"batch_size={self.batch_size}: {one_row_message(flat[0])}")

    def _train(self, plan: _Plan):
        """Train a new network, or a copy of the fitted one; return ``(net, progress,
        interrupted)``. The estimator itself is not touched."""
        if getattr(self, "n_members", 1) != 1:  # the MLP's ensembles, in one pass
            from ._members import train_ensemble

            return (*train_ensemble(self, plan), False)
        progress = copy.deepcopy(self._progress) if plan.continuing else Progress()
        start = progress.n_iter
        # a different stream for each continuation, so noise and batch order never repeat
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        seed = (seed + start) % np.iinfo(np.int32).max
        # training needs gradients and float32 whatever the caller set around fit
        # (torch.no_grad, torch.inference_mode, torch.set_default_dtype); all comes back after
        with seeded(seed, plan.device), training_allowed(), default_dtype(torch.float32):
            if plan.continuing:
                net = copy.deepcopy(self.net_)
            else:
                net = self._build_net(plan)
            self._check_module_shapes(net.module_, plan)
            # a training step is about three forward passes' worth of work
            x_row = _as_tensor(plan.X[:1], plan.dtype, plan.device)
            batch = min(self.batch_size, plan.X.shape[0])
            threads = _threads(self.n_threads, net, x_row, batch, passes=3, keep=True)
            try:
                with _torch_threads(threads):
                    self._run(net, plan, progress, seed)
            except KeyboardInterrupt:
                if progress.n_iter == start:  # no epoch of this call completed
                    raise
                net.module_.eval()
                return net, progress, True
        net.module_.eval()  # the fitted module is left as it predicts
        return net, progress, False

    def _run(self, net, plan: _Plan, progress: Progress, seed: int) -> None:
        incremental = plan.incremental
        X, targets, weights = plan.X, plan.targets, plan.sample_weight
        train_rows, valid_rows = np.arange(X.shape[0]), None
        if self.early_stopping and not incremental:
            train_rows, valid_rows = self._validation_split(targets, seed)
            self._check_labelled_split(targets, train_rows, valid_rows)
        x_all = _as_tensor(X, plan.dtype, plan.device)
        tensors = [x_all, self._target_tensor(targets, plan.device, plan.dtype)]
        if weights is not None:
            tensors.append(_as_tensor(weights, plan.dtype, plan.device))
        validate = None
        if valid_rows is not None:
            x_valid, y_valid = x_all[valid_rows], targets[valid_rows]
            w_valid = None if weights is None else weights[valid_rows]

            def validate():
                return self._score_outputs(self._outputs(net, x_valid), y_valid, w_valid)

            progress.best_score, progress.stall = -np.inf, 0

        net.penalty = plan.penalty
        net.batch_size = min(self.batch_size, len(train_rows))
        net.iterator_train__shuffle = self.shuffle  # skorch's name; PenalizedNet's batches read it
        schedule, reason = resolve_learning_rate(self.learning_rate, int(np.prod(X.shape[1:])))
        rate, rate_reason = self._rate(X)
        net.lr_schedule = None
        optimizer = self._optimizer_factory()
        if not incremental or not net.uses_optimizer(*optimizer):
            # a fresh optimizer, as the parameters now ask for it, for every fit (warm_start keeps
            # the weights only, as scikit-learn), and for a partial_fit after `optimizer` or an
            # `optimizer__*` changed (its state is for the old one)
            net.set_params(lr=rate)
            net.use_optimizer(*optimizer)
        if not incremental:
            if schedule == "cosine":
                steps = self.max_iter * len(training_batches(len(train_rows), net.batch_size))
                net.lr_schedule = CosineSchedule(rate, steps)
                net.schedule_step_ = 0
        elif schedule == "cosine":
            # partial_fit has no length to decay over: it trains at learning_rate_init, also
            # after a fit whose cosine left the optimizer's rate near 0
            for group in net.optimizer_.param_groups:
                group["lr"] = rate
        if self.verbose:
            print(reason + (" (partial_fit: constant)" if incremental else ""))
            if self.learning_rate_init == "auto":
                print(rate_reason)
        if valid_rows is None:  # every row trains: no second copy of the data
            train = TensorDataset(*tensors)
        else:
            train = TensorDataset(*(t[train_rows] for t in tensors))
        describe = (
            f"penalty={self.penalty!r}, alpha={self.alpha}, epsilon={self.epsilon}, "
            f"learning_rate_init={rate:g}, learning_rate={schedule!r}"
        )
        start = progress.n_iter
        # the cosine decays to 0 at max_iter: the training loss's stall rule would end the fit on
        # the way down (on MNIST, two tanh layers of 1000 with `jacobian` stopped at epoch 13 of
        # 30 on a plateau, at 7 % error); the validation score's rule still applies
        decaying = net.lr_schedule is not None and valid_rows is None
        converged = run_epochs(
            net,
            train,
            progress,
            max_epochs=1 if incremental else self.max_iter,
            tol=self.tol,
            n_iter_no_change=None if decaying else self.n_iter_no_change,
            validate=validate,
            stop_early=not incremental,
            on_stall=_lower_learning_rate(net) if self.learning_rate == "adaptive" else None,
            describe=describe,
            verbose=bool(self.verbose),
        )
        if not converged and not incremental and not decaying:
            warnings.warn(
                f"Maximum iterations ({self.max_iter}) reached and the optimization hasn't "
                "converged yet.",
                ConvergenceWarning,
                stacklevel=5,
            )
        climb = None if incremental else loss_climb(progress.loss_curve[start:], start + 1)
        if climb is not None:
            warnings.warn(
                climb_message(climb, describe, progress.kept_epoch),
                TrainingLossClimbWarning,
                stacklevel=5,
            )

    def _publish(self, net, progress: Progress, target_attrs: dict):
        """Set the fitted attributes, all at once, from a finished (or interrupted) training."""
        validating = bool(progress.validation_scores)
        fitted = {
            **target_attrs,
            "net_": net,
            "loss_curve_": list(progress.loss_curve),
            "validation_scores_": list(progress.validation_scores) if validating else None,
            "best_loss_": None if validating else progress.best_loss,
            "best_validation_score_": progress.best_score if validating else None,
            "n_iter_": progress.n_iter,
        }
        for name, value in fitted.items():
            setattr(self, name, value)
        self._progress = progress

    # -- prediction --------------------------------------------------------------------------------
    @staticmethod
    def _outputs(net, x: torch.Tensor) -> np.ndarray:
        """The module's outputs for ``x``, as float64 numpy: evaluation mode, no gradient, a
        forked generator; the model is left as it was (every submodule in its mode)."""
        with probing(net.module_, x):
            return net.forward(TensorDataset(x)).numpy().astype(np.float64)

    def _raw_outputs(self, X) -> np.ndarray:
        """Network outputs (logits or predictions) for validated ``X``, as float64 numpy."""
        check_is_fitted(self)
        X = _detached(X)
        self._check_input_shape(X)
        X = validate_data(
            self,
            X,
            reset=False,
            accept_sparse=ACCEPT_SPARSE,
            allow_nd=self._allow_nd,
            dtype=(np.float32, np.float64),
        )
        self._check_input_shape(X)
        check_range("X", X, self._fitted_dtype())
        x = _as_tensor(X, torch_dtype(self._fitted_dtype()), self.net_.device)
        with _torch_threads(self._predict_threads(x)):
            return self._outputs(self.net_, x)

    def _fitted_dtype(self) -> str:
        """The precision the fitted network computes in (``dtype`` as it was at fit; float32
        for a model pickled before ``dtype`` existed)."""
        return self._fitted_architecture.get("dtype", "float32")

    def _predict_threads(self, x: torch.Tensor) -> int | None:
        """Threads for forward passes over ``x`` (see ``n_threads``)."""
        rows = min(len(x), predict_batch_size(x))
        return _threads(self.n_threads, self.net_, x, rows, passes=1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        # CUDA kernels (atomic adds in backward passes) are not bit-for-bit repeatable
        tags.non_deterministic = str(self.device) != "cpu"
        return tags


class _RegularizedMLP(MLPAttributes, _RegularizedEstimator):
    """The MLP case: the module is :class:`~sklearn_regpen.modules.MLP`, built from
    scikit-learn's parameter names, trained with (fused) Adam or SGD (``solver`` and its
    parameters, also scikit-learn's); scikit-learn's fitted attributes (``coefs_``, ...) are
    read from the module (:class:`~sklearn_regpen._mlp_attributes.MLPAttributes`)."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "solver": [StrOptions({"adam", "sgd", "lbfgs"})],  # lbfgs: refused with the reason
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "n_members": [Interval(Integral, 1, None, closed="left")],
        **_RegularizedEstimator._parameter_constraints,
        # "auto": the rate follows the depth of the network on image-like inputs
        "learning_rate_init": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
    }

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 momentum=0.9, nesterovs_momentum=True, beta_1=0.9, beta_2=0.999, n_members=1,
                 early_stopping=True, n_iter_no_change=30, learning_rate_init="auto",
                 **kwargs):  # fmt: skip
        # the stopping rule's defaults differ from scikit-learn's (False and 10) here: chosen on
        # tables (benchmarks/tabular_candidates.py); the rate's on MNIST (benchmarks/
        # techreport_mnist.py)
        super().__init__(early_stopping=early_stopping, n_iter_no_change=n_iter_no_change,
                         learning_rate_init=learning_rate_init, **kwargs)  # fmt: skip
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.n_members = n_members

    def _check_architecture(self) -> dict:
        if self.solver == "lbfgs":
            raise ValueError(
                "solver='lbfgs' is not available: L-BFGS steps on the whole training set and "
                "searches along each step by evaluating the objective again, while the penalties "
                "are estimated on mini-batches and most draw new noise or directions at every "
                "evaluation (noise, c2c, vat, projected Jacobians), so its line search would "
                "compare different objectives. Use solver='adam' (the default) or 'sgd'"
            )
        return {"hidden_layer_sizes": self._check_hidden_layer_sizes(),
                "activation": self.activation, "n_members": self.n_members}  # fmt: skip

    def _hidden_layer_count(self) -> int:
        return len(self._check_hidden_layer_sizes())

    def _check_hidden_layer_sizes(self) -> tuple[int, ...]:
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if isinstance(sizes, Integral) else tuple(sizes)
        if not all(isinstance(s, Integral) and s >= 1 for s in sizes):
            raise ValueError(
                f"hidden_layer_sizes must be positive integers, got {self.hidden_layer_sizes!r}"
            )
        return tuple(int(s) for s in sizes)

    def _module_factory(self, input_shape, n_outputs):
        return MLP, {
            "n_features": math.prod(input_shape),
            "n_outputs": n_outputs,
            "hidden_layer_sizes": self._check_hidden_layer_sizes(),
            "activation": self.activation,
        }

    def _optimizer_factory(self):
        if self.solver == "sgd":
            # scikit-learn's update, written as torch's: the same steps at a constant rate
            nesterov = bool(self.nesterovs_momentum) and self.momentum > 0
            return torch.optim.SGD, {"momentum": self.momentum, "nesterov": nesterov}
        # one fused update for all parameters: 0.6x the time of a plain step on the
        # 784-1000-1000-10 network against per-tensor updates (benchmarks/speed.py)
        options = {"betas": (self.beta_1, self.beta_2)}
        return torch.optim.Adam, ({**options, "fused": True} if FUSED_ADAM else options)


class _Classifier:
    """What a classifier adds to :class:`_RegularizedEstimator`: labels, classes, probabilities."""

    _task = "classification"

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over ``X``, ``y``, continuing from the current weights and optimizer state.

        ``classes`` (all labels that will ever appear) is required on the first call;
        ``sample_weight`` as for :meth:`fit`. A call that fails leaves the model as it was.
        """
        if not hasattr(self, "net_") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit")
        return self._fit(
            X, y, incremental=True, classes=classes, sample_weight=sample_weight
        )

    def _encode_targets(self, y, classes, continuing):
        unlabelled = self._unlabelled_rows(y)
        labelled = y[~unlabelled]
        if len(labelled) == 0:
            raise ValueError("y has no labelled row: every label is -1 (unlabelled)")
        check_classification_targets(labelled)
        if continuing:
            if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(
                    f"classes={classes!r} differs from the classes of the first fit, "
                    f"{self.classes_!r}"
                )
            classes = self.classes_
        elif classes is not None:
            classes = np.unique(classes)
            if self.semi_supervised and np.isin(-1, classes):
                raise ValueError(
                    f"classes={classes!r} contains -1, which marks unlabelled rows when "
                    "semi_supervised=True: it cannot also be a class"
                )
        else:
            classes = np.unique(labelled)
            if len(classes) < 2:
                raise ValueError(
                    "The classifier needs samples of at least 2 classes in y; "
                    f"got one class, {classes[0]!r}"
                )
        unknown = np.setdiff1d(labelled, classes)
        if len(unknown):
            raise ValueError(f"y contains labels not in classes_: {unknown!r}")
        targets = np.full(len(y), -1, dtype=np.int64)
        targets[~unlabelled] = np.searchsorted(classes, labelled)
        return targets, len(classes), {"classes_": classes, "n_outputs_": len(classes)}

    def _weigh_rows(self, y, target_attrs, sample_weight, incremental):
        labelled = ~self._unlabelled_rows(y)
        class_weights = class_row_weights(
            self.class_weight, y, labelled, target_attrs["classes_"], incremental
        )
        weights = sample_weight
        if class_weights is not None:
            weights = class_weights if sample_weight is None else sample_weight * class_weights
            if weights.sum() <= 0:
                raise ValueError(
                    "sample_weight times class_weight is zero for every row: no row would count"
                )
        if weights is not None and not (weights[labelled] > 0).any():
            what = ("sample_weight" if class_weights is None else "class_weight"
                    if sample_weight is None else "sample_weight times class_weight")  # fmt: skip
            raise ValueError(
                f"{what} is zero for every labelled row: the data loss would have no row, and "
                "the network would train on the penalty alone"
            )
        return weights

    def _check_labelled_split(self, targets, train_rows, valid_rows) -> None:
        n_labelled = int((targets >= 0).sum())
        for rows, role in ((valid_rows, "validation"), (train_rows, "training")):
            if not (targets[rows] >= 0).any():
                raise ValueError(
                    f"early_stopping=True: the {len(valid_rows)} validation rows "
                    f"(validation_fraction={self.validation_fraction}) leave no labelled row "
                    f"for {role}, and y has {n_labelled} labelled row(s) of {len(targets)}; "
                    f"{'raise' if role == 'validation' else 'lower'} validation_fraction, label "
                    "more rows, or set early_stopping=False"
                )

    def _unlabelled_rows(self, y) -> np.ndarray:
        """Rows marked -1 when ``semi_supervised`` (else none): scikit-learn's convention."""
        if not self.semi_supervised or y.dtype.kind not in "iufO":
            return np.zeros(len(y), dtype=bool)
        return np.array([label == -1 for label in y], dtype=bool)

    def _check_unlabelled(self, targets, penalty):
        if penalty.needs_labels and (targets < 0).any():
            needing_none = sorted(n for n, cls in PENALTIES.items() if not cls.needs_labels)
            raise ValueError(
                f"penalty={self.penalty!r} needs labels, but y has unlabelled rows (-1); "
                f"use one that needs none: {needing_none}"
            )

    def _target_tensor(self, targets, device, dtype):
        return _as_tensor(targets, torch.long, device)

    def _scored_rows(self, targets):
        return targets >= 0

    def _metric(self, outputs, targets, sample_weight=None):
        labelled = self._scored_rows(targets)
        correct = outputs.argmax(axis=1)[labelled] == targets[labelled]
        weights = None if sample_weight is None else sample_weight[labelled]
        return float(np.average(correct, weights=weights))

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), columns ordered as ``classes_``."""
        return np.exp(self.predict_log_proba(X))

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed stably from the logits."""
        logits = self._raw_outputs(X)
        logits -= logits.max(axis=1, keepdims=True)
        return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))

    def predict(self, X):
        """Most probable class of each row."""
        winners = self._raw_outputs(X).argmax(axis=1)
        return self.classes_[winners]


class RegularizedMLPClassifier(ClassifierMixin, _Classifier, _RegularizedMLP):
    __doc__ = ESTIMATOR_DOC.format(
        summary="Multi-layer perceptron classifier with an input-space regularizer.",
        loss="cross-entropy",
        sklearn_name="MLPClassifier",
        **CLASSIFIER_DEFAULTS,
        f_meaning="the class probabilities ``softmax(z)`` of the logits ``z``",
        penalties=_penalty_lines(),
        score_name="accuracy",
        semi_supervised="""Rows whose label is ``-1`` are unlabelled (scikit-learn's
        semi-supervised convention): the data loss uses the labelled rows, the penalty all rows,
        so penalties that need no label (``c2c``, ``vat``, ``kl``, ``jacobian``, ...) learn from
        unlabelled data too. Off by default because ``-1`` is a common class label ({-1, 1}).""",
        alpha_units="""
        The default, 0.1, where scikit-learn's is 1e-4, was chosen together with the stopping
        rule (``early_stopping``). Alone, 0.1 led on the tables it was chosen on and lost 0.2
        points on 14 others (user guide, "Defaults and why").""",
        task_parameters=CLASS_WEIGHT_DOC,
        attributes="""    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_outputs_ : int
        Number of outputs of the network, one logit per class: 2 for two classes, where
        scikit-learn's ``MLPClassifier`` has one logistic output.""" + MLP_ATTRIBUTES_DOC.format(
            out_activation='``"softmax"``, over one logit per class'),
        examples="""    >>> from sklearn.datasets import load_iris
    >>> from sklearn_regpen import RegularizedMLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = RegularizedMLPClassifier(penalty="jacobian", alpha=0.01, learning_rate_init=0.01,
    ...                                random_state=0).fit(X, y)
    >>> clf.predict(X[:3])
    array([0, 0, 0])
    >>> clf.score(X, y) > 0.9
    True""",
    )

    _parameter_constraints: dict = {
        **_RegularizedMLP._parameter_constraints,
        "class_weight": [StrOptions({"balanced"}), dict, None],
    }

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, class_weight=None,
                 alpha=0.1, **kwargs):  # fmt: skip
        # alpha=0.1 with the MLP estimators' early stopping: chosen on classification tables
        # (benchmarks/tabular_candidates.py)
        super().__init__(hidden_layer_sizes, activation, alpha=alpha, **kwargs)
        self.class_weight = class_weight


class _Regressor:
    """What a regressor adds to :class:`_RegularizedEstimator`: targets, R^2, predictions."""

    _task = "regression"

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``X``, ``y``, continuing from the current weights and optimizer state;
        ``sample_weight`` as for :meth:`fit`. A call that fails leaves the model as it was."""
        return self._fit(X, y, incremental=True, sample_weight=sample_weight)

    def _encode_targets(self, y, classes, continuing):
        if self.semi_supervised:
            raise ValueError(
                "semi_supervised=True is for the classifier: regression targets "
                "have no unlabelled marker"
            )
        check_range("y", y, self.dtype)
        targets = np.asarray(y, dtype=np.float64)
        n_outputs = 1 if targets.ndim == 1 else targets.shape[1]
        if continuing and n_outputs != self.n_outputs_:
            raise ValueError(f"y has {n_outputs} outputs; the fitted model has {self.n_outputs_}")
        return (
            targets.reshape(len(targets), n_outputs),
            n_outputs,
            {
                "n_outputs_": n_outputs,
                "_y_ndim": targets.ndim,
            },
        )

    def _scale_targets(self, targets, target_attrs, sample_weight, continuing):
        if continuing:  # warm_start and partial_fit keep the first fit's scaling
            mean, scale = self.y_mean_, self.y_scale_
        elif self.normalize_y:
            mean, scale = standardization(targets, sample_weight)
        else:
            mean, scale = np.zeros(targets.shape[1]), np.ones(targets.shape[1])
        return (targets - mean) / scale, {**target_attrs, "y_mean_": mean, "y_scale_": scale}

    def _target_tensor(self, targets, device, dtype):
        return _as_tensor(targets, dtype, device)

    def _metric(self, outputs, targets, sample_weight=None):
        if np.ptp(targets, axis=0).max() == 0:
            # R^2 is undefined on constant targets (scikit-learn gives 0 for any imperfect
            # prediction, which would never improve): minus the mean squared error instead
            errors = ((outputs - targets) ** 2).mean(axis=1)
            return -float(np.average(errors, weights=sample_weight))
        return float(r2_score(targets, outputs, sample_weight=sample_weight))

    def predict(self, X):
        """Predicted targets, shape (n_samples,) or (n_samples, n_outputs) like ``y`` in fit."""
        outputs = self._raw_outputs(X) * self.y_scale_ + self.y_mean_
        return outputs.ravel() if self._y_ndim == 1 else outputs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class RegularizedMLPRegressor(RegressorMixin, _Regressor, _RegularizedMLP):
    __doc__ = ESTIMATOR_DOC.format(
        summary="Multi-layer perceptron regressor with an input-space regularizer.",
        loss="half the squared error",
        sklearn_name="MLPRegressor",
        **REGRESSOR_DEFAULTS,
        f_meaning="the raw outputs ``z``",
        penalties=_penalty_lines(),
        score_name="R^2",
        semi_supervised="""Only the classifier has unlabelled rows; True raises ``ValueError``.""",
        alpha_units=NORMALIZED_ALPHA_DOC,
        task_parameters=NORMALIZE_Y_DOC,
        attributes="""    n_outputs_ : int
        Number of targets.
    y_mean_ : ndarray of shape (n_outputs,)
        Mean of each target in ``fit`` (0 when ``normalize_y=False``).
    y_scale_ : ndarray of shape (n_outputs,)
        Standard deviation of each target in ``fit`` (1 when ``normalize_y=False`` or when the
        target is constant).""" + MLP_ATTRIBUTES_DOC.format(out_activation='``"identity"``'),
        examples="""    >>> from sklearn.datasets import make_regression
    >>> from sklearn_regpen import RegularizedMLPRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
    >>> reg = RegularizedMLPRegressor(penalty="c2c", alpha=1.0, epsilon=0.1,
    ...                               learning_rate_init=0.01, random_state=0).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    >>> reg.score(X, y) > 0.9
    True""",
    )

    _parameter_constraints: dict = {
        **_RegularizedMLP._parameter_constraints,
        "normalize_y": ["boolean"],
    }

    def __init__(self, hidden_layer_sizes=(256, 256), activation="relu", *, normalize_y=True,
                 alpha=0.1, **kwargs):  # fmt: skip
        # two layers of 256 and alpha=0.1, with the MLP estimators' early stopping: chosen on
        # regression tables (benchmarks/tabular_candidates.py, third round)
        super().__init__(hidden_layer_sizes, activation, alpha=alpha, **kwargs)
        self.normalize_y = normalize_y
