"""benchopt's millisecond cells, timed directly: each ``metric`` of the
default solver against scikit-learn's solvers.

The Simulated cells of ``benchmark_logreg_l2`` that a fit solves in a few
milliseconds (1000 x 10 and 200 x 500, ``lmbd`` in {1, 0.01}, no
intercept; the data as benchopt's ``Simulated`` dataset draws them) decide
the panel's median ratio. Here each solver is timed to a relative
suboptimality ``(F - F*)/F*`` of 1e-6 on benchopt's iteration grid: the
smallest ``max_iter`` (of 1, 2, 3, 4, 6, 9, ...) whose fresh fit gets
there, then the best of 15 fresh fits at that ``max_iter``, in one process.
benchopt itself widens a solver's grid (its ratio times 1.2) whenever the
solver's curve is flat, as lbfgs's first points are, and then samples
lbfgs more coarsely (16, 28 where this grid has 13, 19, 28): this fixed
grid is the stricter comparison for us.
skbnorm runs with ``tol=0`` (benchopt's criterion decides, as in the
plugin), scikit-learn with ``tol=1e-15``; ``F*`` is newton-cg's at
``tol=1e-14``.

The rows say which metric the default (``metric="auto"``) should use on a
wide design (``n < d``, where it is the Hessian in sample space, by the
Woodbury identity) and how far the fixed cost of a fit weighs.

Run: ``python benchmarks/bench_small_cells.py`` (about 15 seconds on 2 cores).
"""

import sys
import time
import warnings
from pathlib import Path

import numpy as np
from _harness import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from skbnorm import NormalizedLogisticRegression  # noqa: E402

CELLS = [(1000, 10), (200, 500)]
METRICS = ["auto", "hessian", "identity", "diagonal"]
SKLEARN = ["lbfgs", "newton-cg", "newton-cholesky"]
TARGET = 1e-6


def _data(n, d):
    rng = np.random.RandomState(42)  # benchopt's Simulated dataset
    beta = rng.randn(d)
    X = rng.randn(n, d)
    return X, np.sign(X @ beta)


def _objective(X, y, lmbd, beta):
    return np.logaddexp(0, -y * (X @ beta)).sum() + lmbd / 2 * beta @ beta


def _best(fit, repeats=15):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fit()
        times.append(time.perf_counter() - t0)
    return min(times)


def _time_to_target(make, X, y, lmbd, f_star, max_k=500):
    """(max_iter, seconds) of the first sampled fit within TARGET."""
    k = 1
    while k <= max_k:
        model = make(k).fit(X, y)
        beta = np.ravel(model.coef_)
        if (_objective(X, y, lmbd, beta) - f_star) / f_star <= TARGET:
            return k, _best(lambda k=k: make(k).fit(X, y))
        k = max(k + 1, int(k * 1.5))
    return None, np.inf


def run():
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    # scikit-learn's line searches at tol=1e-15 ("Line Search failed")
    warnings.filterwarnings("ignore", module="sklearn")
    table = Table(
        f"Time to (F-F*)/F* <= {TARGET:g} on benchopt's millisecond cells",
        ["cell", "lmbd", "solver", "n_iter (benchopt)", "ms",
         "ratio to fastest sklearn"],
        note=("best of 15 fresh fits (not benchopt's single timing) at the "
              "first sampled n_iter that reaches the target; scikit-learn "
              "max_iter=n_iter, tol=1e-15; skbnorm: "
              "NormalizedLogisticRegression(C=1/lmbd, fit_intercept=False, "
              "tol=0, random_state=0, metric=..., max_iter=n_iter + 1), the "
              "default metric is 'auto'."),
        formats={"ms": "{:.2f}", "ratio to fastest sklearn": "{:.2f}"},
    )
    for n, d in CELLS:
        X, y = _data(n, d)
        for lmbd in (1.0, 0.01):
            C = 1.0 / lmbd
            ref = LogisticRegression(C=C, fit_intercept=False, tol=1e-14,
                                     max_iter=10000, solver="newton-cg")
            f_star = _objective(X, y, lmbd, ref.fit(X, y).coef_.ravel())
            rows = {}
            for s in SKLEARN:
                rows[f"sklearn {s}"] = _time_to_target(
                    lambda k, s=s, C=C: LogisticRegression(
                        C=C, fit_intercept=False, tol=1e-15, solver=s,
                        max_iter=k), X, y, lmbd, f_star)
            for m in METRICS:
                NormalizedLogisticRegression(C=C, fit_intercept=False,
                                             metric=m, max_iter=3).fit(X, y)
                # max_iter counts evaluated iterates: k steps need k + 1
                rows[f"skbnorm metric={m}"] = _time_to_target(
                    lambda k, m=m, C=C: NormalizedLogisticRegression(
                        C=C, fit_intercept=False, tol=0, random_state=0,
                        metric=m, max_iter=k + 1), X, y, lmbd, f_star)
            fastest = min(t for name, (_, t) in rows.items()
                          if name.startswith("sklearn"))
            for name, (k, t) in rows.items():
                table.add(cell=f"{n}x{d}", lmbd=lmbd, solver=name,
                          ms=1e3 * t, **{"n_iter (benchopt)":
                                         k if k is not None else "--",
                                         "ratio to fastest sklearn":
                                         t / fastest})
    return table


if __name__ == "__main__":
    print(run().markdown())
