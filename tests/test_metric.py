"""The curvature metrics of gdnp's subspace step and the stopping estimate."""

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


def test_singular_metric_is_inverted_on_its_range():
    rng = np.random.RandomState(1)
    A = rng.standard_normal((6, 3))
    M = A @ A.T  # rank 3
    g = M @ rng.standard_normal(6)  # in the range
    x = Factor(M).solve(g)
    np.testing.assert_allclose(M @ x, g, rtol=1e-10, atol=1e-12)
    # the minimum-norm solution: no component in the null space
    np.testing.assert_allclose(x, np.linalg.pinv(M) @ g, rtol=1e-8, atol=1e-12)


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
