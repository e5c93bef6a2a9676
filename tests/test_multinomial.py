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
    out = softmax_subspace_eval(T, c, b, y, s, P)
    m = K * (k + 1)
    np.testing.assert_allclose(out[0], _subspace_objective(T, c, b, y, s),
                               rtol=1e-12)
    x0 = np.column_stack([c, b]).ravel()

    def f(x):
        v = x.reshape(K, k + 1)
        return _subspace_objective(T, v[:, :k], v[:, k], y, s)

    h = 1e-5
    grad = np.array([(f(x0 + h * e) - f(x0 - h * e)) / (2 * h)
                     for e in np.eye(m)])
    np.testing.assert_allclose(out[1:1 + m], grad, rtol=1e-7, atol=1e-10)
    H = np.zeros((m, m))
    H[np.triu_indices(m)] = out[1 + m:]
    H = H + np.triu(H, 1).T

    def g(x):
        v = x.reshape(K, k + 1)
        return softmax_subspace_eval(T, v[:, :k].copy(), v[:, k].copy(), y, s,
                                     np.empty((60, K)))[1:1 + m]

    Hfd = np.array([(g(x0 + h * e) - g(x0 - h * e)) / (2 * h)
                    for e in np.eye(m)])
    np.testing.assert_allclose(H, Hfd, rtol=1e-6, atol=1e-9)
    # the cached evaluation reads the softmax instead of computing it
    cached = softmax_subspace_eval(T, c, b, y, s, P, cached=True)
    np.testing.assert_allclose(cached[1:], out[1:], rtol=1e-13, atol=1e-16)


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
