"""Thread parallelism: speed-up of the kernels, and bit-identical fits.

Times gd and gdnp iterations with one thread and with all of them,
interleaved in one process, and checks that a fit gives the same bits with
either (the kernels reduce fixed row blocks in a fixed order). The passes
run on the package's own thread pool (:mod:`skbnorm._threads`: serial numba
kernels over row blocks; numba's ``set_num_threads`` no longer applies). Logistic
loss, ``C=np.inf``, intercept (centering implicit); gdnp is Kohler et al.'s
step (``direction_step="paper"``).
"""

import warnings

import numpy as np
from _harness import Table, interleaved, make_dense, make_sparse_a9a_like

from skbnorm import NormalizedLogisticRegression, _threads
from skbnorm.datasets import load_a9a
from skbnorm.objectives import Design
from skbnorm.objectives._losses import SOFTPLUS
from skbnorm.solvers import Problem, SolverOptions, make_solver

ITERS = 10  # iterations per timed call
# gdnp as this benchmark has always run it: Kohler et al.'s step
OPTIONS = {"direction_step": "paper", "metric": "identity"}


def _driver(X, y, solver):
    """``(problem, driver, step)``: the solver on the implicit-centering
    problem with an intercept, started at the random start of
    ``random_state=0``; ``step()`` runs the next ``ITERS`` iterations."""
    n = X.shape[0]
    s = np.full(n, 1.0 / n)
    xbar = np.asarray(X.T @ s).ravel()
    p = Problem(Design(X, xbar), y, s, SOFTPLUS, 0.0, True, 0.0)
    drv = make_solver(solver, p, SolverOptions(**OPTIONS))
    drv.start(None, 0.0, np.random.RandomState(0))

    def step():
        for _ in range(ITERS):
            drv.evaluate()
            drv.step()

    return p, drv, step


def _designs(quick):
    X, y = load_a9a()
    yield "a9a CSR", X, y
    yield "a9a dense", np.ascontiguousarray(X.toarray()), y
    if not quick:
        Xs, ys = make_sparse_a9a_like(1_000_000, seed=0)
        yield "a9a-like CSR 1e6 rows", Xs, ys
        Xd, yd = make_dense(100_000, 400, seed=0)
        yield "dense 100000 x 400", Xd, yd


def _with_threads(k, func):
    def call():
        before = _threads.get_num_threads()
        _threads.set_num_threads(k)
        try:
            func()
        finally:
            _threads.set_num_threads(before)
    return call


def run(quick):
    most = _threads.get_num_threads()
    table = Table(
        f"threads: 1 against {most} (time per iteration)",
        ["design", "solver", "1 thread ms", f"{most} threads ms", "speed-up",
         "bit-identical fit"],
        note=("Interleaved in one process. 'bit-identical fit': coef_, "
              "intercept_ and loss_curve_ of a 30-iteration fit with 1 and "
              f"with {most} threads compared with ==."),
    )
    repeat = 5 if quick else 11
    for name, X, y in _designs(quick):
        for solver in ("gd", "gdnp"):
            _, _, step1 = _driver(X, y, solver)
            _, _, step2 = _driver(X, y, solver)
            times = interleaved({1: _with_threads(1, step1),
                                 most: _with_threads(most, step2)},
                                repeat=repeat)
            fits = []
            for k in (1, most):
                est = NormalizedLogisticRegression(solver=solver, max_iter=30,
                                                   C=np.inf, tol=0.0,
                                                   random_state=0, **OPTIONS)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    _with_threads(k, lambda est=est, X=X, y=y: est.fit(X, y))()
                fits.append(est)
            same = all(
                np.array_equal(getattr(fits[0], a), getattr(fits[1], a))
                for a in ("coef_", "intercept_", "loss_curve_")
            )
            table.add(design=name, solver=solver,
                      **{"1 thread ms": 1e3 * times[1] / ITERS,
                         f"{most} threads ms": 1e3 * times[most] / ITERS,
                         "speed-up": times[1] / times[most],
                         "bit-identical fit": same})
    return [table]
