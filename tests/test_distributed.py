"""Grid search and cross-validation over the solvers on a dask.distributed cluster.

A two-process ``LocalCluster`` on 127.0.0.1 stands in for a real cluster:
the fits run in separate worker processes that import skbnorm (and load its
numba kernels) on their own, reached over TCP through joblib's dask backend.
The results must equal the local ones bit for bit, and the scheduler's task
stream proves that every fit did run on the workers.
"""

import os
import re
import warnings

import joblib
import numpy as np
import pytest
from distributed import Client, LocalCluster, get_task_stream
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_validate

from skbnorm import NormalizedLogisticRegression
from skbnorm.datasets import load_a9a

SOLVERS = ["gd", "agd", "bn", "wn", "gdnp"]
CV = 3
N_SAMPLES = 1000

# joblib names each dask task after the batch of calls it carries; its
# auto-batching groups calls ("mixed_batch_of_..._2_calls") when the fits are
# short next to the dispatch, as with another process on the cores
_BATCH_KEY = re.compile(
    r"(?:mixed_)?batch_of_(?P<func>.+)_(?P<n>\d+)_calls-[0-9a-f]+$")


def _silence_convergence_warnings():
    # runs in each worker process: max_iter is deliberately small
    warnings.simplefilter("ignore", ConvergenceWarning)


@pytest.fixture(scope="module")
def client():
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        # one fit per worker thread: numba's own threads must not oversubscribe
        # the cores (and the fits are bit-identical whatever their number)
        env={"NUMBA_NUM_THREADS": "1"},
    )
    client = Client(cluster)
    try:
        client.run(_silence_convergence_warnings)
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def data():
    X, y = load_a9a()
    return X[:N_SAMPLES], y[:N_SAMPLES]


def _estimator(**params):
    return NormalizedLogisticRegression(max_iter=50, random_state=0, **params)


def _assert_fits_ran_on_workers(client, stream, n_fits):
    """Every one of the ``n_fits`` fits ran in a worker process of ``client``."""
    workers = set(client.scheduler_info()["workers"])
    assert len(workers) == 2
    fit_calls = 0
    used = set()
    for task in stream.data:
        match = _BATCH_KEY.match(task["key"])
        if match and "fit_and_score" in match["func"]:
            fit_calls += int(match["n"])
            used.add(task["worker"])
    assert fit_calls == n_fits
    assert used and used <= workers
    pids = client.run(os.getpid)
    assert set(pids) == workers
    assert os.getpid() not in pids.values()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_grid_search_on_cluster_equals_local(client, data):
    X, y = data
    grid = {"solver": SOLVERS}

    local = GridSearchCV(_estimator(), grid, cv=CV, n_jobs=1).fit(X, y)

    with get_task_stream(client) as stream:
        with joblib.parallel_backend("dask"):
            remote = GridSearchCV(_estimator(), grid, cv=CV).fit(X, y)

    _assert_fits_ran_on_workers(client, stream, len(SOLVERS) * CV)

    assert remote.best_params_ == local.best_params_
    assert remote.best_index_ == local.best_index_
    assert remote.cv_results_["params"] == local.cv_results_["params"]
    for key, value in local.cv_results_.items():
        if key.endswith("_time") or key == "params":
            continue
        assert_array_equal(np.asarray(remote.cv_results_[key]), np.asarray(value))
    assert_array_equal(remote.best_estimator_.coef_, local.best_estimator_.coef_)
    assert_array_equal(
        remote.best_estimator_.intercept_, local.best_estimator_.intercept_
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", SOLVERS)
def test_cross_validate_on_cluster_equals_local(client, data, solver):
    # the fitted models themselves come back from the workers: their
    # coefficients equal the ones fitted here
    X, y = data
    est = _estimator(solver=solver)

    local = cross_validate(est, X, y, cv=CV, n_jobs=1, return_estimator=True)

    with get_task_stream(client) as stream:
        with joblib.parallel_backend("dask"):
            remote = cross_validate(est, X, y, cv=CV, return_estimator=True)

    _assert_fits_ran_on_workers(client, stream, CV)

    assert_array_equal(remote["test_score"], local["test_score"])
    for fit_remote, fit_local in zip(
        remote["estimator"], local["estimator"], strict=True
    ):
        assert_array_equal(fit_remote.coef_, fit_local.coef_)
        assert_array_equal(fit_remote.intercept_, fit_local.intercept_)
        assert_array_equal(fit_remote.n_iter_, fit_local.n_iter_)


def test_predictions_on_dask_arrays_run_on_the_workers(client, data):
    # a fitted model predicts a row-chunked dask array of CSR chunks where
    # the chunks are: every chunk's task runs in a worker process, and the
    # gathered predictions equal the in-memory ones
    import dask.array as da
    import scipy.sparse as sp

    X, y = data
    est = NormalizedLogisticRegression().fit(X, y)
    dX = da.from_array(X.toarray(), chunks=(250, X.shape[1])).map_blocks(
        sp.csr_matrix, dtype=X.dtype, meta=sp.csr_matrix((0, 0)))
    proba = est.predict_proba(dX)
    with get_task_stream(client) as stream:
        got = proba.compute()
    ran = [t for t in stream.data
           if isinstance(t["key"], tuple) and t["key"][0] == proba.name]
    assert len(ran) == dX.numblocks[0] == 4
    assert {t["worker"] for t in ran} <= set(client.scheduler_info()["workers"])
    assert_array_equal(got, est.predict_proba(X))
