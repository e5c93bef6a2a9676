"""
Solvers on a9a: objective against iterations
=============================================

Fits ``NormalizedLogisticRegression`` with each solver on the shipped a9a
training split and prints the objective after 10, 100 and 300 iterations,
then the test accuracy. ``loss_curve_`` records the objective at every
iterate, so any convergence plot is one line of matplotlib away::

    python examples/solver_comparison.py
"""

import warnings

from sklearn.exceptions import ConvergenceWarning

from skbnorm import NormalizedLogisticRegression
from skbnorm.datasets import load_a9a

X, y = load_a9a("train")
X_test, y_test = load_a9a("test")

print(f"{'solver':<6} {'f(10)':>12} {'f(100)':>12} {'f(300)':>12} {'test acc':>9}")
for solver in ["gdnp", "gd", "agd", "bn", "wn"]:
    clf = NormalizedLogisticRegression(solver=solver, max_iter=301, tol=0.0,
                                       random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    f = clf.loss_curve_
    print(f"{solver:<6} {f[10]:>12.8f} {f[100]:>12.8f} {f[300]:>12.8f} "
          f"{clf.score(X_test, y_test):>9.4f}")
