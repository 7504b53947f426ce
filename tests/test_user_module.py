"""The user's module stays the user's: modes, generators, instances, global torch state,
BatchNorm and Dropout with every penalty.

Grouped by what a user does: predict (nothing changes), pass a module instance (never trained in
place), train with BatchNorm or Dropout (every penalty, and the maths the penalties state), train
under their own torch settings (restored afterwards).
"""

import pickle

import numpy as np
import pytest
import torch
from torch import nn

from sklearn_regpen import RegularizedMLPClassifier, RegularizedNetClassifier
from sklearn_regpen._autodiff import jacobian_and_outputs
from sklearn_regpen._batch_norm import clean_batch_statistics
from sklearn_regpen._objective import Objective
from sklearn_regpen._training import PenalizedNet, training_batches
from sklearn_regpen.diagnostics import sensitivity
from sklearn_regpen.modules import ResNet
from sklearn_regpen.penalties import PENALTIES, make_penalty

#: the penalties that differentiate through torch.func (failed with BatchNorm and Dropout)
TRANSFORMED = (
    "jacobian", "logit_jacobian", "noisy_jacobian", "double_backprop", "hsfob", "hsfob_db1",
    "hsfob_db2",
)  # fmt: skip


class BatchNormMLP(nn.Module):
    """Linear, BatchNorm1d, tanh, Linear."""

    def __init__(self, n_features, n_outputs, hidden=8):
        super().__init__()
        self.first = nn.Linear(n_features, hidden)
        self.norm = nn.BatchNorm1d(hidden)
        self.last = nn.Linear(hidden, n_outputs)

    def forward(self, x):
        return self.last(torch.tanh(self.norm(self.first(x))))


class DropoutMLP(nn.Module):
    def __init__(self, n_features, n_outputs, hidden=16):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(n_features, hidden), nn.ReLU(), nn.Dropout(0.5), nn.Linear(hidden, n_outputs)
        )

    def forward(self, x):
        return self.layers(x)


class Head(nn.Module):
    """A head on a backbone the user passes as an instance (``module__backbone=bb``)."""

    def __init__(self, backbone, n_outputs):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(backbone.out_features, n_outputs)

    def forward(self, x):
        return self.head(torch.relu(self.backbone(x)))


@pytest.fixture(scope="module")
def images():
    rng = np.random.RandomState(0)
    return rng.rand(24, 3, 8, 8).astype(np.float32), rng.randint(0, 3, 24)


@pytest.fixture(scope="module")
def table():
    """60 rows, 5 features, 3 classes: the largest of the first three features."""
    X = np.random.RandomState(0).randn(60, 5)
    return X, X[:, :3].argmax(axis=1)


def _resnet(**params):
    params = {"max_iter": 2, "random_state": 0, **params}
    return RegularizedNetClassifier(ResNet, module__input_shape=(3, 8, 8), **params)


# -- predictions change nothing -----------------------------------------------------------------
def test_predictions_leave_batchnorm_statistics_alone(images):
    """A prediction on other rows does not move BatchNorm's running statistics (the FLOP count
    behind n_threads="auto" ran the module in training mode)."""
    X, y = images
    saved = pickle.dumps(_resnet().fit(X, y))
    before = pickle.loads(saved).predict_proba(X[:5])
    model = pickle.loads(saved)
    model.predict_proba(X[10:11] * 5)
    np.testing.assert_array_equal(model.predict_proba(X[:5]), before)
    buffers = dict(pickle.loads(saved).net_.module_.named_buffers())
    for name, value in model.net_.module_.named_buffers():
        torch.testing.assert_close(value, buffers[name], rtol=0, atol=0)


def test_auto_threads_train_the_same_model_as_one_thread(table):
    """The FLOP probe of n_threads="auto" draws nothing from the fit's seeded stream."""
    X, y = table
    probs = [
        RegularizedNetClassifier(DropoutMLP, max_iter=3, random_state=0, n_threads=n)
        .fit(X, y)
        .predict_proba(X)
        for n in (1, "auto")
    ]
    np.testing.assert_array_equal(*probs)


def test_predict_and_fit_leave_the_global_generator_alone(table):
    X, y = table
    torch.manual_seed(123)
    state = torch.get_rng_state()
    clf = RegularizedNetClassifier(DropoutMLP, max_iter=2, random_state=0).fit(X, y)
    assert torch.equal(torch.get_rng_state(), state)
    clf.predict_proba(X)
    clf.score(X, y)
    assert torch.equal(torch.get_rng_state(), state)


def test_fit_on_the_cpu_seeds_no_cuda_generator(table, monkeypatch):
    """torch.manual_seed would seed every CUDA device, or queue that until CUDA starts, over
    the user's own seed: a CPU fit seeds the CPU's generator only."""
    X, y = table
    seeded = []
    monkeypatch.setattr(torch.cuda, "manual_seed_all", seeded.append)
    monkeypatch.setattr(torch.cuda, "manual_seed", seeded.append)
    RegularizedMLPClassifier((8,), max_iter=2, random_state=0).fit(X, y)
    assert seeded == []


def test_predict_leaves_every_submodule_in_its_mode(table):
    """A user who froze one layer (eval) finds it, and every other layer, as they left it."""
    X, y = table
    clf = RegularizedNetClassifier(BatchNormMLP, max_iter=2, random_state=0).fit(X, y)
    module = clf.net_.module_
    module.train()
    module.norm.eval()
    modes = [m.training for m in module.modules()]
    first = clf.predict_proba(X)
    assert [m.training for m in module.modules()] == modes
    np.testing.assert_array_equal(clf.predict_proba(X), first)  # and in evaluation mode: same


def test_predict_runs_the_module_once_per_batch(table):
    """n_threads="auto" counts the module's FLOPs once per fit, not at every prediction."""
    X, y = table
    clf = RegularizedNetClassifier(BatchNormMLP, max_iter=2, random_state=0).fit(X, y)
    calls = []
    hook = clf.net_.module_.register_forward_pre_hook(lambda module, args: calls.append(1))
    clf.predict_proba(X)
    clf.predict(X[:3])
    hook.remove()
    assert len(calls) == 2
    assert pickle.loads(pickle.dumps(clf)).net_.row_flops_ == clf.net_.row_flops_


def test_batchnorm1d_fits_and_predicts(table):
    """The FLOP probe ran one row through BatchNorm1d in training mode: fit and predict failed."""
    X, y = table
    clf = RegularizedNetClassifier(
        BatchNormMLP, learning_rate_init=0.03, max_iter=30, random_state=0
    ).fit(X, y)
    assert clf.predict_proba(X[:1]).shape == (1, 3)  # one row: running statistics
    assert clf.score(X, y) > 0.9
    assert "_batch_norms" not in vars(clf.net_)  # nothing kept apart from the module


def test_diagnostics_measure_the_model_as_it_predicts(images):
    """sensitivity runs the module in evaluation mode (after a fit it was in training mode,
    where BatchNorm failed inside the derivatives) and leaves its statistics alone."""
    X, y = images
    clf = _resnet().fit(X, y)
    buffers = {k: v.clone() for k, v in clf.net_.module_.named_buffers()}
    table = sensitivity(clf, X[:4])
    for name, value in clf.net_.module_.named_buffers():
        torch.testing.assert_close(value, buffers[name], rtol=0, atol=0)
    module = clf.net_.module_
    module.eval()
    x = torch.tensor(X[:4])
    jac, z = jacobian_and_outputs(module, x)
    p = z.softmax(1)
    j_f = (torch.diag_embed(p) - p.unsqueeze(2) * p.unsqueeze(1)) @ jac
    np.testing.assert_allclose(
        table["jacobian_sq_norm"], j_f.square().sum((1, 2)).detach().numpy(), rtol=1e-4
    )


# -- module instances given as arguments ----------------------------------------------------------
def test_a_module_argument_is_copied_not_trained_in_place(table):
    X, y = table
    backbone = nn.Linear(5, 8)
    weights = backbone.weight.detach().clone()
    first = RegularizedNetClassifier(
        Head, module__backbone=backbone, max_iter=3, random_state=0
    ).fit(X, y)
    before = first.predict_proba(X)
    RegularizedNetClassifier(Head, module__backbone=backbone, max_iter=3, random_state=1).fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X), before)
    assert torch.equal(backbone.weight, weights)  # the user's instance is untouched
    assert first.net_.module_.backbone is not backbone
    # a list of modules is copied too
    clf = RegularizedNetClassifier(
        lambda blocks, n_outputs: nn.Sequential(*blocks, nn.Linear(8, n_outputs)),
        module__blocks=[backbone, nn.ReLU()], max_iter=2, random_state=0,
    ).fit(X, y)  # fmt: skip
    assert clf.net_.module_[0] is not backbone
    assert torch.equal(backbone.weight, weights)


# -- BatchNorm and Dropout with every penalty ---------------------------------------------------
@pytest.mark.parametrize("penalty", sorted(PENALTIES))
def test_resnet_with_batchnorm_trains_with_every_penalty(images, penalty):
    """The package's ResNet (BatchNorm by default) with each penalty under its defaults."""
    X, y = images
    clf = _resnet(penalty=penalty, alpha=0.1, max_iter=1).fit(X, y)
    assert np.isfinite(clf.loss_curve_).all()
    assert clf.net_.module_.layers[1].num_batches_tracked.item() == 1  # one update per step


@pytest.mark.parametrize("penalty", TRANSFORMED)
def test_dropout_with_fewer_inputs_than_outputs(penalty):
    """Forward-mode products (2 inputs, 3 classes) re-run the module: its dropout mask is
    replayed, where vmap refused the random draw."""
    rng = np.random.RandomState(0)
    X, y = rng.randn(60, 2), rng.randint(0, 3, 60)
    clf = RegularizedNetClassifier(
        DropoutMLP, penalty=penalty, max_iter=2, random_state=0  # exact: min(D, K) = 2
    ).fit(X, y)
    assert np.isfinite(clf.loss_curve_).all()


def test_forward_mode_jacobian_uses_the_pass_mask():
    """With dropout in training mode the forward-mode Jacobian (D < K) is that of the pass that
    gave the outputs: equal to the reverse-mode one through that pass's graph."""
    module = DropoutMLP(2, 5).double().train()
    x = torch.randn(6, 2, dtype=torch.float64)
    state = torch.get_rng_state()
    jac, out = jacobian_and_outputs(module, x)  # forward mode: 2 inputs < 5 outputs
    after = torch.get_rng_state()
    torch.set_rng_state(state)
    x_ref = x.clone().requires_grad_(True)
    z = module(x_ref)  # the same draws: the same mask
    torch.testing.assert_close(out, z, rtol=0, atol=0)
    rows = [torch.autograd.grad(z[:, k].sum(), x_ref, retain_graph=True)[0] for k in range(5)]
    torch.testing.assert_close(jac, torch.stack(rows, 1))
    assert torch.equal(after, torch.get_rng_state())  # one pass's draws, as without the replay


def _reference_penalty(module, x, metric):
    """sum_i ||C_i d z_i / d x_i||_F^2 for BatchNorm normalising by the batch's statistics as
    constants in x (rows independent) but functions of the parameters, in plain autograd."""
    h = module.first(x)
    mean, var = h.mean(0), h.var(0, correction=0)
    norm = module.norm

    def row(v):  # one row through the network, the statistics fixed
        u = (module.first(v) - mean) / torch.sqrt(var + norm.eps) * norm.weight + norm.bias
        return module.last(torch.tanh(u))

    total = 0
    for i in range(len(x)):
        jac = torch.autograd.functional.jacobian(row, x[i], create_graph=True)  # (K, D)
        out = row(x[i])
        total = total + (metric(out) @ jac).square().sum()
    return total / len(x), module.last(torch.tanh(norm(h)))


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_batchnorm_penalty_is_per_row_with_the_batch_statistics(task):
    """The jacobian objective of a BatchNorm module, value and gradient, against plain autograd:
    data loss through BatchNorm's training forward, per-row Jacobians with the batch's
    statistics held fixed in x, their parameter gradient through the statistics (float64)."""
    torch.manual_seed(0)
    module = BatchNormMLP(3, 4).double().train()
    reference = BatchNormMLP(3, 4).double().train()
    reference.load_state_dict(module.state_dict())
    x = torch.randn(7, 3, dtype=torch.float64)
    y = torch.randint(0, 4, (7,)) if task == "classification" else torch.randn(7, 4).double()
    penalty = make_penalty("jacobian", 0.3, task=task, n_projections=None)
    loss, _ = Objective(penalty).loss(module, x, y)
    grads = torch.autograd.grad(loss, list(module.parameters()))

    def metric(z):
        if task == "regression":
            return torch.eye(4, dtype=z.dtype)
        p = z.softmax(0)
        return torch.diag(p) - torch.outer(p, p)

    term, outputs = _reference_penalty(reference, x, metric)
    from sklearn_regpen._objective import data_loss

    expected = data_loss(task, outputs, y).mean() + 0.3 * term
    torch.testing.assert_close(loss, expected)
    for got, want in zip(grads, torch.autograd.grad(expected, list(reference.parameters()))):
        torch.testing.assert_close(got, want)
    # the running statistics moved once, from the clean batch, as in a plain training step
    plain = BatchNormMLP(3, 4).double().train()
    plain.load_state_dict(reference.state_dict())
    plain.norm.reset_running_stats()
    plain(x)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        torch.testing.assert_close(getattr(module.norm, name), getattr(plain.norm, name))


def test_batchnorm_penalties_keep_the_running_statistics_of_the_clean_batch():
    """vat's power iteration and perturbed pass, c2c's noisy pass: no running-statistics update
    from perturbed rows; every layer's forward is its own again afterwards."""
    module = BatchNormMLP(3, 4).train()
    x, y = torch.randn(16, 3), torch.randint(0, 4, (16,))
    plain = BatchNormMLP(3, 4).train()
    plain.load_state_dict(module.state_dict())
    plain(x)
    for name in ("vat", "c2c", "noise", "kl"):
        module.norm.reset_running_stats()
        Objective(make_penalty(name, 1.0, 0.5)).backward(module, x, y)
        torch.testing.assert_close(module.norm.running_mean, plain.norm.running_mean)
        assert module.norm.num_batches_tracked.item() == 1
        assert "forward" not in vars(module.norm)


def test_batchnorm_standalone_penalty():
    """A penalty called in a plain PyTorch loop on a BatchNorm module in training mode."""
    module = BatchNormMLP(3, 4).train()
    x, y = torch.randn(16, 3), torch.randint(0, 4, (16,))
    for name in TRANSFORMED:
        value = make_penalty(name, 1.0)(module, x, y)
        assert value.isfinite() and value > 0
    with clean_batch_statistics(module, x) as clean:  # evaluation mode: nothing to do
        assert clean is not None
    assert clean_batch_statistics(module.eval(), x).__enter__() is None


# -- the last batch, and batches of one row -----------------------------------------------------
def test_a_last_batch_of_one_row_joins_the_one_before():
    assert training_batches(401, 200) == [(0, 200), (200, 401)]
    assert training_batches(400, 200) == [(0, 200), (200, 400)]
    assert training_batches(402, 200) == [(0, 200), (200, 400), (400, 402)]
    assert training_batches(1, 200) == [(0, 1)]


def test_batchnorm1d_with_a_last_batch_of_one_row():
    rng = np.random.RandomState(0)
    X, y = rng.randn(401, 5), rng.randint(0, 3, 401)
    clf = RegularizedNetClassifier(BatchNormMLP, max_iter=2, random_state=0).fit(X, y)
    assert clf.net_.history[-1, "train_batch_count"] == 2
    # the cosine schedule decays over the batches that run
    cosine = RegularizedNetClassifier(
        BatchNormMLP, learning_rate="cosine", max_iter=2, random_state=0
    ).fit(X, y)
    assert cosine.net_.lr_schedule.total_steps == 4


def test_batchnorm1d_with_batches_of_one_row_is_refused_before_training(table, monkeypatch):
    X, y = table

    def no_training(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(PenalizedNet, "fit_loop", no_training)
    with pytest.raises(ValueError, match="batch_size=1: BatchNorm1d.*one row.*batch_size >= 2"):
        RegularizedNetClassifier(BatchNormMLP, batch_size=1, max_iter=1).fit(X, y)
    # a feature map has many values per channel: one image per batch is fine for BatchNorm2d
    monkeypatch.undo()
    images = np.random.RandomState(0).rand(6, 3, 8, 8)
    clf = RegularizedNetClassifier(
        ResNet, module__input_shape=(3, 8, 8), batch_size=1, max_iter=1, random_state=0
    )
    assert np.isfinite(clf.fit(images, [0, 1, 2, 0, 1, 2]).loss_curve_).all()


# -- the user's global torch state ----------------------------------------------------------------
def test_fit_after_set_default_dtype_float64(table):
    X, y = table
    expected = RegularizedMLPClassifier((8,), max_iter=3, random_state=0).fit(X, y)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        clf = RegularizedMLPClassifier((8,), max_iter=3, random_state=0).fit(X, y)
        np.testing.assert_array_equal(clf.predict_proba(X), expected.predict_proba(X))
        assert torch.get_default_dtype() == torch.float64  # the user's setting, back
    finally:
        torch.set_default_dtype(previous)


@pytest.mark.parametrize("context", [torch.no_grad, torch.inference_mode])
def test_fit_inside_no_grad_and_inference_mode(table, context):
    X, y = table
    expected = RegularizedMLPClassifier((8,), max_iter=3, random_state=0).fit(X, y)
    with context():
        clf = RegularizedMLPClassifier((8,), max_iter=3, random_state=0).fit(X, y)
        clf.partial_fit(X, y)
        assert not torch.is_grad_enabled()
    np.testing.assert_array_equal(
        RegularizedMLPClassifier((8,), max_iter=3, random_state=0).fit(X, y).predict_proba(X),
        expected.predict_proba(X),
    )
    assert torch.is_grad_enabled() and not torch.is_inference_mode_enabled()
    assert np.isfinite(clf.loss_curve_).all() and len(clf.loss_curve_) == 4
