"""The speed benchmark runs end to end (tiny sizes) and reports what it promises.

Only the per-fit penalty cost and threads sections run here: overhead, memory and per-step cost
are ``overhead.py``'s and ``penalty_cost.py``'s functions, which take a minute even at tiny
sizes on a busy machine.
"""

from benchmarks import speed


def test_speed_quick_reports_every_penalty_against_its_bound(tmp_path):
    skip = "overhead,memory,steps"
    argv = ["--quick", "--threads", "1", "--skip", skip, "--out", str(tmp_path)]
    assert speed.main(argv) == 0
    report = (tmp_path / "speed.md").read_text()
    assert "command: `.ci/env python -m benchmarks.speed --quick" in report
    assert "Penalty cost through the estimator" in report and "n_threads=1" in report
    for name, options, bound in speed.penalty_cost.SETTINGS:
        row = next(
            r
            for r in report.splitlines()
            if r.startswith(f"| `{speed.penalty_cost.label(name, options)}` |")
        )
        cells = [c.strip() for c in row.strip("|").split("|")]
        ratio = float(cells[2].rstrip("x"))
        assert cells[3] == f"{bound:.2f}x"
        assert cells[4] == ("yes" if ratio <= 1.1 * bound else cells[4]) and cells[4]
