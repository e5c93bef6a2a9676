"""Iterations each solver needs on centered a9a (no intercept, alpha=0).

Runs every solver from the random start of ``random_state=0`` and prints the
first iteration whose relative suboptimality against scikit-learn's optimum
is at most 1e-6, with the time per iteration (sparse design, centering kept
implicit, as in ``tests/test_a9a_optimum.py``)::

    python benchmarks/a9a_iterations.py
"""

import time

import numpy as np
from sklearn.linear_model import LogisticRegression

from skbnorm.datasets import load_a9a
from skbnorm.objectives import LOSS_CODES, LinearObjective, as_design
from skbnorm.solvers import Problem, build

BUDGET = {"agd": 2000, "gdnp": 8000, "gdnp-subspace": 500, "gd": 12000,
          "bn": 12000, "wn": 20000}


def main():
    X, y = load_a9a()
    n = X.shape[0]
    s = np.full(n, 1.0 / n)
    xbar = np.asarray(X.T @ s).ravel()
    Xc = X.toarray() - xbar
    t0 = time.perf_counter()
    ref = LogisticRegression(C=np.inf, fit_intercept=False, solver="newton-cg",
                             tol=1e-12, max_iter=100).fit(Xc, y)
    t_ref = time.perf_counter() - t0
    f_star = LinearObjective("softplus").loss(Xc, y, ref.coef_[0])
    print(f"f* = {f_star:.15f} (newton-cg, {t_ref:.1f} s)")
    print(f"{'solver':<13} {'iters to 1e-6':>14} {'ms/iter':>8}")
    for solver, budget in BUDGET.items():
        p = Problem(as_design(X), xbar, y, s, LOSS_CODES["softplus"], 0.0, False,
                    0.0, budget - 1)
        w0 = p.random_direction(np.random.RandomState(0))
        options = {}
        if solver == "gdnp-subspace":  # gdnp with the Rayleigh-Ritz step
            options = {"direction_step": "subspace"}
        drv = build(solver.split("-")[0], p, w0, 1.0, 0.0, **options)
        hist = [np.full(budget, np.nan) for _ in range(3)]
        t0 = time.perf_counter()
        k, _ = drv.run(0, budget, *hist)
        dt = time.perf_counter() - t0
        rel = (hist[0][: k + 1] - f_star) / f_star
        hit = np.flatnonzero(rel <= 1e-6)
        first = str(hit[0]) if hit.size else f">{budget}"
        print(f"{solver:<13} {first:>14} {1e3 * dt / (k + 1):>8.2f}")


if __name__ == "__main__":
    main()
