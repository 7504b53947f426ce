"""Many fits of one MLP trained in one vectorized pass: ensembles and searches.

``k`` fits that share an architecture (the estimator's class, its network, optimizer and training
options) but may differ in their seed, ``alpha``, ``epsilon``, data (a search's folds, each with
its own preprocessing) and sample weights, are trained as one model, :class:`StackedMLP`: their
parameters are stacked along a first dimension and each layer is one batched matrix product over
a batch of ``k`` blocks of rows, one block per member. The penalty runs once on that batch (every
output row depends on its own input row only, so the per-row terms are each member's), the
objective (``_objective.Objective``) weighs each block with its member's sample weights and
``alpha``, plain autograd gives every member's gradient at once, and Adam steps the stacked
tensors. ``benchmarks/members.py`` measured this at half the time per step, or less, of
``torch.func.vmap`` over ``functional_call``, the recipe of PyTorch's model-ensembling tutorial.

Member ``i`` runs the training ``estimator.fit(X_i, y_i, sample_weight_i)`` would run on its own,
step for step, because everything random in a fit is drawn from the member's own generator in
the same order: the network's initialization (built under the member's seed, as a fit of its own
builds it), the batch order of each epoch (``torch.randperm``), and the penalty's draws
(``_random.py``). Members whose data differ in length train on blocks padded to the longest
with rows of weight 0; a member with no rows left in an epoch neither steps nor draws. Each member
keeps its own stopping rule, learning-rate schedule, best-epoch weights and divergence check, as
``_loop.run_epochs`` does for one fit; a member that stops leaves the pass. The two agree to
float rounding over the first epochs (``tests/test_members.py``, every penalty); batched matrix
products and reductions round differently from a fit's own, and over hundreds of epochs the
difference grows as between any two differently rounded trainings
(``benchmarks/results/members.md``).

What is not batched (``warm_start`` or ``partial_fit`` continuing a fit, another optimizer than
Adam, networks other than the MLP estimators', fits whose penalties or recipes differ) is refused
by :func:`batchable`, and the searches fall back to separate fits.
"""

from __future__ import annotations

import copy
import math
import sys
import time
import warnings

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state
from torch import nn
from torch.func import functional_call

from . import _random
from ._climb import TrainingLossClimbWarning, climb_message, loss_climb
from ._loop import Progress, TrainingDivergedError
from ._objective import Objective
from ._schedule import CosineSchedule, resolve_learning_rate
from ._training import FUSED_ADAM, predict_batch_size, training_batches
from .penalties import Penalty

#: ``learning_rate="adaptive"``: as in the estimators (divide by 5 on a stall, stop at 1e-6)
LR_DIVISOR, MIN_LR = 5.0, 1e-6

#: the parameters in which batched fits may differ
VARYING = ("alpha", "epsilon", "random_state", "verbose", "n_threads")

SEED_MAX = np.iinfo(np.int32).max


def member_random_states(random_state, n_members: int) -> list[int]:
    """The ``random_state`` of a fit of its own equal to each member of an ensemble."""
    state = check_random_state(random_state)
    return [int(state.randint(SEED_MAX)) for _ in range(n_members)]


def fit_seed(random_state) -> int:
    """The torch seed a fresh fit with ``random_state`` uses (``_train`` in estimators.py)."""
    return int(check_random_state(random_state).randint(SEED_MAX))


def _optimizer_is_adam(estimator) -> bool:
    optimizer, kwargs = estimator._optimizer_factory()
    default_betas = tuple(kwargs.get("betas", (0.9, 0.999))) == (0.9, 0.999)
    return optimizer is torch.optim.Adam and set(kwargs) <= {"fused", "betas"} and default_betas


def batchable(estimators) -> str | None:
    """None when ``estimators`` (unfitted, or refitted from scratch) can train in one pass, else
    why not, in words."""
    from .estimators import RegularizedMLPClassifier, RegularizedMLPRegressor

    first = estimators[0]
    if type(first) not in (RegularizedMLPClassifier, RegularizedMLPRegressor):
        return "only RegularizedMLPClassifier and RegularizedMLPRegressor train in one pass"
    if any(type(e) is not type(first) for e in estimators):
        return "the estimators are of different classes"
    shared = {k: v for k, v in first.get_params(deep=False).items() if k not in VARYING}
    for other in estimators[1:]:
        params = other.get_params(deep=False)
        differ = [k for k, v in shared.items() if not _same(params[k], v)]
        if differ:
            return f"the fits differ in {differ}"
    if first.warm_start:
        return "warm_start continues a fitted network"
    if getattr(first, "n_members", 1) != 1:
        return "the fits are ensembles themselves"
    if first.dtype != "float32" or not first.shuffle:
        return "only float32 fits with shuffled batches train in one pass"
    if not _optimizer_is_adam(first):
        return "only Adam with its default options trains in one pass"
    return None


def _same(a, b) -> bool:
    try:
        return bool(a == b) if not isinstance(a, np.ndarray) else np.array_equal(a, b)
    except (TypeError, ValueError):
        return a is b


def _generator_now(device: torch.device) -> torch.Generator:
    """A generator in the state of torch's global one for ``device``."""
    generator = torch.Generator(device=device)
    if device.type == "cuda":
        generator.set_state(torch.cuda.get_rng_state(device))
    else:
        generator.set_state(torch.get_rng_state())
    return generator


class _Member:
    """One fit of the batch: its data, generator, schedule, progress and stopping state."""

    def __init__(self, estimator, plan, seed: int):
        from ._torch_state import seeded
        from .estimators import _as_tensor

        self.estimator, self.plan, self.seed = estimator, plan, seed
        with seeded(seed, plan.device):
            self.net = estimator._build_net(plan)
            estimator._check_module_shapes(self.net.module_, plan)
            self.generator = _generator_now(plan.device)
        X, targets, weights = plan.X, plan.targets, plan.sample_weight
        train, valid = np.arange(X.shape[0]), None
        if estimator.early_stopping:
            train, valid = estimator._validation_split(targets, seed)
        x_all = _as_tensor(X, torch.float32, plan.device)
        self.x = x_all if valid is None else x_all[train]
        y_all = estimator._target_tensor(targets, plan.device, plan.dtype)
        self.y = y_all if valid is None else y_all[train]
        self.w = None
        if weights is not None:
            w_all = _as_tensor(weights, torch.float32, plan.device)
            self.w = w_all if valid is None else w_all[train]
        self.valid = None
        if valid is not None:
            w_valid = None if weights is None else weights[valid]
            self.valid = (x_all[valid], targets[valid], w_valid)
        self.n = len(self.x)
        self.batch_size = min(estimator.batch_size, self.n)
        # the fit's own batches: a last batch of one row joins the one before
        self.bounds = training_batches(self.n, self.batch_size)
        self.batches = len(self.bounds)
        schedule, self.reason = resolve_learning_rate(
            estimator.learning_rate, int(np.prod(X.shape[1:]))
        )
        self.lr, _ = estimator._rate(X)
        self.schedule = None
        if schedule == "cosine":
            self.schedule = CosineSchedule(self.lr, estimator.max_iter * self.batches)
        self.adaptive = estimator.learning_rate == "adaptive"
        self.decaying = self.schedule is not None and self.valid is None
        self.describe = (
            f"penalty={estimator.penalty!r}, alpha={estimator.alpha}, "
            f"epsilon={estimator.epsilon}, learning_rate_init={self.lr:g}, "
            f"learning_rate={schedule!r}"
        )
        self.progress = Progress()
        if self.valid is not None:
            self.progress.best_score, self.progress.stall = -np.inf, 0
        self.best = -math.inf if self.valid is not None else math.inf
        self.steps = 0
        self.kept: dict | None = None  # the weights of the best epoch so far
        self.optimizer_state: dict | None = None  # Adam's, when the member stops
        self.done = False
        self.converged = False
        self.error: BaseException | None = None


def _padded(tensors, n_max: int) -> torch.Tensor:
    """Tensors of different lengths stacked into one, zero-padded to ``n_max`` rows."""
    first = tensors[0]
    out = torch.zeros(len(tensors), n_max, *first.shape[1:], dtype=first.dtype,
                      device=first.device)  # fmt: skip
    for i, t in enumerate(tensors):
        out[i, : len(t)] = t
    return out


class _Adam:
    """Adam on stacked parameters, member by member as torch's ``Adam`` with its defaults.

    While every member has stepped together at one rate (an ensemble; folds of about equal
    length), each step is one update of torch's (fused) ``Adam`` over the stacked tensors.
    Once members step apart (one ran out of batches in an epoch) or at their own rates (cosine
    schedules of different lengths), each keeps its own step count and the update is written
    out here, for the members that stepped only.
    """

    def __init__(self, params: dict, states=None, betas=(0.9, 0.999), eps=1e-8):
        self.params, self.betas, self.eps = params, betas, eps
        fused = FUSED_ADAM and all(p.device.type in ("cpu", "cuda") for p in params.values())
        self.optimizer = torch.optim.Adam(list(params.values()), betas=betas, eps=eps,
                                          **({"fused": True} if fused else {}))  # fmt: skip
        self.k = len(next(iter(params.values())))
        counts = [0.0] * self.k if states is None else [s["step"] for s in states]
        for name, p in params.items():
            self.optimizer.state[p] = {
                "step": torch.tensor(counts[0], device=p.device if fused else "cpu"),
                "exp_avg": torch.zeros_like(p) if states is None else
                torch.stack([s["exp_avg"][name] for s in states]),
                "exp_avg_sq": torch.zeros_like(p) if states is None else
                torch.stack([s["exp_avg_sq"][name] for s in states]),
            }  # fmt: skip
        # each member's step count, once they step apart
        together = len(set(counts)) == 1
        self.steps = None if together else torch.tensor(counts, dtype=torch.float64)

    def member_state(self, i: int) -> dict:
        """Member ``i``'s step count and moments (copies)."""
        return {
            "step": self.step_counts()[i],
            "exp_avg": {n: self.state(n)["exp_avg"][i].clone() for n in self.params},
            "exp_avg_sq": {n: self.state(n)["exp_avg_sq"][i].clone() for n in self.params},
        }

    def state(self, name: str) -> dict:
        return self.optimizer.state[self.params[name]]

    def step_counts(self) -> list[float]:
        if self.steps is None:
            return [float(self.state(next(iter(self.params)))["step"])] * self.k
        return self.steps.tolist()

    def update(self, grads: dict, lr: list[float], active: torch.Tensor | None):
        """One step of the members marked in ``active`` (a boolean per member; None: all) at
        their rates ``lr``."""
        if self.steps is None and active is None and len(set(lr)) == 1:
            for name, p in self.params.items():
                p.grad = grads[name].contiguous()  # the fused update reads memory in order
            self.optimizer.param_groups[0]["lr"] = lr[0]
            self.optimizer.step()
            for p in self.params.values():
                p.grad = None
            return
        if self.steps is None:
            self.steps = torch.tensor(self.step_counts(), dtype=torch.float64)
        beta1, beta2 = self.betas
        stepped = torch.ones(self.k, dtype=torch.bool) if active is None else active.cpu()
        self.steps += stepped.to(self.steps.dtype)
        t = self.steps.clamp_min(1)
        device = next(iter(self.params.values())).device
        step_size = (torch.tensor(lr, dtype=torch.float64) / (1 - beta1**t)).float().to(device)
        bias2_sqrt = (1 - beta2**t).sqrt().float().to(device)
        stepped = stepped.to(device)
        with torch.no_grad():
            for name, p in self.params.items():
                state = self.state(name)
                g, m, v = grads[name], state["exp_avg"], state["exp_avg_sq"]
                shape = (-1,) + (1,) * (p.dim() - 1)
                on = stepped.reshape(shape)
                m.copy_(torch.where(on, m.lerp(g, 1 - beta1), m))
                v.copy_(torch.where(on, v * beta2 + (1 - beta2) * g * g, v))
                denom = (v.sqrt() / bias2_sqrt.reshape(shape)).add_(self.eps)
                p.copy_(torch.where(on, p - step_size.reshape(shape) * m / denom, p))


class StackedMLP(nn.Module):
    """``k`` MLPs of one architecture as one module, their parameters stacked (``(k, ...)``).

    The input is a batch of ``k`` blocks of rows, block ``i`` for member ``i``; each layer is one
    batched matrix product (``torch.baddbmm``). Every output row depends on its own input row
    only, as the penalties' derivatives require (``_autodiff.py``).

    Parameters
    ----------
    template : MLP
        A member, for the layer structure (its own weights are not used).
    params : dict of tensor
        The stacked parameters, by the template's parameter names.
    """

    def __init__(self, template: nn.Module, params: dict):
        super().__init__()
        self.params = params
        self.k = len(next(iter(params.values())))
        self.layers = [(name, layer) for name, layer in template.layers.named_children()]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.flatten(1)
        h = h.reshape(self.k, -1, h.shape[1])
        for name, layer in self.layers:
            if isinstance(layer, nn.Linear):
                weight = self.params[f"layers.{name}.weight"]
                bias = self.params[f"layers.{name}.bias"]
                h = torch.baddbmm(bias.unsqueeze(1), h, weight.mT)
            else:
                h = layer(h)
        return h.reshape(-1, h.shape[-1])


class _Stack:
    """The members still training, as one stacked model: parameters, optimizer, data, and the
    step that computes every member's objective and gradient at once. Rebuilt for the
    survivors whenever a member stops, so that stopped members cost nothing."""

    def __init__(self, members, params: dict, states, template: nn.Module, penalty):
        self.members = members
        device = members[0].plan.device
        self.params = {n: p.detach().clone().requires_grad_(True) for n, p in params.items()}
        self.module = StackedMLP(template, self.params)
        self.template = template
        self.decayed = [n for n, p in self.params.items() if p.dim() > 2]
        self.adam = _Adam(self.params, states)
        self.penalty = penalty
        self.objective = Objective(penalty, check_labels=False)
        self.scale = torch.tensor([m.plan.penalty.scale for m in members], dtype=torch.float32,
                                  device=device)  # fmt: skip
        self.epsilon = torch.tensor([m.plan.penalty.epsilon for m in members],
                                    dtype=torch.float32, device=device)  # fmt: skip
        self.decay = torch.tensor([m.plan.penalty.weight_decay for m in members],
                                  dtype=torch.float32, device=device)  # fmt: skip
        n_max = max(m.n for m in members)
        self.data = (
            _padded([m.x for m in members], n_max),
            _padded([m.y for m in members], n_max),
            _padded(
                [torch.ones(m.n, device=device) if m.w is None else m.w for m in members], n_max
            ),  # fmt: skip
        )
        self.decaying = bool(self.decay.any())
        # each member's weights of its best epoch so far, updated in place (no copy per member)
        self.best = {n: p.detach().clone() for n, p in self.params.items()}
        # where each member's rows go in an epoch's batches: fixed while the stack lives
        self.n_steps = max(m.batches for m in members)
        self.width = max(stop - start for m in members for start, stop in m.bounds)
        self.slots = [torch.cat([b * self.width + torch.arange(stop - start, device=device)
                                 for b, (start, stop) in enumerate(m.bounds)])
                      for m in members]  # fmt: skip
        real = torch.zeros(len(members), self.n_steps * self.width, device=device)
        taken = np.zeros((self.n_steps, len(members)), dtype=np.int64)
        for i, m in enumerate(members):
            real[i, self.slots[i]] = 1.0
            taken[: m.batches, i] = [stop - start for start, stop in m.bounds]
        self.real = real.view(len(members), self.n_steps, self.width).transpose(0, 1)
        self.taken = taken.tolist()  # each step's real rows per member
        self.taken_rows = torch.as_tensor(taken, dtype=torch.float64, device=device)
        self.active = [None if row.all() else torch.as_tensor(row > 0, device=device)
                       for row in taken]  # fmt: skip
        self.sizes = torch.tensor([m.n for m in members], dtype=torch.float64, device=device)

    def keep(self, better: list[bool]) -> None:
        """Keep the current weights of the members whose epoch was their best so far."""
        if not any(better):
            return
        chosen = torch.tensor(better, device=self.real.device)
        with torch.no_grad():
            for name, p in self.params.items():
                self.best[name][chosen] = p.detach()[chosen]

    def step(self, x, y, w, rows):
        """Each member's objective on its block of ``(x, y, w)``, and their gradients."""
        k, width = y.shape[:2]
        # each row's epsilon is its member's: the penalties multiply their noise by it
        self.penalty.epsilon = self.epsilon.repeat_interleave(width).reshape(
            -1, *([1] * (x.dim() - 2))
        )
        flat_x, flat_y = x.reshape(k * width, *x.shape[2:]), y.reshape(k * width, *y.shape[2:])
        with _random.member_draws([m.generator for m in self.members], rows):
            losses, terms, _ = self.objective.row_values(self.module, flat_x, flat_y)
        terms = None if terms is None else terms.reshape(k, width)
        loss = self.objective.weigh(losses.reshape(k, width), terms, y, w, self.scale)
        grads = torch.autograd.grad(loss.sum(), list(self.params.values()))
        return dict(zip(self.params, grads)), loss.detach()


def train_members(fits) -> list:
    """Train ``fits``, a list of ``(estimator, plan, seed)`` that :func:`batchable` accepted,
    each plan from ``estimator._plan``; return, for each, ``(net, progress)`` or the exception
    its own fit would have raised (:class:`TrainingDivergedError`)."""
    from .estimators import _threads, _torch_threads

    members = [_Member(*fit) for fit in fits]
    first = members[0]
    k = len(members)
    modules = [m.net.module_ for m in members]
    names = [n for n, _ in modules[0].named_parameters()]
    params = {n: torch.stack([dict(m.named_parameters())[n].detach() for m in modules])
              for n in names}  # fmt: skip
    penalty = copy.copy(first.plan.penalty)
    has_term = type(penalty).term is not Penalty.term
    alphas = [m.plan.penalty.scale for m in members]
    if has_term and len({a > 0 for a in alphas}) > 1:
        raise ValueError("members whose alpha is 0 and above 0 cannot train in one pass")
    # the term is alpha-free: each member's alpha scales its own mean term (Objective.weigh)
    penalty.alpha = 1.0 if alphas[0] > 0 else 0.0
    threads = _threads(first.estimator.n_threads, first.net, first.x[:1], first.batch_size,
                       3 * k)  # fmt: skip
    training, states, best = members, None, None
    with _torch_threads(threads):
        epoch = 0
        while training:
            stack = _Stack(training, params, states, modules[0], penalty)
            if best is not None:
                stack.best = best
            while not any(m.done for m in training):
                epoch += 1
                started = time.perf_counter()
                losses = _epoch(stack)
                stack.keep([_after_epoch(m, i, losses[i], stack.params, modules[0])
                            for i, m in enumerate(training)])  # fmt: skip
                if first.estimator.verbose:
                    took = time.perf_counter() - started
                    print(f"Iteration {epoch}, mean loss of {len(training)} members = "
                          f"{np.mean(losses):.8f} ({took:.1f}s)")  # fmt: skip
            for i, m in enumerate(training):
                if m.done:
                    m.optimizer_state = stack.adam.member_state(i)
                    m.kept = {n: b[i].clone() for n, b in stack.best.items()}
            going = [i for i, m in enumerate(training) if not m.done]
            params = {n: p.detach()[going] for n, p in stack.params.items()}
            best = {n: b[going] for n, b in stack.best.items()}
            states = [stack.adam.member_state(i) for i in going]
            training = [training[i] for i in going]
    return [_finish(m) for m in members]


def _epoch(stack: _Stack):
    """One epoch of every member of ``stack``; each member's mean loss over its rows."""
    members, params, adam, decay = stack.members, stack.params, stack.adam, stack.decay
    X, Y, W = stack.data
    k = len(members)
    device = X.device
    n_steps, width, taken = stack.n_steps, stack.width, stack.taken
    # each member's rows in a random order, laid out in its batches (see _Stack)
    layout = torch.zeros(k, n_steps * width, dtype=torch.long, device=device)
    for i, m in enumerate(members):
        layout[i, stack.slots[i]] = torch.randperm(m.n, generator=m.generator, device=device)
    layout = layout.view(k, n_steps, width).transpose(0, 1)  # step-major: contiguous batches
    members_index = torch.arange(k, device=device).reshape(1, k, 1)
    xs, ys = X[members_index, layout], Y[members_index, layout]
    ws = W[members_index, layout] * stack.real
    totals = torch.zeros(k, dtype=torch.float64, device=device)
    scheduled = any(m.schedule is not None for m in members)
    lr = [_rate(m) for m in members]
    for s in range(n_steps):
        rows, active, w = taken[s], stack.active[s], ws[s]
        grads, loss = stack.step(xs[s], ys[s], w, rows)
        if stack.decaying:
            rate = decay / w.sum(dim=1).clamp_min(torch.finfo(w.dtype).tiny)
            squares = 0
            with torch.no_grad():
                for name in stack.decayed:
                    p = params[name]
                    shape = (-1,) + (1,) * (p.dim() - 1)
                    grads[name] = grads[name] + rate.reshape(shape) * p
                    squares = squares + p.square().flatten(1).sum(dim=1)
            loss = loss + 0.5 * rate * squares
        if scheduled and s:
            lr = [_rate(m) for m in members]
        adam.update(grads, lr, active)
        if scheduled:  # each member's step count sets its next rate
            for i, m in enumerate(members):
                m.steps += rows[i] > 0
        totals += loss.double() * stack.taken_rows[s]
    if not scheduled:
        for m in members:
            m.steps += m.batches
    return (totals / stack.sizes).tolist()  # the epoch's one host sync


def _rate(member: _Member) -> float:
    """The member's learning rate for its next step."""
    if member.schedule is not None:
        return member.schedule(member.steps)
    return member.lr


def _outputs(module: nn.Module, params, i, x) -> np.ndarray:
    """Member ``i``'s outputs for ``x``, as float64 numpy (the estimators' ``_outputs``)."""
    own = {n: p[i].detach() for n, p in params.items()}
    size = predict_batch_size(x)
    with torch.no_grad():
        chunks = [functional_call(module, own, (x[s : s + size],))
                  for s in range(0, len(x), size)]  # fmt: skip
    return torch.cat(chunks).cpu().numpy().astype(np.float64)


def _after_epoch(m: _Member, i: int, loss: float, params, module) -> bool:
    """The stopping rule of ``_loop.run_epochs``, for member ``i`` after one epoch; whether the
    epoch is its best so far (whose weights the caller keeps)."""
    est, progress = m.estimator, m.progress
    if not math.isfinite(loss):
        m.error = TrainingDivergedError(
            f"Training diverged: the loss became {loss} at epoch {progress.n_iter + 1}"
            f" ({m.describe}). Try a smaller alpha or "
            "learning_rate_init, or scale the inputs (StandardScaler)."
        )
        m.done = True
        return False
    progress.loss_curve.append(loss)
    tol = est.tol
    if m.valid is not None:
        x_valid, y_valid, w_valid = m.valid
        score = est._score_outputs(_outputs(module, params, i, x_valid), y_valid, w_valid)
        progress.validation_scores.append(score)
        improved = score > progress.best_score + tol
        progress.best_score = max(progress.best_score, score)
        better = score > m.best
    else:
        improved = loss < progress.best_loss - tol
        progress.best_loss = min(progress.best_loss, loss)
        better = loss < m.best
    if better:
        m.best = score if m.valid is not None else loss
        progress.kept_epoch = progress.n_iter
    progress.stall = 0 if improved else progress.stall + 1
    n_iter_no_change = None if m.decaying else est.n_iter_no_change
    if n_iter_no_change is not None and progress.stall > n_iter_no_change:
        if m.adaptive and m.lr > MIN_LR:
            m.lr /= LR_DIVISOR
            progress.stall = 0
        else:
            m.converged = True
            m.done = True
    if progress.n_iter >= est.max_iter:
        m.done = True
    return better


def _caller_level() -> int:
    """The ``stacklevel`` that attributes a warning of the calling function to the first frame
    outside this package (the user's ``fit``, or the search's machinery), as the estimators'
    own warnings are."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("sklearn_regpen"):
        frame, level = frame.f_back, level + 1
    return level


def _finish(m: _Member):
    """The member's net with its best weights and last optimizer state, and its progress; or
    its error. Warns as a fit of its own would."""
    if m.error is not None:
        return m.error
    net, est, progress = m.net, m.estimator, m.progress
    module: nn.Module = net.module_
    named = dict(module.named_parameters())
    with torch.no_grad():
        for name, value in m.kept.items():
            named[name].copy_(value)
    net.penalty = m.plan.penalty
    net.batch_size = m.batch_size
    net.set_params(lr=m.lr)
    net.initialize_optimizer()
    optimizer = net.optimizer_
    state = m.optimizer_state
    for name, p in named.items():
        optimizer.state[p] = {
            "step": torch.tensor(float(state["step"]), device=p.device),
            "exp_avg": state["exp_avg"][name],
            "exp_avg_sq": state["exp_avg_sq"][name],
        }
    for group in optimizer.param_groups:
        group["lr"] = _rate(m) if m.schedule is None else m.schedule(max(m.steps - 1, 0))
    net.lr_schedule = m.schedule
    net.schedule_step_ = m.steps if m.schedule is not None else 0
    if not m.converged and not m.decaying:
        warnings.warn(
            f"Maximum iterations ({est.max_iter}) reached and the optimization hasn't "
            "converged yet.",
            ConvergenceWarning,
            stacklevel=_caller_level(),
        )
    climb = loss_climb(progress.loss_curve, 1)
    if climb is not None:
        warnings.warn(climb_message(climb, m.describe, progress.kept_epoch),
                      TrainingLossClimbWarning, stacklevel=_caller_level())  # fmt: skip
    return net, progress


class MemberAverage(nn.Module):
    """The members of an ensemble as one module: the mean of their class probabilities (returned
    as its logarithm, which the classifier's softmax leaves unchanged) or of their outputs."""

    def __init__(self, members, task: str):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.task = task

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = torch.stack([member(x) for member in self.members])
        if self.task == "classification":
            return outputs.log_softmax(dim=-1).logsumexp(dim=0) - math.log(len(self.members))
        return outputs.mean(dim=0)


def _mean_by_epoch(curves) -> list:
    """At each epoch, the mean over the curves that reach it."""
    longest = max(len(c) for c in curves)
    return [float(np.mean([c[e] for c in curves if len(c) > e])) for e in range(longest)]


def train_ensemble(estimator, plan):
    """``(net, progress)`` of an ensemble of ``estimator.n_members`` members, each the fit of its
    own with the random state :func:`member_random_states` gives it; the net's module is their
    :class:`MemberAverage`, the progress the members' mean at each epoch."""
    if plan.continuing or plan.incremental:
        raise ValueError(
            f"n_members={estimator.n_members} trains a new ensemble at each fit: warm_start and "
            "partial_fit do not continue one; use n_members=1 to continue a fit"
        )
    if not _optimizer_is_adam(estimator):
        raise ValueError(f"n_members={estimator.n_members} trains with Adam only")
    states = member_random_states(estimator.random_state, estimator.n_members)
    results = train_members([(estimator, plan, fit_seed(state)) for state in states])
    for result in results:
        if isinstance(result, BaseException):
            raise result
    nets = [net for net, _ in results]
    progresses = [progress for _, progress in results]
    net = nets[0]
    net.module_ = MemberAverage([n.module_ for n in nets], estimator._task)
    progress = Progress(
        loss_curve=_mean_by_epoch([p.loss_curve for p in progresses]),
        validation_scores=(
            _mean_by_epoch([p.validation_scores for p in progresses])
            if progresses[0].validation_scores
            else []
        ),  # fmt: skip
        best_loss=float(np.mean([p.best_loss for p in progresses])),
        best_score=float(np.mean([p.best_score for p in progresses])),
        kept_epoch=max(p.kept_epoch for p in progresses),
    )
    return net, progress


def fit_members(estimators, data) -> list:
    """Fit each of ``estimators`` on its ``(X, y, sample_weight)`` of ``data``, as its ``fit``
    would, in as few passes as their networks' shapes allow (:func:`batchable` must accept
    them; fits whose data give other input or output widths, such as a fold missing a class,
    train in a pass of their own). Returns, for each, the fitted estimator, or the exception its
    own fit would have raised (it is then left as it was)."""
    results: list = [None] * len(estimators)
    before = [dict(vars(e)) for e in estimators]
    passes: dict = {}
    for i, (estimator, (X, y, sample_weight)) in enumerate(zip(estimators, data)):
        try:
            plan = estimator._plan(X, y, False, None, sample_weight)
        except Exception as error:  # its own fit raises this before training
            vars(estimator).clear()
            vars(estimator).update(before[i])
            results[i] = error
            continue
        key = (tuple(plan.X.shape[1:]), plan.n_outputs, str(plan.device), plan.penalty.scale > 0)
        passes.setdefault(key, []).append((i, estimator, plan))
    for group in passes.values():
        fits = [(estimator, plan, fit_seed(estimator.random_state)) for _, estimator, plan in group]
        for (i, estimator, plan), outcome in zip(group, train_members(fits)):
            if isinstance(outcome, BaseException):
                vars(estimator).clear()
                vars(estimator).update(before[i])
                results[i] = outcome
                continue
            net, progress = outcome
            estimator._publish(net, progress, {
                **plan.target_attrs,
                "_input_shape": tuple(plan.X.shape[1:]),
                "_fitted_architecture": plan.architecture,
            })  # fmt: skip
            results[i] = estimator
    return results


# -- searches ------------------------------------------------------------------------------------
def _split_pipeline(estimator, X, y, fit_params):
    """``(final, X, fit_params)``: the estimator that trains on ``X`` (a ``Pipeline``'s last
    step, its earlier steps fitted here and ``X`` transformed by them) and its fit parameters;
    None when some fit parameter is for an earlier step."""
    if not isinstance(estimator, Pipeline):
        return estimator, X, fit_params
    name = estimator.steps[-1][0]
    prefix = f"{name}__"
    if any(not key.startswith(prefix) for key in fit_params):
        return None
    if len(estimator.steps) > 1:
        X = estimator[:-1].fit_transform(X, y)
    return estimator.steps[-1][1], X, {k[len(prefix) :]: v for k, v in fit_params.items()}


def _fit_one(estimator, X, y, fit_params):
    try:
        return estimator.fit(X, y, **fit_params)
    except Exception as error:
        return error


def _fit_pass(finals, data):
    return fit_members(finals, data)


def fit_all(jobs, n_jobs=None) -> list:
    """Fit each ``(estimator, X, y, fit_params)`` of ``jobs`` as ``estimator.fit(X, y,
    **fit_params)`` would; the fits that :func:`batchable` accepts together (one network and
    training recipe, differing in ``alpha``, ``epsilon``, seed, data and sample weights: a
    search's candidates and folds) train in one pass, the others one by one. A ``Pipeline``'s
    earlier steps are fitted first, and its last step joins a pass. Returns, in order, each
    fitted estimator or the exception its fit raised. ``n_jobs``: passes and fits run in
    parallel (joblib)."""
    groups: list[list[int]] = []
    finals: dict[int, tuple] = {}
    for i, (estimator, X, y, fit_params) in enumerate(jobs):
        split = _split_pipeline(estimator, X, y, fit_params)
        if split is None or set(split[2]) - {"sample_weight"}:
            groups.append([i])
            continue
        finals[i] = split
        for group in groups:
            if group[0] in finals and batchable([finals[group[0]][0], split[0]]) is None:
                group.append(i)
                break
        else:
            groups.append([i])
    tasks = []
    for group in groups:
        if len(group) > 1:
            data = [(finals[i][1], jobs[i][2], finals[i][2].get("sample_weight")) for i in group]
            tasks.append(delayed(_fit_pass)([finals[i][0] for i in group], data))
        else:
            tasks.append(delayed(_fit_one)(*jobs[group[0]]))
    outcomes = Parallel(n_jobs=n_jobs)(tasks)
    results: list = [None] * len(jobs)
    for group, outcome in zip(groups, outcomes):
        if len(group) == 1:
            results[group[0]] = outcome
            continue
        for i, fitted in zip(group, outcome):
            estimator = jobs[i][0]
            if isinstance(fitted, BaseException) or not isinstance(estimator, Pipeline):
                results[i] = fitted
                continue
            estimator.steps[-1] = (estimator.steps[-1][0], fitted)  # back from a worker
            results[i] = estimator
    return results
