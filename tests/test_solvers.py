"""Kernels and solvers against NumPy: design products, Lanczos, scale search,
and every solver against its reference twin (``_twins.py``)."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from skbnorm import (
    HalfspaceClassifier,
    NormalizedLinearRegression,
)
from skbnorm.objectives import Design
from skbnorm.solvers import Problem
from skbnorm.solvers._common import scale_search
from skbnorm.solvers._lanczos import lanczos_lmax

from ._twins import Twin


def _design_data(dtype=np.float64, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((40, 7))
    X[X < 0.3] = 0.0
    return X.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sparse", [False, True])
def test_forward_backward_match_numpy(dtype, sparse):
    X = _design_data(dtype)
    rng = np.random.RandomState(1)
    xbar = rng.standard_normal(7)
    w = rng.standard_normal(7)
    a = rng.standard_normal(40)
    c = rng.standard_normal(40)
    A = sp.csr_matrix(X) if sparse else X
    design = Design(A, xbar)
    Xc = X.astype(np.float64) - xbar
    t = np.empty(40)
    design.matvec(w, t)
    np.testing.assert_allclose(t, Xc @ w, rtol=1e-6 if dtype == np.float32 else 1e-12,
                               atol=1e-12)
    out = np.empty(7)
    design.rmatvec(a, out)
    np.testing.assert_allclose(out, Xc.T @ a, rtol=1e-10, atol=1e-12)
    oa, oc = np.empty(7), np.empty(7)
    design.rmatvec2(a, c, oa, oc)
    np.testing.assert_allclose(oa, Xc.T @ a, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(oc, Xc.T @ c, rtol=1e-10, atol=1e-12)


def test_sparse_design_is_neither_copied_nor_densified():
    X = sp.csr_matrix(_design_data())
    design = Design(X)
    assert design.sparse
    csr = design.X
    assert csr.data is X.data and csr.indices is X.indices
    assert csr.indptr is X.indptr


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("n", [40, 9000])
def test_hessian_matches_numpy(dtype, sparse, n):
    rng = np.random.RandomState(2)
    X = rng.standard_normal((n, 7))
    X[X < 0.3] = 0.0
    X = X.astype(dtype)
    xbar = rng.standard_normal(7)
    h = rng.uniform(0.0, 2.0, n)
    A = sp.csr_matrix(X) if sparse else X
    H = Design(A, xbar).hessian(h, True)
    Xc = np.column_stack([X.astype(np.float64) - xbar, np.ones(n)])
    np.testing.assert_allclose(H, Xc.T @ (h[:, None] * Xc), rtol=1e-9,
                               atol=1e-9 * n)
    assert np.array_equal(H, H.T)


@pytest.mark.parametrize("sparse", [False, True])
def test_lanczos_matches_eigvalsh(sparse):
    rng = np.random.RandomState(0)
    X = rng.standard_normal((200, 30)) @ np.diag(np.logspace(0, 2, 30))
    s = rng.uniform(0.1, 1.0, 200)
    s /= s.sum()
    xbar = s @ X
    Xc = X - xbar
    S = Xc.T @ (s[:, None] * Xc)
    A = sp.csr_matrix(X) if sparse else X
    lmax = lanczos_lmax(Design(A, xbar), s, 30)
    np.testing.assert_allclose(lmax, np.linalg.eigvalsh(S)[-1], rtol=1e-10)


@pytest.mark.parametrize("code,fit_b", [(0, True), (1, True), (1, False)])
def test_scale_search_finds_the_argmin(code, fit_b):
    rng = np.random.RandomState(0)
    t = rng.standard_normal(300)
    y = t * 2.0 + rng.standard_normal(300) if code == 0 else np.where(
        t + 0.7 * rng.standard_normal(300) > 0.2, 1.0, -1.0)
    s = np.full(300, 1 / 300)
    t -= s @ t
    inv = 1.0 / np.sqrt(s @ t**2)
    g, b, f, steps, edge = scale_search(code, t, inv, y, s, 0.0, 1.0, fit_b,
                                        1.0, 0.0, 50, 1.0, 1e-12, np.inf, 1e4)
    assert edge == 0 and steps < 20

    from scipy.optimize import minimize

    from skbnorm.objectives import loss_value_derivs

    name = ["squared", "softplus"][code]

    def obj(p):
        return s @ loss_value_derivs(name, p[0] * t * inv + (p[1] if fit_b else 0),
                                     y)[0]

    ref = minimize(obj, [1.0, 0.0], method="Nelder-Mead",
                   options={"xatol": 1e-12, "fatol": 1e-15, "maxiter": 20000})
    np.testing.assert_allclose(f, ref.fun, rtol=1e-10)
    assert f <= ref.fun + 1e-14
    np.testing.assert_allclose(g, ref.x[0], rtol=1e-5)


def _problem(kind, seed=0, n=80, d=5):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, d)) @ np.diag([1.0, 2.0, 0.5, 1.5, 1.0][:d]) + 0.3
    if kind == "squared":
        y = X @ rng.standard_normal(d) + 0.5 * rng.standard_normal(n) + 1.0
    else:
        y = np.where(X @ rng.standard_normal(d) + rng.standard_normal(n) > 0.5,
                     1.0, -1.0)
    return X, y


def _fit(loss, solver, X, y, n_steps, alpha=0.0, **kw):
    # n_steps updates: n_steps + 1 evaluated iterates; alpha is the penalty
    # on the mean loss (the twins' scaling), mapped to the estimators' own
    n = X.shape[0]
    if solver == "gdnp":
        kw.setdefault("direction_step", "paper")
    if loss == "squared":
        est = NormalizedLinearRegression(alpha=alpha * n, solver=solver,
                                         max_iter=n_steps + 1, tol=0.0,
                                         random_state=3, **kw)
    else:
        C = np.inf if alpha == 0 else 1.0 / (alpha * n)
        est = HalfspaceClassifier(loss=loss, C=C, solver=solver,
                                  max_iter=n_steps + 1, tol=0.0,
                                  random_state=3, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    return est, np.ravel(est.coef_)


TWIN_CASES = [
    (loss, solver, alpha)
    for loss in ["squared", "softplus", "sigmoid"]
    for solver in ["gd", "agd", "bn", "wn", "gdnp"]
    for alpha in [0.0, 0.1]
    if not (solver == "gdnp" and loss == "sigmoid")
]


@pytest.mark.parametrize("loss,solver,alpha", TWIN_CASES)
def test_solver_agrees_with_numpy_twin(loss, solver, alpha):
    X, y = _problem(loss)
    n_iter = 6
    # least squares: the estimator fits y in the power of two nearest the
    # RMS of y about its mean (here 4), and reports in y's units
    yc = y - y.mean()
    unit = 2.0 ** np.round(np.log2(np.sqrt(np.mean(yc * yc)))) \
        if loss == "squared" else 1.0
    twin = Twin(X, y / unit, loss, alpha=alpha)
    if solver in ("gd", "agd"):
        losses, wt, b = twin.gd(3, n_iter, accel=solver == "agd")
    elif solver in ("bn", "wn"):
        losses, wt, b = twin.bn(3, n_iter, weight_norm=solver == "wn")
    else:
        losses, wt, b = twin.gdnp(3, n_iter)
    losses, wt = np.asarray(losses) * unit ** 2, np.asarray(wt) * unit
    est, coef = _fit(loss, solver, X, y, n_iter, alpha=alpha)
    np.testing.assert_allclose(est.loss_curve_[:n_iter], losses, rtol=1e-9)
    if solver != "agd":
        # the estimator's final iterate is the one after n_iter updates (agd
        # returns its extrapolated point, which the twin does not form)
        np.testing.assert_allclose(coef, wt, rtol=1e-7, atol=1e-9)


def test_gdnp_sigmoid_twin_first_iterations_descend():
    # The sigmoid's scale search is a bounded trust region (see the solver's
    # docs); check its iterates keep decreasing the objective.
    X, y = _problem("sigmoid")
    est, _ = _fit("sigmoid", "gdnp", X, y, 30)
    assert np.all(np.diff(est.loss_curve_) <= 1e-12)


def test_problem_random_direction_in_range_of_S():
    X = np.random.RandomState(0).standard_normal((50, 4))
    X = np.column_stack([X, X[:, 0] + X[:, 1], np.ones(50)])  # rank 4 after centering
    s = np.full(50, 1 / 50)
    xbar = s @ X
    p = Problem(Design(X, xbar), np.zeros(50), s, 0, 0.0, True, 1e-6)
    w = p.random_direction(np.random.RandomState(0))
    Xc = X - xbar
    S = Xc.T @ (s[:, None] * Xc)
    evals, evecs = np.linalg.eigh(S)
    null = evecs[:, evals < 1e-10 * evals[-1]]
    assert null.shape[1] == 2
    np.testing.assert_allclose(null.T @ w, 0.0, atol=1e-10)
    np.testing.assert_allclose(w @ S @ w, 1.0)


def _unit_margins(n=400, seed=0):
    rng = np.random.RandomState(seed)
    s = np.full(n, 1.0 / n)
    t = rng.standard_normal(n)
    t -= s @ t
    t /= np.sqrt(s @ (t * t))
    y = np.where(t + 0.7 * rng.standard_normal(n) > 0, 1.0, -1.0)
    return t, y, s


def test_scale_search_ends_below_rounding_in_one_pass(monkeypatch):
    # started at its own minimum, the search's Newton step predicts a
    # decrease below the rounding of f: it takes it without a trial (the
    # backtracking halved such a step up to 30 times, a pass each)
    from skbnorm.objectives._losses import CURVATURE_BOUND, SOFTPLUS
    from skbnorm.solvers import _common

    t, y, s = _unit_margins()
    args = (SOFTPLUS, t, 1.0, y, s, 1e-3, 1.0, True)
    tail = (30, CURVATURE_BOUND[SOFTPLUS], 0.0, np.inf, np.inf)
    g, b, f, _, _ = scale_search(*args, 1.0, 0.0, *tail)
    calls = []
    real = _common.scale_eval
    monkeypatch.setattr(_common, "scale_eval",
                        lambda *a: calls.append(1) or real(*a))
    g2, b2, f2, steps, edge = scale_search(*args, g, b, *tail)
    assert len(calls) == 1 and edge == 0
    assert abs(g2 - g) <= 1e-6 * abs(g) and abs(f2 - f) <= 1e-14 * f


def test_scale_search_at_the_cap_reports_it():
    # a search that ends on g_cap says so (edge 2), also when its last step
    # is the one taken without a trial (sigmoid searches started on the cap)
    from skbnorm.objectives._losses import CURVATURE_BOUND, SIGMOID

    rng = np.random.RandomState(0)
    cap = 1e3
    for _ in range(300):
        t, y, s = _unit_margins(50, rng.randint(10**6))
        y = np.sign(t + rng.uniform(0, 1) * rng.standard_normal(t.size))
        alpha = rng.choice([0.0, 1e-3, 1.0])
        g, b, f, steps, edge = scale_search(
            SIGMOID, t, 1.0, y, s, alpha, 1.0, True, cap,
            rng.standard_normal(), 50, CURVATURE_BOUND[SIGMOID], 0.0, 1.2, cap)
        assert abs(g) <= cap
        assert (edge == 2) == (abs(g) >= cap * (1 - 1e-12))
