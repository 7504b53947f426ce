"""The skorch net's training loop against a plain PyTorch loop, and the gradient of each penalty.

The net's lean epoch (no closure, no per-batch history, the loss summed on the device) must take
exactly the steps of the textbook loop, record the row-weighted mean of the batch losses, and read
the loss back from the device once per epoch. ``Objective.backward`` must give the gradient of
``Objective.loss``, including ``l2``, whose gradient is added in place rather than by autograd.
"""

import warnings
from unittest import mock

import pytest
import torch
from torch.utils.data import TensorDataset

from sklearn_regpen import _objective
from sklearn_regpen._objective import Objective
from sklearn_regpen._training import FUSED_ADAM, PenalizedNet
from sklearn_regpen.modules import MLP
from sklearn_regpen.penalties import PENALTIES, make_penalty

N, D, K, BATCH = 100, 5, 3, 32  # 100 rows: the last batch of each epoch has 4


def data(dtype=torch.float32):
    torch.manual_seed(0)
    x = torch.randn(N, D, dtype=dtype)
    return x, (x[:, 0] > 0).long() + (x[:, 1] > 0).long()


def make_net(penalty, optimizer=torch.optim.Adam, **options):
    net = PenalizedNet(
        MLP, module__n_features=D, module__n_outputs=K, module__hidden_layer_sizes=(8,),
        criterion=torch.nn.Identity, optimizer=optimizer, lr=0.01, batch_size=BATCH,
        max_epochs=1, train_split=None, callbacks="disable", penalty=penalty, **options,
    )
    return net.initialize()


def plain_loop(module, penalty, x, y, epochs, optimizer=torch.optim.Adam):
    """The textbook loop; returns the row-weighted mean batch loss of every epoch."""
    opt = optimizer(module.parameters(), lr=0.01)
    means = []
    for _ in range(epochs):
        order = torch.randperm(len(x))
        total = 0.0
        for start in range(0, len(x), BATCH):
            rows = order[start : start + BATCH]
            opt.zero_grad()
            loss, _ = penalty.objective(module, x[rows], y[rows])
            loss.backward()
            opt.step()
            total += loss.item() * len(rows)
        means.append(total / len(x))
    return means


@pytest.mark.parametrize("name", ["none", "jacobian", "c2c"])
def test_net_takes_the_steps_of_the_plain_loop(name):
    x, y = data()
    penalty = make_penalty(name, alpha=0.1, epsilon=0.1)
    torch.manual_seed(1)
    net = make_net(penalty)
    module = MLP(D, K, (8,))
    module.load_state_dict(net.module_.state_dict())
    rng = torch.get_rng_state()
    losses = []
    for _ in range(3):
        net.fit_loop(TensorDataset(x, y), epochs=1)
        losses.append(net.history[-1, "train_loss"])
    torch.set_rng_state(rng)
    expected = plain_loop(module, penalty, x, y, epochs=3)
    for got, want in zip(net.module_.parameters(), module.parameters()):
        assert torch.equal(got, want)
    # the epoch loss is the mean over rows of the batch losses (batches of 32, 32, 32 and 4)
    torch.testing.assert_close(losses, expected, rtol=1e-12, atol=0)
    assert net.history[-1, "train_batch_count"] == 4


def test_one_host_sync_per_epoch():
    """skorch's own epoch calls ``loss.item()`` after every batch; ours once per epoch."""
    x, y = data()
    net = make_net(make_penalty("none"), optimizer=torch.optim.SGD)  # SGD: no .item() of its own
    item = torch.Tensor.item
    calls = []

    def counted(self):
        calls.append(self)
        return item(self)

    with mock.patch.object(torch.Tensor, "item", counted):
        net.fit_loop(TensorDataset(x, y), epochs=2)
    assert len(calls) == 2


def one_grad(penalty, module, x, y, use_backward):
    module.zero_grad(set_to_none=True)
    torch.manual_seed(3)  # the same noise for penalties that draw some
    if use_backward:
        loss, _ = Objective(penalty).backward(module, x, y)
    else:
        loss, _ = penalty.objective(module, x, y)
        loss.backward()
    return loss.detach(), [p.grad.clone() for p in module.parameters()]


@pytest.mark.parametrize("name", sorted(PENALTIES))
def test_backward_is_the_gradient_of_the_objective(name):
    x, y = data(torch.float64)
    torch.manual_seed(2)
    module = MLP(D, K, (8,), "tanh").double()
    penalty = make_penalty(name, alpha=0.3, epsilon=0.1)
    want_loss, want = one_grad(penalty, module, x, y, use_backward=False)
    got_loss, got = one_grad(penalty, module, x, y, use_backward=True)
    torch.testing.assert_close(got_loss, want_loss, rtol=1e-12, atol=0)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-12, atol=1e-15)


def test_l2_backward_skips_autograd_of_the_term():
    """The closed form is what runs: the decay's sum of squares is only ever evaluated with
    autograd off (for the reported loss), never differentiated."""
    x, y = data(torch.float64)
    module = MLP(D, K, (8,)).double()
    real = _objective.weight_sq_norm
    calls = []

    def outside_autograd(m):
        calls.append(torch.is_grad_enabled())
        return real(m)

    with mock.patch.object(_objective, "weight_sq_norm", side_effect=outside_autograd):
        Objective(make_penalty("l2", alpha=0.3)).backward(module, x, y)
    assert calls == [False]
    # alpha=0: data loss only
    assert Objective(make_penalty("l2", alpha=0.0)).backward(module, x, y)[0] > 0


@pytest.mark.parametrize(
    "optimizer, options",
    [
        (torch.optim.SGD, {}),
        (torch.optim.Adam, {}),
        (torch.optim.Adam, {"optimizer__fused": True}),  # what the estimators use
        (torch.optim.RMSprop, {}),  # no coupled weight_decay known: the in-place gradient add
    ],
)
def test_l2_trains_like_the_explicit_sum_of_squares(optimizer, options):
    """Same updates as differentiating 0.5 * alpha * sum ||W||^2 / B, step after step, batch sizes
    32 and 4 included: the net hands the rate to Adam's and SGD's own weight_decay, set per batch.
    For Adam this is coupled L2 (the decay goes through Adam's moments), the scikit-learn
    semantics: AdamW's decoupled decay would give different updates."""
    if options.get("optimizer__fused") and not FUSED_ADAM:
        pytest.skip("fused Adam on the CPU needs torch >= 2.4")
    x, y = data(torch.float64)
    penalty = make_penalty("l2", alpha=0.5)
    trained = []
    for explicit in (True, False):
        torch.manual_seed(4)
        module = MLP(D, K, (8,)).double()
        if explicit:
            torch.manual_seed(5)
            plain_loop(module, penalty, x, y, epochs=3, optimizer=optimizer)  # autograd of the term
        else:
            net = make_net(penalty, optimizer=optimizer, **options)
            net.module_ = module
            net.initialize_optimizer()
            torch.manual_seed(5)
            net.fit_loop(TensorDataset(x, y), epochs=3)
            decayed = [g for g in net.optimizer_.param_groups if g.get("decayed")]
            assert bool(decayed) == (optimizer is not torch.optim.RMSprop)
            assert all(g["weight_decay"] == 0.5 / 4 for g in decayed)  # the last batch had 4 rows
        trained.append(list(module.parameters()))
    for a, b in zip(*trained):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_epoch_syncs_a_constant_number_of_times_not_per_batch():
    """On CUDA the data stays on the device and the host waits on it only once per epoch (the
    loss read-back; torch may add one for the batch-size weights), not once per batch."""
    torch.manual_seed(0)
    x = torch.randn(400, D, device="cuda")
    y = (x[:, 0] > 0).long()
    net = make_net(make_penalty("l2", alpha=0.1))
    net.set_params(device="cuda", batch_size=16)  # 25 batches per epoch
    net.initialize()
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            net.fit_loop(TensorDataset(x, y), epochs=2)
    finally:
        torch.cuda.set_sync_debug_mode(0)
    syncs = [w for w in caught if "synchroniz" in str(w.message)]
    assert len(syncs) <= 2 * 3, [str(w.message) for w in syncs]
    assert all(p.device.type == "cuda" for p in net.module_.parameters())


def test_estimators_use_fused_adam_where_torch_has_it():
    """One fused update over all parameters (torch >= 2.4), with the weight matrices in their own
    group for l2's coupled decay."""
    from sklearn_regpen import RegularizedMLPClassifier

    x, y = data(torch.float32)
    clf = RegularizedMLPClassifier((8,), max_iter=2, random_state=0).fit(x.numpy(), y.numpy())
    optimizer = clf.net_.optimizer_
    assert bool(optimizer.defaults.get("fused")) == FUSED_ADAM
    assert [g.get("decayed", False) for g in optimizer.param_groups] == [True, False]
    assert [p.dim() for p in optimizer.param_groups[0]["params"]] == [2, 2]
