"""The certificate over every activation pattern and the working-set solve."""

import warnings

import numpy as np
import pytest
from scipy.optimize import minimize, nnls

from skbnorm import ConvexBNReLURegressor
from skbnorm.convex import (
    UncertifiedWarning,
    admm_group_lasso,
    bn_relu_value_and_grad,
    cell_values,
    enumerate_patterns,
    network_value,
    sample_patterns,
    whiten,
    working_set_solve,
)
from skbnorm.convex._certify import (
    CellValues,
    cone_free_bound,
    nnls_residual,
    residual,
    search_patterns,
)

from .test_convex import _cvxpy_optimum


def _problem(n, d, beta, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d)
    y = np.sin(2 * X[:, 0]) + X[:, 1] ** 2 if d > 1 else np.abs(X[:, 0])
    y = y + 0.1 * rng.randn(n)
    _, _, _, A = whiten(X)
    return X, y, A, beta / np.sqrt(n)


def test_nnls_residual_matches_scipy():
    rng = np.random.RandomState(0)
    for _ in range(300):
        k, n = rng.randint(1, 8), rng.randint(1, 50)
        M = rng.randn(k, n)
        b = rng.randn(k) * rng.choice([1e-3, 1.0, 1e3])
        ref = nnls(M, b)[1]
        assert abs(nnls_residual(M, b) - ref) <= 1e-10 * max(
            np.linalg.norm(b), 1e-300)
        # with a stopping level: a residual at most the level, or the optimum
        got = nnls_residual(M, b, 0.5 * np.linalg.norm(b))
        assert got <= 0.5 * np.linalg.norm(b) + 1e-12 or abs(got - ref) <= 1e-10


def test_cell_values_are_the_conic_maxima_above_lam():
    # v(D) = max_sigma min_{mu >= 0} ||A^T (sigma D e - S mu)||: checked
    # against scipy's NNLS on every cell; exact above lam, at most lam below
    _, y, A, lam = _problem(20, 2, 0.5)
    cells = enumerate_patterns(A)
    e = np.random.RandomState(1).randn(A.shape[0])
    values, _ = cell_values(A, cells, e, lam)
    for j in range(cells.shape[1]):
        d = cells[:, j]
        M = A.T * np.where(d, 1.0, -1.0)
        g = A.T @ (d * e)
        ref = max(nnls(M, g)[1], nnls(M, -g)[1])
        if ref > lam:
            assert abs(values[j] - ref) <= 1e-9 * ref
        else:
            assert values[j] <= lam * (1 + 1e-12)
    assert np.any(values > lam) and np.any(values <= lam)


def _exact_cell_values(A, cells, e):
    out = np.empty(cells.shape[1])
    for j in range(cells.shape[1]):
        d = cells[:, j]
        M = A.T * np.where(d, 1.0, -1.0)
        g = A.T @ (d * e)
        out[j] = max(nnls(M, g)[1], nnls(M, -g)[1])
    return out


def test_cell_values_cleared_by_the_residual_drift_stay_below_lam():
    # a cell satisfied at e' stays satisfied at e while its value there plus
    # ||e - e'|| is at most lam (v is 1-Lipschitz in e): the check skips its
    # least squares, and every value it returns is still an upper bound,
    # exact above lam
    _, y, A, lam = _problem(20, 2, 0.5)
    cells = enumerate_patterns(A)
    rng = np.random.RandomState(1)
    e1 = rng.randn(A.shape[0])
    e2 = e1 + 0.05 * lam * rng.randn(A.shape[0]) / np.sqrt(A.shape[0])
    checker = CellValues(A, cells)
    checker.check(e1, lam)
    values, n_exact = checker.check(e2, lam)
    hard = int(np.sum(cone_free_bound(A, cells, e2) > lam))
    assert 0 < n_exact < hard  # some cells were cleared without a solve
    ref = _exact_cell_values(A, cells, e2)
    assert np.all(values >= ref * (1 - 1e-12))
    above = ref > lam
    np.testing.assert_allclose(values[above], ref[above], rtol=1e-9)
    assert np.all(values[~above] <= lam * (1 + 1e-9))


@pytest.mark.parametrize("n,d,beta", [(15, 2, 0.1), (20, 2, 0.3)])
def test_working_set_solve_equals_the_full_enumeration_optimum(n, d, beta):
    _, y, A, lam = _problem(n, d, beta)
    cells = enumerate_patterns(A)
    start = sample_patterns(A, 6, np.random.RandomState(0))
    Z, W, info = working_set_solve(A, y, lam, start, cells=cells, tol=1e-4,
                                   max_iter=200000)
    assert info["certified"]
    assert W.shape[1] < cells.shape[1]
    ref = _cvxpy_optimum(A, cells, y, lam)
    obj = info["objective"]
    # the certificate brackets the optimum over all cells, within tol
    assert info["all_dual"] <= ref * (1 + 1e-7)
    assert ref <= obj * (1 + 1e-7)
    assert obj - info["all_dual"] <= 1e-4 * obj


def test_no_certificate_while_a_cell_is_violated():
    # two sampled patterns are far from enough: the optimum over them is
    # well above the optimum over all cells, the check finds violated cells,
    # and one round (no additions) does not claim a certificate
    _, y, A, lam = _problem(25, 2, 0.1)
    cells = enumerate_patterns(A)
    start = sample_patterns(A, 2, np.random.RandomState(0))
    Z, W, info = working_set_solve(A, y, lam, start, cells=cells, tol=1e-4,
                                   max_iter=100000, max_rounds=1)
    e = residual(A, W, Z, y)
    values, _ = cell_values(A, cells, e, lam)
    assert values.max() > 1.5 * lam
    assert not info["certified"]
    assert info["max_value"] == pytest.approx(values.max() / lam)
    # the working set's own gap is small, yet the bound over all cells
    # (scaled into feasibility) is far below the objective
    assert info["converged"] is False or info["gap"] <= 1e-4 * info["objective"]
    assert info["objective"] - info["all_dual"] > 1e-2 * info["objective"]
    # and the full solve does better than the two-pattern optimum
    _, _, full = working_set_solve(A, y, lam, start, cells=cells, tol=1e-4,
                                   max_iter=200000)
    assert full["certified"]
    assert full["objective"] < info["objective"] * (1 - 1e-2)


def test_search_finds_violated_patterns_without_enumeration():
    _, y, A, lam = _problem(40, 3, 0.1)
    start = sample_patterns(A, 8, np.random.RandomState(0))
    Z, info = admm_group_lasso(A, start, y, lam, tol=1e-4, max_iter=50000)
    e = residual(A, start, Z, y)
    starts = np.random.RandomState(1).randn(A.shape[1], 32)
    found, low = search_patterns(A, e, starts / np.linalg.norm(starts, axis=0))
    # every pattern found is a cell of the arrangement ...
    cells = {bytes(c) for c in np.packbits(enumerate_patterns(A), axis=0).T}
    assert all(bytes(c) in cells for c in np.packbits(found, axis=0).T)
    # ... its bound is below the exact dual-constraint value, and some
    # violate the dual constraint of the 8-pattern solution
    values, _ = cell_values(A, found, e, lam)
    exact = values > lam
    assert np.all(low[exact] <= values[exact] * (1 + 1e-12))
    assert np.all(low[~exact] <= lam * (1 + 1e-12))
    assert low.max() > lam
    _, W, res = working_set_solve(A, y, lam, start, tol=1e-4, max_iter=100000)
    assert not res["certified"] and np.isnan(res["all_dual"])
    assert W.shape[1] > start.shape[1]
    assert res["objective"] < info["objective"]


def test_default_fit_is_certified_when_the_arrangement_is_small():
    X, y, A, _ = _problem(40, 3, 0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reg = ConvexBNReLURegressor(beta=0.2, random_state=0).fit(X, y)
    assert reg.exhaustive_ and reg.certified_
    assert reg.n_rounds_ >= 2  # the 128 sampled patterns were not enough
    assert 0.0 <= reg.duality_gap_ <= 1e-3 * reg.objective_
    # against the program over the sampled patterns alone
    lam = 0.2 / np.sqrt(40)
    D = sample_patterns(A, 128, np.random.RandomState(0))
    Z, info = admm_group_lasso(A, D, y, lam, tol=1e-4, max_iter=100000)
    assert reg.objective_ < float(network_value(A, y, Z, lam)) * (1 - 1e-2)


def test_uncertified_fit_warns_and_says_so():
    X, y, _, _ = _problem(40, 3, 0.2)
    with pytest.warns(UncertifiedWarning, match="max_cells=0"):
        reg = ConvexBNReLURegressor(beta=0.2, max_cells=0,
                                    random_state=0).fit(X, y)
    assert not reg.exhaustive_ and not reg.certified_


def test_certified_optimum_is_below_every_lbfgs_start():
    # the peer: scipy's L-BFGS on the non-convex BN-ReLU network of the same
    # architecture (8 starts, 10 units each); the certified bound is below
    # all of them, and the certified objective matches or beats the best
    X, y, _, _ = _problem(30, 2, 0.1)
    beta = 0.1
    reg = ConvexBNReLURegressor(beta=beta, random_state=0).fit(X, y)
    assert reg.certified_
    lower = reg.objective_ - reg.duality_gap_
    d, m = X.shape[1], 10

    def unpack(p):
        W = p[:d * m].reshape(d, m)
        return W, p[d * m:d * m + m], p[d * m + m:d * m + 2 * m], p[-m:]

    def fun(p):
        W, g, a, v = unpack(p)
        f, (gW, gg, ga, gv) = bn_relu_value_and_grad(X, y, W, g, a, v, beta)
        return f, np.concatenate([gW.ravel(), gg, ga, gv])

    best = np.inf
    for seed in range(8):
        p0 = np.random.RandomState(seed).randn(d * m + 3 * m)
        res = minimize(fun, p0, jac=True, method="L-BFGS-B",
                       options={"maxiter": 3000})
        assert res.fun >= lower - 1e-9
        best = min(best, res.fun)
    assert reg.objective_ <= best * (1 + reg.tol)
