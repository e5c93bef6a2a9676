"""Time per iteration against the size of the data: is it linear in nnz?

Sparse a9a-like data (one-hot groups, 14 stored values per row, 123
columns, generated from a fixed seed) for n from 1e4 to 1e6 rows, and dense
Gaussian data with 100 columns for n from 1e4 to 1e6. Each case runs a fixed
number of gd and gdnp iterations through the solver driver (logistic loss,
intercept fitted, centering implicit), so that validation, the Lipschitz
constant and the start are excluded; the cost per stored value and iteration
should not grow with n.
"""

import math

import numpy as np
from _harness import (
    Table,
    interleaved_setup,
    make_dense,
    make_sparse_a9a_like,
)

from skbnorm.objectives import Design
from skbnorm.objectives._losses import SOFTPLUS
from skbnorm.solvers import Problem, SolverOptions, Status, make_solver

SOLVERS = ("gd", "gdnp")
# gdnp as this benchmark has always timed it: Kohler et al.'s step (the
# estimator's default is now the subspace step in a curvature metric)
OPTIONS = SolverOptions(direction_step="paper", metric="identity")
SPARSE_N = (10_000, 30_000, 100_000, 300_000, 1_000_000)
DENSE_N = (10_000, 30_000, 100_000, 300_000, 1_000_000)
DENSE_D = 100
QUICK_MAX_N = 100_000


class Case:
    """One data set, ready for drivers: the problem pieces computed once."""

    def __init__(self, X, y):
        self.X = X
        self.y = y
        n = X.shape[0]
        self.n, self.d = X.shape
        self.nnz = X.nnz if hasattr(X, "nnz") else X.size
        self.s = np.full(n, 1.0 / n)
        self.xbar = np.asarray(X.T @ self.s, dtype=np.float64).ravel()
        self.design = Design(X, self.xbar)
        self.code = SOFTPLUS
        p_pos = float(self.s @ (y > 0))
        self.b0 = math.log(p_pos / (1.0 - p_pos))
        self.lipschitz = self.problem().lipschitz

    def problem(self):
        # tol=0: no stop before the iteration budget (only at a zero gradient)
        return Problem(self.design, self.y, self.s, self.code, 0.0, True, 0.0)

    def runner(self, solver, n_iter):
        """``(setup, timed)``: a fresh started driver, then ``n_iter``
        iterations (evaluations, with a step between two), as the estimator
        drives it."""
        counted = {}

        def setup():
            p = self.problem()
            p._lipschitz = self.lipschitz  # no Lanczos in the timed call
            drv = make_solver(solver, p, OPTIONS)
            # the random start of random_state=0 (||w||_S = 1, scale 1)
            drv.start(None, self.b0, np.random.RandomState(0))
            return drv

        def timed(drv):
            for k in range(n_iter):
                if drv.evaluate() != Status.RUNNING or k == n_iter - 1:
                    break
                if drv.step() != Status.RUNNING:
                    break
            counted["n"] = len(drv.loss_curve)

        return setup, timed, counted


def series(title, note, cases, work, repeat):
    """Time every (case, solver) interleaved; one row each."""
    runs = {}
    for case in cases:
        n_iter = max(5, int(round(work / case.nnz)))
        for solver in SOLVERS:
            setup, timed, counted = case.runner(solver, n_iter)
            runs[(case.n, solver)] = (case, setup, timed, counted)
    seconds = interleaved_setup(
        {key: (setup, timed) for key, (_, setup, timed, _) in runs.items()},
        repeat=repeat, warmup=1)
    table = Table(title, ["solver", "n", "d", "nnz", "iterations", "ms/iter",
                          "ns/nnz/iter", "vs smallest n"], note)
    for solver in SOLVERS:
        base = None
        for case in cases:
            _, _, _, counted = runs[(case.n, solver)]
            iters = counted["n"]
            per_iter = seconds[(case.n, solver)] / iters
            per_nnz = 1e9 * per_iter / case.nnz
            base = per_nnz if base is None else base
            table.add(solver=solver, n=case.n, d=case.d, nnz=case.nnz,
                      iterations=iters, **{"ms/iter": 1e3 * per_iter,
                                           "ns/nnz/iter": per_nnz,
                                           "vs smallest n": per_nnz / base})
    return table


def run(quick):
    repeat = 2 if quick else 3
    work = 1e8 if quick else 2e8  # stored values visited per timed call
    sizes = [n for n in SPARSE_N if not quick or n <= QUICK_MAX_N]
    note = (
        "Fixed number of iterations through the solver driver (setup excluded), "
        f"median of {repeat} interleaved runs; logistic loss, intercept, "
        "implicit centering; gdnp is Kohler et al.'s step "
        "(direction_step='paper'). 'vs smallest n' is the ns per stored value and "
        "iteration relative to the smallest n: 1.0 means linear scaling "
        "(values above 1 at large n usually mean the data left the CPU caches)."
    )
    cases = [Case(*make_sparse_a9a_like(n, seed=0)) for n in sizes]
    tables = [series("Time per iteration: sparse a9a-like data (14 nnz/row)", note,
                     cases, work, repeat)]
    del cases
    sizes = [n for n in DENSE_N if not quick or n <= QUICK_MAX_N]
    cases = [Case(*make_dense(n, DENSE_D, seed=0)) for n in sizes]
    tables.append(series(f"Time per iteration: dense Gaussian data (d={DENSE_D})",
                         note, cases, work, repeat))
    return tables


if __name__ == "__main__":
    import sys

    for t in run("--quick" in sys.argv):
        print(t.markdown(), end="\n\n")
