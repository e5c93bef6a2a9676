"""gdnp's Rayleigh--Ritz directional step (``direction_step="subspace"``).

``metric="identity"`` is the step along ``grad_w f`` (the subspace step of
earlier versions, checked against its NumPy twin); the default metric is the
Hessian (Newton's direction), checked in ``test_metric.py``.
"""

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
from skbnorm.objectives import LOSS_CODES, Design, loss_value_derivs
from skbnorm.solvers import Problem, SolverOptions, Status, make_solver

from ._twins import Twin
from .test_solvers import _problem


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


@pytest.mark.parametrize("alpha", [0.0, 0.1])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_subspace_step_agrees_with_numpy_twin_on_least_squares(alpha,
                                                              fit_intercept):
    # least squares: the subproblem is quadratic, one Newton step solves it
    X, y = _problem("squared")
    n_iter = 6
    twin = Twin(X, y, "squared", alpha=alpha, fit_intercept=fit_intercept)
    losses, wt, b = twin.gdnp_subspace(3, n_iter)
    est = _fit(NormalizedLinearRegression(
        solver="gdnp", direction_step="subspace", metric="identity",
        max_iter=n_iter + 1, tol=0.0, alpha=alpha * X.shape[0],
        fit_intercept=fit_intercept, random_state=3), X, y)
    np.testing.assert_allclose(est.loss_curve_[:n_iter], losses, rtol=1e-9)
    np.testing.assert_allclose(est.coef_, wt, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("alpha", [0.0, 0.1])
def test_subspace_step_nearly_minimises_over_the_subspace(alpha):
    # softplus: from each iterate, the exact minimum over the same subspace
    # (scipy) bounds what the kernel's truncated Newton solve reaches: it
    # must get all but 1% of the possible decrease
    X, y = _problem("softplus")
    twin = Twin(X, y, "softplus", alpha=alpha)
    n = X.shape[0]
    s = np.full(n, 1.0 / n)
    p = Problem(Design(X, twin.xbar), y, s, LOSS_CODES["softplus"], alpha, True,
                0.0)
    drv = make_solver("gdnp", p, SolverOptions(metric="identity"))
    drv.start(None, 0.0, np.random.RandomState(3))
    drv.evaluate()
    drv.step()
    for k in range(1, 12):
        w, g, b = drv.w.copy(), drv.g, drv.b
        f_before = drv.f
        nS = np.sqrt(w @ twin.S @ w)
        G, _ = twin.grad(g * w / nS, b)
        gw = g / nS * (G - (w @ G) / nS**2 * (twin.S @ w))
        cols = [w / nS, gw] + ([drv.p_dir.copy()] if drv.have_p else [])
        V = np.column_stack(cols)
        c0 = np.zeros(V.shape[1])
        c0[0] = g
        _, _, f_exact = twin.subspace_min(V, c0, b)
        drv.evaluate()
        # the recorded objective is the iterate's, before its step
        np.testing.assert_allclose(drv.loss_curve[k], f_before, rtol=1e-12)
        drv.step()
        f_after = drv.f
        # steps at the rounding level of f may leave it 1e-13 higher
        assert f_after <= f_before * (1 + 1e-13)
        assert f_after >= f_exact - 1e-12
        assert f_after - f_exact <= 1e-2 * (f_before - f_exact) + 1e-13


@pytest.mark.parametrize("shape", [(80, 5), (30, 60)])
def test_a_fresh_newton_direction_shares_the_subspace_with_the_gradient(shape):
    # with the Hessian formed at the iterate (tol=0 forms it at each step
    # here), the subspace is span{w~, Newton's direction, the gradient}: the
    # move lies in it and gets all but 1% of its possible decrease; a wide
    # design (30 x 60, the Hessian in sample space) solves the first step,
    # from w~ = 0, through. The previous move in place of the gradient moves
    # the iterate barely outside that span, so the third slot's margins are
    # checked to be the gradient's
    n, d = shape
    rng = np.random.RandomState(1)
    X = rng.standard_normal((n, d))
    y = np.where(X @ rng.standard_normal(d) + 0.5 * rng.standard_normal(n) > 0,
                 1.0, -1.0)
    alpha = 0.05
    twin = Twin(X, y, "softplus", alpha=alpha, fit_intercept=False)
    s = np.full(n, 1.0 / n)
    p = Problem(Design(X, twin.xbar), y, s, LOSS_CODES["softplus"], alpha,
                False, 0.0)
    drv = make_solver("gdnp", p, SolverOptions(metric="hessian"))
    assert drv.woodbury == (d > n)
    drv.start(None, 0.0, np.random.RandomState(0))
    for k in range(4):
        assert drv.evaluate() == Status.RUNNING
        nS = np.sqrt(drv.w @ twin.S @ drv.w)
        wt = drv.g * drv.w / nS if drv.g else np.zeros(d)
        G, _ = twin.grad(wt, 0.0)
        _, _, d2 = loss_value_derivs("softplus", X @ wt, y)
        H = X.T @ ((s * d2)[:, None] * X) + alpha * np.eye(d)
        cols = ([wt / drv.g] if drv.g else []) + [-np.linalg.solve(H, G), -G]
        V = np.column_stack(cols)
        c0 = np.zeros(V.shape[1])
        c0[0] = drv.g
        _, _, f_exact = twin.subspace_min(V, c0, 0.0)
        f_before = twin.f(wt, 0.0)
        assert drv.step() == Status.RUNNING
        # tol=0 formed the Hessian at this iterate: the gradient took the
        # third slot (T's column 2: its margins at unit S-norm)
        assert drv.factor_age == 0
        # (near the optimum G is a difference of nearly equal terms, whose
        # rounding differs between the twin and the kernels: compared as
        # vectors, to 1e-6 of their norm)
        tg = X @ -G
        tg /= np.sqrt(s @ tg**2)
        assert np.linalg.norm(drv.T[:, 2] - tg) <= 1e-6 * np.linalg.norm(tg)
        wt_new = drv.g * drv.w / np.sqrt(drv.w @ twin.S @ drv.w)
        move = wt_new - wt
        coef = np.linalg.lstsq(V, move, rcond=None)[0]
        assert np.linalg.norm(V @ coef - move) <= 1e-8 * np.linalg.norm(move)
        f_after = twin.f(wt_new, 0.0)
        assert f_after >= f_exact - 1e-12
        share = 1e-6 if (k == 0 and d > n) else 1e-2
        assert f_after - f_exact <= share * (f_before - f_exact) + 1e-13


@pytest.mark.parametrize("metric", ["identity", "auto"])
def test_subspace_step_beats_the_papers_step_on_a_quadratic(metric):
    # least squares without intercept, kappa = 36: the exact subspace step
    # gets the gradient down by 1e-8 in a few dozen iterations (in the
    # Hessian metric, S itself here, in two); Kohler et al.'s step (whose
    # linear rate Theorem 1 bounds) is far behind there
    rng = np.random.RandomState(0)
    d = 8
    X = rng.standard_normal((300, d)) @ np.diag(np.linspace(1.0, 6.0, d))
    y = X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(300)
    X -= X.mean(axis=0)
    kw = dict(solver="gdnp", fit_intercept=False, max_iter=40, tol=0.0,
              random_state=0)
    sub = _fit(NormalizedLinearRegression(direction_step="subspace",
                                          metric=metric, **kw), X, y)
    paper = _fit(NormalizedLinearRegression(direction_step="paper", **kw), X, y)
    g0 = sub.grad_norm_curve_[0]
    assert sub.grad_norm_curve_[-1] <= 1e-8 * g0
    assert paper.grad_norm_curve_[-1] >= 1e-4 * g0
    ref = np.linalg.lstsq(X, y, rcond=None)[0]
    np.testing.assert_allclose(sub.coef_, ref, rtol=1e-7)


def test_subspace_step_rejects_the_sigmoid_loss():
    X, y = _problem("sigmoid")
    with pytest.raises(ValueError, match="needs a convex loss"):
        HalfspaceClassifier(loss="sigmoid", solver="gdnp",
                            direction_step="subspace",
                            metric="identity").fit(X, y)
    # unused by the other solvers: no error
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        HalfspaceClassifier(loss="sigmoid", solver="agd", metric="identity",
                            max_iter=5).fit(X, y)
    with pytest.raises(ValueError, match="direction_step"):
        NormalizedLogisticRegression(direction_step="lobpcg").fit(X, y)


@pytest.mark.parametrize("metric", ["identity", "auto"])
def test_subspace_step_descends_and_converges_on_logistic_regression(metric):
    X, y = _problem("softplus")
    # tol bounds the relative suboptimality: 1e-22 pins the coefficients of
    # this ill-conditioned problem down to 1e-11
    est = NormalizedLogisticRegression(C=np.inf, solver="gdnp",
                                       direction_step="subspace", metric=metric,
                                       tol=1e-22, max_iter=500, random_state=0)
    est.fit(X, y)
    assert est.n_iter_[0] < 500
    assert np.all(np.diff(est.loss_curve_) <= 1e-13 * est.loss_curve_[1:])
    ref = NormalizedLogisticRegression(C=np.inf, solver="agd", tol=1e-22,
                                       max_iter=20000, random_state=0).fit(X, y)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("metric", ["identity", "auto"])
@pytest.mark.parametrize("tol,alpha", [(1e-6, 0.0), (1e-12, 0.0),
                                       (1e-12, 0.1)])
@pytest.mark.parametrize("loss", ["squared", "softplus"])
def test_subspace_step_converges_to_tight_tolerances(loss, tol, alpha, metric):
    # regression: with grad_w f at its raw size in the subspace, the Newton
    # solve's own gradient fell below its tolerance while the outer gradient
    # was still 8 times tol, and the fit stopped "stalled"
    rng = np.random.RandomState(0 if loss == "softplus" else 1)
    n, d = 200, 6
    X = rng.standard_normal((n, d)) * np.linspace(0.5, 3, d) + 0.7
    t = X @ rng.standard_normal(d) + rng.standard_normal(n)
    kw = dict(solver="gdnp", direction_step="subspace", metric=metric, tol=tol,
              max_iter=3000, random_state=0)
    if loss == "squared":
        est = NormalizedLinearRegression(alpha=alpha * n, **kw)
        y = t
    else:
        C = np.inf if alpha == 0 else 1.0 / (alpha * n)
        est = NormalizedLogisticRegression(C=C, **kw)
        y = np.where(t > 0.3, 1.0, -1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X, y)
    assert np.ravel(est.suboptimality_)[0] <= tol
    assert np.ravel(est.n_iter_)[0] <= 60


_POISON_SCRIPT = r"""
import sys
import warnings

import numpy as np
from sklearn.datasets import make_classification

from skbnorm import (HalfspaceClassifier, NormalizedLinearRegression,
                     NormalizedLogisticRegression)

X, y = make_classification(n_samples=300, n_features=8, random_state=0)


def fits():
    curves = []
    for cls in (NormalizedLogisticRegression, NormalizedLinearRegression,
                HalfspaceClassifier):
        for solver in ("gd", "agd", "bn", "wn", "gdnp"):
            steps = [("paper", "auto")]
            if solver == "gdnp":
                steps += [("subspace", m) for m in ("auto", "S", "diagonal")]
                if cls is not HalfspaceClassifier:
                    steps.append(("subspace", "identity"))
            for step, metric in steps:
                est = cls(solver=solver, direction_step=step, metric=metric,
                          max_iter=25, tol=0.0, random_state=0)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    est.fit(X, y)
                curves.append(est.loss_curve_)
    return curves


class Poisoned:
    # numpy, except that fresh allocations hold NaN, as garbage memory may
    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def empty(shape, dtype=float, **kw):
        out = np.empty(shape, dtype=dtype, **kw)
        if np.issubdtype(out.dtype, np.floating):
            out.fill(np.nan)
        return out


clean = fits()
for name, mod in list(sys.modules.items()):
    if name.startswith("skbnorm") and getattr(mod, "np", None) is np:
        mod.np = Poisoned()
poisoned = fits()
assert len(clean) == 9 + 9 + 8
for a, b in zip(clean, poisoned):
    np.testing.assert_array_equal(b, a)
print("OK")
"""


def test_no_kernel_reads_uninitialised_memory():
    # Regression: the Newton solve's trial coefficients were allocated
    # uninitialised, and with two directions (no previous move yet) the
    # unused third one entered the margins as garbage * 0, which is NaN
    # when the garbage is NaN or inf: a fit then stalled at random. Pure
    # Python (no JIT) lets the allocations be poisoned with NaN.
    import os
    import subprocess
    import sys

    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    proc = subprocess.run([sys.executable, "-c", _POISON_SCRIPT], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "OK" in proc.stdout


@pytest.mark.parametrize("stale", [False, True])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("metric", ["auto", "hessian", "S", "diagonal"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_tol_zero_forms_no_metric_after_the_last_iterate(metric, fit_intercept,
                                                         sparse, stale):
    # with tol=0 the stopping test needs no decrement: the metric is formed
    # when a step needs it. The iterates are those of a tol that is never
    # met (1e-300), with one metric fewer: none for the last iterate
    rng = np.random.RandomState(0)
    X = rng.randn(300, 8)
    y = np.where(X @ rng.randn(8) + 0.5 * rng.randn(300) > 0, 1.0, -1.0)
    s = np.full(300, 1.0 / 300)
    X[np.abs(X) < 0.8] = 0.0  # a third of the entries stored in CSR
    xbar = s @ X if fit_intercept else np.zeros(8)
    Xd = sp.csr_matrix(X) if sparse else np.ascontiguousarray(X)
    runs = {}
    for tol in (0.0, 1e-300):
        p = Problem(Design(Xd, xbar), y, s,
                    LOSS_CODES["softplus"], 1e-3, fit_intercept, tol)
        solver = make_solver("gdnp", p, SolverOptions(metric=metric))
        if stale:
            # a metric that costs many iterations: the refresh decisions
            # (the decrements' ratios, read after the move) decide
            solver.metric_cost = 4.0 * solver.step_cost
        solver.start(None, 0.0, np.random.RandomState(0))
        for k in range(6):
            assert solver.evaluate() == Status.RUNNING
            if k < 5:
                assert solver.step() == Status.RUNNING
        runs[tol] = (np.array(solver.loss_curve), solver.result(),
                     solver.n_metrics)
    curve0, (coef0, b0), m0 = runs[0.0]
    curve1, (coef1, b1), m1 = runs[1e-300]
    np.testing.assert_array_equal(curve0, curve1)
    np.testing.assert_array_equal(coef0, coef1)
    assert b0 == b1
    # "S" is formed once per fit, the diagonal at every iterate; the Hessian
    # at every iterate where a refresh always pays, else where it pays
    if metric == "S":
        assert (m0, m1) == (1, 1)
    elif metric == "diagonal" or not stale:
        assert (m0, m1) == (5, 6)
    else:
        # the same decisions, less the last iterate's (if it refreshed)
        assert m1 < 6 and m0 in (m1 - 1, m1)


def _deferred_problem(conditioned, sparse, tol):
    rng = np.random.RandomState(1)
    n, d = 2000, 20
    X = rng.randn(n, d)
    if not conditioned:
        X *= np.logspace(-2, 1, d)  # S's condition number 1e6
    y = np.where(X @ rng.randn(d) + rng.randn(n) > 0, 1.0, -1.0)
    if sparse:
        X[np.abs(X) < 0.3 * np.abs(X).max(axis=0)] = 0.0
    s = np.full(n, 1.0 / n)
    xbar = s @ X
    Xd = sp.csr_matrix(X) if sparse else X
    return Problem(Design(Xd, xbar), y, s, LOSS_CODES["softplus"], 1e-3, True,
                   tol)


def _run_to_status(solver, max_iter=200):
    solver.start(None, 0.0, np.random.RandomState(0))
    metrics = []
    for _ in range(max_iter):
        status = solver.evaluate()
        metrics.append(solver.n_metrics)
        if status != Status.RUNNING or solver.step() != Status.RUNNING:
            return status, metrics
    return Status.MAX_ITER, metrics


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("conditioned", [True, False])
def test_auto_defers_an_expensive_metric_until_it_pays(monkeypatch,
                                                       expensive_metric,
                                                       conditioned, sparse):
    # "auto" on a shape whose Hessian costs many iterations starts along
    # the gradient and forms the Hessian when the observed rate says so
    # (never before two decreases are measured); the stop is certified by a
    # decrement at the last iterate, and no stopping test formed a Hessian
    # of its own
    from skbnorm.solvers import _stopping

    estimates = []
    real_estimate = _stopping.StoppingRule.estimate

    def estimate(self, *args):
        estimates.append(1)
        return real_estimate(self, *args)

    monkeypatch.setattr(_stopping.StoppingRule, "estimate", estimate)
    tol = 1e-8
    p = _deferred_problem(conditioned, sparse, tol)
    solver = make_solver("gdnp", p, SolverOptions(metric="auto"))
    assert solver.deferred
    status, metrics = _run_to_status(solver)
    assert status == Status.CONVERGED
    assert metrics[:2] == [0, 0]
    assert not estimates
    assert 0.0 <= p.stopping.relative(solver.f) <= tol
    ref = make_solver("gdnp", _deferred_problem(conditioned, sparse, 1e-12),
                      SolverOptions(metric="hessian"))
    assert not ref.deferred
    assert _run_to_status(ref)[0] == Status.CONVERGED
    assert (solver.f - ref.f) / abs(ref.f) <= tol
    if conditioned:
        # the gradient converges fast: the only Hessian is the stop's
        assert solver.n_metrics == 1 and metrics[-2] == 0
    else:
        # S's condition number 1e6: the decreases stop shrinking, and the
        # Hessian becomes a step's metric, not only the stop's
        assert metrics.index(1) < len(metrics) - 1


def test_auto_defers_only_an_expensive_logistic_metric():
    # the model's costs decide; the sigmoid (its subproblem needs a
    # metric) and an explicit "hessian" never defer, nor does a warm start
    p = _deferred_problem(True, False, 1e-6)
    cheap = make_solver("gdnp", p, SolverOptions(metric="auto"))
    assert not cheap.deferred
    warm = make_solver("gdnp", p, SolverOptions(metric="auto"))
    warm.deferred = True  # as if the shape were expensive
    warm.start(np.full(p.n_features, 0.1), 0.0, np.random.RandomState(0))
    assert not warm.deferred
    rng = np.random.RandomState(0)
    n, d = 20000, 400
    X = rng.randn(n, d)
    y = np.where(X[:, 0] > 0, 1.0, -1.0)
    s = np.full(n, 1.0 / n)
    for loss, metric, deferred in [("softplus", "auto", True),
                                   ("softplus", "hessian", False),
                                   ("sigmoid", "auto", False)]:
        q = Problem(Design(X, np.zeros(d)), y, s, LOSS_CODES[loss], 1e-3,
                    False, 1e-6)
        solver = make_solver("gdnp", q, SolverOptions(metric=metric))
        assert solver.metric_cost > 10 * solver.step_cost
        assert solver.deferred == deferred


def test_auto_defers_no_quadratic_wide_or_diagonal_metric(expensive_metric):
    # the squared loss (one Newton step solves it), the wide (Woodbury) and
    # the diagonal metrics are never deferred, however costly
    rng = np.random.RandomState(0)
    for n, d, loss, deferred in [(300, 5, "softplus", True),
                                 (300, 5, "squared", False),
                                 (50, 80, "softplus", False),     # wide
                                 (30, 2100, "softplus", False)]:  # diagonal
        X = rng.randn(n, d)
        y = np.where(X[:, 0] > 0, 1.0, -1.0)
        q = Problem(Design(X, np.zeros(d)), y, np.full(n, 1.0 / n),
                    LOSS_CODES[loss], 1e-3, False, 1e-6)
        assert make_solver("gdnp", q,
                           SolverOptions(metric="auto")).deferred == deferred
