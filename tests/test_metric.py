"""The curvature metrics of gdnp's subspace step and the stopping estimate."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LinearRegression, LogisticRegression

from skbnorm import NormalizedLinearRegression, NormalizedLogisticRegression
from skbnorm.objectives import Design
from skbnorm.solvers import Problem
from skbnorm.solvers._metric import (
    Factor,
    WoodburyFactor,
    hessian,
    newton_decrement,
)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_wide_metric_solves_as_the_dense_one(sparse, fit_intercept):
    rng = np.random.RandomState(0)
    n, d = 30, 70
    X = rng.standard_normal((n, d))
    X[X < -0.5] = 0.0
    s = rng.uniform(0.5, 2.0, n)
    s /= s.sum()
    xbar = s @ X if fit_intercept else np.zeros(d)
    p = Problem(Design(sp.csr_matrix(X) if sparse else X, xbar),
                np.sign(rng.standard_normal(n)), s, 1, 0.02, fit_intercept,
                1e-6)
    h = rng.uniform(0.0, 0.25, n) * s
    g = rng.standard_normal(d + fit_intercept)
    wide = WoodburyFactor(p, h).solve(g)
    dense = Factor(hessian(p, h)).solve(g)
    np.testing.assert_allclose(wide, dense, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("alpha", [0.01, 1e-30])
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_wide_metric_with_rows_without_curvature(fit_intercept, alpha):
    # saturated rows: l'' exactly 0 (underflow) or far below the others. The
    # wide solve without an intercept factors K + alpha D^{-1}, whose entries
    # for such rows are capped instead of infinite; it must still solve as
    # the dense metric, in which those rows have no weight
    rng = np.random.RandomState(3)
    n, d = 25, 60
    X = rng.standard_normal((n, d))
    s = np.full(n, 1.0 / n)
    xbar = s @ X if fit_intercept else np.zeros(d)
    p = Problem(Design(X, xbar), np.sign(rng.standard_normal(n)), s, 1, alpha,
                fit_intercept, 1e-6)
    h = rng.uniform(0.05, 0.25, n) * s
    h[:4] = 0.0
    h[4:7] = 1e-290
    h[7] = 1e-30
    h[8] = 5e-324  # the smallest subnormal: alpha / h overflows
    g = rng.standard_normal(d + fit_intercept)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no divide-by-zero or overflow
        factor = WoodburyFactor(p, h)
        wide = factor.solve(g)
    assert np.all(np.isfinite(factor.cho))
    assert np.all(np.isfinite(wide))
    if alpha < 1e-20:
        # alpha I + X^T D X is singular but for alpha: the dense factor
        # inverts it on its range only, the wide one in full (g's null-space
        # part over alpha), so the two are not compared; the factor forms
        # without a warning and solves to finite values
        return
    dense = Factor(hessian(p, h)).solve(g)
    np.testing.assert_allclose(wide, dense, rtol=1e-9,
                               atol=1e-12 * np.abs(dense).max())


def test_wide_metric_does_not_read_the_curvature_buffer_later():
    # the solver passes its own buffer of l'' and rewrites it at the next
    # iterate; a factor kept for later iterations must solve with the
    # curvature it was formed from
    rng = np.random.RandomState(6)
    n, d = 20, 45
    X = rng.standard_normal((n, d))
    s = np.full(n, 1.0 / n)
    p = Problem(Design(X, s @ X), np.sign(rng.standard_normal(n)), s, 1, 0.05,
                True, 1e-6)
    h = rng.uniform(0.01, 0.25, n) * s
    g = rng.standard_normal(d + 1)
    factor = WoodburyFactor(p, h)
    expected = Factor(hessian(p, h.copy())).solve(g)
    h[:] = rng.uniform(0.01, 0.25, n) * s
    np.testing.assert_allclose(factor.solve(g), expected, rtol=1e-9,
                               atol=1e-12)


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_wide_metric_refresh_reuses_the_replaced_array(fit_intercept):
    rng = np.random.RandomState(5)
    n, d = 20, 45
    X = rng.standard_normal((n, d))
    s = np.full(n, 1.0 / n)
    xbar = s @ X if fit_intercept else np.zeros(d)
    p = Problem(Design(X, xbar), np.sign(rng.standard_normal(n)), s, 1, 0.05,
                fit_intercept, 1e-6)
    h1, h2 = (rng.uniform(0.01, 0.25, n) * s for _ in range(2))
    g = rng.standard_normal(d + fit_intercept)
    first = WoodburyFactor(p, h1)
    buffer = first.buffer
    second = WoodburyFactor(p, h2, first)
    assert second.buffer is buffer and first.cho is None
    np.testing.assert_array_equal(second.solve(g),
                                  WoodburyFactor(p, h2).solve(g))


def test_singular_metric_is_inverted_on_its_range():
    rng = np.random.RandomState(1)
    A = rng.standard_normal((6, 3))
    M = A @ A.T  # rank 3
    g = M @ rng.standard_normal(6)  # in the range
    x = Factor(M).solve(g)
    np.testing.assert_allclose(M @ x, g, rtol=1e-10, atol=1e-12)
    # the minimum-norm solution: no component in the null space
    np.testing.assert_allclose(x, np.linalg.pinv(M) @ g, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("rank", [2, 4, 5])
def test_metric_of_badly_scaled_columns_keeps_their_directions(rank):
    # columns 1e-7 to 1e7 times the others: positive definite (rank 5) or
    # singular, the solve is M's minimum-norm solution in the units of the
    # columns. Unscaled, the pivot and eigenvalue cuts dropped the small
    # columns' directions as null
    rng = np.random.RandomState(rank)
    B = rng.standard_normal((40, rank)) @ rng.standard_normal((rank, 5))
    units = np.array([1e-7, 1.0, 1e7, 1e-3, 1.0])
    A = B * units
    M = A.T @ A
    # a right-hand side in the range, exact in the columns' units
    g = (B.T @ B @ rng.standard_normal(5)) * units
    # the uncentered diagonal is the reference (no intercept here)
    x = Factor(M, np.diag(M)).solve(g)
    # in scaled coordinates: M x = g, and x has no part in null(M) = null(A)
    ux = x * units
    np.testing.assert_allclose((M @ x) / units, g / units, rtol=1e-6,
                               atol=1e-8 * np.abs(g / units).max())
    null = np.linalg.svd(B)[2][rank:]
    if rank < 5:
        Q = np.linalg.qr((null / units).T)[0]
        assert np.linalg.norm(Q.T @ x) <= 1e-6 * np.linalg.norm(x)
    # the same solution as for unit columns, rescaled (scale invariance)
    ref = Factor(B.T @ B).solve(g / units)
    if rank == 5:
        np.testing.assert_allclose(ux, ref, rtol=1e-6)
    else:
        # min-norm in different units differs; the fitted values agree
        np.testing.assert_allclose(B @ ux, B @ ref, rtol=1e-6,
                                   atol=1e-9 * np.abs(B @ ref).max())


@pytest.mark.parametrize("units", [1e-7, 1e7, "one column"])
def test_fits_are_invariant_to_the_units_of_the_features(units):
    # all columns x 1e-7 or x 1e7, or one column x 1e7: the unpenalised fits
    # equal the fits in the original units (the package's metric is scaled
    # to the columns); they used to stop at coef_ = 0 claiming optimality
    from sklearn.datasets import make_classification, make_regression

    u = (np.array([1e7, 1, 1, 1, 1]) if units == "one column"
         else np.full(5, units))
    X, y = make_regression(200, 5, noise=1.0, random_state=0)
    ref = NormalizedLinearRegression().fit(X, y)
    # an offset of five standard deviations: the centering enters the scale
    got = NormalizedLinearRegression().fit((X + 5.0) * u, y)
    np.testing.assert_allclose(got.coef_ * u, ref.coef_, rtol=1e-7)
    assert got.suboptimality_ <= 1e-6
    Xc, yc = make_classification(200, 5, random_state=0)
    ref = NormalizedLogisticRegression(C=np.inf).fit(Xc, yc)
    got = NormalizedLogisticRegression(C=np.inf).fit(Xc * u, yc)
    # make_classification's redundant columns make S singular: compare the
    # margins, which the minimum-norm choice does not change
    np.testing.assert_allclose(got.decision_function(Xc * u),
                               ref.decision_function(Xc), rtol=1e-4,
                               atol=1e-4)
    assert got.score(Xc * u, yc) == ref.score(Xc, yc)
    # three classes: the multinomial's unpenalised Hessian is always singular
    Xm, ym = make_classification(300, 5, n_classes=3, n_informative=3,
                                 random_state=0)
    ref = NormalizedLogisticRegression(C=np.inf).fit(Xm, ym)
    got = NormalizedLogisticRegression(C=np.inf).fit(Xm * u, ym)
    np.testing.assert_allclose(got.predict_proba(Xm * u), ref.predict_proba(Xm),
                               rtol=1e-4, atol=1e-5)


def test_decrement_is_the_exact_suboptimality_of_least_squares():
    rng = np.random.RandomState(2)
    X = rng.standard_normal((80, 5)) + 1.0
    y = X @ rng.standard_normal(5) + rng.standard_normal(80)
    n = 80
    s = np.full(n, 1.0 / n)
    xbar = s @ X
    p = Problem(Design(X, xbar), y, s, 0, 0.0, True, 1e-6)
    w = rng.standard_normal(5)
    b = 0.3
    m = (X - xbar) @ w + b
    r = s * (m - y)
    G = (X - xbar).T @ r
    f = 0.5 * s @ (m - y) ** 2
    ref = LinearRegression().fit(X, y, sample_weight=s)
    f_star = 0.5 * s @ (ref.predict(X) - y) ** 2
    dec = newton_decrement(p, G, r.sum(), Factor(hessian(p, s)))
    np.testing.assert_allclose(dec, f - f_star, rtol=1e-10)


def test_wide_problems_fit_in_sample_space():
    rng = np.random.RandomState(3)
    X = rng.standard_normal((60, 150))
    y = np.where(X @ rng.standard_normal(150) > 0, 1, 0)
    for fit_intercept in (True, False):
        est = NormalizedLogisticRegression(C=0.5, fit_intercept=fit_intercept,
                                           tol=1e-15).fit(X, y)
        ref = LogisticRegression(C=0.5, fit_intercept=fit_intercept,
                                 solver="newton-cg", tol=1e-12,
                                 max_iter=1000).fit(X, y)
        np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-5, atol=1e-8)
        assert est.suboptimality_[0] <= 1e-15


def test_default_tol_bounds_the_suboptimality_of_the_fit():
    # the guarantee of tol at its default, against a tight reference
    rng = np.random.RandomState(4)
    for n, d in [(400, 8), (120, 300)]:
        X = rng.standard_normal((n, d)) * rng.uniform(0.2, 3.0, d)
        y = X @ rng.standard_normal(d) + rng.standard_normal(n)
        for Est, target, C in [(NormalizedLogisticRegression, y > 0, 1.0),
                               (NormalizedLinearRegression, y, 1.0)]:
            est = Est(C).fit(X, target) if Est is NormalizedLogisticRegression \
                else Est(alpha=C).fit(X, target)
            tight = Est(C, tol=1e-18) if Est is NormalizedLogisticRegression \
                else Est(alpha=C, tol=1e-18)
            tight.fit(X, target)
            f, f_star = est.loss_curve_[-1], tight.loss_curve_[-1]
            assert (f - f_star) / f_star <= 1e-6
