"""The scikit-learn face: classes, OvR, probabilities, warm start, callbacks,
pipelines and model selection, sample weights, sparse/dense agreement."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbnorm import (
    HalfspaceClassifier,
    NormalizedLinearRegression,
    NormalizedLogisticRegression,
    NormalizedMLPRegressor,
)


def _binary(seed=0, n=200):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, 4))
    y = np.where(X @ [1.0, -1.0, 0.5, 0.0] + rng.standard_normal(n) > 0,
                 "spam", "ham")
    return X, y


def test_string_labels_and_binary_attributes():
    X, y = _binary()
    clf = NormalizedLogisticRegression(random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, ["ham", "spam"])
    assert clf.coef_.shape == (1, 4) and clf.intercept_.shape == (1,)
    assert clf.n_iter_.shape == (1,) and clf.scale_.shape == (1,)
    scores = clf.decision_function(X)
    assert scores.shape == (200,)
    np.testing.assert_array_equal(clf.predict(X),
                                  np.where(scores > 0, "spam", "ham"))
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-scores)))
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba))
    assert clf.loss_curve_.ndim == 1
    assert clf.loss_curve_.shape == clf.grad_norm_curve_.shape
    assert clf.loss_curve_.shape == (clf.n_iter_[0],)


def test_log_proba_does_not_overflow():
    X, y = _binary()
    clf = NormalizedLogisticRegression(random_state=0).fit(X, y)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        lp = clf.predict_log_proba(X * 1e6)
    assert np.all(np.isfinite(lp))


@pytest.mark.parametrize("est", [
    NormalizedLogisticRegression(multi_class="ovr", random_state=0),
    NormalizedLogisticRegression(solver="agd", random_state=0),
    HalfspaceClassifier(random_state=0)])
def test_multiclass_one_vs_rest(est):
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    assert est.coef_.shape == (3, 4) and est.intercept_.shape == (3,)
    assert isinstance(est.loss_curve_, list) and len(est.loss_curve_) == 3
    assert est.decision_function(X).shape == (150, 3)
    # each one-vs-rest problem is learnt; the argmax over their margins is a
    # weaker rule for the sigmoid, whose scales are unbounded and differ
    # between the problems (see HalfspaceClassifier's notes)
    for k in range(3):
        margin = est.decision_function(X)[:, k]
        assert np.mean((margin > 0) == (y == k)) > 0.7
    assert est.score(X, y) > (0.85 if hasattr(est, "predict_proba") else 0.7)
    if hasattr(est, "predict_proba"):
        np.testing.assert_allclose(est.predict_proba(X).sum(1), 1.0)


@pytest.mark.parametrize("solver,step", [("gdnp", "paper"), ("gdnp", "subspace"),
                                         ("gd", "paper"), ("agd", "paper"),
                                         ("bn", "paper"), ("wn", "paper")])
def test_sparse_and_dense_agree(solver, step):
    X, y = _binary(1)
    X[X < 0.2] = 0.0
    kw = dict(solver=solver, direction_step=step, max_iter=50, tol=0.0,
              random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense = NormalizedLogisticRegression(**kw).fit(X, y)
        sparse = NormalizedLogisticRegression(**kw).fit(sp.csr_matrix(X), y)
        csc = NormalizedLogisticRegression(**kw).fit(sp.csc_matrix(X), y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(csc.coef_, dense.coef_, rtol=1e-9, atol=1e-12)
    # with tol=0 the subspace step runs until no step decreases the
    # objective, an iteration that rounding decides: compare what both ran
    m = min(sparse.loss_curve_.size, dense.loss_curve_.size)
    if step == "paper":
        assert sparse.loss_curve_.size == dense.loss_curve_.size
    np.testing.assert_allclose(sparse.loss_curve_[:m], dense.loss_curve_[:m],
                               rtol=1e-10)


def test_float32_input_is_used_without_copy_and_fits():
    X, y = _binary(2)
    X32 = X.astype(np.float32)
    a = NormalizedLogisticRegression(random_state=0, tol=1e-8).fit(X32, y)
    b = NormalizedLogisticRegression(random_state=0, tol=1e-8).fit(X, y)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-5)
    assert a.coef_.dtype == np.float64


def test_plain_arrays_take_the_short_validation_with_the_same_result():
    # a C-ordered float ndarray with a 1-D label array skips check_X_y's
    # conversions (none would apply); everything else takes the full check
    from skbnorm.estimators._base import _plain_arrays

    X, y = _binary(4)
    yi = (y == "spam").astype(np.int64)
    assert _plain_arrays(X, yi)
    assert _plain_arrays(X.astype(np.float32), yi.astype(np.float64))
    assert not _plain_arrays(X, y)  # string labels: the full check
    assert not _plain_arrays(X.tolist(), yi)
    assert not _plain_arrays(np.asfortranarray(X), yi)
    assert not _plain_arrays(X.astype(np.int64), yi)
    assert not _plain_arrays(X, yi[:, None])
    assert not _plain_arrays(X, yi[:-1])
    assert not _plain_arrays(X[:0], yi[:0])
    Xn = X.copy()
    Xn[3, 1] = np.nan
    assert not _plain_arrays(Xn, yi)
    assert not _plain_arrays(X, np.where(yi == 1, np.inf, 0.0))
    for est in (NormalizedLogisticRegression(tol=1e-8),
                NormalizedLinearRegression()):
        fast = clone(est).fit(X, yi)
        full = clone(est).fit(X.tolist(), yi.tolist())
        np.testing.assert_array_equal(fast.coef_, full.coef_)
        assert fast.n_features_in_ == full.n_features_in_ == X.shape[1]
        # NaN is refused with scikit-learn's own message
        with pytest.raises(ValueError, match="Input X contains NaN"):
            clone(est).fit(Xn, yi)
    # an array large enough for the threaded finiteness pass (5 blocks),
    # the inf in the last
    rng = np.random.RandomState(0)
    Xb = rng.standard_normal((3001, 41))
    Xb[2900, 7] = np.inf
    with pytest.raises(ValueError, match="Input X contains infinity"):
        NormalizedLogisticRegression().fit(Xb, np.arange(3001) % 2)
    # names from an earlier fit on a DataFrame do not survive a refit on
    # an array (as scikit-learn's full check does)
    pd = pytest.importorskip("pandas")
    est = NormalizedLogisticRegression()
    est.fit(pd.DataFrame(X, columns=list("abcd")), yi)
    assert list(est.feature_names_in_) == list("abcd")
    est.fit(X, yi)
    assert not hasattr(est, "feature_names_in_")


def test_sample_weight_equals_repetition():
    X, y = _binary(3, n=60)
    rep = np.random.RandomState(0).randint(0, 3, 60)
    kw = dict(random_state=0, tol=1e-10, max_iter=5000)
    a = NormalizedLogisticRegression(**kw).fit(X, y, sample_weight=rep)
    b = NormalizedLogisticRegression(**kw).fit(np.repeat(X, rep, 0),
                                               np.repeat(y, rep))
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-7)
    np.testing.assert_allclose(a.intercept_, b.intercept_, rtol=1e-7)


def test_warm_start_resumes():
    X, y = _binary(4)
    clf = NormalizedLogisticRegression(solver="gd", max_iter=30, tol=1e-8,
                                       warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
        first = clf.loss_curve_.copy()
        clf.fit(X, y)
    # the second fit starts where the first stopped
    np.testing.assert_allclose(clf.loss_curve_[0], first[-1], rtol=1e-12)
    cold = NormalizedLogisticRegression(solver="gd", max_iter=30,
                                        random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cold.fit(X, y)
    np.testing.assert_allclose(cold.loss_curve_, first)


def test_fit_is_deterministic_for_a_seed():
    X, y = _binary(5)
    a = NormalizedLogisticRegression(random_state=7, max_iter=5, tol=0)
    b = NormalizedLogisticRegression(random_state=7, max_iter=5, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        np.testing.assert_array_equal(a.fit(X, y).coef_, b.fit(X, y).coef_)


class _Recorder:
    """A minimal callback following scikit-learn's FitCallback protocol."""

    def __init__(self, stop_after=None):
        self.stop_after = stop_after
        self.ends = 0
        self.coefs = []

    def setup(self, estimator, context):
        self.ends = 0

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context, *, fitted_estimator):
        if context.task_name == "iteration":
            self.ends += 1
            self.coefs.append(np.array(fitted_estimator.coef_, copy=True))
            return self.stop_after is not None and self.ends >= self.stop_after
        return False

    def teardown(self, estimator, context):
        pass


def test_callbacks_see_every_iteration_and_can_stop():
    X, y = _binary(6)
    rec = _Recorder()
    clf = NormalizedLogisticRegression(solver="gd", max_iter=8, tol=0.0,
                                       random_state=0)
    clf.set_callbacks(rec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert rec.ends == 8 == clf.n_iter_[0]
    np.testing.assert_allclose(rec.coefs[-1], clf.coef_)
    # a callback returning True stops the fit
    stopper = _Recorder(stop_after=3)
    clf = NormalizedLogisticRegression(max_iter=100, tol=0.0, random_state=0)
    clf.set_callbacks(stopper)
    clf.fit(X, y)
    # the iterate the callback saw last is evaluated and returned
    assert stopper.ends == 3 and clf.n_iter_[0] == 4
    np.testing.assert_allclose(stopper.coefs[-1], clf.coef_)
    # without callbacks the same fit is identical to the chunked one
    plain = NormalizedLogisticRegression(solver="gd", max_iter=8, tol=0.0,
                                         random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain.fit(X, y)
    np.testing.assert_array_equal(plain.coef_, rec.coefs[-1])


def test_pipeline_grid_search_over_solvers_and_cross_validation():
    X, y = _binary(7, n=150)
    pipe = make_pipeline(StandardScaler(),
                         NormalizedLogisticRegression(random_state=0,
                                                      max_iter=300))
    grid = GridSearchCV(
        pipe,
        {"normalizedlogisticregression__solver": ["gdnp", "agd", "bn"],
         "normalizedlogisticregression__C": [np.inf, 0.1]},
        cv=3,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        grid.fit(X, y)
        scores = cross_val_score(pipe, X, y, cv=3)
    assert grid.best_score_ > 0.7 and scores.mean() > 0.7


def test_regressor_curves_and_scale():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((80, 3))
    y = X @ [2.0, 0.0, -1.0] + 0.5
    for solver in ["gdnp", "bn", "wn", "gd", "agd"]:
        est = NormalizedLinearRegression(solver=solver, random_state=0).fit(X, y)
        assert est.loss_curve_.shape == (est.n_iter_,)
        assert est.suboptimality_ <= est.tol
        Xc = X - X.mean(0)
        s_norm = np.sqrt(np.mean((Xc @ est.coef_) ** 2))
        if solver == "wn":
            assert abs(abs(est.scale_) - np.linalg.norm(est.coef_)) < 1e-8
        else:
            assert abs(abs(est.scale_) - s_norm) < 1e-8
        if solver in ("gd", "agd"):
            assert est.direction_norm_curve_ is None
        else:
            assert est.direction_norm_curve_.shape == est.loss_curve_.shape


@pytest.mark.parametrize("solver", ["gdnp", "gd", "agd", "bn", "wn"])
def test_callbacks_do_not_change_the_fit(solver):
    X, y = _binary(8)
    kw = dict(solver=solver, max_iter=40, tol=0.0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = NormalizedLogisticRegression(**kw).fit(X, y)
        watched = NormalizedLogisticRegression(**kw).set_callbacks(_Recorder())
        watched.fit(X, y)
    np.testing.assert_array_equal(watched.coef_, plain.coef_)
    np.testing.assert_array_equal(watched.loss_curve_, plain.loss_curve_)


@pytest.mark.parametrize("solver", ["gdnp", "gd", "agd", "bn", "wn"])
def test_a_stopping_callback_gets_the_iterate_it_saw(solver):
    X, y = _binary(9)
    stopper = _Recorder(stop_after=5)
    clf = NormalizedLogisticRegression(solver=solver, max_iter=100, tol=0.0,
                                       random_state=0).set_callbacks(stopper)
    clf.fit(X, y)
    np.testing.assert_allclose(clf.coef_, stopper.coefs[-1], rtol=1e-12)


@pytest.mark.parametrize("make", [
    lambda: NormalizedLogisticRegression(),
    lambda: NormalizedLogisticRegression(multi_class="ovr"),
    lambda: HalfspaceClassifier(loss="sigmoid"),
    lambda: NormalizedLinearRegression(),
    lambda: NormalizedMLPRegressor(hidden_layer_sizes=(4,), max_iter=3),
])
@pytest.mark.filterwarnings(
    "error::pytest.PytestUnhandledThreadExceptionWarning")  # the bar's thread
def test_progress_bar_callback_runs(make):
    pytest.importorskip("rich")  # a test extra (scikit-learn's bar needs it)
    from sklearn.callback import ProgressBar

    X, y = load_iris(return_X_y=True)
    est = make()
    if isinstance(est, NormalizedLinearRegression | NormalizedMLPRegressor):
        y = X[:, 0].copy()
        X = X[:, 1:]
    elif isinstance(est, HalfspaceClassifier):
        y = y > 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.set_callbacks(ProgressBar()).fit(X, y)
    assert np.all(np.isfinite(est.predict(X)))
