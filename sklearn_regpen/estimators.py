"""``RegularizedMLPClassifier`` and ``RegularizedMLPRegressor``: the scikit-learn face.

Design: composition, not inheritance. The estimators are thin scikit-learn-native classes
(``BaseEstimator`` + ``ClassifierMixin``/``RegressorMixin``) that validate parameters and data,
encode labels, seed torch, and build a skorch net (``_training.PenalizedNet``) inside ``fit``,
stored as ``net_``. Subclassing skorch's ``NeuralNetClassifier`` instead would inherit what makes
plain skorch nets fail scikit-learn's estimator checks (fitted attributes set in ``__init__``, no
input validation, a default validation split, early stopping by ``KeyboardInterrupt``). The
epoch loop lives here, around ``net_.fit_loop(..., epochs=1)``, so that stopping rules and the
divergence check are plain Python.
"""

from __future__ import annotations

import copy
import sys
import time
import warnings
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from torch.utils.data import TensorDataset

from ._training import PenalizedNet
from .modules import ACTIVATIONS, MLP
from .penalties import PENALTIES, make_penalty


class TrainingDivergedError(ValueError):
    """The training loss stopped being finite; the estimator is left unfitted."""


def _penalty_lines() -> str:
    lines = []
    for name, cls in PENALTIES.items():
        summary = cls.__doc__.strip().split("\n\n")[0]
        summary = " ".join(summary.split()).split(": ", 1)[-1]
        knobs = [k for k, used in (("alpha", cls.uses_alpha), ("epsilon", cls.uses_epsilon)) if used]
        lines.append(f"        - ``{name!r}`` ({', '.join(knobs) or 'no knob'}): {summary}")
    return "\n".join(lines)


_DOC = """{summary}

    A multi-layer perceptron trained with Adam on {loss} plus an input-space penalty, built on
    skorch and PyTorch. Parameter names follow scikit-learn's ``{sklearn_name}`` where the meaning
    is the same, so the two can be swapped in a grid.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(100,)
        Width of each hidden layer.
    activation : {{"relu", "tanh", "logistic", "identity"}}, default="relu"
        Hidden-layer non-linearity.
    penalty : str, default="l2"
        The regularizer. ``alpha`` is its strength (the batch mean of the per-sample term is
        multiplied by ``alpha``) and ``epsilon`` its noise standard deviation or radius, for those
        that use them. ``f`` is {f_meaning}, ``J = df/dx``, ``n ~ N(0, I)`` drawn each step:

{penalties}

        Exact Jacobian norms cost ``min(n_features, n_outputs)`` extra differentiated passes per
        step: cheap on tables, about 11x a plain step for 784 pixels and 10 classes.
    alpha : float, default=1e-4
        Strength of the penalty, >= 0. With ``penalty="l2"`` it is exactly scikit-learn's MLP
        ``alpha``. Useful ranges differ by penalty: search it on a log grid.
    epsilon : float, default=0.1
        Noise standard deviation (``noise``, ``noisy_jacobian``, ``c2c``) or perturbation radius, in
        the units of the (scaled) inputs; > 0 where used, ignored otherwise. Not Adam's stability
        constant, which scikit-learn's ``MLPClassifier`` calls ``epsilon``.
    batch_size : int, default=200
        Rows per optimizer step (clipped to the number of training rows).
    learning_rate_init : float, default=1e-3
        Adam's learning rate.
    max_iter : int, default=200
        Maximum number of epochs.
    tol : float, default=1e-4
        Improvement of the training loss (or of the validation score with ``early_stopping``)
        below which an epoch counts as no improvement.
    n_iter_no_change : int, default=10
        Training stops after more than this many epochs without improvement.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training rows, stop when their {score_name} stops
        improving, and keep the weights of the best epoch.
    validation_fraction : float, default=0.1
        Share of the training rows held out when ``early_stopping=True``.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialization, batch order, validation split and penalty noise. With an int,
        fits on CPU are repeatable. torch's global random state is left as it was.
    device : {{"cpu", "cuda", "auto"}}, default="cpu"
        Where to train; ``"auto"`` picks CUDA when available.
    n_threads : int or None, default=None
        torch's CPU thread count during ``fit`` and ``predict``, restored afterwards; None leaves
        torch's setting alone. Set it to 1 when several fits share a machine (parallel searches
        on Dask workers) to avoid oversubscribing the cores; joblib's default process workers
        already get their share of threads.
    verbose : bool or int, default=False
        Print the loss of every epoch.

    Attributes
    ----------
{attributes}
    n_features_in_ : int
        Number of input features.
    feature_names_in_ : ndarray of str
        Column names, when ``X`` was a DataFrame with string column names.
    loss_curve_ : list of float
        Training objective (data loss plus penalty) of each epoch.
    validation_scores_ : list of float or None
        {score_name} on the held-out rows per epoch when ``early_stopping``, else None.
    best_loss_ : float or None
        Lowest training loss, when not ``early_stopping``.
    best_validation_score_ : float or None
        Best validation score, when ``early_stopping``.
    n_iter_ : int
        Epochs run.
    net_ : skorch.NeuralNet
        The fitted skorch net; ``net_.module_`` is the torch module.

    Examples
    --------
{examples}
"""


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


@contextmanager
def _seeded_torch(seed: int, device: torch.device):
    """Seed torch for one fit without changing the caller's global random state."""
    cuda = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)
        yield


def _as_tensor(array, dtype, device) -> torch.Tensor:
    """A new tensor on ``device`` (a copy: the user's array is never shared or written to)."""
    return torch.tensor(np.asarray(array), dtype=dtype, device=device)


def _resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was requested but torch sees no CUDA device; use 'cpu'")
    return torch.device(device)


class _RegularizedMLP(BaseEstimator):
    """Shared parameters, validation and training loop; subclasses set the task."""

    _task: str = ""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "penalty": [StrOptions(set(PENALTIES))],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "random_state": ["random_state"],
        "device": [StrOptions({"cpu", "cuda", "auto"})],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        penalty="l2",
        alpha=1e-4,
        epsilon=0.1,
        batch_size=200,
        learning_rate_init=1e-3,
        max_iter=200,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        random_state=None,
        device="cpu",
        n_threads=None,
        verbose=False,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.penalty = penalty
        self.alpha = alpha
        self.epsilon = epsilon
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.device = device
        self.n_threads = n_threads
        self.verbose = verbose

    # -- subclass hooks -----------------------------------------------------------------------------
    def _encode_targets(self, y):
        """Return ``(targets, n_outputs, fitted_attributes)`` for validated ``y``."""
        raise NotImplementedError

    def _target_tensor(self, targets, device) -> torch.Tensor:
        raise NotImplementedError

    def _score_outputs(self, outputs: np.ndarray, targets) -> float:
        """Validation score of raw outputs against encoded targets (higher is better)."""
        raise NotImplementedError

    # -- fitting ------------------------------------------------------------------------------------
    def fit(self, X, y):
        """Train the network on ``X`` (n_samples, n_features) and ``y``; returns ``self``."""
        self._validate_params()
        hidden = self._check_hidden_layer_sizes()
        X, y = validate_data(
            self,
            X,
            y,
            dtype=(np.float32, np.float64),
            multi_output=self._task == "regression",
            y_numeric=self._task == "regression",
        )
        try:
            targets, n_outputs, target_attrs = self._encode_targets(y)
            penalty = make_penalty(self.penalty, self.alpha, self.epsilon, task=self._task)
            device = _resolve_device(self.device)
            seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
            with _seeded_torch(seed, device), _torch_threads(self.n_threads):
                fitted = self._train(X, targets, n_outputs, hidden, penalty, device, seed)
        except BaseException:
            self._forget_fit()
            raise
        for name, value in {**target_attrs, **fitted}.items():
            setattr(self, name, value)
        return self

    def _check_hidden_layer_sizes(self) -> tuple[int, ...]:
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if isinstance(sizes, Integral) else tuple(sizes)
        if not all(isinstance(s, Integral) and s >= 1 for s in sizes):
            raise ValueError(
                f"hidden_layer_sizes must be positive integers, got {self.hidden_layer_sizes!r}"
            )
        return tuple(int(s) for s in sizes)

    def _forget_fit(self):
        for name in [k for k in vars(self) if k.endswith("_") and not k.startswith("__")]:
            delattr(self, name)

    def _train(self, X, targets, n_outputs, hidden, penalty, device, seed) -> dict:
        train_rows = np.arange(len(X))
        valid_rows = None
        if self.early_stopping:
            stratify = targets if self._task == "classification" else None
            train_rows, valid_rows = train_test_split(
                train_rows, test_size=self.validation_fraction, random_state=seed, stratify=stratify
            )
        x_all = _as_tensor(X, torch.float32, device)
        y_all = self._target_tensor(targets, device)
        if valid_rows is None:  # every row trains: no second copy of the data
            train = TensorDataset(x_all, y_all)
        else:
            train = TensorDataset(x_all[train_rows], y_all[train_rows])

        net = PenalizedNet(
            MLP,
            module__n_features=X.shape[1],
            module__n_outputs=n_outputs,
            module__hidden_layer_sizes=hidden,
            module__activation=self.activation,
            criterion=torch.nn.Identity,  # unused: the data loss lives with the penalty
            optimizer=torch.optim.Adam,
            lr=self.learning_rate_init,
            batch_size=min(self.batch_size, len(train_rows)),
            max_epochs=1,
            train_split=None,
            callbacks="disable",
            device=device,
            penalty=penalty,
        )
        net.initialize()

        curve, scores = [], []
        best_loss, best_score, best_state, stall = np.inf, -np.inf, None, 0
        started = time.perf_counter()
        for epoch in range(1, self.max_iter + 1):
            net.fit_loop(train, epochs=1)
            loss = net.history[-1, "train_loss"]  # mean over the epoch's rows of batch losses
            if not np.isfinite(loss):
                raise TrainingDivergedError(
                    f"Training diverged: the loss became {loss} at epoch {epoch} "
                    f"(penalty={self.penalty!r}, alpha={self.alpha}, epsilon={self.epsilon}, "
                    f"learning_rate_init={self.learning_rate_init}). Try a smaller alpha or "
                    "learning_rate_init, or scale the inputs (StandardScaler)."
                )
            curve.append(loss)
            if self.early_stopping:
                score = self._score_outputs(
                    self._outputs(net, x_all[valid_rows]), targets[valid_rows]
                )
                scores.append(score)
                improved = score > best_score + self.tol
                if score > best_score:
                    best_score = score
                    best_state = copy.deepcopy(net.module_.state_dict())
            else:
                improved = loss < best_loss - self.tol
                best_loss = min(best_loss, loss)
            stall = 0 if improved else stall + 1
            if self.verbose:
                extra = f", validation score = {scores[-1]:.6f}" if scores else ""
                print(
                    f"Iteration {epoch}, loss = {loss:.8f}{extra} "
                    f"({time.perf_counter() - started:.1f}s)",
                    file=sys.stdout,
                )
            if stall > self.n_iter_no_change:
                break
        else:
            warnings.warn(
                f"Maximum iterations ({self.max_iter}) reached and the optimization hasn't "
                "converged yet.",
                ConvergenceWarning,
                stacklevel=3,
            )
        if best_state is not None:
            net.module_.load_state_dict(best_state)
        return {
            "net_": net,
            "loss_curve_": curve,
            "validation_scores_": scores if self.early_stopping else None,
            "best_loss_": None if self.early_stopping else best_loss,
            "best_validation_score_": best_score if self.early_stopping else None,
            "n_iter_": epoch,
        }

    # -- prediction ---------------------------------------------------------------------------------
    @staticmethod
    def _outputs(net, x: torch.Tensor) -> np.ndarray:
        return net.forward(TensorDataset(x)).numpy().astype(np.float64)

    def _raw_outputs(self, X) -> np.ndarray:
        """Network outputs (logits or predictions) for validated ``X``, as float64 numpy."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=(np.float32, np.float64))
        with _torch_threads(self.n_threads):
            return self._outputs(self.net_, _as_tensor(X, torch.float32, self.net_.device))


def _classifier_examples() -> str:
    return """    >>> from sklearn.datasets import load_iris
    >>> from sklearn_regpen import RegularizedMLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = RegularizedMLPClassifier(penalty="jacobian", alpha=0.01, learning_rate_init=0.01,
    ...                                random_state=0).fit(X, y)
    >>> clf.predict(X[:3])
    array([0, 0, 0])
    >>> clf.score(X, y) > 0.9
    True"""


class RegularizedMLPClassifier(ClassifierMixin, _RegularizedMLP):
    __doc__ = _DOC.format(
        summary="Multi-layer perceptron classifier with an input-space regularizer.",
        loss="cross-entropy",
        sklearn_name="MLPClassifier",
        f_meaning="the class probabilities ``softmax(z)`` of the logits ``z``",
        penalties=_penalty_lines(),
        score_name="accuracy",
        attributes="""    classes_ : ndarray of shape (n_classes,)
        Class labels.""",
        examples=_classifier_examples(),
    )

    _task = "classification"

    def _encode_targets(self, y):
        check_classification_targets(y)
        classes, encoded = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                f"The classifier needs samples of at least 2 classes in y; got only {classes[0]!r}"
            )
        return encoded.astype(np.int64), len(classes), {"classes_": classes}

    def _target_tensor(self, targets, device):
        return _as_tensor(targets, torch.long, device)

    def _score_outputs(self, outputs, targets):
        return float(np.mean(outputs.argmax(axis=1) == targets))

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), columns in the order of ``classes_``."""
        logits = self._raw_outputs(X)
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        logits = self._raw_outputs(X)
        logits -= logits.max(axis=1, keepdims=True)
        return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))

    def predict(self, X):
        """Most probable class of each row."""
        return self.classes_[self._raw_outputs(X).argmax(axis=1)]


def _regressor_examples() -> str:
    return """    >>> from sklearn.datasets import make_regression
    >>> from sklearn_regpen import RegularizedMLPRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
    >>> reg = RegularizedMLPRegressor(penalty="c2c", alpha=1.0, epsilon=0.1,
    ...                               learning_rate_init=0.01, random_state=0).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    >>> reg.score(X, y) > 0.9
    True"""


class RegularizedMLPRegressor(RegressorMixin, _RegularizedMLP):
    __doc__ = _DOC.format(
        summary="Multi-layer perceptron regressor with an input-space regularizer.",
        loss="half the squared error",
        sklearn_name="MLPRegressor",
        f_meaning="the raw outputs ``z``",
        penalties=_penalty_lines(),
        score_name="R^2",
        attributes="""    n_outputs_ : int
        Number of targets.""",
        examples=_regressor_examples(),
    )

    _task = "regression"

    def _encode_targets(self, y):
        targets = np.asarray(y, dtype=np.float32)
        n_outputs = 1 if targets.ndim == 1 else targets.shape[1]
        return targets.reshape(len(targets), n_outputs), n_outputs, {
            "n_outputs_": n_outputs,
            "_y_ndim": targets.ndim,
        }

    def _target_tensor(self, targets, device):
        return _as_tensor(targets, torch.float32, device)

    def _score_outputs(self, outputs, targets):
        return float(r2_score(targets, outputs))

    def predict(self, X):
        """Predicted targets, shape (n_samples,) or (n_samples, n_outputs) like ``y`` in fit."""
        outputs = self._raw_outputs(X)
        return outputs.ravel() if self._y_ndim == 1 else outputs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
