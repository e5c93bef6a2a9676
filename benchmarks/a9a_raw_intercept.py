"""gdnp and agd on raw a9a with an intercept, against the loss's infimum.

The logistic loss on raw a9a with an intercept has no minimiser: 87 rows
become separable along a direction using features 12, 13, 34, 89, 123 and
the intercept, and the infimum 0.322620707902194 is approached only as
``||coef|| -> inf`` (found by a linear program and Newton's method on the
other rows; scikit-learn's newton-cg with tol=1e-12 and 30 iterations gets
within 2.8e-10 of it). This prints the first iterate within 1e-4, 1e-5 and
1e-6 of the infimum for each solver::

    python benchmarks/a9a_raw_intercept.py          # about 10 minutes

"gdnp" is Kohler et al.'s step (``direction_step="paper"``), "gdnp-subspace"
the subspace step along ``grad_w f`` (``metric="identity"``); ``C=np.inf``.
"""

import time
import warnings

import numpy as np

from skbnorm import NormalizedLogisticRegression
from skbnorm.datasets import load_a9a

F_INF = 0.322620707902194
BUDGET = {"agd": 12000, "gdnp": 40000, "gdnp-subspace": 2000}


def main():
    X, y = load_a9a()
    for solver, budget in BUDGET.items():
        options = {}
        if solver.startswith("gdnp"):  # -subspace: the Rayleigh-Ritz step
            options = {"direction_step": "subspace" if "-" in solver
                       else "paper", "metric": "identity"}
        est = NormalizedLogisticRegression(solver=solver.split("-")[0],
                                           C=np.inf, max_iter=budget, tol=1e-12,
                                           random_state=0, **options)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            est.fit(X, y)
            seconds = time.perf_counter() - start
        rel = (est.loss_curve_ - F_INF) / F_INF
        firsts = []
        for thr in (1e-4, 1e-5, 1e-6):
            hit = np.flatnonzero(rel <= thr)
            firsts.append(str(hit[0]) if hit.size else f">{budget}")
        print(f"{solver:<13} first iterate within 1e-4/1e-5/1e-6: "
              f"{' / '.join(firsts)}; after {est.n_iter_[0]} iterations "
              f"rel={rel[-1]:.3e}, |coef|={np.linalg.norm(est.coef_):.3f}, "
              f"{seconds:.0f} s")


if __name__ == "__main__":
    main()
