"""Multinomial logistic regression: the softmax kernels, the full Hessian,
and the fit against scikit-learn's ``LogisticRegression``."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import logsumexp, softmax
from sklearn.datasets import load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from skbnorm import NormalizedLogisticRegression
from skbnorm.objectives import Design
from skbnorm.objectives._softmax import softmax_pass, softmax_subspace_eval
from skbnorm.solvers._base import Status
from skbnorm.solvers._multinomial import MultinomialProblem


def _data(seed=0, n=60, d=4, K=3):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, d))
    y = rng.randint(0, K, n)
    s = rng.uniform(0.5, 2.0, n)
    return X, y, s / s.sum(), rng


def test_softmax_pass_matches_numpy():
    X, y, s, rng = _data()
    Z = rng.standard_normal((60, 3)) * 30  # large margins: no overflow
    b = rng.standard_normal(3)
    P = np.empty((60, 3))
    f, ps = softmax_pass(Z, b, y, s, P)
    L = Z + b
    ref = s @ (logsumexp(L, axis=1) - L[np.arange(60), y])
    np.testing.assert_allclose(f, ref, rtol=1e-12)
    np.testing.assert_allclose(P, softmax(L, axis=1), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(ps, s @ P, rtol=1e-12)


def _subspace_objective(T, c, b, y, s):
    L = np.einsum("nqj,qj->nq", T, c) + b
    return s @ (logsumexp(L, axis=1) - L[np.arange(len(y)), y])


def test_softmax_subspace_derivatives_match_finite_differences():
    X, y, s, rng = _data(1)
    K, k = 3, 2
    T = rng.standard_normal((60, K, k))
    c = rng.standard_normal((K, k))
    b = rng.standard_normal(K)
    P = np.empty((60, K))
    f0, grad0, H = softmax_subspace_eval(T, c, b, y, s, P)
    m = K * (k + 1)
    np.testing.assert_allclose(f0, _subspace_objective(T, c, b, y, s),
                               rtol=1e-12)
    x0 = np.column_stack([c, b]).ravel()

    def f(x):
        v = x.reshape(K, k + 1)
        return _subspace_objective(T, v[:, :k], v[:, k], y, s)

    h = 1e-5
    grad = np.array([(f(x0 + h * e) - f(x0 - h * e)) / (2 * h)
                     for e in np.eye(m)])
    np.testing.assert_allclose(grad0, grad, rtol=1e-7, atol=1e-10)
    assert np.array_equal(H, H.T)

    def g(x):
        v = x.reshape(K, k + 1)
        return softmax_subspace_eval(T, v[:, :k].copy(), v[:, k].copy(), y, s,
                                     np.empty((60, K)))[1]

    Hfd = np.array([(g(x0 + h * e) - g(x0 - h * e)) / (2 * h)
                    for e in np.eye(m)])
    np.testing.assert_allclose(H, Hfd, rtol=1e-6, atol=1e-9)
    # the cached evaluation reads the softmax instead of computing it
    fc, gc, Hc = softmax_subspace_eval(T, c, b, y, s, P, cached=True)
    assert fc == 0.0
    np.testing.assert_allclose(gc, grad0, rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(Hc, H, rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_full_hessian_matches_numpy(sparse, fit_intercept):
    X, y, s, rng = _data(2, n=3000)
    X[X < 0] = 0.0
    xbar = s @ X if fit_intercept else np.zeros(4)
    p = MultinomialProblem(Design(sp.csr_matrix(X) if sparse else X, xbar), y,
                           3, s, 0.1, fit_intercept, 1e-6)
    P = softmax(rng.standard_normal((3000, 3)), axis=1)
    H = p.full_hessian(P)
    Xt = X - xbar
    if fit_intercept:
        Xt = np.column_stack([Xt, np.ones(3000)])
    m1 = Xt.shape[1]
    ref = np.zeros((3 * m1, 3 * m1))
    for i in range(3000):
        A = np.diag(P[i]) - np.outer(P[i], P[i])
        ref += s[i] * np.kron(A, np.outer(Xt[i], Xt[i]))
    for k in range(3):
        ref[np.arange(k * m1, k * m1 + 4), np.arange(k * m1, k * m1 + 4)] += 0.1
    if fit_intercept:
        null = np.zeros(3 * m1)
        null[4::m1] = 1 / np.sqrt(3)
        # the intercepts' common shift: given the mean curvature
        np.testing.assert_allclose(null @ H @ null, np.trace(ref) / len(ref),
                                   rtol=1e-10)
        ref += np.trace(ref) / len(ref) * np.outer(null, null)
    np.testing.assert_allclose(H, ref, rtol=1e-10, atol=1e-12)


def _reference(X, y, C, sw=None, **kw):
    # newton-cg: lbfgs stops at a gradient of 3e-6 here whatever its tol
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its line search at rounding level
        return LogisticRegression(C=C, solver="newton-cg", tol=1e-14,
                                  max_iter=10000, **kw).fit(X, y,
                                                            sample_weight=sw)


@pytest.mark.parametrize("C", [0.05, 1.0, 30.0])
@pytest.mark.parametrize("weighted", [False, True])
def test_C_is_logistic_regressions_multinomial(C, weighted):
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    sw = np.random.RandomState(0).uniform(0.2, 3.0, len(y)) if weighted else None
    ref = _reference(X, y, C, sw)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = NormalizedLogisticRegression(C, tol=1e-15).fit(X, y,
                                                             sample_weight=sw)
    assert est.multi_class_ == "multinomial"
    assert est.coef_.shape == (3, X.shape[1]) and est.n_iter_.shape == (1,)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-6, atol=1e-8)
    # the intercepts are determined up to a common shift
    np.testing.assert_allclose(est.intercept_ - est.intercept_.mean(),
                               ref.intercept_ - ref.intercept_.mean(),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(est.predict_proba(X), ref.predict_proba(X),
                               rtol=1e-6, atol=1e-10)
    # log_softmax keeps the digits that log(softmax) loses for small p
    np.testing.assert_allclose(est.predict_log_proba(X),
                               np.log(est.predict_proba(X)), rtol=1e-9,
                               atol=1e-15)


def test_sparse_dense_weights_and_repetition_agree():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    rep = np.random.RandomState(1).randint(0, 3, len(y))
    kw = dict(tol=1e-15)
    a = NormalizedLogisticRegression(**kw).fit(X, y, sample_weight=rep)
    b = NormalizedLogisticRegression(**kw).fit(np.repeat(X, rep, 0),
                                               np.repeat(y, rep))
    c = NormalizedLogisticRegression(**kw).fit(sp.csr_matrix(X), y,
                                               sample_weight=rep)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(a.coef_, c.coef_, rtol=1e-7, atol=1e-9)


def test_default_converges_without_warning_and_matches_sklearn_accuracy():
    for loader in (load_iris, load_wine):
        X, y = loader(return_X_y=True)
        X = StandardScaler().fit_transform(X)
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            est = NormalizedLogisticRegression().fit(X, y)
        assert est.suboptimality_[0] <= 1e-6
        ref = LogisticRegression().fit(X, y)
        assert est.score(X, y) >= ref.score(X, y) - 0.002


def test_unpenalised_multinomial_and_no_intercept():
    X, y, s, rng = _data(3, n=200)
    X = X + rng.standard_normal((200, 1)) * 0  # non-separable noise labels
    for kw in (dict(C=np.inf), dict(fit_intercept=False)):
        est = NormalizedLogisticRegression(tol=1e-15, **kw).fit(X, y)
        ref = _reference(X, y, kw.pop("C", 1.0), **kw)
        np.testing.assert_allclose(est.predict_proba(X), ref.predict_proba(X),
                                   rtol=1e-5, atol=1e-8)


def test_multinomial_needs_the_subspace_step():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="multinomial"):
        NormalizedLogisticRegression(multi_class="multinomial",
                                     solver="bn").fit(X, y)
    with pytest.raises(ValueError, match="multinomial"):
        NormalizedLogisticRegression(multi_class="multinomial",
                                     direction_step="paper").fit(X, y)
    est = NormalizedLogisticRegression(solver="agd", max_iter=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    assert est.multi_class_ == "ovr" and isinstance(est.loss_curve_, list)


# -- Newton-CG in the Kronecker metric (the default beyond tiny problems) --

def _solver_at(seed=4, n=400, d=6, K=4, alpha=0.05, fit_intercept=True,
               sparse=False):
    from skbnorm.solvers._base import SolverOptions
    from skbnorm.solvers._multinomial import MultinomialSolver

    X, y, s, rng = _data(seed, n=n, d=d, K=K)
    xbar = s @ X if fit_intercept else np.zeros(d)
    p = MultinomialProblem(Design(sp.csr_matrix(X) if sparse else X, xbar), y,
                           K, s, alpha, fit_intercept, 1e-6)
    solver = MultinomialSolver(p, SolverOptions())
    solver.start(0.3 * rng.standard_normal((K, d)),
                 rng.standard_normal(K) if fit_intercept else np.zeros(K), 0)
    solver.kind = "kron"  # whatever the cost rule picks at this size
    solver.evaluate()
    return solver, X - xbar, s, rng


def _kron_reference(solver, Xc, s):
    P = solver.P
    A = np.diag(s @ P) - (P * s[:, None]).T @ P
    S = Xc.T @ (s[:, None] * Xc)
    d = Xc.shape[1]
    return np.kron(A, S) + solver.problem.alpha * np.eye(A.shape[0] * d), A


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_kron_metric_solves_its_matrix(fit_intercept):
    from skbnorm.solvers._multinomial import KronMetric

    solver, Xc, s, rng = _solver_at(fit_intercept=fit_intercept)
    K, d = solver.W.shape
    M, A = _kron_reference(solver, Xc, s)
    kron = KronMetric(solver.problem, solver.P)
    G = rng.standard_normal((K, d))
    gb = rng.standard_normal(K)
    gb -= gb.mean()  # the gradient has no part along the common shift
    V, vb = kron.solve(G, gb)
    np.testing.assert_allclose(V.ravel(), np.linalg.solve(M, G.ravel()),
                               rtol=1e-9, atol=1e-12)
    if fit_intercept:
        np.testing.assert_allclose(vb, np.linalg.pinv(A) @ gb, rtol=1e-8,
                                   atol=1e-10)
    else:
        assert not vb.any()


@pytest.mark.parametrize("sparse", [False, True])
def test_hessian_product_and_newton_cg_decrement(sparse):
    from skbnorm.solvers._metric import Factor
    from skbnorm.solvers._multinomial import _stack

    solver, Xc, s, rng = _solver_at(sparse=sparse)
    p = solver.problem
    K, d = solver.W.shape
    H = p.full_hessian(solver.P)
    V = rng.standard_normal((K, d))
    vb = rng.standard_normal(K)
    vb -= vb.mean()  # off the null direction the matrix was given
    HV, hb, TV = solver._hessian_product(V, vb)
    ref = (H @ _stack(V, vb, True)).reshape(K, d + 1)
    np.testing.assert_allclose(HV, ref[:, :d], rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(hb, ref[:, d], rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(TV, Xc @ V.T, rtol=1e-10, atol=1e-13)
    # CG's decrement: a lower bound within its error estimate of Newton's
    g = _stack(solver.G, solver.gb, True)
    exact = 0.5 * g @ Factor(H).solve(g)
    dec, err = solver._newton_cg(0.0, 1e-6)
    assert dec <= exact * (1 + 1e-10)
    np.testing.assert_allclose(dec, exact, rtol=1e-5)
    X, TX, _ = solver.newton_dir
    np.testing.assert_allclose(TX, Xc @ X.T, rtol=1e-8, atol=1e-12)
    dec1, err1 = solver._newton_cg(0.0, 0.5)
    assert dec1 <= exact * (1 + 1e-10) and dec1 + 4 * err1 >= 0.5 * exact


def test_subspace_value_grams_and_columns_match_numpy():
    from skbnorm.objectives._softmax import (
        class_grams,
        combine,
        softmax_subspace_value,
        stack_columns,
    )

    X, y, s, rng = _data(5, n=5000, K=4)
    T = rng.standard_normal((5000, 4, 3))
    c = rng.standard_normal((4, 3))
    b = rng.standard_normal(4)
    P = np.empty((5000, 4))
    f = softmax_subspace_value(T, c, b, y, s, P)
    np.testing.assert_allclose(f, _subspace_objective(T, c, b, y, s),
                               rtol=1e-12)
    np.testing.assert_allclose(
        P, softmax(np.einsum("nqj,qj->nq", T, c) + b, axis=1), rtol=1e-12)
    np.testing.assert_allclose(class_grams(T, s),
                               np.einsum("nqa,n,nqb->qab", T, s, T),
                               rtol=1e-12)
    np.testing.assert_allclose(combine(T, c), np.einsum("nqj,qj->nq", T, c),
                               rtol=1e-12, atol=1e-14)
    A, B, C = (rng.standard_normal((5000, 4)) for _ in range(3))
    sc = rng.standard_normal((4, 3))
    ref = np.stack([A * sc[:, 0], B * sc[:, 1], C * sc[:, 2]], axis=2)
    assert np.array_equal(stack_columns(A, B, C, sc), ref)


def _many_coefficients(n=3000, d=60, K=4, seed=6):
    # K (d + 1) > 128 coefficients: the default takes Newton-CG
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, d))
    W = rng.standard_normal((K, d)) * 0.3
    y = np.argmax(X @ W.T + rng.gumbel(size=(n, K)), axis=1)
    return X, y


def test_newton_cg_default_matches_newton_and_logistic_regression():
    X, y = _many_coefficients()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        cg = NormalizedLogisticRegression().fit(X, y)
    newton = NormalizedLogisticRegression(metric="hessian").fit(X, y)
    assert cg.suboptimality_[0] <= 1e-6
    ref = _reference(X, y, 1.0)
    f_ref = _lr_objective(ref, X, y)
    for est in (cg, newton):
        assert (_lr_objective(est, X, y) - f_ref) / f_ref <= 1e-6
    np.testing.assert_allclose(cg.predict_proba(X), ref.predict_proba(X),
                               atol=2e-3)
    # tight tol: the same minimiser
    tight = NormalizedLogisticRegression(tol=1e-13).fit(X, y)
    np.testing.assert_allclose(tight.coef_, ref.coef_, rtol=1e-5, atol=1e-7)


def _lr_objective(est, X, y, C=1.0):
    L = X @ est.coef_.T + est.intercept_
    loss = logsumexp(L, axis=1) - L[np.arange(len(y)), y]
    return C * loss.sum() + 0.5 * np.sum(est.coef_ ** 2)


def test_newton_cg_fit_does_not_depend_on_thread_count():
    from skbnorm import _threads

    X, y = _many_coefficients(n=20000, d=40, K=5)
    fits = []
    try:
        for k in (1, 2):
            _threads.set_num_threads(k)
            fits.append(NormalizedLogisticRegression().fit(X, y))
    finally:
        _threads.set_num_threads(_threads._default_threads())
    assert np.array_equal(fits[0].coef_, fits[1].coef_)
    assert fits[0].n_iter_ == fits[1].n_iter_


def test_newton_cg_line_step_moves_margins_with_coefficients():
    # the line step moves W, b and the cached margins together: after it the
    # margins are X_c W^T, the softmax is that of the new point, and the
    # objective fell
    solver, Xc, s, _ = _solver_at(fit_intercept=True)
    f0, G, gb = solver.f, solver.G.copy(), solver.gb.copy()
    assert solver.newton_dir is not None
    V, _, vb = solver.newton_dir
    slope = -float(np.sum(G * V) + gb @ vb)
    assert slope < 0
    assert solver.step() == Status.RUNNING
    np.testing.assert_allclose(solver.Z, Xc @ solver.W.T, rtol=1e-10,
                               atol=1e-12)
    solver.evaluate()
    assert solver.f < f0
    L = solver.Z + solver.b
    P = np.exp(L - logsumexp(L, axis=1, keepdims=True))
    np.testing.assert_allclose(solver.P, P, rtol=1e-10, atol=1e-14)


def test_wide_sparse_multinomial_keeps_memory_linear_in_d():
    # above MAX_METRIC_FEATURES each class's metric is its Hessian diagonal:
    # K dense d x d blocks took 1.26 GB at d = 4000 (75 GB a class at
    # d = 100000); the fit still reaches LogisticRegression's optimum
    import tracemalloc

    from skbnorm.solvers._metric import MAX_METRIC_FEATURES

    rng = np.random.RandomState(0)
    n, d, nnz = 1500, MAX_METRIC_FEATURES + 500, 30000
    X = sp.csr_matrix((rng.rand(nnz), (rng.randint(0, n, nnz),
                                       rng.randint(0, d, nnz))), shape=(n, d))
    y = np.digitize(X @ rng.randn(d), [-1.0, 0.0, 1.0])
    # load the kernels first: their loading allocates on its own
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        NormalizedLogisticRegression(max_iter=1).fit(X, y)
    tracemalloc.start()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = NormalizedLogisticRegression().fit(X, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert est.multi_class_ == "multinomial"
    # 2 MB measured; one d x d block alone is 52 MB
    assert peak < 8 * d * d / 5
    ref = LogisticRegression(solver="lbfgs", tol=1e-12, max_iter=20000).fit(X, y)

    def objective(coef, intercept):
        Z = X @ coef.T + intercept
        return (logsumexp(Z, axis=1) - Z[np.arange(n), y]).sum() \
            + 0.5 * float(np.sum(coef * coef))

    f, f_ref = objective(est.coef_, est.intercept_), objective(ref.coef_,
                                                              ref.intercept_)
    assert f <= f_ref * (1 + 1e-6)
