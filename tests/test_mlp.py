"""NormalizedMLPClassifier / NormalizedMLPRegressor: kernels against the NumPy
reference, the solvers' defining properties, and the estimator contract."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skbnorm import NormalizedMLPClassifier, NormalizedMLPRegressor
from skbnorm.mlp._model import Network
from skbnorm.mlp._network import init_params, value_and_grad
from skbnorm.mlp._solvers import gdnp_iteration, last_layer_scale_step

from ._callbacks import PredictingRecorder
from .test_common import _check_id, _with_ids

SOLVERS = ("bn", "gdnp", "gd", "agd", "wn")


def _problem(n=40, d=6, k=3, loss="log_loss", seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d)
    if loss == "log_loss":
        Y = np.eye(k)[rng.randint(0, k, n)]
    elif loss == "binary_log_loss":
        Y = rng.randint(0, 2, (n, 1)).astype(float)
    else:
        Y = rng.randn(n, k)
    s = rng.uniform(0.5, 1.5, n)
    return X, Y, s / s.sum(), rng


def _random_params(sizes, norm, rng):
    params = init_params(sizes, norm is not None, rng)
    params["b"] = [rng.randn(v.size) * 0.3 for v in params["b"]]
    if norm is not None:
        params["g"] = [rng.uniform(0.5, 1.5, v.size) for v in params["g"]]
    return params


# -- the network on kernels ---------------------------------------------------


@pytest.mark.parametrize("norm", [None, "bn"])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("loss", ["log_loss", "squared"])
def test_kernels_match_numpy_reference(norm, activation, loss):
    X, Y, s, rng = _problem(loss=loss)
    params = _random_params([6, 5, 4, 3], norm, rng)
    v_ref, g_ref = value_and_grad(X, Y, params, activation, loss, 0.1, s)
    v, g = Network(norm, activation, loss, 0.1).loss_grad(X, Y, s, params)
    # BN_EPS (1e-10 relative) is the only difference from the reference
    assert v == pytest.approx(v_ref, rel=1e-9)
    for key in g_ref:
        for a, b in zip(g_ref[key], g[key], strict=True):
            np.testing.assert_allclose(b, a, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("norm", [None, "bn", "wn"])
@pytest.mark.parametrize("loss", ["binary_log_loss", "log_loss", "squared"])
def test_kernel_gradient_matches_finite_differences(norm, loss):
    """Covers what the reference has no twin for: weight normalization and
    the one-logit binary loss."""
    X, Y, s, rng = _problem(n=15, d=4, k=1 if loss == "binary_log_loss" else 3,
                            loss=loss)
    params = _random_params([4, 5, 3, Y.shape[1]], norm, rng)
    net = Network(norm, "tanh", loss, 0.05)
    _, grad = net.loss_grad(X, Y, s, params)
    h = 1e-6
    for key in params:
        for M, G in zip(params[key], grad[key], strict=True):
            for idx in np.ndindex(M.shape):
                old = M[idx]
                M[idx] = old + h
                up = net.value(X, Y, s, params)
                M[idx] = old - h
                down = net.value(X, Y, s, params)
                M[idx] = old
                assert G[idx] == pytest.approx((up - down) / (2 * h),
                                               rel=1e-5, abs=1e-8), (key, idx)


@pytest.mark.parametrize("norm", ["bn", "wn"])
def test_normalized_networks_ignore_the_length_of_w(norm):
    X, Y, s, rng = _problem()
    params = _random_params([6, 5, 4, 3], norm, rng)
    net = Network(norm, "tanh", "log_loss", 0.1)
    v, g = net.loss_grad(X, Y, s, params)
    scaled = {k: [M.copy() for M in val] for k, val in params.items()}
    c = rng.uniform(0.1, 10.0, 5)
    scaled["W"][0] = scaled["W"][0] * c
    v2, g2 = net.loss_grad(X, Y, s, scaled)
    assert v2 == pytest.approx(v, rel=1e-12)
    # the gradient of a scale-invariant weight scales by 1/c
    np.testing.assert_allclose(g2["W"][0] * c, g["W"][0], rtol=1e-8, atol=1e-12)


def test_sparse_first_layer_equals_dense():
    X, Y, s, rng = _problem()
    X[X < 0.5] = 0.0
    params = _random_params([6, 5, 3], "bn", rng)
    net = Network("bn", "relu", "log_loss", 0.0)
    v, g = net.loss_grad(X, Y, s, params)
    vs, gs = net.loss_grad(sp.csr_matrix(X), Y, s, params)
    assert vs == pytest.approx(v, rel=1e-12)
    np.testing.assert_allclose(gs["W"][0], g["W"][0], rtol=1e-10, atol=1e-14)


# -- GDNP --------------------------------------------------------------------


@pytest.mark.parametrize("loss", ["binary_log_loss", "log_loss", "squared"])
def test_scale_search_matches_a_scalar_minimiser_unit_by_unit(loss):
    """Algorithm 2's scale step against a NumPy/scipy twin: for each unit of
    the last hidden layer in turn, minimise the full objective over that
    unit's scale alone (bounded Brent), then move on to the next unit."""
    from scipy.optimize import minimize_scalar

    X, Y, s, rng = _problem(n=80, k=1 if loss == "binary_log_loss" else 3,
                            loss=loss)
    params = _random_params([6, 5, 4, Y.shape[1]], "bn", rng)
    net = Network("bn", "tanh", loss, 0.01)
    g, _ = last_layer_scale_step(net, X, Y, s, params, n_steps=60, rtol=1e-12)

    ref = {k: [M.copy() for M in v] for k, v in params.items()}
    for j in range(4):
        def f(t, j=j):
            ref["g"][-1][j] = t
            return net.value(X, Y, s, ref)
        t0 = ref["g"][-1][j]
        f0 = f(t0)
        # the kernel's bracket, t0 +- max(|t0|, 1), widens up to 4 times
        radius = 31 * max(abs(t0), 1.0)
        res = minimize_scalar(f, bounds=(t0 - radius, t0 + radius),
                              method="bounded", options={"xatol": 1e-10})
        ref["g"][-1][j] = res.x if res.fun < f0 else t0
    np.testing.assert_allclose(g, ref["g"][-1], rtol=1e-6, atol=1e-7)
    assert not np.allclose(g, params["g"][-1])
    params["g"][-1] = g
    # each unit's scale was optimal when it was searched; the last one
    # still is, since nothing moved after it
    eps = 1e-5
    for delta in (-eps, eps):
        trial = {k: [M.copy() for M in v] for k, v in params.items()}
        trial["g"][-1][-1] += delta
        assert net.value(X, Y, s, trial) > net.value(X, Y, s, params)


def test_gdnp_loss_never_increases_and_ignores_weight_lengths():
    X, Y, s, rng = _problem(n=60, k=3)
    params = _random_params([6, 7, 5, 3], "bn", rng)
    scaled = {k: [M.copy() for M in v] for k, v in params.items()}
    scaled["W"][0] *= rng.uniform(0.01, 100.0, 7)
    scaled["W"][1] *= rng.uniform(0.01, 100.0, 5)
    net = Network("bn", "tanh", "log_loss", 0.0)
    values, values_scaled = [net.value(X, Y, s, params)], []
    for _ in range(15):
        values.append(gdnp_iteration(net, X, Y, s, params, 0.5, 0.5, 8))
        values_scaled.append(gdnp_iteration(net, X, Y, s, scaled, 0.5, 0.5, 8))
    assert np.all(np.diff(values) <= 0.0)
    assert values[-1] < 0.8 * values[0]
    # Kohler's step sigma^2/g^2 makes the iterates independent of ||w||: the
    # same objective, and the same directions, scales, shifts and output
    np.testing.assert_allclose(values_scaled, values[1:], rtol=1e-7)
    for layer in range(2):
        for P in (params, scaled):
            P["W"][layer] = P["W"][layer] / np.linalg.norm(P["W"][layer], axis=0)
    for key in params:
        for a, b in zip(params[key], scaled[key], strict=True):
            np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-9)


# -- estimators: scikit-learn's checks ----------------------------------------


# max_iter=100 epochs, as scikit-learn's own common tests set for its MLPs
# (sklearn.utils._test_common.instance_generator): the checks test the API,
# and gdnp's full-batch epochs made them the slowest part of the suite
_CHECKS = parametrize_with_checks(
    [cls(solver=solver, max_iter=100)
     for cls in (NormalizedMLPClassifier, NormalizedMLPRegressor)
     for solver in SOLVERS],
)


@_with_ids(_CHECKS, _check_id)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


# -- estimators: behaviour ---------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16.0, y[:600]


@pytest.mark.parametrize("solver", SOLVERS)
def test_every_solver_learns_digits(digits, solver):
    X, y = digits
    clf = NormalizedMLPClassifier(hidden_layer_sizes=(32,), solver=solver,
                                  max_iter=40, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X[:400], y[:400])
    # 400 training digits, 40 epochs: chance is 0.1
    assert clf.score(X[400:], y[400:]) > 0.5
    assert len(clf.loss_curve_) == clf.n_iter_
    assert clf.loss_curve_[-1] < 0.5 * clf.loss_curve_[0]
    if solver in ("gd", "agd"):
        assert clf.scales_ is None
    else:
        assert [g.shape for g in clf.scales_] == [(32,)]


@pytest.mark.parametrize("solver", SOLVERS)
def test_no_hidden_layer_is_a_linear_model(solver):
    X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = NormalizedMLPClassifier(hidden_layer_sizes=(), solver=solver,
                                      max_iter=50, random_state=0).fit(X, y)
    assert clf.n_layers_ == 2 and clf.coefs_[0].shape == (5, 1)
    assert clf.score(X, y) > 0.8


def test_bn_prediction_uses_population_statistics(digits):
    X, y = digits
    clf = NormalizedMLPClassifier(hidden_layer_sizes=(20, 10), max_iter=5,
                                  random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    params = {"W": clf.coefs_, "b": clf.intercepts_, "g": clf.scales_}
    s = np.full(X.shape[0], 1.0 / X.shape[0])
    O_train, _ = Network("bn", "tanh", "log_loss", 0.0).forward(X, params, s)
    # with the training set as the batch, prediction mode is training mode
    np.testing.assert_allclose(clf.decision_function(X), O_train, rtol=1e-9,
                               atol=1e-9)
    # and a single row is predicted as within the whole set
    np.testing.assert_allclose(clf.decision_function(X[3:4])[0], O_train[3],
                               rtol=1e-9, atol=1e-9)


def test_sparse_input_stays_sparse_and_matches_dense():
    X, y = make_classification(n_samples=120, n_features=15, random_state=0)
    X[np.abs(X) < 0.8] = 0.0
    Xs = sp.csr_matrix(X)

    class NoDense(sp.csr_matrix):
        def toarray(self, *a, **k):
            raise AssertionError("densified")

        todense = toarray

    kw = dict(hidden_layer_sizes=(8,), max_iter=15, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense = NormalizedMLPClassifier(**kw).fit(X, y)
        sparse = NormalizedMLPClassifier(**kw).fit(NoDense(Xs), y)
    np.testing.assert_allclose(sparse.coefs_[0], dense.coefs_[0], rtol=1e-9,
                               atol=1e-12)
    np.testing.assert_allclose(sparse.predict_proba(Xs), dense.predict_proba(X),
                               rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("solver", SOLVERS)
def test_inputs_are_not_modified(solver):
    X, y = make_classification(n_samples=60, n_features=5, random_state=0)
    sw = np.linspace(0.5, 2.0, 60)
    copies = X.copy(), y.copy(), sw.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        NormalizedMLPClassifier(solver=solver, hidden_layer_sizes=(4,),
                                max_iter=3).fit(X, y, sample_weight=sw)
    for a, b in zip((X, y, sw), copies, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("solver", SOLVERS)
def test_float32_stays_float32(solver):
    X, y = make_classification(n_samples=80, n_features=5, random_state=0)
    X32 = X.astype(np.float32)
    kw = dict(solver=solver, hidden_layer_sizes=(6,), max_iter=10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m32 = NormalizedMLPClassifier(**kw).fit(X32, y)
        m64 = NormalizedMLPClassifier(**kw).fit(X, y)
    arrays = [*m32.coefs_, *m32.intercepts_, *(m32.scales_ or []),
              *(m32.bn_means_ or []), *(m32.bn_stds_ or [])]
    assert all(a.dtype == np.float32 for a in arrays)
    np.testing.assert_allclose(m32.predict_proba(X32), m64.predict_proba(X),
                               atol=2e-3)


def test_sample_weight_is_a_weighted_loss_and_weighted_statistics():
    """Full batch: integer weights equal repeated rows exactly."""
    X, y = make_classification(n_samples=40, n_features=5, random_state=1)
    w = np.random.RandomState(0).randint(1, 4, 40)
    kw = dict(solver="gdnp", hidden_layer_sizes=(6,), max_iter=8, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = NormalizedMLPClassifier(**kw).fit(X, y, sample_weight=w)
        repeated = NormalizedMLPClassifier(**kw).fit(np.repeat(X, w, axis=0),
                                                     np.repeat(y, w))
    np.testing.assert_allclose(weighted.loss_curve_, repeated.loss_curve_,
                               rtol=1e-9)
    np.testing.assert_allclose(weighted.predict_proba(X),
                               repeated.predict_proba(X), rtol=1e-8, atol=1e-12)


def test_early_stopping_keeps_the_best_validation_epoch(digits):
    X, y = digits
    clf = NormalizedMLPClassifier(hidden_layer_sizes=(16,), early_stopping=True,
                                  n_iter_no_change=3, max_iter=100,
                                  random_state=0).fit(X, y)
    assert clf.best_loss_ is None
    assert len(clf.validation_scores_) == clf.n_iter_ < 100
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    # the stored model is the best epoch's: refit to that epoch and compare
    best = int(np.argmax(clf.validation_scores_)) + 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # the same stall count: the adaptive schedule shrinks the steps on
        # the same epochs
        again = NormalizedMLPClassifier(hidden_layer_sizes=(16,),
                                        early_stopping=True, max_iter=best,
                                        n_iter_no_change=3,
                                        random_state=0).fit(X, y)
    np.testing.assert_allclose(again.coefs_[0], clf.coefs_[0], rtol=1e-10)


@pytest.mark.parametrize("Est", [NormalizedMLPClassifier, NormalizedMLPRegressor])
def test_auto_early_stopping_holds_out_above_ten_thousand_rows(Est):
    # "auto": the classifier holds out a validation set above 10000 rows,
    # the regressor never; True and False mean what they say for both
    from skbnorm.mlp._estimators import AUTO_EARLY_STOPPING_ROWS

    rng = np.random.RandomState(0)
    n = AUTO_EARLY_STOPPING_ROWS
    X = rng.randn(n + 1, 3)
    y = (X[:, 0] > 0).astype(int) if Est is NormalizedMLPClassifier else X[:, 0]
    kw = dict(hidden_layer_sizes=(3,), max_iter=2, batch_size=2000,
              random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        big = Est(**kw).fit(X, y)
        small = Est(**kw).fit(X[:n], y[:n])
        off = Est(early_stopping=False, **kw).fit(X, y)
        on = Est(early_stopping=True, **kw).fit(X[:n], y[:n])
        same = Est(early_stopping=Est is NormalizedMLPClassifier, **kw).fit(X, y)
    if Est is NormalizedMLPClassifier:
        assert big.do_early_stopping_ and len(big.validation_scores_) == 2
        assert big.best_loss_ is None
    else:
        assert not big.do_early_stopping_ and big.validation_scores_ is None
    assert not small.do_early_stopping_ and small.validation_scores_ is None
    assert not off.do_early_stopping_ and off.validation_scores_ is None
    assert on.do_early_stopping_ and len(on.validation_scores_) == 2
    # "auto" is the explicit setting it resolves to, bit for bit
    np.testing.assert_array_equal(same.coefs_[0], big.coefs_[0])


def test_warm_start_with_early_stopping_keeps_the_best_so_far(digits):
    X, y = digits
    clf = NormalizedMLPClassifier(hidden_layer_sizes=(16,), early_stopping=True,
                                  warm_start=True, random_state=0).fit(X, y)
    best = clf.best_validation_score_
    kept = [W.copy() for W in clf.coefs_]
    # a step so large that no new epoch scores as well
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.set_params(learning_rate=100.0, max_iter=3).fit(X, y)
    assert max(clf.validation_scores_[-3:]) < best
    assert clf.best_validation_score_ == best
    for a, b in zip(clf.coefs_, kept, strict=True):
        np.testing.assert_array_equal(a, b)


def test_zero_weight_validation_split_is_an_error():
    X, y = make_classification(n_samples=40, n_features=4, random_state=0)
    sw = np.zeros(40)
    sw[:8] = 1.0
    for seed in range(20):
        clf = NormalizedMLPClassifier(early_stopping=True, validation_fraction=0.2,
                                      random_state=seed)
        try:
            clf.fit(X, y, sample_weight=sw)
        except ValueError as exc:
            assert "split has zero total sample weight" in str(exc)
            break
    else:
        pytest.fail("no seed put all weight in one split")


def test_bn_skips_batches_with_one_weighted_sample():
    """One positively weighted row makes the batch variance zero; such a
    batch would send the other rows' normalized values to ~1e5 per layer."""
    X, y = make_classification(n_samples=200, n_features=6, random_state=0)
    sw = np.zeros(200)
    sw[::10] = 1.0
    clf = NormalizedMLPClassifier(hidden_layer_sizes=(20,) * 8, activation="relu",
                                  batch_size=10, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.filterwarnings("ignore", "Stopped at max_iter",
                                ConvergenceWarning)
        clf.fit(X.astype(np.float32), y, sample_weight=sw)
    assert clf.n_iter_ == 5
    assert all(np.all(np.isfinite(W)) for W in clf.coefs_)


def test_warm_start_on_rescaled_targets_is_not_divergence():
    rng = np.random.RandomState(0)
    X = rng.randn(300, 3)
    y = X[:, 0] - X[:, 1]
    reg = NormalizedMLPRegressor(hidden_layer_sizes=(8,), warm_start=True,
                                 max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Stopped at max_iter",
                                ConvergenceWarning)
        warnings.filterwarnings("error", ".*diverged", ConvergenceWarning)
        reg.fit(X, 3000 * y)
    assert reg.n_iter_ > 20  # the second call trained


def test_warm_start_continues(digits):
    X, y = digits
    kw = dict(hidden_layer_sizes=(10,), max_iter=4, random_state=0,
              warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = NormalizedMLPClassifier(**kw).fit(X, y)
        first = clf.coefs_[0].copy()
        clf.fit(X, y)
    assert clf.n_iter_ == 8 and len(clf.loss_curve_) == 8
    assert not np.allclose(clf.coefs_[0], first)
    assert clf.loss_curve_[-1] < clf.loss_curve_[3]


def test_divergence_warns_and_keeps_finite_parameters():
    X, y = make_classification(n_samples=100, n_features=5, random_state=0)
    X = X * 1e3
    clf = NormalizedMLPRegressor(solver="gd", learning_rate=1e3, max_iter=50,
                                 random_state=0)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        clf.fit(X, y * 1e3)
    assert all(np.all(np.isfinite(W)) for W in clf.coefs_)
    assert np.all(np.isfinite(clf.predict(X)))


@pytest.mark.parametrize("solver", SOLVERS)
def test_regressor_raw_scale_targets(solver):
    # raw diabetes targets (25-346) made the defaults diverge to predictions
    # near -9e5 (test R^2 -1.5e8); standardised internally, the fit is the
    # same for y and 1e4 * y and beats predicting the mean on held-out rows.
    # The two standardised targets differ by rounding, which 200 epochs of
    # training amplify (agd's momentum most: 3.5e-5 measured) -- hence rtol
    from sklearn.datasets import load_diabetes
    from sklearn.model_selection import train_test_split

    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    Xa, Xb, ya, yb = train_test_split(X, y, test_size=0.25, random_state=0)
    preds = []
    for factor in (1.0, 1e4):
        reg = NormalizedMLPRegressor(solver=solver, random_state=0)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Stopped at max_iter",
                                    ConvergenceWarning)
            warnings.filterwarnings("error", ".*diverged", ConvergenceWarning)
            reg.fit(Xa, factor * ya)
        assert np.all(np.isfinite(reg.predict(Xb)))
        assert reg.score(Xb, factor * yb) > 0.1
        preds.append(reg.predict(Xb) / factor)
    np.testing.assert_allclose(preds[1], preds[0], rtol=1e-3)


@pytest.mark.parametrize("solver", ["bn", "gd"])
def test_regressor_targets_of_any_size(solver):
    # the standardisation had an absolute floor of 1e-12 on the spread, so
    # targets of 1e-20 were left unscaled (R^2 = -4e37), and it squared y:
    # 1e-160 underflowed, 1e154 overflowed (a ValueError on infinity); now
    # the fit is the same at every size
    rng = np.random.RandomState(0)
    X = rng.standard_normal((80, 3))
    y = np.tanh(X @ [1.0, -1.0, 0.5]) + 0.1 * rng.standard_normal(80)
    ref = None
    for factor in (1.0, 1e-20, 1e-160, 1e154, 1e300):
        reg = NormalizedMLPRegressor(solver=solver, max_iter=30, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            reg.fit(X, factor * y)
        pred = reg.predict(X) / factor
        if ref is None:
            ref = pred
        np.testing.assert_allclose(pred, ref, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("learning_rate", [1.05, 1.2])
def test_unstable_fit_returns_the_best_epoch_not_the_last(learning_rate):
    # full-batch gd past its stable step: at 1.05 the loss falls from 0.89
    # to 0.02, then climbs to 1.1 and the fit stops on "no improvement"; at
    # 1.2 it overflows. Either way the model returned is the best seen
    # (batch_size = n: an epoch's loss is that of the parameters it starts
    # from), never the last one, and never worse than the start
    rng = np.random.RandomState(0)
    X = rng.randn(200, 4)
    y = X @ rng.randn(4)
    # (constant steps: the adaptive schedule would shrink them at the stall)
    reg = NormalizedMLPRegressor(solver="gd", hidden_layer_sizes=(20,),
                                 learning_rate=learning_rate, batch_size=200,
                                 learning_rate_schedule="constant",
                                 max_iter=300, random_state=0)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        reg.fit(X, y)
    half_mse = np.mean((reg.predict(X) - y) ** 2) / np.var(y) / 2
    coef_norm = sum(np.sum(W * W) for W in reg.coefs_)
    objective = half_mse + reg.alpha / 200 / 2 * coef_norm
    np.testing.assert_allclose(objective, min(reg.loss_curve_), rtol=1e-9)
    assert objective <= reg.loss_curve_[0] * (1 + 1e-12)
    assert reg.loss_curve_[-1] > 2 * objective


def test_regressor_fits_a_smooth_function():
    rng = np.random.RandomState(0)
    X = rng.randn(1000, 3)
    Y = np.column_stack([np.sin(X[:, 0]) + X[:, 1] * X[:, 2], X[:, 0] ** 2])
    reg = NormalizedMLPRegressor(hidden_layer_sizes=(40,),
                                 random_state=0).fit(X[:800], Y[:800])
    assert reg.predict(X[800:]).shape == (200, 2)
    assert reg.score(X[800:], Y[800:]) > 0.85


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(hidden_layer_sizes=(10, 0)), "hidden_layer_sizes"),
        (dict(batch_size=0), "batch_size"),
        (dict(solver="newton"), "solver"),
        (dict(learning_rate=0.0), "learning_rate"),
    ],
)
def test_bad_parameters(params, match):
    X, y = make_classification(n_samples=30, n_features=4, random_state=0)
    with pytest.raises(ValueError, match=match):
        NormalizedMLPClassifier(**params).fit(X, y)


def test_bad_data():
    X, y = make_classification(n_samples=30, n_features=4, random_state=0)
    with pytest.raises(ValueError, match="at least 2 classes"):
        NormalizedMLPClassifier().fit(X, np.zeros(30))
    with pytest.raises(ValueError, match="at least 2"):
        NormalizedMLPRegressor().fit(X[:1], y[:1])
    with pytest.raises(ValueError, match="non-zero"):
        NormalizedMLPClassifier().fit(X, y, sample_weight=np.zeros(30))


def test_grid_search_over_solvers_in_a_pipeline(digits):
    X, y = digits
    pipe = make_pipeline(StandardScaler(),
                         NormalizedMLPClassifier(hidden_layer_sizes=(16,),
                                                 batch_size=50, max_iter=30,
                                                 random_state=0))
    grid = GridSearchCV(pipe, {"normalizedmlpclassifier__solver": list(SOLVERS)},
                        cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        grid.fit(X, y)
    # gdnp ignores batch_size (full batch), so one grid holds every solver
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    assert grid.best_score_ > 0.8
    assert set(grid.cv_results_["param_normalizedmlpclassifier__solver"]) == set(
        SOLVERS)


class _EpochRecorder:
    """A minimal scikit-learn FitCallback that records every epoch."""

    def __init__(self, stop_after=None):
        self.stop_after = stop_after
        self.coefs = []
        self.outer = 0

    def setup(self, estimator, context):
        self.coefs = []

    def on_fit_task_begin(self, estimator, context):
        if context.task_name != "epoch":
            self.outer += 1

    def on_fit_task_end(self, estimator, context, *, fitted_estimator):
        if context.task_name == "epoch":
            self.coefs.append([W.copy() for W in fitted_estimator.coefs_])
            return (self.stop_after is not None
                    and len(self.coefs) >= self.stop_after)
        return False

    def teardown(self, estimator, context):
        pass


@pytest.mark.parametrize("solver", SOLVERS)
def test_callbacks_see_every_epoch_and_can_stop(solver):
    X, y = make_classification(120, 6, random_state=0)
    kw = dict(hidden_layer_sizes=(5,), solver=solver, max_iter=6, tol=0.0,
              random_state=0)
    if solver == "gdnp":
        kw["learning_rate"] = 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = NormalizedMLPClassifier(**kw).fit(X, y)
        rec = _EpochRecorder()
        watched = NormalizedMLPClassifier(**kw).set_callbacks(rec).fit(X, y)
    # one record per epoch, the last one the fitted model; the callback
    # changes nothing
    assert len(rec.coefs) == watched.n_iter_ == plain.n_iter_
    assert rec.outer == 1
    for a, b in zip(rec.coefs[-1], watched.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(plain.coefs_, watched.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    # a callback returning True ends the fit after that epoch, with the
    # model it saw and without a ConvergenceWarning
    stopper = _EpochRecorder(stop_after=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        stopped = NormalizedMLPClassifier(**kw).set_callbacks(stopper).fit(X, y)
    assert stopped.n_iter_ == 2 == len(stopped.loss_curve_)
    for a, b in zip(stopper.coefs[-1], stopped.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.filterwarnings(
    "error::pytest.PytestUnhandledThreadExceptionWarning")  # the bar's thread
def test_progress_bar_callback_runs():
    pytest.importorskip("rich")  # a test extra (scikit-learn's bar needs it)
    from sklearn.callback import ProgressBar

    X, y = make_classification(100, 5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = NormalizedMLPClassifier(hidden_layer_sizes=(4,), max_iter=3,
                                      random_state=0)
        clf.set_callbacks(ProgressBar()).fit(X, y)
    assert clf.n_iter_ == 3


def test_loss_curve_and_best_scores_are_recorded(digits):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = NormalizedMLPClassifier(hidden_layer_sizes=(16,), max_iter=8,
                                      random_state=0).fit(X, y)
        es = NormalizedMLPClassifier(hidden_layer_sizes=(16,), max_iter=8,
                                     early_stopping=True,
                                     random_state=0).fit(X, y)
    assert len(clf.loss_curve_) == clf.n_iter_
    assert clf.best_loss_ == min(clf.loss_curve_)
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None
    assert len(es.validation_scores_) == es.n_iter_
    assert es.best_validation_score_ == max(es.validation_scores_)
    assert es.best_loss_ is None


@pytest.mark.parametrize("solver", ["bn", "agd"])
def test_adaptive_schedule_goes_on_with_smaller_steps_after_a_stall(solver):
    rng = np.random.RandomState(0)
    X = rng.randn(300, 3)
    y = np.sin(X[:, 0]) + 0.1 * rng.randn(300)
    kw = dict(solver=solver, hidden_layer_sizes=(8,), tol=1e-2,
              n_iter_no_change=2, max_iter=200, random_state=0)
    const = NormalizedMLPRegressor(learning_rate_schedule="constant",
                                   **kw).fit(X, y)
    adapt = NormalizedMLPRegressor(**kw).fit(X, y)
    k = const.n_iter_
    # the same path up to the first stall, then more epochs at smaller steps
    np.testing.assert_array_equal(adapt.loss_curve_[:k], const.loss_curve_)
    assert k < adapt.n_iter_ < kw["max_iter"]
    assert adapt.best_loss_ <= const.best_loss_
    # a stall on the last allowed epoch ends the fit as converged, as with
    # constant steps: no ConvergenceWarning
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        last = NormalizedMLPRegressor(**{**kw, "max_iter": k}).fit(X, y)
    assert last.n_iter_ == k


@pytest.mark.parametrize("solver", SOLVERS)
def test_each_epochs_model_predicts_as_the_fit_would_store_it(solver):
    # the first fit of an estimator: nothing of an earlier fit to fall back on
    X, y = make_classification(120, 6, random_state=0)
    kw = dict(hidden_layer_sizes=(5,), solver=solver, max_iter=3, tol=0.0,
              random_state=0)
    cb = PredictingRecorder(X, "epoch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = NormalizedMLPClassifier(**kw).set_callbacks(cb).fit(X, y)
    assert len(cb.predictions) == clf.n_iter_ == 3
    np.testing.assert_array_equal(cb.predictions[-1], clf.predict(X))
    assert cb.begun == cb.ended == 1 + clf.n_iter_


def test_a_diverged_epoch_closes_its_callback_task():
    rng = np.random.RandomState(0)
    X = rng.randn(200, 4)
    y = X @ rng.randn(4)
    cb = PredictingRecorder(X, "epoch")
    reg = NormalizedMLPRegressor(solver="gd", hidden_layer_sizes=(20,),
                                 learning_rate=1.2, batch_size=200,
                                 learning_rate_schedule="constant",
                                 max_iter=300, random_state=0)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        reg.set_callbacks(cb).fit(X, y)
    assert cb.begun == cb.ended
    # the diverged epoch's task reports the model the fit keeps
    np.testing.assert_allclose(cb.predictions[-1], reg.predict(X))


def test_warnings_point_at_the_callers_line():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        NormalizedMLPClassifier(hidden_layer_sizes=(4,), max_iter=1,
                                random_state=0).fit(X, y)
    convergence = [w for w in caught
                   if issubclass(w.category, ConvergenceWarning)]
    assert convergence
    assert all(w.filename == __file__ for w in convergence)


@pytest.mark.parametrize("solver", SOLVERS)
def test_weights_leaving_one_class_raise(solver):
    X, y = make_classification(n_samples=40, n_features=4, random_state=0)
    sw = (y == 1).astype(float)  # class 0 has no weight at all
    with pytest.raises(ValueError, match="1 class.*positive sample_weight"):
        NormalizedMLPClassifier(solver=solver, hidden_layer_sizes=(3,),
                                max_iter=2).fit(X, y, sample_weight=sw)


def test_auto_early_stopping_trains_on_every_row_where_it_cannot_split():
    from skbnorm.mlp._estimators import AUTO_EARLY_STOPPING_ROWS

    rng = np.random.RandomState(0)
    n = AUTO_EARLY_STOPPING_ROWS + 1
    X = rng.randn(n, 3)
    y = (X[:, 0] > 0).astype(int)
    y[0] = 2  # a class of one sample: no stratified split exists
    kw = dict(hidden_layer_sizes=(3,), max_iter=2, batch_size=2000,
              random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = NormalizedMLPClassifier(**kw).fit(X, y)
    assert not clf.do_early_stopping_ and clf.validation_scores_ is None
    with pytest.raises(ValueError, match="early_stopping could not split"):
        NormalizedMLPClassifier(early_stopping=True, **kw).fit(X, y)


@pytest.mark.parametrize("solver", SOLVERS)
def test_features_whose_squares_leave_float64_raise(solver):
    # the networks square their inputs' sums (BN's variances, the gradients):
    # at 1e155 and at 1e-162 a BN network predicted one class without a
    # warning; now a ValueError says to rescale, and 1e+-148 fits (the BN
    # network exactly as at 1, being scale-invariant)
    X, y = make_classification(n_samples=120, n_features=4, random_state=0)
    for cls, target in ((NormalizedMLPClassifier, y),
                        (NormalizedMLPRegressor, X[:, 0] - X[:, 1])):
        est = cls(solver=solver, max_iter=50, random_state=0)
        for factor, what in ((1e151, "overflow"), (1e160, "overflow"),
                             (1e-151, "underflow"), (1e-200, "underflow")):
            for Xs in (X * factor, sp.csr_matrix(X * factor)):
                with pytest.raises(ValueError, match=f"column .* {what}"):
                    est.fit(Xs, target)
        # the networks train in X's dtype: subnormal float32 features (1e-40)
        # fitted one class
        with pytest.raises(ValueError, match="underflow float32"):
            est.fit((X * 1e-40).astype(np.float32), target)
    ref = NormalizedMLPClassifier(solver=solver, max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref.fit(X, y)
        for factor in (1e148, 1e-148):
            est = NormalizedMLPClassifier(solver=solver, max_iter=50,
                                          random_state=0).fit(X * factor, y)
            for P in est.coefs_ + est.intercepts_:
                assert np.all(np.isfinite(P))
            if solver == "bn":
                assert np.all(est.predict(X * factor) == ref.predict(X))
