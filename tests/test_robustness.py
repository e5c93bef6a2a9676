"""Bad input, numerical trouble, and the promises about the user's data."""

import io
import tracemalloc
import warnings
from contextlib import redirect_stdout

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from skbnorm import (
    HalfspaceClassifier,
    NormalizedLinearRegression,
    NormalizedLogisticRegression,
)
from skbnorm.datasets import load_a9a

SOLVERS = ["gdnp", "gd", "agd", "bn", "wn"]


def _all_estimators(**kw):
    for solver in SOLVERS:
        yield NormalizedLinearRegression(solver=solver, **kw), "reg"
        yield NormalizedLogisticRegression(solver=solver, **kw), "clf"
        yield HalfspaceClassifier(loss="sigmoid", solver=solver, **kw), "clf"


def _targets(kind, X, rng):
    if kind == "reg":
        return X @ rng.standard_normal(X.shape[1]) + rng.standard_normal(len(X))
    return np.where(X @ rng.standard_normal(X.shape[1])
                    + rng.standard_normal(len(X)) > 0, "yes", "no")


def _assert_finite_fit(est):
    for name in ("coef_", "intercept_", "scale_", "loss_curve_",
                 "grad_norm_curve_"):
        assert np.all(np.isfinite(np.asarray(getattr(est, name), dtype=float))), name


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input_raises(bad):
    X = np.random.RandomState(0).standard_normal((20, 3))
    X[3, 1] = bad
    y = np.arange(20) % 2
    for est, _ in _all_estimators():
        with pytest.raises(ValueError, match="Input X contains"):
            est.fit(X, y)
    y = np.arange(20.0)
    y[2] = bad
    X[3, 1] = 0.0
    with pytest.raises(ValueError, match="Input y contains"):
        NormalizedLinearRegression().fit(X, y)


def test_single_class_raises():
    X = np.random.RandomState(0).standard_normal((20, 3))
    for est in (NormalizedLogisticRegression(), HalfspaceClassifier()):
        with pytest.raises(ValueError, match="only one class"):
            est.fit(X, np.ones(20))
        # a second class present only with zero weight is still one class
        y = np.r_[np.ones(19), 0]
        w = np.r_[np.ones(19), 0.0]
        with pytest.raises(ValueError, match="only one class"):
            est.fit(X, y, sample_weight=w)


def test_bad_sample_weight_raises():
    X = np.random.RandomState(0).standard_normal((20, 3))
    y = np.arange(20) % 2
    est = NormalizedLogisticRegression()
    with pytest.raises(ValueError, match="(?i)negative"):
        est.fit(X, y, sample_weight=-np.ones(20))
    with pytest.raises(ValueError, match="non-zero"):
        est.fit(X, y, sample_weight=np.zeros(20))


def test_bad_parameters_raise():
    X = np.random.RandomState(0).standard_normal((20, 3))
    y = np.arange(20) % 2
    for params in ({"solver": "sgd"}, {"learning_rate": 0.0},
                   {"learning_rate": "fast"}, {"C": -1.0}, {"C": 0.0},
                   {"max_iter": 0}, {"n_bisection": 0}, {"tol": -1.0},
                   {"metric": "euclid"}, {"direction_step": "lobpcg"}):
        with pytest.raises(ValueError, match=next(iter(params))):
            NormalizedLogisticRegression(**params).fit(X, y)
    with pytest.raises(ValueError, match="loss"):
        HalfspaceClassifier(loss="hinge").fit(X, y)
    with pytest.raises(ValueError, match="alpha"):
        NormalizedLinearRegression(alpha=-1.0).fit(X, y.astype(float))


@pytest.mark.needs_jit
def test_singular_S_duplicated_and_one_hot_columns():
    rng = np.random.RandomState(0)
    cat = rng.randint(0, 4, 200)
    onehot = np.eye(4)[cat]  # the blocks sum to 1: singular after centering
    Z = rng.standard_normal((200, 3))
    X = np.column_stack([Z, Z[:, 0], onehot, np.full(200, 5.0)])  # + constant
    for est, kind in _all_estimators(max_iter=3000, random_state=0):
        y = _targets(kind, np.column_stack([Z, onehot]), rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
        _assert_finite_fit(est)
        coef = np.atleast_2d(est.coef_)[0]
        # the minimum-norm solution: duplicated columns share the weight, the
        # constant column and the one-hot block's common mode get none
        np.testing.assert_allclose(coef[0], coef[3], rtol=1e-3, atol=1e-6)
        assert abs(coef[-1]) < 1e-8
        assert abs(coef[4:8].sum()) < 1e-4 * (1 + np.abs(coef).max())


@pytest.mark.needs_jit
def test_a9a_rank_deficient_S():
    X, y = load_a9a()
    for solver in SOLVERS:
        est = NormalizedLogisticRegression(solver=solver, max_iter=50,
                                           random_state=0)
        if solver == "gdnp":
            # the default step converges well within 50 iterations
            with warnings.catch_warnings():
                warnings.simplefilter("error", ConvergenceWarning)
                est.fit(X, y)
        else:
            with pytest.warns(ConvergenceWarning, match="max_iter"):
                est.fit(X, y)
        _assert_finite_fit(est)


@pytest.mark.parametrize("factor", [1e-6, 1e6])
def test_badly_scaled_features(factor):
    rng = np.random.RandomState(0)
    X = rng.standard_normal((200, 4))
    X[:, 0] *= factor
    for est, kind in _all_estimators(max_iter=300, random_state=0):
        y = _targets(kind, rng.standard_normal((200, 4)) + X / [factor, 1, 1, 1],
                     rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
        _assert_finite_fit(est)


def test_features_too_large_for_float64_raise():
    # beyond about 1e50 the solvers' products overflow: features of 1e100
    # fitted at chance level without a warning, 1e160 raised an IndexError
    # from the warning's formatting; now a ValueError says what to do, and
    # 1e45 still fits with every solver
    from sklearn.datasets import load_iris

    rng = np.random.RandomState(0)
    X = rng.standard_normal((120, 3))
    Xi, yi = load_iris(return_X_y=True)
    for est, kind in _all_estimators(max_iter=50, random_state=0):
        y = _targets(kind, X, rng)
        for big in (1e60, 1e100, 1e160, 1e300):
            with pytest.raises(ValueError, match="column 0 has values of "
                               "magnitude about .* Rescale the features"):
                est.fit(X * [big, 1, 1], y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X * 1e45, y)
        _assert_finite_fit(est)
    with pytest.raises(ValueError, match="Rescale the features"):
        NormalizedLogisticRegression().fit(Xi * 1e100, yi)  # multinomial
    scaled = NormalizedLogisticRegression(C=np.inf, max_iter=300).fit(
        X * 1e45, X[:, 0] > 0)
    assert scaled.score(X * 1e45, X[:, 0] > 0) >= 0.99


def test_features_too_small_for_float64_raise():
    # the squares of features below about 1e-150 underflow: the default
    # NormalizedLinearRegression() returned R^2 = 0 on an exactly linear
    # target at 1e-170 without a warning (the columns looked constant); now a
    # ValueError names the column, dense or sparse, and 1e-150 fits as 1 does
    from sklearn.datasets import load_iris

    rng = np.random.RandomState(0)
    X = rng.standard_normal((120, 3))
    for est, kind in _all_estimators(max_iter=50, random_state=0):
        y = _targets(kind, X, rng)
        for small in (1e-155, 1e-170, 1e-300):
            for Xs in (X * [1, small, 1], sp.csr_matrix(X * [1, small, 1])):
                with pytest.raises(ValueError, match="column 1 has values of "
                                   "magnitude at most .* underflow"):
                    est.fit(Xs, y)
    Xi, yi = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="underflow"):
        NormalizedLogisticRegression().fit(Xi * 1e-170, yi)  # multinomial
    y = X @ np.array([1.0, -2.0, 0.5])
    for Xs in (X * 1e-150, sp.csr_matrix(X * 1e-150)):
        assert NormalizedLinearRegression().fit(Xs, y).score(Xs, y) > 1 - 1e-9
    # a column of zeros is a constant column, not a small one
    Z = np.column_stack([X, np.zeros(len(X))])
    reg = NormalizedLinearRegression().fit(sp.csr_matrix(Z), y)
    assert reg.coef_[3] == 0.0 and reg.score(Z, y) > 1 - 1e-9


@pytest.mark.parametrize("solver", SOLVERS)
def test_regression_targets_of_any_size(solver):
    # the solvers fit y in a power-of-two unit of its size: before, targets
    # of 1e-9 gave the default R^2 = 0 (the subspace solve took their
    # gradient for zero) and gd R^2 = -744 at 1e-6 (its random start of unit
    # size); now the fit is the same at every size, curves in the user's
    # units, and targets whose squares overflow raise
    from sklearn.metrics import r2_score

    rng = np.random.RandomState(0)
    X = rng.standard_normal((200, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.3 * rng.standard_normal(200)
    kw = dict(solver=solver, max_iter=3000, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = NormalizedLinearRegression(**kw).fit(X, y)
        for factor in (1e-160, 1e-9, 1e-6, 1e6, 1e100):
            est = NormalizedLinearRegression(**kw).fit(X, factor * y)
            _assert_finite_fit(est)
            assert r2_score(y, est.predict(X) / factor) >= \
                r2_score(y, ref.predict(X)) - 1e-6
            if factor > 1e-150:  # else the objective itself is subnormal
                np.testing.assert_allclose(est.loss_curve_[-1] / factor ** 2,
                                           ref.loss_curve_[-1], rtol=1e-5)
            np.testing.assert_allclose(est.coef_ / factor, ref.coef_,
                                       rtol=1e-2, atol=1e-3)
        # a target on a large offset: its unit is its spread about the mean
        # (with the mean's, bn and wn saw a centred target of 1e-6: R^2 0.06)
        for offset in (1e6, 1e9):
            est = NormalizedLinearRegression(**kw).fit(X, y + offset)
            assert est.score(X, y + offset) >= ref.score(X, y) - 1e-6
    if solver == "gdnp":
        # weights, sparse X and a warm start from a fit at another size (the
        # default solver: converged to rounding, so the fits must agree)
        sw = rng.uniform(0.5, 2.0, len(y))
        ref_w = NormalizedLinearRegression(**kw).fit(X, y, sample_weight=sw)
        warm = NormalizedLinearRegression(warm_start=True, **kw).fit(X, 1e6 * y)
        warm.fit(sp.csr_matrix(X), 1e-9 * y, sample_weight=sw)
        np.testing.assert_allclose(warm.coef_ / 1e-9, ref_w.coef_, rtol=1e-6)
        np.testing.assert_allclose(warm.intercept_ / 1e-9, ref_w.intercept_,
                                   rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="y has values of magnitude"):
        NormalizedLinearRegression(**kw).fit(X, 1e160 * y)


@pytest.mark.needs_jit  # ten fits of 2000 iterations
def test_separable_data_warns_and_stays_finite():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((100, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    for solver in SOLVERS:
        for step in ("paper", "subspace"):
            est = NormalizedLogisticRegression(C=np.inf, solver=solver,
                                               direction_step=step,
                                               max_iter=2000, random_state=0)
            with pytest.warns(ConvergenceWarning):
                est.fit(X, y)
            _assert_finite_fit(est)
            assert est.score(X, y) == 1.0
    # gdnp's scale search says why
    for step in ("paper", "subspace"):
        with pytest.warns(ConvergenceWarning, match="separable"):
            NormalizedLogisticRegression(C=np.inf, direction_step=step,
                                         max_iter=2000,
                                         random_state=0).fit(X, y)
    # with the default penalty the minimiser is finite: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = NormalizedLogisticRegression().fit(X, y)
    _assert_finite_fit(est)


@pytest.mark.parametrize("solver", ["gd", "agd", "bn", "wn"])
def test_learning_rate_far_too_large(solver):
    rng = np.random.RandomState(0)
    X = rng.standard_normal((100, 3)) * 10
    y = X @ [1.0, 2.0, 3.0] + rng.standard_normal(100)
    est = NormalizedLinearRegression(solver=solver, learning_rate=1e6,
                                     max_iter=500, random_state=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    _assert_finite_fit(est)
    yc = np.where(y > 0, 1, 0)
    est = NormalizedLogisticRegression(solver=solver, learning_rate=1e6,
                                       max_iter=200, random_state=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(X, yc)
    _assert_finite_fit(est)


@pytest.mark.needs_jit
def test_bn_converges_for_a_huge_direction_step():
    """Cai et al.: bn converges for any direction step with eta_g <= 1."""
    rng = np.random.RandomState(0)
    X = rng.standard_normal((200, 4))
    y = X @ [1.0, -2.0, 0.5, 1.0] + 0.1 * rng.standard_normal(200)
    ref = NormalizedLinearRegression(solver="gdnp", tol=1e-20).fit(X, y)
    for eta in (1e-1, 1e1, 1e3):
        # tol bounds the relative suboptimality: 1e-16 is the old gradient
        # tolerance of 1e-8 here
        est = NormalizedLinearRegression(solver="bn", learning_rate=eta,
                                         learning_rate_scale=1.0, tol=1e-16,
                                         max_iter=20000, random_state=0)
        est.fit(X, y)
        np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-6)


def test_sigmoid_h_to_zero_and_scale_cap():
    """The sigmoid on separable data: h -> 0 and g -> inf, never NaN."""
    rng = np.random.RandomState(0)
    X = rng.standard_normal((200, 3))
    y = (X[:, 0] > 0).astype(int)
    est = HalfspaceClassifier(loss="sigmoid", C=np.inf, direction_step="paper",
                              max_iter=500, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    _assert_finite_fit(est)
    assert est.score(X, y) == 1.0
    assert any("separable" in str(w.message) for w in caught)


@pytest.mark.needs_jit
def test_max_iter_warning_says_how_far():
    X, y = load_a9a()
    est = NormalizedLogisticRegression(solver="gd", max_iter=5, random_state=0)
    with pytest.warns(ConvergenceWarning,
                      match=r"max_iter=5.*gradient norm is .*tol=1\.000e-06"):
        est.fit(X, y)
    assert est.n_iter_[0] == 5 and est.loss_curve_.shape == (5,)


def test_constant_features_only():
    X = np.ones((30, 3))
    y = np.arange(30.0)
    est = NormalizedLinearRegression().fit(X, y)
    np.testing.assert_array_equal(est.coef_, 0.0)
    assert est.intercept_ == pytest.approx(y.mean())
    # the curves report the intercept-only model honestly
    assert est.loss_curve_[0] == pytest.approx(0.5 * y.var())
    assert est.grad_norm_curve_[0] < 1e-10 and est.n_iter_ == 1
    clf = NormalizedLogisticRegression().fit(X, np.arange(30) % 3 == 0)
    np.testing.assert_allclose(clf.predict_proba(X)[:, 1], 1 / 3)


@pytest.mark.parametrize("sparse", [False, True])
def test_inputs_are_not_mutated(sparse):
    rng = np.random.RandomState(0)
    X = rng.standard_normal((50, 4))
    X[X < 0] = 0
    A = sp.csr_matrix(X) if sparse else X
    y = np.where(rng.rand(50) > 0.5, 1.0, -1.0)
    sw = rng.uniform(0.5, 2, 50)
    copies = (A.copy(), y.copy(), sw.copy())
    for est, _ in _all_estimators(max_iter=20, random_state=0):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(A, y, sample_weight=sw)
    if sparse:
        assert (A != copies[0]).nnz == 0
        assert A.has_sorted_indices == copies[0].has_sorted_indices
    else:
        np.testing.assert_array_equal(A, copies[0])
    np.testing.assert_array_equal(y, copies[1])
    np.testing.assert_array_equal(sw, copies[2])


@pytest.mark.needs_jit
def test_sparse_input_is_never_densified():
    # dense, this would be 400 MB; the fit must stay far below that
    rng = np.random.RandomState(0)
    n, d = 5000, 10000
    X = sp.random(n, d, density=2e-4, format="csr", random_state=rng)
    y = np.where(rng.rand(n) > 0.5, 1, 0)
    tracemalloc.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        NormalizedLogisticRegression(max_iter=5, random_state=0).fit(X, y)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 20e6


def test_verbose_prints_one_line_per_iteration():
    X = np.random.RandomState(0).standard_normal((40, 3))
    y = X @ [1.0, 2.0, 3.0]
    buf = io.StringIO()
    with redirect_stdout(buf), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = NormalizedLinearRegression(solver="gd", max_iter=7, tol=0.0,
                                         verbose=1).fit(X, y)
    lines = [ln for ln in buf.getvalue().splitlines() if "iter" in ln]
    assert len(lines) == est.n_iter_ == 7
    assert "objective=" in lines[0] and "grad_norm=" in lines[0]


def test_gdnp_h_is_zero_is_not_divided_by():
    """u = E[-y x_c] = 0 makes h = 0 at every w: the paper's step is 0/0."""
    rng = np.random.RandomState(0)
    Z = rng.standard_normal((50, 3))
    X = np.vstack([Z, -Z])  # every row and its mirror, same label
    y = np.r_[np.arange(50) % 2, np.arange(50) % 2]
    for loss in ("softplus", "sigmoid"):
        est = HalfspaceClassifier(loss=loss, max_iter=200, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
        _assert_finite_fit(est)
    # softplus is convex with u = 0: w~ = 0 is the optimum
    est = NormalizedLogisticRegression(max_iter=200, random_state=0).fit(X, y)
    np.testing.assert_allclose(est.coef_, 0.0, atol=1e-6)


# -- regressions found in review ------------------------------------------


@pytest.mark.parametrize("solver", SOLVERS)
def test_least_squares_with_large_targets(solver):
    # the scale of least squares is in the units of y: no cap applies
    rng = np.random.RandomState(0)
    X = rng.standard_normal((100, 3))
    y = X @ [1.0, -2.0, 0.5] * 1e5 + 3.0
    est = NormalizedLinearRegression(solver=solver, random_state=0, tol=1e-4,
                                     max_iter=5000).fit(X, y)
    np.testing.assert_allclose(est.coef_, [1e5, -2e5, 5e4], rtol=1e-8)
    assert np.all(np.isfinite(est.loss_curve_))


def test_warm_start_after_a_large_target_shift():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((100, 3))
    y = X @ [1.0, -2.0, 0.5] + 3.0
    est = NormalizedLinearRegression(random_state=0, warm_start=True).fit(X, y)
    est.fit(X, y + 5e4)
    assert est.intercept_ == pytest.approx(5e4 + 3.0, rel=1e-10)
    _assert_finite_fit(est)


def test_scale_cap_at_the_start_records_the_iterate():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((80, 3))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    est = NormalizedLogisticRegression(max_iter=300, tol=0.0, random_state=0,
                                       warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
        est.fit(X, y)
    _assert_finite_fit(est)
    assert est.loss_curve_.shape == (est.n_iter_[0],)


@pytest.mark.parametrize("solver,lr,lr_scale,message", [
    ("wn", 0.5, 10.0, "diverged"),
    ("bn", 1e160, "auto", "diverged"),
    # ||w|| jumps to 4.5e3 and the effective step shrinks: slow, not divergent
    ("wn", 300.0, "auto", "max_iter"),
])
def test_overflowing_direction_restores_the_best_iterate(solver, lr, lr_scale,
                                                         message):
    rng = np.random.RandomState(0)
    X = rng.standard_normal((50, 4)) * [1, 3, 0.3, 2] + 2
    y = X @ [1.0, 2, -1, 0.5] + 1 + rng.standard_normal(50)
    est = NormalizedLinearRegression(solver=solver, learning_rate=lr,
                                     learning_rate_scale=lr_scale,
                                     random_state=0, max_iter=100)
    with pytest.warns(ConvergenceWarning, match=message):
        est.fit(X, y)
    _assert_finite_fit(est)
    from skbnorm.objectives import LinearObjective

    f = LinearObjective("squared").loss(X, y, est.coef_, est.intercept_)
    # no worse than the start: the two are sums of the same objective in
    # different orders (and the curve's in y's power-of-two unit), so they
    # agree to rounding when the best iterate is the start itself
    assert f <= est.loss_curve_[0] * (1.0 + 1e-13)


def test_warm_start_drops_coefficients_of_constant_columns():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((100, 3))
    y = X @ [1.0, -2.0, 0.5] + 3.0
    est = NormalizedLinearRegression(random_state=0, warm_start=True).fit(X, y)
    X2 = X.copy()
    X2[:, 1] = 4.0  # now constant
    est.fit(X2, 10 * y)
    cold = NormalizedLinearRegression(random_state=0).fit(X2, 10 * y)
    assert abs(est.coef_[1]) < 1e-12 * np.abs(est.coef_).max()  # rounding
    np.testing.assert_allclose(est.predict(X), cold.predict(X), rtol=1e-6)
    # every column constant: no huge coefficients, the optimal intercept
    est.fit(np.tile([3.0, -1.0, 2.0], (100, 1)), y + 10)
    np.testing.assert_array_equal(est.coef_, 0.0)
    assert est.intercept_ == pytest.approx(np.mean(y + 10))


def test_messages_name_labels_as_written():
    # numpy 2 writes np.int64(0) for a numpy scalar's repr
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    sw = (y == 1).astype(float)
    with pytest.raises(ValueError, match=r"only one class: 1\.") as err:
        NormalizedLogisticRegression().fit(X, y, sample_weight=sw)
    assert "np." not in str(err.value)


@pytest.mark.parametrize("solver", ["gdnp", "gd"])
def test_duplicate_csr_entries_fit_as_their_sums(solver):
    # valid CSR with each row's first value split in two entries: the
    # margins add them up, and so must the Hessian and the columns' mean
    # squares (they squared them one by one); the user's matrix is untouched
    rng = np.random.default_rng(0)
    X = sp.csr_matrix(rng.standard_normal((300, 5)) * [1, 2, 3, 4, 5])
    y = (X[:, 0].toarray().ravel() + rng.standard_normal(300) > 0).astype(int)
    data, ind, ptr = [], [], [0]
    for i in range(X.shape[0]):
        a, b = X.indptr[i], X.indptr[i + 1]
        data += [X.data[a] / 2, X.data[a] / 2, *X.data[a + 1:b]]
        ind += [X.indices[a], X.indices[a], *X.indices[a + 1:b]]
        ptr.append(len(data))
    dup = sp.csr_matrix((np.array(data), np.array(ind), np.array(ptr)),
                        shape=X.shape)
    before = dup.data.copy(), dup.indices.copy()
    a = NormalizedLogisticRegression(solver=solver, random_state=0).fit(X, y)
    b = NormalizedLogisticRegression(solver=solver, random_state=0).fit(dup, y)
    np.testing.assert_allclose(b.coef_, a.coef_, rtol=1e-12, atol=1e-14)
    assert np.array_equal(dup.data, before[0])
    assert np.array_equal(dup.indices, before[1])
