"""The epoch loop around the skorch net: stopping rules, divergence, best and last good weights.

skorch's ``fit_loop`` runs one epoch at a time here; everything decided between epochs (whether
the loss is still finite, whether it still improves, which weights to keep) is ordinary Python, so
that stopping never needs an exception and a ``KeyboardInterrupt`` is never swallowed.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch


class TrainingDivergedError(ValueError):
    """The training loss stopped being finite; the estimator is left as it was before the call."""


class TrainingLossClimbWarning(UserWarning):
    """The training loss of a fit ended well above the lowest it reached (see :func:`loss_climb`).

    The fit still succeeds, with the weights of its best epoch; the warning says that the recipe
    (learning rate, schedule, penalty strength) was unstable for this penalty and data. Filter it
    like any warning: ``warnings.simplefilter("ignore", TrainingLossClimbWarning)``.
    """


#: a fit's last epoch loss above this many times its lowest counts as a climb ...
CLIMB_RATIO = 1.3
#: ... when the rise is also more than this share of the fall from the first epoch to the lowest
#: (so that a loss wandering just above a floor near 0, as on an easy table, is not a climb)
CLIMB_SHARE = 0.1


@dataclass(frozen=True)
class Climb:
    """A training loss that ended well above its minimum; epochs are 1-based, over all fits."""

    lowest_epoch: int
    lowest: float
    last_epoch: int
    last: float

    @property
    def ratio(self) -> float:
        return self.last / self.lowest if self.lowest > 0 else math.inf


def loss_climb(losses, first_epoch: int = 1) -> Climb | None:
    """The climb of one fit's epoch losses ``losses`` (epoch ``first_epoch`` first), or None.

    A climb is a last epoch whose loss is more than :data:`CLIMB_RATIO` times the lowest loss of
    the fit, by more than :data:`CLIMB_SHARE` of the fall from the first epoch to the lowest. The
    rule reads the loss where training ended, not its spikes on the way: a loss that recovers
    is no climb, one that ends at 0.3 after reaching 0.2 (MNIST with ``jacobian`` at a rate too
    high) is.
    """
    losses = [float(v) for v in losses]
    if len(losses) < 2:
        return None
    low = min(range(len(losses)), key=losses.__getitem__)
    lowest, last, first = losses[low], losses[-1], losses[0]
    if last > CLIMB_RATIO * lowest and last - lowest > CLIMB_SHARE * (first - lowest):
        return Climb(first_epoch + low, lowest, first_epoch + len(losses) - 1, last)
    return None


def climb_message(climb: Climb, describe: str, kept_epoch: int) -> str:
    """The warning's text: the epochs, the losses, the settings, what to try."""
    return (
        f"The training loss climbed: {climb.last:.4g} at epoch {climb.last_epoch}, "
        f"{climb.ratio:.2f}x its lowest ({climb.lowest:.4g} at epoch {climb.lowest_epoch}), "
        f"with {describe}. The model keeps the weights of epoch {kept_epoch}. Try a smaller "
        "learning_rate_init (by 3x), learning_rate='cosine', or a smaller alpha; for "
        "Jacobian penalties with projections, more projections (penalty__n_projections)."
    )


@dataclass
class Progress:
    """What training has recorded so far; carried across ``warm_start`` fits and ``partial_fit``."""

    loss_curve: list = field(default_factory=list)
    validation_scores: list = field(default_factory=list)
    best_loss: float = math.inf
    best_score: float = -math.inf
    stall: int = 0
    kept_epoch: int = 0  # the epoch whose weights the model falls back on (best, or last good)

    @property
    def n_iter(self) -> int:
        return len(self.loss_curve)


def epoch_loss(net) -> float:
    """Mean training objective over the rows of the epoch the net just ran (``PenalizedNet``
    records it once per epoch)."""
    return net.history[-1, "train_loss"]


def run_epochs(
    net,
    train,
    progress: Progress,
    *,
    max_epochs: int,
    tol: float,
    n_iter_no_change: int | None,
    validate: Callable[[], float] | None = None,
    stop_early: bool = True,
    on_stall: Callable[[], bool] | None = None,
    describe: str = "",
    verbose: bool = False,
) -> bool:
    """Train ``net`` on ``train`` for up to ``max_epochs`` epochs; return whether it converged.

    With ``validate`` (a callable scoring the current module, higher is better) training stops once
    the score has not improved by ``tol`` for more than ``n_iter_no_change`` epochs; without it, the
    same rule applies to the training loss; ``n_iter_no_change=None`` never stops on a stall (a
    schedule that decays to 0 at ``max_epochs`` is its own stopping rule). ``on_stall``, when given,
    is called at that point instead of stopping: it returns True to go on (after lowering the
    learning rate, say), with the count of epochs without improvement reset, or False to stop.
    Either way the weights of the best epoch of this call (highest score, or lowest training loss)
    are restored at the end: a loss that spikes late in training (seen with ``vat`` on a one-hot
    table, where the last epoch's loss was 100 times its best) must not leave the model with its
    worst weights. ``stop_early=False`` (``partial_fit``) runs all ``max_epochs`` and keeps the last
    epoch's weights. A non-finite loss raises :class:`TrainingDivergedError`; a
    ``KeyboardInterrupt`` restores the kept weights (the best epoch's of this call, or the last
    completed one's for ``partial_fit``) before it propagates. ``progress.kept_epoch`` names the
    epoch whose weights are kept.
    """
    module = net.module_
    kept = None  # the weights to fall back on: this call's best epoch, or its last completed one
    best = -math.inf if validate is not None else math.inf  # the best of this call
    started = time.perf_counter()
    converged = False
    try:
        for _ in range(max_epochs):
            net.fit_loop(train, epochs=1)
            loss = epoch_loss(net)
            if not math.isfinite(loss):
                raise TrainingDivergedError(
                    f"Training diverged: the loss became {loss} at epoch {progress.n_iter + 1}"
                    f"{f' ({describe})' if describe else ''}. Try a smaller alpha or "
                    "learning_rate_init, or scale the inputs (StandardScaler)."
                )
            progress.loss_curve.append(loss)
            if validate is not None:
                score = validate()
                progress.validation_scores.append(score)
                improved = score > progress.best_score + tol
                progress.best_score = max(progress.best_score, score)
                better = score > best
            else:
                improved = loss < progress.best_loss - tol
                progress.best_loss = min(progress.best_loss, loss)
                better = loss < best
            if better or not stop_early:
                best = score if validate is not None else loss
                kept = _snapshot(module, kept)
                progress.kept_epoch = progress.n_iter
            progress.stall = 0 if improved else progress.stall + 1
            if verbose:
                extra = f", validation score = {score:.6f}" if validate is not None else ""
                print(f"Iteration {progress.n_iter}, loss = {loss:.8f}{extra} "
                      f"({time.perf_counter() - started:.1f}s)")
            stalled = n_iter_no_change is not None and progress.stall > n_iter_no_change
            if stop_early and stalled:
                if on_stall is None or not on_stall():
                    converged = True
                    break
                progress.stall = 0
    except KeyboardInterrupt:
        if kept is not None:
            module.load_state_dict(kept)
        raise
    if stop_early and kept is not None:
        module.load_state_dict(kept)
    return converged


def _snapshot(module, into: dict | None) -> dict:
    """The module's weights copied into ``into`` (allocated the first time: one allocation per
    call, not one per epoch)."""
    if into is None:
        return copy.deepcopy(module.state_dict())
    with torch.no_grad():
        for name, value in module.state_dict().items():
            into[name].copy_(value)
    return into
