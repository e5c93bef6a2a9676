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

The metric and the iteration are each timed on a copy of the solver two
iterations into its fit (labels with noise, so that no fit is at its
optimum or scale cap there).

Run::

    python benchmarks/bench_cost_model.py

Medians over repeated calls; the machine should be quiet. The costs are
on one thread: with more, the passes (and the Hessian) share the threads
while the fixed Python costs do not, so the ratios move with the thread
count (measured on 2 threads: a9a 2.2, the same as on one).
"""

import copy
import statistics
import time

import numpy as np
from _harness import Table

from skbnorm._threads import blas_single_thread, set_num_threads
from skbnorm.datasets import load_a9a
from skbnorm.objectives import LOSS_CODES, Design
from skbnorm.solvers import Problem, SolverOptions, Status, make_solver
from skbnorm.solvers import _subspace as SS


def _cases():
    X, y = load_a9a()
    yield "a9a (CSR)", X, y, 0.01
    rng = np.random.RandomState(42)
    for n, d, lmbd in [(100000, 400, 0.01), (20000, 50, 1.0), (1000, 10, 0.01),
                       (200, 500, 1.0)]:
        beta = rng.randn(d)
        X = rng.randn(n, d)
        # noisy labels: not separable, so that no fit runs to its scale cap
        yield f"dense {n}x{d}", X, np.sign(X @ beta + 2.0 * rng.randn(n)), lmbd


def _best(make, call, repeat):
    """Median seconds of ``call(obj)``, each on a fresh ``make()`` (untimed)."""
    times = []
    for _ in range(repeat):
        obj = make()
        t0 = time.perf_counter()
        call(obj)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _measure(X, y, lmbd, repeat):
    n, d = X.shape
    s = np.full(n, 1.0 / n)
    D = Design(X, np.zeros(d))
    # benchopt's problem: sum_i loss_i + lmbd / 2 ||w||^2, in the package's
    # scaling (weights summing to one)
    p = Problem(D, y, s, LOSS_CODES["softplus"], lmbd / n, False, 0.0)
    solver = make_solver("gdnp", p, SolverOptions())
    solver.start(None, 0.0, np.random.RandomState(0))
    # two iterations in: a typical mid-fit state, the metric formed
    for _ in range(2):
        assert solver.evaluate() == Status.RUNNING
        assert solver.step() == Status.RUNNING
    assert solver.evaluate() == Status.RUNNING
    # every timed call starts from a copy of this state (the data shared)
    memo = {id(obj): obj for obj in (p, D, X, y, s)}

    def fresh():
        return copy.deepcopy(solver, dict(memo))

    def stale_fresh():
        other = fresh()
        other._refresh_pays = lambda: False  # the metric stays as it is
        return other

    def iteration(other):
        assert other.step() == Status.RUNNING
        other.evaluate()

    r, r2 = np.empty(n), np.empty(n)
    t, v = np.random.RandomState(1).randn(n), np.random.RandomState(2).randn(d)
    G, out = np.empty(d), np.empty(n)

    def passes(_):
        # an iteration's two passes over X: X v, and the backward products
        # of the evaluation (with the loss, as a step's last trial leaves it)
        D.matvec(v, out)
        D.loss_rmatvec2(p.code, t, 1.0, 0.0, y, s, r, r2, G, None)

    with blas_single_thread(10 ** 12):  # one BLAS thread, whatever the size
        passes(None)
        times = {
            "metric": _best(fresh, lambda o: o._form_metric(), repeat),
            "iteration": _best(stale_fresh, iteration, repeat),
            "passes": _best(lambda: None, passes, repeat),
        }
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
