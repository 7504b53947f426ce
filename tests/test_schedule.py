"""Learning-rate schedules: the cosine decay, ``learning_rate="auto"`` (tables train
exactly as before, images get the cosine), ``partial_fit`` under a schedule, and the warning of a
training loss that climbs."""

import math
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning

from sklearn_regpen import (
    RegularizedMLPClassifier,
    RegularizedMLPRegressor,
    TrainingLossClimbWarning,
    _loop,
)
from sklearn_regpen._climb import CLIMB_RATIO, climb_message, loss_climb
from sklearn_regpen._schedule import (
    AUTO_RATE,
    AUTO_RATE_DEEP,
    WIDE_INPUT,
    CosineSchedule,
    resolve_learning_rate,
    resolve_rate,
)

# every row trains, and the training loss is what stops a fit (the default early stopping off)
FAST = dict(hidden_layer_sizes=(16,), max_iter=8, random_state=0, batch_size=32,
            early_stopping=False)


def table(n_features=10, n_rows=120):
    return make_classification(n_samples=n_rows, n_features=n_features, n_informative=5,
                               n_classes=3, random_state=0)  # fmt: skip


def test_cosine_schedule_warms_up_then_decays_to_zero():
    schedule = CosineSchedule(base=0.01, total_steps=110, warmup_steps=10)
    rates = [schedule(step) for step in range(110)]
    assert rates[0] == pytest.approx(0.001) and rates[9] == pytest.approx(0.01)
    assert rates[10] == pytest.approx(0.01) and rates[60] == pytest.approx(0.005)
    decay = rates[10:]
    assert all(a >= b for a, b in zip(decay, decay[1:])) and decay[-1] < 1e-5
    assert schedule(500) == 0.0  # past the end: stays at 0
    assert CosineSchedule(base=1.0, total_steps=4)(0) == 1.0  # no warm-up: starts at the peak


def test_auto_decides_from_the_number_of_features():
    assert resolve_learning_rate("auto", WIDE_INPUT - 1)[0] == "constant"
    assert resolve_learning_rate("auto", 287)[0] == "constant"  # splice, one-hot encoded
    schedule, reason = resolve_learning_rate("auto", 784)
    assert schedule == "cosine" and "784 features" in reason
    assert resolve_learning_rate("adaptive", 784)[0] == "adaptive"


def test_auto_rate_decides_from_the_inputs_and_the_depth():
    assert (AUTO_RATE, AUTO_RATE_DEEP) == (3e-3, 1e-3)
    assert resolve_rate("auto", 784, 1)[0] == AUTO_RATE
    rate, reason = resolve_rate("auto", 784, 2)
    assert rate == AUTO_RATE_DEEP and "2 hidden layers" in reason
    assert resolve_rate("auto", 784, 3)[0] == AUTO_RATE_DEEP
    assert resolve_rate("auto", WIDE_INPUT - 1, 3)[0] == AUTO_RATE  # tables keep their rate
    assert resolve_rate("auto", 784, None)[0] == AUTO_RATE  # a module of unknown depth
    assert resolve_rate(0.01, 784, 2) == (0.01, "learning_rate_init=0.01")


@pytest.mark.parametrize("hidden, n_features, same_as", [
    ((8, 8), WIDE_INPUT, AUTO_RATE_DEEP),  # image-like, two layers: the slower rate
    ((8,), WIDE_INPUT, AUTO_RATE),  # image-like, one layer
    ((8, 8), 10, AUTO_RATE),  # a table: the rate of before, whatever the depth
])  # fmt: skip
def test_auto_rate_trains_as_the_rate_it_stands_for(hidden, n_features, same_as, capsys):
    X, y = table(n_features=n_features, n_rows=90)
    settings = {**FAST, "hidden_layer_sizes": hidden, "max_iter": 3}
    auto = RegularizedMLPClassifier(**settings, verbose=True).fit(X, y)
    assert f"learning_rate_init='auto': {same_as:g}" in capsys.readouterr().out
    fixed = RegularizedMLPClassifier(**settings, learning_rate_init=same_as).fit(X, y)
    other = RegularizedMLPClassifier(**settings, learning_rate_init=4 * same_as).fit(X, y)
    assert auto.loss_curve_ == fixed.loss_curve_ != other.loss_curve_
    np.testing.assert_array_equal(auto.predict_proba(X), fixed.predict_proba(X))
    # the members' pass resolves it the same way
    pair = dict(settings, n_members=2)
    np.testing.assert_allclose(
        RegularizedMLPClassifier(**pair).fit(X, y).predict_proba(X),
        RegularizedMLPClassifier(**pair, learning_rate_init=same_as).fit(X, y).predict_proba(X),
        rtol=0, atol=0,
    )


def test_the_net_estimators_take_a_number_only():
    from sklearn_regpen import RegularizedNetClassifier

    X, y = table()
    with pytest.raises(ValueError, match="'learning_rate_init' parameter .* Got 'auto'"):
        RegularizedNetClassifier(learning_rate_init="auto").fit(X, y)


@pytest.mark.parametrize("penalty, n_features", [("l2", 10), ("jacobian", 10), ("vat", 10),
                                                 ("l2", 287)])  # fmt: skip
def test_auto_trains_tables_bit_identically_to_the_old_constant_default(penalty, n_features):
    """The tabular benchmark's results cannot change: on tables "auto" is the constant rate, the
    code path of the default before schedules existed (same steps, same predictions), up to the
    benchmark's widest table (splice: 287 columns once one-hot encoded)."""
    assert n_features < WIDE_INPUT
    X, y = table(n_features=n_features)
    settings = {**FAST, "penalty": penalty, "alpha": 0.1}
    auto = RegularizedMLPClassifier(**settings).fit(X, y)
    constant = RegularizedMLPClassifier(learning_rate="constant", **settings).fit(X, y)
    assert auto.get_params()["learning_rate"] == "auto"
    assert auto.loss_curve_ == constant.loss_curve_
    np.testing.assert_array_equal(auto.predict_proba(X), constant.predict_proba(X))
    Xr, yr = make_regression(n_samples=100, n_features=8, random_state=0)
    reg_auto = RegularizedMLPRegressor(**settings).fit(Xr, yr)
    reg_constant = RegularizedMLPRegressor(learning_rate="constant", **settings).fit(Xr, yr)
    np.testing.assert_array_equal(reg_auto.predict(Xr), reg_constant.predict(Xr))


def test_auto_is_the_cosine_on_images_and_says_so(capsys):
    X, y = table(n_features=WIDE_INPUT, n_rows=64)
    auto = RegularizedMLPClassifier(verbose=True, **FAST).fit(X, y)
    assert "learning_rate='auto': cosine decay (512 features" in capsys.readouterr().out
    cosine = RegularizedMLPClassifier(learning_rate="cosine", **FAST).fit(X, y)
    np.testing.assert_array_equal(auto.predict_proba(X), cosine.predict_proba(X))
    constant = RegularizedMLPClassifier(learning_rate="constant", **FAST).fit(X, y)
    assert not np.array_equal(auto.predict_proba(X), constant.predict_proba(X))


def test_cosine_steps_follow_the_schedule_over_max_iter():
    X, y = table()  # 120 rows, batch 32: 4 steps per epoch
    clf = RegularizedMLPClassifier(learning_rate="cosine", learning_rate_init=0.01, **FAST)
    seen = []
    original = CosineSchedule.__call__

    def spy(self, step):
        rate = original(self, step)
        seen.append(rate)
        return rate

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CosineSchedule, "__call__", spy)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(X, y)
    steps = FAST["max_iter"] * 4
    assert len(seen) == steps == clf.net_.schedule_step_
    expected = [0.005 * (1 + math.cos(math.pi * s / steps)) for s in range(steps)]
    assert seen == pytest.approx(expected)
    # a new fit (warm_start or not) starts the schedule again from the peak
    clf.set_params(warm_start=True, max_iter=2).fit(X, y)
    assert clf.net_.schedule_step_ == 8 and clf.net_.lr_schedule(0) == 0.01


def test_partial_fit_after_a_cosine_fit_trains_at_learning_rate_init():
    X, y = table()
    clf = RegularizedMLPClassifier(learning_rate="cosine", learning_rate_init=0.01, **FAST)
    clf.fit(X, y)
    assert clf.net_.optimizer_.param_groups[0]["lr"] < 1e-3  # the end of the decay
    clf.partial_fit(X, y)
    rates = {group["lr"] for group in clf.net_.optimizer_.param_groups}
    assert rates == {0.01} and clf.net_.lr_schedule is None
    fresh = RegularizedMLPClassifier(learning_rate="cosine", learning_rate_init=0.01, **FAST)
    fresh.partial_fit(X, y, classes=np.unique(y))
    assert fresh.net_.optimizer_.param_groups[0]["lr"] == 0.01


@pytest.mark.parametrize(
    "losses, climbed",
    [
        ([1.0, 0.2, 0.3], (2, 3)),  # 1.5x the lowest, half the fall regained
        ([1.0, 0.2, 0.25], None),  # 1.25x, but a sixteenth of the fall regained
        ([2.3, 0.19, 0.5, 1.03], (2, 4)),  # the jacobian climb, in shape
        ([0.5, 0.010, 0.014], None),  # 1.4x, but 0.004 of a 0.49 fall: noise at the floor
        ([1.0, 0.9, 0.8], None),  # still falling
        ([0.5], None),
    ],
)
def test_loss_climb_rule(losses, climbed):
    climb = loss_climb(losses)
    if climbed is None:
        assert climb is None
    else:
        assert (climb.lowest_epoch, climb.last_epoch) == climbed
        assert climb.ratio > CLIMB_RATIO


def _flat_noisy_curve(seed: int, n: int = 150) -> list:
    """A training loss that falls to a level of 0.3 and wanders about it (sd 0.03)."""
    rng = np.random.default_rng(seed)
    epochs = np.arange(n)
    return (0.3 + 0.7 * np.exp(-epochs / 10) + rng.normal(0, 0.03, n)).tolist()


def test_flat_noisy_curves_are_no_climb_but_spikes_and_ramps_on_them_are():
    raised = 0
    for seed in range(30):
        curve = _flat_noisy_curve(seed)
        raised += curve[-1] > CLIMB_RATIO * min(curve)  # ends well above its single lowest epoch
        assert loss_climb(curve) is None
        spiked = curve[:-1] + [curve[-1] + 0.35]  # half the fall, on the last epoch
        assert loss_climb(spiked) is not None and loss_climb(spiked).last_epoch == 150
        ramped = np.array(curve)
        ramped[-30:] += np.linspace(0, 0.35, 30)
        assert loss_climb(ramped.tolist()) is not None
    assert raised >= 3  # the comparison with the lowest epoch alone would have cried wolf


def test_a_plateau_above_the_best_loss_is_a_climb():
    """The shape of two tanh layers of 1000 with jacobian on MNIST at a constant 3e-3: 0.465,
    0.444, then up to 0.55 and flat there (1.24x the lowest)."""
    rng = np.random.default_rng(0)
    curve = [0.465, 0.444] + (0.55 + rng.normal(0, 0.002, 28)).tolist()
    climb = loss_climb(curve)
    assert climb is not None and climb.window == 3 and climb.ratio > CLIMB_RATIO
    assert "the median of the 3 epochs" in climb_message(climb, "penalty='jacobian'", 2)


def test_a_plateau_that_wanders_more_than_it_rose_is_a_climb():
    """Two tanh layers of 1000 with jacobian at alpha 0.3 on 20,000 MNIST rows, 20 epochs at a
    constant 3e-3 (``benchmarks/climb_rule.py``): down to 0.37, then a level near 0.55 that
    scatters by 0.07 an epoch. The last epoch alone does not stand out of that scatter; the
    median of the last half does."""
    curve = [0.562, 0.3742, 0.4446, 0.4079, 0.4873, 0.4532, 0.4073, 0.3891, 0.5303, 0.5459]
    curve += [0.5631, 0.5676, 0.4719, 0.5591, 0.4254, 0.5093, 0.4754, 0.5513, 0.5512, 0.5633]
    climb = loss_climb(curve)
    assert climb is not None and climb.end_window == 10 and climb.last_epoch == 20
    assert climb.last == pytest.approx(np.median(curve[10:])) and climb.ratio > CLIMB_RATIO
    assert "the median of the last 10 epochs" in climb_message(climb, "penalty='jacobian'", 2)
    # the same curve with its second half back at its best level is no climb
    assert loss_climb(curve[:10] + [0.4 + (v - 0.55) / 4 for v in curve[10:]]) is None
    # nor is a curve still falling at its end: its last half lies above its last epochs, not
    # above any level reached before that half
    falling = [0.6, *np.linspace(0.55, 0.3, 14), *np.linspace(0.3, 0.15, 15)]
    assert loss_climb(falling) is None
    # nor one that spiked and came back down by its last epoch, though its last half is high
    # (noisy_jacobian at alpha 1 on MNIST, under the cosine decay)
    recovered = [0.617, 0.478, 1.8, 3.181, 3.123, 3.262, 3.008, 2.713, 2.796, 2.472, 1.889, 1.723,
                 2.106, 1.538, 2.123, 1.371, 1.278, 1.09, 0.953, 0.864, 0.863, 0.866, 0.739, 0.724,
                 0.656, 0.664, 0.63, 0.626, 0.599, 0.616]  # fmt: skip
    assert loss_climb(recovered) is None


def test_a_forced_climb_is_reported_with_epoch_penalty_and_advice(monkeypatch):
    """The epoch losses are scripted (down to 0.2, up to 0.9): the fit warns, names the epochs,
    the penalty and what to try, and keeps the weights of the lowest epoch."""
    X, y = table()
    scripted = iter([1.0, 0.2, 0.5, 0.9])
    monkeypatch.setattr(_loop, "epoch_loss", lambda net: next(scripted))
    clf = RegularizedMLPClassifier(penalty="jacobian", alpha=1.0, **{**FAST, "max_iter": 4})
    with pytest.warns(TrainingLossClimbWarning) as caught:
        clf.fit(X, y)
    climbs = [w for w in caught if issubclass(w.category, TrainingLossClimbWarning)]
    assert len(climbs) == 1
    message = str(climbs[0].message)
    for part in ("epoch 4", "4.50x its lowest", "epoch 2", "penalty='jacobian'",
                 "keeps the weights of epoch 2", "smaller learning_rate_init",
                 "learning_rate='cosine'"):  # fmt: skip
        assert part in message
    assert issubclass(TrainingLossClimbWarning, UserWarning)
    assert clf.best_loss_ == 0.2 and clf.loss_curve_ == [1.0, 0.2, 0.5, 0.9]
    # users filter it like any warning
    monkeypatch.setattr(_loop, "epoch_loss", lambda net, s=iter([1.0, 0.2, 0.9]): next(s))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", TrainingLossClimbWarning)
        clf.set_params(max_iter=3).fit(X, y)


def test_a_real_climb_from_a_rate_far_too_high_is_reported():
    """Not scripted: Adam at rate 0.1 (30x the default) on a tanh net overshoots: the loss falls
    to 0.23 by epoch 8, then ends at 0.45 (seeded, CPU)."""
    X, y = table(n_rows=300)
    clf = RegularizedMLPClassifier(
        hidden_layer_sizes=(64,), activation="tanh", learning_rate="constant",
        learning_rate_init=0.1, max_iter=11, n_iter_no_change=100, batch_size=16, random_state=0,
        alpha=1e-4, early_stopping=False,
    )  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(X, y)
    curve = clf.loss_curve_
    reported = [w for w in caught if issubclass(w.category, TrainingLossClimbWarning)]
    assert loss_climb(curve) is not None and curve[-1] > CLIMB_RATIO * min(curve)
    assert len(reported) == 1 and f"epoch {len(curve)}" in str(reported[0].message)


def test_cosine_runs_to_max_iter_through_a_stalled_training_loss():
    """Under the cosine schedule a stalled training loss does not end the fit (the decay is the
    stopping rule): a rate so small that nothing improves by ``tol`` still trains ``max_iter``
    epochs, with no ConvergenceWarning; the constant rate stops after ``n_iter_no_change``."""
    X, y = make_classification(n_samples=60, n_features=5, random_state=0)
    common = dict(learning_rate_init=1e-9, tol=1.0, n_iter_no_change=2, max_iter=8,
                  batch_size=20, random_state=0, n_threads=1, early_stopping=False)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        cosine = RegularizedMLPClassifier(learning_rate="cosine", **common).fit(X, y)
    assert cosine.n_iter_ == 8
    constant = RegularizedMLPClassifier(learning_rate="constant", **common).fit(X, y)
    assert constant.n_iter_ == 4  # the first epoch improves on nothing, then 3 stalls > 2
    # the validation rule still stops a cosine fit
    early = RegularizedMLPClassifier(learning_rate="cosine", **{**common, "early_stopping": True})
    assert early.fit(X, y).n_iter_ == 4
