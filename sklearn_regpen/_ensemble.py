"""Searches whose result is a weighted average of fitted candidates, not one winner.

A 3-fold score ranks near-equal candidates by noise, so a search that keeps only its first
candidate often keeps a worse one than the default. Two ways around it live here, on one base
(:class:`_WeightedAverage`: members, weights, averaged probabilities or predictions):

- :class:`TopCandidatesSearchCV`: a grid search's scores, the ``top_k`` best refitted on all
  rows and averaged;
- :class:`EnsembleSearchCV`: every candidate fitted on every fold, a greedy ensemble chosen on the
  out-of-fold predictions (Caruana et al., 2004), and the chosen candidates' fold models kept as
  the ensemble (bagging, as AutoGluon does), so no refit is needed.

Both fit their candidates on their folds through ``_members.fit_all``: the candidate-fold fits of
one network that differ only in ``alpha``, ``epsilon``, seed and fold train in one vectorized
pass, each training as its own fit would (up to float rounding); the others are fitted one by
one.
"""

from __future__ import annotations

import time
import warnings
from numbers import Integral

import numpy as np
from scipy.stats import rankdata
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.exceptions import FitFailedWarning
from sklearn.metrics import accuracy_score, check_scoring, r2_score
from sklearn.model_selection import KFold, ParameterGrid, StratifiedKFold, check_cv
from sklearn.utils import _safe_indexing, get_tags
from sklearn.utils.validation import check_is_fitted

from ._members import fit_all


class _WeightedAverage(MetaEstimatorMixin, BaseEstimator):
    """Predicts with the weighted mean of ``estimators_`` (weights ``member_weights_``)."""

    def _check_params(self):
        if not (isinstance(self.random_state, Integral) or self.random_state is None):
            raise ValueError(f"random_state must be an int or None, got {self.random_state!r}")

    def _folds(self, y):
        """``cv`` as scikit-learn reads it; None means 3 shuffled folds (stratified for a
        classifier) seeded with ``random_state``."""
        classifier = is_classifier(self.estimator)
        if self.cv is None:
            kind = StratifiedKFold if classifier else KFold
            return kind(3, shuffle=True, random_state=self.random_state)
        return check_cv(self.cv, y, classifier=classifier)

    def _is_classifier(self):
        return is_classifier(self.estimator)

    def predict_proba(self, X):
        """Weighted mean of the members' class probabilities, columns in ``classes_`` order."""
        check_is_fitted(self)
        if not self._is_classifier():
            raise AttributeError("predict_proba is for classifiers")
        return sum(
            w * _aligned_proba(est, X, self.classes_)
            for est, w in zip(self.estimators_, self.member_weights_)
        )

    def predict(self, X):
        """Most probable class of the averaged probabilities, or the weighted mean prediction."""
        check_is_fitted(self)
        if self._is_classifier():
            return self.classes_[self.predict_proba(X).argmax(axis=1)]
        return sum(
            w * np.asarray(est.predict(X), dtype=float)
            for est, w in zip(self.estimators_, self.member_weights_)
        )

    def score(self, X, y, sample_weight=None):
        """Accuracy (classifier) or R^2 (regressor) of :meth:`predict`."""
        metric = accuracy_score if self._is_classifier() else r2_score
        return float(metric(y, self.predict(X), sample_weight=sample_weight))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = get_tags(self.estimator).estimator_type
        return tags


def _aligned_proba(estimator, X, classes):
    """``estimator.predict_proba(X)`` with one column per entry of ``classes`` (zeros for a
    class the estimator never saw, as a fold model may not)."""
    proba = np.asarray(estimator.predict_proba(X), dtype=float)
    if len(estimator.classes_) == len(classes) and np.array_equal(estimator.classes_, classes):
        return proba
    out = np.zeros((proba.shape[0], len(classes)))
    out[:, np.searchsorted(classes, estimator.classes_)] = proba
    return out


class TopCandidatesSearchCV(_WeightedAverage):
    """A grid search that keeps its ``top_k`` best candidates and averages them.

    Every candidate of ``param_grid`` is scored by cross-validation, as ``GridSearchCV`` scores
    it (in one vectorized pass for the fits that differ only in ``alpha``, ``epsilon`` and
    fold); the ``top_k`` best (by mean score, the first of equals first) are then
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
    cv, scoring : as for ``GridSearchCV``
        ``cv=None`` means 3 folds, stratified and shuffled with ``random_state`` for a
        classifier.
    n_jobs : int or None, default=None
        Passes and separate fits run in parallel (joblib).
    random_state : int, default=0
        Seeds the shuffling of the default folds.

    Attributes
    ----------
    cv_results_ : dict
        ``GridSearchCV``'s keys for the scores: ``params``, ``param_<name>``,
        ``split<i>_test_score``, ``mean_test_score``, ``std_test_score``,
        ``rank_test_score``. A fit that fails scores nan, with a ``FitFailedWarning``.
    top_params_ : list of dict
        Parameters of the averaged candidates, best first: the ``top_k`` best with a score
        (candidates scored NaN, and those whose refit failed, are passed over).
    best_params_ : dict
        Parameters of the best candidate (``top_params_[0]``).
    best_score_ : float
        Its mean cross-validation score.
    estimators_ : list of estimator
        The refitted candidates, best first.
    member_weights_ : ndarray
        ``1 / top_k`` for each.
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

    def fit(self, X, y, groups=None, **fit_params):
        """Search, then refit the ``top_k`` best candidates on all of ``X``, ``y``.

        ``groups`` goes to the folds' ``split`` (``GroupKFold``), not to the refits; the other
        ``fit_params`` go to every fit. A candidate whose fit fails on some fold scores NaN, with
        a ``FitFailedWarning`` (``GridSearchCV``'s ``error_score=np.nan``), and is passed over, as
        is one whose refit fails; fewer than ``top_k`` candidates with a score are all averaged.
        When no candidate has a score, ``ValueError``.
        """
        self._check_params()
        if not (isinstance(self.top_k, Integral) and self.top_k >= 1):
            raise ValueError(f"top_k must be a positive int, got {self.top_k!r}")
        candidates = list(ParameterGrid(self.param_grid))
        splits = list(self._folds(y).split(X, y, groups))
        scorer = check_scoring(self.estimator, scoring=self.scoring)
        models = fit_all(_fold_jobs(self.estimator, X, y, fit_params, candidates, splits),
                         self.n_jobs)  # fmt: skip
        if all(isinstance(model, BaseException) for model in models):
            raise ValueError(f"All the {len(models)} fits failed; the first raised: "
                             f"{type(models[0]).__name__}: {models[0]}") from models[0]  # fmt: skip
        n_folds = len(splits)
        split_scores = np.full((len(candidates), n_folds), np.nan)
        for j, model in enumerate(models):
            candidate, fold = divmod(j, n_folds)
            if not isinstance(model, BaseException):
                test = splits[fold][1]
                split_scores[candidate, fold] = scorer(
                    model, _safe_indexing(X, test), _safe_indexing(y, test)
                )
        for c, params in enumerate(candidates):
            errors = [(k, m) for k, m in enumerate(models[c * n_folds : (c + 1) * n_folds])
                      if isinstance(m, BaseException)]  # fmt: skip
            if errors:
                folds = ", ".join(str(k) for k, _ in errors)
                first = errors[0][1]
                _warn_failed(f"The fit of candidate {params!r} on fold(s) {folds} of {n_folds}",
                             f"{type(first).__name__}: {first}")  # fmt: skip
        results = _cv_results(candidates, split_scores)
        scores = results["mean_test_score"]
        ranked = [int(i) for i in np.argsort(-np.nan_to_num(scores, nan=-np.inf), kind="stable")
                  if np.isfinite(scores[i])]  # fmt: skip
        if not ranked:
            raise ValueError(_no_score_message(len(scores), "cross-validation score"))
        estimators, refit_times, chosen = [], [], []
        for i in ranked:
            if len(chosen) == self.top_k:
                break
            params = candidates[i]
            started = time.perf_counter()
            model, error = _try_fit(clone(self.estimator).set_params(**params), X, y, fit_params)
            if error is not None:
                _warn_failed(f"The refit of candidate {params!r} on all of X", error)
            else:
                estimators.append(model)
                refit_times.append(time.perf_counter() - started)
                chosen.append(i)
        if not chosen:
            raise ValueError(
                f"Every refit of the {len(ranked)} candidate(s) with a cross-validation score "
                "failed on all of X (see the FitFailedWarning above)"
            )
        if len(chosen) < self.top_k:
            warnings.warn(
                f"top_k={self.top_k}, but only {len(chosen)} candidate(s) have a "
                "cross-validation score and a successful refit: averaging those",
                UserWarning,
                stacklevel=2,
            )
        self.cv_results_ = results
        self.top_params_ = [candidates[i] for i in chosen]
        self.best_params_ = self.top_params_[0]
        self.best_score_ = float(scores[chosen[0]])
        self.estimators_, self.refit_times_ = estimators, refit_times
        self.member_weights_ = np.full(len(self.estimators_), 1 / len(self.estimators_))
        if self._is_classifier():
            self.classes_ = self.estimators_[0].classes_
        return self


def _no_score_message(n_candidates: int, what: str) -> str:
    return (
        f"No candidate has a {what}: all {n_candidates} scored NaN (their fits failed, see the "
        "FitFailedWarning above, or the scorer returned NaN). Check the estimator and the grid, "
        "e.g. by fitting one candidate alone."
    )


def _try_fit(estimator, X, y, fit_params):
    """``(estimator.fit(X, y, **fit_params), None)``, or ``(None, "Type: message")`` when the fit
    raises an ``Exception`` (an interrupt propagates)."""
    try:
        return estimator.fit(X, y, **fit_params), None
    except Exception as error:  # noqa: BLE001 (a failed candidate is scored NaN, as GridSearchCV)
        return None, f"{type(error).__name__}: {error}"


def _warn_failed(what: str, error: str) -> None:
    warnings.warn(
        f"{what} failed; it is scored NaN and left out. The error: {error}",
        FitFailedWarning,
        stacklevel=3,
    )


class _OutOfFold:
    """Stands in for a fitted model whose predictions for rows ``0..n-1`` are known, so that
    any scikit-learn scorer can score out-of-fold predictions: ``X`` is the row indices."""

    def __init__(self, predictions, classes=None):
        self.predictions = predictions
        if classes is not None:
            self.classes_ = classes
            self._estimator_type = "classifier"
        else:
            self._estimator_type = "regressor"

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags, RegressorTags, Tags, TargetTags

        classifier = self._estimator_type == "classifier"
        return Tags(
            estimator_type=self._estimator_type,
            target_tags=TargetTags(required=True),
            classifier_tags=ClassifierTags() if classifier else None,
            regressor_tags=None if classifier else RegressorTags(),
        )

    def fit(self, X, y):  # scorers never call it; present so the scorer API accepts the object
        return self

    def predict_proba(self, rows):
        return self.predictions[rows]

    def predict(self, rows):
        if hasattr(self, "classes_"):
            return self.classes_[self.predictions[rows].argmax(axis=1)]
        return self.predictions[rows]


def _scorer(stand_in, scoring):
    if scoring is None:
        scoring = "neg_log_loss" if hasattr(stand_in, "classes_") else "r2"
    return check_scoring(stand_in, scoring=scoring)


def _oof_score(predictions, y, scoring, classes) -> float:
    """``scoring`` (None: :func:`ensemble_weights`' default) of out-of-fold predictions."""
    stand_in = _OutOfFold(predictions, classes)
    return float(_scorer(stand_in, scoring)(stand_in, np.arange(len(y)), y))


def ensemble_weights(predictions, y, *, scoring=None, size=25, classes=None):
    """Greedy ensemble selection (Caruana et al., 2004) on out-of-fold predictions.

    Starting from nothing, ``size`` times add (with replacement) the candidate whose addition
    gives the best score of the mean of the chosen predictions, the first of equals first (so the
    first round picks the best single candidate). The ensemble is the longest of the best-scoring
    prefixes of those picks, and a candidate's weight is the share of that prefix that picked it:
    the ensemble never scores below the best candidate alone.

    Parameters
    ----------
    predictions : array of shape (n_candidates, n_samples, n_classes) or (n_candidates, n_samples)
        Out-of-fold class probabilities (``classes`` given) or predictions.
    y : array of shape (n_samples,) or (n_samples, n_outputs)
        The true targets.
    scoring : str, callable or None, default=None
        A scikit-learn scorer; None is the log loss (``"neg_log_loss"``) for probabilities and
        R^2 otherwise.
    size : int, default=25
        Rounds of selection.
    classes : array or None, default=None
        The labels of the probability columns; None for regression.

    Returns
    -------
    ndarray of shape (n_candidates,)
        Weights summing to 1.

    Examples
    --------
    Two candidates, each wrong on one row, are right on every row together (by accuracy; by log
    loss, the default, the first alone is better than their mean):

    >>> import numpy as np
    >>> p1 = np.array([0.1, 0.1, 0.6, 0.9, 0.9, 0.9])
    >>> p2 = np.array([0.4, 0.6, 0.1, 0.9, 0.9, 0.9])
    >>> proba = np.stack([np.stack([1 - p, p], axis=1) for p in (p1, p2)])
    >>> y = np.array([0, 0, 0, 1, 1, 1])
    >>> ensemble_weights(proba, y, scoring="accuracy", size=2, classes=np.array([0, 1]))
    array([0.5, 0.5])
    """
    predictions = np.asarray(predictions, dtype=float)
    stand_in = _OutOfFold(predictions[0], classes)
    scorer = _scorer(stand_in, scoring)
    rows = np.arange(predictions.shape[1])
    picks, trajectory = [], []
    total = np.zeros_like(predictions[0])
    for chosen in range(size):
        scores = []
        for candidate in predictions:
            stand_in.predictions = (total + candidate) / (chosen + 1)
            scores.append(scorer(stand_in, rows, y))
        scores = np.nan_to_num(scores, nan=-np.inf)
        best = int(np.argmax(scores))
        picks.append(best)
        trajectory.append(scores[best])
        total += predictions[best]
    length = len(trajectory) - int(np.argmax(trajectory[::-1]))
    return np.bincount(picks[:length], minlength=len(predictions)) / length


def _fold_jobs(estimator, X, y, fit_params, candidates, splits) -> list:
    """``(estimator, X, y, fit_params)`` of every candidate on every fold's training rows,
    candidate-major, with the per-row fit parameters (``sample_weight``) cut to those rows."""
    jobs = []
    for params in candidates:
        for train, _ in splits:
            cut = {key: _safe_indexing(value, train) if _per_row(value, len(y)) else value
                   for key, value in fit_params.items()}  # fmt: skip
            jobs.append((clone(estimator).set_params(**params), _safe_indexing(X, train),
                         _safe_indexing(y, train), cut))  # fmt: skip
    return jobs


def _cv_results(candidates, split_scores) -> dict:
    """``GridSearchCV``'s ``cv_results_`` keys for scores: ``params``, ``param_<name>``,
    ``split<i>_test_score``, ``mean_test_score``, ``std_test_score``, ``rank_test_score``."""
    results: dict = {"params": candidates}
    for name in sorted({key for params in candidates for key in params}):
        column = np.ma.MaskedArray(np.empty(len(candidates), dtype=object), mask=True)
        for i, params in enumerate(candidates):
            if name in params:
                column[i] = params[name]
        results[f"param_{name}"] = column
    for fold in range(split_scores.shape[1]):
        results[f"split{fold}_test_score"] = split_scores[:, fold]
    results["mean_test_score"] = split_scores.mean(axis=1)
    results["std_test_score"] = split_scores.std(axis=1)
    results["rank_test_score"] = rankdata(
        -np.nan_to_num(results["mean_test_score"], nan=-np.inf), method="min"
    ).astype(np.int32)
    return results


def _per_row(value, n) -> bool:
    return hasattr(value, "__len__") and not isinstance(value, str | dict) and len(value) == n


class EnsembleSearchCV(_WeightedAverage):
    """Every candidate on every fold, then a greedy ensemble of them; the fold models predict.

    Each candidate of ``param_grid`` is fitted on the training part of each fold of ``cv`` and
    predicts the fold's held-out rows, which gives every candidate an out-of-fold prediction for
    every row. :func:`ensemble_weights` chooses weights on those predictions (a candidate can be
    picked several times, or not at all), and the fitted model is the weighted average of the
    chosen candidates, each one the mean of its fold models. Nothing is refitted: the fold models
    are kept, as a bagged ensemble.

    Against :class:`TopCandidatesSearchCV` it spends no refits, and the weights are chosen on what
    the averaged models would have scored, rather than on each candidate alone.

    Parameters
    ----------
    estimator : estimator
        A classifier or regressor (or a ``Pipeline`` ending in one).
    param_grid : dict or list of dict
        As for ``GridSearchCV``.
    ensemble_size : int, default=25
        Rounds of greedy selection; the weights are multiples of ``1 / k`` for the length
        ``k <= ensemble_size`` of the best-scoring prefix of picks.
    cv : int, cross-validation generator or iterable, default=None
        As for ``GridSearchCV``, but the folds must hold out every row exactly once (``KFold``,
        ``StratifiedKFold``, ``GroupKFold``; not ``ShuffleSplit``); None means 3 folds, shuffled
        with ``random_state`` and stratified for a classifier. Each fold's model stays in the
        ensemble.
    scoring : str, callable or None, default=None
        The scorer the selection maximizes on out-of-fold predictions, and that ranks the
        candidates alone; None is the log loss (``"neg_log_loss"``) for a classifier, which
        chose better ensembles than accuracy on 14 KEEL tables (benchmarks, "Tabular"), and
        R^2 for a regressor.
    n_jobs : int or None, default=None
        Passes of candidate-fold fits, and the fits that train alone, run in parallel
        (joblib).
    random_state : int, default=0
        Seeds the shuffling of the default folds.

    Attributes
    ----------
    candidate_params_ : list of dict
        Every candidate, in grid order.
    oof_predictions_ : ndarray
        Out-of-fold class probabilities (or predictions), one slice per candidate (NaN for a
        candidate whose fit failed on some fold).
    candidate_scores_ : ndarray
        Each candidate's out-of-fold score alone (NaN for a candidate whose fit failed).
    weights_ : ndarray
        Each candidate's weight in the ensemble (summing to 1).
    best_params_ : dict
        The candidate with the best out-of-fold score alone.
    best_score_ : float
        That score.
    ensemble_score_ : float
        The out-of-fold score of the weighted ensemble (optimistic: the weights were chosen on it).
    estimators_ : list of estimator
        The fold models of the candidates with a weight above 0.
    member_weights_ : ndarray
        The weight of each of ``estimators_``: its candidate's weight over the number of folds.
    classes_ : ndarray
        The class labels (classifiers only).
    """

    def __init__(self, estimator, param_grid, *, ensemble_size=25, cv=None, scoring=None,
                 n_jobs=None, random_state=0):  # fmt: skip
        self.estimator = estimator
        self.param_grid = param_grid
        self.ensemble_size = ensemble_size
        self.cv = cv
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.random_state = random_state

    def fit(self, X, y, groups=None, **fit_params):
        """Fit every candidate on every fold, choose the ensemble, keep its fold models.

        ``groups`` goes to the folds' ``split`` (``GroupKFold``). ``fit_params`` go to each fit,
        those with one entry per row (``sample_weight``, ``model__sample_weight`` in a
        ``Pipeline``) cut to the fold's training rows. A candidate whose fit fails on some fold
        scores NaN, with a ``FitFailedWarning`` (``GridSearchCV``'s ``error_score=np.nan``), and
        takes no part in the ensemble; when no candidate has a score, ``ValueError``.
        """
        self._check_params()
        if not (isinstance(self.ensemble_size, Integral) and self.ensemble_size >= 1):
            raise ValueError(f"ensemble_size must be a positive int, got {self.ensemble_size!r}")
        candidates = list(ParameterGrid(self.param_grid))
        target = np.asarray(y)
        classes = np.unique(target) if self._is_classifier() else None
        splits = list(self._folds(target).split(X, target, groups))
        held_out = np.concatenate([test for _, test in splits])
        if len(held_out) != len(target) or len(np.unique(held_out)) != len(target):
            raise ValueError(
                "cv must hold out every row exactly once (KFold-like folds), so that each "
                f"candidate predicts every row once; its {len(splits)} folds hold out "
                f"{len(np.unique(held_out))} distinct rows of {len(target)}, "
                f"{len(held_out)} in all"
            )
        fits = self._fit_candidates(X, y, fit_params, candidates, splits, classes)
        n_folds = len(splits)
        errors = [[error for _, _, error in fits[c * n_folds : (c + 1) * n_folds]]
                  for c in range(len(candidates))]  # fmt: skip
        failed = np.array([any(e is not None for e in errs) for errs in errors], dtype=bool)
        for params, errs in zip(candidates, errors):
            folds = [str(k) for k, e in enumerate(errs) if e is not None]
            if folds:
                first = next(e for e in errs if e is not None)
                _warn_failed(f"The fit of candidate {params!r} on fold(s) {', '.join(folds)} of "
                             f"{n_folds}", first)  # fmt: skip
        if failed.all():
            raise ValueError(_no_score_message(len(candidates), "fit on every fold"))
        shape = next(p.shape[1:] for _, p, error in fits if error is None)
        oof = np.full((len(candidates), len(target), *shape), np.nan)
        for i, (_, predictions, _) in enumerate(fits):
            if not failed[i // n_folds]:
                oof[i // n_folds, splits[i % n_folds][1]] = predictions
        scores = np.array([np.nan if bad else _oof_score(p, target, self.scoring, classes)
                           for p, bad in zip(oof, failed)])  # fmt: skip
        scored = np.isfinite(scores)
        if not scored.any():
            raise ValueError(_no_score_message(len(candidates), "finite out-of-fold score"))
        self.candidate_params_ = candidates
        self.oof_predictions_ = oof
        self.candidate_scores_ = scores
        best = int(np.argmax(np.where(scored, scores, -np.inf)))
        self.best_params_, self.best_score_ = candidates[best], float(scores[best])
        self.weights_ = np.zeros(len(candidates))
        self.weights_[scored] = ensemble_weights(oof[scored], target, scoring=self.scoring,
                                                 size=self.ensemble_size, classes=classes)
        ensemble = np.tensordot(self.weights_[scored], oof[scored], 1)
        self.ensemble_score_ = _oof_score(ensemble, target, self.scoring, classes)
        chosen = [(model, self.weights_[i // n_folds] / n_folds) for i, (model, _, _) in
                  enumerate(fits) if self.weights_[i // n_folds] > 0]  # fmt: skip
        self.estimators_ = [model for model, _ in chosen]
        self.member_weights_ = np.array([weight for _, weight in chosen])
        if classes is not None:
            self.classes_ = classes
        return self

    def _fit_candidates(self, X, y, fit_params, candidates, splits, classes):
        """``(model, held-out predictions, error)`` for each candidate and fold,
        candidate-major; a fit that failed gives ``(None, None, "Type: message")``."""
        models = fit_all(_fold_jobs(self.estimator, X, y, fit_params, candidates, splits),
                         self.n_jobs)  # fmt: skip
        fits = []
        for j, model in enumerate(models):
            if isinstance(model, BaseException):
                fits.append((None, None, f"{type(model).__name__}: {model}"))
                continue
            X_test = _safe_indexing(X, splits[j % len(splits)][1])
            if classes is not None:
                fits.append((model, _aligned_proba(model, X_test, classes), None))
            else:
                fits.append((model, np.asarray(model.predict(X_test), dtype=float), None))
        return fits
