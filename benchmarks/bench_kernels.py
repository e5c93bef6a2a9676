"""Kernel efficiency: one solver iteration against the NumPy/scipy pair.

An iteration of a first-order method on a linear model has to read ``X``
twice in the textbook form (``X @ w`` for the margins, ``X.T @ r`` for the
gradient); NumPy (OpenBLAS ``gemv``) and scipy (CSR matvecs) on the same
array are the baseline. Every row times a solver's own driver for a fixed
number of iterations on its own state, interleaved with the baseline in the
same process. gdnp's scale search works on cached margins (O(n) per Newton
step); its share of the iteration is the number of O(n) objective
evaluations the searches made, times the measured cost of one.
"""

import numpy as np
from _harness import Table, interleaved, make_dense

from skbnorm.datasets import load_a9a
from skbnorm.objectives import LOSS_CODES, as_design
from skbnorm.solvers import Problem, build
from skbnorm.solvers._common import _scale_eval

SOLVERS = ("gd", "agd", "bn", "gdnp")
ITERS = 10  # iterations per timed call
BLOCK = 3  # calls in a row per round (see _harness.interleaved)


def _designs(quick):
    X, y = load_a9a()
    yield "a9a CSR (32561 x 123)", X, y
    yield "a9a dense (32561 x 123)", np.ascontiguousarray(X.toarray()), y
    if not quick:
        Xd, yd = make_dense(100_000, 400, seed=0)
        yield "dense 100000 x 400", Xd, yd


def _driver(X, y, solver):
    n = X.shape[0]
    s = np.full(n, 1.0 / n)
    xbar = np.asarray(X.T @ s).ravel() if hasattr(X, "tocsr") else s @ X
    p = Problem(as_design(X), xbar, y, s, LOSS_CODES["softplus"], 0.0, True,
                0.0, 10**9)
    drv = build(solver, p, p.random_direction(np.random.RandomState(0)), 1.0,
                0.0)
    hist = [np.full(10**6, np.nan) for _ in range(3)]
    state = {"k": 0}

    def step():
        k = state["k"]
        drv.run(k, k + ITERS, *hist)
        state["k"] = k + ITERS

    return p, drv, step


def run(quick):
    table = Table(
        "One iteration against the NumPy/scipy pair `X @ w`, `X.T @ r` "
        "(logistic loss, intercept, centering implicit)",
        ["design", "pair ms", "solver", "ms/iter", "ratio to pair",
         "scale-search share"],
        note=("ratio = solver iteration / (X @ w + X.T @ r) on the same array, "
              f"medians of interleaved rounds (blocks of {BLOCK} calls after "
              "0.2 s for the previous thread pool to go idle) in one "
              "process; all threads numba and OpenBLAS have. The scale-search "
              "share is (O(n) evaluations made by gdnp's searches x the time "
              "of one) / time per iteration."),
    )
    repeat = 5 if quick else 15
    for name, X, y in _designs(quick):
        rng = np.random.default_rng(0)
        w = rng.standard_normal(X.shape[1])
        r = rng.standard_normal(X.shape[0])

        def pair(X=X, w=w, r=r):
            X @ w
            X.T @ r

        funcs = {"pair": pair}
        drivers = {}
        for solver in SOLVERS:
            p, drv, step = _driver(X, y, solver)
            drivers[solver] = (p, drv)
            funcs[solver] = step
        # the scale search's unit of work: one O(n) evaluation with derivatives
        p, drv = drivers["gdnp"]
        t = np.random.default_rng(1).standard_normal(X.shape[0])

        def one_eval(p=p, t=t):
            _scale_eval(p.code, t, 1.0, p.y, p.s, 0.0, 0.0, 1.0, 0.0, True)

        funcs["scale eval"] = one_eval
        steps_before = drv.sc[4]
        k_before = 0
        times = interleaved(funcs, repeat=repeat, block=BLOCK, settle=0.2)
        # search steps per iteration, from the timed runs themselves
        k_done = (BLOCK * repeat + 1) * ITERS - k_before
        evals_per_iter = 1.0 + (drv.sc[4] - steps_before) / k_done
        for solver in SOLVERS:
            per_iter = times[solver] / ITERS
            share = None
            if solver == "gdnp":
                share = evals_per_iter * times["scale eval"] / per_iter
            table.add(design=name, **{"pair ms": 1e3 * times["pair"]},
                      solver=solver, **{"ms/iter": 1e3 * per_iter},
                      **{"ratio to pair": per_iter / times["pair"]},
                      **{"scale-search share": share})
    return [table]
