"""What the docs claim about the code, checked against the code and the measured results: which
penalties draw random numbers, what exact norms cost, how projections are drawn, what a
``warm_start`` fit does to the schedule."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from sklearn_regpen import RegularizedMLPClassifier, RegularizedMLPRegressor
from sklearn_regpen._docs import ESTIMATOR_DOC
from sklearn_regpen._objective import Objective
from sklearn_regpen.modules import MLP
from sklearn_regpen.penalties import PENALTIES, make_penalty

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "user_guide"


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _drawing_penalties() -> set[str]:
    """The penalties whose objective on a fixed batch changes with the seed, with exact norms
    (no projections): those that draw noise or a random start."""
    torch.manual_seed(0)
    module = MLP(n_features=4, n_outputs=3, hidden_layer_sizes=(5,), activation="tanh")
    x, y = torch.randn(6, 4), torch.tensor([0, 1, 2, 0, 1, 2])
    drawing = set()
    for name, cls in PENALTIES.items():
        exact = {"n_projections": None} if "n_projections" in cls.option_names() else {}
        objective = Objective(make_penalty(name, 0.1, 0.1, task="classification", **exact))
        values = []
        for seed in (1, 2):
            torch.manual_seed(seed)
            values.append(objective.loss(module, x, y)[0].item())
        if values[0] != values[1]:
            drawing.add(name)
    return drawing


def test_the_weights_page_names_the_penalties_that_draw():
    drawing = _drawing_penalties()
    assert len(drawing) == 6
    text = _flat((GUIDE / "weights.md").read_text())
    sentence = re.search(r"The six that draw noise or a random start \(([^)]*)\)", text)
    assert sentence, "weights.md must say which penalties repeated rows equal only in expectation"
    assert set(re.findall(r"`(\w+)`", sentence.group(1))) == drawing
    for name in drawing:  # the contract page and the fit docstring say the same
        assert f"`{name}`" in (GUIDE / "contract.md").read_text()
        assert f"``{name}``" in RegularizedMLPClassifier.fit.__doc__


def _measured_exact_cost() -> int:
    """The per-step cost of exact ``jacobian`` on 784-1000-1000-10, from the speed results."""
    results = (ROOT / "benchmarks" / "results" / "speed.md").read_text()
    per_step = results[results.index("## Penalty cost per training step") :]
    ratio = re.search(r"\| `jacobian, n_projections=None` \| [\d.]+ \| ([\d.]+)x", per_step)
    return round(float(ratio.group(1)))


def test_one_measured_figure_for_the_exact_cost_on_mnist():
    measured = _measured_exact_cost()
    pages = [ESTIMATOR_DOC, (GUIDE / "penalties.md").read_text(), (GUIDE / "data.md").read_text()]
    figures = [int(f) for page in pages
               for f in re.findall(r"about (\d+)x a plain step", _flat(page))]  # fmt: skip
    assert len(figures) == 3 and set(figures) == {measured}


def test_projections_and_exact_traces_are_described_as_computed():
    penalties = _flat((GUIDE / "penalties.md").read_text())
    assert "N(0, I_K)" not in penalties and r"\mathcal N(0, I_K)" not in penalties
    assert re.search(r"exact Fisher traces \(the `hsfob` family\): \$\\min\(d, K\)\$", penalties)
    from sklearn_regpen.penalties import _projections

    assert "``K`` for the Fisher trace" not in _projections.__doc__


def test_hsfob_projections_are_unit_directions_scaled_by_k():
    """One projection is ``K ||v^T M^T J_z||^2`` with ``v`` on the unit sphere: its mean over
    draws is the exact trace, and no draw exceeds ``K`` times the largest eigenvalue."""
    torch.manual_seed(0)
    module = MLP(n_features=5, n_outputs=4, hidden_layer_sizes=(6,), activation="tanh").double()
    x, y = torch.randn(1, 5, dtype=torch.float64), torch.tensor([1])
    exact = make_penalty("hsfob", 1.0, n_projections=None, reduction="none")(module, x, y)
    one = make_penalty("hsfob", 1.0, n_projections=1, reduction="none")
    draws = one(module, x.repeat(4000, 1), y.repeat(4000))  # a draw of its own for each row
    z = torch.func.jacrev(module)(x)[0, :, 0]  # (K, d)
    p = torch.softmax(module(x)[0], 0)
    fisher = z.T @ (torch.diag(p) - torch.outer(p, p)) @ z
    assert torch.allclose(exact.squeeze(), torch.trace(fisher))
    # a Gaussian direction would exceed it (its squared norm passes K = 4 in 4 draws of 10)
    assert draws.max() <= 4 * torch.linalg.eigvalsh(fisher).max() * (1 + 1e-9)
    torch.testing.assert_close(draws.mean(), exact.squeeze(), rtol=0.05, atol=0)


def test_each_warm_start_fit_runs_its_own_cosine_cycle():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 3)), rng.normal(size=60)
    reg = RegularizedMLPRegressor(hidden_layer_sizes=(4,), learning_rate="cosine", max_iter=3,
                                  batch_size=20, warm_start=True, random_state=0)  # fmt: skip
    reg.fit(X, y)
    assert reg.net_.schedule_step_ == 9
    reg.fit(X, y)
    assert reg.net_.schedule_step_ == 9  # a new cycle of 9 steps, not steps 10 to 18 of one
    schedule = _flat(__import__("sklearn_regpen._schedule", fromlist=["x"]).__doc__)
    assert "warm_start" in schedule and "restart" in schedule
