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
from sklearn.exceptions import ConvergenceWarning

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
    with pytest.raises(ValueError, match="positive sum"):
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
    assert sorted(client.run(_n_chunk_stores).values()) == [1, 1]
    assert total == pytest.approx(sw.sum(), rel=1e-14)
    np.testing.assert_allclose(xbar, X.T @ (sw / sw.sum()), rtol=1e-12)
    # a fit closes its stores when it ends, and they leave the workers
    chunks.close()
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
