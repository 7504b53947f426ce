"""The methods of the anchors study (``benchmarks/tabular_anchors.py``) and how one cell runs:
the code whose fingerprint decides which cached results are current (the report's code is not
part of it, so rewriting a report refits nothing).

Classification: folds 0-4 of ``StratifiedKFold(10, shuffle=True, random_state=0)``, accuracy on the
test rows. Regression: the 5 folds of ``KFold(5, shuffle=True, random_state=0)``, R^2 on the test
rows. Every method sits behind ``sklearn_regpen.tables.make_preprocessor`` fitted on the training
rows, with its defaults, ``random_state=0`` and one BLAS and torch thread.
"""

from __future__ import annotations

import hashlib

import numpy as np

from . import tabular_pools as pools
from ._cells import fit_and_score, with_preprocessing
from ._runner import code_fingerprint

SEED = 0
#: the package's untuned estimator in each pool: the paired differences are against it
DEFAULT = {"classification": "RegularizedMLPClassifier()",
           "regression": "RegularizedMLPRegressor()"}  # fmt: skip


# -- the methods -----------------------------------------------------------------------------------
def _short(quick: bool, **fields) -> dict:
    """The options that make a fit short in quick mode (the suite's run), none otherwise."""
    return fields if quick else {}


def _logistic(quick):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=1000)


def _ridge(quick):
    from sklearn.linear_model import RidgeCV

    return RidgeCV()


def _mlp_classifier(quick):
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(random_state=SEED, **_short(quick, max_iter=10))


def _mlp_regressor(quick):
    from sklearn.neural_network import MLPRegressor

    return MLPRegressor(random_state=SEED, **_short(quick, max_iter=10))


def _mlp_regressor_scaled(quick):
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.preprocessing import StandardScaler

    return TransformedTargetRegressor(_mlp_regressor(quick), transformer=StandardScaler())


def _hgb_classifier(quick):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(random_state=SEED, **_short(quick, max_iter=10))


def _hgb_regressor(quick):
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(random_state=SEED, **_short(quick, max_iter=10))


def _realmlp_classifier(quick):
    from pytabkit import RealMLP_TD_Classifier

    return RealMLP_TD_Classifier(random_state=SEED, n_threads=1, device="cpu", verbosity=0,
                                 **_short(quick, n_epochs=3))  # fmt: skip


def _realmlp_regressor(quick):
    from pytabkit import RealMLP_TD_Regressor

    return RealMLP_TD_Regressor(random_state=SEED, n_threads=1, device="cpu", verbosity=0,
                                **_short(quick, n_epochs=3))  # fmt: skip


def _ours_classifier(quick):
    from sklearn_regpen import RegularizedMLPClassifier

    return RegularizedMLPClassifier(random_state=SEED, n_threads=1, **_short(quick, max_iter=10))


def _ours_regressor(quick):
    from sklearn_regpen import RegularizedMLPRegressor

    return RegularizedMLPRegressor(random_state=SEED, n_threads=1, **_short(quick, max_iter=10))


#: scikit-learn's own MLP search: ``alpha`` x 2 architectures, 8 candidates
SKLEARN_MLP_GRID = {"alpha": [1e-4, 1e-2, 1.0, 10.0], "hidden_layer_sizes": [(100,), (256, 256)]}


def _inner_folds(task: str, quick: bool):
    """The searches' inner folds: 3 shuffled folds (2 in quick mode)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    kind = StratifiedKFold if task == "classification" else KFold
    return kind(2 if quick else 3, shuffle=True, random_state=SEED)


def _sklearn_search(task: str, model, prefix: str, quick: bool):
    from sklearn.model_selection import GridSearchCV, ParameterGrid

    grid = [{f"{prefix}{k}": [v] for k, v in combo.items()}
            for combo in ParameterGrid(SKLEARN_MLP_GRID)]  # fmt: skip
    return GridSearchCV(model, grid[:2] if quick else grid, cv=_inner_folds(task, quick),
                        n_jobs=1)  # fmt: skip


def _mlp_classifier_search(quick):
    return _sklearn_search("classification", _mlp_classifier(quick), "", quick)


def _mlp_regressor_search(quick):
    return _sklearn_search("regression", _mlp_regressor_scaled(quick), "regressor__", quick)


def _tabular_search(task: str, model, quick: bool):
    from sklearn_regpen.search import tabular_search

    search = tabular_search(model)
    if quick:
        search.set_params(param_grid=search.param_grid[:2], top_k=2,
                          cv=_inner_folds(task, quick))  # fmt: skip
    return search


def _ours_classifier_search(quick):
    return _tabular_search("classification", _ours_classifier(quick), quick)


def _ours_regressor_search(quick):
    return _tabular_search("regression", _ours_regressor(quick), quick)


#: pool -> method name -> a function ``quick -> estimator`` (before the preprocessing)
METHODS = {
    "classification": {
        "LogisticRegression": _logistic,
        "MLPClassifier()": _mlp_classifier,
        "HistGradientBoostingClassifier()": _hgb_classifier,
        "RealMLP_TD_Classifier()": _realmlp_classifier,
        "RegularizedMLPClassifier()": _ours_classifier,
        "MLPClassifier() search": _mlp_classifier_search,
        "tabular_search(RegularizedMLPClassifier())": _ours_classifier_search,
    },
    "regression": {
        "RidgeCV": _ridge,
        "MLPRegressor()": _mlp_regressor,
        "MLPRegressor(), standardized target": _mlp_regressor_scaled,
        "HistGradientBoostingRegressor()": _hgb_regressor,
        "RealMLP_TD_Regressor()": _realmlp_regressor,
        "RegularizedMLPRegressor()": _ours_regressor,
        "MLPRegressor() search on a standardized target": _mlp_regressor_search,
        "tabular_search(RegularizedMLPRegressor())": _ours_regressor_search,
    },
}
PACKAGE_METHODS = {*DEFAULT.values(), "tabular_search(RegularizedMLPClassifier())",
                   "tabular_search(RegularizedMLPRegressor())"}  # fmt: skip
#: pool -> (the package's search, scikit-learn's): reported on the tables both have finished
SEARCHES = {
    "classification": ("tabular_search(RegularizedMLPClassifier())", "MLPClassifier() search"),
    "regression": ("tabular_search(RegularizedMLPRegressor())",
                   "MLPRegressor() search on a standardized target"),
}  # fmt: skip


# -- one cell --------------------------------------------------------------------------------------
def folds(task: str, y: np.ndarray, fold: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``(train, test)`` rows of ``fold``: a shuffled stratified 10-fold split for
    classification, a shuffled 5-fold split for regression."""
    from sklearn.model_selection import KFold, StratifiedKFold

    if task == "classification":
        splitter = StratifiedKFold(10, shuffle=True, random_state=SEED)
    else:
        splitter = KFold(5, shuffle=True, random_state=SEED)
    return list(splitter.split(np.zeros(len(y)), y))[fold]


def run_cell(params: dict, *, quick: bool = False) -> dict:
    """Fit one method on one fold of one table: ``{"score", "fit_cpu_s", "fit_wall_s"}``
    (accuracy or R^2 on the test rows; the fit's CPU and wall seconds)."""
    import logging
    import warnings

    warnings.filterwarnings("ignore", message=".*LeafSpec")  # pytorch-lightning on torch 2.13
    for name in ("pytorch_lightning", "lightning", "lightning.pytorch"):
        logging.getLogger(name).setLevel(logging.ERROR)  # RealMLP's trainer announces itself
    task = pools.task_of(params["table"])
    X, y = pools.load(params["table"])
    train, test = folds(task, y, params["fold"])
    model = with_preprocessing(METHODS[task][params["method"]](quick), X)
    return fit_and_score(model, X, y, train, test)


def fingerprints() -> dict[str, str]:
    """The code each kind of method depends on: ``"reference"`` (scikit-learn's and pytabkit's
    methods: this study, the pools, the preprocessing, the libraries' versions) and
    ``"package"`` (the same and the package)."""
    import sklearn

    try:
        from importlib.metadata import version

        realmlp = version("pytabkit")
    except Exception:  # noqa: BLE001 (not installed: its cells fail and say so)
        realmlp = "absent"
    own = ["benchmarks/tabular_methods.py", "benchmarks/tabular_pools.py",
           "benchmarks/tabular_split.py", "benchmarks/_cells.py"]  # fmt: skip
    libraries = f"scikit-learn {sklearn.__version__}, pytabkit {realmlp}"

    def digest(code: str) -> str:
        return hashlib.sha256(f"{code} {libraries}".encode()).hexdigest()[:12]

    return {
        "reference": digest(code_fingerprint([*own, "sklearn_regpen/tables.py"])),
        "package": digest(code_fingerprint([*own, "sklearn_regpen"])),
    }
