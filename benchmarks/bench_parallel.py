"""Thread parallelism: speed-up of the numba kernels, and bit-identical fits.

Times gd and gdnp iterations with one numba thread and with all of them,
interleaved in one process, and checks that a fit gives the same bits with
either (the kernels reduce fixed row blocks in a fixed order).
"""

import warnings

import numba
import numpy as np
from _harness import Table, interleaved, make_dense, make_sparse_a9a_like
from bench_kernels import ITERS, _driver

from skbnorm import NormalizedLogisticRegression
from skbnorm.datasets import load_a9a


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
        before = numba.get_num_threads()
        numba.set_num_threads(k)
        try:
            func()
        finally:
            numba.set_num_threads(before)
    return call


def run(quick):
    most = numba.config.NUMBA_NUM_THREADS
    table = Table(
        f"numba threads: 1 against {most} (time per iteration)",
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
                                                   tol=0.0, random_state=0)
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
