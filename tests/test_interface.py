"""The solver interface, the threading policy and DataFrame pipelines.

* Every registered solver runs through the one interface the estimators
  use (``make_solver`` -> ``start`` -> ``evaluate``/``step`` -> ``result``)
  and gives the estimator's own fit; unknown names are rejected.
* A fit in a child process started next to processes that keep both cores
  busy finishes, and never launches numba's parallel (OpenMP) layer, whose
  busy-waiting made two concurrent fits 19-30x slower.
* Tabular users hand over DataFrames: a ``ColumnTransformer`` pipeline with
  categorical and numeric columns runs end to end.
"""

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skbnorm import (
    HalfspaceClassifier,
    NormalizedLinearRegression,
    NormalizedLogisticRegression,
    NormalizedMLPClassifier,
)
from skbnorm.objectives import LOSS_CODES, Design
from skbnorm.solvers import Problem, SolverOptions, Status, make_solver
from skbnorm.solvers._base import solver_names


def _problem(rng, n=300, d=5, code="softplus", tol=1e-8):
    X = rng.standard_normal((n, d))
    y = np.where(X @ rng.standard_normal(d) + rng.standard_normal(n) > 0,
                 1.0, -1.0)
    s = np.full(n, 1.0 / n)
    xbar = s @ X
    alpha = 1.0 / n  # C = 1
    return X, y, Problem(Design(X, xbar), y, s, LOSS_CODES[code], alpha,
                         True, tol)


@pytest.mark.parametrize("name", solver_names())
def test_every_registered_solver_runs_through_the_interface(name):
    rng = np.random.RandomState(0)
    X, y, p = _problem(rng)
    solver = make_solver(name, p, SolverOptions())
    solver.start(None, 0.0, np.random.RandomState(1))
    status = Status.RUNNING
    for _ in range(5000):
        status = solver.evaluate()
        if status != Status.RUNNING:
            break
        status = solver.step()
        if status != Status.RUNNING:
            break
    assert isinstance(status, Status)
    assert status == Status.CONVERGED, status
    curve = np.asarray(solver.loss_curve)
    assert np.all(np.isfinite(curve)) and curve[-1] < curve[0]
    coef, intercept = solver.result()
    assert coef.shape == (X.shape[1],) and np.isfinite(intercept)
    # the estimator drives the same interface to the same minimiser
    est = NormalizedLogisticRegression(solver=name, tol=1e-8,
                                       max_iter=5000, random_state=1).fit(X, y)
    np.testing.assert_allclose(est.coef_.ravel(), coef, rtol=1e-4, atol=1e-6)


def test_unknown_solver_names_are_rejected():
    rng = np.random.RandomState(0)
    _, _, p = _problem(rng)
    with pytest.raises(ValueError, match="unknown solver 'newton'.*registered"):
        make_solver("newton", p, SolverOptions())
    X = rng.standard_normal((20, 3))
    y = np.arange(20) % 2
    with pytest.raises(ValueError, match="solver"):
        NormalizedLogisticRegression(solver="lbfgs").fit(X, y)


# -- threading policy ---------------------------------------------------------

_BUSY = "while True: pass"

_CHILD_FIT = textwrap.dedent("""
    import time
    import numba
    from skbnorm import NormalizedLogisticRegression
    from skbnorm.datasets import load_a9a
    X, y = load_a9a("train")
    t0 = time.perf_counter()
    NormalizedLogisticRegression(solver="agd", max_iter=300, tol=0).fit(X, y)
    try:
        layer = numba.threading_layer()
    except ValueError:  # never initialised: no parallel region ran
        layer = "none"
    print(layer, time.perf_counter() - t0)
""")


@pytest.mark.needs_jit
def test_a_fit_next_to_busy_processes_finishes_without_openmp():
    busy = [subprocess.Popen([sys.executable, "-c", _BUSY])
            for _ in range(2)]
    try:
        # generous: the fit alone takes about 0.5 s; the old OpenMP layer
        # took 19-30x its time next to one other fit, and spinning
        # workers next to two busy loops would take minutes
        out = subprocess.run([sys.executable, "-c", _CHILD_FIT],
                             capture_output=True, text=True, timeout=240,
                             check=True)
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()
    layer, _seconds = out.stdout.split()
    assert layer == "none"


# -- DataFrame pipelines ------------------------------------------------------

def _frame(n=240, seed=0):
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(seed)
    df = pd.DataFrame({
        "age": rng.uniform(18, 80, n),
        "income": rng.lognormal(10, 1, n),
        "city": rng.choice(["Lyon", "Oslo", "Quito"], n),
        "plan": pd.Categorical(rng.choice(["basic", "pro"], n)),
    })
    score = (0.05 * (df["age"] - 50) + 0.5 * (df["city"] == "Oslo")
             - 0.8 * (df["plan"] == "pro") + rng.standard_normal(n) * 0.5)
    return df, score.to_numpy()


def _pipeline(estimator):
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    pre = ColumnTransformer([
        ("num", StandardScaler(), ["age", "income"]),
        ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
         ["city", "plan"]),
    ])
    return make_pipeline(pre, estimator).set_output(transform="pandas")


@pytest.mark.parametrize("make, target", [
    (NormalizedLogisticRegression, "class"),
    (lambda: HalfspaceClassifier(loss="sigmoid"), "class"),
    (NormalizedLinearRegression, "value"),
    (lambda: NormalizedMLPClassifier(hidden_layer_sizes=(8,), max_iter=30,
                                     random_state=0), "class"),
])
def test_column_transformer_pipeline_on_a_dataframe(make, target):
    df, score = _frame()
    y = np.where(score > 0, "yes", "no") if target == "class" else score
    pipe = _pipeline(make())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the short MLP
        pipe.fit(df, y)
    names = list(pipe[0].get_feature_names_out())
    assert names == ["num__age", "num__income", "cat__city_Lyon",
                     "cat__city_Oslo", "cat__city_Quito", "cat__plan_basic",
                     "cat__plan_pro"]
    assert list(pipe.feature_names_in_) == list(df.columns)
    # the estimator saw the transformer's DataFrame and kept its names
    assert list(pipe[-1].feature_names_in_) == names
    assert pipe[-1].n_features_in_ == len(names)
    pred = pipe.predict(df.iloc[:17])
    assert pred.shape == (17,)
    if target == "class":
        assert set(pred) <= {"yes", "no"}
        assert pipe.score(df, y) > 0.7
    else:
        assert pipe.score(df, y) > 0.5
    # a DataFrame with the columns in another order is a user error
    with pytest.raises(ValueError, match="feature names"):
        pipe[-1].predict(pipe[0].transform(df)[names[::-1]])


@pytest.mark.parametrize("est", [NormalizedLogisticRegression(),
                                 HalfspaceClassifier(loss="sigmoid"),
                                 NormalizedLinearRegression()])
def test_cached_parameter_names_are_each_classs_own(est):
    # the estimators cache the constructor's parameter names (scikit-learn
    # reads the signature on every get_params); each class keeps its own
    import inspect

    cls = type(est)
    expected = sorted(p for p in inspect.signature(cls.__init__).parameters
                      if p != "self")
    for _ in range(2):
        assert sorted(est.get_params(deep=False)) == expected
        names = cls._get_param_names()
        names.append("mutated")  # a copy: the cache is not exposed
    assert "mutated" not in cls._get_param_names()


def test_random_state_is_drawn_from_only_by_solvers_that_use_it():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((120, 4))
    y = np.array(["a", "b", "c"])[rng.randint(0, 3, 120)]
    # one-vs-rest from random starts: the three problems draw in turn from
    # one generator, whether it is given as a seed or as an instance
    kw = dict(solver="gd", max_iter=20, tol=0.0, multi_class="ovr")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = NormalizedLogisticRegression(random_state=3, **kw).fit(X, y)
        b = NormalizedLogisticRegression(
            random_state=np.random.RandomState(3), **kw).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    # the default solver starts at coef = 0: a generator handed to it is
    # left where it was
    state = np.random.RandomState(5)
    before = state.get_state()[1].copy(), state.get_state()[2]
    NormalizedLogisticRegression(random_state=state).fit(X, y)
    after = state.get_state()[1], state.get_state()[2]
    np.testing.assert_array_equal(before[0], after[0])
    assert before[1] == after[1]


def test_lazy_random_state_copies_and_draws_like_its_generator():
    import copy

    from skbnorm.estimators._base import LazyRandomState

    lazy = LazyRandomState(7)
    np.testing.assert_array_equal(lazy.standard_normal(3),
                                  np.random.RandomState(7).standard_normal(3))
    twin = copy.deepcopy(lazy)  # no recursion through __getattr__
    np.testing.assert_array_equal(twin.standard_normal(2),
                                  lazy.standard_normal(2))
