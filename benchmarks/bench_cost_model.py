"""The default solver's cost model against measured costs.

The subspace solver (``solver="gdnp"``, the default) decides whether to form
a fresh metric (the Hessian) at an iterate from a model of two costs, a
function of the problem's shape only (so that fits do not depend on timings,
:func:`skbnorm.solvers._subspace._costs`): forming the metric, and one
iteration with a stale one. Only their ratio matters. This script measures
both on one thread (the package's passes and BLAS), for the shapes of the
benchopt panel and of the defaults table, and prints the measured and the
modelled costs and ratios.

- **metric**: ``SubspaceSolver._form_metric`` at an iterate (the Hessian or
  the Woodbury form, and its factorisation);
- **iteration**: ``step`` then ``evaluate`` with the metric left stale;
- **passes**: the iteration's two passes over ``X`` (``X v`` and the fused
  loss and backward product), timed alone; the rest of the iteration is
  the model's ``NS_PER_ROW`` per row and ``NS_PER_ITERATION``.

Run::

    python benchmarks/bench_cost_model.py

Medians of interleaved rounds; the machine should be quiet.
"""

import numpy as np
from _harness import Table, interleaved

from skbnorm._threads import blas_single_thread, set_num_threads
from skbnorm.datasets import load_a9a
from skbnorm.objectives import LOSS_CODES, Design
from skbnorm.solvers import Problem, SolverOptions, make_solver
from skbnorm.solvers import _subspace as SS


def _cases():
    X, y = load_a9a()
    yield "a9a (CSR)", X, y, 0.01
    rng = np.random.RandomState(42)
    for n, d, lmbd in [(100000, 400, 0.01), (20000, 50, 1.0), (1000, 10, 0.01),
                       (200, 500, 1.0)]:
        beta = rng.randn(d)
        X = rng.randn(n, d)
        yield f"dense {n}x{d}", X, np.sign(X @ beta), lmbd


def _measure(X, y, lmbd, repeat):
    n, d = X.shape
    s = np.full(n, 1.0 / n)
    D = Design(X, np.zeros(d))
    # benchopt's problem: sum_i loss_i + lmbd / 2 ||w||^2, in the package's
    # scaling (weights summing to one)
    p = Problem(D, y, s, LOSS_CODES["softplus"], lmbd / n, False, 0.0)
    solver = make_solver("gdnp", p, SolverOptions())
    solver.start(None, 0.0, np.random.RandomState(0))
    solver.evaluate()
    solver.step()
    solver.evaluate()
    solver._refresh_pays = lambda: False  # iterations keep the metric stale
    r, r2 = np.empty(n), np.empty(n)
    t, v = np.random.RandomState(1).randn(n), np.random.RandomState(2).randn(d)
    G, out = np.empty(d), np.empty(n)

    def iteration():
        solver.step()
        solver.evaluate()

    def passes():
        D.matvec(v, out)
        D.loss_rmatvec2(p.code, t, 1.0, 0.0, y, s, r, r2, G, None)

    funcs = {"metric": solver._form_metric, "iteration": iteration,
             "passes": passes}
    with blas_single_thread(10 ** 12):  # one BLAS thread, whatever the size
        times = interleaved(funcs, repeat, warmup=1, block=3)
    metric, step = SS._costs(p, solver.woodbury)
    return times, metric * 1e-9, step * 1e-9, n, D.sparse, solver.woodbury


def main():
    set_num_threads(1)
    table = Table(
        "The subspace solver's cost model: measured on one thread against "
        "modelled (ms)",
        ["problem", "metric ms", "metric model ms", "iteration ms",
         "iteration model ms", "ratio", "model ratio", "rest of iteration ms"],
        note=("ratio: metric / iteration; a fresh metric is formed at every "
              "iterate while the model ratio is at most 2 (refresh_pays)."),
    )
    for name, X, y, lmbd in _cases():
        repeat = 5 if X.shape[0] * X.shape[1] > 10 ** 7 else 30
        t, m_metric, m_step, n, sparse, woodbury = _measure(X, y, lmbd, repeat)
        rest = (t["iteration"] - t["passes"]) * 1e3
        table.add(**{
            "problem": name + (" woodbury" if woodbury else ""),
            "metric ms": t["metric"] * 1e3, "metric model ms": m_metric * 1e3,
            "iteration ms": t["iteration"] * 1e3,
            "iteration model ms": m_step * 1e3,
            "ratio": t["metric"] / t["iteration"],
            "model ratio": m_metric / m_step,
            "rest of iteration ms": rest,
        })
    print(table.markdown())


if __name__ == "__main__":
    main()
