"""Kohler et al.'s Theorem 2 in practice: gradient norms after 30 iterations.

Gaussian halfspace data (x | y ~ N(y mu, Sigma)), centered, no intercept,
softplus loss; gdnp against gd and agd from the same random start, for
several condition numbers of Sigma. Reproduces the table of the user guide:

    python benchmarks/gaussian_halfspace_rates.py
"""

import warnings

from sklearn.exceptions import ConvergenceWarning

from skbnorm import NormalizedLogisticRegression
from skbnorm.datasets import make_gaussian_halfspace

CASES = [(2.0, 1.0), (5.0, 1.0), (50.0, 0.3)]


def main():
    print(f"{'cond':>6} {'sep':>5} {'gdnp':>10} {'gd':>10} {'agd':>10}")
    for cond, sep in CASES:
        X, y = make_gaussian_halfspace(2000, 10, condition_number=cond,
                                       separation=sep, random_state=0)
        X = X - X.mean(0)
        row = []
        for solver in ("gdnp", "gd", "agd"):
            est = NormalizedLogisticRegression(solver=solver, fit_intercept=False,
                                               max_iter=31, tol=0.0,
                                               random_state=0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                est.fit(X, y)
            row.append(est.grad_norm_curve_[30])
        print(f"{cond:>6g} {sep:>5g} " + " ".join(f"{v:>10.2e}" for v in row))


if __name__ == "__main__":
    main()
