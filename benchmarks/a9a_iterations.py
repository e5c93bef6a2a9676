"""Iterations each solver needs on centered a9a (no intercept, alpha=0).

Runs every solver from the random start of ``random_state=0`` and prints the
first iteration whose relative suboptimality against scikit-learn's optimum
is at most 1e-6, with the time per iteration (sparse design, centering kept
implicit, as in ``tests/test_a9a_optimum.py``)::

    python benchmarks/a9a_iterations.py

"gdnp" is Kohler et al.'s step (``direction_step="paper"``), "gdnp-subspace"
the subspace step along ``grad_w f`` (``metric="identity"``).
"""

import time

import numpy as np
from sklearn.linear_model import LogisticRegression

from skbnorm.datasets import load_a9a
from skbnorm.objectives import Design
from skbnorm.objectives._losses import SOFTPLUS
from skbnorm.solvers import Problem, SolverOptions, Status, make_solver

BUDGET = {"agd": 2000, "gdnp": 8000, "gdnp-subspace": 500, "gd": 12000,
          "bn": 12000, "wn": 20000}


def mean_logistic_loss(Xc, y, coef):
    """The objective: mean softplus loss of the margins, alpha=0."""
    return float(np.mean(np.logaddexp(0.0, -y * (Xc @ coef))))


def make_driver(name, problem):
    """The solver started at the random start of ``random_state=0``."""
    solver, *step = name.split("-")
    options = SolverOptions(direction_step="subspace" if step else "paper",
                            metric="identity")
    drv = make_solver(solver, problem, options)
    drv.start(None, 0.0, np.random.RandomState(0))
    return drv


def drive(drv, budget):
    """At most ``budget`` evaluated iterates, as the estimator drives them."""
    for k in range(budget):
        status = drv.evaluate()
        if status != Status.RUNNING or k == budget - 1:
            return status
        status = drv.step()
        if status != Status.RUNNING:
            return status
    return Status.MAX_ITER


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
    f_star = mean_logistic_loss(Xc, y, ref.coef_[0])
    print(f"f* = {f_star:.15f} (newton-cg, {t_ref:.1f} s)")
    print(f"{'solver':<13} {'iters to 1e-6':>14} {'ms/iter':>8}")
    design = Design(X, xbar)  # centered, no intercept: tol=0 runs the budget
    for solver, budget in BUDGET.items():
        drv = make_driver(solver, Problem(design, y, s, SOFTPLUS, 0.0, False,
                                          0.0))
        t0 = time.perf_counter()
        drive(drv, budget)
        dt = time.perf_counter() - t0
        curve = np.asarray(drv.loss_curve)
        rel = (curve - f_star) / f_star
        hit = np.flatnonzero(rel <= 1e-6)
        first = str(hit[0]) if hit.size else f">{budget}"
        print(f"{solver:<13} {first:>14} {1e3 * dt / max(curve.size, 1):>8.2f}")


if __name__ == "__main__":
    main()
