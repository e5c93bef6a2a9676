"""The convex BN-ReLU network against non-convex training of the same model.

On a panel of small problems (regression and +-1 classification targets on
the squared loss, several ``n``, ``d`` and ``beta``) it fits
``ConvexBNReLURegressor`` at its defaults (only ``beta`` and
``random_state`` set) and compares with:

- the previous default: ADMM over the 128 sampled patterns alone (no
  working set, no search), as :func:`skbnorm.convex.admm_group_lasso` runs
  it;
- the peer: scipy's L-BFGS on the non-convex BN-ReLU network's objective
  (:func:`skbnorm.convex.bn_relu_value_and_grad`, checked against finite
  differences by the tests), 8 random starts of ``max(16, 2 * width)``
  units each, the width being the convex network's; none of the package's
  solvers is involved.

Reported per problem: the arrangement's cell bound, whether the fit was
certified, its objective, gap and width, the times, and the ratio of each
objective to the best L-BFGS start's (below 1: lower objective). Where the
arrangement exceeds ``max_cells`` the fit is not certified and the table
says whether it still reached the multi-start's best.

``python benchmarks/bench_convex.py`` (about three minutes).
``python benchmarks/bench_convex.py --max-cells 1000000`` fits the problems
whose arrangement exceeds the default ``max_cells`` with that budget instead,
so that they are enumerated and certified too (about twelve minutes).
``python benchmarks/bench_convex.py --enumeration`` times the enumeration
alone against its NumPy twin (half a minute).
"""

import time
import warnings

import numpy as np
from _harness import Table
from scipy.optimize import minimize

from skbnorm import ConvexBNReLURegressor
from skbnorm.convex import (
    admm_group_lasso,
    bn_relu_value_and_grad,
    max_patterns,
    network_value,
    sample_patterns,
    whiten,
)

#: (kind, n, d, beta); the last four exceed the default max_cells=50000
PANEL = [
    ("regression", 25, 3, 0.05),
    ("regression", 30, 2, 0.02),
    ("regression", 40, 3, 0.1),
    ("regression", 60, 2, 0.1),
    ("classification", 40, 2, 0.1),
    ("classification", 50, 3, 0.2),
    ("regression", 40, 4, 0.1),
    ("regression", 60, 3, 0.05),
    ("classification", 60, 4, 0.1),
    ("classification", 100, 3, 0.2),
]
STARTS = 8


def _data(kind, n, d, seed):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d)
    f = np.sin(2 * X[:, 0]) + (X[:, 1] ** 2 if d > 1 else 0.0)
    if kind == "classification":
        return X, np.where(f + 0.3 * rng.randn(n) > np.median(f), 1.0, -1.0)
    return X, f + 0.1 * rng.randn(n)


def _lbfgs(X, y, beta, m, seed):
    d = X.shape[1]

    def fun(p):
        W = p[:d * m].reshape(d, m)
        g, a, v = p[d * m:d * m + m], p[d * m + m:d * m + 2 * m], p[-m:]
        f, (gW, gg, ga, gv) = bn_relu_value_and_grad(X, y, W, g, a, v, beta)
        return f, np.concatenate([gW.ravel(), gg, ga, gv])

    p0 = np.random.RandomState(seed).randn(d * m + 3 * m)
    return minimize(fun, p0, jac=True, method="L-BFGS-B",
                    options={"maxiter": 5000, "maxfun": 10000}).fun


#: the estimator's default budget of cells
DEFAULT_MAX_CELLS = 50000


def run(quick=False, max_cells=None):
    budget = DEFAULT_MAX_CELLS if max_cells is None else max_cells
    title = ("Convex BN-ReLU network at its defaults against L-BFGS "
             "multi-start on the same non-convex model")
    if max_cells is not None:
        title = (f"Convex BN-ReLU network with max_cells={max_cells} on the "
                 "problems above the default budget, against L-BFGS "
                 "multi-start")
    table = Table(
        title,
        ["problem", "cells (bound)", "certified", "objective", "rel. gap",
         "working set", "rounds", "width", "fit s", "sampled only: objective",
         "L-BFGS best of 8", "L-BFGS s", "ours / best", "sampled / best"],
        formats={"objective": "{:.6g}", "sampled only: objective": "{:.6g}",
                 "L-BFGS best of 8": "{:.6g}", "ours / best": "{:.4f}",
                 "sampled / best": "{:.4f}", "rel. gap": "{:.1e}"},
        note=(f"n_patterns=128, max_cells={budget}, "
              f"tol=1e-3 ({'the defaults' if max_cells is None else 'max_cells set'}"
              "); 'working "
              "set': the patterns of the last solve; 'sampled "
              "only' is ADMM over the 128 sampled patterns (the previous "
              "default); L-BFGS: scipy, 8 random starts of max(16, 2 width) "
              "units, up to 5000 iterations each. The objective is "
              "1/2 ||f(X) - y||^2 + beta/2 (|gamma|^2 + |alpha|^2 + |v|^2)."),
    )
    panel = list(enumerate(PANEL[:3] if quick else PANEL))
    for seed, (kind, n, d, beta) in panel:
        X, y = _data(kind, n, d, seed)
        _, _, _, A = whiten(X)
        if max_cells is not None and (
                max_patterns(n, A.shape[1]) <= DEFAULT_MAX_CELLS):
            continue
        lam = beta / np.sqrt(n)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reg = ConvexBNReLURegressor(
                beta=beta, random_state=0,
                max_cells=budget).fit(X, y)
        fit_s = time.perf_counter() - t0
        D = sample_patterns(A, 128, np.random.RandomState(0))
        Z, _ = admm_group_lasso(A, D, y, lam, tol=1e-3, max_iter=30000)
        sampled = float(network_value(A, y, Z, lam))
        m = max(16, 2 * reg.n_neurons_)
        t0 = time.perf_counter()
        best = min(_lbfgs(X, y, beta, m, s) for s in range(STARTS))
        lbfgs_s = time.perf_counter() - t0
        table.add(**{
            "problem": f"{kind} n={n} d={d} beta={beta}",
            "cells (bound)": max_patterns(n, A.shape[1]),
            "certified": "yes" if reg.certified_ else "no",
            "objective": reg.objective_,
            "rel. gap": reg.duality_gap_ / reg.objective_,
            "working set": reg.n_patterns_,
            "rounds": reg.n_rounds_,
            "width": reg.n_neurons_,
            "fit s": fit_s,
            "sampled only: objective": sampled,
            "L-BFGS best of 8": best,
            "L-BFGS s": lbfgs_s,
            "ours / best": reg.objective_ / best,
            "sampled / best": sampled / best,
        })
    return [table]


#: (n, k) of the enumeration table; the NumPy twin only up to TWIN_CELLS
ENUMERATION = [(30, 5), (60, 4), (40, 5), (40, 6)]
TWIN_CELLS = 70000


def enumeration_table():
    """Seconds to enumerate a generic arrangement: compiled against the NumPy
    twin (``cells_reference``), with the patterns' memory."""
    from skbnorm.convex import enumerate_patterns
    from skbnorm.convex._arrangements import cells_reference

    table = Table(
        "Enumerating the cells of a generic arrangement (n Gaussian "
        "hyperplanes through 0 in R^k)",
        ["n", "k", "cells", "compiled s", "us per cell", "patterns MB",
         "NumPy twin s", "twin / compiled"],
        formats={"us per cell": "{:.2f}", "twin / compiled": "{:.1f}"},
        note=("the compiled enumeration warmed on a small arrangement first; "
              "the twin is run where the arrangement has at most "
              f"{TWIN_CELLS} cells"),
    )
    rng = np.random.RandomState(0)
    enumerate_patterns(rng.randn(10, 3))  # compile (or load) the kernels
    for n, k in ENUMERATION:
        A = rng.randn(n, k)
        t0 = time.perf_counter()
        D = enumerate_patterns(A)
        fast = time.perf_counter() - t0
        twin = np.nan
        if max_patterns(n, k) <= TWIN_CELLS:
            t0 = time.perf_counter()
            cells_reference(A)
            twin = time.perf_counter() - t0
        table.add(n=n, k=k, cells=D.shape[1], **{
            "compiled s": fast, "us per cell": 1e6 * fast / D.shape[1],
            "patterns MB": D.nbytes / 1e6, "NumPy twin s": twin,
            "twin / compiled": twin / fast})
    return table


if __name__ == "__main__":
    import sys

    cells = None
    if "--max-cells" in sys.argv:
        cells = int(sys.argv[sys.argv.index("--max-cells") + 1])
    if "--enumeration" in sys.argv:
        print(enumeration_table().markdown(), end="\n\n")
    else:
        for t in run("--quick" in sys.argv, cells):
            print(t.markdown(), end="\n\n")
