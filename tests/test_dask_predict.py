"""Predictions of every estimator on dask arrays: lazy, chunk by chunk,
equal to the in-memory predictions; dask stays optional."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_iris, make_classification, make_regression

from skbnorm import (
    ConvexBNReLUClassifier,
    ConvexBNReLURegressor,
    HalfspaceClassifier,
    NormalizedLinearRegression,
    NormalizedLogisticRegression,
    NormalizedMLPClassifier,
    NormalizedMLPRegressor,
)

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

CHUNK = 70


def _cases():
    X, y = make_classification(n_samples=300, n_features=8, random_state=0)
    Xi, yi = load_iris(return_X_y=True)
    Xr, yr = make_regression(n_samples=300, n_features=8, noise=1.0,
                             random_state=0)
    labels = np.array(["no", "yes"])[y]
    return [
        ("logistic binary", NormalizedLogisticRegression(), X, labels,
         ["decision_function", "predict", "predict_proba", "predict_log_proba"]),
        ("logistic multinomial", NormalizedLogisticRegression(), Xi, yi,
         ["decision_function", "predict", "predict_proba", "predict_log_proba"]),
        ("logistic ovr", NormalizedLogisticRegression(multi_class="ovr"), Xi, yi,
         ["decision_function", "predict", "predict_proba"]),
        ("halfspace", HalfspaceClassifier(), X, y,
         ["decision_function", "predict"]),
        ("regression", NormalizedLinearRegression(), Xr, yr, ["predict"]),
        ("mlp classifier", NormalizedMLPClassifier(hidden_layer_sizes=(8,),
                                                   max_iter=20, random_state=0),
         Xi, yi,
         ["decision_function", "predict", "predict_proba", "predict_log_proba"]),
        ("mlp regressor", NormalizedMLPRegressor(hidden_layer_sizes=(8,),
                                                 max_iter=20, random_state=0),
         Xr, yr, ["predict"]),
        ("convex classifier", ConvexBNReLUClassifier(max_cells=200,
                                                     n_patterns=16,
                                                     random_state=0),
         X[:80, :3], y[:80], ["decision_function", "predict"]),
        ("convex regressor", ConvexBNReLURegressor(max_cells=200, n_patterns=16,
                                                   random_state=0),
         Xr[:80, :3], yr[:80], ["predict"]),
    ]


CASES = _cases()


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("chunks", ["dense", "csr"])
def test_dask_predictions_are_lazy_and_equal_in_memory(case, chunks):
    _, est, X, y, methods = case
    with warnings.catch_warnings():
        # short fits: only their predictions matter here
        warnings.simplefilter("ignore")
        est.fit(X, y)
    dX = da.from_array(X, chunks=(CHUNK, X.shape[1]))
    local = X
    if chunks == "csr":
        dX = dX.map_blocks(sp.csr_matrix, dtype=X.dtype,
                           meta=sp.csr_matrix((0, 0)))
        local = sp.csr_matrix(X)
    for name in methods:
        out = getattr(est, name)(dX)
        assert isinstance(out, da.Array), name
        assert out.chunks[0] == dX.chunks[0], name
        expected = getattr(est, name)(local)
        assert out.shape == expected.shape and out.dtype == expected.dtype
        got = out.compute(scheduler="sync")
        if expected.dtype.kind in "OUi":
            assert_array_equal(got, expected)
        else:
            assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


def test_column_chunks_are_merged():
    X, y = make_classification(n_samples=200, n_features=9, random_state=1)
    est = NormalizedLogisticRegression().fit(X, y)
    dX = da.from_array(X, chunks=(50, 4))  # three column chunks
    out = est.predict_proba(dX)
    assert out.chunks == ((50, 50, 50, 50), (2,))
    assert_allclose(out.compute(scheduler="sync"), est.predict_proba(X),
                    rtol=1e-12)


def test_wrong_width_fails_before_anything_runs():
    X, y = make_classification(n_samples=100, n_features=6, random_state=0)
    est = NormalizedLogisticRegression().fit(X, y)
    dX = da.from_array(np.hstack([X, X]), chunks=(25, 12))
    with pytest.raises(ValueError, match="X has 12 features, but "
                       "NormalizedLogisticRegression is expecting 6"):
        est.predict(dX)
    with pytest.raises(ValueError, match="2-d dask array"):
        est.predict(da.from_array(X[:, 0], chunks=25))


def test_unfitted_estimator_raises_not_fitted():
    from sklearn.exceptions import NotFittedError

    dX = da.from_array(np.ones((10, 3)), chunks=(5, 3))
    with pytest.raises(NotFittedError):
        NormalizedLinearRegression().predict(dX)


def test_import_and_predict_without_dask():
    # dask is an optional extra: with its import blocked, skbnorm imports,
    # fits and predicts NumPy input as before
    code = (
        "import sys; sys.modules['dask'] = None; sys.modules['distributed'] = None\n"
        "import numpy as np\n"
        "from skbnorm import NormalizedLogisticRegression\n"
        "X = np.random.RandomState(0).randn(60, 3); y = (X[:, 0] > 0).astype(int)\n"
        "p = NormalizedLogisticRegression().fit(X, y).predict(X)\n"
        "loaded = {m.split('.')[0] for m in sys.modules if sys.modules[m]}\n"
        "assert 'dask' not in loaded\n"
        "print(int((p == y).mean() > 0.9))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1"


def test_empty_chunks_and_a_refit_before_compute():
    X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    est = NormalizedLogisticRegression().fit(X, y)
    dX = da.from_array(X, chunks=(50, 5))
    keep = da.from_array(np.arange(200) >= 100, chunks=50)
    # boolean indexing: chunks of unknown size, the first two of them empty
    masked = dX[keep]
    lazy = est.predict_proba(masked)
    expected = est.predict_proba(X[100:])
    est.fit(X[:, ::-1], y)  # the graph was built from the first model
    assert_allclose(lazy.compute(scheduler="sync"), expected, rtol=1e-12)
