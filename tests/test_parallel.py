"""Thread-parallel kernels: the blocked passes are exact and thread-count free.

The kernels split the rows into ``n_blocks(n, d, nnz)`` blocks (a function of
the shape alone), sum each block into its own partial result, and add the
partials in block order. These tests run the multi-block path (``n`` of a few
thousand rows) against NumPy, and fit every solver with one thread and with
two to check that the results are the same bit for bit.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from skbnorm import NormalizedLinearRegression, NormalizedLogisticRegression, _threads
from skbnorm._threads import MAX_BLOCKS, MIN_BLOCK_ROWS, n_blocks
from skbnorm.objectives import LOSS_CODES, Design, loss_value_derivs
from skbnorm.objectives._margins import margin_loss

SOLVERS = ["gd", "agd", "bn", "wn", "gdnp"]
N_ROWS = 5000  # ten blocks: the parallel path


def _data(sparse, n=N_ROWS, d=17, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, d))
    X[rng.rand(n, d) < 0.6] = 0.0
    Xs = sp.csr_matrix(X) if sparse else X
    return X, Xs, rng


def test_block_count_depends_on_the_shape_only():
    assert n_blocks(100, 10, 1000) == 1
    assert n_blocks(N_ROWS, 17, N_ROWS * 17) == N_ROWS // MIN_BLOCK_ROWS
    assert n_blocks(10**7, 10, 10**8) == MAX_BLOCKS
    # a wide, very sparse design: the serial reduction of n_blocks x d
    # partial sums must stay below an eighth of the pass over nnz entries
    assert n_blocks(10**6, 10**6, 2 * 10**7) == 2
    for n, d, nnz in [(5000, 17, 30000), (10**6, 10**5, 10**7), (700, 3, 2100)]:
        nb = n_blocks(n, d, nnz)
        assert 1 <= nb <= MAX_BLOCKS
        assert nb == 1 or nb * d * 8 <= nnz


@pytest.mark.parametrize("sparse", [False, True])
def test_blocked_kernels_match_numpy(sparse):
    X, Xs, rng = _data(sparse)
    n, d = X.shape
    assert n_blocks(n, d, n * d) > 1
    xbar = X.mean(axis=0)
    des = Design(Xs, xbar)
    Xc = X - xbar
    w = rng.standard_normal(d)
    a = rng.standard_normal(n)
    c = rng.standard_normal(n)
    out = np.empty(n)
    des.matvec(w, out)
    np.testing.assert_allclose(out, Xc @ w, rtol=1e-12, atol=1e-12)
    g = np.empty(d)
    des.rmatvec(a, g)
    np.testing.assert_allclose(g, Xc.T @ a, rtol=1e-12, atol=1e-10)
    g2 = np.empty(d)
    des.rmatvec2(a, c, g, g2)
    np.testing.assert_allclose(g, Xc.T @ a, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(g2, Xc.T @ c, rtol=1e-12, atol=1e-10)

    y = np.where(rng.rand(n) < 0.5, -1.0, 1.0)
    s = rng.uniform(0.5, 2.0, n)
    s /= s.sum()
    code = LOSS_CODES["softplus"]
    b = 0.3
    grad = np.empty(d)
    f, gb = des.value_grad(code, y, s, 0.2, w, b, grad)
    val, d1, _ = loss_value_derivs("softplus", Xc @ w + b, y)
    r_ref = s * d1
    np.testing.assert_allclose(f, s @ val + 0.1 * w @ w, rtol=1e-12)
    np.testing.assert_allclose(gb, r_ref.sum(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(grad, Xc.T @ r_ref + 0.2 * w, rtol=1e-10,
                               atol=1e-14)

    t = Xc @ w
    r = np.empty(n)
    f, sum_r, sum_rt = margin_loss(code, t, 1.5, b, y, s, r)
    val, d1, _ = loss_value_derivs("softplus", 1.5 * t + b, y)
    np.testing.assert_allclose(r, s * d1, rtol=1e-14)
    np.testing.assert_allclose([f, sum_r, sum_rt],
                               [s @ val, (s * d1).sum(), (s * d1) @ t],
                               rtol=1e-11, atol=1e-14)


    h = rng.uniform(0.0, 1.0, n)
    H = des.hessian(h, True)
    Xb = np.column_stack([Xc, np.ones(n)])
    np.testing.assert_allclose(H, Xb.T @ (h[:, None] * Xb), rtol=1e-12,
                               atol=1e-10)


def test_results_do_not_depend_on_the_thread_count():
    X, Xs, rng = _data(True)
    des = Design(Xs, X.mean(axis=0))
    a = rng.standard_normal(X.shape[0])
    h = rng.uniform(0.0, 1.0, X.shape[0])
    outs = []
    for k in (1, 2, 3):
        _threads.set_num_threads(k)
        try:
            outs.append((des.rmatvec(a, np.empty(X.shape[1])),
                         des.hessian(h, True)))
        finally:
            _threads.set_num_threads(_threads._default_threads())
    for other in outs[1:]:
        np.testing.assert_array_equal(other[0], outs[0][0])
        np.testing.assert_array_equal(other[1], outs[0][1])


def _fit_with_threads(est, X, y, n_threads):
    before = _threads.get_num_threads()
    _threads.set_num_threads(n_threads)
    try:
        return est.fit(X, y)
    finally:
        _threads.set_num_threads(before)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("solver", SOLVERS + ["gdnp-subspace-identity",
                                             "gdnp-subspace-auto",
                                             "gdnp-subspace-S"])
def test_fit_is_bit_identical_across_thread_counts(solver, sparse):
    X, Xs, rng = _data(sparse, d=9, seed=1)
    logit = X @ rng.standard_normal(X.shape[1])
    y = (logit + rng.standard_normal(X.shape[0]) > 0).astype(int)
    name, *variant = solver.split("-")
    step, metric = variant if variant else ("paper", "auto")
    fits = [
        _fit_with_threads(
            NormalizedLogisticRegression(C=np.inf, solver=name,
                                         direction_step=step, metric=metric,
                                         max_iter=40, tol=0.0,
                                         random_state=0), Xs, y, k)
        for k in (1, 2, 1)
    ]
    for other in fits[1:]:
        np.testing.assert_array_equal(other.coef_, fits[0].coef_)
        np.testing.assert_array_equal(other.intercept_, fits[0].intercept_)
        np.testing.assert_array_equal(other.loss_curve_, fits[0].loss_curve_)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["gdnp", "agd"])
def test_regression_fit_is_bit_identical_across_thread_counts(solver):
    X, Xs, rng = _data(False, d=9, seed=2)
    y = X @ rng.standard_normal(X.shape[1]) + rng.standard_normal(X.shape[0])
    one, two = (
        _fit_with_threads(
            NormalizedLinearRegression(solver=solver, max_iter=30, tol=0.0,
                                       random_state=0), X, y, k)
        for k in (1, 2)
    )
    np.testing.assert_array_equal(one.coef_, two.coef_)
    np.testing.assert_array_equal(one.loss_curve_, two.loss_curve_)


@pytest.mark.parametrize("sparse", [False, True])
def test_multinomial_fit_is_bit_identical_across_thread_counts(sparse):
    # the dense products go to BLAS, which the solver limits to one thread
    # whatever the caller set (a caller's two BLAS threads would probably
    # not change gemm's sums either); the rest runs in the package's blocks
    from threadpoolctl import threadpool_limits

    rng = np.random.RandomState(4)
    X = rng.standard_normal((6000, 40))
    y = np.argmax(X[:, :5] + 0.5 * rng.standard_normal((6000, 5)), axis=1)
    Xs = sp.csr_matrix(X) if sparse else X
    fits = []
    for k, blas in ((1, 1), (2, 2), (2, 1)):
        with threadpool_limits(limits=blas, user_api="blas"):
            fits.append(_fit_with_threads(
                NormalizedLogisticRegression(max_iter=8, tol=0.0), Xs, y, k))
    assert fits[0].multi_class_ == "multinomial"
    for other in fits[1:]:
        np.testing.assert_array_equal(other.coef_, fits[0].coef_)
        np.testing.assert_array_equal(other.loss_curve_, fits[0].loss_curve_)
