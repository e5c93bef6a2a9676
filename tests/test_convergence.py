"""Optimality and the papers' convergence claims.

* convex optima equal scikit-learn's LinearRegression / Ridge /
  LogisticRegression solutions;
* Kohler et al.'s Theorem 1 bound for gdnp on least squares, at every t;
* Theorem 2 in practice: gdnp's gradient norm on Gaussian softplus data falls
  linearly and far below gd's and agd's;
* the sigmoid on a9a: gdnp's loss after a fixed budget against gd and agd.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge

from skbnorm import (
    HalfspaceClassifier,
    NormalizedLinearRegression,
    NormalizedLogisticRegression,
)
from skbnorm.datasets import load_a9a, make_gaussian_halfspace, make_ols_problem
from skbnorm.objectives import LinearObjective

SOLVERS = ["gdnp", "gd", "agd", "bn", "wn"]
#: every solver, and gdnp with Kohler et al.'s step as well as the default
STEPS = [(solver, "subspace") for solver in SOLVERS] + [("gdnp", "paper")]


def _regression_data(seed=0):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((150, 6)) * [1, 2, 0.5, 1, 3, 1] + 2.0
    y = X @ rng.standard_normal(6) + rng.standard_normal(150) + 4.0
    sw = rng.uniform(0.2, 3.0, 150)
    return X, y, sw


# tol bounds the relative suboptimality; 1e-20 pins the coefficients down to
# about 1e-10 (as a gradient tolerance of 1e-10 did)
TIGHT = 1e-20


@pytest.mark.parametrize("solver,step", STEPS)
@pytest.mark.parametrize("sparse", [False, True])
def test_least_squares_matches_linear_regression(solver, step, sparse):
    X, y, sw = _regression_data()
    A = sp.csr_matrix(X) if sparse else X
    ref = LinearRegression().fit(X, y, sample_weight=sw)
    est = NormalizedLinearRegression(solver=solver, direction_step=step,
                                     tol=TIGHT, max_iter=20000,
                                     random_state=0).fit(A, y, sample_weight=sw)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-6)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-6)


@pytest.mark.parametrize("solver,step,alpha",
                         [(solver, step, 0.05) for solver, step in STEPS]
                         + [("gdnp", "subspace", 1e-3), ("gdnp", "subspace", 7.0)])
def test_alpha_is_ridges(solver, step, alpha):
    # sum sw_i r_i^2 + alpha |w|^2: Ridge's objective, with Ridge's alpha
    X, y, sw = _regression_data(1)
    ref = Ridge(alpha=alpha, tol=1e-12).fit(X, y, sample_weight=sw)
    est = NormalizedLinearRegression(alpha, solver=solver, direction_step=step,
                                     tol=TIGHT, max_iter=20000, random_state=0)
    est.fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-6)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-6)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-6)


def _logistic_data(seed=0):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((300, 5)) * [1, 2, 0.5, 1, 1.5] + 1.0
    y = np.where(X @ [1, -1, 2, 0.5, 0] + 2 * rng.standard_normal(300) > 1.0, 1, 0)
    return X, y


@pytest.mark.parametrize("solver,step", STEPS)
@pytest.mark.parametrize("C", [np.inf, 1.0 / 3.0])
def test_logistic_matches_sklearn(solver, step, C):
    X, y = _logistic_data()
    ref = LogisticRegression(C=C, tol=1e-12, max_iter=10000).fit(X, y)
    est = NormalizedLogisticRegression(C, solver=solver, direction_step=step,
                                       tol=1e-18, max_iter=50000,
                                       random_state=0).fit(X, y)
    alpha = 0.0 if np.isinf(C) else 1.0 / (C * X.shape[0])
    obj = LinearObjective("softplus", alpha=alpha)
    ypm = np.where(y == 1, 1.0, -1.0)
    f_ref = obj.loss(X, ypm, ref.coef_[0], ref.intercept_[0])
    f_est = obj.loss(X, ypm, est.coef_[0], est.intercept_[0])
    assert f_est - f_ref <= 1e-6 * f_ref
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-4)
    np.testing.assert_allclose(est.loss_curve_[-1], f_est, rtol=1e-12)


@pytest.mark.parametrize("C", [np.inf, 1.0 / 3.0])
def test_paper_step_stops_at_the_rounding_floor(C):
    # the scale search ends where its Newton step's predicted decrease is
    # below the rounding of f; it still takes that step, so the gradient in
    # the scale reaches the stopping test's rounding floor (ended without
    # it, the fit ran to max_iter at tol=1e-18)
    X, y = _logistic_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = NormalizedLogisticRegression(
            C, solver="gdnp", direction_step="paper", tol=1e-18,
            max_iter=5000, random_state=0).fit(X, y)
    assert est.n_iter_[0] < 500


def test_theorem1_bound_at_every_iteration():
    """Kohler et al. Theorem 1: f_t - f* <= (1 - mu/L)^(2t) (f_0 - f*)."""
    X, y = make_ols_problem(400, 8, condition_number=30.0, random_state=0)
    est = NormalizedLinearRegression(solver="gdnp", direction_step="paper",
                                     tol=1e-14, max_iter=500,
                                     random_state=1).fit(X, y)
    Xc = X - X.mean(0)
    S = Xc.T @ Xc / X.shape[0]
    ev = np.linalg.eigvalsh(S)
    mu, L = ev[0], ev[-1]
    np.testing.assert_allclose(est.lipschitz_, L, rtol=1e-10)
    f_star = LinearObjective("squared").loss(
        X, y, *(lambda r: (r.coef_, r.intercept_))(LinearRegression().fit(X, y)))
    gap = est.loss_curve_ - f_star
    t = np.arange(gap.size)
    bound = (1 - mu / L) ** (2 * t) * gap[0]
    # rounding: the objective is known to ~1e-15 relative
    assert np.all(gap <= bound + 1e-13 * f_star)
    assert est.n_iter_ > 5 and gap[-1] <= 1e-10 * gap[0]


def test_theorem2_in_practice_gaussian_softplus():
    """gdnp's gradient norm falls linearly and far below gd's and agd's.

    Theorem 2's rate depends on the conditioning of S only, not on the
    curvature of the loss at the optimum, which is what slows gd and agd
    (their step is set by sup phi'' = 1/4, the curvature there is E[phi'']).
    On an ill-conditioned S (condition number 50) agd is as fast as gdnp:
    see the user guide.
    """
    X, y = make_gaussian_halfspace(2000, 10, condition_number=2.0,
                                   separation=1.0, random_state=0)
    X = X - X.mean(0)
    curves = {}
    for solver in ["gdnp", "gd", "agd"]:
        est = NormalizedLogisticRegression(C=np.inf, solver=solver,
                                           direction_step="paper",
                                           fit_intercept=False, max_iter=40,
                                           tol=0.0, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
        assert est.n_iter_[0] == 40  # no stall, no separable-data cap
        curves[solver] = est.grad_norm_curve_
    g = curves["gdnp"]
    # a linear rate: log ||grad|| declines along a straight line
    slope, intercept = np.polyfit(np.arange(5, 31), np.log(g[5:31]), 1)
    assert slope < -0.2
    resid = np.log(g[5:31]) - (slope * np.arange(5, 31) + intercept)
    assert np.max(np.abs(resid)) < 1.0
    assert g[30] < 1e-3 * curves["gd"][30]
    assert g[30] < 5e-2 * curves["agd"][30]


@pytest.mark.needs_jit
def test_sigmoid_on_a9a_gdnp_no_worse_than_gd_and_agd():
    X, y = load_a9a()
    budget = 200
    final = {}
    for solver in ["gdnp", "gd", "agd"]:
        est = HalfspaceClassifier(loss="sigmoid", C=np.inf, solver=solver,
                                  direction_step="paper", max_iter=budget,
                                  random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
        assert np.all(np.isfinite(est.coef_))
        final[solver] = est.loss_curve_[-1]
    assert final["gdnp"] <= final["gd"]
    assert final["gdnp"] <= final["agd"]


@pytest.mark.parametrize("C", [1e-2, 0.3, 1.0, 50.0])
@pytest.mark.parametrize("sparse", [False, True])
def test_C_is_logistic_regressions_with_sample_weights(C, sparse):
    # C sum_i sw_i l_i + ||w||^2 / 2, the raw weights: LogisticRegression's
    X, y = _logistic_data(1)
    sw = np.random.RandomState(2).uniform(0.1, 4.0, len(y))
    ref = LogisticRegression(C=C, solver="newton-cholesky", tol=1e-14,
                             max_iter=1000).fit(X, y, sample_weight=sw)
    A = sp.csr_matrix(X) if sparse else X
    est = NormalizedLogisticRegression(C, tol=1e-18).fit(A, y, sample_weight=sw)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-6)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-6)
