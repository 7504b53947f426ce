"""Ready-made search spaces over ``penalty``, ``alpha`` and ``epsilon``.

Each penalty declares the range where its knobs matter (``alpha_range``, ``epsilon_range`` on the
penalty class, for standardized inputs); :func:`param_grid` spreads values log-evenly over them, so
a grid compares penalties at strengths that mean something for each.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted

from .penalties import PENALTIES

__all__ = ["TABULAR_GRID", "TopCandidatesSearchCV", "param_grid", "tabular_grid", "tabular_search"]


def _log_values(bounds: tuple[float, float], n: int) -> list[float]:
    low, high = bounds
    values = [np.sqrt(low * high)] if n == 1 else np.geomspace(low, high, n)
    return [float(f"{v:.3g}") for v in values]


def param_grid(penalties: Iterable[str] | None = None, n_values: int = 3, prefix: str = "") -> list:
    """A ``GridSearchCV`` grid with ``n_values`` strengths (and noise levels) per penalty.

    Parameters
    ----------
    penalties : iterable of str, default=None
        Penalty names; all registered penalties when None.
    n_values : int, default=3
        Values per knob: a penalty with both ``alpha`` and ``epsilon`` gets ``n_values**2``
        candidates, one with neither (``none``) gets one.
    prefix : str, default=""
        Put in front of every parameter name, e.g. ``"net__"`` for a ``Pipeline`` step ``net``.

    Returns
    -------
    list of dict
        One dict per penalty, mapping parameter names to lists of values, as
        ``GridSearchCV(param_grid=...)`` takes them.

    Examples
    --------
    >>> param_grid(["none", "jacobian"], n_values=3)
    [{'penalty': ['none']}, {'penalty': ['jacobian'], 'alpha': [0.1, 1.0, 10.0]}]
    """
    names = list(PENALTIES) if penalties is None else list(penalties)
    unknown = sorted(set(names) - set(PENALTIES))
    if unknown:
        raise ValueError(f"Unknown penalties {unknown}; choose from {sorted(PENALTIES)}")
    grid = []
    for name in names:
        cls = PENALTIES[name]
        entry = {"penalty": [name]}
        if cls.uses_alpha and cls.alpha_range:
            entry["alpha"] = _log_values(cls.alpha_range, n_values)
        if cls.uses_epsilon and cls.epsilon_range:
            entry["epsilon"] = _log_values(cls.epsilon_range, n_values)
        grid.append({prefix + key: values for key, values in entry.items()})
    return grid


#: Eight candidates for a tabular search (standardized inputs), for ``GridSearchCV`` through
#: :func:`tabular_grid`. Chosen with ``benchmarks/tabular_defaults.py`` (user guide, "Defaults
#: and why"): strengths that were within a point of the defaults alone on ten KEEL tables, so that
#: the search picks among reasonable settings; ``noise``, ``hsfob``, ``c2c`` with ``epsilon=1`` and
#: ``jacobian`` with ``alpha=3`` lost 1 to 10 points there and are left out.
TABULAR_GRID: list[dict] = [
    {"penalty": "l2", "alpha": 1e-4},
    {"penalty": "l2", "alpha": 1e-2},
    {"penalty": "l2", "alpha": 1.0},
    {"penalty": "jacobian", "alpha": 0.1},
    {"penalty": "jacobian", "alpha": 1.0},
    {"penalty": "c2c", "alpha": 10.0, "epsilon": 0.1},
    {"penalty": "c2c", "alpha": 10.0, "epsilon": 0.3},
    {"penalty": "vat", "alpha": 1.0, "epsilon": 0.5},
]


def tabular_grid(prefix: str = "") -> list[dict]:
    """:data:`TABULAR_GRID` as a ``GridSearchCV`` grid: 8 candidates, one dict each.

    Parameters
    ----------
    prefix : str, default=""
        Put in front of every parameter name, e.g. ``"net__"`` for a ``Pipeline`` step ``net``.

    Returns
    -------
    list of dict
        One dict per candidate, each value a one-element list.

    Examples
    --------
    >>> grid = tabular_grid(prefix="net__")
    >>> len(grid), grid[0]
    (8, {'net__penalty': ['l2'], 'net__alpha': [0.0001]})
    """
    return [
        {prefix + key: [value] for key, value in candidate.items()} for candidate in TABULAR_GRID
    ]


class TopCandidatesSearchCV(MetaEstimatorMixin, BaseEstimator):
    """A grid search that keeps its ``top_k`` best candidates and averages them.

    ``GridSearchCV`` (with ``refit=False``) scores every candidate of ``param_grid`` by
    cross-validation; the ``top_k`` best (by mean score, the first of equals first) are then
    refitted on all of ``X`` and ``y``, and the model averages their class probabilities
    (classifier) or predictions (regressor). Averaging the top candidates spends ``top_k - 1``
    more fits than a plain search, and makes the result depend less on which of several
    near-equal candidates a noisy 3-fold score happens to rank first.

    Parameters
    ----------
    estimator : estimator
        A classifier or regressor (or a ``Pipeline`` ending in one).
    param_grid : dict or list of dict
        As for ``GridSearchCV``.
    top_k : int, default=3
        How many of the best candidates to refit and average; 1 is a plain grid search.
    cv, scoring, n_jobs : as for ``GridSearchCV``
        ``cv=None`` means 3 folds, stratified and shuffled with ``random_state`` for a
        classifier.
    random_state : int, default=0
        Seeds the shuffling of the default folds.

    Attributes
    ----------
    cv_results_ : dict
        The grid search's ``cv_results_``.
    top_params_ : list of dict
        Parameters of the averaged candidates, best first.
    best_params_ : dict
        Parameters of the best candidate (``top_params_[0]``).
    best_score_ : float
        Its mean cross-validation score.
    estimators_ : list of estimator
        The refitted candidates, best first.
    refit_times_ : list of float
        Seconds (wall) each refit took.
    classes_ : ndarray
        The class labels (classifiers only).
    """

    def __init__(self, estimator, param_grid, *, top_k=3, cv=None, scoring=None, n_jobs=None,
                 random_state=0):  # fmt: skip
        self.estimator = estimator
        self.param_grid = param_grid
        self.top_k = top_k
        self.cv = cv
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _folds(self):
        if self.cv is not None:
            return self.cv
        if is_classifier(self.estimator):
            return StratifiedKFold(3, shuffle=True, random_state=self.random_state)
        return KFold(3, shuffle=True, random_state=self.random_state)

    def fit(self, X, y, **fit_params):
        """Search, then refit the ``top_k`` best candidates on all of ``X``, ``y``."""
        if not (isinstance(self.top_k, Integral) and self.top_k >= 1):
            raise ValueError(f"top_k must be a positive int, got {self.top_k!r}")
        search = GridSearchCV(self.estimator, self.param_grid, cv=self._folds(),
                              scoring=self.scoring, n_jobs=self.n_jobs, refit=False)
        search.fit(X, y, **fit_params)  # fmt: skip
        scores = np.nan_to_num(search.cv_results_["mean_test_score"], nan=-np.inf)
        order = np.argsort(-scores, kind="stable")[: self.top_k]
        self.cv_results_ = search.cv_results_
        self.top_params_ = [search.cv_results_["params"][i] for i in order]
        self.best_params_ = self.top_params_[0]
        self.best_score_ = float(scores[order[0]])
        self.estimators_, self.refit_times_ = [], []
        for params in self.top_params_:
            started = time.perf_counter()
            model = clone(self.estimator).set_params(**params).fit(X, y, **fit_params)
            self.estimators_.append(model)
            self.refit_times_.append(time.perf_counter() - started)
        if is_classifier(self.estimator):
            self.classes_ = self.estimators_[0].classes_
        return self

    def predict_proba(self, X):
        """Mean of the refitted candidates' class probabilities."""
        check_is_fitted(self)
        if not is_classifier(self.estimator):
            raise AttributeError("predict_proba is for classifiers")
        return np.mean([est.predict_proba(X) for est in self.estimators_], axis=0)

    def predict(self, X):
        """Most probable class of the averaged probabilities, or the mean prediction."""
        check_is_fitted(self)
        if is_classifier(self.estimator):
            return self.classes_[self.predict_proba(X).argmax(axis=1)]
        return np.mean([est.predict(X) for est in self.estimators_], axis=0)

    def score(self, X, y, sample_weight=None):
        """Accuracy (classifier) or R^2 (regressor) of :meth:`predict`."""
        metric = accuracy_score if is_classifier(self.estimator) else r2_score
        return float(metric(y, self.predict(X), sample_weight=sample_weight))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = get_tags(self.estimator).estimator_type
        return tags


def tabular_search(estimator, prefix: str = "", top_k: int = 3, n_jobs=None):
    """The ready-made search for a table: :data:`TABULAR_GRID` scored on 3 shuffled folds,
    the ``top_k`` best candidates refitted and averaged (:class:`TopCandidatesSearchCV`).

    Parameters
    ----------
    estimator : estimator
        A ``RegularizedMLPClassifier`` or ``RegularizedMLPRegressor``, or a ``Pipeline`` ending in
        one (then give ``prefix``, e.g. ``"net__"``).
    prefix : str, default=""
        The network's step name and ``__`` in a ``Pipeline``.
    top_k : int, default=3
        Candidates averaged; 1 is the plain 8-candidate grid search.
    n_jobs : int or None, default=None
        Parallel fits, as for ``GridSearchCV``.

    Returns
    -------
    TopCandidatesSearchCV
        Unfitted; ``fit`` it like any estimator.

    Examples
    --------
    >>> from sklearn.datasets import load_wine
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_regpen import RegularizedMLPClassifier
    >>> X, y = load_wine(return_X_y=True)
    >>> pipe = make_pipeline(StandardScaler(), RegularizedMLPClassifier(max_iter=30))
    >>> search = tabular_search(pipe, prefix="regularizedmlpclassifier__").fit(X, y)
    >>> len(search.estimators_), search.predict(X[:2]).shape
    (3, (2,))
    """
    return TopCandidatesSearchCV(estimator, tabular_grid(prefix), top_k=top_k, n_jobs=n_jobs)
