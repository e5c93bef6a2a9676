"""Convex BN-ReLU networks (Ergen et al. 2022): the program, its solver, the
network recovered from it, the closed form and global optimality."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from skbnorm import ConvexBNReLUClassifier, ConvexBNReLURegressor
from skbnorm.convex import (
    UncertifiedWarning,
    admm_group_lasso,
    bn_relu_forward,
    bn_relu_objective,
    bn_relu_value_and_grad,
    closed_form,
    enumerate_patterns,
    max_patterns,
    network_value,
    recover_network,
    sample_patterns,
    whiten,
)
from skbnorm.convex._network import train_bn_relu_gd

from ._callbacks import PredictingRecorder


def _regression(n, d, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d)
    y = np.sin(2 * X[:, 0]) + X[:, 1] ** 2 if d > 1 else np.abs(X[:, 0])
    return X, y


# -- activation patterns ----------------------------------------------------

@pytest.mark.parametrize("n,k", [(5, 2), (10, 3), (20, 3), (12, 4), (8, 8)])
def test_enumeration_counts_the_cells_of_a_generic_arrangement(n, k):
    A = np.random.RandomState(n + k).randn(n, k)
    D = enumerate_patterns(A)
    # Cover/Zaslavsky count, less the all-off pattern when it is a cell
    # (it is one exactly when the n normals lie in an open half-space)
    all_off = np.any(np.all(A @ np.random.RandomState(0).randn(k, 20000) < 0,
                            axis=0))
    assert D.shape[1] == max_patterns(n, k) - int(all_off)
    assert len({c.tobytes() for c in D.T}) == D.shape[1]


@pytest.mark.parametrize("seed", range(3))
def test_sampled_patterns_are_enumerated_patterns_on_degenerate_data(seed):
    # integer features with a bias column: many hyperplanes through common
    # lines, duplicate rows; sampling finds (almost) every cell here, and
    # every sampled pattern must be among the enumerated ones
    rng = np.random.RandomState(seed)
    A = np.c_[rng.randint(0, 3, (25, 3)).astype(float), np.ones(25)]
    D = {c.tobytes() for c in enumerate_patterns(A).T}
    S = {c.tobytes() for c in sample_patterns(A, 200000, rng).T}
    assert S <= D
    assert len(S) >= 0.97 * len(D)


def _degenerate_arrangements():
    rng = np.random.RandomState(7)
    zeros = rng.randn(20, 4)
    zeros[::5] = 0.0
    binary = np.zeros((24, 4))
    binary[np.arange(24), np.arange(24) % 4] = 1.0
    binary += rng.randint(0, 2, (24, 4))
    return {
        "gaussian": rng.randn(30, 4),
        "integer": rng.randint(-2, 3, (30, 4)).astype(float),
        "duplicate rows": np.repeat(rng.randn(10, 3), 3, axis=0),
        "zero rows": zeros,
        "rank 2 in R^4": rng.randn(20, 2) @ rng.randn(2, 4),
        "binary with bias": np.c_[binary, np.ones(24)],
        "one dimension": rng.randn(15, 1),
    }


@pytest.mark.parametrize("name", sorted(_degenerate_arrangements()))
def test_compiled_enumeration_equals_its_numpy_twin(name):
    # the compiled deletion-restriction (hash table of sign vectors) finds
    # exactly the cells of the NumPy one, degenerate arrangements included
    from skbnorm.convex._arrangements import cells_reference

    A = _degenerate_arrangements()[name]
    P = cells_reference(A)
    ref = (A @ P.T) >= 0.0
    ref = {c.tobytes() for c in ref[:, ref.any(axis=0)].T}
    D = enumerate_patterns(A)
    got = [c.tobytes() for c in D.T]
    assert len(set(got)) == len(got)  # no cell twice
    assert set(got) == ref


def test_enumeration_of_nearly_parallel_hyperplanes_lists_each_cell_once():
    # hyperplanes about 1e-9 apart in angle (near-duplicate samples) are told
    # apart at one level of the recursion and merged at the next; the points
    # of one cell must still give one pattern, and no cell the NumPy twin
    # finds may be missing (each pattern is that of a point: all realisable)
    from skbnorm.convex._arrangements import cells_reference

    def twin(A):
        P = cells_reference(A)
        R = (A @ P.T) >= 0.0
        return {c.tobytes() for c in R[:, R.any(axis=0)].T}

    cases = [np.array([[-0.7903533541339014, -1.664118503219136],
                       [0.8673779912124009, -1.4556934063734805],
                       [0.8673779912386845, -1.4556934019087704],
                       [0.8673779929888279, -1.4556934054660289]])]
    rng = np.random.RandomState(0)
    for rel in (1e-8, 1e-9):
        for _ in range(4):
            base = rng.randn(12, 2)
            X = np.vstack([base] + [base[:6] + rel * rng.randn(6, 2)
                                    for _ in range(2)])
            cases.append(whiten(X)[3])
    for A in cases:
        D = enumerate_patterns(A)
        got = [c.tobytes() for c in D.T]
        assert len(set(got)) == len(got)
        assert twin(A) <= set(got)


# -- whitening and the network map --------------------------------------------

def test_whitened_coordinates_reproduce_the_bn_layer():
    rng = np.random.RandomState(1)
    X = rng.randn(30, 5) @ rng.randn(5, 6)  # rank 5 of 6 features
    n = X.shape[0]
    xbar, V, sigma, A = whiten(X)
    assert A.shape == (n, 6)  # rank 5, plus the constant column
    np.testing.assert_allclose(A.T @ A, np.eye(6), atol=1e-12)
    w = rng.randn(6)
    gamma, alpha = 0.7, -0.3
    h = X @ w
    bn = gamma * (h - h.mean()) / h.std() + alpha
    q = sigma * (V.T @ w)
    s = np.sqrt(n) * np.r_[gamma * q / np.linalg.norm(q), alpha]
    np.testing.assert_allclose(A @ s, bn, atol=1e-12)


def test_sparse_whitening_matches_dense_without_densifying():
    rng = np.random.RandomState(2)
    Xs = sp.random(40, 7, density=0.4, random_state=rng, format="csr")
    before = Xs.copy()
    _, _, sd, Asp = whiten(Xs)
    _, _, dd, Ade = whiten(Xs.toarray())
    np.testing.assert_allclose(sd, dd, rtol=1e-8)
    # the same subspace (singular vectors are defined up to sign)
    np.testing.assert_allclose(Asp @ Asp.T, Ade @ Ade.T, atol=1e-8)
    assert sp.issparse(Xs) and (Xs != before).nnz == 0


def test_recovered_units_carry_the_groups_penalty_and_output():
    X, y = _regression(20, 3)
    n = X.shape[0]
    xbar, V, sigma, A = whiten(X)
    rng = np.random.RandomState(3)
    Z = rng.randn(A.shape[1], 6)
    Z[:, 1] = 0.0  # a zero group is no unit
    W, gamma, alpha, v = recover_network(Z, V, sigma, n)
    assert W.shape == (3, 5)
    H = X @ W
    np.testing.assert_allclose(H.std(axis=0), 1.0, rtol=1e-12)
    f = bn_relu_forward(X, W, H.mean(axis=0), H.std(axis=0), gamma, alpha, v)
    lam = 0.37 / np.sqrt(n)
    expected = network_value(A, y, Z, lam)
    np.testing.assert_allclose(bn_relu_objective(X, y, W, gamma, alpha, v, 0.37),
                               expected, rtol=1e-12)
    relu = np.maximum(A @ Z, 0.0)
    np.testing.assert_allclose(f, relu[:, :3].sum(1) - relu[:, 3:].sum(1),
                               atol=1e-12)


def test_gradient_of_the_bn_network_matches_finite_differences():
    X, y = _regression(15, 3)
    rng = np.random.RandomState(4)
    params = [rng.randn(3, 4), rng.randn(4), rng.randn(4), rng.randn(4)]
    beta = 0.3
    _, grad = bn_relu_value_and_grad(X, y, *params, beta)
    h = 1e-6
    for p, g in zip(params, grad, strict=True):
        num = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + h
            fp = bn_relu_objective(X, y, *params, beta)
            p[idx] = old - h
            fm = bn_relu_objective(X, y, *params, beta)
            p[idx] = old
            num[idx] = (fp - fm) / (2 * h)
        np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-7)


# -- the solver against a generic conic solver ----------------------------------

def _cvxpy_optimum(A, D, y, lam):
    cp = pytest.importorskip("cvxpy")
    n, k = A.shape
    P = D.shape[1]
    Df = D.astype(float)
    S = 2 * Df - 1
    U = cp.Variable((k, P))
    Up = cp.Variable((k, P))
    H = A @ (U - Up)
    pred = cp.sum(cp.multiply(Df, H), axis=1)
    obj = (0.5 * cp.sum_squares(pred - y)
           + lam * (cp.sum(cp.norm(U, 2, axis=0))
                    + cp.sum(cp.norm(Up, 2, axis=0))))
    cons = [cp.multiply(S, A @ U) >= 0, cp.multiply(S, A @ Up) >= 0]
    prob = cp.Problem(cp.Minimize(obj), cons)
    prob.solve(solver="CLARABEL")
    return prob.value


# the gap each case reaches within 100000 iterations (ADMM is sublinear, and
# slowest on the exhaustive, highly redundant 211-pattern program)
@pytest.mark.parametrize("n,d,beta,exhaustive,tol", [(15, 2, 0.1, True, 1e-3),
                                                     (40, 5, 0.05, False, 1e-4),
                                                     (60, 10, 1.0, False, 1e-7)])
def test_admm_optimum_is_certified_and_matches_a_conic_solver(n, d, beta,
                                                               exhaustive, tol):
    rng = np.random.RandomState(n)
    X = rng.randn(n, d)
    y = np.sin(X @ rng.randn(d)) + 0.1 * rng.randn(n)
    _, _, _, A = whiten(X)
    lam = beta / np.sqrt(n)
    D = enumerate_patterns(A) if exhaustive else sample_patterns(A, 100, rng)
    Z, info = admm_group_lasso(A, D, y, lam, tol=tol, max_iter=100000)
    assert info["converged"]
    ref = _cvxpy_optimum(A, D, y, lam)
    # the certificate brackets the reference optimum ...
    assert info["dual"] <= ref * (1 + 1e-7)
    assert ref <= info["objective"] * (1 + 1e-7) + 1e-9
    # ... within the requested relative gap
    assert info["objective"] - ref <= tol * ref


def test_recovered_network_reproduces_the_convex_models_predictions():
    # through the whole chain: groups -> (w, gamma, alpha, v) in the original
    # coordinates -> BN with the training statistics of X w; the network and
    # the convex model sum_j sigma_j D_j A z_j differ only at the entries of
    # A z_j outside their cone, by those entries exactly
    X, y = _regression(30, 3)
    n = X.shape[0]
    _, V, sigma, A = whiten(X)
    D = sample_patterns(A, 60, np.random.RandomState(0))
    lam = 0.1 / np.sqrt(n)
    Z, info = admm_group_lasso(A, D, y, lam, tol=1e-6, max_iter=100000)
    assert info["converged"]
    P = D.shape[1]
    H = A @ Z
    Df = np.concatenate([D, D], axis=1).astype(float)
    sign = np.r_[np.ones(P), -np.ones(P)]
    conv = (Df * H) @ sign
    W, gamma, alpha, v = recover_network(Z, V, sigma, n)
    Hx = X @ W
    net = bn_relu_forward(X, W, Hx.mean(0), Hx.std(0), gamma, alpha, v)
    outside = np.abs(np.maximum(H, 0.0) - Df * H).sum(axis=1)
    assert np.all(np.abs(net - conv) <= outside + 1e-12)
    assert info["violation"] <= 1e-6 * np.linalg.norm(y)
    np.testing.assert_allclose(info["program"], info["objective"], rtol=1e-5)


def test_sampled_patterns_do_not_stop_outside_the_cones():
    # with very few patterns the network's value can undercut the sampled
    # program's dual bound early on; the stop also asks for a small program
    # gap and cone violation
    X, y = _regression(40, 3)
    _, _, _, A = whiten(X)
    lam = 0.1 / np.sqrt(40)
    for seed in range(10):
        D = sample_patterns(A, 3, np.random.RandomState(seed))
        _, info = admm_group_lasso(A, D, y, lam, tol=1e-4, max_iter=50000)
        assert info["converged"]
        assert info["violation"] <= 1e-4 * np.linalg.norm(y)
        assert info["program"] - info["dual"] <= 1e-4 * info["program"]


# -- the estimators -------------------------------------------------------------

def test_fitted_network_objective_is_objective_and_certified():
    # 872 cells: certified at the defaults in about a second (40 x 3, 19840
    # cells, took 15 s of the suite)
    X, y = _regression(30, 2)
    reg = ConvexBNReLURegressor(beta=0.2, random_state=0).fit(X, y)
    f = bn_relu_objective(X, y, reg.coefs_, reg.bn_gamma_, reg.bn_beta_,
                          reg.output_weights_, 0.2)
    np.testing.assert_allclose(f, reg.objective_, rtol=1e-10)
    np.testing.assert_allclose(reg.bn_std_, 1.0, rtol=1e-10)
    assert reg.certified_
    assert 0.0 <= reg.duality_gap_ <= 1e-3 * reg.objective_
    assert reg.n_neurons_ == reg.coefs_.shape[1] > 0
    np.testing.assert_allclose(
        reg.predict(X),
        bn_relu_forward(X, reg.coefs_, reg.bn_mean_, reg.bn_std_,
                        reg.bn_gamma_, reg.bn_beta_, reg.output_weights_))


def test_gradient_descent_never_beats_the_certified_optimum():
    # exhaustive patterns (134 cells), so objective_ - duality_gap_ bounds
    # the objective of every network of any width from below
    X, y = _regression(12, 2)
    beta = 0.1
    assert max_patterns(12, 3) <= 200
    reg = ConvexBNReLURegressor(beta=beta, n_patterns=200, tol=1e-6,
                                max_iter=100000).fit(X, y)
    assert reg.exhaustive_
    lower = reg.objective_ - reg.duality_gap_
    finals = []
    for seed in range(8):
        _, curve = train_bn_relu_gd(X, y, 20, beta, max_iter=1500,
                                    random_state=seed)
        assert np.all(np.diff(curve) <= 1e-12)  # a descent method
        finals.append(curve[-1])
    assert min(finals) >= lower - 1e-12
    # and local search does not reach the optimum here
    assert np.median(finals) > reg.objective_ * 1.01


def test_closed_form_when_samples_are_fewer_than_features():
    rng = np.random.RandomState(5)
    X = rng.randn(8, 20)
    y = rng.randn(8)
    beta = 0.5
    fast = ConvexBNReLURegressor(beta=beta).fit(X, y)
    assert fast.n_iter_ == 0 and fast.n_neurons_ <= 2
    assert abs(fast.duality_gap_) <= 1e-12
    # the iterative solver on every pattern (U' square: all 2^8 - 1 of them)
    slow = ConvexBNReLURegressor(beta=beta, solver="admm", n_patterns=256,
                                 tol=1e-8, max_iter=100000).fit(X, y)
    # the working set starts from all 255 cells and ends on those in use
    assert slow.exhaustive_ and slow.certified_ and slow.n_patterns_ <= 255
    assert fast.objective_ <= slow.objective_ + 1e-12
    assert slow.objective_ - fast.objective_ <= slow.duality_gap_ + 1e-12
    np.testing.assert_allclose(slow.predict(X), fast.predict(X), atol=1e-3)
    np.testing.assert_allclose(
        bn_relu_objective(X, y, fast.coefs_, fast.bn_gamma_, fast.bn_beta_,
                          fast.output_weights_, beta),
        fast.objective_, rtol=1e-12)


def test_closed_form_matches_its_formula():
    rng = np.random.RandomState(6)
    n = 6
    A = np.linalg.qr(rng.randn(n, n))[0]
    y = rng.randn(n)
    lam = 0.4
    Z, obj, gap = closed_form(A, y, lam)
    yp, yn = np.maximum(y, 0), np.maximum(-y, 0)
    cp_, cn = (max(1 - lam / np.linalg.norm(v), 0) for v in (yp, yn))
    expected = (0.5 * (1 - cp_) ** 2 * yp @ yp + lam * cp_ * np.linalg.norm(yp)
                + 0.5 * (1 - cn) ** 2 * yn @ yn + lam * cn * np.linalg.norm(yn))
    np.testing.assert_allclose(obj, expected, rtol=1e-12)
    np.testing.assert_allclose(network_value(A, y, Z, lam), obj, rtol=1e-12)
    assert abs(gap) <= 1e-12
    # independently: a conic solver on the program over every pattern (A is
    # square, so all 2^6 - 1 non-empty patterns are cells)
    D = enumerate_patterns(A)
    assert D.shape[1] == 2**n - 1
    ref = _cvxpy_optimum(A, D, y, lam)
    np.testing.assert_allclose(ref, obj, rtol=1e-6)


def test_classifier_one_vs_rest_units_feed_one_output_each():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    clf = ConvexBNReLUClassifier(beta=1.0, random_state=0, max_iter=3000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.output_weights_.shape == (clf.n_neurons_, 3)
    assert clf.score(X, y) > 0.9
    Y = np.where(y[:, None] == np.arange(3), 1.0, -1.0)
    f = bn_relu_objective(X, Y, clf.coefs_, clf.bn_gamma_, clf.bn_beta_,
                          clf.output_weights_, 1.0)
    np.testing.assert_allclose(f, clf.objective_, rtol=1e-10)


def test_sparse_input_gives_the_dense_result():
    X, y = _regression(10, 2)
    Xs = sp.csr_matrix(X)
    kw = dict(beta=0.1, n_patterns=100, tol=1e-7, max_iter=100000)
    dense = ConvexBNReLURegressor(**kw).fit(X, y)
    sparse = ConvexBNReLURegressor(**kw).fit(Xs, y)
    assert dense.exhaustive_ and sparse.exhaustive_
    tol = dense.duality_gap_ + sparse.duality_gap_
    assert abs(dense.objective_ - sparse.objective_) <= tol
    np.testing.assert_allclose(sparse.predict(Xs), sparse.predict(X))


def test_clear_errors_and_warnings():
    X, y = _regression(20, 2)
    with pytest.raises(ValueError, match="at least 2 samples"):
        ConvexBNReLURegressor().fit(X[:1], y[:1])
    for beta in (-1.0, 0.0):
        with pytest.raises(ValueError, match="beta"):
            ConvexBNReLURegressor(beta=beta).fit(X, y)
    with pytest.raises(ValueError, match="solver"):
        ConvexBNReLURegressor(solver="cvx").fit(X, y)
    with pytest.raises(ValueError, match="2 classes"):
        ConvexBNReLUClassifier().fit(X, np.zeros(20))
    with pytest.warns(ConvergenceWarning, match="max_iter=5"):
        ConvexBNReLURegressor(max_iter=5, random_state=0).fit(X, y)


def test_inputs_are_not_modified():
    X, y = _regression(20, 2)
    X0, y0 = X.copy(), y.copy()
    ConvexBNReLURegressor(random_state=0).fit(X, y)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    Xs = sp.csr_matrix(X)
    Xs0 = Xs.copy()
    ConvexBNReLURegressor(random_state=0).fit(Xs, y).predict(Xs)
    assert sp.issparse(Xs) and (Xs != Xs0).nnz == 0


@pytest.mark.parametrize("const", [1e3, 12345.678, 1e6 + 0.1])
@pytest.mark.parametrize("sparse", [False, True])
def test_constant_features_do_not_add_a_direction(const, sparse):
    # centering a large constant column leaves a rounding offset; counted
    # as a direction it duplicated the constant column of U' and the solver
    # returned NaN (found in review)
    X, y = _regression(12, 2)
    Xc = np.c_[X, np.full(12, const)]
    Xin = sp.csr_matrix(Xc) if sparse else Xc
    _, _, sigma, A = whiten(Xin)
    assert sigma.size == 2
    np.testing.assert_allclose(A.T @ A, np.eye(3), atol=1e-12)
    # the same program (all 134 patterns), so the same optimum within gaps
    kw = dict(beta=0.3, n_patterns=200, tol=1e-4, max_iter=100000)
    base = ConvexBNReLURegressor(**kw).fit(X, y)
    est = ConvexBNReLURegressor(**kw).fit(Xin, y)
    assert est.exhaustive_ and base.exhaustive_
    assert np.all(np.isfinite(est.predict(Xin)))
    assert (abs(est.objective_ - base.objective_)
            <= est.duality_gap_ + base.duality_gap_)


def test_a_single_distinct_row_fits_a_constant():
    X = np.tile([[1.0, 2.0, 3.0]], (20, 1))
    y = np.linspace(-1, 2, 20)
    est = ConvexBNReLURegressor(beta=0.5).fit(X, y)
    assert np.isfinite(est.objective_)
    pred = est.predict(X)
    assert np.all(np.isfinite(pred)) and np.ptp(pred) == 0.0
    # a constant c = relu(alpha) v, penalty beta/2 (alpha^2 + v^2) >= beta c:
    # the optimum is ybar - beta/n (shrunk mean) when that is positive
    np.testing.assert_allclose(pred[0], y.mean() - 0.5 / 20, rtol=1e-3)


def test_several_outputs_are_separate_programs():
    # documented: each unit feeds one output, so the fit of [y, 2 y] is the
    # fits of y and 2 y side by side
    X, y = _regression(25, 2)
    kw = dict(beta=0.2, random_state=0, tol=1e-5, max_iter=100000)
    both = ConvexBNReLURegressor(**kw).fit(X, np.c_[y, 2 * y])
    one = ConvexBNReLURegressor(**kw).fit(X, y)
    two = ConvexBNReLURegressor(**kw).fit(X, 2 * y)
    np.testing.assert_allclose(both.objective_, one.objective_ + two.objective_,
                               rtol=1e-10)
    np.testing.assert_allclose(both.predict(X)[:, 0], one.predict(X))
    np.testing.assert_allclose(both.predict(X)[:, 1], two.predict(X))


# max_iter=1000 ADMM iterations, as scikit-learn's own common tests cap the
# iterations of its slow estimators: the checks test the API, and on
# check_regressor_data_not_an_array's raw targets (y of scale 30) the default
# iterations ran to the cap twice, 11 s of the suite. max_cells=200 for the
# same reason: the checks' small sparse sets have up to 20000 cells, whose
# certified fits (seconds each) made the sparse-input checks 25 s each; the
# certificate has its own tests (test_convex_certify.py); n_patterns=32
# keeps the working-set rounds of the larger check sets short
@parametrize_with_checks([
    ConvexBNReLURegressor(max_iter=1000, max_cells=200, n_patterns=32),
    ConvexBNReLUClassifier(max_iter=1000, max_cells=200, n_patterns=32)])
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UncertifiedWarning)
        check(estimator)


def test_docstring_examples_run():
    import doctest

    from skbnorm.convex import _estimators

    result = doctest.testmod(_estimators)
    assert result.attempted >= 2 and result.failed == 0


def test_gallery_example_runs(monkeypatch, capsys):
    import runpy
    from pathlib import Path

    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.setenv("SKBNORM_EXAMPLE_SIZE", "small")
    path = Path(__file__).resolve().parents[1] / "examples"
    plt.close("all")
    runpy.run_path(str(path / "plot_convex_bn_relu.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert plt.get_fignums()
    assert "below the certified lower bound: 0 of 8" in out
    for row in ("a9a subset", "digits odd/even", "MLPClassifier"):
        assert row in out
    plt.close("all")


@pytest.mark.parametrize("n_outputs", [1, 2])
def test_callbacks_see_every_admm_check_and_can_stop(n_outputs):
    rng = np.random.RandomState(0)
    X = rng.standard_normal((30, 4))
    y = np.abs(X @ rng.standard_normal((4, n_outputs))).squeeze()
    kw = dict(beta=0.05, n_patterns=32, solver="admm", max_iter=200, tol=0.0,
              random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = ConvexBNReLURegressor(**kw).fit(X, y)
        rec = PredictingRecorder(X, "admm check")
        watched = ConvexBNReLURegressor(**kw).set_callbacks(rec).fit(X, y)
    # a check every 25 iterations of each output; the last one's model is
    # the fitted one, and watching changes nothing
    assert len(rec.predictions) == n_outputs * 200 // 25
    np.testing.assert_allclose(rec.predictions[-1], watched.predict(X),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(plain.coefs_, watched.coefs_)
    assert rec.begun == rec.ended
    # a callback returning True stops the fit at that check, without a
    # ConvergenceWarning
    stopper = PredictingRecorder(X, "admm check", stop_after=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        stopped = ConvexBNReLURegressor(**kw).set_callbacks(stopper).fit(X, y)
    assert stopped.n_iter_ == 50
    np.testing.assert_allclose(stopper.predictions[-1], stopped.predict(X),
                               rtol=1e-12, atol=1e-12)


def test_callbacks_see_every_working_set_round_and_can_stop():
    # an enumerable problem started from four patterns takes several rounds;
    # each is a task (its ADMM checks inside it), the last one's network is
    # the fitted one (pruning keeps the predictions), and a callback that
    # returns True at the first round ends the fit there
    rng = np.random.RandomState(0)
    X = rng.standard_normal((20, 2))
    y = np.abs(X[:, 0]) + 0.1 * rng.standard_normal(20)
    kw = dict(beta=0.1, n_patterns=4, random_state=0)
    plain = ConvexBNReLURegressor(**kw).fit(X, y)
    assert plain.certified_ and plain.n_rounds_ >= 3
    rec = PredictingRecorder(X, "working-set round")
    checks = PredictingRecorder(X, "admm check")
    watched = ConvexBNReLURegressor(**kw).set_callbacks(rec, checks).fit(X, y)
    assert len(rec.predictions) == watched.n_rounds_ == plain.n_rounds_
    assert len(checks.predictions) >= watched.n_rounds_
    np.testing.assert_allclose(rec.predictions[-1], watched.predict(X),
                               rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(plain.predict(X), watched.predict(X))
    assert rec.begun == rec.ended
    stopper = PredictingRecorder(X, "working-set round", stop_after=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("error", UncertifiedWarning)
        stopped = ConvexBNReLURegressor(**kw).set_callbacks(stopper).fit(X, y)
    assert stopped.n_rounds_ == 1 and not stopped.certified_


@pytest.mark.filterwarnings(
    "error::pytest.PytestUnhandledThreadExceptionWarning")  # the bar's thread
@pytest.mark.parametrize("Est", [ConvexBNReLURegressor, ConvexBNReLUClassifier])
def test_progress_bar_callback_runs(Est):
    pytest.importorskip("rich")  # a test extra (scikit-learn's bar needs it)
    from sklearn.callback import ProgressBar

    rng = np.random.RandomState(0)
    X = rng.standard_normal((40, 3))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0) if Est is \
        ConvexBNReLUClassifier else np.abs(X[:, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = Est(n_patterns=16, max_iter=100, random_state=0)
        est.set_callbacks(ProgressBar()).fit(X, y)
    assert np.all(np.isfinite(est.predict(X)))


@pytest.mark.parametrize("seed", range(3))
def test_pruning_keeps_the_output_and_penalty_with_at_most_n_plus_1_units(seed):
    from skbnorm.convex._network import prune_groups

    rng = np.random.RandomState(seed)
    n, k, P = 12, 4, 40
    A = rng.randn(n, k)
    Z = rng.randn(k, 2 * P)
    Z[:, rng.rand(2 * P) < 0.2] = 0.0  # some groups already empty
    sign = np.r_[np.ones(P), -np.ones(P)]

    def output(Z):
        return np.maximum(A @ Z, 0.0) @ sign

    pruned = prune_groups(A, Z)
    norms = np.linalg.norm(pruned, axis=0)
    kept = np.flatnonzero(norms > 0)
    assert kept.size <= n + 1 < np.count_nonzero(np.linalg.norm(Z, axis=0))
    np.testing.assert_allclose(output(pruned), output(Z), rtol=1e-10,
                               atol=1e-10)
    np.testing.assert_allclose(norms.sum(), np.linalg.norm(Z, axis=0).sum(),
                               rtol=1e-12)
    # each kept group keeps its direction (so its cone): only its length moves
    for j in kept:
        cos = pruned[:, j] @ Z[:, j] / (norms[j] * np.linalg.norm(Z[:, j]))
        assert cos > 1 - 1e-12


def test_the_estimator_returns_the_pruned_network_at_the_same_objective():
    X, y = _regression(15, 3, seed=1)
    n = X.shape[0]
    kw = dict(beta=0.05, n_patterns=1000, max_iter=3000, tol=1e-4,
              random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = ConvexBNReLURegressor(**kw).fit(X, y)
    # the unpruned ADMM solution of the same program, for comparison
    _, V, sigma, A = whiten(X)
    D = enumerate_patterns(A)
    assert est.exhaustive_ and D.shape[1] == est.n_patterns_
    lam = kw["beta"] / np.sqrt(n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        Z, info = admm_group_lasso(A, D, y, lam, tol=kw["tol"],
                                   max_iter=kw["max_iter"])
    active = np.count_nonzero(np.linalg.norm(Z, axis=0))
    assert est.n_neurons_ <= n + 1 < active
    np.testing.assert_allclose(est.objective_, info["objective"], rtol=1e-9)
    # the training predictions are the unpruned network's
    W, gamma, alpha, v = recover_network(Z, V, sigma, n)
    Hx = X @ W
    full = bn_relu_forward(X, W, Hx.mean(0), Hx.std(0), gamma, alpha, v)
    np.testing.assert_allclose(est.predict(X), full, rtol=1e-8, atol=1e-10)


def test_features_whose_squares_leave_float64_raise():
    # at 1e153 the program predicted one class, at 1e-300 it raised a
    # FloatingPointError; now a ValueError says to rescale, and 1e+-148 fits
    # as 1 does (BN makes the network scale-invariant)
    rng = np.random.RandomState(0)
    X = rng.standard_normal((40, 3))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    kw = dict(n_patterns=32, random_state=0)
    for factor, what in ((1e151, "overflow"), (1e-151, "underflow")):
        with pytest.raises(ValueError, match=f"column .* {what}"):
            ConvexBNReLUClassifier(**kw).fit(X * factor, y)
        with pytest.raises(ValueError, match=f"column .* {what}"):
            ConvexBNReLURegressor(**kw).fit(sp.csr_matrix(X * factor), X[:, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = ConvexBNReLUClassifier(**kw).fit(X, y).predict(X)
        for factor in (1e148, 1e-148):
            est = ConvexBNReLUClassifier(**kw).fit(X * factor, y)
            assert np.all(est.predict(X * factor) == ref)
