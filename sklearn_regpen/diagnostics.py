"""Diagnostics of a fitted model: input sensitivity, robustness to input noise and to attacks.

Every function takes a fitted :class:`~sklearn_regpen.RegularizedMLPClassifier`,
:class:`~sklearn_regpen.RegularizedMLPRegressor`, :class:`~sklearn_regpen.RegularizedNetClassifier`
or :class:`~sklearn_regpen.RegularizedNetRegressor`, or a :class:`~sklearn.pipeline.Pipeline` whose
last step is one. Inputs may be rows or, for the Net estimators, images and other N-D arrays:
norms, noise and attack radii then run over all of a row's input dimensions. For a pipeline, ``X``
goes through the preceding steps' ``transform`` first and everything is measured **in the space the
network sees**: derivatives are with respect to the transformed inputs, and noise standard
deviations and attack radii are in transformed units (for a ``StandardScaler``, in standard
deviations of each feature).

Notation as in the penalties: ``z`` the logits (classifier) or outputs (regressor), ``f`` what
output-space penalties compare (probabilities ``softmax(z)``, or ``z``), ``J = df/dx``,
``J_z = dz/dx``, ``H = diag(p) - p p^T`` (the identity for the regressor) and
``I(x) = J_z^T H J_z``, the Fisher information of the model's output distribution with respect to
the input. The estimator and ``X`` are left untouched; the network runs as it predicts (in
evaluation mode: BatchNorm with its running statistics, no dropout), in its own precision (the
estimator's ``dtype``) on its own device, in batches of ``batch_size`` rows, with the
estimator's ``n_threads``. Random draws come from ``random_state`` alone, never torch's global
generator.

Examples
--------
>>> from sklearn.datasets import load_iris
>>> from sklearn_regpen import RegularizedMLPClassifier
>>> from sklearn_regpen.diagnostics import diagnose
>>> X, y = load_iris(return_X_y=True)
>>> clf = RegularizedMLPClassifier(hidden_layer_sizes=(8,), tol=0.1, random_state=0)
>>> clf = clf.fit(X, y)
>>> report = diagnose(clf, X, y, noise_stds=[0.5], radii=[0.5], random_state=0)
>>> sorted(report.index)[:3]
['error', 'fgsm_accuracy@0.5', 'fisher_lambda_max']
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from numbers import Real

import numpy as np
import pandas as pd
import torch
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data
from torch.func import grad

from ._autodiff import (
    extend_rows,
    fisher_factor,
    hessian_sq_norm,
    jacobian_and_outputs,
    output_map,
    softmax_jacobian,
    unit_rows,
)
from ._dtype import torch_dtype
from ._objective import data_loss
from ._torch_state import probing
from .estimators import (
    ACCEPT_SPARSE,
    _as_tensor,
    _RegularizedEstimator,
    _torch_threads,
)

__all__ = [
    "ATTACKS",
    "NORMS",
    "SENSITIVITY_COLUMNS",
    "adversarial_inputs",
    "attack_accuracies",
    "diagnose",
    "noise_errors",
    "sensitivity",
]

#: the attacks of :func:`adversarial_inputs` and :func:`attack_accuracies`
ATTACKS = ("fgsm", "pgd")
#: the balls they stay in: Euclidean per row, or max-abs
NORMS = ("l2", "linf")

#: the columns of :func:`sensitivity`, each a per-row quantity
SENSITIVITY_COLUMNS = (
    "jacobian_sq_norm",
    "logit_jacobian_sq_norm",
    "jacobian_lambda_max",
    "fisher_lambda_max",
    "fisher_trace",
    "hessian_sq_norm",
)


# -- the network behind an estimator -----------------------------------------------------------
@dataclass
class _Network:
    module: torch.nn.Module
    task: str
    device: torch.device
    estimator: object  # the final RegularizedMLP* or RegularizedNet*

    @property
    def dtype(self) -> torch.dtype:
        """The precision the fitted network computes in."""
        return torch_dtype(self.estimator._fitted_dtype())


def _network(estimator) -> _Network:
    final = estimator[-1] if isinstance(estimator, Pipeline) else estimator
    if not isinstance(final, _RegularizedEstimator):
        raise TypeError(
            "diagnostics need a fitted RegularizedMLPClassifier, RegularizedMLPRegressor, "
            "RegularizedNetClassifier or RegularizedNetRegressor, or a Pipeline ending in one; "
            f"got {type(final).__name__}"
        )
    check_is_fitted(final)
    return _Network(final.net_.module_, final._task, torch.device(final.net_.device), final)


def _inputs(estimator, net: _Network, X) -> torch.Tensor:
    """``X`` as the network sees it: transformed by a pipeline's first steps, validated, copied."""
    if isinstance(estimator, Pipeline) and len(estimator) > 1:
        X = estimator[:-1].transform(X)
    net.estimator._check_input_shape(X)
    X = validate_data(
        net.estimator,
        X,
        reset=False,
        accept_sparse=ACCEPT_SPARSE,
        allow_nd=net.estimator._allow_nd,
        dtype=(np.float32, np.float64),
    )
    net.estimator._check_input_shape(X)
    return _as_tensor(X, net.dtype, net.device)


def _targets(net: _Network, y, n_rows: int) -> torch.Tensor:
    y = np.asarray(y)
    if len(y) != n_rows:
        raise ValueError(f"X has {n_rows} rows but y has {len(y)}")
    if net.task == "regression":
        n_out = net.estimator.n_outputs_
        if y.size != n_rows * n_out:
            raise ValueError(f"y must have {n_out} output(s) per row like the fitted model")
        return _as_tensor(y.astype(np.float64).reshape(n_rows, n_out), net.dtype, net.device)
    if y.ndim == 2 and y.shape[1] == 1:  # a column, or a one-column DataFrame
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"y must hold one label per row; got shape {y.shape}")
    classes = net.estimator.classes_
    index = np.searchsorted(classes, y).clip(0, len(classes) - 1)
    unknown = classes[index] != y
    if unknown.any():
        raise ValueError(
            f"y has labels the model was not fitted on: {np.unique(y[unknown])[:5].tolist()}; "
            f"its classes are {classes.tolist()}"
        )
    return torch.as_tensor(index, dtype=torch.long, device=net.device)


def _generator(random_state, device: torch.device) -> torch.Generator:
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    return torch.Generator(device=device).manual_seed(int(seed))


def _positive_int(name: str, value, *, none_ok: bool = False) -> int | None:
    """``value`` as an int, or a ValueError naming ``name`` unless it is a positive integer
    (or None, with ``none_ok``)."""
    if value is None and none_ok:
        return None
    if not isinstance(value, (int, np.integer)) or value < 1:
        expected = "None or a positive integer" if none_ok else "a positive integer"
        raise ValueError(f"{name} must be {expected}; got {value!r}")
    return int(value)


def _check_levels(name: str, values) -> list[float]:
    values = np.atleast_1d(np.asarray(values, dtype=float)).tolist() if values is not None else []
    bad = [v for v in values if not np.isfinite(v) or v < 0]
    if bad:
        raise ValueError(f"{name} must be finite and >= 0; got {bad}")
    return values


def _batches(n_rows: int, batch_size: int) -> Iterator[slice]:
    for start in range(0, n_rows, batch_size):
        yield slice(start, min(start + batch_size, n_rows))


class _Progress:
    """Progress lines on stdout under ``verbose``, as the estimators print their epochs.

    ``verbose=1``: a line at most every :data:`PROGRESS_SECONDS` seconds while the work runs,
    and one when it is done; ``verbose>=2``: a line after every batch; 0: nothing."""

    def __init__(self, verbose, what: str, total: int, unit: str = "rows"):
        if not isinstance(verbose, (bool, int, np.integer)) or verbose < 0:
            raise ValueError(f"verbose must be a non-negative integer; got {verbose!r}")
        self.verbose, self.what, self.total, self.unit = int(verbose), what, total, unit
        self.done = 0
        self.started = self.shown = time.perf_counter()

    def advance(self, n: int) -> None:
        self.done += n
        if not self.verbose:
            return
        now = time.perf_counter()
        if self.done >= self.total or self.verbose > 1 or now - self.shown >= PROGRESS_SECONDS:
            self.shown = now
            print(f"[{self.what}] {self.done}/{self.total} {self.unit} "
                  f"({now - self.started:.1f}s)", flush=True)  # fmt: skip


#: seconds between two progress lines at ``verbose=1``
PROGRESS_SECONDS = 5.0


@contextmanager
def _evaluating(net: _Network, x: torch.Tensor):
    """The fitted module as it predicts: evaluation mode, no gradient outside the derivatives'
    own transforms, a forked generator; every submodule's mode is put back afterwards."""
    with probing(net.module, x), _torch_threads(net.estimator._predict_threads(x)):
        yield


# -- per-row sensitivity -----------------------------------------------------------------------
def _sensitivity_rows(module, x, task, hessian_projections=None, generator=None) -> dict:
    """Every :data:`SENSITIVITY_COLUMNS` quantity for the rows of ``x``, each of shape ``(B,)``.

    Works on any row-wise torch module and dtype (the tests run it in float64).
    """
    j_z, z = jacobian_and_outputs(module, x)  # (B, K, d)
    # J = A J_z with A the softmax's Jacobian (f = softmax(z)), or J = J_z for a regressor
    j_f = softmax_jacobian(z) @ j_z if task == "classification" else j_z
    # the nonzero eigenvalues of A^T A (d x d) are those of A A^T (K x K): work with K x K
    gram_f = j_f @ j_f.mT
    factor = fisher_factor(z, task)  # M with M M^T = H, so I(x) = (M^T J_z)^T (M^T J_z)
    fisher_small = factor.mT @ (j_z @ j_z.mT) @ factor
    return {
        "jacobian_sq_norm": j_f.square().sum(dim=(1, 2)),
        "logit_jacobian_sq_norm": j_z.square().sum(dim=(1, 2)),
        "jacobian_lambda_max": torch.linalg.eigvalsh(gram_f)[:, -1],
        "fisher_lambda_max": torch.linalg.eigvalsh(fisher_small)[:, -1],
        "fisher_trace": fisher_small.diagonal(dim1=1, dim2=2).sum(dim=1),
        "hessian_sq_norm": hessian_sq_norm(
            lambda v: output_map(module(v), task), x, hessian_projections, generator=generator
        ),
    }


def sensitivity(
    estimator, X, *, hessian_projections=None, batch_size=256, random_state=None, verbose=0
) -> pd.DataFrame:
    """Per-row derivatives of a fitted model with respect to its input.

    Parameters
    ----------
    estimator : RegularizedMLPClassifier, RegularizedMLPRegressor or Pipeline
        Fitted; a pipeline is measured in the space its last step sees (see the module notes).
    X : array-like of shape (n_samples, n_features)
        Where the derivatives are taken.
    hessian_projections : int or None, default=None
        ``None``: the exact ``hessian_sq_norm``, ``d`` extra Jacobian-sized passes (fine for
        tables and digits' 64 pixels). An integer ``m``: an unbiased estimate from ``m`` Gaussian
        directions, for images (``m = 16`` gives about 35% relative noise per row, much less on
        the mean over rows).
    batch_size : int, default=256
        Rows differentiated at once.
    random_state : int, RandomState or None, default=None
        Seeds the Hessian's random directions (unused when ``hessian_projections=None``).
    verbose : int, default=0
        Progress on stdout: 1 prints the rows done at most every 5 seconds and when done, 2
        after every batch.

    Returns
    -------
    pandas.DataFrame
        One row per sample, with the columns of :data:`SENSITIVITY_COLUMNS`:

        - ``jacobian_sq_norm``: ``||J||_F^2``, the ``jacobian`` penalty's term,
        - ``logit_jacobian_sq_norm``: ``||J_z||_F^2``, the ``logit_jacobian`` penalty's term,
        - ``jacobian_lambda_max``: largest eigenvalue of ``J^T J``
          (``c2c_adversarial ~ eps^2`` times it),
        - ``fisher_lambda_max``: largest eigenvalue of ``I(x)`` (``vat ~ eps^2 / 2`` times it),
        - ``fisher_trace``: ``Tr I(x)``, the ``hsfob`` term,
        - ``hessian_sq_norm``: ``sum_k ||d^2 f_k / dx^2||_F^2``, the Frobenius norm of the
          Hessian of the outputs ``f`` with respect to the input, summed over outputs: what the
          techreport's noisy Jacobian penalty adds to the Jacobian penalty (its eq. 19,
          ``2 alpha sigma^2`` times it).

        For a regressor ``f`` is the network's output, which predicts the standardized target
        when ``normalize_y=True``: the values are the penalties' terms, in units of the
        target's standard deviation (multiply by ``y_scale_**2`` for the target's units).

    Notes
    -----
    The eigenvalues are exact: they are those of the ``K x K`` matrices ``J J^T`` and
    ``M^T J_z J_z^T M`` (``H = M M^T``), computed from the exact Jacobians.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_regpen import RegularizedMLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = RegularizedMLPClassifier(tol=0.1, random_state=0).fit(X, y)
    >>> table = sensitivity(clf, X[:5])
    >>> table.shape
    (5, 6)
    >>> bool((table["jacobian_lambda_max"] <= table["jacobian_sq_norm"] * (1 + 1e-5)).all())
    True
    """
    net = _network(estimator)
    batch_size = _positive_int("batch_size", batch_size)
    hessian_projections = _positive_int("hessian_projections", hessian_projections, none_ok=True)
    x = _inputs(estimator, net, X)
    generator = _generator(random_state, net.device)
    progress = _Progress(verbose, "sensitivity", len(x))
    parts = {name: [] for name in SENSITIVITY_COLUMNS}
    with _evaluating(net, x):
        for rows in _batches(len(x), batch_size):
            found = _sensitivity_rows(net.module, x[rows], net.task, hessian_projections, generator)
            for name, values in found.items():
                parts[name].append(values.double().cpu().numpy())
            progress.advance(rows.stop - rows.start)
    return pd.DataFrame({name: np.concatenate(parts[name]) for name in SENSITIVITY_COLUMNS})


# -- robustness to Gaussian input noise --------------------------------------------------------
def _errors(net: _Network, outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-row error: misclassification (0 or 1), or squared error summed over outputs, in the
    target's units (the regressor's network predicts standardized targets, ``normalize_y``)."""
    if net.task == "classification":
        return (outputs.argmax(dim=1) != y).double()
    scale, mean = (torch.as_tensor(v, device=outputs.device)
                   for v in (net.estimator.y_scale_, net.estimator.y_mean_))  # fmt: skip
    return (outputs.double() * scale + mean - y.double()).square().sum(dim=1)


def noise_errors(
    estimator, X, y, stds, *, n_draws=1, batch_size=1024, random_state=None, verbose=0
) -> pd.DataFrame:
    """Error on ``X + std * n``, ``n ~ N(0, I)``, for each ``std``: the robustness curve's data.

    The error is the misclassification rate for a classifier and the mean squared error (summed
    over outputs) for a regressor, averaged over rows and ``n_draws`` independent noise draws.
    ``std = 0`` gives the clean error. Stds are in the units the network sees (see the module
    notes for pipelines); techreport Figure 2 plots this curve.

    Parameters
    ----------
    estimator : RegularizedMLPClassifier, RegularizedMLPRegressor or Pipeline
        Fitted; a pipeline is measured in the space its last step sees.
    X : array-like of shape (n_samples, n_features)
        Clean inputs.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        True labels (classifier, in ``classes_``) or targets (regressor).
    stds : sequence of float
        Noise standard deviations, each >= 0.
    n_draws : int, default=1
        Independent noise draws per ``std``, averaged.
    batch_size : int, default=1024
        Rows evaluated at once.
    random_state : int, RandomState or None, default=None
        Seeds the noise.
    verbose : int, default=0
        Progress on stdout: 1 prints the noisy rows evaluated at most every 5 seconds and when
        done, 2 after every batch.

    Returns
    -------
    pandas.DataFrame
        Columns ``std`` and ``error``, one row per entry of ``stds``, in their order.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_regpen import RegularizedMLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = RegularizedMLPClassifier(tol=0.1, random_state=0).fit(X, y)
    >>> noise_errors(clf, X, y, [0.0, 10.0], random_state=0)["error"].is_monotonic_increasing
    True
    """
    net = _network(estimator)
    batch_size = _positive_int("batch_size", batch_size)
    stds = _check_levels("stds", stds)
    n_draws = _positive_int("n_draws", n_draws)
    x = _inputs(estimator, net, X)
    targets = _targets(net, y, len(x))
    generator = _generator(random_state, net.device)
    progress = _Progress(verbose, "noise_errors", len(stds) * n_draws * len(x), "noisy rows")
    results = []
    with _evaluating(net, x):
        for std in stds:
            total = 0.0
            for _ in range(n_draws):
                for rows in _batches(len(x), batch_size):
                    noise = torch.randn(
                        x[rows].shape, generator=generator, device=net.device, dtype=x.dtype
                    )
                    outputs = net.module(x[rows] + std * noise)
                    total += float(_errors(net, outputs, targets[rows]).sum())
                    progress.advance(rows.stop - rows.start)
            results.append((std, total / (n_draws * len(x))))
    return pd.DataFrame(results, columns=["std", "error"])


# -- adversarial attacks -----------------------------------------------------------------------
def _project(delta: torch.Tensor, radius: float, norm: str) -> torch.Tensor:
    if norm == "linf":
        return delta.clamp(-radius, radius)
    norms = delta.flatten(1).norm(dim=1)
    scale = (radius / norms.clamp_min(1e-30)).clamp(max=1.0)
    return delta * extend_rows(scale, delta)


def _ascent_direction(gradient: torch.Tensor, norm: str) -> torch.Tensor:
    """The unit-norm step of steepest ascent: the gradient's sign (L-inf) or direction (L2)."""
    return gradient.sign() if norm == "linf" else unit_rows(gradient)


def _attack_batch(module, x, y, radius, attack, norm, n_steps, step_size, generator):
    """Adversarial inputs ``x + delta``, ``||delta|| <= radius``, maximising the data loss.

    PGD returns, per row, the iterate with the largest loss (the random start included).
    """

    def row_losses(v):
        losses = data_loss("classification", module(v), y)
        return losses.sum(), losses

    loss_gradient = grad(row_losses, has_aux=True)
    if attack == "fgsm" or radius == 0:
        gradient, _ = loss_gradient(x)
        return x + radius * _ascent_direction(gradient, norm)
    if norm == "linf":
        delta = (2 * torch.rand(x.shape, generator=generator, device=x.device) - 1) * radius
    else:  # a random direction at a uniformly drawn fraction of the radius
        direction = unit_rows(torch.randn(x.shape, generator=generator, device=x.device))
        fraction = torch.rand(len(x), generator=generator, device=x.device)
        delta = direction * radius * extend_rows(fraction, x)
    delta = delta.to(x.dtype)
    best, best_loss = delta, torch.full((len(x),), -torch.inf, dtype=x.dtype, device=x.device)
    for step in range(n_steps + 1):
        gradient, losses = loss_gradient(x + delta)
        better = losses > best_loss
        best = torch.where(extend_rows(better, delta), delta, best)
        best_loss = torch.where(better, losses, best_loss)
        if step < n_steps:
            delta = _project(delta + step_size * _ascent_direction(gradient, norm), radius, norm)
    return x + best


def adversarial_inputs(
    estimator,
    X,
    y,
    radius,
    *,
    attack="pgd",
    norm="l2",
    n_steps=10,
    step_size=None,
    batch_size=256,
    random_state=None,
    verbose=0,
) -> np.ndarray:
    """Perturbed copies of ``X`` that raise the classifier's cross-entropy at the labels ``y``.

    White-box attacks on the network's logits, with no box constraint on the inputs (features
    may be standardized, so there is no natural box).

    Parameters
    ----------
    estimator : RegularizedMLPClassifier or Pipeline ending in one
        Fitted. Regressors are refused: the attacks are scored by accuracy.
    X : array-like of shape (n_samples, n_features)
        Clean inputs.
    y : array-like of shape (n_samples,)
        True labels, in the estimator's ``classes_``.
    radius : float
        Largest allowed perturbation, in the ``norm`` below, in the units the network sees.
    attack : {"pgd", "fgsm"}, default="pgd"
        ``"fgsm"``: one step of length ``radius`` along the gradient's sign (L-inf, Goodfellow et
        al. 2015) or its direction (L2, the fast gradient method). ``"pgd"``: projected gradient
        ascent (Madry et al. 2018) from a random start in the ball, ``n_steps`` steps of
        ``step_size``, each followed by projection back onto the ball; each row keeps the
        iterate with the largest loss.
    norm : {"l2", "linf"}, default="l2"
        The ball: Euclidean (per row) or max-abs.
    n_steps : int, default=10
        PGD steps (ignored by FGSM).
    step_size : float or None, default=None
        PGD step length; ``None`` uses ``2.5 * radius / n_steps``.
    batch_size : int, default=256
        Rows attacked at once.
    random_state : int, RandomState or None, default=None
        Seeds PGD's random start.
    verbose : int, default=0
        Progress on stdout: 1 prints the rows attacked at most every 5 seconds and when done,
        2 after every batch.

    Returns
    -------
    ndarray of shape (n_samples, n_features), float32 or float64
        The perturbed inputs **in the space the network sees** (after a pipeline's transforms),
        in the estimator's ``dtype``. ``||x_adv - x|| <= radius`` up to its rounding.
    """
    net = _network(estimator)
    settings = _attack_settings(net, attack, norm, n_steps, step_size, batch_size)
    (radius,) = _check_levels("radius", [radius]) if isinstance(radius, Real) else (None,)
    if radius is None:
        raise ValueError(f"radius must be a single non-negative number; got {radius!r}")
    x = _inputs(estimator, net, X)
    targets = _targets(net, y, len(x))
    generator = _generator(random_state, net.device)
    progress = _Progress(verbose, f"{attack} {norm} radius {radius:g}", len(x))
    return _adversarial(net, x, targets, radius, generator, progress, **settings).cpu().numpy()


def _attack_settings(net, attack, norm, n_steps, step_size, batch_size) -> dict:
    if net.task != "classification":
        raise ValueError(
            "attacks are scored by accuracy and need a classifier; got a RegularizedMLPRegressor"
        )
    if attack not in ATTACKS:
        raise ValueError(f"attack must be one of {ATTACKS}; got {attack!r}")
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}; got {norm!r}")
    n_steps = _positive_int("n_steps", n_steps)
    if step_size is not None and (not isinstance(step_size, Real) or not step_size > 0):
        raise ValueError(f"step_size must be a positive number or None; got {step_size!r}")
    return dict(
        attack=attack,
        norm=norm,
        n_steps=int(n_steps),
        step_size=step_size,
        batch_size=_positive_int("batch_size", batch_size),
    )


def _adversarial(net, x, targets, radius, generator, progress, *, attack, norm, n_steps,
                 step_size, batch_size):  # fmt: skip
    step = 2.5 * radius / n_steps if step_size is None else float(step_size)
    parts = []
    with _evaluating(net, x):
        for rows in _batches(len(x), batch_size):
            parts.append(
                _attack_batch(
                    net.module, x[rows], targets[rows], radius, attack, norm, n_steps, step,
                    generator,
                )
            )  # fmt: skip
            progress.advance(rows.stop - rows.start)
    return torch.cat(parts)


def attack_accuracies(
    estimator,
    X,
    y,
    radii: Sequence[float],
    *,
    attack="pgd",
    norm="l2",
    n_steps=10,
    batch_size=256,
    random_state=None,
    verbose=0,
) -> pd.DataFrame:
    """Accuracy on :func:`adversarial_inputs` at each radius (``radius = 0``: clean accuracy).

    Parameters
    ----------
    estimator : RegularizedMLPClassifier or Pipeline ending in one
        Fitted. Regressors are refused: the attacks are scored by accuracy.
    X : array-like of shape (n_samples, n_features)
        Clean inputs.
    y : array-like of shape (n_samples,)
        True labels, in the estimator's ``classes_``.
    radii : sequence of float
        Attack radii, each >= 0, in the units the network sees.
    attack : {"pgd", "fgsm"}, default="pgd"
        See :func:`adversarial_inputs`.
    norm : {"l2", "linf"}, default="l2"
        See :func:`adversarial_inputs`.
    n_steps : int, default=10
        PGD steps, each of ``2.5 * radius / n_steps``.
    batch_size : int, default=256
        Rows attacked at once.
    random_state : int, RandomState or None, default=None
        Seeds PGD's random starts.
    verbose : int, default=0
        Progress on stdout: 1 prints the rows attacked at most every 5 seconds and when each
        radius is done, 2 after every batch.

    Returns
    -------
    pandas.DataFrame
        Columns ``radius`` and ``accuracy``, one row per entry of ``radii``, in their order.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_regpen import RegularizedMLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = RegularizedMLPClassifier(tol=0.1, random_state=0).fit(X, y)
    >>> acc = attack_accuracies(clf, X, y, [0.0, 1.0], attack="fgsm", norm="linf")
    >>> bool(acc["accuracy"].iloc[1] < acc["accuracy"].iloc[0])
    True
    """
    net = _network(estimator)
    settings = _attack_settings(net, attack, norm, n_steps, None, batch_size)
    radii = _check_levels("radii", radii)
    x = _inputs(estimator, net, X)
    targets = _targets(net, y, len(x))
    generator = _generator(random_state, net.device)
    rows = []
    for radius in radii:
        progress = _Progress(verbose, f"{attack} {norm} radius {radius:g}", len(x))
        x_adv = _adversarial(net, x, targets, radius, generator, progress, **settings)
        with _evaluating(net, x):
            correct = net.module(x_adv).argmax(dim=1) == targets
        rows.append((radius, float(correct.double().mean())))
    return pd.DataFrame(rows, columns=["radius", "accuracy"])


# -- everything at once ------------------------------------------------------------------------
def diagnose(
    estimator,
    X,
    y,
    *,
    noise_stds=(),
    radii=(),
    norm="l2",
    n_steps=10,
    hessian_projections=None,
    batch_size=256,
    random_state=None,
    verbose=0,
) -> pd.Series:
    """Means of :func:`sensitivity`, the clean error, and the robustness figures, in one Series.

    Entries: every :data:`SENSITIVITY_COLUMNS` name (mean over rows), ``error`` (clean error
    rate, or mean squared error for a regressor), ``noise_error@<std>`` for each of
    ``noise_stds`` (:func:`noise_errors`, one draw), and for a classifier
    ``fgsm_accuracy@<r>`` and ``pgd_accuracy@<r>`` for each of ``radii``
    (:func:`attack_accuracies` in ``norm``). Stack several models' Series into a table with
    ``pandas.DataFrame({name: diagnose(model, X, y) for name, model in models.items()}).T``.

    Parameters
    ----------
    estimator : RegularizedMLPClassifier, RegularizedMLPRegressor or Pipeline
        Fitted; a pipeline is measured in the space its last step sees.
    X : array-like of shape (n_samples, n_features)
        Inputs at which everything is measured.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        True labels (classifier) or targets (regressor).
    noise_stds : sequence of float, default=()
        Gaussian noise levels for :func:`noise_errors` (one draw each).
    radii : sequence of float, default=()
        Attack radii for :func:`attack_accuracies`, FGSM and PGD; classifiers only.
    norm : {"l2", "linf"}, default="l2"
        The attacks' ball.
    n_steps : int, default=10
        PGD steps.
    hessian_projections : int or None, default=None
        Passed to :func:`sensitivity`: ``None`` for the exact Hessian norm, an integer for an
        estimate from that many random directions (images).
    batch_size : int, default=256
        Rows processed at once.
    random_state : int, RandomState or None, default=None
        Seeds every random draw (Hessian directions, noise, PGD starts).
    verbose : int, default=0
        Progress on stdout, passed to each measurement: 1 prints each one's rows at most every 5
        seconds and when it is done, 2 after every batch.

    Returns
    -------
    pandas.Series of float
        Indexed by the entry names above: the six sensitivity means, ``error``, then
        ``noise_error@<std>``, ``fgsm_accuracy@<r>`` and ``pgd_accuracy@<r>``.

    See Also
    --------
    sensitivity, noise_errors, attack_accuracies
    """
    net = _network(estimator)
    _Progress(verbose, "diagnose", 0)  # a bad verbose is refused before any work
    rng = check_random_state(random_state)
    means = sensitivity(
        estimator, X, hessian_projections=hessian_projections, batch_size=batch_size,
        random_state=rng, verbose=verbose,
    ).mean()  # fmt: skip
    noisy = noise_errors(
        estimator, X, y, [0.0, *_check_levels("noise_stds", noise_stds)],
        batch_size=batch_size, random_state=rng, verbose=verbose,
    )  # fmt: skip
    entries = dict(means)
    entries["error"] = noisy["error"].iloc[0]
    for std, error in zip(noisy["std"].iloc[1:], noisy["error"].iloc[1:]):
        entries[f"noise_error@{std:g}"] = error
    radii = _check_levels("radii", radii)
    if radii and net.task != "classification":
        raise ValueError("radii: attacks are scored by accuracy and need a classifier")
    for attack in ATTACKS if radii else ():
        table = attack_accuracies(
            estimator, X, y, radii, attack=attack, norm=norm, n_steps=n_steps,
            batch_size=batch_size, random_state=rng, verbose=verbose,
        )  # fmt: skip
        for radius, accuracy in zip(table["radius"], table["accuracy"]):
            entries[f"{attack}_accuracy@{radius:g}"] = accuracy
    return pd.Series(entries, dtype=float)
