"""sklearn_regpen.diagnostics: values against float64 autograd references, the design's
identities, attacks that respect their radius and lower accuracy, and refused bad input."""

import copy
import gzip
import pickle
import warnings

import numpy as np
import pytest
import torch
from maths_reference import TIGHT, B, D, row_jacobians, tiny_net
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch.autograd.functional import hessian as autograd_hessian

from sklearn_regpen import RegularizedMLPClassifier, RegularizedMLPRegressor
from sklearn_regpen import diagnostics as dg
from sklearn_regpen._autodiff import hessian_sq_norm, jacobian
from sklearn_regpen.datasets import load_mnist


def _fit(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


@pytest.fixture(scope="module")
def clf(blobs):
    X, y = blobs
    net = RegularizedMLPClassifier(hidden_layer_sizes=(8,), activation="tanh", max_iter=40)
    return _fit(net.set_params(random_state=0, n_threads=1), X, y)


@pytest.fixture(scope="module")
def reg(regression_data):
    X, y = regression_data
    net = RegularizedMLPRegressor(hidden_layer_sizes=(8,), activation="tanh", max_iter=20)
    return _fit(net.set_params(random_state=0), X, y)


# -- the maths, in float64 on the shared tiny network ------------------------------------------
def _references(task):
    net = tiny_net()
    x = torch.randn(B, D, dtype=torch.float64)

    def f(v):
        return net(v).softmax(-1) if task == "classification" else net(v)

    j_z = row_jacobians(net, x)
    j_f = row_jacobians(f, x)
    eye = torch.eye(j_z.shape[1], dtype=x.dtype)
    fisher = []
    for i in range(B):
        p = net(x[i]).softmax(-1)
        h = torch.diag(p) - torch.outer(p, p) if task == "classification" else eye
        fisher.append(j_z[i].T @ h @ j_z[i])  # d x d, built directly
    fisher = torch.stack(fisher)
    hess = torch.stack(
        [
            sum(autograd_hessian(lambda v: f(v)[k], x[i]).square().sum() for k in range(3))
            for i in range(B)
        ]
    )
    expected = {
        "jacobian_sq_norm": j_f.square().sum((1, 2)),
        "logit_jacobian_sq_norm": j_z.square().sum((1, 2)),
        "jacobian_lambda_max": torch.linalg.eigvalsh(j_f.mT @ j_f)[:, -1],
        "fisher_lambda_max": torch.linalg.eigvalsh(fisher)[:, -1],
        "fisher_trace": fisher.diagonal(dim1=1, dim2=2).sum(1),
        "hessian_sq_norm": hess,
    }
    return net, x, expected


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_sensitivity_matches_autograd_reference(task):
    net, x, expected = _references(task)
    with torch.no_grad():
        found = dg._sensitivity_rows(net, x, task)
    assert set(found) == set(dg.SENSITIVITY_COLUMNS)
    for name in dg.SENSITIVITY_COLUMNS:
        torch.testing.assert_close(found[name], expected[name], **TIGHT, msg=name)


def test_fisher_trace_is_expected_squared_score_and_bounds_lambda_max():
    """Tr I(x) = E_{y~p} ||d log p(y|x) / dx||^2 (design notes), and lambda_max <= trace."""
    net, x, _ = _references("classification")
    with torch.no_grad():
        found = dg._sensitivity_rows(net, x, "classification")
    scores = row_jacobians(lambda v: net(v).log_softmax(-1), x)  # (B, K, D)
    p = net(x).softmax(-1).detach()
    expected = (p * scores.square().sum(2)).sum(1)
    torch.testing.assert_close(found["fisher_trace"], expected, **TIGHT)
    assert (found["fisher_lambda_max"] <= found["fisher_trace"] * (1 + 1e-12)).all()
    assert (found["jacobian_lambda_max"] <= found["jacobian_sq_norm"] * (1 + 1e-12)).all()


def test_hessian_norm_is_what_noise_adds_to_the_jacobian():
    """E ||J(x + s n) - J(x)||_F^2 / s^2 -> sum_k ||H_k||_F^2 as s -> 0 (techreport eq. 19), and
    the projection estimate is unbiased."""
    net, x, expected = _references("classification")

    def f(v):
        return net(v).softmax(-1)

    s, draws = 1e-4, 4000
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        j0 = jacobian(f, x)
        xs = x.repeat(draws, 1) + s * torch.randn(draws * B, D, dtype=x.dtype, generator=gen)
        diff = (jacobian(f, xs) - j0.repeat(draws, 1, 1)).square().sum((1, 2)) / s**2
        estimate = hessian_sq_norm(f, x, 4000, generator=gen)
    fd = diff.reshape(draws, B).mean(0)
    torch.testing.assert_close(fd, expected["hessian_sq_norm"], rtol=0.1, atol=0)
    torch.testing.assert_close(estimate, expected["hessian_sq_norm"], rtol=0.1, atol=0)


# -- on fitted estimators -------------------------------------------------------------------------
def test_estimator_values_match_float64_copy_and_leave_state_alone(clf, blobs):
    X, _ = blobs
    X = X[:20]
    before_X, before_model = X.copy(), pickle.dumps(clf)
    rng_before = torch.random.get_rng_state()
    table = dg.sensitivity(clf, X, random_state=0)
    module64 = copy.deepcopy(clf.net_.module_).double()
    with torch.no_grad():
        x64 = torch.tensor(X.astype(np.float32), dtype=torch.float64)
        reference = dg._sensitivity_rows(module64, x64, "classification")
    for name in dg.SENSITIVITY_COLUMNS:
        np.testing.assert_allclose(table[name], reference[name].numpy(), rtol=2e-3, atol=1e-7)
    assert np.array_equal(X, before_X)
    assert pickle.dumps(clf) == before_model
    assert torch.equal(torch.random.get_rng_state(), rng_before)


def test_pipeline_is_measured_in_the_networks_space(blobs):
    X, y = blobs
    pipe = _fit(
        make_pipeline(
            StandardScaler(),
            RegularizedMLPClassifier(hidden_layer_sizes=(6,), max_iter=15, random_state=0),
        ),
        X * 3 + 1,
        y,
    )
    Xt = pipe[0].transform(X[:10] * 3 + 1)
    np.testing.assert_allclose(
        dg.sensitivity(pipe, X[:10] * 3 + 1), dg.sensitivity(pipe[-1], Xt), rtol=1e-6
    )
    x_adv = dg.adversarial_inputs(pipe, X[:10] * 3 + 1, y[:10], 0.5, attack="fgsm")
    np.testing.assert_allclose(np.linalg.norm(x_adv - Xt, axis=1), 0.5, rtol=1e-4)


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_attacks_respect_radius_and_lower_accuracy(clf, blobs, norm):
    X, y = blobs
    radius = 1.0 if norm == "l2" else 0.4
    clean = clf.score(X, y)
    for attack in dg.ATTACKS:
        x_adv = dg.adversarial_inputs(clf, X, y, radius, attack=attack, norm=norm, random_state=0)
        delta = x_adv - X.astype(np.float32)
        size = np.linalg.norm(delta, axis=1) if norm == "l2" else np.abs(delta).max(axis=1)
        assert size.max() <= radius * (1 + 1e-5)
        attacked = np.mean(clf.predict(x_adv) == y)
        assert attacked < clean - 0.1, (attack, attacked, clean)
    table = dg.attack_accuracies(clf, X, y, [0.0, radius], norm=norm, random_state=0)
    assert table["accuracy"].iloc[0] == pytest.approx(clean)
    assert table["accuracy"].iloc[1] < clean


def test_pgd_is_at_least_as_strong_as_its_start_and_seeded(clf, blobs):
    X, y = blobs
    one = dg.attack_accuracies(clf, X, y, [1.0], n_steps=1, random_state=0)["accuracy"].iloc[0]
    ten = dg.attack_accuracies(clf, X, y, [1.0], n_steps=10, random_state=0)["accuracy"].iloc[0]
    assert ten <= one
    a = dg.adversarial_inputs(clf, X, y, 1.0, random_state=3)
    b = dg.adversarial_inputs(clf, X, y, 1.0, random_state=3)
    assert np.array_equal(a, b)


def test_noise_errors_classifier_and_regressor(clf, reg, blobs, regression_data):
    X, y = blobs
    table = dg.noise_errors(clf, X, y, [0.0, 0.5, 5.0], n_draws=2, random_state=0)
    assert table["error"].iloc[0] == pytest.approx(1 - clf.score(X, y))
    assert table["error"].iloc[2] > table["error"].iloc[0] + 0.1
    Xr, yr = regression_data
    table = dg.noise_errors(reg, Xr, yr, [0.0, 1.0], random_state=0)
    expected = np.square(reg.predict(Xr) - yr).sum(1).mean()
    assert table["error"].iloc[0] == pytest.approx(expected, rel=1e-5)
    assert table["error"].iloc[1] > expected


def test_diagnose_collects_everything(clf, reg, blobs, regression_data):
    X, y = blobs
    report = dg.diagnose(clf, X[:40], y[:40], noise_stds=[0.3], radii=[0.5], random_state=0)
    assert set(dg.SENSITIVITY_COLUMNS) < set(report.index)
    assert {"error", "noise_error@0.3", "fgsm_accuracy@0.5", "pgd_accuracy@0.5"} < set(report.index)
    Xr, yr = regression_data
    report = dg.diagnose(reg, Xr[:20], yr[:20], noise_stds=[0.3])
    assert report["fisher_trace"] == pytest.approx(report["logit_jacobian_sq_norm"], rel=1e-5)


def test_verbose_shows_progress_and_changes_nothing(clf, blobs, capsys, monkeypatch):
    """verbose=2: a line per batch with the rows done; verbose=1: the last line (and one every
    PROGRESS_SECONDS on long work); 0: silent. The results are the same whatever it is."""
    X, y = blobs
    X = X[:50]
    y = y[:50]
    quiet = dg.sensitivity(clf, X, batch_size=20)
    assert capsys.readouterr().out == ""
    loud = dg.sensitivity(clf, X, batch_size=20, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" (")[0] for line in lines] == [
        "[sensitivity] 20/50 rows", "[sensitivity] 40/50 rows", "[sensitivity] 50/50 rows"]
    assert loud.equals(quiet)
    dg.noise_errors(clf, X, y, [0.0, 0.5], n_draws=2, batch_size=30, verbose=1)
    assert [line.split(" (")[0] for line in capsys.readouterr().out.splitlines()] == [
        "[noise_errors] 200/200 noisy rows"]
    monkeypatch.setattr(dg, "PROGRESS_SECONDS", 0.0)  # long work: a line as often as allowed
    dg.attack_accuracies(clf, X, y, [0.5], attack="fgsm", batch_size=25, verbose=1)
    assert [line.split(" (")[0] for line in capsys.readouterr().out.splitlines()] == [
        "[fgsm l2 radius 0.5] 25/50 rows", "[fgsm l2 radius 0.5] 50/50 rows"]
    monkeypatch.setattr(dg, "PROGRESS_SECONDS", 5.0)
    report = dg.diagnose(clf, X, y, noise_stds=[0.3], radii=[0.5], random_state=0, verbose=1)
    assert [line.split("] ")[0] + "]" for line in capsys.readouterr().out.splitlines()] == [
        "[sensitivity]", "[noise_errors]", "[fgsm l2 radius 0.5]", "[pgd l2 radius 0.5]"]
    assert report.equals(dg.diagnose(clf, X, y, noise_stds=[0.3], radii=[0.5], random_state=0))
    for bad in (-1, 0.5, "yes", None):
        with pytest.raises(ValueError, match="verbose must be a non-negative integer"):
            dg.diagnose(clf, X, y, verbose=bad)


def test_bad_input_is_refused(clf, reg, blobs, regression_data):
    X, y = blobs
    with pytest.raises(NotFittedError):
        dg.sensitivity(RegularizedMLPClassifier(), X)
    with pytest.raises(TypeError, match="RegularizedMLPRegressor, RegularizedNetClassifier or"):
        dg.sensitivity(LogisticRegression().fit(X, y), X)
    with pytest.raises(ValueError, match="features"):
        dg.sensitivity(clf, X[:, :4])
    with pytest.raises(ValueError, match="NaN"):
        dg.sensitivity(clf, np.where(np.eye(*X.shape) == 1, np.nan, X))
    with pytest.raises(ValueError, match="not fitted on: \\[7\\]"):
        dg.noise_errors(clf, X[:3], [0, 1, 7], [0.1])
    with pytest.raises(ValueError, match="rows but y has"):
        dg.noise_errors(clf, X[:3], y[:2], [0.1])
    with pytest.raises(ValueError, match="stds must be finite and >= 0"):
        dg.noise_errors(clf, X, y, [-1.0])
    with pytest.raises(ValueError, match="attack must be one of"):
        dg.attack_accuracies(clf, X, y, [0.1], attack="cw")
    with pytest.raises(ValueError, match="norm must be one of"):
        dg.adversarial_inputs(clf, X, y, 0.1, norm="l1")
    with pytest.raises(ValueError, match="radius must be"):
        dg.adversarial_inputs(clf, X, y, [0.1, 0.2])
    with pytest.raises(ValueError, match="need a classifier"):
        dg.attack_accuracies(reg, *regression_data, [0.1])
    with pytest.raises(ValueError, match="hessian_projections"):
        dg.sensitivity(clf, X, hessian_projections=0)
    with pytest.raises(ValueError, match="batch_size"):
        dg.sensitivity(clf, X, batch_size=0)


# -- the MNIST loader, on IDX files the test writes -----------------------------------------------
def _idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 8, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    return header + array.astype(np.uint8).tobytes()


def test_load_mnist_reads_plain_and_gzipped_idx(tmp_path):
    rng = np.random.default_rng(0)
    images = {part: rng.integers(0, 256, (n, 28, 28)) for part, n in [("train", 5), ("t10k", 3)]}
    labels = {part: rng.integers(0, 10, len(images[part])) for part in images}
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(images["train"])))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx(labels["train"]))
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(_idx(images["t10k"]))
    with pytest.raises(FileNotFoundError, match="lacks t10k-labels-idx1-ubyte"):
        load_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx(labels["t10k"])))
    X_train, y_train, X_test, y_test = load_mnist(tmp_path)
    assert X_train.shape == (5, 784) and X_test.shape == (3, 784) and X_train.dtype == np.float32
    np.testing.assert_allclose(X_train * 255, images["train"].reshape(5, -1), atol=1e-4)
    assert np.array_equal(y_test, labels["t10k"]) and y_train.dtype == np.int64
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x0d\x01"))
    with pytest.raises(ValueError, match="bad magic number"):
        load_mnist(tmp_path)
