"""``fit`` on dask arrays: the rows stay in chunks, the solvers are the same.

Without a ``distributed`` client the chunks are computed in this process;
with one (a two-process ``LocalCluster`` on 127.0.0.1) they stay in the
workers' chunk stores and every pass runs there. Either way the fit must
equal the in-memory fit on the same data to 1e-10 (relative), dense or CSR
chunks, with sample weights: the passes add the chunks' partial sums in
chunk order, the in-memory ones the blocks' in block order, and nothing else
differs.
"""

import time
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning

from skbnorm import (
    HalfspaceClassifier,
    NormalizedLinearRegression,
    NormalizedLogisticRegression,
)

da = pytest.importorskip("dask.array")

# "gdnp": the default, with the subspace step and the Hessian metric
SOLVERS = ["gd", "agd", "gdnp"]
N, D, CHUNK = 900, 7, 250


def _data(kind, task, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, D)) * np.linspace(0.5, 3.0, D) + 1.0
    X[:, 3] = 2.0  # a constant column
    if kind == "csr":
        X[rng.random((N, D)) < 0.5] = 0.0
        X = sp.csr_matrix(X)
    w = rng.standard_normal(D)
    t = np.asarray(X @ w).ravel()
    if task == "regression":
        y = t + 0.5 * rng.standard_normal(N) + 3.0
    elif task == "binary":
        y = np.where(t + rng.standard_normal(N) > np.median(t), "yes", "no")
    else:
        y = np.digitize(t + rng.standard_normal(N), np.quantile(t, [0.33, 0.66]))
    sw = rng.uniform(0.0, 2.0, N)
    return X, y, sw


def _dask(X, y, sw):
    Xd = da.from_array(X, chunks=(CHUNK, D), asarray=False)
    return Xd, da.from_array(y, chunks=CHUNK), da.from_array(sw, chunks=CHUNK)


ESTIMATORS = [
    ("regression", lambda s: NormalizedLinearRegression(solver=s, alpha=3.0)),
    ("regression", lambda s: NormalizedLinearRegression(solver=s)),
    ("binary", lambda s: NormalizedLogisticRegression(solver=s)),
    ("binary", lambda s: NormalizedLogisticRegression(solver=s, C=np.inf)),
    ("binary", lambda s: HalfspaceClassifier(solver=s, loss="sigmoid", C=1.0)),
    # on row chunks more classes are fit one-vs-rest ("auto" picks it)
    ("multiclass", lambda s: NormalizedLogisticRegression(
        solver=s, C=10.0, multi_class="ovr")),
]


def _fit_both(make, solver, task, kind, **fit):
    X, y, sw = _data(kind, task)
    Xd, yd, swd = _dask(X, y, sw)
    sw_copy = sw.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = make(solver).set_params(random_state=0, max_iter=150).fit(
            X, y, sample_weight=sw)
        b = make(solver).set_params(random_state=0, max_iter=150).fit(
            Xd, yd, sample_weight=swd if fit.get("dask_weights", True) else sw)
    assert np.array_equal(sw, sw_copy)
    return a, b, Xd, X


def _assert_same_fit(a, b):
    scale = np.max(np.abs(a.coef_))
    assert scale > 0
    np.testing.assert_allclose(b.coef_, a.coef_, rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(b.intercept_, a.intercept_, rtol=1e-10,
                               atol=1e-10 * scale)
    np.testing.assert_array_equal(b.n_iter_, a.n_iter_)
    assert b.n_features_in_ == a.n_features_in_


@pytest.mark.parametrize("kind", ["dense", "csr"])
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("case", range(len(ESTIMATORS)))
def test_chunked_fit_equals_in_memory_fit(case, solver, kind):
    task, make = ESTIMATORS[case]
    a, b, Xd, X = _fit_both(make, solver, task, kind)
    _assert_same_fit(a, b)
    if hasattr(a, "classes_"):
        np.testing.assert_array_equal(b.classes_, a.classes_)


@pytest.mark.parametrize("solver", SOLVERS)
def test_warm_start_and_no_intercept_on_chunks(solver):
    X, y, sw = _data("csr", "binary")
    Xd, yd, swd = _dask(X, y, sw)
    params = dict(solver=solver, random_state=0, warm_start=True,
                  fit_intercept=False, C=0.5)
    a = NormalizedLogisticRegression(**params, max_iter=3)
    b = NormalizedLogisticRegression(**params, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a.fit(X, y, sample_weight=sw)
        b.fit(Xd, yd, sample_weight=swd)
        # the second fit starts at the first one's coefficients
        a.set_params(max_iter=150).fit(X, y, sample_weight=sw)
        b.set_params(max_iter=150).fit(Xd, yd, sample_weight=swd)
    _assert_same_fit(a, b)
    assert np.all(b.intercept_ == 0.0)


def test_float32_chunks_fit_as_float32_arrays():
    from skbnorm._dask import chunked_fit_input

    X, y, sw = _data("dense", "regression")
    X = X.astype(np.float32)
    Xd, yd = da.from_array(X, chunks=(CHUNK, D)), da.from_array(y, chunks=CHUNK)
    est = NormalizedLinearRegression(random_state=0)
    chunks = chunked_fit_input(est, Xd, yd, None, y_numeric=True)[0]
    assert chunks.dtype == np.float32
    assert all(p.dtype == np.float32 for p in chunks.parts)  # not upcast
    a = NormalizedLinearRegression(random_state=0).fit(X, y)
    b = est.fit(Xd, yd)
    _assert_same_fit(a, b)


def test_wide_chunks_reach_the_same_optimum():
    # in memory a wide penalised fit takes the sample-space (Woodbury)
    # metric, whose n x n matrix X X^T is not formed from row chunks: the
    # chunks take the Hessian, another path to the same optimum
    rng = np.random.default_rng(3)
    X = rng.standard_normal((120, 300))
    y = (X[:, :5].sum(axis=1) + rng.standard_normal(120) > 0).astype(int)
    a = NormalizedLogisticRegression(random_state=0).fit(X, y)
    b = NormalizedLogisticRegression(random_state=0).fit(
        da.from_array(X, chunks=(50, 300)), da.from_array(y, chunks=50))
    fa, fb = a.loss_curve_[-1], b.loss_curve_[-1]
    assert abs(fa - fb) <= 2e-6 * abs(fa)
    np.testing.assert_array_equal(b.predict(X), a.predict(X))


def test_column_y_and_scalar_weights_as_in_memory():
    X, y, sw = _data("dense", "regression")
    Xd = da.from_array(X, chunks=(CHUNK, D))
    a = NormalizedLinearRegression(random_state=0).fit(X, y, sample_weight=2.0)
    with pytest.warns(DataConversionWarning):
        b = NormalizedLinearRegression(random_state=0).fit(
            Xd, y[:, None], sample_weight=2.0)
    _assert_same_fit(a, b)
    with pytest.warns(DataConversionWarning):
        c = NormalizedLinearRegression(random_state=0).fit(
            Xd, da.from_array(y[:, None], chunks=(CHUNK, 1)))
    _assert_same_fit(NormalizedLinearRegression(random_state=0).fit(X, y), c)
    with pytest.raises(ValueError, match="1D array or scalar"):
        NormalizedLinearRegression().fit(
            Xd, y, sample_weight=da.from_array(sw[:, None], chunks=(CHUNK, 1)))


def test_negative_targets_beyond_range_are_refused():
    X, y, sw = _data("dense", "regression")
    y = -np.abs(y)
    y[-3] = -1e300
    with pytest.raises(ValueError, match="magnitude about 1.0e\\+300"):
        NormalizedLinearRegression().fit(X, y)
    with pytest.raises(ValueError, match="magnitude about 1.0e\\+300"):
        NormalizedLinearRegression().fit(*_dask(X, y, sw)[:2])


def test_sparse_chunks_are_not_modified():
    X, y, sw = _data("csr", "binary")
    # duplicate entries: valid CSR that a fit must not canonicalise in place
    X = sp.csr_matrix((np.r_[X.data, 1.0, 2.0], np.r_[X.indices, 0, 0],
                       np.r_[X.indptr[:-1], X.indptr[-1] + 2]), shape=X.shape)
    Xd = da.from_array(X, chunks=(CHUNK, D), asarray=False).persist()
    # the persisted chunks themselves, as the fit's tasks receive them
    graph = dict(Xd.__dask_graph__())
    chunks = [graph[k] for (k,) in Xd.__dask_keys__()]
    assert all(sp.issparse(c) for c in chunks)
    before = [(c.data.copy(), c.indices.copy(), c.indptr.copy()) for c in chunks]
    b = NormalizedLogisticRegression(solver="gd", random_state=0).fit(
        Xd, da.from_array(y, chunks=CHUNK))
    a = NormalizedLogisticRegression(solver="gd", random_state=0).fit(X, y)
    _assert_same_fit(a, b)
    for c, old in zip(chunks, before, strict=True):
        assert all(np.array_equal(u, v) for u, v in zip(
            old, (c.data, c.indices, c.indptr), strict=True))


def test_in_memory_weights_with_dask_X():
    a, b, _, _ = _fit_both(ESTIMATORS[2][1], "agd", "binary", "dense",
                           dask_weights=False)
    _assert_same_fit(a, b)


def test_predictions_of_a_chunked_fit_are_dask_arrays():
    a, b, Xd, X = _fit_both(ESTIMATORS[2][1], "gd", "binary", "csr")
    for method in ("predict", "predict_proba", "decision_function"):
        out = getattr(b, method)(Xd)
        assert type(out).__module__.startswith("dask")
        np.testing.assert_allclose(out.compute() if method != "predict"
                                   else out.compute().astype(object),
                                   getattr(a, method)(X) if method != "predict"
                                   else getattr(a, method)(X).astype(object),
                                   rtol=1e-9, atol=1e-12) \
            if method != "predict" else np.testing.assert_array_equal(
                out.compute(), getattr(a, method)(X))


def test_only_constant_features_fit_the_intercept():
    X = np.full((40, 3), 5.0)
    y = np.arange(40.0)
    a = NormalizedLinearRegression(solver="gd").fit(X, y)
    b = NormalizedLinearRegression(solver="gd").fit(
        da.from_array(X, chunks=(15, 3)), da.from_array(y, chunks=15))
    assert np.all(b.coef_ == 0)
    assert b.intercept_ == pytest.approx(a.intercept_, rel=1e-12)


def test_a_chunk_of_zero_weights_is_allowed():
    X, y, sw = _data("dense", "binary")
    sw[:CHUNK] = 0.0
    Xd, yd, swd = _dask(X, y, sw)
    a = NormalizedLogisticRegression(solver="agd", random_state=0).fit(
        X, y, sample_weight=sw)
    b = NormalizedLogisticRegression(solver="agd", random_state=0).fit(
        Xd, yd, sample_weight=swd)
    _assert_same_fit(a, b)


def test_empty_chunks_are_skipped():
    X, y, sw = _data("dense", "regression")
    Xd = da.concatenate([da.from_array(X[:0], chunks=(1, D)),
                         da.from_array(X, chunks=(CHUNK, D))])
    yd = da.concatenate([da.from_array(y[:0], chunks=1),
                         da.from_array(y, chunks=CHUNK)])
    a = NormalizedLinearRegression(solver="gd", random_state=0).fit(X, y)
    b = NormalizedLinearRegression(solver="gd", random_state=0).fit(Xd, yd)
    _assert_same_fit(a, b)


@pytest.mark.parametrize("metric", ["diagonal", "S", "identity"])
def test_every_metric_of_the_subspace_step_fits_chunks(metric):
    def make(solver):
        return HalfspaceClassifier(solver=solver, loss="softplus", metric=metric)

    a, b, _, _ = _fit_both(make, "gdnp", "binary", "csr")
    _assert_same_fit(a, b)


@pytest.mark.parametrize("kind", ["dense", "csr"])
def test_a_deferred_metric_fits_chunks_as_in_memory(monkeypatch,
                                                     expensive_metric, kind):
    # "auto" on a shape whose Hessian costs many iterations starts along the
    # gradient
    from skbnorm.solvers import _subspace

    # each fit's first Hessian: the number of iterates before it
    first = []
    real_form = _subspace.SubspaceSolver._form_metric

    def form_metric(self):
        if self.n_metrics == 0:
            first.append(len(self.loss_curve))
        return real_form(self)

    monkeypatch.setattr(_subspace.SubspaceSolver, "_form_metric", form_metric)
    a, b, _, _ = _fit_both(lambda s: NormalizedLogisticRegression(solver=s),
                           "gdnp", "binary", kind)
    _assert_same_fit(a, b)
    assert a.suboptimality_[0] <= a.tol
    # deferred in both: no Hessian before two decreases, the same in both
    assert len(first) == 2 and first[0] == first[1] >= 3


def test_auto_fits_more_classes_one_vs_rest_on_chunks():
    X, y, sw = _data("dense", "multiclass")
    Xd, yd, swd = _dask(X, y, sw)
    b = NormalizedLogisticRegression(random_state=0).fit(Xd, yd)
    a = NormalizedLogisticRegression(random_state=0, multi_class="ovr").fit(X, y)
    assert b.multi_class_ == "ovr"
    _assert_same_fit(a, b)
    with pytest.raises(ValueError, match="multinomial.*dask"):
        NormalizedLogisticRegression(multi_class="multinomial").fit(Xd, yd)


@pytest.mark.parametrize("params", [{"solver": "bn"}, {"solver": "wn"},
                                    {"direction_step": "paper"}])
def test_solvers_without_a_chunked_backend_are_refused(params):
    X, y, sw = _data("dense", "binary")
    Xd, yd, _ = _dask(X, y, sw)
    with pytest.raises(ValueError, match="cannot fit a dask array yet.*'agd'"):
        NormalizedLogisticRegression(**params).fit(Xd, yd)


def test_bad_dask_input_is_named():
    X, y, sw = _data("dense", "regression")
    Xd, yd, _ = _dask(X, y, sw)
    est = NormalizedLinearRegression(solver="gd")
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        est.fit(Xd, yd[:-3])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        est.fit(Xd, y[:-3])
    with pytest.raises(ValueError, match="1d array"):
        est.fit(Xd, da.stack([yd, yd], axis=1))
    bad = X.copy()
    bad[N - 5, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.fit(da.from_array(bad, chunks=(CHUNK, D)), yd)
    with pytest.raises(ValueError, match="(?i)negative"):
        est.fit(Xd, yd, sample_weight=-da.ones(N, chunks=CHUNK))
    with pytest.raises(ValueError, match="at least one non-zero"):
        est.fit(Xd, yd, sample_weight=da.zeros(N, chunks=CHUNK))
    unknown = Xd[Xd[:, 0] > -np.inf]  # chunk sizes unknown to dask
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        est.fit(unknown, y)
    mixed = da.concatenate([
        da.from_array(sp.csr_matrix(X[:CHUNK]), chunks=(CHUNK, D), asarray=False),
        da.from_array(X[CHUNK:], chunks=(CHUNK, D))])
    with pytest.raises(ValueError, match="mixes dense and sparse"):
        est.fit(mixed, yd)
    with pytest.raises(ValueError, match="only one class"):
        NormalizedLogisticRegression(solver="gd").fit(Xd, da.ones(N, chunks=CHUNK))


# -- on a cluster ---------------------------------------------------------------

@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, env={"NUMBA_NUM_THREADS": "1"})
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.mark.parametrize("case, solver, kind", [
    (case, solver, kind) for case in (0, 2, 4) for solver in SOLVERS
    for kind in ("dense", "csr")] + [(5, "agd", "csr")])
def test_cluster_fit_equals_in_memory_fit(client, case, solver, kind):
    task, make = ESTIMATORS[case]
    a, b, Xd, X = _fit_both(make, solver, task, kind)
    _assert_same_fit(a, b)
    _wait_for_no_stores(client)


def test_on_a_cluster_the_chunks_stay_on_the_workers(client):
    from skbnorm._dask import chunked_fit_input
    from skbnorm.objectives._chunked import ActorExecutor, Slot

    X, y, sw = _data("csr", "binary")
    est = NormalizedLogisticRegression(solver="gd")
    chunks, yr, s, xbar, total = chunked_fit_input(est, *_dask(X, y, sw))
    assert isinstance(chunks.executor, ActorExecutor)
    # the driver holds names of parts only, each worker one store of chunks
    assert all(type(p) is Slot for p in chunks.parts + yr.parts + s.parts)
    # one store on each worker that holds chunks
    counts = client.run(_n_chunk_stores).values()
    assert sum(counts) == len(chunks.executor.actors) and max(counts) == 1
    assert total == pytest.approx(sw.sum(), rel=1e-14)
    np.testing.assert_allclose(xbar, X.T @ (sw / sw.sum()), rtol=1e-12)
    # a fit closes its stores when it ends, and they leave the workers
    chunks.close()
    _wait_for_no_stores(client)


def test_a_fit_that_fails_on_the_cluster_closes_its_stores(client):
    X, y, sw = _data("dense", "binary")
    # refused by the subspace solver, after the chunks are in their stores
    est = HalfspaceClassifier(loss="sigmoid", metric="identity")
    with pytest.raises(ValueError, match="convex loss"):
        est.fit(*_dask(X, y, sw)[:2])
    _wait_for_no_stores(client)


def _wait_for_no_stores(client):
    for _ in range(100):
        if not any(client.run(_n_chunk_stores).values()):
            return
        time.sleep(0.05)
    raise AssertionError(f"chunk stores left behind: {client.run(_n_chunk_stores)}")


def _n_chunk_stores(dask_worker):
    from skbnorm.objectives._chunked import ChunkStore

    return sum(isinstance(a, ChunkStore) for a in dask_worker.state.actors.values())


_LARGER_THAN_A_WORKER = r"""
import json, resource, sys, warnings
import dask, dask.array as da
from distributed import Client, LocalCluster, wait
from skbnorm import NormalizedLogisticRegression

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

if __name__ == "__main__":
    limit, n, d = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    # the chunks belong to the stores once validated (unmanaged memory for
    # dask): there is nothing to spill, and no pause is wanted. Half of X on
    # each worker, whatever their speed: root tasks are assigned when
    # submitted (no queuing) and never stolen. Queued and stolen, a worker
    # slowed by other processes left a fifth chunk (0.2 GB) to the other one,
    # which took it past the nanny's threshold (95% of its limit), and the
    # nanny restarted it (seen under a parallel test run).
    with dask.config.set({"distributed.worker.memory.target": False,
                          "distributed.worker.memory.spill": False,
                          "distributed.worker.memory.pause": False,
                          "distributed.scheduler.worker-saturation": float("inf"),
                          "distributed.scheduler.work-stealing": False}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None,
                               memory_limit=limit,
                               env={"NUMBA_NUM_THREADS": "1"})
        client = Client(cluster)
        before = peak_mb()
        addresses = sorted(client.scheduler_info()["workers"])
        # uniform features: four times faster to draw than Gaussian ones
        rng = da.random.default_rng(0)
        X = rng.uniform(-1.0, 1.0, (n, d), chunks=(n // 8, d))
        # y from X alone: a second array of random chunks would be a second
        # group of root tasks, placed by ties broken at random
        y = X[:, 0] - X[:, 1] + 0.5 * X[:, 2] > 0
        X, y = client.persist([X, y])
        wait([X, y])
        held = client.who_has(X)
        chunks = sorted(sum(1 for key in held if a in held[key])
                        for a in addresses)
        warnings.simplefilter("ignore")
        est = NormalizedLogisticRegression().fit(X, y)
        # a worker killed for its memory comes back at a new address
        workers = len(set(addresses) & set(client.scheduler_info()["workers"]))
        worker_peaks = sorted(client.run(peak_mb).values())
        print(json.dumps({"nbytes": X.nbytes, "before": before,
                          "worker_peaks": worker_peaks,
                          "after": peak_mb(), "workers": workers,
                          "chunks": chunks,
                          "n_iter": int(est.n_iter_[0]),
                          "coef": est.coef_[0, :2].tolist()}))
        client.close()
        cluster.close()
"""


def test_a_fit_on_data_larger_than_a_worker_keeps_them_off_the_driver(tmp_path):
    """X of 1.6 GB on two workers of 1.5 GB each: the fit completes, no worker
    is lost, and the driver's peak memory does not grow by a tenth of X.

    Each worker holds half of X (0.8 GB), the default solver's dozen per-row
    vectors (0.1 GB) and its own imports and compiled kernels (0.3 GB)."""
    import json
    import subprocess
    import sys

    pytest.importorskip("distributed")
    script = tmp_path / "larger_than_a_worker.py"
    script.write_text(_LARGER_THAN_A_WORKER)
    n, d = 2_000_000, 100
    limit = 1_500_000_000
    out = subprocess.run([sys.executable, str(script), str(limit), str(n), str(d)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["nbytes"] > limit
    assert res["chunks"] == [4, 4]
    assert res["workers"] == 2
    assert (res["after"] - res["before"]) * 2**20 < 0.1 * res["nbytes"]
    # the model of y = [x0 - x1 + x2 / 2 > 0]
    assert res["coef"][0] > 1.0 and res["coef"][1] < -1.0


def test_callbacks_see_every_iterate_of_a_chunked_fit():
    from ._callbacks import PredictingRecorder

    X, y, sw = _data("dense", "binary")
    Xd, yd, _ = _dask(X, y, sw)
    rec = PredictingRecorder(X, "iteration")
    est = NormalizedLogisticRegression(solver="agd", random_state=0, max_iter=400)
    est.set_callbacks(rec)
    est.fit(Xd, yd)
    assert rec.begun == rec.ended == est.n_iter_[0] + 1  # and the fit's task
    np.testing.assert_array_equal(rec.predictions[-1], est.predict(X))


def test_unknown_chunk_sizes_are_matched_chunk_by_chunk():
    # a filtered array (or a DataFrame's partitions) does not know its chunk
    # sizes: X's and y's chunks are paired one to one, checked on the workers
    X, y, sw = _data("dense", "binary")
    Xd, yd, _ = _dask(X, y, sw)
    keep = Xd[:, 1] > -0.5
    Xu, yu = Xd[keep], yd[keep]
    assert np.isnan(Xu.chunks[0][0])
    mask = X[:, 1] > -0.5
    a = NormalizedLogisticRegression(random_state=0).fit(X[mask], y[mask])
    b = NormalizedLogisticRegression(random_state=0).fit(Xu, yu)
    _assert_same_fit(a, b)
    other = da.from_array(y, chunks=300)[da.from_array(mask, chunks=300)]
    with pytest.raises(ValueError, match="3 row chunks and X 4"):
        NormalizedLogisticRegression().fit(Xu, other)
