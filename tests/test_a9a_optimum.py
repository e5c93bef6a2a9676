"""Issue: the convex optimum on a9a, every solver, to 1e-6 relative.

The papers' setting is a9a centered, no intercept, no penalty (``C=np.inf``),
full batch. ``NormalizedLogisticRegression(fit_intercept=False)`` on the
dense centered array runs exactly the kernels that a
:class:`skbnorm.solvers.Problem` runs on the sparse array with its centering
kept implicit (``xbar``): the first test checks that the two give the same
iterates, the second then runs each solver to the optimum on the implicit
(sparse, five times cheaper) form. ``gdnp`` is Kohler et al.'s paper step
here and ``gdnp (subspace)`` the subspace step along ``grad_w f``
(``metric="identity"``); the default metric's count is tested last.

Reference optimum: scikit-learn's ``LogisticRegression(C=np.inf)``
(newton-cg, tol=1e-8) on the centered data, whose value agrees with a
Newton method on the minimum-norm solution to 1e-15:
``f* = 0.526341643356763`` (see the closing note of the issue).

Measured iterations to reach ``(f - f*)/f* <= 1e-6`` from the random start of
``random_state=0`` (the iterate index in ``loss_curve_``):

=======================  ==========
solver                   iterations
=======================  ==========
gdnp (default step)               4
agd                             375
gdnp                           5765
gdnp (subspace, grad)            96
gd                             9532
bn                             8764
wn                            17704
=======================  ==========

The last test is the raw-a9a criterion: with an intercept, no scaling, the
logistic loss has no minimiser (87 rows separable in the limit), and its
infimum 0.322620707902194 is approached only as ``||coef|| -> inf``.
gdnp's Rayleigh--Ritz step (``direction_step="subspace"``) gets within 1e-6
of it at iteration 675; the paper's step needs about 4.5e5 iterations there
(``benchmarks/a9a_raw_intercept.py``).
"""

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from skbnorm import NormalizedLogisticRegression
from skbnorm.datasets import load_a9a
from skbnorm.objectives import LOSS_CODES, Design, LinearObjective
from skbnorm.solvers import Problem, SolverOptions, make_solver

pytestmark = pytest.mark.needs_jit

ITERATIONS = {"agd": 375, "gdnp": 5765, "gd": 9532, "bn": 8764, "wn": 17704}


@pytest.fixture(scope="module")
def a9a():
    X, y = load_a9a()
    s = np.full(X.shape[0], 1.0 / X.shape[0])
    xbar = np.asarray(X.T @ s).ravel()
    return X, y, s, xbar


@pytest.fixture(scope="module")
def f_star(a9a):
    X, y, s, xbar = a9a
    Xc = X.toarray() - xbar
    ref = LogisticRegression(C=np.inf, fit_intercept=False, solver="newton-cg",
                             tol=1e-8, max_iter=100).fit(Xc, y)
    return LinearObjective("softplus").loss(Xc, y, ref.coef_[0])


def _run_implicit(a9a, solver, n_iter, direction_step="paper",
                  metric="identity"):
    X, y, s, xbar = a9a
    p = Problem(Design(X, xbar), y, s, LOSS_CODES["softplus"], 0.0, False, 0.0)
    drv = make_solver(solver, p, SolverOptions(direction_step=direction_step,
                                               metric=metric))
    drv.start(None, 0.0, np.random.RandomState(0))
    for k in range(n_iter):
        drv.evaluate()
        if k < n_iter - 1:
            drv.step()
    return np.array(drv.loss_curve)


@pytest.mark.parametrize("solver", ["gdnp", "gd", "agd", "bn", "wn"])
def test_estimator_on_dense_centered_equals_implicit_centering(a9a, solver):
    X, y, s, xbar = a9a
    Xc = X.toarray() - xbar
    n_iter = 15
    est = NormalizedLogisticRegression(C=np.inf, solver=solver,
                                       direction_step="paper",
                                       fit_intercept=False, max_iter=n_iter,
                                       tol=0.0, random_state=0)
    with pytest.warns(Warning):
        est.fit(Xc, y)
    implicit = _run_implicit(a9a, solver, n_iter)
    np.testing.assert_allclose(est.loss_curve_, implicit, rtol=1e-10)


@pytest.mark.parametrize("solver", ["agd", "gdnp", "gd", "bn", "wn"])
def test_every_solver_reaches_the_logistic_optimum(a9a, f_star, solver):
    n_iter = ITERATIONS[solver]
    curve = _run_implicit(a9a, solver, n_iter + 1)
    rel = (curve - f_star) / f_star
    assert rel[n_iter] <= 1e-6
    # the documented count is the first iterate that gets there
    assert rel[n_iter - 1] > 1e-6


SUBSPACE_ITERATIONS = 96
RAW_INTERCEPT_ITERATIONS = 675
F_INF_RAW = 0.322620707902194


def test_gdnp_subspace_step_reaches_the_logistic_optimum(a9a, f_star):
    n_iter = SUBSPACE_ITERATIONS
    curve = _run_implicit(a9a, "gdnp", n_iter + 1, direction_step="subspace")
    rel = (curve - f_star) / f_star
    assert rel[n_iter] <= 1e-6
    assert rel[n_iter - 1] > 1e-6


def test_gdnp_reaches_the_raw_a9a_infimum_with_an_intercept(a9a):
    X, y, _, _ = a9a
    n_iter = RAW_INTERCEPT_ITERATIONS
    est = NormalizedLogisticRegression(C=np.inf, solver="gdnp",
                                       direction_step="subspace",
                                       metric="identity", max_iter=n_iter + 1,
                                       tol=0.0, random_state=0)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        est.fit(X, y)
    rel = (est.loss_curve_ - F_INF_RAW) / F_INF_RAW
    assert rel[n_iter] <= 1e-6
    assert rel[n_iter - 1] > 1e-6
    assert np.all(rel > 0)  # an infimum: never reached
    # the recorded objective is the fitted model's
    f = LinearObjective("softplus").loss(X, y, est.coef_[0], est.intercept_[0])
    np.testing.assert_allclose(f, est.loss_curve_[-1], rtol=1e-12)


# 3 when a Hessian was formed at every iterate (the cost model before
# benchmarks/bench_cost_model.py measured it); the stale metric of one
# iterate takes one more, in about 40% less time
DEFAULT_ITERATIONS = 4


def test_default_step_reaches_the_logistic_optimum(a9a, f_star):
    # the default subspace step: Newton's direction in the Hessian metric,
    # from coef = 0 (where the Hessian is the S metric)
    n_iter = DEFAULT_ITERATIONS
    curve = _run_implicit(a9a, "gdnp", n_iter + 1, direction_step="subspace",
                          metric="auto")
    rel = (curve - f_star) / f_star
    assert rel[n_iter] <= 1e-6
    assert rel[n_iter - 1] > 1e-6
