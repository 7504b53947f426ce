"""Whether a fit's training loss ended in a climb: the rule behind ``TrainingLossClimbWarning``.

A loss that ends well above the lowest it reached says that the recipe (learning rate, schedule,
penalty strength) was unstable. A loss that merely wanders says nothing: the penalties that draw
noise (``noise``, ``vat``, the ``c2c`` family) give epoch losses that scatter around their level,
and the last epoch of such a curve often lies well above the curve's single lowest epoch.

So the rule compares the last epoch with the curve's *level* rather than with its single lowest
value, and asks the rise to stand out of the curve's own scatter:

* the lowest level is the minimum of the curve smoothed by a running median over a tenth of its
  epochs (raw epochs for curves under 20 epochs);
* the scatter is estimated from the epoch-to-epoch changes of the second half of the curve
  (their median absolute deviation, scaled to a standard deviation of one epoch's loss);
* the last epoch climbed when it is above :data:`CLIMB_RATIO` times the lowest level, by more
  than :data:`CLIMB_SHARE` of the fall from the first epoch to that level, and by more than
  :data:`CLIMB_SPREAD` times the scatter;
* so did the training, on curves of 20 epochs or more, when the *end level*, the median of the
  last half of the epochs, passes the same three tests against the lowest level reached before
  that half, with the scatter of a median of that many epochs (the scatter times 1.25 over the
  square root of their number), and the last epoch is still above :data:`CLIMB_RATIO` times that
  level (a loss that spiked and is coming back down has a high last half, but it recovers).
  This finds a loss that settled on a plateau above its best level and wanders there by more
  than its rise: on MNIST, two tanh layers of 1000 with ``jacobian`` went from 0.37 to about
  0.55 and scattered by 0.07 per epoch.

A loss that recovers before the end is no climb: the rule reads where training ended.
``benchmarks/climb_rule.py`` checks it on 30 flat noisy fits of every penalty family (no alarm
allowed), on climbs forced onto the same curves and on recipes that climbed on MNIST.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


class TrainingLossClimbWarning(UserWarning):
    """The training loss of a fit ended well above the lowest level it reached.

    The fit still succeeds, with the weights of its best epoch; the warning says that the recipe
    (learning rate, schedule, penalty strength) was unstable for this penalty and data. Filter it
    like any warning: ``warnings.simplefilter("ignore", TrainingLossClimbWarning)``.
    """


#: the last epoch's loss above this many times the lowest level counts as a climb ...
CLIMB_RATIO = 1.15
#: ... when the rise is also more than this share of the fall from the first epoch to the lowest
#: level (a loss wandering just above a floor near 0, as on an easy table, is no climb) ...
CLIMB_SHARE = 0.1
#: ... and more than this many standard deviations of the curve's epoch-to-epoch scatter
CLIMB_SPREAD = 4.0
#: curves shorter than this are compared epoch by epoch, with no smoothing and no scatter
SHORT_CURVE = 20


@dataclass(frozen=True)
class Climb:
    """A training loss that ended well above its lowest level; epochs are 1-based, over all fits.

    ``lowest`` is the lowest level (a running median over ``window`` epochs ending at
    ``lowest_epoch``; the epoch's own loss when ``window`` is 1); ``last`` the loss where training
    ended (the median of the last ``end_window`` epochs up to ``last_epoch``)."""

    lowest_epoch: int
    lowest: float
    last_epoch: int
    last: float
    window: int = 1
    #: ``last`` is the median of this many final epochs (1: the last epoch's own loss)
    end_window: int = 1

    def end_text(self) -> str:
        """Where training ended, in words: the last epoch's loss, or the end level."""
        if self.end_window == 1:
            return f"{self.last:.4g} at epoch {self.last_epoch}"
        return (f"{self.last:.4g} (the median of the last {self.end_window} epochs, up to epoch "
                f"{self.last_epoch})")  # fmt: skip

    @property
    def ratio(self) -> float:
        return self.last / self.lowest if self.lowest > 0 else math.inf


def _running_median(values: np.ndarray, window: int) -> np.ndarray:
    """Median of each run of ``window`` consecutive values, ending at each value from the
    ``window``-th on."""
    if window == 1:
        return values
    runs = np.lib.stride_tricks.sliding_window_view(values, window)
    return np.median(runs, axis=1)


def scatter(losses: np.ndarray) -> float:
    """The standard deviation of one epoch's loss about the curve's local level, from the
    epoch-to-epoch changes of the second half (a robust estimate: a trend or one jump barely
    moves it)."""
    changes = np.diff(losses[len(losses) // 2 :])
    if len(changes) < 3:
        return 0.0
    mad = np.median(np.abs(changes - np.median(changes)))
    return float(1.4826 * mad / math.sqrt(2))


def loss_climb(losses, first_epoch: int = 1) -> Climb | None:
    """The climb of one fit's epoch losses ``losses`` (epoch ``first_epoch`` first), or None.

    See the module's description for the rule. On ``[1.0, 0.2, 0.3]`` (1.5x the lowest, an
    eighth of the fall regained) it finds a climb from epoch 2 to epoch 3.
    """
    curve = np.asarray([float(v) for v in losses], dtype=float)
    n = len(curve)
    if n < 2:
        return None
    short = n < SHORT_CURVE
    window = 1 if short else max(1, n // 10)
    levels = _running_median(curve, window)
    first = float(curve[0])
    noise = 0.0 if short else scatter(curve)
    # (epochs the end is the median of, the end, the scatter of that median, the levels it is
    # compared with): the last epoch against every level; on long curves, the median of the last
    # half against the levels reached before that half began (a curve still falling at its end
    # has its lowest level there, and its last half no lower than it)
    ends = [(1, float(curve[-1]), noise, levels)]
    if not short:
        k = n // 2
        ends.append((k, float(np.median(curve[-k:])), noise * 1.2533 / math.sqrt(k),
                     levels[: n - k - window + 1]))  # fmt: skip
    for k, end, spread, before in ends:
        at = int(np.argmin(before))
        lowest = float(before[at])
        rise = end - lowest
        if (end > CLIMB_RATIO * lowest and rise > CLIMB_SHARE * (first - lowest)
                and rise > CLIMB_SPREAD * spread
                and curve[-1] > CLIMB_RATIO * lowest):  # fmt: skip
            return Climb(first_epoch + at + window - 1, lowest, first_epoch + n - 1, end, window,
                         k)  # fmt: skip
    return None


def climb_message(climb: Climb, describe: str, kept_epoch: int) -> str:
    """The warning's text: the epochs, the losses, the settings, what to try."""
    level = (f"its lowest ({climb.lowest:.4g} at epoch {climb.lowest_epoch})" if climb.window == 1
             else f"its lowest level ({climb.lowest:.4g}, the median of the {climb.window} epochs "
                  f"up to epoch {climb.lowest_epoch})")  # fmt: skip
    return (
        f"The training loss climbed: {climb.end_text()}, {climb.ratio:.2f}x {level}, with "
        f"{describe}. The model keeps the weights of epoch {kept_epoch}. Try a smaller "
        "learning_rate_init (by 3x), learning_rate='cosine', or a smaller alpha; for Jacobian "
        "penalties with projections, more projections (penalty__n_projections)."
    )
