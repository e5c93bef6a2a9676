"""The defaults on the public panel: no ConvergenceWarning, scikit-learn's accuracy.

The defaults issue's panel, as a new user runs it: a scaler pipeline
(``MaxAbsScaler`` for the sparse a9a, ``StandardScaler`` elsewhere), every
parameter at its default, a 75/25 stratified split (a9a: its own test
file). Each default estimator must fit without a ``ConvergenceWarning``, to
within ``tol``'s guarantee (a relative suboptimality of 1e-6), and score
within 0.002 of scikit-learn's counterpart at its defaults or better.
Times are the benchmark's business (``benchmarks/bench_defaults.py``).
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
    make_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MaxAbsScaler, StandardScaler

from skbnorm import (
    HalfspaceClassifier,
    NormalizedLinearRegression,
    NormalizedLogisticRegression,
)
from skbnorm.datasets import load_a9a

pytestmark = pytest.mark.needs_jit

CLASSIFICATION = ["breast_cancer", "digits", "wine", "iris",
                  "make_classification", "a9a"]
REGRESSION = ["diabetes", "make_regression"]


def _split(name):
    if name == "a9a":
        X, y = load_a9a("train")
        Xt, yt = load_a9a("test")
        return X, y, Xt, yt, MaxAbsScaler
    loaders = {"breast_cancer": load_breast_cancer, "digits": load_digits,
               "wine": load_wine, "iris": load_iris, "diabetes": load_diabetes}
    if name in loaders:
        X, y = loaders[name](return_X_y=True)
    elif name == "make_classification":
        X, y = make_classification(n_samples=20_000, n_features=50,
                                   n_informative=10, random_state=0)
    else:
        X, y = make_regression(n_samples=20_000, n_features=50,
                               n_informative=20, noise=10.0, random_state=0)
    stratify = y if name in CLASSIFICATION else None
    Xa, Xb, ya, yb = train_test_split(X, y, test_size=0.25, random_state=0,
                                      stratify=stratify)
    return Xa, ya, Xb, yb, StandardScaler


def _fit_without_warning(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        return est.fit(X, y)


@pytest.mark.parametrize("name", CLASSIFICATION)
def test_default_logistic_regression_on_the_public_panel(name):
    Xa, ya, Xb, yb, scaler = _split(name)
    ours = _fit_without_warning(
        make_pipeline(scaler(), NormalizedLogisticRegression()), Xa, ya)
    assert np.all(ours[-1].suboptimality_ <= 1e-6)
    ref = make_pipeline(scaler(), LogisticRegression())
    with warnings.catch_warnings():
        # scikit-learn's lbfgs may warn; the comparison is with what it returns
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref.fit(Xa, ya)
    assert ours.score(Xb, yb) >= ref.score(Xb, yb) - 0.002


@pytest.mark.parametrize("name", CLASSIFICATION)
def test_default_penalised_sigmoid_converges_on_the_public_panel(name):
    # the sigmoid with finite C has a finite minimiser: the default fit
    # reaches it (a local one: the loss is not convex) without a warning
    Xa, ya, _, _, scaler = _split(name)
    est = _fit_without_warning(
        make_pipeline(scaler(), HalfspaceClassifier()), Xa, ya)
    assert np.all(np.isfinite(est[-1].coef_))


@pytest.mark.parametrize("name", REGRESSION)
def test_default_linear_regression_on_the_public_panel(name):
    Xa, ya, Xb, yb, scaler = _split(name)
    ours = _fit_without_warning(
        make_pipeline(scaler(), NormalizedLinearRegression()), Xa, ya)
    ref = make_pipeline(scaler(), LinearRegression()).fit(Xa, ya)
    assert ours.score(Xb, yb) >= ref.score(Xb, yb) - 0.002
