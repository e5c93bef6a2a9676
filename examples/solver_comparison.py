"""
Solvers on a9a: objective against iterations
=============================================

Fits ``NormalizedLogisticRegression`` with each solver on the shipped a9a
training split, in the papers' setting (no penalty: ``C=np.inf``; gdnp with
Kohler et al.'s step and with the default subspace step), and prints the
objective after 3, 10, 100 and 300 iterations, then the test accuracy.
``loss_curve_`` records the objective at every iterate, so any convergence
plot is one line of matplotlib away::

    python examples/solver_comparison.py
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skbnorm import NormalizedLogisticRegression
from skbnorm.datasets import load_a9a

X, y = load_a9a("train")
X_test, y_test = load_a9a("test")

print(f"{'solver':<14} {'f(3)':>12} {'f(10)':>12} {'f(100)':>12} {'f(300)':>12} "
      f"{'test acc':>9}")
for solver, step in [("gdnp", "subspace"), ("gdnp", "paper"), ("gd", "paper"),
                     ("agd", "paper"), ("bn", "paper"), ("wn", "paper")]:
    clf = NormalizedLogisticRegression(C=np.inf, solver=solver,
                                       direction_step=step, max_iter=301,
                                       tol=0.0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    f = clf.loss_curve_
    # a fit that stopped early (no step decreases f) keeps its last value
    at = [f[min(k, f.size - 1)] for k in (3, 10, 100, 300)]
    name = solver if solver != "gdnp" else f"gdnp {step}"
    print(f"{name:<14} " + " ".join(f"{v:>12.8f}" for v in at)
          + f" {clf.score(X_test, y_test):>9.4f}")
