"""Searches on a Dask cluster: same results as serial runs, models that travel, workers that die.

Every cluster here is a ``LocalCluster`` on 127.0.0.1 started and closed by the test itself, with
worker processes (one thread each) so that a worker can be killed. Every wait is bounded.
"""

import os
import signal
import sys
import uuid
import warnings
from concurrent.futures import ThreadPoolExecutor

import cloudpickle
import distributed
import joblib
import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal
from rich.console import Console
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline

from sklearn_regpen import RegularizedMLPClassifier
from sklearn_regpen._dask import dask_backend, local_cluster, replicated_inputs
from sklearn_regpen.cli import main
from sklearn_regpen.cli.options import parse_sweep_args
from sklearn_regpen.cli.sweep import run_sweep

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

TIMEOUT = 120  # seconds: the longest any single wait here may take before the test fails

# Fits defined here (the gate below) must reach the workers by value: they cannot import this file.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

# n_threads=1: one torch thread per fit wherever it runs (see test_worker_thread_counts).
NET = dict(hidden_layer_sizes=(8,), max_iter=15, learning_rate_init=0.01, random_state=0,
           n_threads=1)
GRID = [
    {"penalty": ["none"]},
    {"penalty": ["l2"], "alpha": [1e-4, 1e-1]},
    {"penalty": ["c2c"], "alpha": [1.0], "epsilon": [0.1, 0.3]},
]
# a continuous score, so that "equal" means equal floats, not equal counts of right answers
SCORING = "neg_log_loss"


def _search(estimator, grid=GRID, n_jobs=1, refit=False, cv=3):
    return GridSearchCV(estimator, grid, cv=cv, scoring=SCORING, n_jobs=n_jobs, refit=refit,
                        error_score="raise")


def _in_thread(function, timeout=TIMEOUT):
    """Run ``function()`` in a thread; return its result, or fail after ``timeout`` seconds."""
    pool = ThreadPoolExecutor(1)
    try:
        return pool.submit(function).result(timeout=timeout)
    finally:
        pool.shutdown(wait=False)


@pytest.fixture(scope="module")
def client():
    """A two-worker cluster on loopback, shared by the tests that leave it intact."""
    with local_cluster(2) as cluster, distributed.Client(cluster, timeout=TIMEOUT) as c:
        c.wait_for_workers(2, timeout=TIMEOUT)
        yield c


@pytest.fixture(scope="module")
def serial(blobs):
    """The reference: the search run in this process, one fit after another."""
    X, y = blobs
    return _search(RegularizedMLPClassifier(**NET)).fit(X, y)


def _assert_same_search(search, reference):
    assert search.best_params_ == reference.best_params_
    for key in ["mean_test_score"] + [f"split{i}_test_score" for i in range(3)]:
        # exactly equal, not merely close: CPU fits with a fixed random_state are bit-for-bit
        # repeatable across processes (and across torch thread counts)
        assert_array_equal(search.cv_results_[key], reference.cv_results_[key], err_msg=key)


def test_joblib_processes_give_the_serial_results(blobs, serial):
    X, y = blobs
    search = _search(RegularizedMLPClassifier(**NET), n_jobs=-1)
    _assert_same_search(_in_thread(lambda: search.fit(X, y)), serial)


def test_dask_gives_the_serial_results(blobs, serial, client):
    X, y = blobs

    def on_dask():
        with joblib.parallel_backend("dask", client=client):
            return _search(RegularizedMLPClassifier(**NET), n_jobs=-1).fit(X, y)

    _assert_same_search(_in_thread(on_dask), serial)


def test_fitted_models_travel_through_the_cluster_and_predict_the_same(blobs, client):
    X, y = blobs
    local = RegularizedMLPClassifier(**NET).fit(X, y)
    # a fitted model sent to a worker predicts there exactly as here
    sent = client.submit(local.predict_proba, X, pure=False).result(timeout=TIMEOUT)
    assert_array_equal(sent, local.predict_proba(X))
    # a model fitted on a worker comes back and predicts as the one fitted here
    fitted_there = client.submit(clone(local).fit, X, y, pure=False).result(timeout=TIMEOUT)
    assert_array_equal(fitted_there.predict_proba(X), local.predict_proba(X))
    assert_array_equal(fitted_there.classes_, local.classes_)

    def search_on_dask():
        with joblib.parallel_backend("dask", client=client):
            return _search(RegularizedMLPClassifier(**NET), n_jobs=-1, refit=True).fit(X, y)

    search = _in_thread(search_on_dask)
    remote = client.submit(search.predict_proba, X, pure=False).result(timeout=TIMEOUT)
    assert_array_equal(remote, search.predict_proba(X))
    assert_array_equal(client.submit(search.predict, X, pure=False).result(timeout=TIMEOUT),
                       search.predict(X))


def _fit_and_count_threads(n_threads, X, y):
    """On a worker: torch's thread count before, during and after a fit."""
    seen = []

    class Spy(RegularizedMLPClassifier):
        def _run(self, *args):
            seen.append(torch.get_num_threads())
            return super()._run(*args)

    before = torch.get_num_threads()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        Spy(**{**NET, "n_threads": n_threads}).fit(X, y)
    return before, seen[0], torch.get_num_threads()


def test_worker_thread_counts(blobs, client):
    X, y = blobs
    # Dask's nanny starts every worker process with OMP_NUM_THREADS=1: torch runs one thread per
    # task, so a worker given k threads runs k single-threaded fits at once
    for torch_threads, worker_threads in client.run(
        lambda dask_worker: (torch.get_num_threads(), dask_worker.state.nthreads)
    ).values():
        assert torch_threads == 1 and worker_threads == 1
    # n_threads overrides it for the fit only, on the worker as here
    outcome = client.submit(_fit_and_count_threads, 2, X, y, pure=False).result(timeout=TIMEOUT)
    assert outcome == (1, 2, 1)
    assert client.submit(_fit_and_count_threads, None, X, y, pure=False).result(
        timeout=TIMEOUT) == (1, 1, 1)  # None leaves the worker's setting alone
    # joblib's process workers get an equal share of the cores (unless OMP_NUM_THREADS says)
    share = int(os.environ.get("OMP_NUM_THREADS", max(1, joblib.cpu_count() // 2)))
    counts = joblib.Parallel(n_jobs=2)(joblib.delayed(torch.get_num_threads)() for _ in range(4))
    assert counts == [share] * 4


QUICK = ["--dataset", "iris", "--per-class", "10", "--penalties", "none,l2", "--grid-size", "2",
         "--cv", "2", "--max-iter", "20", "--hidden", "8", "--n-jobs", "1"]


def _sweep(argv):
    """What ``main(argv)`` computes, as rows, without the printing."""
    return run_sweep(parse_sweep_args(argv), Console(quiet=True))


def _without_times(rows):
    return [{k: v for k, v in row.items() if k != "fit_seconds"} for row in rows]


def test_main_job_on_a_running_cluster_ranks_as_without_it(client):
    on_dask = _in_thread(lambda: _sweep([*QUICK, "--scheduler", client.scheduler.address]))
    assert _without_times(on_dask) == _without_times(_sweep(QUICK))


def test_main_job_starts_and_closes_its_own_cluster(capsys):
    assert _in_thread(lambda: main([*QUICK, "--dask"])) == 0
    out = capsys.readouterr().out
    assert "Dask scheduler tcp://127.0.0.1:" in out and "worker threads: 1" in out
    assert "Penalty sweep, ranked by cross-validation accuracy" in out


def test_a_scheduler_that_trims_broadcast_copies_is_flagged(client):
    shared = [np.zeros(1000)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with dask_backend(client.scheduler.address, scatter=shared):  # ours keeps every copy
            pass
    client.amm.start()
    try:
        with pytest.warns(RuntimeWarning, match="Active Memory Manager"):
            with dask_backend(client.scheduler.address, scatter=shared):
                pass
    finally:
        client.amm.stop()


class _Gate(TransformerMixin, BaseEstimator):
    """Passes ``X`` through; with a ``name``, its ``fit`` holds until the test lets it go.

    On entering, it records its process id in the Dask variable ``{name}-pid`` and sets the event
    ``{name}-entered``; it then waits for the event ``{name}-release``.
    """

    def __init__(self, name=None):
        self.name = name

    def fit(self, X, y=None):
        if self.name:
            distributed.Variable(f"{self.name}-pid").set(os.getpid())
            distributed.Event(f"{self.name}-entered").set()
            if not distributed.Event(f"{self.name}-release").wait(timeout=TIMEOUT):
                raise TimeoutError("the test never released the gate")
        return self

    def transform(self, X):
        return X


def test_a_worker_killed_mid_search_does_not_lose_the_search(blobs, client):
    # last in this file: it leaves the shared cluster with a restarted worker
    X, y = blobs
    grid = [{f"net__{k}": v for k, v in entry.items()} for entry in GRID]
    name = f"gate-{uuid.uuid4().hex}"

    def gated(name):
        return Pipeline([("gate", _Gate(name)), ("net", RegularizedMLPClassifier(**NET))])

    # joblib would copy X, y and the fold indices to one worker each, and Dask cannot recover
    # them if that worker is the one that dies: broadcast them to every worker instead
    folds, shared = replicated_inputs(X, y, StratifiedKFold(3))
    reference = _search(gated(None), grid, cv=folds).fit(X, y)
    client.wait_for_workers(2, timeout=TIMEOUT)
    workers = {pid: address for address, pid in client.run(os.getpid).items()}

    def on_dask():
        with joblib.parallel_backend("dask", client=client, scatter=shared):
            return _search(gated(name), grid, n_jobs=-1, cv=folds).fit(X, y)

    release = distributed.Event(f"{name}-release", client=client)
    pool = ThreadPoolExecutor(1)
    try:
        running = pool.submit(on_dask)
        # every fit waits at the gate, so the search cannot finish before the kill
        assert distributed.Event(f"{name}-entered", client=client).wait(timeout=TIMEOUT)
        victim = distributed.Variable(f"{name}-pid", client=client).get(timeout=TIMEOUT)
        assert victim in workers
        os.kill(victim, signal.SIGKILL)
        release.set()
        search = running.result(timeout=TIMEOUT)
    finally:
        release.set()
        pool.shutdown(wait=False)

    assert victim not in set(client.run(os.getpid).values())
    # the scheduler saw the worker leave while it was running a fit, and ran that fit again
    removals = [event for _, event in client.get_events(workers[victim])
                if event.get("action") == "remove-worker"]
    assert removals and removals[0]["processing-tasks"]
    assert len(search.cv_results_["params"]) == len(reference.cv_results_["params"])
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    _assert_same_search(search, reference)
