"""The default solver's deferred metric on a shape whose Hessian is expensive.

``metric="auto"`` (the default) starts the logistic fit along the gradient
when the cost model rates a Hessian above ``DEFER_METRIC`` iterations, and
forms it when the measured rate says it pays or the stopping test needs a
certificate; ``metric="hessian"`` forms it at the start (what ``"auto"`` did
before). This script fits ``NormalizedLogisticRegression`` both ways on
benchopt's simulated ``100000 x 400`` (``rng = RandomState(42)``, ``beta``,
``X`` standard normal, ``y = sign(X beta)``), in the same process:

- at the estimator's defaults (``tol=1e-6``, with an intercept) for
  ``C = 1`` and ``C = 100``, on those rows and on equicorrelated ones
  (where the gradient's own direction is slow): time (median of interleaved
  rounds), iterations, the objective's relative gap to the optimum (a
  ``tol=1e-12`` fit) and the test accuracy on 20000 fresh rows;
- as benchopt runs it (``tol=0``, no intercept, ``max_iter`` growing): the
  relative suboptimality ``(F - F*)/F*`` after each iteration.

Run::

    python benchmarks/bench_deferred_metric.py

About two minutes and 1 GB; the machine should be quiet.
"""

import warnings

import numpy as np
from _harness import Table, interleaved
from sklearn.exceptions import ConvergenceWarning

from skbnorm import NormalizedLogisticRegression


def _data(rho=0.0):
    """benchopt's simulated set; with ``rho`` its rows equicorrelated
    (``x = sqrt(1 - rho) z + sqrt(rho) z_0``: unit variances, ``S``'s
    condition number ``(1 + (d - 1) rho) / (1 - rho)``, 400 at 0.5)."""
    rng = np.random.RandomState(42)
    n, d = 100000, 400
    beta = rng.randn(d)

    def rows(m):
        X = rng.randn(m, d)
        if rho:
            X *= np.sqrt(1.0 - rho)
            X += np.sqrt(rho) * rng.randn(m, 1)
        return X

    X = rows(n)
    y = np.sign(X @ beta)
    X_test = rows(20000)
    return X, y, X_test, np.sign(X_test @ beta)


def _objective(est, X, y):
    """``C sum_i log(1 + exp(-y_i m_i)) + ||coef||^2 / 2``, the estimator's."""
    m = X @ est.coef_.ravel() + est.intercept_[0]
    w = est.coef_.ravel()
    return est.C * np.logaddexp(0.0, -y * m).sum() + 0.5 * w @ w


def _fitter(fits, C, metric, X, y):
    """A default fit with ``metric``, kept in ``fits``; no warning allowed."""
    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            fits[metric] = NormalizedLogisticRegression(
                C=C, metric=metric).fit(X, y)
    return run


def main():
    table = Table(
        "Defaults on dense 100000 x 400: metric='auto' (deferred) against "
        "metric='hessian' (formed at the start)",
        ["rows", "C", "metric", "time s", "ratio", "iterations", "gap to F*",
         "accuracy"],
        note="rows: benchopt's isotropic Gaussian ones, or equicorrelated "
             "(rho = 0.5, S's condition number 400); gap: (F - F*)/F*, F* "
             "from a tol=1e-12 fit; ratio: time over the 'hessian' fit's, "
             "same process, interleaved rounds.")
    for rho, C in [(0.0, 1.0), (0.0, 100.0), (0.5, 1.0), (0.5, 100.0)]:
        X, y, X_test, y_test = _data(rho)
        ref = NormalizedLogisticRegression(C=C, tol=1e-12, max_iter=200,
                                           metric="hessian").fit(X, y)
        f_star = _objective(ref, X, y)
        fits = {}
        times = interleaved({m: _fitter(fits, C, m, X, y)
                             for m in ("hessian", "auto")}, repeat=3)
        for metric in ("hessian", "auto"):
            est = fits[metric]
            table.add(**{
                "rows": "equicorrelated" if rho else "isotropic",
                "C": C, "metric": metric, "time s": times[metric],
                "ratio": times[metric] / times["hessian"],
                "iterations": int(est.n_iter_[0]),
                "gap to F*": (_objective(est, X, y) - f_star) / f_star,
                "accuracy": est.score(X_test, y_test)})
    print(table.markdown())
    print()

    curves = Table(
        "benchopt's protocol (tol=0, no intercept): (F - F*)/F* after each "
        "iteration",
        ["lmbd", "metric", "iterations to 1e-6", "curve"],
        note="F* the smallest objective either curve reached.")
    X, y, _, _ = _data()
    for lmbd in (1.0, 0.01):
        runs = {}
        for metric in ("hessian", "auto"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                est = NormalizedLogisticRegression(
                    C=1 / lmbd, fit_intercept=False, tol=0, max_iter=20,
                    metric=metric).fit(X, y)
            # the estimator records the objective over n (its C scaling)
            runs[metric] = np.asarray(est.loss_curve_) * X.shape[0]
        f_star = min(c.min() for c in runs.values())
        for metric, curve in runs.items():
            rel = (curve - f_star) / f_star
            hit = np.flatnonzero(rel <= 1e-6)
            curves.add(lmbd=lmbd, metric=metric,
                       **{"iterations to 1e-6": int(hit[0]) if hit.size
                          else None,
                          "curve": " ".join(f"{v:.0e}" for v in rel[:16])})
    print(curves.markdown())


if __name__ == "__main__":
    main()
