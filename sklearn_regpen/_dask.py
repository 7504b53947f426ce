"""Run joblib-parallel work (scikit-learn searches, the main job's refits) on a Dask cluster.

scikit-learn parallelizes through joblib, and joblib hands its tasks to Dask inside
``joblib.parallel_backend("dask")``: nothing here is specific to our estimators. These helpers
start a sensible local cluster (one single-threaded worker process per fit, on loopback) or connect
to an existing scheduler, and make a search survive the loss of a worker, for the main job and the
benchmarks. ``distributed`` is an optional dependency (``pip install "sklearn-regpen[dask]"``) and
is imported only when used.

Why :func:`replicated_inputs`: joblib's Dask backend copies every large argument of a task (the
data, each fold's index arrays: anything over 1 kB) to *one* worker with ``Client.scatter``. Dask
cannot recompute scattered data, so when that worker dies the tasks that need it are cancelled and
the search fails ("Removing worker ... caused the cluster to lose scattered data, which can't be
recovered"). Objects named in ``parallel_backend("dask", scatter=[...])`` are instead broadcast to
every worker up front and matched by identity. One more thing undoes that: the scheduler's Active
Memory Manager, on by default, trims broadcast copies back to one within seconds
(``ReduceReplicas``). :func:`local_cluster` starts its scheduler with it off; on another cluster,
start the scheduler with ``DASK_DISTRIBUTED__SCHEDULER__ACTIVE_MEMORY_MANAGER__START=False``.
"""

from __future__ import annotations

import warnings
from contextlib import ExitStack, contextmanager

import joblib


def _distributed():
    try:
        import distributed
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Running on Dask needs the 'distributed' package: pip install 'sklearn-regpen[dask]'"
        ) from exc
    return distributed


def local_cluster(n_workers: int, **kwargs):
    """A ``distributed.LocalCluster`` of single-threaded worker processes on 127.0.0.1.

    One thread per worker process means one fit at a time per process; Dask's nanny starts each
    worker with ``OMP_NUM_THREADS=1``, so torch runs one thread per fit and ``n_workers`` fits use
    ``n_workers`` cores. Every port it opens (scheduler, workers, HTTP endpoints) is a free one
    on loopback. Its scheduler keeps every copy of broadcast data (the Active Memory Manager is
    off), so that :func:`replicated_inputs` works.

    Parameters
    ----------
    n_workers : int
        Number of worker processes (at most the number of cores, for CPU fits).
    **kwargs
        Passed on to ``LocalCluster``.

    Returns
    -------
    distributed.LocalCluster
        A started cluster; close it (or use it as a context manager) when done.
    """
    import dask

    distributed = _distributed()
    options = dict(threads_per_worker=1, processes=True, host="127.0.0.1",
                   dashboard_address="127.0.0.1:0")
    # read once, when the scheduler starts (here, in this process)
    with dask.config.set({"distributed.scheduler.active-memory-manager.start": False}):
        return distributed.LocalCluster(n_workers=n_workers, **{**options, **kwargs})


def replicated_inputs(X, y, cv, *more):
    """Fixed cross-validation folds, and the objects to broadcast to every Dask worker.

    Parameters
    ----------
    X, y : array-like
        The data the search is fitted on; pass these same objects to ``fit``.
    cv : cross-validation splitter
        Anything with a ``split(X, y)`` method, e.g. ``StratifiedKFold(5, shuffle=True)``.
    *more : array-like
        Other large arguments of the parallel calls (held-out data, say).

    Returns
    -------
    folds : list of (ndarray, ndarray)
        The ``(train, test)`` row indices of each fold: pass as the search's ``cv``.
    scatter : list
        ``X``, ``y``, ``more`` and every fold's index arrays: pass as
        ``parallel_backend("dask", scatter=scatter)`` (or ``dask_backend(scatter=scatter)``).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import KFold
    >>> X, y = np.zeros((6, 2)), np.arange(6)
    >>> folds, scatter = replicated_inputs(X, y, KFold(3))
    >>> len(folds), len(scatter)
    (3, 8)
    """
    folds = list(cv.split(X, y))
    return folds, [X, y, *more, *(rows for fold in folds for rows in fold)]


@contextmanager
def dask_backend(
    scheduler: str | None = None, n_workers: int = 1, scatter=(), timeout: float = 30
):
    """Send joblib's parallel work inside the block to a Dask cluster; yield the ``Client``.

    Parameters
    ----------
    scheduler : str or None, default=None
        Address of a running scheduler (``"tcp://host:8786"``); None starts a
        :func:`local_cluster` for the duration of the block and closes it afterwards.
    n_workers : int, default=1
        Worker processes of the local cluster (ignored with ``scheduler``).
    scatter : sequence, default=()
        Objects to broadcast to every worker (see :func:`replicated_inputs`).
    timeout : float, default=30
        Seconds to wait for the scheduler to answer, and for at least one worker.

    Yields
    ------
    distributed.Client
        The connected client; inside the block, ``n_jobs=-1`` means all of its worker threads.
    """
    distributed = _distributed()
    with ExitStack() as stack:
        target = scheduler
        if scheduler is None:
            target = stack.enter_context(local_cluster(n_workers))
        client = stack.enter_context(distributed.Client(target, timeout=timeout))
        client.wait_for_workers(1, timeout=timeout)
        if scatter and client.amm.running():
            warnings.warn(
                f"The Active Memory Manager of the scheduler at {client.scheduler.address} trims "
                "the copies of the data broadcast to every worker, so a worker that dies can "
                "take the only copy with it and fail the search. Start the scheduler with "
                "DASK_DISTRIBUTED__SCHEDULER__ACTIVE_MEMORY_MANAGER__START=False to avoid that.",
                RuntimeWarning,
                stacklevel=3,
            )
        stack.enter_context(
            joblib.parallel_backend("dask", client=client, scatter=list(scatter) or None)
        )
        yield client
