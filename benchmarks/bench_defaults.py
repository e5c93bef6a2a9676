"""The estimators at their defaults against scikit-learn's, as a new user runs them.

``make_pipeline(StandardScaler(), Estimator())`` (``MaxAbsScaler`` for the
sparse a9a) for both libraries, every parameter at its default, a 75/25
stratified split (a9a: its own train/test files), one untimed fit first,
then the best of ``REPEATS`` fits, all measured side by side in one process
(the libraries alternate round by round). Columns: fit seconds, test score
(accuracy; R^2 for regression), whether the first fit raised a
``ConvergenceWarning``, and the ratio of times.

Panels: ``NormalizedLogisticRegression()`` against ``LogisticRegression()``
on breast_cancer, digits, wine, iris, a9a and make_classification (20000 x
50); ``HalfspaceClassifier()`` (the penalised sigmoid) next to them;
``NormalizedLinearRegression()`` against ``LinearRegression()`` on
diabetes and make_regression (20000 x 50).

``--blas-1`` runs both libraries with BLAS limited to one thread: on a
small machine OpenBLAS's default threads slow scikit-learn's lbfgs on
digits 13x (0.24 s against 0.018 s on two cores), which flatters us; the
fair reading is the one-thread table. ``--quick`` leaves out a9a.

Targets of the defaults issue: no ConvergenceWarning; test accuracy within
0.002 of LogisticRegression()'s or better; fit time <= LogisticRegression()'s
on the sets of 10000+ rows and <= 2x on the smaller ones.
"""

import sys
import time
import warnings

import numpy as np
from _harness import Table
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

REPEATS = 3
LARGE = 10_000


def classification_sets(quick):
    sets = {
        "breast_cancer": load_breast_cancer(return_X_y=True),
        "digits": load_digits(return_X_y=True),
        "wine": load_wine(return_X_y=True),
        "iris": load_iris(return_X_y=True),
    }
    X, y = make_classification(n_samples=20_000, n_features=50,
                               n_informative=10, random_state=0)
    sets["make_classification 20000x50"] = (X, y)
    out = {}
    for name, (X, y) in sets.items():
        Xa, Xb, ya, yb = train_test_split(X, y, test_size=0.25, random_state=0,
                                          stratify=y)
        out[name] = (Xa, ya, Xb, yb, StandardScaler)
    if not quick:
        X, y = load_a9a("train")
        Xt, yt = load_a9a("test")
        out["a9a"] = (X, y, Xt, yt, MaxAbsScaler)
    return out


def regression_sets():
    X, y = load_diabetes(return_X_y=True)
    out = {}
    Xa, Xb, ya, yb = train_test_split(X, y, test_size=0.25, random_state=0)
    out["diabetes"] = (Xa, ya, Xb, yb, StandardScaler)
    X, y = make_regression(n_samples=20_000, n_features=50, n_informative=20,
                           noise=10.0, random_state=0)
    Xa, Xb, ya, yb = train_test_split(X, y, test_size=0.25, random_state=0)
    out["make_regression 20000x50"] = (Xa, ya, Xb, yb, StandardScaler)
    return out


def _first(make, X, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        est = make().fit(X, y)
    return est, any(issubclass(w.category, ConvergenceWarning) for w in caught)


def compare(sets, contenders, repeats=REPEATS):
    """Rows of ``(set, name, seconds, score, warned, estimator)``, side by side."""
    rows = []
    for set_name, (Xa, ya, Xb, yb, scaler) in sets.items():
        makes = {name: (lambda Est=Est, scaler=scaler:
                        make_pipeline(scaler(), Est()))
                 for name, Est in contenders}
        first = {name: _first(make, Xa, ya) for name, make in makes.items()}
        best = {name: np.inf for name in makes}
        fitted = {}
        for _ in range(repeats):
            for name, make in makes.items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    t0 = time.perf_counter()
                    est = make().fit(Xa, ya)
                    best[name] = min(best[name], time.perf_counter() - t0)
                fitted[name] = est
        for name in makes:
            rows.append((set_name, name, best[name],
                         fitted[name].score(Xb, yb), first[name][1],
                         fitted[name]))
    return rows


def _n_iter(est):
    n = getattr(est[-1], "n_iter_", None)
    return "" if n is None else int(np.max(n))


def run(quick):
    tables = []
    clf_sets = classification_sets(quick)
    rows = compare(clf_sets, [("LogisticRegression()", LogisticRegression),
                              ("NormalizedLogisticRegression()",
                               NormalizedLogisticRegression),
                              ("HalfspaceClassifier()", HalfspaceClassifier)])
    table = Table(
        "Classifiers at their defaults against LogisticRegression()",
        ["data", "rows", "LogisticRegression() s", "acc",
         "NormalizedLogisticRegression() s", "acc ", "time ratio", "acc diff",
         "warned", "iters", "HalfspaceClassifier() s", "acc  ", "warned "],
        note=("scaler pipelines (MaxAbsScaler for the sparse a9a), 75/25 "
              "stratified split (a9a: its test file), best of "
              f"{REPEATS} fits after an untimed one, the three libraries' fits "
              "alternating; 'warned': the first fit raised a "
              "ConvergenceWarning; 'iters': NormalizedLogisticRegression's "
              "n_iter_ (the largest over one-vs-rest problems; multiclass "
              "sets are fit multinomial, as LogisticRegression does)."),
    )
    by = {}
    for set_name, name, sec, score, warned, est in rows:
        by.setdefault(set_name, {})[name] = (sec, score, warned, est)
    for set_name, r in by.items():
        lr, nlr, hs = (r["LogisticRegression()"],
                       r["NormalizedLogisticRegression()"],
                       r["HalfspaceClassifier()"])
        table.add(**{"data": set_name, "rows": clf_sets[set_name][0].shape[0],
                     "LogisticRegression() s": lr[0], "acc": lr[1],
                     "NormalizedLogisticRegression() s": nlr[0], "acc ": nlr[1],
                     "time ratio": nlr[0] / lr[0], "acc diff": nlr[1] - lr[1],
                     "warned": "yes" if nlr[2] else "no", "iters": _n_iter(nlr[3]),
                     "HalfspaceClassifier() s": hs[0], "acc  ": hs[1],
                     "warned ": "yes" if hs[2] else "no"})
    tables.append(table)

    reg_sets = regression_sets()
    rows = compare(reg_sets, [("LinearRegression()", LinearRegression),
                              ("NormalizedLinearRegression()",
                               NormalizedLinearRegression)])
    table = Table(
        "NormalizedLinearRegression() at its defaults against LinearRegression()",
        ["data", "rows", "LinearRegression() s", "R^2",
         "NormalizedLinearRegression() s", "R^2 ", "time ratio", "R^2 diff",
         "warned", "iters"],
        note="StandardScaler pipelines, 75/25 split, as above.",
    )
    by = {}
    for set_name, name, sec, score, warned, est in rows:
        by.setdefault(set_name, {})[name] = (sec, score, warned, est)
    for set_name, r in by.items():
        lr, nlr = r["LinearRegression()"], r["NormalizedLinearRegression()"]
        table.add(**{"data": set_name, "rows": reg_sets[set_name][0].shape[0],
                     "LinearRegression() s": lr[0], "R^2": lr[1],
                     "NormalizedLinearRegression() s": nlr[0], "R^2 ": nlr[1],
                     "time ratio": nlr[0] / lr[0], "R^2 diff": nlr[1] - lr[1],
                     "warned": "yes" if nlr[2] else "no",
                     "iters": _n_iter(nlr[3])})
    tables.append(table)
    return tables


def main(argv):
    quick = "--quick" in argv
    if "--blas-1" in argv:
        # scikit-learn's solvers at BLAS's speed without its threads (on a
        # small machine OpenBLAS's spinning threads can slow the small
        # products of an lbfgs fit 10x; skbnorm runs BLAS on one thread in
        # its fits anyway)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):
            tables = run(quick)
        blas = "BLAS limited to one thread (threadpoolctl) for both libraries"
    else:
        tables = run(quick)
        blas = "BLAS at its default thread count"
    for t in tables:
        t.note = f"{t.note} {blas}."
        print(t.markdown(), end="\n\n")
    return tables


if __name__ == "__main__":
    main(sys.argv[1:])
